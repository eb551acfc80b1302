/* Behaviour every dashboard page has, without inline handlers (the Content-Security-Policy allows
   scripts from this origin only): a <select data-submit-on-change> submits its form when changed
   (the shop and language switchers; a <noscript> button does it without JavaScript). */
"use strict";
document.addEventListener("change", (event) => {
  const select = event.target;
  if (select instanceof HTMLSelectElement && select.hasAttribute("data-submit-on-change") && select.form) {
    select.form.requestSubmit();
  }
});

/* Inside the Shopify admin, a form marked data-session-token posts with a fresh session token from
   App Bridge (shopify.idToken()): the token the page was loaded with lives about a minute. */
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-session-token")) return;
  if (form.dataset.tokenReady === "1" || !window.shopify || typeof window.shopify.idToken !== "function") return;
  event.preventDefault();
  const submitter = event.submitter;
  window.shopify.idToken().then((token) => {
    const action = new URL(form.action, window.location.href);
    action.searchParams.set("id_token", token);
    form.action = action.toString();
  }).catch(() => undefined).finally(() => {
    form.dataset.tokenReady = "1";
    form.requestSubmit(submitter instanceof HTMLElement ? submitter : undefined);
  });
});

/* htmx inside the Shopify admin: every request carries a fresh session token (App Bridge's
   shopify.idToken(), asked for before the request is issued); with a login session the CSRF token
   comes from <body hx-headers>. */
let sessionToken = new URLSearchParams(window.location.search).get("id_token") || "";
document.addEventListener("htmx:confirm", (event) => {
  if (!window.shopify || typeof window.shopify.idToken !== "function") return;
  event.preventDefault();
  window.shopify.idToken().then((token) => { sessionToken = token; }).catch(() => undefined)
    .finally(() => event.detail.issueRequest(true));
});
document.addEventListener("htmx:configRequest", (event) => {
  if (sessionToken) event.detail.headers["Authorization"] = `Bearer ${sessionToken}`;
});


/* A form with errors: focus moves to the summary, so a keyboard or screen-reader user hears it. */
document.addEventListener("DOMContentLoaded", () => {
  const summary = document.querySelector(".error-summary");
  if (summary instanceof HTMLElement) summary.focus();
});
