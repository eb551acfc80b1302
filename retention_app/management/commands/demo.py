"""``make demo``: live stores on both platforms, on the embedded default (SQLite, Celery eager,
no services).

1. migrates the database and (re)sets an operator login for the Django admin;
2. starts the Shopify sandbox, seeded with a realistic store (and a second, smaller one that has
   not installed the app: its admin page walks a person through Shopify's managed install), and
   the WooCommerce sandbox with a WordPress store seeded by the same generator;
3. starts the web server with ``SHOPIFY_SANDBOX_URL`` pointing at the Shopify sandbox (a
   WooCommerce store is reached at its own address, as a real one);
4. installs the app into the Shopify store through the real OAuth flow (install -> authorize ->
   callback -> token), which registers the webhooks and syncs the history through bulk
   operations; connects the WooCommerce store as the WordPress plugin does (wc-auth: the store
   posts REST keys to our callback; then the plugin claims its signing secret), which creates
   the webhooks and syncs the history over the REST API;
5. keeps both stores alive: the sandboxes place orders, refunds and cancellations and deliver
   their webhooks, until Ctrl-C.

The platform packages' own pieces (Shopify's app config and admin address, the plugin's signed
admin link) come through the registry (``demo_stores.platform_demo``), never by import.
"""

import argparse
import os
import random
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from commerce.models import Customer, Order, Platform, Product, Shop
from integrations import selectors
from integrations.models import WebhookDelivery
from retention_app.management.demo_stores import WooDemo, platform_demo

DEMO_SHOP = "demo-store.myshopify.com"
#: A second sandbox shop that has not installed the app: a person walks through the install there.
NEW_SHOP = "new-store.myshopify.com"


def _bounded(kind: type[int] | type[float], low: float, high: float, what: str) -> Callable[[str], Any]:
    """An argparse ``type``: ``kind`` of the text, within ``low``..``high`` (NaN is never within)."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except (TypeError, ValueError, OverflowError) as error:
            raise argparse.ArgumentTypeError(f"{str(text)[:40]!r} is not {what}") from error
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not {what} from {low:,} to {high:,}")
        return value

    return parse


class Command(BaseCommand):
    help = ("Run the demo: a Shopify and a WooCommerce sandbox store, connected through their real flows"
            " (OAuth install, wc-auth + the plugin's claim), history synced, live orders, the web server.")

    def add_arguments(self, parser: Any) -> None:
        # Defaults stay text: argparse checks them with ``type`` like a typed value, so a bad PORT in
        # the environment is the same clear usage error as a bad --port (not a traceback).
        parser.add_argument("--port", type=_bounded(int, 1, 65535, "a port number"),
                            default=os.environ.get("PORT", "8000"), help="the web server's port (env PORT)")
        parser.add_argument("--sandbox-port", type=_bounded(int, 0, 65535, "a port number (0: any free one)"),
                            default=os.environ.get("SANDBOX_PORT", "0"), help="the sandbox's port (env SANDBOX_PORT)")
        parser.add_argument("--customers", type=_bounded(int, 1, 1_000_000, "a number of customers"),
                            default=os.environ.get("DEMO_CUSTOMERS", "2000"))
        parser.add_argument("--orders", type=_bounded(int, 0, 5_000_000, "a number of orders"),
                            default=os.environ.get("DEMO_ORDERS", "8000"))
        parser.add_argument("--seed", type=_bounded(int, 0, 2**63 - 1, "a seed"),
                            default=os.environ.get("DEMO_SEED", "42"))
        parser.add_argument("--live-interval", type=_bounded(float, 0.1, 86_400, "seconds between live orders"),
                            default=os.environ.get("DEMO_LIVE_INTERVAL", "5"))
        parser.add_argument("--woo-port", type=_bounded(int, 1, 65535, "a port number"),
                            default=os.environ.get("WOO_SANDBOX_PORT"),
                            help="the WooCommerce sandbox's port (env WOO_SANDBOX_PORT; default the web server's"
                                 " port + 1: the store's address, hence its shop, stays the same from run to run)")
        parser.add_argument("--woo-customers", type=_bounded(int, 1, 1_000_000, "a number of customers"),
                            default=os.environ.get("DEMO_WOO_CUSTOMERS", "800"))
        parser.add_argument("--woo-orders", type=_bounded(int, 0, 5_000_000, "a number of orders"),
                            default=os.environ.get("DEMO_WOO_ORDERS", "2400"))
        parser.add_argument("--woo-live-interval",
                            type=_bounded(float, 0.1, 86_400, "seconds between live orders"),
                            default=os.environ.get("DEMO_WOO_LIVE_INTERVAL", "15"),
                            help="the WooCommerce store's pace (a smaller store; on the Free plan, whose monthly"
                                 " order limit a fast pace reaches within minutes)")
        parser.add_argument("--status-interval", type=_bounded(float, 0.5, 3600, "seconds between status lines"),
                            default=os.environ.get("DEMO_STATUS_INTERVAL", "30"))
        parser.add_argument("--exit-after-install", action="store_true",
                            help="stop once installed and synced (for scripted checks)")

    def handle(self, *args: Any, **options: Any) -> None:
        from sandbox.shopify import ShopifySandbox

        port = options["port"]
        app_url = f"http://127.0.0.1:{port}"
        woo_port = options["woo_port"] if options["woo_port"] is not None else (port + 1 if port < 65535 else port - 1)
        self._say("migrating the database")
        call_command("migrate", verbosity=0, interactive=False)
        self._check_stored_secrets()
        password = self._operator_login()

        self._say(f"seeding the Shopify sandbox store ({options['customers']} customers, {options['orders']} orders)")
        sandbox = ShopifySandbox(api_key=settings.SHOPIFY_API_KEY, api_secret=settings.SHOPIFY_API_SECRET)
        sandbox_url = sandbox.start(host="127.0.0.1", port=options["sandbox_port"])
        demo_store = sandbox.add_shop(DEMO_SHOP, seed=options["seed"], customers=options["customers"],
                                      orders=options["orders"], now=datetime.now(UTC))
        # The merchant has switched the theme app extension's app embed on (theme editor > App
        # embeds): the storefront renders extensions/comeback-widget's block, not a pasted snippet.
        demo_store.app_embed_set(enabled=True, widget_snippet=False)
        # A smaller shop without the app: opening it from its (sandbox) admin is Shopify's managed
        # install (consent, then the app loads embedded and installs itself by token exchange).
        sandbox.add_shop(NEW_SHOP, seed=options["seed"] + 1, customers=120, orders=400, now=datetime.now(UTC),
                         name="New Store", installed=False)
        # The app as shopify.app.toml declares it (scopes, OAuth callback, app proxy, compliance
        # webhooks), on this server's address.
        sandbox.app_deploy(str(platform_demo(Platform.SHOPIFY).app_config_path()), app_url=app_url)

        woo = WooDemo(self._say, write=self.stdout.write, app_url=app_url, seed=options["seed"] + 2,
                      customers=options["woo_customers"], orders=options["woo_orders"])
        try:
            woo.start(port=woo_port)
        except BaseException:
            sandbox.stop()
            raise

        # This process runs the scheduler's work too (the demo has no Celery beat): it reaches the
        # store (discount codes) through the sandbox, like the web server it starts.
        # The WooCommerce sandbox is a store on this machine: the demo lets such stores connect, as
        # development does (production refuses them: no SSRF).
        settings.SHOPIFY_SANDBOX_URL, settings.APP_URL = sandbox_url, app_url
        settings.WOOCOMMERCE_ALLOW_LOCAL_STORES = True
        env = {**os.environ, "SHOPIFY_SANDBOX_URL": sandbox_url, "APP_URL": app_url,
               "WOOCOMMERCE_ALLOW_LOCAL_STORES": "1",
               "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "retention_app.settings.base")}
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"],
            cwd=settings.BASE_DIR, env=env,
        )
        try:
            self._wait_for(f"{app_url}/admin/login/", server)
            self._say(f"installing the app into {DEMO_SHOP} through OAuth, then syncing its history")
            self._install(app_url)
            shop = Shop.objects.get(platform=Platform.SHOPIFY, domain=DEMO_SHOP)
            self._paid_plan(shop, demo_store, app_url)
            self._loyalty(shop)
            self._campaigns(shop)
            self._surveys(shop, seed=options["seed"])
            woo_shop = woo.connect()
            self._loyalty(woo_shop)
            self._campaigns(woo_shop)
            self._surveys(woo_shop, seed=options["seed"] + 2)
            dashboard_password = self._dashboard_login([shop, woo_shop])
            self._summary(shop, app_url, sandbox_url, password, dashboard_password)
            woo.summary(woo_shop, top_customer=self._top_customer(woo_shop), dashboard_password=dashboard_password)
            if options["exit_after_install"]:
                return
            sandbox.start_live(interval_seconds=options["live_interval"])
            woo.start_live(interval_seconds=options["woo_live_interval"])
            self._say(f"both stores are live: a new order about every {options['live_interval']:g}s in the Shopify"
                      f" store, every {options['woo_live_interval']:g}s in the WooCommerce one. Ctrl-C stops.")
            from campaigns.models import Message
            from campaigns.services.engine import run_due

            shops = [shop, woo_shop]
            while server.poll() is None:
                time.sleep(options["status_interval"])
                run_due()  # the beat job's work, in the demo's own loop (no Celery beat here)
                for each in shops:
                    self._say(
                        f"{each.domain}: orders {Order.objects.filter(shop=each).count()} · "
                        f"webhooks received {WebhookDelivery.objects.filter(shop=each).count()} · "
                        f"emails sent {Message.objects.filter(shop=each, status='sent').count()}"
                    )
        except KeyboardInterrupt:
            self._say("stopping")
        finally:
            server.terminate()
            server.wait(timeout=10)
            try:
                sandbox.stop()
            finally:
                woo.stop()

    def _paid_plan(self, shop: Shop, store: Any, app_url: str) -> None:
        """The demo store is on the paid plan (a test charge the merchant approved in the sandbox),
        so the live orders and flows are not held back by the Free plan's monthly limits.  The
        second shop, installed by hand, starts on Free and shows the Plan page's upgrade."""
        from integrations.billing import plan_sync, plan_upgrade_start

        plan_upgrade_start(shop=shop, return_url=f"{app_url}/dashboard/plan/return/")
        for subscription in list(store.billing.subscriptions.values()):
            if subscription.status == "PENDING":
                store.billing.decide(subscription.id, approve=True)
        plan_sync(shop=shop)

    def _top_customer(self, shop: Shop) -> str:
        """A loyal shopper to look at the widget as (the one with the most points)."""
        from django.db.models import Sum

        from loyalty.models import LedgerEntry

        best = (LedgerEntry.objects.filter(shop=shop, account__customer__isnull=False)
                .values("account__customer__platform_id").annotate(points=Sum("points")).order_by("-points").first())
        return best["account__customer__platform_id"] if best else ""

    def _say(self, text: str) -> None:
        self.stdout.write(self.style.SUCCESS("[demo] ") + text)

    def _check_stored_secrets(self) -> None:
        """Stop with what to do when the database's access tokens were encrypted with other keys:
        a ``var/`` made before the development keys were generated (with the repository's public key)."""
        try:
            list(Shop.objects.values_list("access_token", "refresh_token"))
        except ValueError as error:
            raise CommandError(
                f"the demo database ({settings.DATABASES['default']['NAME']}) holds shop access tokens "
                "encrypted with another key than this installation's FIELD_ENCRYPTION_KEYS: var/ was made "
                "with the old public development key (or var/secrets.json was replaced). Run `make clean` "
                "(it deletes var/) and `make demo` again."
            ) from error

    def _operator_login(self) -> str:
        password = os.environ.get("DEMO_ADMIN_PASSWORD") or secrets.token_urlsafe(9)
        user, _ = get_user_model().objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True, "email": "admin@localhost"}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        return password

    def _wait_for(self, url: str, server: subprocess.Popen) -> None:
        for _ in range(100):
            if server.poll() is not None:
                raise CommandError("the web server did not start (is the port free? set PORT)")
            try:
                requests.get(url, timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise CommandError(f"the web server did not answer at {url}")

    def _install(self, app_url: str) -> None:
        done = threading.Event()

        def report() -> None:
            while not done.wait(3):
                shop = Shop.objects.filter(platform=Platform.SHOPIFY, domain=DEMO_SHOP).first()
                run = selectors.sync_latest(shop=shop) if shop else None
                if run is not None:
                    counts = ", ".join(f"{k} {v.get('objects', 0)}" for k, v in run.progress.items())
                    self._say(f"sync {run.status}: {counts}")

        reporter = threading.Thread(target=report, daemon=True)
        reporter.start()
        try:
            response = requests.get(f"{app_url}/shopify/install", params={"shop": DEMO_SHOP}, timeout=1800)
        finally:
            done.set()
        # the callback sends the merchant back into the (sandbox's) Shopify admin, on the app's page
        if response.status_code != 200 or f"/shops/{DEMO_SHOP}/admin/apps/" not in response.url:
            raise CommandError(f"install failed ({response.status_code} at {response.url}): {response.text[:300]}")

    def _loyalty(self, shop: Shop) -> None:
        """The demo store runs the default program (three tiers, rewards, referrals), switched on,
        with points for its history: a dry run first, as a merchant would see it."""
        from loyalty.models import Account
        from loyalty.services.earning import backfill
        from loyalty.services.program import program_enable
        from loyalty.services.tiers import tier_evaluate

        program_enable(shop=shop)
        plan = backfill(shop=shop, apply=False)
        self._say(f"loyalty backfill (dry run): {plan.orders} orders, {plan.customers} customers, "
                  f"{plan.points} points")
        backfill(shop=shop, apply=True)
        for account in Account.objects.filter(shop=shop).iterator():
            tier_evaluate(account=account)
        self._say("loyalty program on: points awarded for past orders, tiers assigned")

    def _campaigns(self, shop: Shop) -> None:
        """The demo store has its flows on, so a person watching sees messages appear."""
        from campaigns.models import Flow
        from campaigns.selectors import flow_list
        from campaigns.services.engine import run_due, winback_scan
        from campaigns.services.flows import flow_enable

        for flow in flow_list(shop=shop):
            flow_enable(shop=shop, key=flow.key)
        for flow in Flow.objects.filter(shop=shop, key="winback"):
            winback_scan(flow=flow)
        outcomes = run_due()
        sent = sum(1 for outcome in outcomes if outcome.status == "sent")
        where = getattr(settings, "EMAIL_FILE_PATH", "the email provider")
        self._say(f"campaign flows on: {sent} emails sent now, more as orders arrive (written to {where})")

    def _surveys(self, shop: Shop, *, seed: int) -> None:
        """The demo store has its surveys on, with some months of answers (the Surveys report and
        the NPS trend are not empty); the widget offers them to shoppers who have not answered."""
        from surveys.models import Channel, Response, Survey
        from surveys.services import response_submit, survey_activate

        rng = random.Random(seed)
        surveys = {survey.key: survey_activate(shop=shop, survey_id=survey.pk, active=True)
                   for survey in Survey.objects.filter(shop=shop).order_by("pk")}
        buyers = list(Customer.objects.filter(shop=shop, is_deleted=False, first_order_at__isnull=False)
                      .order_by("pk")[:90])
        now = datetime.now(UTC)
        reasons = ["Fast delivery and friendly service", "Great quality", "Prices went up", "משלוח מהיר ואיכות טובה",
                   "Packaging could be better", "ارسال سریع بود", ""]
        answered = 0
        for index, customer in enumerate(buyers):
            order = Order.objects.filter(shop=shop, customer=customer).order_by("-processed_at").first()
            if "nps" in surveys and index % 3 != 2:
                score = rng.choice([2, 5, 6, 7, 8, 8, 9, 9, 10, 10, 10])
                submitted = response_submit(survey=surveys["nps"], customer=customer, channel=Channel.EMAIL,
                                            answers={"recommend": score, "reason": rng.choice(reasons)})
                answered += 1
                Response.objects.filter(pk=submitted.response.pk).update(
                    submitted_at=now - timedelta(days=2 + index * 4, hours=rng.randrange(24)))
            if "satisfaction" in surveys and order is not None and index % 2 == 0:
                submitted = response_submit(
                    survey=surveys["satisfaction"], customer=customer, order=order, channel=Channel.EMAIL,
                    answers={"met_expectations": rng.random() < 0.85, "on_time": rng.random() < 0.8,
                             "well_packed": rng.random() < 0.9, "comment": rng.choice(reasons)})
                answered += 1
                Response.objects.filter(pk=submitted.response.pk).update(
                    submitted_at=now - timedelta(days=1 + index * 3))
            if "zero_party" in surveys and index % 4 == 1:
                response_submit(survey=surveys["zero_party"], customer=customer, channel=Channel.WIDGET,
                                answers={"interests": rng.sample(["new_arrivals", "offers", "gift_ideas", "tips"], 2),
                                         "shopping_for": [rng.choice(["myself", "family", "gifts"])]})
                answered += 1
        self._say(f"surveys on: {len(surveys)} surveys, {answered} answers from past customers")

    def _dashboard_login(self, shops: list[Shop]) -> str:
        """The merchant's view: a ``demo`` login that is a member of the demo shops (the dashboard's
        shop switch goes between them), and of nothing else."""
        from dashboard.models import MembershipRole, ShopMembership
        from dashboard.onboarding import onboarding_complete
        from dashboard.services import membership_grant

        # The demo stores are set up already (program, flows, surveys on, history awarded): their
        # app opens on the overview; the new shop walks the set-up guide from its first open.
        for shop in shops:
            onboarding_complete(shop=shop)

        password = os.environ.get("DEMO_DASHBOARD_PASSWORD") or secrets.token_urlsafe(9)
        user, _ = get_user_model().objects.get_or_create(username="demo", defaults={"email": "demo@localhost"})
        user.set_password(password)
        user.save()
        for shop in shops:
            membership_grant(user=user, shop=shop, role=MembershipRole.OWNER)
        ShopMembership.objects.filter(user=user).exclude(shop__in=shops).delete()  # shops of earlier runs
        return password

    def _summary(self, shop: Shop, app_url: str, sandbox_url: str, password: str, dashboard_password: str) -> None:
        from billing.selectors import plan_for

        shopify = platform_demo(Platform.SHOPIFY)
        run = selectors.sync_latest(shop=shop)
        lines = [
            "",
            f"  Shop            {shop.name} ({shop.domain}) · {shop.currency} · {shop.timezone}"
            f" · plan: {plan_for(shop=shop).name}",
            f"  Synced          {Customer.objects.filter(shop=shop).count()} customers, "
            f"{Product.objects.filter(shop=shop).count()} products, {Order.objects.filter(shop=shop).count()} orders"
            f" (sync {run.status if run else '-'})",
            f"  Install page    {app_url}/shopify/installed?shop={shop.domain}",
            f"  Dashboard       {app_url}/dashboard/   login: demo / {dashboard_password}"
            "   (en, he, fa: the language switch is at the top)",
            f"  Django admin    {app_url}/admin/   login: admin / {password}",
            f"  Webhook inbox   {app_url}/admin/integrations/webhookdelivery/",
            f"  Storefront      {sandbox_url}/shops/{shop.domain}/?customer={self._top_customer(shop)}"
            "   (add &locale=he or &locale=fa for right-to-left)",
            f"  Sandbox         {sandbox_url}/shops/{shop.domain}",
            f"  Shopify admin   {shopify.admin_app_url(shop_domain=shop.domain)}"
            "   (the app embedded; ?locale=he or fa)",
            f"  Install         {shopify.admin_app_url(shop_domain=NEW_SHOP)}   ({NEW_SHOP} has not installed the"
            " app: open it from its admin, Install, and it opens embedded on the set-up guide: program, rewards,"
            " tiers, flows, holidays, widget, launch; ?locale=he or fa)",
            "",
        ]
        self.stdout.write("\n".join(lines))
