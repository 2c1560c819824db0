// Logging in: a user with his id (anna), the administrator as "admin".

import {ApiError, post, setCsrfToken} from "../api.js";
import {field, h, messageBox} from "../dom.js";

export function render(section, {message, onLoggedIn}) {
  const user = h("input", {name: "user", autocomplete: "username", required: true, autocapitalize: "none", spellcheck: "false"});
  const password = h("input", {name: "password", type: "password", autocomplete: "current-password", required: true});
  const button = h("button", {type: "submit", class: "primary", text: "Log in"});
  const box = messageBox();
  if (message) box.ok(message);

  async function submit(event) {
    event.preventDefault();
    box.hide();
    button.disabled = true;
    try {
      const session = await post("/session", {user: user.value.trim(), password: password.value});
      setCsrfToken(session.csrf_token);
      password.value = "";
      await onLoggedIn();
    } catch (error) {
      box.error(loginError(error));
      password.select();
    } finally {
      button.disabled = false;
    }
  }

  section.append(
    h("h1", {text: "Log in"}),
    h("form", {class: "card stack", on: {submit}, "aria-label": "Log in"},
      field("User", user, "Your user id, e.g. anna; the administrator: admin"),
      field("Password", password),
      box.node,
      h("div", {class: "actions"}, button)),
  );
  user.focus();
}

function loginError(error) {
  if (!(error instanceof ApiError)) return `The server did not answer: ${error.message}`;
  if (error.status === 401) return "Wrong user or password.";
  if (error.status === 429) return `Too many failed logins. Try again in ${error.retryAfter || "a few"} seconds.`;
  return error.message;
}
