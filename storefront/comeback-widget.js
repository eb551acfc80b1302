/*! Comeback loyalty widget: a launcher and a panel for the shopper's points, rewards and codes.
 * No dependencies, no build step.  Embed:
 *   <script src=".../comeback-widget.js" data-endpoint="/apps/comeback" defer></script>
 * See storefront/README.md. */
(() => {
  "use strict";
  if (window.ComebackWidget) return;

  const script = document.currentScript || document.querySelector("script[src*='comeback-widget']");
  const opts = (script && script.dataset) || {};
  const endpoint = (opts.endpoint || "/apps/comeback").replace(/\/+$/, "");
  const shopRoot = (window.Shopify && window.Shopify.routes && window.Shopify.routes.root) || "/";
  const loginUrl = opts.loginUrl || shopRoot + "account/login";

  const STRINGS = {
    en: {
      rewards: "Rewards", close: "Close", points: { one: "{n} point", other: "{n} points" },
      availablePoints: { one: "point available", other: "points available" }, pending: "Pending", tier: "Tier", nextTier: "Next tier: {name}",
      topTier: "You're in our top tier", noTier: "No tier yet",
      redeem: "Redeem", redeeming: "Redeeming…", more: { one: "{n} more point", other: "{n} more points" },
      tierOnly: "For {tier} members", history: "Recent activity", noHistory: "No activity yet.",
      refer: "Refer a friend", referText: "Share your link. When friends order, you earn points.",
      referLink: "Your referral link", copy: "Copy", copied: "Copied", copyFailed: "Copy failed; select the text and copy it.",
      codes: "Your codes", expires: "Use by {date}", yourCode: "Your discount code",
      useCode: "Enter it at checkout. It works once.", pitchTitle: "Join our rewards program",
      earn: "Earn {points} for every {amount} you spend.", pitchRedeem: "Turn your points into discounts:",
      tiers: "Tiers: {names}", login: "Log in or create an account", loading: "Loading…",
      retry: "Try again", loadFailed: "We couldn't load your rewards. Please try again.",
      notEnough: "You don't have enough points for this reward yet.",
      loginFirst: "Please log in to redeem your points.", otherTier: "This reward is for another tier.",
      gone: "This reward is no longer available.", paused: "The rewards program is paused right now.",
      failed: "We couldn't create your code right now. Your points are safe; please try again.",
      network: "We couldn't reach the store. Check your connection and try again.",
      off: "{amount} off", pctOff: "{pct} off", freeShipping: "Free shipping", pendingUntil: "pending until {date}",
      kinds: { earn: "Earned", redeem: "Redeemed", reverse: "Reversed", expire: "Expired", adjust: "Adjustment",
        transfer: "Transfer" },
      returned: "Points returned", perks: { free_shipping: "Free shipping", early_access: "Early access",
        birthday_gift: "Birthday gift" },
    },
    he: {
      rewards: "מועדון הטבות", close: "סגירה", points: { one: "נקודה אחת", other: "{n} נקודות" },
      availablePoints: { one: "נקודה זמינה", other: "נקודות זמינות" }, pending: "ממתינות", tier: "דרגה", nextTier: "הדרגה הבאה: {name}",
      topTier: "הגעת לדרגה הגבוהה ביותר", noTier: "עדיין אין דרגה",
      redeem: "מימוש", redeeming: "מממשים…", more: { one: "חסרה עוד נקודה אחת", other: "חסרות עוד {n} נקודות" },
      tierOnly: "לחברי {tier}", history: "פעילות אחרונה", noHistory: "עדיין אין פעילות.",
      refer: "הזמינו חברים", referText: "שתפו את הקישור שלכם. כשחברים מזמינים, אתם צוברים נקודות.",
      referLink: "קישור ההזמנה שלך", copy: "העתקה", copied: "הועתק", copyFailed: "ההעתקה נכשלה; סמנו את הטקסט והעתיקו.",
      codes: "הקודים שלך", expires: "בתוקף עד {date}", yourCode: "קוד ההנחה שלך",
      useCode: "הזינו אותו בקופה. הוא תקף לשימוש אחד.", pitchTitle: "הצטרפו למועדון ההטבות שלנו",
      earn: "צברו {points} על כל {amount} של קנייה.", pitchRedeem: "המירו נקודות בהנחות:",
      tiers: "דרגות: {names}", login: "התחברות או יצירת חשבון", loading: "טוען…",
      retry: "נסו שוב", loadFailed: "לא הצלחנו לטעון את ההטבות. נסו שוב.",
      notEnough: "עדיין אין לך מספיק נקודות להטבה הזו.",
      loginFirst: "יש להתחבר כדי לממש נקודות.", otherTier: "ההטבה הזו מיועדת לדרגה אחרת.",
      gone: "ההטבה הזו כבר לא זמינה.", paused: "מועדון ההטבות מושהה כרגע.",
      failed: "לא הצלחנו ליצור את הקוד כרגע. הנקודות שלך שמורות; נסו שוב.",
      network: "אין חיבור לחנות. בדקו את החיבור ונסו שוב.",
      off: "{amount} הנחה", pctOff: "{pct} הנחה", freeShipping: "משלוח חינם", pendingUntil: "ממתין עד {date}",
      kinds: { earn: "נצברו", redeem: "מומשו", reverse: "בוטלו", expire: "פגו", adjust: "עדכון", transfer: "העברה" },
      returned: "הנקודות הוחזרו", perks: { free_shipping: "משלוח חינם", early_access: "גישה מוקדמת",
        birthday_gift: "מתנת יום הולדת" },
    },
    fa: {
      rewards: "باشگاه مشتریان", close: "بستن", points: { one: "{n} امتیاز", other: "{n} امتیاز" },
      availablePoints: { one: "امتیاز قابل استفاده", other: "امتیاز قابل استفاده" }, pending: "در انتظار", tier: "سطح", nextTier: "سطح بعدی: {name}",
      topTier: "شما در بالاترین سطح هستید", noTier: "هنوز سطحی ندارید",
      redeem: "دریافت", redeeming: "در حال دریافت…", more: { one: "{n} امتیاز دیگر", other: "{n} امتیاز دیگر" },
      tierOnly: "ویژهٔ اعضای {tier}", history: "فعالیت‌های اخیر", noHistory: "هنوز فعالیتی ثبت نشده است.",
      refer: "دوستانتان را دعوت کنید", referText: "پیوندتان را به اشتراک بگذارید. با خرید دوستانتان امتیاز می‌گیرید.",
      referLink: "پیوند دعوت شما", copy: "رونوشت", copied: "رونوشت شد", copyFailed: "رونوشت انجام نشد؛ متن را انتخاب و رونوشت کنید.",
      codes: "کدهای شما", expires: "معتبر تا {date}", yourCode: "کد تخفیف شما",
      useCode: "آن را هنگام پرداخت وارد کنید. فقط یک بار قابل استفاده است.", pitchTitle: "به باشگاه مشتریان ما بپیوندید",
      earn: "به ازای هر {amount} خرید {points} بگیرید.", pitchRedeem: "امتیازهایتان را به تخفیف تبدیل کنید:",
      tiers: "سطح‌ها: {names}", login: "ورود یا ساخت حساب کاربری", loading: "در حال بارگذاری…",
      retry: "تلاش دوباره", loadFailed: "بارگذاری جوایز ممکن نشد. لطفاً دوباره تلاش کنید.",
      notEnough: "هنوز امتیاز کافی برای این جایزه ندارید.",
      loginFirst: "برای استفاده از امتیازها وارد حساب خود شوید.", otherTier: "این جایزه برای سطح دیگری است.",
      gone: "این جایزه دیگر در دسترس نیست.", paused: "باشگاه مشتریان فعلاً متوقف است.",
      failed: "اکنون ساخت کد ممکن نشد. امتیازهای شما محفوظ است؛ لطفاً دوباره تلاش کنید.",
      network: "ارتباط با فروشگاه برقرار نشد. اتصال خود را بررسی و دوباره تلاش کنید.",
      off: "{amount} تخفیف", pctOff: "{pct} تخفیف", freeShipping: "ارسال رایگان", pendingUntil: "در انتظار تا {date}",
      kinds: { earn: "کسب شده", redeem: "استفاده شده", reverse: "برگشت خورده", expire: "منقضی شده", adjust: "اصلاح",
        transfer: "انتقال" },
      returned: "امتیازها برگردانده شد", perks: { free_shipping: "ارسال رایگان", early_access: "دسترسی زودهنگام",
        birthday_gift: "هدیهٔ تولد" },
    },
  };
  const RTL = ["he", "fa", "ar", "ur"];

  function resolveLocale(raw) {
    let tag = String(raw || "en").replace("_", "-");
    try { tag = Intl.getCanonicalLocales(tag)[0]; } catch (e) { tag = "en"; }
    const lang = tag.split("-")[0].toLowerCase();
    return STRINGS[lang] ? { lang, tag } : { lang: "en", tag: "en" };
  }
  const { lang, tag } = resolveLocale(opts.locale || document.documentElement.lang || navigator.language);
  const S = STRINGS[lang];
  const plural = new Intl.PluralRules(tag);
  const num = new Intl.NumberFormat(tag);
  const signed = new Intl.NumberFormat(tag, { signDisplay: "exceptZero" });
  const dateFmt = new Intl.DateTimeFormat(tag, { dateStyle: "medium" });

  function t(key, vars) {
    let s = S[key] !== undefined ? S[key] : STRINGS.en[key];
    if (s && typeof s === "object") s = s[plural.select(vars.count)] || s.other;
    return String(s).replace(/\{(\w+)\}/g, (_, k) => (vars && vars[k] !== undefined ? vars[k] : ""));
  }
  const pts = (n) => t("points", { n: num.format(n), count: n });
  const date = (iso) => { const d = new Date(iso); return isNaN(d) ? "" : dateFmt.format(d); };
  function money(amount, currency, whole) {
    try {
      return new Intl.NumberFormat(tag, { style: "currency", currency, minimumFractionDigits: whole ? 0 : undefined,
        maximumFractionDigits: whole ? 0 : undefined }).format(amount);
    } catch (e) { return num.format(amount) + " " + currency; }
  }

  // --- DOM helper: h("button", {class: "x", onclick: fn}, "text", child) ---------------------
  function h(name, attrs, ...children) {
    const el = document.createElement(name);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "class") el.className = v;
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
    return el;
  }
  const sr = (text) => h("span", { class: "cbw-sr" }, text);
  const icon = () => {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.innerHTML = '<path fill="currentColor" d="M20 7h-2.2A3 3 0 0 0 12 3.8 3 3 0 0 0 6.2 7H4a1 1 0 0 0-1 1v3a1 1 0 0 0 1 1h.5v7a2 2 0 0 0 2 2h11a2 2 0 0 0 2-2v-7h.5a1 1 0 0 0 1-1V8a1 1 0 0 0-1-1zm-6.5-2a1 1 0 1 1 1 2h-1.5V6.5A1.5 1.5 0 0 1 13.5 5zm-5 0a1.5 1.5 0 0 1 1.5 1.5V7H8.5a1 1 0 0 1 0-2zM5 9h6v1H5zm1.5 3H11v7H6.5zm11 7H13v-7h4.5zM19 10h-6V9h6z"/>';
    return svg;
  };

  // --- state ---------------------------------------------------------------------------------
  let state = null;
  let issued = null; // the code just redeemed: {code, reward, expires_at}
  let busyReward = null;
  let loadError = false;
  let root, launcher, panel, body, alertBox, statusBox;
  const uid = "comeback-" + Math.random().toString(36).slice(2, 8);

  async function call(path, init, timeoutMs) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), timeoutMs || 15000);
    try {
      const res = await fetch(endpoint + path, Object.assign({ credentials: "same-origin", signal: ctrl.signal,
        headers: { Accept: "application/json" } }, init));
      let data = null;
      try { data = await res.json(); } catch (e) { data = null; }
      return { ok: res.ok, status: res.status, data: data || {} };
    } finally { clearTimeout(timer); }
  }

  async function load() {
    try {
      const res = await call("/loyalty");
      if (!res.ok) throw new Error("HTTP " + res.status);
      state = res.data;
      loadError = false;
    } catch (e) {
      loadError = true;
      if (!state) throw e;
    }
  }

  function redeemError(res) {
    const s = res.status;
    if (s === 409) return res.data.available !== undefined ? t("notEnough") : t("paused");
    if (s === 401) return t("loginFirst");
    if (s === 403) return state && state.logged_in ? t("otherTier") : t("loginFirst");
    if (s === 404) return t("gone");
    return t("failed");
  }

  async function redeem(reward) {
    if (busyReward !== null) return;
    busyReward = reward.id;
    setAlert("");
    render();
    let message = "";
    try {
      const res = await call("/loyalty/redeem", { method: "POST", headers: { Accept: "application/json",
        "Content-Type": "application/json" }, body: JSON.stringify({ reward_id: reward.id }) }, 45000);
      if (res.status === 201 && res.data.code) {
        issued = { code: res.data.code, reward: reward.name, expires_at: res.data.expires_at };
      } else {
        message = redeemError(res);
      }
      await load().catch(() => {});
    } catch (e) {
      message = t("network");
    }
    busyReward = null;
    render(issued && !message ? "issued" : null);
    setAlert(message);
  }

  async function copy(text, button) {
    let ok = false;
    try { await navigator.clipboard.writeText(text); ok = true; } catch (e) {
      const area = h("textarea", { class: "cbw-sr", readonly: true, "aria-hidden": "true" });
      area.value = text;
      root.append(area);
      area.select();
      try { ok = document.execCommand("copy"); } catch (e2) { ok = false; }
      area.remove();
      button.focus();
    }
    const label = button.querySelector(".cbw-copy-text");
    if (ok && label) {
      label.textContent = t("copied");
      setTimeout(() => { label.textContent = t("copy"); }, 2000);
    }
    statusBox.textContent = "";
    setTimeout(() => { statusBox.textContent = ok ? t("copied") : t("copyFailed"); }, 50);
  }

  const copyButton = (text, key, what) => h("button", { type: "button", class: "cbw-btn cbw-btn-quiet", "data-key": key,
    onclick: (ev) => copy(text, ev.currentTarget) }, h("span", { class: "cbw-copy-text" }, t("copy")), sr(" " + what));

  function setAlert(text) {
    alertBox.textContent = text;
    alertBox.hidden = !text;
  }

  // --- rendering -----------------------------------------------------------------------------
  function rewardMeta(r, currency) {
    const value = Number(r.value);
    if (r.kind === "fixed_amount") return t("off", { amount: money(value, currency, Number.isInteger(value)) });
    if (r.kind === "percentage") return t("pctOff", { pct: new Intl.NumberFormat(tag, { style: "percent" }).format(value / 100) });
    if (r.kind === "free_shipping") return t("freeShipping");
    return "";
  }

  function rewardItem(r, currency, available) {
    const lockedByTier = r.tier_only && !(state.tier && state.tier.name === r.tier_only);
    const meta = [rewardMeta(r, currency), pts(r.points_cost)].filter(Boolean).join(" · ");
    let action = null;
    if (state.logged_in && !lockedByTier && r.points_cost <= available) {
      const busy = busyReward === r.id;
      action = h("button", { type: "button", class: "cbw-btn", "data-key": "redeem-" + r.id,
        "aria-disabled": busyReward !== null ? "true" : null, onclick: () => redeem(r) },
      busy ? t("redeeming") : t("redeem"), sr(" " + r.name));
    } else if (state.logged_in && !lockedByTier) {
      action = h("span", { class: "cbw-more" }, t("more", { n: num.format(r.points_cost - available), count: r.points_cost - available }));
    }
    return h("li", { class: "cbw-reward" + (action && action.tagName === "BUTTON" ? " cbw-unlocked" : "") },
      h("div", { class: "cbw-reward-text" }, h("span", { class: "cbw-reward-name" }, r.name),
        h("span", { class: "cbw-meta" }, meta),
        r.tier_only ? h("span", { class: "cbw-meta" }, t("tierOnly", { tier: r.tier_only })) : null),
      action);
  }

  function section(key, title, ...content) {
    const id = uid + "-" + key;
    return h("section", { class: "cbw-section cbw-" + key, "aria-labelledby": id },
      h("h3", { id, class: "cbw-h" }, title), ...content);
  }

  function historyReason(e) {
    // A compensating entry after a failed code carries the technical error as its reason.
    if (e.kind === "adjust" && /^code could not be created/.test(e.reason || "")) return t("returned");
    return e.reason || "";
  }

  function memberView() {
    const p = state.program || {};
    const bal = state.balance || { available: 0, pending: 0 };
    const tiers = state.tiers || [];
    const current = tiers.find((x) => state.tier && x.name === state.tier.name);
    const perks = current && current.perks ? Object.keys(current.perks).filter((k) => current.perks[k] && S.perks[k]) : [];
    const out = [];
    if (issued) {
      out.push(h("div", { class: "cbw-issued", role: "group", "aria-labelledby": uid + "-issued", tabindex: "-1",
        "data-key": "issued" },
      h("p", { id: uid + "-issued", class: "cbw-issued-title" }, t("yourCode"), sr(": " + issued.reward)),
      h("p", { class: "cbw-code", dir: "ltr", "data-cbw": "code" }, issued.code),
      h("p", { class: "cbw-meta" }, issued.reward + (issued.expires_at ? " · " + t("expires", { date: date(issued.expires_at) }) : "")),
      h("p", { class: "cbw-meta" }, t("useCode")),
      copyButton(issued.code, "copy-issued", issued.code)));
    }
    out.push(h("div", { class: "cbw-balance", "data-cbw": "balance" },
      h("div", { class: "cbw-balance-main" }, h("span", { class: "cbw-big" }, num.format(bal.available)),
        h("span", { class: "cbw-balance-label" }, t("availablePoints", { count: bal.available }))),
      h("div", { class: "cbw-meta" }, t("pending") + ": " + pts(bal.pending)),
      h("div", { class: "cbw-tier" },
        h("span", { class: "cbw-pill" }, state.tier && state.tier.name ? t("tier") + ": " + state.tier.name : t("noTier")),
        h("span", { class: "cbw-meta" }, state.tier && state.tier.next ? t("nextTier", { name: state.tier.next }) : t("topTier"))),
      perks.length ? h("div", { class: "cbw-meta" }, perks.map((k) => S.perks[k]).join(" · ")) : null));
    out.push(section("rewards", t("rewards"), h("ul", { class: "cbw-list" },
      (state.rewards || []).map((r) => rewardItem(r, p.currency || "USD", bal.available)))));
    if (state.codes && state.codes.length) {
      out.push(section("codes", t("codes"), h("ul", { class: "cbw-list" }, state.codes.map((c) => h("li", { class: "cbw-row" },
        h("div", null, h("span", { class: "cbw-code-sm", dir: "ltr" }, c.code),
          h("span", { class: "cbw-meta" }, c.reward + (c.expires_at ? " · " + t("expires", { date: date(c.expires_at) }) : ""))),
        copyButton(c.code, "copy-" + c.code, c.code))))));
    }
    if (state.referral && state.referral.link) {
      const inputId = uid + "-ref";
      out.push(section("referral", t("refer"), h("p", { class: "cbw-meta" }, t("referText")),
        h("label", { for: inputId, class: "cbw-sr" }, t("referLink")),
        h("div", { class: "cbw-row" }, h("input", { id: inputId, class: "cbw-input", readonly: true, dir: "ltr",
          value: state.referral.link, "data-key": "ref-input", onfocus: (ev) => ev.target.select() }),
        copyButton(state.referral.link, "copy-ref", t("referLink")))));
    }
    const now = Date.now();
    const entries = (state.history || []).slice(0, 8);
    out.push(section("history", t("history"), entries.length ? h("ul", { class: "cbw-list" }, entries.map((e) => {
      const pending = e.available_at && new Date(e.available_at).getTime() > now;
      return h("li", { class: "cbw-row" }, h("div", null,
        h("span", null, (S.kinds[e.kind] || e.kind) + (historyReason(e) ? " · " : ""), h("bdi", null, historyReason(e))),
        h("span", { class: "cbw-meta" }, date(e.at) + (pending ? " · " + t("pendingUntil", { date: date(e.available_at) }) : ""))),
      h("span", { class: "cbw-points" + (e.points < 0 ? " cbw-neg" : "") }, signed.format(e.points)));
    })) : h("p", { class: "cbw-meta" }, t("noHistory"))));
    return out;
  }

  function guestView() {
    const p = state.program || {};
    let ratio = Number(p.points_per_currency_unit) || 0;
    let unit = 1;
    if (ratio > 0 && ratio < 1) { unit = Math.round(1 / ratio); ratio = 1; }
    const tiers = (state.tiers || []).map((x) => x.name);
    return [h("div", { class: "cbw-pitch", "data-cbw": "pitch" },
      h("p", { class: "cbw-pitch-title" }, t("pitchTitle")),
      ratio > 0 ? h("p", null, t("earn", { points: pts(ratio), amount: money(unit, p.currency || "USD", true) })) : null,
      tiers.length ? h("p", { class: "cbw-meta" }, t("tiers", { names: tiers.join(" · ") })) : null,
      h("a", { class: "cbw-btn cbw-btn-block", href: loginUrl, "data-key": "login" }, t("login"))),
    section("rewards", t("pitchRedeem"), h("ul", { class: "cbw-list" },
      (state.rewards || []).map((r) => rewardItem(r, p.currency || "USD", 0))))];
  }

  function render(focusKey) {
    if (!root) build();
    const active = document.activeElement;
    const keep = focusKey || (panel.contains(active) && active.getAttribute && active.getAttribute("data-key"));
    updateLauncher();
    let content;
    if (!state) content = [h("p", { class: "cbw-meta" }, t("loading"))];
    else content = state.logged_in ? memberView() : guestView();
    if (loadError) {
      content.unshift(h("div", { class: "cbw-row cbw-warn" }, h("span", null, t("loadFailed")),
        h("button", { type: "button", class: "cbw-btn cbw-btn-quiet", "data-key": "retry", onclick: refresh }, t("retry"))));
    }
    body.replaceChildren(...content);
    if (keep) {
      const target = panel.querySelector('[data-key="' + CSS.escape(keep) + '"]');
      if (target) target.focus();
      else if (panel.contains(active) || !document.activeElement || document.activeElement === document.body) panel.focus();
    }
  }

  function updateLauncher() {
    const bal = state && state.logged_in && state.balance;
    launcher.replaceChildren(icon(), h("span", { class: "cbw-launcher-label" }, t("rewards")),
      bal ? h("span", { class: "cbw-badge", "aria-hidden": "true" }, num.format(bal.available)) : null,
      bal ? sr(", " + pts(bal.available)) : null);
  }

  function build() {
    root = h("div", { class: "cbw", dir: RTL.includes(lang) ? "rtl" : "ltr", lang: tag, "data-comeback-widget": "" });
    if (opts.accent) root.style.setProperty("--cbw-accent", opts.accent);
    launcher = h("button", { type: "button", class: "cbw-launcher", "aria-expanded": "false",
      "aria-controls": uid + "-panel", "aria-haspopup": "dialog", onclick: () => (panel.hidden ? open() : close()) });
    alertBox = h("div", { class: "cbw-alert", role: "alert", hidden: true });
    statusBox = h("div", { class: "cbw-sr", role: "status" });
    body = h("div", { class: "cbw-body" });
    panel = h("div", { class: "cbw-panel", id: uid + "-panel", role: "dialog", "aria-labelledby": uid + "-title",
      tabindex: "-1", hidden: true },
    h("div", { class: "cbw-head" }, h("h2", { class: "cbw-title", id: uid + "-title" }, t("rewards")),
      h("button", { type: "button", class: "cbw-close", "data-key": "close", onclick: () => close() },
        h("span", { "aria-hidden": "true" }, "×"), sr(t("close")))),
    alertBox, statusBox, body);
    root.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape" && !panel.hidden) { ev.stopPropagation(); close(); }
    });
    root.append(launcher, panel);
    document.body.append(root);
  }

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    panel.focus();
    refresh();
  }

  function close() {
    const hadFocus = panel.contains(document.activeElement);
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    setAlert("");
    issued = null;
    render();
    if (hadFocus || document.activeElement === document.body) launcher.focus();
  }

  async function refresh() {
    await load().catch(() => {});
    render();
  }

  function loadCss() {
    if (opts.css === "none") return Promise.resolve();
    const href = opts.css || (script && script.src ? script.src.replace(/\.js(?=$|[?#])/, ".css") : "");
    if (!href || document.querySelector('link[href="' + CSS.escape(href) + '"]')) return Promise.resolve();
    return new Promise((resolve) => {
      const link = h("link", { rel: "stylesheet", href, onload: resolve, onerror: resolve });
      document.head.append(link);
      setTimeout(resolve, 3000);
    });
  }

  async function start() {
    try {
      await Promise.all([load(), loadCss()]);
    } catch (e) {
      // The app is unreachable: show nothing rather than a broken launcher.
      if (window.console) console.warn("Comeback widget: could not load", endpoint + "/loyalty", e);
      return;
    }
    if (!state || !state.program || state.program.enabled === false) return;
    render();
  }

  window.ComebackWidget = {
    open: () => root && panel.hidden && open(),
    close: () => root && !panel.hidden && close(),
    refresh: () => refresh(),
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
