// A user's own choices (SPEC §5): mail on or off, its language, and whether only while he
// is not logged on.  Only what changed is sent; "Back to the defaults" sends null, which
// brings back the configuration file's value.

import {get, patch} from "../api.js";
import {field, h, messageBox, select} from "../dom.js";

export const id = "me";
export const title = "My settings";
export const roles = ["user"];

const WHEN = [
  ["always", "Always"],
  ["logged_off", "Only while I am not logged on (here or in the client)"],
];
const NAMES = {notify: "mail", language: "language", when: "when"};

export async function render(section, app) {
  const [me, languages] = await Promise.all([get("/me"), get("/languages")]);
  const box = messageBox();
  const form = h("form", {class: "card stack", "aria-label": "My settings"});
  let user = me.user;

  const notify = h("input", {type: "checkbox", name: "notify", id: "me-notify"});
  const language = h("select", {name: "language"});
  const when = select(WHEN, "always");
  when.name = "when";
  const own = h("p", {class: "hint"});
  const reset = h("button", {type: "button", text: "Back to the defaults"});

  function fill() {
    notify.checked = user.settings.notify;
    const current = user.settings.language;
    const options = languages.map((code) => [code, code]);
    if (current === null) options.unshift(["", "The server's default"]);
    language.replaceChildren(...select(options, current ?? "").children);
    language.value = current ?? "";
    when.value = user.settings.when;
    const chosen = user.own_choices.map((key) => NAMES[key] || key);
    own.textContent = chosen.length ? `Your own choices: ${chosen.join(", ")}.` : "All as the administrator set them.";
    reset.hidden = !chosen.length;
  }

  async function save(changes, done) {
    box.hide();
    if (!Object.keys(changes).length) return box.ok("Nothing changed.");
    try {
      user = await patch("/me/settings", changes);
      fill();
      box.ok(done);
      app.announce(done);
    } catch (error) {
      box.error(`Not saved: ${error.message}`);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const changes = {};
    if (notify.checked !== user.settings.notify) changes.notify = notify.checked;
    if (language.value && language.value !== user.settings.language) changes.language = language.value;
    if (when.value !== user.settings.when) changes.when = when.value;
    save(changes, "Saved.");
  });
  reset.addEventListener("click", () =>
    save(Object.fromEntries(user.own_choices.map((key) => [key, null])), "Back to the defaults."));

  form.append(
    h("div", {class: "field check"}, notify, h("label", {for: notify.id, text: "E-mail me the calls I missed"})),
    field("Language of the mails", language),
    field("When to e-mail", when),
    own,
    box.node,
    h("div", {class: "actions"}, h("button", {type: "submit", class: "primary", text: "Save"}), reset));
  fill();
  section.append(
    h("h1", {text: "My settings"}),
    h("p", {class: "lead"}, `${user.name} · ${user.email || "no e-mail address"} · line ${user.lines.join(", ")}`),
    form);
}
