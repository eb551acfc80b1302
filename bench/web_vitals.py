"""Web Vitals bench: the merchant dashboard's LCP, CLS and INP in Chromium, and what the widget's app
embed costs the storefront's Lighthouse performance score.

Set-up (not timed): ``manage.py demo`` in a subprocess on a fresh SQLite database in a temporary
folder (the Shopify sandbox store, the OAuth install, the history synced through bulk operations,
the program, flows and surveys on, the onboarding done, a ``demo`` dashboard login), its live
orders held back (one a day) so nothing moves while it is measured.  The app runs as ``make demo``
runs it (Django's server, DEBUG on): the figures are those of the demo, not of a tuned deployment.

1. **Dashboard** (Playwright driving Debian's Chromium, a 1366x900 window, the CPU slowed down
   ``--cpu-slowdown`` times through the DevTools protocol): the merchant logs in; every page the
   navigation lists (the settings pages too, once their URLs exist) is opened ``--runs`` times in
   each of ``--languages``.  A ``PerformanceObserver`` script installed before the page's own
   scripts records, as the web-vitals library defines them:

   * LCP: the last ``largest-contentful-paint`` entry before the first input;
   * CLS: the largest session window of ``layout-shift`` entries without recent input (gaps
     under 1 s, windows up to 5 s);
   * INP: the longest interaction (``event`` entries grouped by ``interactionId``, Event Timing's
     threshold 16 ms; none reported means under 16 ms) over real input from Playwright's mouse and
     keyboard: a click on the period's "From" field and a key typed into it (then erased), a click
     that opens the first ``<details>`` and one on the page's heading.

   The median of the runs is reported per page and language.

2. **Storefront** (Lighthouse from npm, ``node_modules/.bin/lighthouse``, driving ``CHROME_PATH``
   = Debian's Chromium; its default mobile profile with simulated throttling, performance only):
   the sandbox store's home page, logged out, with the app embed switched on in the theme editor
   and switched off (the sandbox's control API), ``--lighthouse-runs`` times each, alternating.
   The difference of the median scores is what the widget costs.

Checks (exit status 1 if one fails): every page's median LCP <= 2.5 s, CLS <= 0.1, INP <= 200 ms
(Shopify's "Built for Shopify" admin bars); the score with the embed at most 10 points below the
score without it.  ``--skip-lighthouse`` measures the dashboard only.

``.venv/bin/python bench/web_vitals.py [--customers 2000] [--orders 8000] [--runs 3]
    [--languages en,he,fa] [--cpu-slowdown 1] [--lighthouse-runs 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.report import table  # noqa: E402

CHROMIUM = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
LIGHTHOUSE = REPO / "node_modules" / ".bin" / "lighthouse"
LCP_LIMIT_S, CLS_LIMIT, INP_LIMIT_MS, LIGHTHOUSE_DELTA_LIMIT = 2.5, 0.1, 200.0, 10.0
DEMO_SHOP = "demo-store.myshopify.com"

# Installed before any of the page's scripts; the figures are read from window.__vitals.
VITALS_SCRIPT = r"""
(() => {
  const vitals = window.__vitals = {lcp: null, cls: 0, inp: null, interactions: 0, inputSeen: false};
  const describe = (node) => {
    if (!node || !node.tagName) return "?";
    const classes = typeof node.className === "string" ? node.className.trim().split(/\s+/).join(".") : "";
    return node.tagName.toLowerCase() + (node.id ? "#" + node.id : "") + (classes ? "." + classes : "");
  };
  const observe = (type, callback, options) => {
    try { new PerformanceObserver((list) => list.getEntries().forEach(callback))
            .observe(Object.assign({type, buffered: true}, options || {})); } catch (error) { /* unsupported */ }
  };
  observe("largest-contentful-paint", (entry) => { if (!vitals.inputSeen) vitals.lcp = entry.startTime; });
  let windowValue = 0, windowEntries = [];
  observe("layout-shift", (entry) => {
    if (entry.hadRecentInput) return;
    const first = windowEntries[0], last = windowEntries[windowEntries.length - 1];
    if (last && (entry.startTime - last.startTime >= 1000 || entry.startTime - first.startTime >= 5000)) {
      windowValue = 0; windowEntries = [];
    }
    windowValue += entry.value; windowEntries.push(entry);
    vitals.cls = Math.max(vitals.cls, windowValue);
    for (const source of entry.sources || []) {  // what moved, for the report
      const node = source.node;
      if (!node || !node.tagName) continue;
      const name = describe(node);
      vitals.shifted = vitals.shifted || {};
      vitals.shifted[name] = (vitals.shifted[name] || 0) + entry.value;
    }
  });
  const interactions = new Map();
  const onEvent = (entry) => {
    if (!entry.interactionId) return;
    interactions.set(entry.interactionId, Math.max(interactions.get(entry.interactionId) || 0, entry.duration));
    vitals.interactions = interactions.size;
    if (entry.duration >= (vitals.inp || 0)) vitals.slowest = entry.name + " on " + describe(entry.target);
    vitals.inp = Math.max(...interactions.values());
  };
  observe("event", onEvent, {durationThreshold: 16});
  observe("first-input", onEvent);
  for (const type of ["pointerdown", "keydown"]) {
    addEventListener(type, () => { vitals.inputSeen = true; }, {capture: true, once: true});
  }
})();
"""


@dataclass
class Demo:
    process: subprocess.Popen[str]
    app_url: str
    sandbox_url: str
    password: str
    lines: list[str] = field(default_factory=list)

    @property
    def storefront(self) -> str:
        return f"{self.sandbox_url}/shops/{DEMO_SHOP}/"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)  # the demo's own Ctrl-C: stops its server and sandbox
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def demo_start(*, folder: Path, customers: int, orders: int, seed: int, timeout: float) -> Demo:
    """``manage.py demo`` on its own database; returns once it printed its summary (installed, synced)."""
    port, password = free_port(), secrets.token_urlsafe(12)
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder / 'web_vitals.sqlite3'}", "PORT": str(port),
           "DEMO_DASHBOARD_PASSWORD": password, "DEMO_CUSTOMERS": str(customers), "DEMO_ORDERS": str(orders),
           "DEMO_SEED": str(seed), "DEMO_LIVE_INTERVAL": "86400", "PYTHONUNBUFFERED": "1"}
    env.pop("CELERY_BROKER_URL", None)  # the demo's Celery is eager, as make demo runs it
    process = subprocess.Popen([sys.executable, "manage.py", "demo"], cwd=REPO, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    demo = Demo(process=process, app_url=f"http://127.0.0.1:{port}", sandbox_url="", password=password)
    ready = threading.Event()

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            demo.lines.append(line.rstrip())
            sandbox = re.search(r"^\s*Sandbox\s+(http://\S+?)/shops/", line)
            if sandbox:
                demo.sandbox_url = sandbox.group(1)
                ready.set()
        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    if not ready.wait(timeout) or not demo.sandbox_url:
        demo.stop()
        raise SystemExit("the demo did not come up:\n" + "\n".join(demo.lines[-30:]))
    return demo


# --- the dashboard in Chromium ------------------------------------------------------------------

def _log_in(page: Any, demo: Demo) -> None:
    page.goto(f"{demo.app_url}/dashboard/")
    page.locator("#id_username").fill("demo")
    page.locator("#id_password").fill(demo.password)
    page.locator("#id_password").press("Enter")
    page.wait_for_function("() => !location.pathname.includes('/login')")
    page.wait_for_load_state("load")


def _pages(page: Any, demo: Demo) -> list[tuple[str, str]]:
    """(label, path) of every page the navigation lists, in its order."""
    page.goto(f"{demo.app_url}/dashboard/overview/")
    links = page.evaluate("""() => [...document.querySelectorAll("nav a[href]")]
        .map((a) => [a.textContent.trim(), new URL(a.href).pathname])
        .filter(([, path]) => path.startsWith("/dashboard/"))""")
    seen: dict[str, str] = {}
    for label, path in links:
        seen.setdefault(path, label)
    return [(label, path) for path, label in seen.items()]


def _interact(page: Any) -> None:
    """Real input through Chromium: what a merchant does first on a page, without leaving it."""
    field_ = page.locator('form.period input[name="start"]')
    if field_.count():
        field_.click()
        page.keyboard.press("End")
        page.keyboard.type("1")
        page.keyboard.press("Backspace")
    summary = page.locator("main details > summary")
    if summary.count() and summary.first.is_visible():
        summary.first.click()
    heading = page.locator("main h1, h1").first
    if heading.count():
        heading.click()
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => setTimeout(done, 300)))")


def measure_dashboard(demo: Demo, *, languages: list[str], runs: int, cpu_slowdown: float) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    rows: list[dict[str, Any]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            for language in languages:
                context = browser.new_context(viewport={"width": 1366, "height": 900}, locale=language)
                context.set_default_timeout(60_000)
                context.add_init_script(VITALS_SCRIPT)
                page = context.new_page()
                if cpu_slowdown > 1:
                    context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": cpu_slowdown})
                _log_in(page, demo)
                for label, path in _pages(page, demo):
                    samples = []
                    for _run in range(runs):
                        response = page.goto(f"{demo.app_url}{path}", wait_until="load")
                        status = response.status if response else 0
                        page.wait_for_load_state("networkidle")
                        _interact(page)
                        samples.append(page.evaluate("() => window.__vitals"))
                    rows.append({"page": path, "label": label, "language": language, "status": status,
                                 "lcp": statistics.median((s["lcp"] or 0) / 1000 for s in samples),
                                 "cls": statistics.median(s["cls"] for s in samples),
                                 "inp": statistics.median(s["inp"] or 0 for s in samples),
                                 "interactions": min(s["interactions"] for s in samples)})
                    shifted = sorted((samples[-1].get("shifted") or {}).items(), key=lambda item: -item[1])[:3]
                    print(f"  {language} {path}: LCP {rows[-1]['lcp']:.2f} s, CLS {rows[-1]['cls']:.3f}, "
                          f"INP {rows[-1]['inp']:.0f} ms"
                          + (f" (slowest: {samples[-1]['slowest']})" if samples[-1].get("slowest") else "")
                          + (f" (shifted: {', '.join(f'{name} {value:.3f}' for name, value in shifted)})"
                             if shifted else ""), flush=True)
                context.close()
        finally:
            browser.close()
    return rows


# --- the storefront in Lighthouse ---------------------------------------------------------------

def _app_embed(demo: Demo, *, enabled: bool) -> None:
    response = requests.post(f"{demo.sandbox_url}/_sandbox/shops/{DEMO_SHOP}/app_embed",
                             json={"enabled": enabled}, timeout=30)
    response.raise_for_status()


def _lighthouse(url: str, folder: Path, name: str) -> dict[str, float]:
    report = folder / f"{name}.json"
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    command = [str(LIGHTHOUSE), url, "--quiet", "--only-categories=performance", "--output=json",
               f"--output-path={report}", "--chrome-flags=--headless=new --no-sandbox --disable-gpu"]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    if completed.returncode != 0 or not report.exists():
        raise SystemExit(f"lighthouse failed ({completed.returncode}): {completed.stderr[-2000:]}")
    data = json.loads(report.read_text())
    audits = data["audits"]
    return {"score": float(data["categories"]["performance"]["score"] or 0) * 100,
            "lcp": audits["largest-contentful-paint"]["numericValue"] / 1000,
            "tbt": audits["total-blocking-time"]["numericValue"],
            "cls": audits["cumulative-layout-shift"]["numericValue"],
            "fcp": audits["first-contentful-paint"]["numericValue"] / 1000}


def measure_storefront(demo: Demo, *, runs: int, folder: Path) -> dict[str, dict[str, float]]:
    """Median Lighthouse figures with the app embed on and off (alternating runs)."""
    samples: dict[str, list[dict[str, float]]] = {"with the app embed": [], "without": []}
    html = requests.get(demo.storefront, timeout=30).text
    if "comeback" not in html.lower():
        raise SystemExit("the storefront does not carry the app embed: nothing to compare")
    try:
        for run in range(runs):
            for enabled, key in ((True, "with the app embed"), (False, "without")):
                _app_embed(demo, enabled=enabled)
                figures = _lighthouse(demo.storefront, folder, f"storefront-{'on' if enabled else 'off'}-{run}")
                samples[key].append(figures)
                print(f"  lighthouse {key}: {figures['score']:.0f}", flush=True)
    finally:
        _app_embed(demo, enabled=True)
    return {key: {metric: statistics.median(s[metric] for s in values) for metric in values[0]}
            for key, values in samples.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--orders", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs", type=int, default=3, help="loads of each page per language (median)")
    parser.add_argument("--languages", default="en,he,fa")
    parser.add_argument("--cpu-slowdown", type=float, default=1.0,
                        help="Chromium's CPU throttling rate for the dashboard (1: none, a merchant's desktop; "
                             "4: Lighthouse's mobile profile)")
    parser.add_argument("--lighthouse-runs", type=int, default=3)
    parser.add_argument("--skip-lighthouse", action="store_true")
    parser.add_argument("--setup-timeout", type=float, default=1800)
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROME_PATH)")
    if not args.skip_lighthouse and not LIGHTHOUSE.exists():
        raise SystemExit(f"no {LIGHTHOUSE.relative_to(REPO)}: run npm ci (package.json pins lighthouse)")

    with tempfile.TemporaryDirectory(prefix="web-vitals-") as temporary:
        folder = Path(temporary)
        started = time.monotonic()
        print(f"setting up the demo ({args.customers} customers, {args.orders} orders) ...", flush=True)
        demo = demo_start(folder=folder, customers=args.customers, orders=args.orders, seed=args.seed,
                          timeout=args.setup_timeout)
        print(f"  ready in {time.monotonic() - started:.0f} s: app {demo.app_url}, storefront {demo.storefront}",
              flush=True)
        try:
            print(f"dashboard: {args.runs} loads of every page per language, CPU slowed {args.cpu_slowdown:g}x",
                  flush=True)
            rows = measure_dashboard(demo, languages=[code.strip() for code in args.languages.split(",") if code],
                                     runs=args.runs, cpu_slowdown=args.cpu_slowdown)
            store = None if args.skip_lighthouse else measure_storefront(demo, runs=args.lighthouse_runs,
                                                                         folder=folder)
        finally:
            demo.stop()

    failures: list[str] = []
    table_rows = []
    for row in rows:
        verdicts = []
        if row["status"] != 200:
            verdicts.append(f"HTTP {row['status']}")
        if row["lcp"] > LCP_LIMIT_S:
            verdicts.append("LCP")
        if row["cls"] > CLS_LIMIT:
            verdicts.append("CLS")
        if row["inp"] > INP_LIMIT_MS:
            verdicts.append("INP")
        failures += [f"{row['language']} {row['page']}: {verdict}" for verdict in verdicts]
        table_rows.append([row["page"], row["language"], f"{row['lcp']:.2f}", f"{row['cls']:.3f}",
                           f"{row['inp']:.0f}" if row["inp"] else "< 16",
                           "ok" if not verdicts else "FAIL: " + ", ".join(verdicts)])
    print()
    print(f"Dashboard in Chromium (median of {args.runs} loads; CPU slowed {args.cpu_slowdown:g}x; "
          f"bars: LCP <= {LCP_LIMIT_S} s, CLS <= {CLS_LIMIT}, INP <= {INP_LIMIT_MS:.0f} ms)")
    print(table(["page", "lang", "LCP s", "CLS", "INP ms", "check"], table_rows))
    if store is not None:
        on, off = store["with the app embed"], store["without"]
        delta = off["score"] - on["score"]
        if delta > LIGHTHOUSE_DELTA_LIMIT:
            failures.append(f"the app embed costs {delta:.0f} Lighthouse points (limit {LIGHTHOUSE_DELTA_LIMIT:.0f})")
        print()
        print(f"Storefront home in Lighthouse (mobile, simulated throttling; median of {args.lighthouse_runs})")
        print(table(["storefront", "score", "FCP s", "LCP s", "TBT ms", "CLS"],
                    [[key, f"{value['score']:.0f}", f"{value['fcp']:.2f}", f"{value['lcp']:.2f}",
                      f"{value['tbt']:.0f}", f"{value['cls']:.3f}"] for key, value in store.items()]))
        print(f"the app embed's cost: {delta:.0f} points (bar: <= {LIGHTHOUSE_DELTA_LIMIT:.0f})")
    print()
    if failures:
        print("FAILED: " + "; ".join(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
