/* The widget designer's live preview: the real storefront widget (comeback-widget.js, in preview
   mode) drawn from the shop's real state, with the form's unsaved choices applied as they are typed;
   the colour pickers mirror the #RRGGBB fields.  The same fallbacks as the storefront: a language's
   empty text takes the English one, then the widget's own wording. */
"use strict";
(() => {
  const form = document.getElementById("widget-form");
  const data = document.getElementById("widget-preview-states");
  if (!form || !data) return;
  const states = JSON.parse(data.textContent);
  const as = document.getElementById("preview-as");
  const language = document.getElementById("preview-language");
  const COLOR = /^#[0-9a-fA-F]{6}$/;
  const SECTIONS = ["points", "ways_to_earn", "rewards", "tiers", "referrals", "surveys"];
  const field = (name) => form.elements.namedItem(name);
  const value = (name) => { const el = field(name); return el && "value" in el ? String(el.value).trim() : ""; };
  const color = (name) => (COLOR.test(value(name)) ? value(name).toLowerCase() : null);

  function config(lang) {
    const text = (key) => value(`texts.${lang}.${key}`) || value(`texts.en.${key}`);
    const position = form.querySelector("input[name='launcher_position']:checked");
    const sections = {};
    for (const key of SECTIONS) { const box = field("show_" + key); sections[key] = !!(box && box.checked); }
    return { accent_color: color("accent_color"), accent_text_color: color("accent_text_color"),
      launcher_position: position && position.value ? position.value : null, launcher_label: text("launcher_label"),
      title: text("title"), welcome: text("welcome"), sections };
  }

  function draw() {
    const widget = window.ComebackWidget;
    if (!widget || typeof widget.preview !== "function") return;
    const lang = language.value in states ? language.value : "en";
    widget.preview({ locale: lang, widget: config(lang), state: states[lang][as.value] || states[lang].member });
  }

  form.querySelectorAll("input[data-color-picker]").forEach((picker) => {
    const text = document.getElementById(picker.dataset.colorPicker);
    if (!text) return;
    const sync = () => { if (COLOR.test(text.value.trim())) picker.value = text.value.trim().toLowerCase(); };
    sync();
    text.addEventListener("input", sync);
    picker.addEventListener("input", () => { text.value = picker.value; draw(); });
  });
  let timer = 0;
  form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(draw, 120); });
  form.addEventListener("change", draw);
  as.addEventListener("change", draw);
  language.addEventListener("change", draw);
  draw();
})();
