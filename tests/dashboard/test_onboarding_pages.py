"""The set-up guide and the home checklist as a merchant uses them (a Django login here; the
embedded path is walked in Chromium by ``test_onboarding_browser``)."""

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from campaigns.models import Flow
from dashboard.models import MembershipRole, Onboarding
from dashboard.services import membership_grant
from loyalty.models import LedgerEntry, Program, Reward
from tests.commerce.test_reads_never_write import assert_reads_write_nothing, embedded
from tests.factories import CustomerFactory, OrderFactory, ShopFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/dashboard/onboarding/"


@pytest.fixture
def shop() -> Any:
    return ShopFactory(domain="fresh.myshopify.com", name="Fresh", onboarded=False)


@pytest.fixture
def merchant(shop: Any) -> Client:
    user = UserFactory(username="owner")
    membership_grant(user=user, shop=shop, role=MembershipRole.OWNER)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def history(shop: Any) -> None:
    for email in ("noa@example.com", "dan@example.com"):
        OrderFactory(shop=shop, customer=CustomerFactory(shop=shop, email=email, first_name=email[:3].title()),
                     total=Decimal("40"), subtotal=Decimal("40"))


def test_a_new_shop_opening_the_app_lands_on_the_first_step(merchant: Client) -> None:
    response = merchant.get("/dashboard/")
    assert response.status_code == 302 and response["Location"] == URL
    page = merchant.get(URL)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Step 1 of 7: Loyalty program" in html
    for name in ('name="is_enabled"', 'name="points_per_currency_unit"', 'name="step" value="program"'):
        assert name in html
    assert not Onboarding.objects.exists()  # reading the guide writes nothing


@pytest.mark.parametrize(("rate", "message"), [
    ("0", "Enter a number above 0."), ("", "Enter how many points each $1.00 earns."), ("abc", "Enter a number."),
    ("5000", "less than or equal to 1000"),
])
def test_a_bad_rate_is_refused_next_to_its_field_and_nothing_is_saved(merchant: Client, shop: Any, rate: str,
                                                                      message: str) -> None:
    response = merchant.post(URL, {"step": "program", "is_enabled": "on", "points_per_currency_unit": rate})
    html = response.content.decode()
    assert response.status_code == 400
    assert message in html and 'aria-invalid="true"' in html and 'class="error-summary"' in html
    assert Program.objects.get(shop=shop).points_per_currency_unit == Decimal("1")
    assert not Onboarding.objects.exists()


def test_saving_a_step_goes_on_to_the_next_and_the_home_page_lists_what_is_left(merchant: Client, shop: Any) -> None:
    response = merchant.post(URL, {"step": "program", "is_enabled": "on", "points_per_currency_unit": "3"})
    assert response.status_code == 302 and response["Location"] == f"{URL}?saved=1&step=rewards"
    program = Program.objects.get(shop=shop)
    assert program.is_enabled and program.points_per_currency_unit == Decimal("3")
    page = merchant.get(response["Location"]).content.decode()
    assert "Saved." in page and "Step 2 of 7: Starter rewards" in page
    assert "(about 3.0% back at your rate)" in page  # $5 for 500 points at 3 points per $1
    # the app's URL now shows the checklist, the program ticked
    response = merchant.get("/dashboard/")
    assert response["Location"] == "/dashboard/home/"
    home = merchant.get("/dashboard/home/").content.decode()
    assert "1 of 7 steps done" in home
    assert 'href="/dashboard/onboarding/?step=rewards"' in home


def test_no_starter_reward_is_refused(merchant: Client, shop: Any) -> None:
    before = list(Reward.objects.filter(shop=shop, is_active=True).values_list("pk", flat=True))
    response = merchant.post(URL, {"step": "rewards"})
    assert response.status_code == 400 and "Choose at least one starter reward." in response.content.decode()
    assert list(Reward.objects.filter(shop=shop, is_active=True).values_list("pk", flat=True)) == before


def test_holiday_greetings_on_without_an_occasion_are_refused(merchant: Client, shop: Any) -> None:
    response = merchant.post(URL, {"step": "holidays", "enabled": "on", "calendars": ["IL"]})
    assert response.status_code == 400
    assert "Choose at least one occasion of the chosen calendars." in response.content.decode()
    assert Flow.objects.get(shop=shop, key="holiday_greetings").is_enabled is False


def test_the_widget_step_deep_links_into_the_theme_editor_with_the_app_embed_on(merchant: Client) -> None:
    html = merchant.get(URL, {"step": "widget"}).content.decode()
    assert ('href="https://fresh.myshopify.com/admin/themes/current/editor?context=apps&amp;template=index&amp;'
            'activateAppId=test-api-key%2Fcomeback-embed" target="_blank"') in html
    assert 'name="accent_color"' in html and 'name="launcher_position"' in html


def test_an_unknown_step_is_not_found(merchant: Client) -> None:
    assert merchant.get(URL, {"step": "payment"}).status_code == 404


def test_the_flows_step_previews_a_message_for_a_real_customer(merchant: Client, shop: Any, history: None) -> None:
    page = merchant.get(URL, {"step": "flows"}).content.decode()
    assert 'value="winback"' in page and "Preview for" in page
    preview = merchant.get(URL, {"step": "flows", "preview": "order_thank_you"}, headers={"HX-Request": "true"})
    assert preview.status_code == 200
    assert "Subject:" in preview.content.decode()
    assert merchant.get(URL, {"step": "flows", "preview": "nope"}).status_code == 404


def test_the_launch_shows_the_dry_run_and_two_clicks_award_the_history_once(
        merchant: Client, shop: Any, history: None, django_capture_on_commit_callbacks: Any) -> None:
    merchant.post(URL, {"step": "program", "is_enabled": "on", "points_per_currency_unit": "3"})
    page = merchant.get(URL, {"step": "launch"}).content.decode()
    assert 'id="launch-customers">2<' in page and 'id="launch-points">240<' in page
    assert not LedgerEntry.objects.filter(shop=shop).exists()
    with django_capture_on_commit_callbacks(execute=True):  # the background job runs at once (eager)
        first = merchant.post(URL, {"step": "launch"})
    with django_capture_on_commit_callbacks(execute=True):
        second = merchant.post(URL, {"step": "launch"})
    # (the test's transaction runs the job after the response: the first click lands on the launch
    # step, which shows the result; the second finds it launched and goes home)
    assert first["Location"] == f"{URL}?saved=1&step=launch" and second["Location"] == "/dashboard/home/?saved=1"
    assert LedgerEntry.objects.filter(shop=shop).count() == 2
    assert sum(LedgerEntry.objects.filter(shop=shop).values_list("points", flat=True)) == 240
    launched = merchant.get(URL, {"step": "launch"}).content.decode()
    assert "2 customers received 240 points for 2 past orders." in launched


def test_the_launch_runs_in_the_background_and_the_step_says_so_until_it_is_done(
        merchant: Client, shop: Any, history: None, django_capture_on_commit_callbacks: Any) -> None:
    merchant.post(URL, {"step": "program", "is_enabled": "on", "points_per_currency_unit": "3"})
    # when the merchant clicks Launch (the job queued, not run yet)
    with django_capture_on_commit_callbacks() as queued:
        response = merchant.post(URL, {"step": "launch"})
    # then the step says it is under way, and polls for the result
    assert response["Location"] == f"{URL}?saved=1&step=launch"
    page = merchant.get(URL, {"step": "launch"}).content.decode()
    assert "Launching" in page and 'hx-trigger="every 3s"' in page and 'id="launch-button"' not in page
    assert not LedgerEntry.objects.filter(shop=shop).exists()
    # a second click while it runs queues another run: harmless
    with django_capture_on_commit_callbacks() as queued_again:
        merchant.post(URL, {"step": "launch"})
    for job in [*queued, *queued_again]:
        job()
    assert LedgerEntry.objects.filter(shop=shop).count() == 2
    status = merchant.get(URL, {"step": "launch", "status": "1"}, headers={"HX-Request": "true"}).content.decode()
    assert "2 customers received 240 points for 2 past orders." in status and "every 3s" not in status


def test_once_every_step_is_done_the_app_opens_on_the_overview(merchant: Client, shop: Any,
                                                                django_capture_on_commit_callbacks: Any) -> None:
    for data in ({"step": "program", "is_enabled": "on", "points_per_currency_unit": "1"},
                 {"step": "rewards", "rewards": ["amount_5"]}, {"step": "tiers", "tiers": "none"},
                 {"step": "flows", "flows": ["order_thank_you"]}, {"step": "holidays"},
                 {"step": "widget", "accent_color": "#123456", "launcher_position": "left"}, {"step": "launch"}):
        with django_capture_on_commit_callbacks(execute=True):
            response = merchant.post(URL, data)
        assert response.status_code == 302, (data, response.content.decode()[:2000])
    assert merchant.get("/dashboard/")["Location"] == "/dashboard/overview/"
    assert "Comeback is set up and running." in merchant.get("/dashboard/home/").content.decode()


def test_every_page_of_the_guide_reads_without_writing(client: Client, shop: Any, history: None) -> None:
    # given a shop that has just installed, opened inside the admin with a session token
    steps = ("program", "rewards", "tiers", "flows", "holidays", "widget", "launch")
    paths = ["/dashboard/", "/dashboard/home/", URL, *[f"{URL}?step={step}&" for step in steps],
             f"{URL}?step=flows&preview=order_thank_you&", f"{URL}?step=flows&preview=winback&"]
    requests: list[tuple[str, dict[str, str]]] = [
        (f"{path}{'' if path.endswith('&') else '?'}{embedded(shop)}", {}) for path in paths]
    # when each is read (the launch step's dry run and the flow previews among them), then nothing is written
    assert_reads_write_nothing(client, requests)
    assert not Onboarding.objects.exists() and not LedgerEntry.objects.filter(shop=shop).exists()


def test_a_shop_set_up_before_the_guide_opens_on_the_overview_without_launch_figures(client: Client) -> None:
    # given a shop marked set up without a launch of its own (the demo store, a shop older than the guide)
    shop = ShopFactory(domain="older.myshopify.com")
    user = UserFactory(username="older")
    membership_grant(user=user, shop=shop, role=MembershipRole.OWNER)
    client.force_login(user)
    # then the app opens on the overview, and home and the launch step claim no figures
    assert client.get("/dashboard/")["Location"] == "/dashboard/overview/"
    home = client.get("/dashboard/home/").content.decode()
    launch = client.get(URL, {"step": "launch"}).content.decode()
    assert "Comeback is set up and running." in home and "received" not in home
    assert 'id="launch-result"' in launch and "received" not in launch
