// The outbox (SPEC §9): mails by state, each with the mail server's last reply; the
// administrator sends a waiting or failed mail again now.

import {get, post} from "../api.js";
import {clear, h, messageBox, select, table} from "../dom.js";
import {OUTBOX_STATES, seconds, when} from "../format.js";

export const id = "outbox";
export const title = "Outbox";
export const roles = ["user", "admin"];

const RETRYABLE = new Set(["retry", "failed", "set_aside"]);
const filters = {state: ""};

export async function render(section, app) {
  const counts = h("ul", {class: "chips", "aria-label": "Mails by state"});
  const rows = h("div");
  const box = messageBox();
  const stateChoice = select([["", "All"], ...Object.entries(OUTBOX_STATES)], filters.state);
  stateChoice.name = "state";
  stateChoice.addEventListener("change", () => { filters.state = stateChoice.value; load(); });

  async function load() {
    const outbox = await get("/outbox", {state: filters.state, limit: 200});
    clear(counts);
    for (const [state, count] of Object.entries(outbox.counts)) {
      counts.append(h("li", {class: `chip ${state}`, data: {state}}, `${OUTBOX_STATES[state] || state}: `, h("strong", {text: count})));
    }
    if (outbox.oldest_queued_seconds !== null) {
      counts.append(h("li", {class: "chip", text: `oldest waiting: ${seconds(outbox.oldest_queued_seconds)}`}));
    }
    clear(rows).append(outbox.rows.length
      ? table("Mails in the outbox", ["Mail", "Decided", "To", "State", "Tries", "The mail server's reply", ""],
        outbox.rows.map((row) => line(row, app, retry)))
      : h("p", {class: "empty", text: "No mails."}));
  }

  async function retry(row) {
    box.hide();
    try {
      const again = await post(`/outbox/${row.id}/retry`);
      app.announce(`Mail ${row.id} is ${OUTBOX_STATES[again.state] || again.state}.`);
      await load();
    } catch (error) {
      box.error(`Could not retry mail ${row.id}: ${error.message}`);
    }
  }

  section.append(
    h("h1", {text: "Outbox"}),
    h("p", {class: "lead", text: app.isAdmin()
      ? "Every mail the server decided to send, newest first; failures with the mail server's reply."
      : "Your mails, newest first."}),
    counts,
    h("div", {class: "toolbar"}, h("label", {class: "inline"}, "Show ", stateChoice)),
    box.node, rows);
  await load();
}

function line(row, app, retry) {
  const action = app.isAdmin() && RETRYABLE.has(row.state)
    ? h("button", {type: "button", text: "Retry now", "aria-label": `Retry mail ${row.id} now`,
      on: {click: (event) => { event.currentTarget.disabled = true; retry(row); }}})
    : null;
  return h("tr", {data: {rowId: row.id, state: row.state}},
    h("th", {scope: "row", text: `#${row.id}`}),
    h("td", {text: when(row.queued_at)}),
    h("td", {text: row.envelope_to.join(", ")}),
    h("td", {}, h("span", {class: `badge ${row.state}`, text: OUTBOX_STATES[row.state] || row.state}),
      row.retry_at ? h("span", {class: "hint", text: ` next try ${when(row.retry_at)}`}) : null),
    h("td", {text: String(row.attempts)}),
    h("td", {class: "reply"}, reply(row)),
    h("td", {}, action));
}

function reply(row) {
  const parts = [];
  if (row.reply) parts.push(h("div", {text: [row.reply_code, row.reply].filter(Boolean).join(" ")}));
  for (const refusal of row.refused || []) {
    parts.push(h("div", {text: `${refusal.recipient}: ${[refusal.code, refusal.reply].filter(Boolean).join(" ")}`}));
  }
  return parts.length ? parts : "—";
}
