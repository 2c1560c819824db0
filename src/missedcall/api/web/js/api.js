// The REST API (docs/api.md) with the session cookie: JSON in and out, the CSRF token on
// every change, and a 401 anywhere sends the page back to the login.

const BASE = "/api/v1";
const SAFE = new Set(["GET", "HEAD"]);

let csrfToken = null;
let onUnauthorized = () => {};

export class ApiError extends Error {
  constructor(status, message, retryAfter) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

export function setCsrfToken(token) {
  csrfToken = token;
}

export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

export async function request(method, path, body) {
  const headers = {Accept: "application/json"};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (!SAFE.has(method) && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  const response = await fetch(BASE + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
  });
  const data = await response.json().catch(() => null);
  if (response.ok) return data;
  const error = new ApiError(response.status, describe(data, response), response.headers.get("Retry-After"));
  // A login that fails is the login form's to report; anything else lost the session.
  if (response.status === 401 && path !== "/session") onUnauthorized(error);
  throw error;
}

export const get = (path, query) => request("GET", path + queryString(query));
export const post = (path, body) => request("POST", path, body);
export const patch = (path, body) => request("PATCH", path, body);
export const del = (path) => request("DELETE", path);

function queryString(query) {
  if (!query) return "";
  const given = Object.entries(query).filter(([, value]) => value !== undefined && value !== null && value !== "");
  return given.length ? "?" + new URLSearchParams(given).toString() : "";
}

// The server's words: {"detail": "…"} or, for a bad value, {"detail": [{key, msg}, …]}.
function describe(data, response) {
  const detail = data && data.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((item) => `${item.key || (item.loc || []).slice(1).join(".")}: ${item.msg}`).join("; ");
  }
  return `${response.status} ${response.statusText}`.trim();
}
