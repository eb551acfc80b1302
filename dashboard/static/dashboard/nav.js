/* The menu's sections arrive open (a wide screen shows them all, nothing moves after the first
   paint); on a phone this runs right after the menu, before the page below it is drawn, and
   closes every section but the current page's. */
"use strict";
if (window.matchMedia("(max-width: 760px)").matches) {
  document.querySelectorAll("details.nav-section:not([data-current])").forEach((section) => { section.open = false; });
}
