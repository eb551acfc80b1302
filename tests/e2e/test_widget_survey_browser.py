"""The widget's Surveys section in a real browser: the merchant switches a survey on through the merchant
API, a logged-in shopper answers it in the storefront widget (through the sandbox's signed app proxy),
and the answers, the profile data and the loyalty points land in the database."""
# The browser, page, store and member fixtures are imported from the widget's browser test; pytest
# passes them as arguments of the same names, which ruff takes for redefinitions.
# ruff: noqa: F811

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Locator, Page, expect

from commerce.models import Customer
from loyalty.models import LedgerEntry
from loyalty.services.ledger import account_balance
from surveys.models import Answer, CustomerProfile, Response
from tests.browser import needs_chromium
from tests.e2e.test_widget_browser import (  # noqa: F401
    DOMAIN,
    focused_class,
    member,
    page,
    screenshot,
    store,
    tab_to,
)
from tests.integrations.test_oauth import session_token

PHONE = {"width": 360, "height": 740}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"

pytestmark = pytest.mark.django_db(transaction=True)


def activate(app: Any, *keys: str) -> None:
    """What the merchant does in the admin: list the surveys (a new shop gets the presets, off), switch some on."""
    auth = {"Authorization": f"Bearer {session_token(DOMAIN)}"}
    listed = requests.get(f"{app.url}/api/surveys", headers=auth, timeout=30)
    assert listed.status_code == 200, listed.text[:300]
    ids = {survey["key"]: survey["id"] for survey in listed.json()}
    for key in keys:
        answer = requests.post(f"{app.url}/api/surveys/{ids[key]}/activate", json={"active": True}, headers=auth,
                               timeout=30)
        assert answer.json()["is_active"] is True, answer.text[:300]


def open_panel(page: Page, name: str) -> Locator:
    page.locator(".cbw-launcher").click()
    dialog = page.get_by_role("dialog", name=name)
    expect(dialog).to_be_visible()
    expect(dialog).not_to_have_attribute("aria-busy", "true")  # opening reloads the state and the surveys
    return dialog


def shots(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / name


@needs_chromium
def test_shopper_answers_the_nps_survey_with_the_keyboard(page: Page, app: Any, store: Any, member: Any,
                                                         tmp_path: Path) -> None:
    customer, account = member
    page.goto(f"{store.origin}/?customer={customer.platform_id}")
    expect(page.locator(".cbw-launcher")).to_contain_text("300")
    dialog = open_panel(page, "Rewards")
    expect(dialog.locator("[data-cbw=balance]")).to_contain_text("300")
    expect(dialog.locator(".cbw-surveys")).to_have_count(0)  # nothing to answer yet: no section
    page.keyboard.press("Escape")

    activate(app, "nps")
    launcher = page.locator(".cbw-launcher")
    tab_to(page, launcher)
    page.keyboard.press("Enter")  # opening the panel again fetches the surveys
    section = dialog.get_by_role("region", name="Surveys")
    form = section.get_by_role("form", name="Would you recommend us?")
    expect(form).to_be_visible()
    expect(form).to_contain_text("Answer to earn 20 points")
    score = form.get_by_role("group", name=re.compile("^How likely are you to recommend us"))
    expect(score).to_contain_text("(required)")
    expect(score.get_by_role("radio")).to_have_count(11)
    expect(score.get_by_role("radio", name="0 – not at all likely", exact=True)).to_be_visible()
    expect(score.get_by_role("radio", name="10 – extremely likely", exact=True)).to_be_visible()
    expect(score.get_by_role("radio", name="7", exact=True)).to_be_visible()

    # the optional reason first, the required score forgotten: the app refuses, the error sits in the score's group
    reason = form.get_by_role("textbox", name="What is the main reason for your score?")
    tab_to(page, reason)
    page.keyboard.type("Fast delivery")
    send = form.get_by_role("button", name="Send answers – Would you recommend us?")
    tab_to(page, send)
    page.keyboard.press("Enter")
    error = score.locator(".cbw-error")
    expect(error).to_have_text("Please answer this question.")
    first = score.get_by_role("radio", name="0 – not at all likely")
    expect(first).to_be_focused()  # the focus goes to the first question to fix
    expect(first).to_have_attribute("aria-invalid", "true")
    assert error.get_attribute("id") in (first.get_attribute("aria-describedby") or "").split()
    expect(reason).to_have_attribute("aria-invalid", "false")
    expect(form.locator(".cbw-error:visible")).to_have_count(1)
    assert not Response.objects.filter(customer=customer).exists()
    screenshot(page, shots("widget-survey-en.png"))

    for _ in range(9):  # arrows move through the group and pick: 0 → 9
        page.keyboard.press("ArrowDown")
    expect(score.get_by_role("radio", name="9", exact=True)).to_be_checked()
    expect(reason).to_have_value("Fast delivery")
    tab_to(page, send)
    page.keyboard.press("Enter")

    thanks = section.locator(".cbw-thanks")
    expect(thanks).to_have_text("Thank you! You earned 20 points.")
    assert "cbw-thanks" in focused_class(page), "the focus goes to the thank-you"
    expect(form).to_have_count(0)
    expect(launcher).to_contain_text("320")
    expect(dialog.locator("[data-cbw=balance]")).to_contain_text("320")
    screenshot(page, tmp_path / "widget-survey-thanks.png")

    response = Response.objects.get(customer=customer)
    assert (response.survey.key, response.channel, response.language, response.order) == ("nps", "widget", "en", None)
    assert {a.question.key: (a.score, a.text) for a in Answer.objects.filter(response=response)} == {
        "recommend": (9, ""), "reason": (None, "Fast delivery")}
    earned = LedgerEntry.objects.filter(account=account, source_id="survey")
    assert [(e.kind, e.points) for e in earned] == [("earn", 20)]
    assert account_balance(account=account).available == 320

    page.keyboard.press("Escape")  # answered: the next opening has nothing to ask
    open_panel(page, "Rewards")
    expect(dialog.locator("[data-cbw=balance]")).to_contain_text("320")
    expect(dialog.locator(".cbw-surveys")).to_have_count(0)


@needs_chromium
def test_yes_no_date_and_choice_questions(page: Page, app: Any, store: Any, member: Any, tmp_path: Path) -> None:
    customer, account = member
    Customer.objects.filter(pk=customer.pk).update(birthday=None)
    activate(app, "satisfaction", "zero_party")
    page.goto(f"{store.origin}/?customer={customer.platform_id}")
    dialog = open_panel(page, "Rewards")
    section = dialog.get_by_role("region", name="Surveys")
    expect(section.get_by_role("form")).to_have_count(2)

    about = section.get_by_role("form", name="Tell us about yourself")
    about.get_by_label("When is your birthday? We would like to send you a gift.").fill("2999-05-17")
    interests = about.get_by_role("group", name="What are you interested in?")
    interests.get_by_role("checkbox", name="Gift ideas").check()
    interests.get_by_role("checkbox", name="Sales and offers").check()
    about.get_by_role("group", name="Who do you usually shop for?").get_by_role("checkbox", name="Myself").check()
    about.get_by_role("button", name=re.compile("^Send answers")).click()
    expect(about.locator(".cbw-error:visible")).to_have_text(["Please enter your real date of birth."])
    expect(about.get_by_label("When is your birthday?", exact=False)).to_be_focused()
    screenshot(page, tmp_path / "widget-survey-kinds.png")
    about.get_by_label("When is your birthday?", exact=False).fill("1990-05-17")
    about.get_by_role("button", name=re.compile("^Send answers")).click()
    expect(section.locator(".cbw-thanks")).to_have_text("Thank you! You earned 20 points.")
    expect(about).to_have_count(0)

    order = section.get_by_role("form", name="How was your order?")
    expect(order).to_be_visible()  # the other survey is still there, untouched
    order.get_by_role("group", name=re.compile("^Did the products meet")).get_by_role("radio", name="Yes").check()
    order.get_by_role("group", name=re.compile("^Did your order arrive")).get_by_role("radio", name="No").check()
    order.get_by_role("button", name=re.compile("^Send answers")).click()
    errors = order.locator(".cbw-error:visible")
    expect(errors).to_have_count(1)
    expect(order.get_by_role("group", name=re.compile("^Was your order well packed"))).to_contain_text(
        "Please answer this question.")
    order.get_by_role("group", name=re.compile("^Was your order well packed")).get_by_role("radio", name="Yes").check()
    order.get_by_role("button", name=re.compile("^Send answers")).click()
    expect(order).to_have_count(0)
    expect(section.locator(".cbw-thanks")).to_have_text("Thank you! You earned 20 points.")

    about_answers = {a.question.key: a for a in Answer.objects.filter(response__survey__key="zero_party",
                                                                       response__customer=customer)}
    assert about_answers["birthday"].date == date(1990, 5, 17)
    assert about_answers["interests"].choices == ["offers", "gift_ideas"]
    assert about_answers["shopping_for"].choices == ["myself"]
    customer.refresh_from_db()
    assert customer.birthday == date(1990, 5, 17)
    assert CustomerProfile.objects.get(customer=customer).interests == ["offers", "gift_ideas"]
    order_answers = {a.question.key: a.yes_no for a in Answer.objects.filter(response__survey__key="satisfaction",
                                                                              response__customer=customer)}
    assert order_answers == {"met_expectations": True, "on_time": False, "well_packed": True}
    assert account_balance(account=account).available == 340  # 20 points per survey, once each


@needs_chromium
@pytest.mark.parametrize(("locale", "title", "text", "low", "required"), [
    ("he", "הייתם ממליצים עלינו?", "עד כמה סביר שתמליצו עלינו לחבר או לעמית?", "0 – בכלל לא סביר",
     "נא לענות על השאלה הזו."),
    ("fa", "ما را توصیه می‌کنید؟", "چقدر احتمال دارد ما را به یک دوست یا همکار توصیه کنید؟", "۰ – اصلاً محتمل نیست",
     "لطفاً به این پرسش پاسخ دهید."),
], ids=["he", "fa"])
def test_survey_right_to_left(page: Page, app: Any, store: Any, member: Any, locale: str, title: str, text: str,
                              low: str, required: str) -> None:
    customer, _ = member
    activate(app, "nps")
    if locale == "fa":
        page.set_viewport_size(PHONE)  # the narrow layout: the 0–10 scale still fits on one line
    page.goto(f"{store.origin}/?customer={customer.platform_id}&locale={locale}")
    expect(page.locator(".cbw")).to_have_attribute("dir", "rtl")
    dialog = open_panel(page, "מועדון הטבות" if locale == "he" else "باشگاه مشتریان")
    form = dialog.get_by_role("form", name=title)
    expect(form).to_be_visible()
    expect(form).to_contain_text(text)
    assert form.evaluate("el => getComputedStyle(el).direction") == "rtl"
    zero = form.get_by_role("radio", name=low, exact=True)
    ten = form.get_by_role("radio", name=re.compile("^(10|۱۰) – "))
    zero_box, ten_box = zero.bounding_box(), ten.bounding_box()
    assert zero_box and ten_box and zero_box["x"] > ten_box["x"], "the scale runs right to left: 0 on the right"
    assert abs(zero_box["y"] - ten_box["y"]) < 2, "one line"
    assert form.evaluate("el => el.scrollWidth <= el.clientWidth"), "nothing overflows the form"
    form.get_by_role("button", name=re.compile("^(שליחת התשובות|ارسال پاسخ‌ها)")).click()
    expect(form.locator(".cbw-error:visible")).to_have_text([required])  # the app's error, in the shopper's language
    screenshot(page, shots(f"widget-survey-{locale}.png"))
    zero.press("Space")
    expect(zero).to_be_checked()
    form.get_by_role("button", name=re.compile("^(שליחת התשובות|ارسال پاسخ‌ها)")).click()
    expect(dialog.locator(".cbw-thanks")).to_contain_text("תודה!" if locale == "he" else "سپاس!")
    assert Response.objects.get(customer=customer).language == locale
