// The administrator's choice of whose calls, journal or preview to see (GET /users).

import {get} from "./api.js";
import {h, select} from "./dom.js";

let known = null; // the users, asked for once per page load

export async function users() {
  known ||= await get("/users");
  return known;
}

// A "User" select bound to filters.user ("" for everyone), calling reload on change.
export async function userFilter(filters, reload, {everyone = "All users"} = {}) {
  const options = (await users()).map((user) => [user.id, `${user.name} (${user.id})`]);
  if (everyone) options.unshift(["", everyone]);
  const choice = select(options, filters.user);
  choice.name = "user";
  choice.addEventListener("change", () => { filters.user = choice.value; reload(); });
  return h("label", {class: "inline"}, "User ", choice);
}
