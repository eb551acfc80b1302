"""The merchant's side of Shopify's admin, as far as an embedded app sees it.

* ``{origin}/admin/apps``: the shop's Apps page (the app, installed or not, and how to open it).
* ``{origin}/admin/apps/<api key>?locale=he``: opening the app.  A shop that has not installed it
  gets Shopify's managed install: a consent page listing the scopes the app's configuration asks
  for; **Install** installs it (no OAuth: the app gets its token by token exchange).  An installed
  shop sees the admin frame with the app inside, loaded at its ``application_url`` with the
  parameters Shopify adds: ``embedded=1``, ``hmac``, ``host`` (base64 of
  ``admin.shopify.com/store/<handle>``), ``id_token`` (a fresh session token), ``locale`` (the
  staff member's admin language, ``?locale=``; default the shop's primary one), ``session``,
  ``shop`` and ``timestamp``.
* ``{origin}/admin/apps/<api key>/session_token``: a fresh session token for the frame (what the
  admin hands App Bridge when the app calls ``shopify.idToken()``).
* ``{base}/cdn/shopifycloud/app-bridge.js``: a stand-in for App Bridge: ``shopify.idToken()``
  asks the admin frame (``postMessage``), the bounce page (``?shopify-reload=…``) reloads with a
  fresh ``id_token``, and ``fetch`` to the app's own origin carries ``Authorization: Bearer``.
"""

from __future__ import annotations

import base64
import html
import json
import re
import secrets
import time
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from . import tokens
from .store import Shop

if TYPE_CHECKING:
    from .sandbox import ShopifySandbox

#: The staff member who opens the app in the sandbox (``sub`` of the session tokens).
STAFF_USER_ID = "1"
_LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")

_STYLE = """
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f1f1f1;color:#303030}
.bar{display:flex;align-items:center;gap:1rem;background:#1a1a1a;color:#fff;padding:.5rem 1rem;min-height:3rem}
.bar b{font-weight:650}.bar a{color:#e3e3e3}.wrap{display:flex;min-height:calc(100vh - 3rem)}
nav.side{width:14rem;flex:none;background:#ebebeb;padding:1rem .75rem}
nav.side a{display:block;padding:.35rem .5rem;border-radius:.5rem;color:#303030;text-decoration:none}
nav.side a[aria-current]{background:#fff;font-weight:600}
main{flex:1;min-width:0;display:flex;flex-direction:column}.title{padding:.75rem 1rem;font-weight:650}
iframe{flex:1;width:100%;border:0;background:#fff;min-height:calc(100vh - 6rem)}
.card{background:#fff;border-radius:.75rem;margin:1rem;padding:1.25rem;max-width:40rem}
.card{box-shadow:0 1px 2px rgba(0,0,0,.15)}
button{font:inherit;background:#303030;color:#fff;border:0;border-radius:.5rem;padding:.5rem 1.25rem;cursor:pointer}
code{font-size:.85em;word-break:break-all}@media (max-width:700px){nav.side{display:none}}
"""


def _document(title: str, body: str, *, status: int = 200, script: str = "") -> Response:
    """An admin page (the admin's own words stay English here; the app gets the staff's ``locale``)."""
    doc = ("<!doctype html><html lang='en' dir='ltr'><head><meta charset='utf-8'>"
           "<meta name='viewport' content='width=device-width, initial-scale=1'><link rel='icon' href='data:,'>"
           f"<title>{html.escape(title)} · Shopify admin</title><style>{_STYLE}</style></head><body>{body}"
           f"{script}</body></html>")
    return Response(doc, status=status, content_type="text/html; charset=utf-8")


def _frame(shop: Shop, title: str, content: str, *, current: str = "apps") -> str:
    links = (("home", "Home", f"{shop.origin}/admin/apps"), ("apps", "Apps", f"{shop.origin}/admin/apps"))
    nav = "".join(f"<a href='{html.escape(url)}'{' aria-current=page' if key == current else ''}>{label}</a>"
                  for key, label, url in links)
    return (f"<header class='bar'><b>shopify</b><span>{html.escape(shop.name)}</span>"
            f"<a href='{html.escape(shop.origin)}/'>View store</a></header>"
            f"<div class='wrap'><nav class='side' aria-label='Admin'>{nav}</nav><main>"
            f"<div class='title'>{html.escape(title)}</div>{content}</main></div>")


def admin_host(shop: Shop) -> str:
    """Shopify's ``host`` parameter: base64 of the admin's address, padding dropped."""
    return base64.b64encode(f"admin.shopify.com/store/{shop.handle}".encode()).decode().rstrip("=")


def admin_locale(shop: Shop, request: Request) -> str:
    """The staff member's admin language: ``?locale=`` (a BCP 47 tag) or the shop's primary locale."""
    wanted = request.args.get("locale", "")
    if wanted and len(wanted) <= 20 and _LOCALE_RE.match(wanted):
        return wanted
    return next((locale for locale, primary in shop.config.locales if primary), "en")


def apps_page(sandbox: ShopifySandbox, shop: Shop, request: Request) -> Response:
    state = "installed" if shop.installed else "not installed"
    locale = admin_locale(shop, request)
    open_url = f"{shop.origin}/admin/apps/{sandbox.api_key}?{urlencode({'locale': locale})}"
    content = (f"<section class='card'><h1>Apps</h1><p><a href='{html.escape(open_url)}'>Comeback</a> "
               f"({state})</p></section>")
    return _document("Apps", _frame(shop, "Apps", content))


def app_page(sandbox: ShopifySandbox, shop: Shop, request: Request, api_key: str) -> Response:
    """Open the app: managed install first when the shop has not installed it, then the frame."""
    locale = admin_locale(shop, request)
    if api_key != sandbox.api_key:
        content = "<section class='card'><h1>App not found</h1></section>"
        return _document("App not found", _frame(shop, "Apps", content), status=404)
    if request.method == "POST" and not shop.installed:
        with shop.lock:
            shop.installed = True  # managed install: Shopify grants the configured scopes
        return Response("", status=303, headers={
            "Location": f"{shop.origin}/admin/apps/{api_key}?{urlencode({'locale': locale})}"})
    if not shop.installed:
        scopes = ", ".join(s.strip() for s in sandbox.default_scopes.split(",") if s.strip())
        content = (f"<section class='card'><h1>Install Comeback</h1><p>Comeback will be able to access "
                   f"{html.escape(shop.name)}'s data:</p><p><code>{html.escape(scopes)}</code></p>"
                   "<form method='post'><button type='submit'>Install</button></form></section>")
        return _document("Install Comeback", _frame(shop, "Comeback", content))
    if not sandbox.application_url:
        content = ("<section class='card'><h1>Comeback</h1><p>The app has no URL configured "
                   "(sandbox.app_deploy(…) or app_config(application_url=…)).</p></section>")
        return _document("Comeback", _frame(shop, "Comeback", content))
    src = app_frame_url(sandbox, shop, locale=locale)
    token_url = f"{shop.origin}/admin/apps/{api_key}/session_token"
    content = (f"<iframe name='app-iframe' title='Comeback' src='{html.escape(src)}' "
               f"data-token-url='{html.escape(token_url)}'></iframe>")
    script = f"<script src='{html.escape(sandbox.base_url)}/cdn/admin-frame.js'></script>"
    return _document("Comeback", _frame(shop, "Comeback", content), script=script)


def app_frame_url(sandbox: ShopifySandbox, shop: Shop, *, locale: str) -> str:
    """The app's URL with what Shopify adds when it loads an embedded app (signed like OAuth)."""
    from .app import oauth_hmac

    params = {"embedded": "1", "host": admin_host(shop), "id_token": session_token(sandbox, shop),
              "locale": locale, "session": secrets.token_hex(16), "shop": shop.domain,
              "timestamp": str(int(time.time()))}
    params["hmac"] = oauth_hmac(params, sandbox.api_secret)
    base = sandbox.application_url or ""
    return f"{base}{'&' if '?' in base else '?'}{urlencode(dict(sorted(params.items())))}"


def session_token(sandbox: ShopifySandbox, shop: Shop, *, lifetime: int = 60) -> str:
    return tokens.session_token_mint(api_key=sandbox.api_key, api_secret=sandbox.api_secret,
                                     shop_domain=shop.domain, user_id=STAFF_USER_ID, lifetime=lifetime)


def session_token_response(sandbox: ShopifySandbox, shop: Shop) -> Response:
    body = json.dumps({"id_token": session_token(sandbox, shop)} if shop.installed else {"error": "not installed"})
    return Response(body, status=200 if shop.installed else 401, content_type="application/json",
                    headers={"Cache-Control": "no-store"})


ADMIN_FRAME_JS = """(function () {
  var frame = document.querySelector("iframe[name=app-iframe]");
  if (!frame) return;
  var appOrigin = new URL(frame.src).origin;
  window.addEventListener("message", function (event) {
    if (event.origin !== appOrigin || !event.data || event.data.type !== "sandbox:idToken") return;
    fetch(frame.dataset.tokenUrl, {method: "POST", credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (body) {
        frame.contentWindow.postMessage({type: "sandbox:idToken", id: event.data.id, idToken: body.id_token || null},
                                        appOrigin);
      });
  });
})();
"""

APP_BRIDGE_JS = """(function () {
  if (window.shopify && window.shopify.idToken) return;
  var waiting = {}, counter = 0;
  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || !event.data || event.data.type !== "sandbox:idToken") return;
    var done = waiting[event.data.id];
    delete waiting[event.data.id];
    if (done) done(event.data.idToken);
  });
  function idToken() {
    return new Promise(function (resolve, reject) {
      if (window.parent === window) { reject(new Error("not inside the Shopify admin")); return; }
      var id = String(++counter);
      waiting[id] = function (token) { token ? resolve(token) : reject(new Error("no session token")); };
      window.parent.postMessage({type: "sandbox:idToken", id: id}, "*");
    });
  }
  var meta = document.querySelector("meta[name=shopify-api-key]");
  var params = new URLSearchParams(location.search);
  window.shopify = {idToken: idToken, config: {apiKey: meta ? meta.content : "", shop: params.get("shop"),
                                                host: params.get("host"), locale: params.get("locale")}};
  var originalFetch = window.fetch.bind(window);
  window.fetch = function (input, init) {
    var url = new URL(typeof input === "string" ? input : input.url, location.href);
    if (url.origin !== location.origin) return originalFetch(input, init);
    return idToken().then(function (token) {
      var headers = new Headers((init && init.headers) || (typeof input === "string" ? {} : input.headers));
      if (!headers.has("Authorization")) headers.set("Authorization", "Bearer " + token);
      return originalFetch(input, Object.assign({}, init || {}, {headers: headers}));
    }, function () { return originalFetch(input, init); });
  };
  var reload = params.get("shopify-reload");
  if (reload) {
    var target = new URL(reload, location.href);
    if (target.origin === location.origin) {
      idToken().then(function (token) {
        target.searchParams.set("id_token", token);
        location.replace(target.toString());
      });
    }
  }
})();
"""


def script(body: str) -> Response:
    return Response(body, content_type="text/javascript; charset=utf-8",
                    headers={"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"})
