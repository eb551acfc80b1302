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
