// Template preview (SPEC §7): the mail a user gets for a recent call or the sample call, in
// a language -- subject, text, and the HTML in a sandboxed frame.  The administrator also
// reads the templates in force and the files rejected at load.

import {get} from "../api.js";
import {append, clear, field, h, mailFrame, messageBox, select} from "../dom.js";
import {caller, when} from "../format.js";
import {users} from "../users.js";

export const id = "preview";
export const title = "Preview";
export const roles = ["user", "admin"];

export async function render(section, app) {
  const admin = app.isAdmin();
  const people = admin ? await users() : [];
  const userChoice = admin ? select(people.map((u) => [u.id, `${u.name} (${u.id})`]), people[0]?.id) : null;
  const languages = await get("/languages");
  const languageChoice = select([["", "The user's language"], ...languages.map((code) => [code, code])], "");
  const callChoice = select([["", "The sample call"]], "");
  const output = h("div", {class: "preview-output"});
  const box = messageBox();

  async function loadCalls() {
    const user = admin ? userChoice.value : undefined;
    const verdicts = user === "" ? [] : await get("/calls", {user, limit: 20});
    callChoice.replaceChildren(h("option", {value: "", text: "The sample call"}),
      ...verdicts.map(({call}) => h("option", {value: call.call_id, text: `${when(call.started_at)} — ${caller(call.caller)}`})));
  }

  async function preview(event) {
    event?.preventDefault();
    box.hide();
    try {
      const mail = await get("/preview", {
        user: admin ? userChoice.value : undefined,
        language: languageChoice.value,
        call_id: callChoice.value,
      });
      showMail(output, mail);
    } catch (error) {
      clear(output);
      box.error(`No preview: ${error.message}`);
    }
  }

  if (userChoice) userChoice.addEventListener("change", loadCalls);
  section.append(
    h("h1", {text: "Template preview"}),
    h("p", {class: "lead", text: "The mail as the templates in force make it."}),
    h("form", {class: "card form-row", on: {submit: preview}, "aria-label": "What to preview"},
      userChoice ? field("User", userChoice) : null,
      field("Language", languageChoice),
      field("Call", callChoice),
      h("div", {class: "actions"}, h("button", {type: "submit", class: "primary", text: "Preview"}))),
    box.node,
    output);
  if (admin) section.append(await templates());
  await loadCalls();
  await preview();
}

function showMail(output, mail) {
  append(clear(output), [
    h("dl", {class: "headers"},
      h("dt", {text: "Subject"}), h("dd", {class: "subject", text: mail.subject}),
      h("dt", {text: "To"}), h("dd", {text: mail.to}),
      h("dt", {text: "Language"}), h("dd", {text: mail.language})),
    mail.problems.length
      ? h("div", {class: "message error", role: "alert"}, h("p", {text: "Rejected at load:"}),
        h("ul", {}, mail.problems.map((text) => h("li", {text}))))
      : null,
    h("h2", {text: "HTML part"}),
    mailFrame(mail.html, `Preview of the mail to ${mail.to}, as HTML`),
    h("h2", {text: "Text part"}),
    h("pre", {class: "text-part", text: mail.text})]);
}

// The templates in force: which are the administrator's copies, and their source.
async function templates() {
  const info = await get("/templates");
  const source = h("pre", {class: "source", hidden: true});
  const choice = select(info.templates.map((t) => [t.name, t.overridden ? `${t.name} (your copy)` : t.name]), "html.xsl");
  async function showSource(event) {
    event.preventDefault();
    const template = await get(`/templates/${encodeURIComponent(choice.value)}`);
    source.textContent = template.source;
    source.hidden = false;
  }
  return h("section", {class: "card", "aria-labelledby": "templates-heading"},
    h("h2", {id: "templates-heading", text: "Templates"}),
    h("p", {class: "hint", text: `Languages: ${info.languages.join(", ")}. Copy a template into notify.templates_dir to change it.`}),
    info.problems.length
      ? h("ul", {class: "message error", role: "alert"}, info.problems.map((text) => h("li", {text})))
      : null,
    h("form", {class: "form-row", on: {submit: showSource}},
      field("Template", choice),
      h("div", {class: "actions"}, h("button", {type: "submit", text: "Show source"}))),
    source);
}
