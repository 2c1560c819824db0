// Words for what the server says in codes and numbers.

const TIME = new Intl.DateTimeFormat(undefined, {dateStyle: "medium", timeStyle: "short"});

// An ISO 8601 string (calls, journal) or epoch seconds (outbox rows) -> local time.
export function when(value) {
  if (value === null || value === undefined) return "—";
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : TIME.format(date);
}

export function isoAttr(value) {
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export function seconds(value) {
  if (value === null || value === undefined) return "—";
  if (value < 90) return `${Math.round(value * 10) / 10} s`;
  if (value < 5400) return `${Math.round(value / 60)} min`;
  return `${Math.round(value / 360) / 10} h`;
}

// The caller as a person reads him: "Jane Doe (+49 89 …)", the number alone, or "hidden".
export function caller(who) {
  if (!who) return "unknown caller";
  const number = who.number || "";
  const name = who.name && who.name !== number ? who.name : "";
  if (who.presentation === "restricted" || (!number && !name)) return name || "hidden number";
  return name ? `${name} (${number})` : number;
}

// Why a call is in the journal (journal.reason).
const JOURNAL_REASONS = {
  missed: "rang, and nobody answered",
  answered_elsewhere: "rang, and someone else answered",
  voicemail: "rang, and voicemail took the call",
};

export function journalReason(entry) {
  return `Line ${entry.line} ${JOURNAL_REASONS[entry.reason] || `(${entry.reason})`}.`;
}

export function doneText(entry) {
  if (entry.state !== "done") return "Open";
  const how = entry.done_by === "callback" ? "called back" : "marked done";
  return `Done: ${how}, ${when(entry.done_at)}`;
}

// Why a user did or did not get a mail (or a journal entry) for a call: SPEC §5's reasons.
const WHY = {
  notified: "yes",
  answered: "no: the call was answered",
  policy_none: "no: switched off for everyone (recipients = none)",
  not_selected: "no: the rule chose another phone (recipients = first or last)",
  opted_out: "no: turned off by the user",
  no_email: "no: the user has no e-mail address",
  logged_on: "no: the user was logged on (mail only while logged off)",
  internal_call: "no: an internal call",
  hidden_number: "no: the caller's number was hidden",
  no_contact: "no: the caller is not in the contacts",
  repeated_same_day: "no: already told about this caller today",
  repeated_until_logon: "no: already told about this caller, not logged on since",
  short_ring: "no: the call rang too briefly",
  excluded_number: "no: the caller's number is excluded",
  not_a_participant: "no: the user's phone did not ring",
};

export function why(code) {
  return WHY[code] || `no: ${code}`;
}

export function direction(value) {
  return {inbound: "from outside", internal: "internal", outbound: "outgoing"}[value] || value;
}

// What became of the call, in one line.
export function outcome(call) {
  if (call.answered_by) return `answered by line ${call.answered_by}`;
  if (call.pickup) return `picked up by line ${call.pickup.by}`;
  if (call.voicemail) return "voicemail took it";
  return "not answered";
}

export const OUTBOX_STATES = {
  queued: "queued",
  sending: "sending",
  sent: "sent",
  retry: "waiting to retry",
  failed: "failed",
  set_aside: "set aside",
};
