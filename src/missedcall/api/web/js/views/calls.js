// Recent calls with their verdict: what happened, and per user why a mail (and a journal
// entry) was or was not made (SPEC §5: "why did or didn't Anna get a mail?").

import {get} from "../api.js";
import {clear, h, table} from "../dom.js";
import {caller, direction, isoAttr, outcome, seconds, when, why} from "../format.js";
import {userFilter} from "../users.js";

export const id = "calls";
export const title = "Calls";
export const roles = ["user", "admin"];

const filters = {user: ""};

export async function render(section, app) {
  const list = h("ul", {class: "cards", "aria-label": "Calls"});

  async function load() {
    const verdicts = await get("/calls", {user: filters.user, limit: 100});
    clear(list);
    if (!verdicts.length) list.append(h("li", {class: "empty", text: "No calls decided yet."}));
    for (const verdict of verdicts) list.append(card(verdict));
  }

  section.append(
    h("h1", {text: "Recent calls"}),
    h("p", {class: "lead", text: app.isAdmin()
      ? "The newest calls first, and for each user whose phone rang whether a mail went out, and why not."
      : "Your newest calls first: whether you got a mail, and why not."}));
  if (app.isAdmin()) section.append(h("div", {class: "toolbar"}, await userFilter(filters, load)));
  section.append(list);
  await load();
}

function card({call, why: verdicts}) {
  return h("li", {class: "card call", data: {callId: call.call_id}},
    h("div", {class: "card-head"},
      h("h2", {class: "caller", text: caller(call.caller)}),
      h("span", {class: `badge ${call.answered_by || call.pickup ? "done" : "open"}`, text: outcome(call)})),
    h("p", {class: "meta"},
      h("time", {datetime: isoAttr(call.started_at), text: when(call.started_at)}),
      ` · ${direction(call.direction)} · dialled ${call.dialed || "—"}`,
      call.incomplete ? " · incomplete (the PBX connection was lost)" : null),
    rang(call),
    verdicts.length ? whyTable(verdicts) : h("p", {class: "muted", text: "No user's phone rang."}));
}

function rang(call) {
  const parts = call.participants.map((p) =>
    `line ${p.line} ${seconds(p.ring_seconds)}${p.answered ? " (answered)" : ""}`);
  const notes = [];
  if (parts.length) notes.push(`Rang: ${parts.join(", ")}`);
  if (call.busy?.length) notes.push(`busy: ${call.busy.join(", ")}`);
  for (const f of call.forwards || []) notes.push(`${f.kind} ${f.from} → ${f.to}`);
  if (call.pickup) notes.push(`picked up by ${call.pickup.by} from ${call.pickup.from}`);
  if (call.voicemail) notes.push("voicemail");
  return notes.length ? h("p", {class: "rang", text: notes.join(" · ")}) : null;
}

function whyTable(verdicts) {
  const rows = verdicts.map((item) => h("tr", {data: {user: item.user}},
    h("th", {scope: "row", text: item.user}),
    whyCell(item.email), whyCell(item.journal)));
  return table("Why a mail and a journal entry were or were not made, per user", ["User", "Mail", "Journal"], rows);
}

// "yes", or "no: …" with the reason's code, which the logs and the API use too.
function whyCell(code) {
  if (code === "notified") return h("td", {class: "yes", data: {why: code}, text: why(code)});
  return h("td", {class: "no", data: {why: code}}, why(code), " ", h("code", {text: code}));
}
