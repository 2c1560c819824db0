// The administrator's settings (docs/api.md, "Changeable at run time"): the notify and
// journal policies, edited while the server runs; the rest of the configuration read-only.
// Each form control is made from the key's current value: true/false, a number, a list.

import {get, patch} from "../api.js";
import {clear, h, messageBox, select} from "../dom.js";

export const id = "settings";
export const title = "Settings";
export const roles = ["admin"];

const SECTIONS = {notify: "E-mail (notify)", journal: "Journal"};
const RECIPIENTS = [
  ["all", "every phone that rang"],
  ["first", "the first phone that rang"],
  ["last", "the last phone that rang"],
  ["none", "nobody"],
];
const LABELS = {
  recipients: "Who is told",
  when_answered_elsewhere: "Also when someone else answered",
  "exceptions.internal_calls": "Skip internal calls",
  "exceptions.hidden_number": "Skip calls with a hidden number",
  "exceptions.no_contact": "Skip callers not in the contacts",
  "exceptions.repeated_same_day": "Skip a caller already told about today",
  "exceptions.repeated_until_logon": "Skip a caller already told about, until the user logs on",
  "exceptions.min_ring_seconds": "Skip calls that rang less than (seconds; 0: off)",
  "exceptions.excluded_numbers": "Skip these numbers (comma-separated; a prefix ends in *)",
};

export async function render(section, app) {
  const box = messageBox();
  // novalidate: the server judges every value, and its refusal names the key.
  const form = h("form", {class: "stack", novalidate: true, "aria-label": "Settings changeable at run time"});
  const whole = h("pre", {class: "source"});
  let state = await get("/settings");
  let controls = {};

  function fill() {
    controls = {};
    clear(form);
    for (const [name, legend] of Object.entries(SECTIONS)) {
      const keys = state.changeable.filter((key) => key.startsWith(`${name}.`));
      form.append(h("fieldset", {class: "card"}, h("legend", {text: legend}), keys.map(row)));
    }
    form.append(box.node, h("div", {class: "actions"}, h("button", {type: "submit", class: "primary", text: "Save changes"})));
    whole.textContent = JSON.stringify(state.settings, null, 2);
  }

  function row(key) {
    const value = lookup(state.settings, key);
    const control = controlFor(key, value);
    control.id = `setting-${key.replaceAll(".", "-")}`;
    control.name = key;
    controls[key] = {control, value};
    const overridden = key in state.overrides;
    const label = h("label", {for: control.id, text: LABELS[key.split(".").slice(1).join(".")] || key});
    const reset = overridden
      ? h("button", {type: "button", class: "link", text: "back to the file's value", on: {click: () => save({[key]: null})}})
      : null;
    return h("div", {class: `field setting ${control.type === "checkbox" ? "check" : ""}`, data: {key}},
      control.type === "checkbox" ? [control, label] : [label, control],
      h("span", {class: "hint"}, h("code", {text: key}),
        overridden ? h("span", {class: "badge changed", text: "changed at run time"}) : null, reset));
  }

  async function save(changes) {
    box.hide();
    if (!Object.keys(changes).length) return box.ok("Nothing changed.");
    try {
      state = await patch("/settings", changes);
      fill();
      box.ok("Saved. The next call is judged by the new settings.");
      app.announce("Settings saved.");
    } catch (error) {
      box.error(`Not saved: ${error.message}`);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const changes = {};
    for (const [key, {control, value}] of Object.entries(controls)) {
      const now = read(control, value);
      if (JSON.stringify(now) !== JSON.stringify(value)) changes[key] = now;
    }
    save(changes);
  });

  fill();
  section.append(
    h("h1", {text: "Settings"}),
    h("p", {class: "lead", text: "Changes apply from the next call on. They are kept in the database; the configuration file is never written."}),
    form,
    h("details", {class: "card"}, h("summary", {text: "The whole configuration in force (secrets hidden)"}), whole));
}

function lookup(settings, key) {
  return key.split(".").reduce((node, part) => (node == null ? undefined : node[part]), settings);
}

function controlFor(key, value) {
  if (key.endsWith(".recipients")) return select(RECIPIENTS, value);
  if (typeof value === "boolean") return h("input", {type: "checkbox", checked: value});
  if (typeof value === "number") return h("input", {type: "number", min: "0", step: "any", value: String(value), inputmode: "decimal"});
  if (Array.isArray(value)) return h("input", {type: "text", value: value.join(", "), spellcheck: "false"});
  return h("input", {type: "text", value: value ?? ""});
}

// The control's value in the type the key has now (the server checks the rest).
function read(control, old) {
  if (control.type === "checkbox") return control.checked;
  if (typeof old === "number") return control.value === "" ? control.value : Number(control.value);
  if (Array.isArray(old)) return control.value.split(",").map((item) => item.trim()).filter(Boolean);
  return control.value;
}
