// The page: who is logged in, the navigation, and which view shows (from the URL's #/view).
//
// Each view is a module with {id, title, roles, render(section, app)}; render builds the
// view inside a fresh <section> from the API's answers.

import {ApiError, del, get, setCsrfToken, whenUnauthorized} from "./api.js";
import {h} from "./dom.js";
import * as calls from "./views/calls.js";
import * as journal from "./views/journal.js";
import * as login from "./views/login.js";
import * as mails from "./views/mails.js";
import * as me from "./views/me.js";
import * as outbox from "./views/outbox.js";
import * as preview from "./views/preview.js";
import * as settings from "./views/settings.js";

const VIEWS = [journal, calls, outbox, mails, preview, me, settings];
const DEFAULT_VIEW = {user: "journal", admin: "calls"};

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const account = document.getElementById("account");
const status = document.getElementById("status");

const app = {
  me: null, // GET /api/v1/me: {account, role, user}
  announce(text) {
    // Re-set so that the same words twice are read twice.
    status.textContent = "";
    setTimeout(() => { status.textContent = text; }, 50);
  },
  isAdmin() {
    return app.me?.role === "admin";
  },
};

function allowed() {
  return VIEWS.filter((view) => view.roles.includes(app.me.role));
}

function currentView() {
  const wanted = location.hash.startsWith("#/") ? location.hash.slice(2).split("?")[0] : "";
  const views = allowed();
  return views.find((view) => view.id === wanted) || views.find((view) => view.id === DEFAULT_VIEW[app.me.role]);
}

async function show({focus = true} = {}) {
  if (!app.me) return;
  const view = currentView();
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.view === view.id) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${view.title} · missedcall`;
  const section = h("section", {class: "view", data: {view: view.id}});
  main.replaceChildren(section);
  if (focus) main.focus();
  try {
    await view.render(section, app);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return; // the login is showing
    section.append(h("p", {class: "message error", role: "alert", text: `Could not load: ${error.message}`}));
  }
}

function showNavigation() {
  nav.replaceChildren(h("ul", {}, allowed().map((view) =>
    h("li", {}, h("a", {href: `#/${view.id}`, data: {view: view.id}, text: view.title})))));
  nav.hidden = false;
  const user = app.me.user;
  document.getElementById("account-name").textContent = user ? `${user.name} (${user.id})` : "Administrator";
  account.hidden = false;
}

function showLogin(message) {
  app.me = null;
  setCsrfToken(null);
  nav.hidden = true;
  account.hidden = true;
  document.title = "Log in · missedcall";
  const section = h("section", {class: "view narrow", data: {view: "login"}});
  main.replaceChildren(section);
  login.render(section, {message, onLoggedIn: enter});
}

async function enter() {
  app.me = await get("/me");
  showNavigation();
  await show({focus: false});
}

async function logOut() {
  try {
    await del("/session");
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) throw error;
  }
  showLogin("You are logged out.");
}

async function boot() {
  whenUnauthorized(() => showLogin("Your session has ended. Please log in again."));
  document.getElementById("logout").addEventListener("click", logOut);
  window.addEventListener("hashchange", () => {
    if (location.hash.startsWith("#/")) show();
  });
  try {
    const session = await get("/session");
    setCsrfToken(session.csrf_token);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return showLogin();
    main.replaceChildren(h("p", {class: "message error", role: "alert", text: `The server did not answer: ${error.message}`}));
    return;
  }
  await enter();
}

boot();
