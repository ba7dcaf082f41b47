// The consent page (/profile/apps/authorize): log the user in if needed, then Approve or Deny.
//
// The user's auth token lives in this tab's sessionStorage only: never in a URL, never in a
// cookie. Approve posts the authorization request to POST /api/oauth/authorize, which checks
// it again, and follows the URL it answers. Deny follows the denial URL the server computed
// from the validated redirect URI (RFC 6749 §4.1.2.1).
"use strict";

(function () {
  const TOKEN_KEY = "fittrackee-oauth2.auth_token";
  const data = JSON.parse(document.getElementById("authorization-request").textContent);

  const sections = {
    login: document.getElementById("login"),
    consent: document.getElementById("consent"),
  };
  const message = document.getElementById("message");
  const loginForm = document.getElementById("login-form");
  const buttons = Array.from(document.querySelectorAll("button"));

  function storedToken() {
    try {
      return window.sessionStorage.getItem(TOKEN_KEY);
    } catch (_) {
      return null;
    }
  }

  function storeToken(token) {
    try {
      if (token) {
        window.sessionStorage.setItem(TOKEN_KEY, token);
      } else {
        window.sessionStorage.removeItem(TOKEN_KEY);
      }
    } catch (_) {
      // Storage refused (private mode): the user logs in again next time.
    }
  }

  function show(name) {
    for (const [key, section] of Object.entries(sections)) {
      section.hidden = key !== name;
    }
    const focus = name === "login" ? document.getElementById("email") : document.getElementById("approve");
    if (focus) {
      focus.focus();
    }
  }

  function say(text) {
    message.textContent = text || "";
    message.hidden = !text;
  }

  function busy(isBusy) {
    for (const button of buttons) {
      button.disabled = isBusy;
    }
  }

  async function readJson(response) {
    try {
      return await response.json();
    } catch (_) {
      return {};
    }
  }

  // A stored token that still works: who it belongs to. Otherwise back to the login form.
  async function showConsentFor(token) {
    const response = await fetch("/api/auth/profile", {
      headers: { Authorization: "Bearer " + token },
      credentials: "omit",
      cache: "no-store",
    });
    if (response.status === 401) {
      storeToken(null);
      show("login");
      return;
    }
    const body = await readJson(response);
    if (!response.ok) {
      say(body.message || "FitTrackee cannot be reached, try again later.");
      return;
    }
    document.getElementById("username").textContent = body.data.username;
    show("consent");
  }

  async function logIn(event) {
    event.preventDefault();
    say("");
    busy(true);
    try {
      const response = await fetch("/api/auth/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "omit",
        body: JSON.stringify({
          email: document.getElementById("email").value,
          password: document.getElementById("password").value,
        }),
      });
      const body = await readJson(response);
      if (!response.ok || !body.auth_token) {
        say(body.message || "Log in failed.");
        return;
      }
      document.getElementById("password").value = "";
      storeToken(body.auth_token);
      await showConsentFor(body.auth_token);
    } catch (_) {
      say("FitTrackee cannot be reached, try again later.");
    } finally {
      busy(false);
    }
  }

  async function approve() {
    const token = storedToken();
    if (!token) {
      show("login");
      return;
    }
    say("");
    busy(true);
    try {
      const form = new URLSearchParams(data.authorize);
      form.set("confirm", "true");
      const response = await fetch("/api/oauth/authorize", {
        method: "POST",
        headers: { Authorization: "Bearer " + token },
        credentials: "omit",
        body: form,
      });
      const body = await readJson(response);
      if (response.ok && body.redirect_url) {
        window.location.assign(body.redirect_url);
        return;
      }
      if (response.status === 401) {
        storeToken(null);
        show("login");
        say("Your session has ended: log in again.");
      } else {
        say(body.message || "The app could not be authorized.");
      }
      busy(false);
    } catch (_) {
      say("FitTrackee cannot be reached, try again later.");
      busy(false);
    }
  }

  function deny() {
    busy(true);
    window.location.assign(data.deny_url);
  }

  function switchUser() {
    const token = storedToken();
    storeToken(null);
    if (token) {
      // Best effort: the token is revoked server-side too.
      fetch("/api/auth/logout", {
        method: "POST",
        headers: { Authorization: "Bearer " + token },
        credentials: "omit",
      }).catch(function () {});
    }
    say("");
    show("login");
  }

  loginForm.addEventListener("submit", logIn);
  document.getElementById("approve").addEventListener("click", approve);
  document.getElementById("deny").addEventListener("click", deny);
  document.getElementById("cancel").addEventListener("click", deny);
  document.getElementById("switch-user").addEventListener("click", switchUser);

  const token = storedToken();
  if (token) {
    showConsentFor(token).catch(function () {
      say("FitTrackee cannot be reached, try again later.");
    });
  } else {
    show("login");
  }
})();
