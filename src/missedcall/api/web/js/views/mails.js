// The mails the server made (the demo's mail viewer): a list, and the chosen mail with its
// headers, its HTML part in a sandboxed frame, its text part and its .eml file.

import {get} from "../api.js";
import {append, clear, h, mailFrame} from "../dom.js";
import {OUTBOX_STATES, when} from "../format.js";

export const id = "mails";
export const title = "Mails";
export const roles = ["admin"];

export async function render(section) {
  const list = h("ul", {class: "mail-list", "aria-label": "Mails"});
  const reader = h("div", {class: "mail-reader", "aria-live": "polite"});
  section.append(
    h("h1", {text: "Mails"}),
    h("p", {class: "lead", text: "What the server sent (and is sending), newest first. Choose one to read it as the recipient sees it."}),
    h("div", {class: "mail-layout"}, list, reader));

  const mails = await get("/mails", {limit: 200});
  if (!mails.length) {
    list.append(h("li", {class: "empty", text: "No mails yet."}));
    return;
  }
  const buttons = mails.map((mail) => {
    const button = h("button", {type: "button", class: "mail-item", "aria-pressed": "false", data: {mailId: mail.id},
      on: {click: () => open(mail.id, button)}},
      h("span", {class: "subject", text: mail.subject || "(no subject)"}),
      h("span", {class: "meta", text: `${mail.to.join(", ")} · ${when(mail.queued_at)}`}),
      mail.state === "sent" ? null : h("span", {class: `badge ${mail.state}`, text: OUTBOX_STATES[mail.state] || mail.state}));
    list.append(h("li", {}, button));
    return button;
  });

  async function open(mailId, button) {
    for (const other of buttons) other.setAttribute("aria-pressed", String(other === button));
    clear(reader).append(h("p", {class: "muted", text: "Loading…"}));
    try {
      show(await get(`/mails/${mailId}`));
    } catch (error) {
      clear(reader).append(h("p", {class: "message error", role: "alert", text: `Could not load the mail: ${error.message}`}));
    }
  }

  function show(mail) {
    const headers = h("dl", {class: "headers"}, Object.entries(mail.headers).flatMap(([name, value]) =>
      [h("dt", {text: name}), h("dd", {text: value})]));
    append(clear(reader), [
      h("h2", {class: "subject", text: mail.subject || "(no subject)"}),
      headers,
      mail.attachments.length ? h("p", {class: "hint", text: `Attached: ${mail.attachments.join(", ")}`}) : null,
      h("p", {}, h("a", {href: `/api/v1/mails/${mail.id}/eml`, download: `missedcall-${mail.id}.eml`, text: "Download the .eml file"})),
      mail.html !== null ? mailFrame(mail.html, `The mail to ${mail.to.join(", ")}, as HTML`) : h("p", {class: "muted", text: "No HTML part."}),
      mail.text !== null
        ? h("details", {class: "text-part"}, h("summary", {text: "Text part"}), h("pre", {text: mail.text}))
        : null]);
  }

  await open(mails[0].id, buttons[0]);
}
