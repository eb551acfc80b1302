"""In Chromium: the merchant switches a survey on and adds a question from the Survey settings page,
with the keyboard for the question; the shopper's widget API then offers both."""

from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import Browser, expect

from dashboard.services import membership_grant
from loyalty.services.program import program_enable
from surveys.models import Survey
from tests.browser import needs_chromium
from tests.factories import CustomerFactory, ShopFactory, UserFactory
from tests.loyalty.test_widget_api import signed

pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]


@pytest.fixture
def shop(live_server: Any) -> Any:
    shop = ShopFactory(domain="survey-page.myshopify.com", name="Survey Page Store")
    program_enable(shop=shop)
    CustomerFactory(shop=shop, platform_id="c9", locale="en")
    membership_grant(user=UserFactory(username="lior"), shop=shop, role="owner")
    return shop


def test_a_survey_switched_on_with_a_new_question_reaches_the_widget(browser: Browser, live_server: Any,
                                                                     shop: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/dashboard/login/")
    page.locator("#id_username").fill("lior")
    page.locator("#id_password").fill("password")
    page.locator("#id_password").press("Enter")
    page.wait_for_url("**/dashboard/**")
    page.goto(f"{live_server.url}/dashboard/settings/surveys/")
    nps = Survey.objects.get(shop=shop, key="nps")
    card = page.locator(f"#survey-{nps.pk}")
    # when: switch the survey on
    card.get_by_role("button", name="Switch on").click()
    expect(page.locator("#saved-notice")).to_be_visible()
    expect(page.locator(f"#survey-{nps.pk} .badge.success")).to_have_text("On")
    # and add a free-text question, from the keyboard
    card = page.locator(f"#survey-{nps.pk}")
    adding = card.locator("details.question-add")
    adding.locator("summary").focus()
    page.keyboard.press("Enter")
    adding.get_by_label("Kind of question").select_option("text")
    adding.get_by_label("Question (English)").fill("What should we stock next?")
    adding.get_by_label("Question (English)").press("Tab")
    page.keyboard.type("מה כדאי שנוסיף למלאי?")
    adding.get_by_role("button", name="Add question").click()
    expect(page.locator("#saved-notice")).to_be_visible()
    # then the shopper's widget offers the survey with the question, in their language
    listed = Client().get(f"/proxy/surveys?{signed(shop, 'c9', locale='he')}").json()["surveys"]
    assert [survey["key"] for survey in listed] == ["nps"]
    assert listed[0]["questions"][-1]["text"] == "מה כדאי שנוסיף למלאי?"
    context.close()
