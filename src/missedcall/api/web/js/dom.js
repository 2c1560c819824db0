// Building the page from data without ever parsing data as HTML.
//
// Caller names and numbers come from outside the company: every piece of server
// data reaches the page as a text node or a property, never parsed as markup.

// h("p", {class: "x", data: {id: 3}, on: {click: f}}, "text", child, [more]) -> <p>
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "data") Object.assign(node.dataset, value);
    else if (key === "on") for (const [event, f] of Object.entries(value)) node.addEventListener(event, f);
    else if (key === "checked" || key === "value" || key === "disabled" || key === "selected") node[key] = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

// The mail's HTML in a frame of its own: sandboxed (no scripts, no same-origin, no
// navigation), so whatever a template or a caller put in it cannot reach the page.
export function mailFrame(html, title) {
  const frame = h("iframe", {class: "mail-frame", title, sandbox: "", referrerpolicy: "no-referrer"});
  frame.srcdoc = html;
  return frame;
}

// A labelled form control: <div class="field"><label for=…>…</label>control</div>
let fieldCount = 0;
export function field(labelText, control, hint) {
  control.id ||= `field-${++fieldCount}`;
  const hintNode = hint ? h("span", {class: "hint", id: `${control.id}-hint`, text: hint}) : null;
  if (hintNode) control.setAttribute("aria-describedby", hintNode.id);
  return h("div", {class: "field"}, h("label", {for: control.id, text: labelText}), control, hintNode);
}

export function select(options, current) {
  return h("select", {}, options.map(([value, label]) =>
    h("option", {value, selected: value === current, text: label})));
}

// A message box for one form or view; role=alert for errors, so screen readers hear them.
export function messageBox() {
  const box = h("p", {class: "message", hidden: true});
  return {
    node: box,
    error(text) { show(box, text, "message error", "alert"); },
    ok(text) { show(box, text, "message ok", "status"); },
    hide() { box.hidden = true; box.textContent = ""; },
  };
}

function show(box, text, className, role) {
  box.className = className;
  box.setAttribute("role", role);
  box.textContent = text;
  box.hidden = false;
}

// A table whose cells carry their column's heading (data-label): on a phone each row
// stacks into a small card that shows the headings beside the values.
export function table(caption, headings, rows) {
  for (const row of rows) {
    [...row.children].forEach((cell, column) => { if (headings[column]) cell.dataset.label = headings[column]; });
  }
  return h("div", {class: "table-wrap"},
    h("table", {},
      h("caption", {class: "visually-hidden", text: caption}),
      h("thead", {}, h("tr", {}, headings.map((text) => h("th", {scope: "col", text})))),
      h("tbody", {}, rows)));
}
