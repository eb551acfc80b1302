/*! Comeback loyalty widget: launcher + panel for the shopper's points, rewards, codes and surveys.
 * No dependencies, no build step. See storefront/README.md.
 *   <script src=".../comeback-widget.js" data-endpoint="/apps/comeback" defer></script> */
(() => {
  "use strict";
  if (window.ComebackWidget) return;
  const script = document.currentScript || document.querySelector("script[src*='comeback-widget']");
  // The Shopify app embed renders a mount point carrying the settings (data-comeback-widget); a
  // pasted <script data-…> works too.  The mount point's attributes win.
  const mount = document.querySelector("[data-comeback-widget]");
  const opts = Object.assign({}, (script && script.dataset) || {}, (mount && mount.dataset) || {});
  // Where the widget's API is on this storefront (the platform forwards it, signed, to our /proxy):
  // the mount point says (Shopify's app proxy /apps/comeback, WordPress's /wp-json/comeback/v1).
  const endpoint = (opts.endpoint || "/apps/comeback").replace(/\/+$/, "");
  const routes = window.Shopify && window.Shopify.routes;
  const loginUrl = opts.loginUrl || ((routes && routes.root) || "/") + "account/login";
  // WordPress's REST API believes its login cookie only with the page's nonce (data-nonce).
  const authHeaders = opts.nonce ? { "X-WP-Nonce": opts.nonce } : {};

  const STRINGS = {
    en: {
      title: "Rewards", rewards: "Rewards", close: "Close", points: { one: "{n} point", other: "{n} points" },
      avail: { one: "point available", other: "points available" }, pending: "Pending: {p}", tier: "Tier: ",
      next: "Next tier: {name}", top: "You're in our top tier", noTier: "No tier yet", redeem: "Redeem",
      redeeming: "Redeeming…", more: { one: "{n} more point", other: "{n} more points" }, tierOnly: "For {tier} members",
      history: "Recent activity", noHistory: "No activity yet.", refer: "Refer a friend",
      referText: "Earn points when friends order with your link.", referLink: "Your referral link", copy: "Copy",
      copied: "Copied", codes: "Your codes", expires: "Use by {date}", yourCode: "Your discount code",
      useCode: "Use it once at checkout.", pitch: "Join our rewards program",
      earn: "Earn {points} for every {amount} you spend.", pitchRedeem: "Turn your points into discounts",
      tiers: "Tiers: {names}", login: "Log in or create an account", loading: "Loading…", retry: "Try again",
      loadFailed: "We couldn't load your rewards.", notEnough: "You don't have enough points for this reward yet.",
      loginFirst: "Please log in to redeem your points.", otherTier: "This reward is for another tier.",
      gone: "This reward is no longer available.", paused: "The rewards program is paused.",
      failed: "We couldn't create your code. Your points are safe; please try again.",
      network: "Connection problem. Please try again.", off: "{amount} off", freeShip: "Free shipping",
      until: "pending until {date}", returned: "Points returned",
      surveys: "Surveys", earnBy: "Answer to earn {points}", required: "required", yes: "Yes", no: "No",
      low: "not at all likely", high: "extremely likely", send: "Send answers", sending: "Sending…",
      thanks: "Thank you for your answers!", thanksPts: "Thank you! You earned {points}.",
      surveyGone: "This survey is no longer available.", sendFailed: "We couldn't send your answers. Please try again.",
      kinds: { earn: "Earned", redeem: "Redeemed", reverse: "Reversed", expire: "Expired", adjust: "Adjustment" },
      invited: "{name} invited you", invitedAnon: "You've been invited", offer: "Get {percent} off your first order.",
      email: "Your email", getCode: "Get my code", getting: "Getting your code…", friendCode: "Your first-order code",
      friendUse: "Enter it at checkout. It works once, on your first order.", apply: "Apply it to my cart",
      badEmail: "Please enter a valid email address.", already: "This email has already been invited.",
      refused: "This invitation can't be used.", tooMany: "Too many tries. Please try again later.",
      invalidRef: "This invitation link is no longer valid.", reviewing: "Thank you! The shop will check this invitation first.",
      wait: "Too many attempts. Please try again in a minute.",
      ways: "Ways to earn", wayPurchase: "{points} per {amount} spent", waySignup: "{points} for creating an account",
      wayBirthday: "{points} on your birthday", wayReview: "{points} for a product review",
      waySurvey: "{points} for answering a survey", wayReferral: "{points} when a friend you refer places an order",
      wayFollow: "{points} for following us", wayShare: "{points} for sharing us",
      spendMore: "Spend {amount} more for {tier}", earnMore: "Earn {points} more for {tier}",
      progress: "Progress to {tier}",
    },
    he: {
      title: "מועדון הטבות", rewards: "הטבות", close: "סגירה", points: { one: "נקודה אחת", other: "{n} נקודות" },
      avail: { one: "נקודה זמינה", other: "נקודות זמינות" }, pending: "ממתינות: {p}", tier: "דרגה: ",
      next: "הדרגה הבאה: {name}", top: "הגעת לדרגה הגבוהה ביותר", noTier: "עדיין אין דרגה", redeem: "מימוש",
      redeeming: "מממשים…", more: { one: "חסרה נקודה אחת", other: "חסרות {n} נקודות" }, tierOnly: "לחברי {tier}",
      history: "פעילות אחרונה", noHistory: "אין פעילות עדיין.", refer: "הזמינו חברים",
      referText: "צברו נקודות כשחברים מזמינים דרך הקישור שלכם.", referLink: "קישור ההזמנה שלך", copy: "העתקה",
      copied: "הועתק", codes: "הקודים שלך", expires: "בתוקף עד {date}", yourCode: "קוד ההנחה שלך",
      useCode: "לשימוש אחד בקופה.", pitch: "הצטרפו למועדון ההטבות שלנו",
      earn: "צברו {points} על כל {amount} של קנייה.", pitchRedeem: "המירו נקודות בהנחות",
      tiers: "דרגות: {names}", login: "התחברות או יצירת חשבון", loading: "טוען…", retry: "נסו שוב",
      loadFailed: "לא הצלחנו לטעון את ההטבות.", notEnough: "אין לך עדיין מספיק נקודות להטבה הזו.",
      loginFirst: "יש להתחבר כדי לממש נקודות.", otherTier: "ההטבה הזו מיועדת לדרגה אחרת.",
      gone: "ההטבה הזו כבר לא זמינה.", paused: "מועדון ההטבות מושהה.",
      failed: "לא הצלחנו ליצור את הקוד. הנקודות שלך שמורות; נסו שוב.",
      network: "בעיית חיבור. נסו שוב.", off: "{amount} הנחה", freeShip: "משלוח חינם",
      until: "ממתין עד {date}", returned: "הנקודות הוחזרו",
      surveys: "סקרים", earnBy: "ענו וצברו {points}", required: "חובה", yes: "כן", no: "לא",
      low: "בכלל לא סביר", high: "סביר מאוד", send: "שליחת התשובות", sending: "שולחים…",
      thanks: "תודה על התשובות!", thanksPts: "תודה! צברתם {points}.",
      surveyGone: "הסקר הזה כבר לא זמין.", sendFailed: "לא הצלחנו לשלוח את התשובות. נסו שוב.",
      kinds: { earn: "נצברו", redeem: "מומשו", reverse: "בוטלו", expire: "פגו", adjust: "עדכון" },
      invited: "הוזמנת על ידי {name}", invitedAnon: "קיבלת הזמנה", offer: "קבלו {percent} הנחה על ההזמנה הראשונה.",
      email: "האימייל שלך", getCode: "לקבלת הקוד", getting: "מכינים את הקוד…", friendCode: "הקוד שלך להזמנה הראשונה",
      friendUse: "הזינו אותו בקופה. הוא תקף פעם אחת, בהזמנה הראשונה.", apply: "החלת הקוד על העגלה",
      badEmail: "נא להזין כתובת אימייל תקינה.", already: "כתובת האימייל הזו כבר הוזמנה.",
      refused: "לא ניתן להשתמש בהזמנה הזו.", tooMany: "יותר מדי ניסיונות. נסו שוב מאוחר יותר.",
      invalidRef: "קישור ההזמנה כבר לא בתוקף.", reviewing: "תודה! החנות תבדוק קודם את ההזמנה הזו.",
      wait: "יותר מדי ניסיונות. נסו שוב בעוד דקה.",
      ways: "איך צוברים נקודות", wayPurchase: "{points} על כל {amount} של קנייה", waySignup: "{points} על פתיחת חשבון",
      wayBirthday: "{points} ביום ההולדת שלך", wayReview: "{points} על ביקורת מוצר",
      waySurvey: "{points} על מענה לסקר", wayReferral: "{points} כשחבר שהזמנת מבצע הזמנה",
      wayFollow: "{points} על מעקב אחרינו", wayShare: "{points} על שיתוף",
      spendMore: "עוד {amount} בקניות לדרגת {tier}", earnMore: "עוד {points} לדרגת {tier}",
      progress: "ההתקדמות לדרגת {tier}",
    },
    fa: {
      title: "باشگاه مشتریان", rewards: "جوایز", close: "بستن", points: { other: "{n} امتیاز" },
      avail: { other: "امتیاز قابل استفاده" }, pending: "در انتظار: {p}", tier: "سطح: ",
      next: "سطح بعدی: {name}", top: "در بالاترین سطح هستید", noTier: "هنوز سطحی ندارید", redeem: "دریافت",
      redeeming: "در حال دریافت…", more: { other: "{n} امتیاز دیگر" }, tierOnly: "ویژهٔ اعضای {tier}",
      history: "فعالیت‌های اخیر", noHistory: "هنوز فعالیتی نیست.", refer: "دعوت از دوستان",
      referText: "با خرید دوستانتان از پیوند شما امتیاز بگیرید.", referLink: "پیوند دعوت شما", copy: "رونوشت",
      copied: "رونوشت شد", codes: "کدهای شما", expires: "معتبر تا {date}", yourCode: "کد تخفیف شما",
      useCode: "یک بار هنگام پرداخت وارد کنید.", pitch: "به باشگاه مشتریان ما بپیوندید",
      earn: "به ازای هر {amount} خرید {points} بگیرید.", pitchRedeem: "امتیازها را به تخفیف تبدیل کنید",
      tiers: "سطح‌ها: {names}", login: "ورود یا ساخت حساب", loading: "در حال بارگذاری…", retry: "تلاش دوباره",
      loadFailed: "بارگذاری جوایز ممکن نشد.", notEnough: "هنوز امتیاز کافی برای این جایزه ندارید.",
      loginFirst: "برای استفاده از امتیازها وارد شوید.", otherTier: "این جایزه برای سطح دیگری است.",
      gone: "این جایزه دیگر در دسترس نیست.", paused: "باشگاه مشتریان فعلاً متوقف است.",
      failed: "ساخت کد ممکن نشد. امتیازهایتان محفوظ است؛ دوباره تلاش کنید.",
      network: "مشکل اتصال. دوباره تلاش کنید.", off: "{amount} تخفیف", freeShip: "ارسال رایگان",
      until: "در انتظار تا {date}", returned: "امتیازها برگشت داده شد",
      surveys: "نظرسنجی‌ها", earnBy: "با پاسخ دادن {points} بگیرید", required: "الزامی", yes: "بله", no: "خیر",
      low: "اصلاً محتمل نیست", high: "کاملاً محتمل", send: "ارسال پاسخ‌ها", sending: "در حال ارسال…",
      thanks: "از پاسخ‌های شما سپاسگزاریم!", thanksPts: "سپاس! {points} گرفتید.",
      surveyGone: "این نظرسنجی دیگر در دسترس نیست.", sendFailed: "ارسال پاسخ‌ها ممکن نشد. دوباره تلاش کنید.",
      kinds: { earn: "کسب شده", redeem: "استفاده شده", reverse: "برگشت خورده", expire: "منقضی شده", adjust: "اصلاح" },
      invited: "{name} شما را دعوت کرده است", invitedAnon: "شما دعوت شده‌اید", offer: "{percent} تخفیف برای نخستین خریدتان بگیرید.",
      email: "ایمیل شما", getCode: "دریافت کد", getting: "در حال دریافت کد…", friendCode: "کد تخفیف نخستین خرید شما",
      friendUse: "هنگام پرداخت واردش کنید. فقط یک بار و برای نخستین خرید معتبر است.", apply: "اعمال کد روی سبد خرید",
      badEmail: "لطفاً یک نشانی ایمیل معتبر وارد کنید.", already: "این ایمیل پیش‌تر دعوت شده است.",
      refused: "این دعوت قابل استفاده نیست.", tooMany: "تلاش‌ها بیش از حد بود. بعداً دوباره تلاش کنید.",
      invalidRef: "این پیوند دعوت دیگر معتبر نیست.", reviewing: "سپاس! فروشگاه ابتدا این دعوت را بررسی می‌کند.",
      wait: "تلاش‌ها بیش از حد بود. یک دقیقهٔ دیگر دوباره تلاش کنید.",
      ways: "راه‌های گرفتن امتیاز", wayPurchase: "{points} به ازای هر {amount} خرید", waySignup: "{points} برای ساخت حساب",
      wayBirthday: "{points} در روز تولدتان", wayReview: "{points} برای نوشتن نقد محصول",
      waySurvey: "{points} برای پاسخ به نظرسنجی", wayReferral: "{points} وقتی دوستی که دعوت کرده‌اید خرید کند",
      wayFollow: "{points} برای دنبال کردن ما", wayShare: "{points} برای هم‌رسانی ما",
      spendMore: "{amount} خرید دیگر تا سطح {tier}", earnMore: "{points} دیگر تا سطح {tier}",
      progress: "پیشرفت تا سطح {tier}",
    },
  };

  // --- locale: data-locale, then <html lang>, then the browser; en/he/fa, else English ----------
  // One date convention per language (the dashboard shows the same): the Solar Hijri calendar in
  // Persian, the Gregorian one otherwise.
  let tag, lang, S, rtl, plural, num, signed, dates;
  function setLocale(wanted) {
    tag = String(wanted || "en").replace("_", "-");
    try { tag = Intl.getCanonicalLocales(tag)[0]; } catch (e) { tag = "en"; }
    lang = tag.split("-")[0].toLowerCase();
    if (!STRINGS[lang]) lang = tag = "en";
    tag = tag.split("-u-")[0];
    S = STRINGS[lang];
    rtl = lang === "he" || lang === "fa";
    plural = new Intl.PluralRules(tag);
    num = new Intl.NumberFormat(tag);
    signed = new Intl.NumberFormat(tag, { signDisplay: "exceptZero" });
    dates = new Intl.DateTimeFormat(tag, { dateStyle: "medium", calendar: lang === "fa" ? "persian" : "gregory" });
  }
  setLocale(opts.locale || document.documentElement.lang || navigator.language || "en");
  const pick = (key, count) => { const s = S[key]; return typeof s === "object" ? s[plural.select(count)] || s.other : s; };
  // "{name}" placeholders; values may be DOM nodes (e.g. <bdi> around merchant text): returns a node list
  const tn = (key, vars, count) => String(pick(key, count)).split(/\{(\w+)\}/)
    .map((p, i) => (i % 2 === 0 ? p : vars[p] === undefined ? "" : vars[p]));
  const t = (key, vars, count) => tn(key, vars || {}, count).join("");
  const pts = (n) => t("points", { n: num.format(n) }, n);
  const pct = (n) => new Intl.NumberFormat(tag, { style: "percent" }).format(n / 100);
  const date = (iso) => { const d = new Date(iso); return isNaN(d) ? "" : dates.format(d); };
  const money = (amount, currency) => {
    try {
      const whole = Number.isInteger(amount) ? { minimumFractionDigits: 0, maximumFractionDigits: 0 } : {};
      return new Intl.NumberFormat(tag, Object.assign({ style: "currency", currency }, whole)).format(amount);
    } catch (e) { return num.format(amount) + " " + currency; }
  };

  // --- DOM: h("button.cls1.cls2", {attr: v, onclick: fn}, "text", node, [more]) ---------------
  function h(spec, attrs, ...children) {
    const [name, ...classes] = spec.split(".");
    const el = document.createElement(name);
    if (classes.length) el.className = classes.join(" ");
    if (name === "button") el.type = "button";
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false && c !== "") el.append(c);
    return el;
  }
  const sr = (text) => h("span.cbw-sr", null, text);
  const bdi = (text) => h("bdi", null, text);
  const meta = (...c) => h("span.cbw-meta", null, ...c);
  const icon = () => {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.innerHTML = '<path fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round" d="M3 8h18v4H3zm2 '
      + '4h14v9H5zm7-4v13m0-13S10 3 7.5 4 9 8 12 8zm0 0s2-5 4.5-4S15 8 12 8z"/>';
    return svg;
  };

  // --- state and API ---------------------------------------------------------------------------
  let state = null, issued = null, busy = null, loadError = false, surveys = [], thanks = null, joinTried = false;
  // The dashboard's widget designer drives a preview: {locale, widget, state}; nothing is fetched.
  let preview = null;
  let root, launcher, panel, body, alertBox, statusBox;
  const uid = "comeback-" + Math.random().toString(36).slice(2, 8);

  // --- referral: ?ref=CODE is kept (localStorage, else a cookie) until the friend claims a code;
  // the claimed code is kept until it expires, so both survive navigation up to checkout -------
  const refKey = "comeback-ref:" + endpoint, codeKey = "comeback-friend:" + endpoint;
  const REF_DAYS = 30;
  let offer = null, claimed = null, freshRef = false, claiming = false, claimForm = null;
  const saved = (key) => {
    let raw = null;
    try { raw = localStorage.getItem(key); } catch (e) { /* storage blocked: the cookie below */ }
    if (raw === null) {
      const m = document.cookie.split("; ").find((c) => c.startsWith(encodeURIComponent(key) + "="));
      raw = m ? decodeURIComponent(m.slice(m.indexOf("=") + 1)) : null;
    }
    try { return raw ? JSON.parse(raw) : null; } catch (e) { return null; }
  };
  const keep = (key, value) => {
    const raw = JSON.stringify(value);
    try { localStorage.setItem(key, raw); return; } catch (e) { /* storage blocked */ }
    document.cookie = encodeURIComponent(key) + "=" + encodeURIComponent(raw) + "; path=/; max-age="
      + REF_DAYS * 86400 + "; samesite=lax";
  };
  const forget = (key) => {
    try { localStorage.removeItem(key); } catch (e) { /* storage blocked */ }
    document.cookie = encodeURIComponent(key) + "=; path=/; max-age=0; samesite=lax";
  };

  function captureRef() {
    let ref = null;
    try { ref = new URLSearchParams(location.search).get("ref"); } catch (e) { ref = null; }
    claimed = saved(codeKey);
    if (claimed && (!claimed.code || (claimed.expires_at && new Date(claimed.expires_at) < Date.now()))) {
      claimed = null;
      forget(codeKey);
    }
    if (ref && /^[A-Za-z0-9_-]{4,32}$/.test(ref) && !claimed) {
      freshRef = true;
      keep(refKey, { ref: ref.toUpperCase(), at: Date.now() });
    }
  }

  async function loadOffer() {
    if (claimed) { // a code used in an order (or refused, or expired) is no longer shown
      try {
        const res = await call("/referrals/code?code=" + encodeURIComponent(claimed.code), { headers: { Accept: "application/json" } });
        if (res.ok && res.data.usable === false) { claimed = null; forget(codeKey); }
      } catch (e) { /* offline: keep showing it */ }
      return;
    }
    const kept = saved(refKey);
    if (claimed || !kept || !kept.ref || Date.now() - (kept.at || 0) > REF_DAYS * 864e5) return;
    try {
      const res = await call("/referrals/offer?code=" + encodeURIComponent(kept.ref), { headers: { Accept: "application/json" } });
      if (res.ok && !res.data.own_link) offer = res.data;
      else if (res.status === 404 || res.data.own_link) forget(refKey);
    } catch (e) { /* offline: the next page tries again */ }
  }

  // A 429: the rate limits (Retry-After within a minute or so) or the referral rule's hourly cap.
  const tooMany = (res) => (res.status === 429
    ? t(res.data.retry_after > 0 && res.data.retry_after <= 90 ? "wait" : "tooMany") : "");

  const CLAIM_ERRORS = { invalid: "badEmail", email_required: "badEmail", already_referred: "already",
    referral_refused: "refused", rate_limited: "tooMany", referral_unknown: "invalidRef", program_inactive: "paused" };

  async function claim() {
    const input = claimForm.querySelector("input");
    const email = input ? input.value.trim() : "";
    if (claiming) return;
    if (input && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
      input.setAttribute("aria-invalid", "true");
      setAlert(t("badEmail"));
      input.focus();
      return;
    }
    if (input) input.removeAttribute("aria-invalid");
    claiming = true;
    setAlert("");
    render();
    let message = "", res = null;
    try {
      res = await call("/referrals", { method: "POST", body: JSON.stringify({ code: offer.code, email }),
        headers: { Accept: "application/json", "Content-Type": "application/json" } }, 45000);
    } catch (e) { message = t("network"); }
    if (res && res.status === 201 && res.data.code) {
      claimed = { code: res.data.code, expires_at: res.data.expires_at, apply_link: res.data.apply_link };
      keep(codeKey, claimed);
    } else if (res) {
      message = res.status === 201 ? t("reviewing") : tooMany(res) || t(CLAIM_ERRORS[res.data.code] || "failed");
    }
    if (res && (res.status === 201 || ["referral_refused", "referral_unknown", "already_referred"].includes(res.data.code))) {
      forget(refKey);
      offer = null;
    }
    claiming = false;
    render(claimed ? "friend-code" : null);
    setAlert(message);
    if (message && input && offer && CLAIM_ERRORS[res && res.data.code] === "badEmail") {
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  }

  function inviteForm() {
    if (!claimForm) {
      const id = uid + "email";
      claimForm = h("form.cbw-claim", { novalidate: true, onsubmit: (ev) => { ev.preventDefault(); claim(); } },
        offer.email_required === false ? null : [h("label", { for: id }, t("email")), h("input", { id, type: "email", name: "email",
          class: "cbw-input", autocomplete: "email", required: true, dir: "ltr", "data-key": "email" })],
        h("button.cbw-btn.cbw-btn-block", { type: "submit", "data-key": "claim" }, t("getCode")));
    }
    const button = claimForm.querySelector("[type=submit]");
    button.textContent = t(claiming ? "getting" : "getCode");
    button.setAttribute("aria-disabled", claiming ? "true" : "false");
    return claimForm;
  }

  // The friend's offer (before the claim) or code (after): first in the panel.
  function referralView() {
    if (claimed) {
      return [h("div.cbw-issued.cbw-friend", { role: "group", "aria-labelledby": uid + "friend", tabindex: "-1",
        "data-key": "friend-code", "data-cbw": "friend-code" },
      h("p", { id: uid + "friend", class: "cbw-issued-title" }, t("friendCode")),
      h("p.cbw-code", { dir: "ltr" }, claimed.code), meta(t("friendUse")),
      claimed.expires_at ? meta(t("expires", { date: date(claimed.expires_at) })) : null,
      h("div.cbw-actions", null, copyButton(claimed.code, "copy-friend", claimed.code),
        claimed.apply_link ? h("a.cbw-btn", { href: claimed.apply_link, "data-key": "apply" }, t("apply")) : null))];
    }
    if (!offer) return [];
    const name = String(offer.referrer_first_name || "").trim();
    return [h("section.cbw-invite", { "aria-labelledby": uid + "invite", "data-cbw": "invite" },
      h("h3.cbw-pitch-title", { id: uid + "invite" }, name ? tn("invited", { name: bdi(name) }) : t("invitedAnon")),
      h("p", null, t("offer", { percent: pct(offer.discount_percent) })), inviteForm())];
  }

  async function call(path, init, ms) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), ms || 15000);
    try {
      const options = Object.assign({ credentials: "same-origin", signal: ctrl.signal }, init);
      options.headers = Object.assign({}, authHeaders, (init && init.headers) || {});
      // WordPress with plain permalinks: the endpoint is itself a query (?rest_route=/comeback/v1),
      // so the path's own query follows it with "&".
      const res = await fetch(endpoint + (endpoint.includes("?") ? path.replace("?", "&") : path), options);
      const data = await res.json().catch(() => null);
      return { ok: res.ok, status: res.status, data: data || {} };
    } finally { clearTimeout(timer); }
  }

  async function load() {
    if (preview) { state = preview.state || state; loadError = false; return; }
    try {
      const res = await call("/loyalty?locale=" + lang, { headers: { Accept: "application/json" } });
      if (!res.ok) throw new Error("HTTP " + res.status);
      state = res.data;
      if (state.logged_in && state.member === false && !joinTried) {
        // Reading opens nothing: a logged-in shopper's account is opened by a POST, once a page.
        joinTried = true;
        const joined = await call("/loyalty?locale=" + lang, { method: "POST", headers: { Accept: "application/json" } });
        if (joined.ok) state = joined.data;
      }
      loadError = false;
    } catch (e) {
      loadError = true;
      if (!state) throw e;
    }
  }

  // The API's stable error codes (ApplicationError.code) -> messages; anything else: "failed".
  const REDEEM_ERRORS = { not_enough_points: "notEnough", program_inactive: "paused", login_required: "loginFirst",
    unauthorized: "loginFirst", tier_required: "otherTier", reward_unavailable: "gone" };
  const redeemError = (res) => tooMany(res) || t(REDEEM_ERRORS[res.data.code] || "failed");

  async function redeem(reward) {
    if (busy !== null || preview) return; // the designer's preview redeems nothing
    busy = reward.id;
    setAlert("");
    render();
    let message = "";
    try {
      const res = await call("/loyalty/redeem", { method: "POST", body: JSON.stringify({ reward_id: reward.id }),
        headers: { Accept: "application/json", "Content-Type": "application/json" } }, 45000);
      if (res.status === 201 && res.data.code) issued = { code: res.data.code, reward: reward.name, expires_at: res.data.expires_at };
      else message = redeemError(res);
      await load().catch(() => {});
    } catch (e) {
      message = t("network");
    }
    busy = null;
    render(message ? null : "issued");
    setAlert(message);
  }

  async function copy(text, button) {
    let ok = false;
    try { await navigator.clipboard.writeText(text); ok = true; } catch (e) {
      const area = h("textarea.cbw-sr", { "aria-hidden": "true" });
      area.value = text;
      root.append(area);
      area.select();
      try { ok = document.execCommand("copy"); } catch (e2) { ok = false; }
      area.remove();
      button.focus();
    }
    if (!ok) return;
    const label = button.firstChild;
    label.textContent = statusBox.textContent = t("copied");
    setTimeout(() => { label.textContent = t("copy"); statusBox.textContent = ""; }, 2000);
  }

  const copyButton = (text, key, what) => h("button.cbw-btn.cbw-btn-quiet", { "data-key": key,
    onclick: (ev) => copy(text, ev.currentTarget) }, h("span", null, t("copy")), sr(" " + what));

  function setAlert(text) {
    alertBox.textContent = text;
    alertBox.hidden = !text;
  }

  // --- surveys: each form is built once and kept across re-renders, so a draft survives them ---
  const forms = new Map();

  async function loadSurveys() {
    try {
      const res = await call("/surveys?locale=" + lang, { headers: { Accept: "application/json" } });
      return res.ok ? res.data.surveys || [] : surveys;
    } catch (e) { return surveys; }
  }

  function question(q, id, key) {
    const err = h("p.cbw-error", { id: id + "e", hidden: true });
    const text = [bdi(q.text), q.required ? h("span.cbw-req", null, " (" + t("required") + ")") : null];
    const input = (type, value, attrs) => h("input", Object.assign({ type, name: q.key, value, "data-key": key + value,
      "aria-describedby": err.id }, attrs));
    const opt = (value, label) => h("label.cbw-opt", null, input("radio", value), h("span", null, label));
    let control;
    if (q.kind === "score") {
      control = [h("div.cbw-scale", null, [...Array(11).keys()].map((i) => opt(i, [num.format(i),
        i === 0 ? sr(" – " + t("low")) : i === 10 ? sr(" – " + t("high")) : null]))),
      h("div.cbw-ends", { "aria-hidden": "true" }, h("span", null, t("low")), h("span", null, t("high")))];
    } else if (q.kind === "yes_no") {
      control = h("div.cbw-yn", null, opt("yes", t("yes")), opt("no", t("no")));
    } else if (q.kind === "choice") {
      control = q.choices.map((c) => h("label.cbw-check", null, input(q.multiple ? "checkbox" : "radio", c.value),
        bdi(c.label)));
    } else {
      const attrs = { id, name: q.key, class: "cbw-input", "data-key": key, "aria-describedby": err.id };
      const field = q.kind === "date" ? h("input", Object.assign({ type: "date" }, attrs))
        : h("textarea", Object.assign({ rows: 3, maxlength: 2000 }, attrs));
      return h("div.cbw-q", { "data-q": q.key }, h("label", { for: id }, text), err, field);
    }
    return h("fieldset.cbw-q", { "data-q": q.key }, h("legend", null, text), err, control);
  }

  function surveyForm(s) {
    const id = uid + "s" + s.id;
    const form = h("form.cbw-survey", { "aria-labelledby": id, novalidate: true,
      onsubmit: (ev) => { ev.preventDefault(); answer(s, form); } },
    h("p.cbw-survey-title", { id }, bdi(s.title)), s.points ? meta(t("earnBy", { points: pts(s.points) })) : null,
    s.questions.map((q, i) => question(q, id + "q" + i, "sv" + s.id + "-" + q.key + "-")),
    h("button.cbw-btn", { type: "submit", "data-key": "send" + s.id }, t("send"), sr(" – " + s.title)));
    forms.set(s.id, form);
    return form;
  }

  // Marks the questions named in `fields` (from the 400 body) and returns the first marked control.
  function showErrors(form, fields) {
    let first = null;
    for (const box of form.querySelectorAll(".cbw-q")) {
      const message = String(fields[box.dataset.q] || "");
      const err = box.querySelector(".cbw-error");
      err.textContent = message;
      err.hidden = !message;
      box.querySelectorAll("input, textarea").forEach((el) => el.setAttribute("aria-invalid", String(!!message)));
      if (message && !first) first = box.querySelector("input, textarea");
    }
    return first;
  }

  async function answer(s, form) {
    const button = form.querySelector("[type=submit]");
    if (button.getAttribute("aria-disabled")) return;
    const data = new FormData(form), answers = {};
    for (const q of s.questions) {
      const values = data.getAll(q.key);
      answers[q.key] = q.kind === "choice" && q.multiple ? values : values.length ? values[0] : null;
    }
    button.setAttribute("aria-disabled", "true");
    button.firstChild.textContent = t("sending");
    setAlert("");
    let res = null;
    try {
      res = await call("/surveys/" + s.id + "?locale=" + lang, { method: "POST", body: JSON.stringify({ answers }),
        headers: { Accept: "application/json", "Content-Type": "application/json" } });
    } catch (e) { /* res stays null: a network problem */ }
    button.removeAttribute("aria-disabled");
    button.firstChild.textContent = t("send");
    const done = res && (res.status === 201 || res.status === 200), gone = res && [404, 409].includes(res.status);
    if (done || gone) {
      surveys = surveys.filter((x) => x.id !== s.id);
      forms.delete(s.id);
      if (done) {
        const points = Number(res.data.points) || 0;
        thanks = points > 0 ? t("thanksPts", { points: pts(points) }) : t("thanks");
        await load().catch(() => {}); // the new balance
      }
      render(done ? "thanks" : null);
      setAlert(done ? "" : t("surveyGone"));
      return;
    }
    const first = showErrors(form, (res && res.status === 400 && res.data.fields) || {});
    if (first) first.focus();
    else setAlert((res && tooMany(res)) || t(res ? "sendFailed" : "network"));
  }

  // --- the merchant's design: the widget designer's settings (state.widget, from the app) win; the
  // theme editor's block settings (the mount point's data-*) are the fallback, then our defaults ---
  function design() {
    const w = (preview && preview.widget) || (state && state.widget) || {};
    const sections = w.sections || {};
    return {
      accent: w.accent_color || opts.accent || "", ink: w.accent_text_color || opts.accentInk || "",
      position: w.launcher_position || opts.position || "auto", label: w.launcher_label || opts.label || t("title"),
      title: w.title || t("title"), welcome: w.welcome || "", shows: (key) => sections[key] !== false,
    };
  }

  function applyDesign(d) {
    for (const [name, value] of [["--cbw-accent", d.accent], ["--cbw-accent-ink", d.ink]]) {
      if (value) root.style.setProperty(name, value); else root.style.removeProperty(name);
    }
    // the merchant's corner; "auto" (or none): where lines end, right in LTR and left in RTL
    root.classList.remove("cbw-at-left", "cbw-at-right", "cbw-at-bottom");
    if (["left", "right", "bottom"].includes(d.position)) root.classList.add("cbw-at-" + d.position);
    panel.querySelector(".cbw-title").textContent = d.title;
  }

  const WAYS = { signup: "waySignup", birthday: "wayBirthday", review: "wayReview", survey: "waySurvey",
    referral_referrer: "wayReferral", social_follow: "wayFollow", social_share: "wayShare" };

  // "5 points per $1 spent" (a rate under 1 as "1 point per $4 spent"), "100 points on your birthday"
  function wayText(w, currency) {
    if (w.kind === "purchase") {
      let ratio = Number(w.points_per_currency_unit) || 0, unit = 1;
      if (ratio > 0 && ratio < 1) [unit, ratio] = [Math.round(1 / ratio), 1];
      return t("wayPurchase", { points: pts(ratio), amount: money(unit, w.currency || currency) });
    }
    return WAYS[w.kind] ? t(WAYS[w.kind], { points: pts(w.points) }) : "";
  }

  // (a way tied to a hidden section is not offered: no "points for a survey" without the surveys)
  const WAY_SECTIONS = { survey: "surveys", referral_referrer: "referrals" };
  function waysSection(currency) {
    const d = design();
    const items = (state.ways_to_earn || []).filter((w) => !WAY_SECTIONS[w.kind] || d.shows(WAY_SECTIONS[w.kind]))
      .map((w) => [w, wayText(w, currency)]).filter(([, text]) => text);
    if (!items.length) return null;
    return section("ways", t("ways"), h("ul.cbw-list.cbw-ways", { "data-cbw": "ways" },
      items.map(([w, text]) => h("li", { class: "cbw-way", "data-kind": w.kind }, text))));
  }

  // "Spend $120 more for Gold" (spend basis, in the shop's currency) or "Earn 300 more points for Gold"
  function tierProgress(tier, currency) {
    if (!tier.next) return meta(t("top"));
    const remaining = Math.max(Number(tier.remaining) || 0, 0);
    const text = tier.basis === "points"
      ? tn("earnMore", { points: pts(Math.ceil(remaining)), tier: bdi(tier.next) }, Math.ceil(remaining))
      : tn("spendMore", { amount: money(remaining, tier.currency || currency), tier: bdi(tier.next) });
    const goal = Number(tier.next_threshold) || 0;
    const done = goal > 0 ? Math.min(100, Math.round(((Number(tier.progress) || 0) / goal) * 100)) : 0;
    const fill = h("span.cbw-bar-fill", null);
    fill.style.inlineSize = done + "%";
    return [h("p.cbw-progress", { "data-cbw": "tier-progress" }, text),
      h("div.cbw-bar", { role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(done),
        "aria-label": t("progress", { tier: tier.next }) }, fill)];
  }

  // --- rendering -------------------------------------------------------------------------------
  function describe(r, currency) {
    const v = Number(r.value);
    if (r.kind === "fixed_amount") return t("off", { amount: money(v, currency) });
    if (r.kind === "percentage") return t("off", { amount: pct(v) });
    return r.kind === "free_shipping" ? t("freeShip") : "";
  }

  function rewardItem(r, currency, available) {
    const tierLocked = r.tier_only && !(state.tier && (r.tier_only_id
      ? state.tier.id === r.tier_only_id : state.tier.name === r.tier_only));
    const desc = describe(r, currency);
    const lacking = r.points_cost - available;
    let action = null;
    if (state.logged_in && !tierLocked && lacking <= 0) {
      action = h("button.cbw-btn", { "data-key": "redeem-" + r.id,
        "aria-disabled": busy !== null ? "true" : null, onclick: () => redeem(r) },
      t(busy === r.id ? "redeeming" : "redeem"), sr(" " + r.name));
    } else if (state.logged_in && !tierLocked) {
      action = h("span.cbw-more", null, t("more", { n: num.format(lacking) }, lacking));
    }
    return h("li", { class: "cbw-reward" + (action && action.tagName === "BUTTON" ? " cbw-unlocked" : "") },
      h("div.cbw-reward-text", null, h("span.cbw-reward-name", null, bdi(r.name)),
        meta(desc && desc.toLowerCase() !== String(r.name).toLowerCase() ? desc + " · " : "", pts(r.points_cost)),
        r.tier_only ? meta(tn("tierOnly", { tier: bdi(r.tier_only) })) : null),
      action);
  }

  const section = (key, title, ...content) => h("section", { class: "cbw-section cbw-" + key,
    "aria-labelledby": uid + key }, h("h3", { id: uid + key, class: "cbw-h" }, title), ...content);
  const expiry = (iso) => (iso ? " · " + t("expires", { date: date(iso) }) : "");
  // The compensating entry after a failed code ("points returned: the discount code could not be
  // created"; older ones: "code could not be created: <error>") shows in the shopper's language.
  const reason = (e) => (e.kind === "adjust" && /code could not be created/.test(e.reason || "") ? t("returned") : e.reason || "");

  function memberView() {
    const currency = (state.program || {}).currency || "USD";
    const bal = state.balance || { available: 0, pending: 0 };
    const tier = state.tier || {};
    const out = referralView();
    if (issued) {
      out.push(h("div.cbw-issued", { role: "group", "aria-labelledby": uid + "issued", tabindex: "-1",
        "data-key": "issued" },
      h("p", { id: uid + "issued", class: "cbw-issued-title" }, t("yourCode"), sr(": " + issued.reward)),
      h("p.cbw-code", { dir: "ltr", "data-cbw": "code" }, issued.code),
      meta(bdi(issued.reward), expiry(issued.expires_at)), meta(t("useCode")),
      copyButton(issued.code, "copy-issued", issued.code)));
    }
    const d = design();
    const showTiers = d.shows("tiers") && (state.tiers || []).length > 0;
    if (d.shows("points") || showTiers) {
      out.push(h("div.cbw-balance", { "data-cbw": "balance" },
        d.shows("points") ? [h("div.cbw-balance-main", null, h("span.cbw-big", null, num.format(bal.available)),
          h("span", null, pick("avail", bal.available))),
        meta(t("pending", { p: pts(bal.pending) }))] : null,
        showTiers ? [h("div.cbw-tier", { "data-cbw": "tier" }, tier.name ? h("span.cbw-pill", null, t("tier"), bdi(tier.name))
          : h("span.cbw-pill.cbw-pill-quiet", null, t("noTier")),
        tier.next ? meta(tn("next", { name: bdi(tier.next) })) : null), tierProgress(tier, currency)] : null));
    }
    if (d.shows("ways_to_earn")) out.push(waysSection(currency));
    if (d.shows("surveys") && (surveys.length || thanks)) {
      out.push(section("surveys", t("surveys"), thanks ? h("p.cbw-thanks", { tabindex: "-1", "data-key": "thanks" },
        thanks) : null, surveys.map((s) => forms.get(s.id) || surveyForm(s))));
    }
    if (d.shows("rewards")) {
      out.push(section("rewards", t("rewards"), h("ul.cbw-list", null,
        (state.rewards || []).map((r) => rewardItem(r, currency, bal.available)))));
    }
    if (state.codes && state.codes.length) {
      out.push(section("codes", t("codes"), h("ul.cbw-list", null, state.codes.map((c) => h("li.cbw-row", null,
        h("div", null, h("span.cbw-code-sm", null, h("bdi", { dir: "ltr" }, c.code)), meta(bdi(c.reward), expiry(c.expires_at))),
        copyButton(c.code, "copy-" + c.code, c.code))))));
    }
    if (d.shows("referrals") && state.referral && state.referral.link) {
      out.push(section("referral", t("refer"), meta(t("referText")), h("label", { for: uid + "ref", class: "cbw-sr" }, t("referLink")),
        h("div.cbw-row", null, h("input", { id: uid + "ref", class: "cbw-input", readonly: true, dir: "ltr",
          value: state.referral.link, "data-key": "ref", onfocus: (ev) => ev.target.select() }),
        copyButton(state.referral.link, "copy-ref", t("referLink")))));
    }
    const entries = (state.history || []).slice(0, 8);
    if (d.shows("points")) out.push(section("history", t("history"), entries.length ? h("ul.cbw-list", null, entries.map((e) => {
      const pending = e.available_at && new Date(e.available_at) > Date.now();
      return h("li.cbw-row", null, h("div", null,
        h("span", null, S.kinds[e.kind] || e.kind, reason(e) ? [" · ", bdi(reason(e))] : null),
        meta(date(e.at), pending ? " · " + t("until", { date: date(e.available_at) }) : null)),
      h("span", { class: "cbw-points" + (e.points < 0 ? " cbw-neg" : ""), dir: "ltr" }, signed.format(e.points)));
    })) : meta(t("noHistory"))));
    return out.filter(Boolean);
  }

  function guestView() {
    const p = state.program || {};
    let ratio = Number(p.points_per_currency_unit) || 0;
    let unit = 1;
    if (ratio > 0 && ratio < 1) [unit, ratio] = [Math.round(1 / ratio), 1];
    const d = design();
    const ways = d.shows("ways_to_earn") ? waysSection(p.currency || "USD") : null;
    const tiers = d.shows("tiers") ? (state.tiers || []).map((x, i) => [i ? " · " : "", bdi(x.name)]) : [];
    return [...referralView(), h("div.cbw-pitch", { "data-cbw": "pitch" },
      h("p.cbw-pitch-title", null, t("pitch")),
      ratio > 0 ? h("p", null, t("earn", { points: pts(ratio), amount: money(unit, p.currency || "USD") })) : null,
      tiers.length ? meta(tn("tiers", { names: tiers })) : null,
      h("a.cbw-btn.cbw-btn-block", { href: loginUrl, "data-key": "login" }, t("login"))),
    ways,
    d.shows("rewards") ? section("rewards", t("pitchRedeem"), h("ul.cbw-list", null,
      (state.rewards || []).map((r) => rewardItem(r, p.currency || "USD", 0)))) : null].filter(Boolean);
  }

  // Re-renders the panel; the focused control (by data-key) keeps the focus.
  function render(focusKey) {
    if (!root) build();
    const active = document.activeElement;
    const keep = focusKey || (panel.contains(active) && active.getAttribute("data-key"));
    const d = design();
    applyDesign(d);
    const bal = state && state.logged_in && d.shows("points") && state.balance;
    launcher.replaceChildren(icon(), h("span", { "data-cbw": "label" }, d.label), ...(bal ? [h("span", { class: "cbw-badge",
      "aria-hidden": "true" }, num.format(bal.available)), sr(", " + pts(bal.available))] : []));
    const content = !state ? [meta(t("loading"))] : state.logged_in ? memberView() : guestView();
    if (state && d.welcome) content.unshift(h("p.cbw-welcome", { "data-cbw": "welcome" }, bdi(d.welcome)));
    if (loadError) {
      content.unshift(h("div.cbw-row.cbw-warn", null, h("span", null, t("loadFailed")),
        h("button.cbw-btn.cbw-btn-quiet", { "data-key": "retry", onclick: refresh }, t("retry"))));
    }
    body.replaceChildren(...content);
    if (keep && !panel.hidden) (panel.querySelector('[data-key="' + CSS.escape(keep) + '"]') || panel).focus();
  }

  function build() {
    root = h("div.cbw", { dir: rtl ? "rtl" : "ltr", lang: tag });
    launcher = h("button.cbw-launcher", { "aria-expanded": "false", "aria-controls": uid + "panel",
      "aria-haspopup": "dialog", onclick: () => (panel.hidden ? open() : close()) });
    alertBox = h("div.cbw-alert", { role: "alert", hidden: true });
    statusBox = h("div.cbw-sr", { role: "status" });
    body = h("div.cbw-body", null);
    panel = h("div.cbw-panel", { id: uid + "panel", role: "dialog", "aria-labelledby": uid + "title",
      tabindex: "-1", hidden: true },
    h("div.cbw-head", null, h("h2.cbw-title", { id: uid + "title" }, t("title")),
      h("button.cbw-close", { "data-key": "close", onclick: () => close() },
        h("span", { "aria-hidden": "true" }, "×"), sr(t("close")))),
    alertBox, statusBox, body);
    root.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape" && !panel.hidden) { ev.stopPropagation(); close(); }
    });
    root.append(launcher, panel);
    (mount || document.body).append(root);
  }

  function open(focus) {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    if (focus !== false) panel.focus();
    refresh();
  }

  function close() {
    const hadFocus = panel.contains(document.activeElement);
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    setAlert("");
    issued = thanks = null;
    render();
    if (hadFocus || document.activeElement === document.body) launcher.focus();
  }

  async function refresh() {
    if (panel) panel.setAttribute("aria-busy", "true");
    await load().catch(() => {});
    surveys = state && state.logged_in && !preview && design().shows("surveys") ? await loadSurveys() : [];
    render();
    panel.removeAttribute("aria-busy");
  }

  function loadCss() {
    const href = opts.css || (script && script.src ? script.src.replace(/\.js(?=$|[?#])/, ".css") : "");
    if (opts.css === "none" || !href || document.querySelector('link[href="' + CSS.escape(href) + '"]')) return null;
    return new Promise((resolve) => {
      document.head.append(h("link", { rel: "stylesheet", href, onload: resolve, onerror: resolve }));
      setTimeout(resolve, 3000);
    });
  }

  async function start() {
    if (opts.preview !== undefined) return; // the designer's preview: ComebackWidget.preview() draws it
    captureRef();
    try {
      await Promise.all([load(), loadCss(), loadOffer()]);
    } catch (e) { // the app is unreachable: show nothing rather than a broken launcher
      if (window.console) console.warn("Comeback widget: could not load " + endpoint + "/loyalty", e);
      return;
    }
    if (state && state.program && state.program.enabled !== false) {
      render();
      // the friend who just opened a referral link sees the offer at once (the page keeps the focus)
      if (offer && freshRef) open(false);
    }
  }

  window.ComebackWidget = {
    open: () => root && panel.hidden && open(),
    close: () => root && !panel.hidden && close(),
    refresh: () => root && refresh(),
    // The dashboard's widget designer: draw (or redraw) the widget from {locale, widget, state},
    // the panel open, without fetching anything.
    preview: (given) => {
      const relocale = !root || !preview || given.locale !== preview.locale;
      preview = given;
      state = given.state;
      if (relocale) {
        setLocale(given.locale || tag);
        if (root) { root.remove(); root = null; claimForm = null; forms.clear(); }
      }
      render();
      if (given.open !== false && panel.hidden) open(false);
    },
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
