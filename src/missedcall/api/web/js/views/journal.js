// The journal of unanswered calls (SPEC §6): open and done entries, why each is there,
// and marking one done by hand.

import {get, post} from "../api.js";
import {append, clear, h, messageBox, select} from "../dom.js";
import {caller, doneText, isoAttr, journalReason, when, why} from "../format.js";
import {userFilter} from "../users.js";

export const id = "journal";
export const title = "Journal";
export const roles = ["user", "admin"];

const STATES = [["open", "Open"], ["done", "Done"], ["all", "All"]];
const filters = {state: "open", user: ""}; // kept while the page is open

export async function render(section, app) {
  const list = h("ul", {class: "cards", "aria-label": "Journal entries"});
  const box = messageBox();
  const stateChoice = select(STATES, filters.state);
  stateChoice.setAttribute("aria-label", "Show entries");
  stateChoice.name = "state";
  stateChoice.addEventListener("change", () => { filters.state = stateChoice.value; load(); });

  async function load() {
    const entries = await get("/journal", {state: filters.state, user: filters.user, limit: 200});
    clear(list);
    if (!entries.length) list.append(h("li", {class: "empty", text: emptyText()}));
    for (const entry of entries) list.append(card(entry, app, markDone));
  }

  async function markDone(entry) {
    box.hide();
    try {
      const done = await post(`/journal/${entry.id}/done`);
      app.announce(`Marked done: ${caller(done.caller)}.`);
      await load();
    } catch (error) {
      box.error(`Could not mark it done: ${error.message}`);
    }
  }

  const tools = h("div", {class: "toolbar"}, h("label", {class: "inline"}, "Show ", stateChoice));
  if (app.isAdmin()) tools.append(await userFilter(filters, load));
  section.append(
    h("h1", {text: "Journal of unanswered calls"}),
    h("p", {class: "lead", text: "Calls that rang and were not answered. An entry is done when you call the number back, or when you mark it done."}),
    tools, box.node, list);
  await load();
}

function emptyText() {
  return filters.state === "open" ? "Nothing open: no unanswered calls waiting." : "No entries.";
}

function card(entry, app, markDone) {
  const item = h("li", {class: `card entry ${entry.state}`, data: {entryId: entry.id, state: entry.state, callId: entry.call_id}},
    h("div", {class: "card-head"},
      h("h2", {class: "caller", text: caller(entry.caller)}),
      h("span", {class: `badge ${entry.state}`, text: entry.state === "open" ? "open" : "done"})),
    h("p", {class: "meta"},
      h("time", {datetime: isoAttr(entry.started_at), text: when(entry.started_at)}),
      app.isAdmin() ? ` · ${entry.user}` : null,
      entry.number && entry.number !== entry.caller.number ? ` · ${entry.number}` : null),
    h("p", {class: "why", text: journalReason(entry)}),
    entry.state === "done" ? h("p", {class: "done-note", text: doneText(entry)}) : null);
  const actions = h("div", {class: "actions"});
  if (entry.state === "open") {
    actions.append(h("button", {type: "button", class: "primary", text: "Mark done",
      "aria-label": `Mark done: ${caller(entry.caller)}, ${when(entry.started_at)}`,
      on: {click: (event) => { event.currentTarget.disabled = true; markDone(entry); }}}));
  }
  actions.append(mailWhy(entry));
  item.append(actions);
  return item;
}

// Whether a mail went out for this call, and why not: loaded when opened.
function mailWhy(entry) {
  const body = h("p", {class: "muted", text: "…"});
  const details = h("details", {class: "why-mail"}, h("summary", {text: "Mail for this call?"}), body);
  details.addEventListener("toggle", async () => {
    if (!details.open || details.dataset.loaded) return;
    details.dataset.loaded = "yes";
    try {
      const verdict = await get(`/calls/${encodeURIComponent(entry.call_id)}`);
      const mine = verdict.why.find((item) => item.user === entry.user);
      clear(body);
      body.className = "";
      append(body, [`Mail to ${entry.user}: `, h("strong", {text: mine ? why(mine.email) : "—"})]);
    } catch (error) {
      body.textContent = `Could not load: ${error.message}`;
    }
  });
  return details;
}
