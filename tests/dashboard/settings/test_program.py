"""The Points and earning page: the program's settings and the earning rules save through the
loyalty services and change what shoppers earn; bad input is refused next to its field."""

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from commerce.models import Customer, Product
from loyalty.models import EarningRule, LedgerEntry, Program
from loyalty.services.actions import review_record
from loyalty.services.ledger import account_for_customer
from tests.integrations.test_oauth import session_token
from tests.loyalty.helpers import customer, deliver, line, order
from tests.loyalty.test_widget_api import signed

URL = "/dashboard/settings/program/"


def _program_post(shop: Any, **changes: Any) -> dict[str, Any]:
    """The page's program form as the browser sends it: every field, with ``changes``."""
    program = Program.objects.get(shop=shop)
    data = {"section": "program", "points_per_currency_unit": str(program.points_per_currency_unit),
            "rounding": program.rounding, "award_on": program.award_on, "pending_days": program.pending_days,
            "point_value": str(program.point_value), "negative_policy": program.negative_policy,
            "expiry_mode": program.expiry_mode, "expiry_months": program.expiry_months,
            "expiry_days": program.expiry_days, "expiry_warning_days": program.expiry_warning_days}
    for flag in ("is_enabled", "include_tax", "include_shipping"):
        if getattr(program, flag):
            data[flag] = "on"
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def _rules_post(shop: Any, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"section": "rules"}
    for rule in EarningRule.objects.filter(shop=shop):
        if rule.is_enabled:
            data[f"{rule.kind}-is_enabled"] = "on"
        data[f"{rule.kind}-points"] = rule.points
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_the_page_shows_the_program_with_the_apis_field_names(client_in: Client, alpha: Any) -> None:
    page = client_in.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    for name in ("is_enabled", "points_per_currency_unit", "rounding", "award_on", "pending_days", "point_value",
                 "negative_policy", "expiry_mode", "expiry_days", "signup-points", "birthday-is_enabled",
                 "purchase-multipliers"):
        assert f'name="{name}"' in html, name
    assert 'value="1"' in html  # the rate as a merchant writes it, not 1.0000
    assert "An order of" in html  # the rate's preview


def test_a_new_rate_saves_and_the_next_paid_order_earns_at_it(client_in: Client, alpha: Any) -> None:
    # given
    response = client_in.post(URL, _program_post(alpha, is_enabled="on", points_per_currency_unit="5"))
    # then
    assert response.status_code == 302
    assert response["Location"].endswith("saved=1")
    page = client_in.get(response["Location"]).content.decode()
    assert "Saved." in page and 'value="5"' in page
    program = Program.objects.get(shop=alpha)
    assert (program.is_enabled, program.points_per_currency_unit) == (True, Decimal("5"))
    # and the shopper's widget says the new rate
    widget = client_in.get(f"/proxy/loyalty?{signed(alpha)}").json()
    assert (widget["program"]["enabled"], Decimal(widget["program"]["points_per_currency_unit"])) == (True, 5)
    # when a paid order of 20.00 arrives through the store's event path
    deliver(alpha, order("1", [line("1a", 1, "20.00")]))
    # then
    assert LedgerEntry.objects.get(shop=alpha, idempotency_key="earn:order:1").points == 100


@pytest.mark.parametrize("rate, message", [("0", "must be more than 0"), ("-3", "must be more than 0"),
                                           ("lots", "Enter a number")])
def test_a_bad_rate_is_refused_next_to_its_field_and_nothing_changes(client_in: Client, alpha: Any, rate: str,
                                                                     message: str) -> None:
    response = client_in.post(URL, _program_post(alpha, points_per_currency_unit=rate, pending_days="30"))
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_points_per_currency_unit_error"' in html
    error = html.split('id="id_points_per_currency_unit_error">', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert 'aria-invalid="true"' in html and "error-summary" in html
    program = Program.objects.get(shop=alpha)
    assert (program.points_per_currency_unit, program.pending_days) == (Decimal("1"), 14)


def test_a_post_of_only_the_rate_changes_only_the_rate(client_in: Client, alpha: Any) -> None:
    Program.objects.filter(shop=alpha).update(is_enabled=True, include_tax=True, pending_days=21)
    page = client_in.get(URL).content.decode()
    assert '<input type="hidden" name="is_enabled" value="false"><input type="checkbox" name="is_enabled"' in page
    response = client_in.post(URL, {"points_per_currency_unit": "4"})
    assert response.status_code == 302
    program = Program.objects.get(shop=alpha)
    assert (program.points_per_currency_unit, program.is_enabled, program.include_tax, program.pending_days) == (
        Decimal("4"), True, True, 21)
    switched_off = client_in.post(URL, {"is_enabled": "false"})
    assert switched_off.status_code == 302
    assert Program.objects.get(shop=alpha).is_enabled is False
    assert Program.objects.get(shop=alpha).points_per_currency_unit == Decimal("4")


def test_a_rate_typed_in_persian_digits_is_read(client_in: Client, alpha: Any) -> None:
    response = client_in.post(URL, _program_post(alpha, points_per_currency_unit="۲.۵", pending_days="۷"))
    assert response.status_code == 302
    program = Program.objects.get(shop=alpha)
    assert (program.points_per_currency_unit, program.pending_days) == (Decimal("2.5"), 7)


def test_the_expiry_warning_must_come_before_the_expiry(client_in: Client, alpha: Any) -> None:
    response = client_in.post(URL, _program_post(alpha, expiry_mode="batch", expiry_days="7",
                                                 expiry_warning_days="14"))
    assert response.status_code == 400
    assert 'id="id_expiry_warning_days_error"' in response.content.decode()
    assert Program.objects.get(shop=alpha).expiry_mode == "none"


@pytest.mark.parametrize("language, label, error", [
    ("he", "נקודות לכל USD", "חייב להיות גדול מ-0"),
    ("fa", "امتیاز به ازای هر USD", "باید بیشتر از ۰ باشد"),
])
def test_the_page_and_its_errors_are_in_hebrew_and_persian(client_in: Client, alpha: Any, language: str, label: str,
                                                          error: str) -> None:
    response = client_in.post(URL, _program_post(alpha, points_per_currency_unit="0"),
                              HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 400
    html = response.content.decode()
    assert f'lang="{language}"' in html and 'dir="rtl"' in html
    assert label in html
    assert error in html.split('id="id_points_per_currency_unit_error">', 1)[1].split("</p>", 1)[0]


def test_the_rules_save_together_and_change_what_is_earned(client_in: Client, alpha: Any) -> None:
    # given a member and the program on
    Program.objects.filter(shop=alpha).update(is_enabled=True)
    customer(alpha, "c1", "dana@example.com")
    account = account_for_customer(shop=alpha, customer=Customer.objects.get(shop=alpha, platform_id="c1"))
    # when the merchant switches reviews off and gives more for sign-ups
    data = _rules_post(alpha, **{"signup-points": "75", "purchase-multipliers": "p-serum = 2",
                                 "review-is_enabled": "false"})  # an unticked box, as the page sends it
    response = client_in.post(URL, data)
    # then
    assert response.status_code == 302
    rules = {rule.kind: rule for rule in EarningRule.objects.filter(shop=alpha)}
    assert rules["signup"].points == 75
    assert rules["review"].is_enabled is False
    assert rules["purchase"].multipliers == {"products": {"p-serum": "2"}}
    review_record(account=account, external_id="r-1", product_platform_id="", rating=5)
    assert not LedgerEntry.objects.filter(shop=alpha, reason="product review").exists()
    deliver(alpha, order("9", [line("9a", 1, "10.00", product="p-serum"), line("9b", 1, "10.00")]))
    assert LedgerEntry.objects.get(shop=alpha, idempotency_key="earn:order:9").points == 30


@pytest.mark.parametrize("changes, field", [
    ({"birthday-points": "-1"}, "id_birthday-points_error"),
    ({"purchase-multipliers": "p-serum = 0"}, "error-summary"),
    ({"purchase-multipliers": "p-serum twice"}, "id_purchase-multipliers_error"),
])
def test_bad_rule_input_is_refused_and_no_rule_changes(client_in: Client, alpha: Any, changes: dict[str, str],
                                                       field: str) -> None:
    response = client_in.post(URL, _rules_post(alpha, **{"signup-points": "75", **changes}))
    assert response.status_code == 400
    assert field in response.content.decode()
    assert EarningRule.objects.get(shop=alpha, kind="signup").points == 50
    assert EarningRule.objects.get(shop=alpha, kind="purchase").multipliers == {}


def test_the_rate_preview_answers_htmx_with_what_an_order_earns(client_in: Client, alpha: Any) -> None:
    answer = client_in.get(URL, {"preview": "rate", "points_per_currency_unit": "2.5", "rounding": "down"},
                           HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    assert "250" in answer.content.decode() and "<html" not in answer.content.decode()
    assert Program.objects.get(shop=alpha).points_per_currency_unit == Decimal("1")


def test_another_shops_program_is_untouched(client_in: Client, alpha: Any, beta: Any) -> None:
    client_in.post(URL, _program_post(alpha, points_per_currency_unit="7"))
    assert Program.objects.get(shop=alpha).points_per_currency_unit == Decimal("7")
    assert Program.objects.get(shop=beta).points_per_currency_unit == Decimal("1")


ALPHA_HOST = "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYWxwaGE"  # Shopify's host: base64 of the shop's admin


def test_inside_the_shopify_admin_the_form_posts_with_the_session_token_and_stays_embedded(
        alpha: Any, beta: Any) -> None:
    # given the page loaded by the Shopify admin (no login, no CSRF cookie: the session token)
    embedded = Client(enforce_csrf_checks=True)
    params = {"shop": alpha.domain, "host": ALPHA_HOST, "locale": "he"}
    page = embedded.get(URL, {**params, "id_token": session_token(alpha.domain)})
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/dashboard/settings/program/?shop={alpha.domain}&amp;host={ALPHA_HOST}" in html  # the form's action
    assert 'dir="rtl"' in html
    # when the form is posted with a fresh token (dashboard.js puts it in the action)
    query = f"shop={alpha.domain}&host={ALPHA_HOST}&locale=he&id_token={session_token(alpha.domain)}"
    response = embedded.post(f"{URL}?{query}", _program_post(alpha, points_per_currency_unit="3"))
    # then it is saved, and the redirect keeps the admin's parameters
    assert response.status_code == 302
    assert f"shop={alpha.domain}" in response["Location"] and f"host={ALPHA_HOST}" in response["Location"]
    assert Program.objects.get(shop=alpha).points_per_currency_unit == Decimal("3")
    # and another shop's token cannot post into alpha
    forged = embedded.post(f"{URL}?shop={alpha.domain}&host={ALPHA_HOST}&id_token={session_token(beta.domain)}",
                           _program_post(alpha, points_per_currency_unit="9"))
    assert forged.status_code == 401
    assert Program.objects.get(shop=alpha).points_per_currency_unit == Decimal("3")


def test_a_script_may_post_one_rule_without_the_section(client_in: Client, alpha: Any) -> None:
    response = client_in.post(URL, {"birthday-points": "150"})
    assert response.status_code == 302
    birthday = EarningRule.objects.get(shop=alpha, kind="birthday")
    assert (birthday.points, birthday.is_enabled) == (150, True)
    assert EarningRule.objects.get(shop=alpha, kind="signup").points == 50


def test_a_multiplier_may_name_the_product_by_its_handle_and_the_page_shows_its_title(client_in: Client,
                                                                                       alpha: Any) -> None:
    Product.objects.create(shop=alpha, platform_id="8049437", title="Vitamin C serum", handle="vitamin-c-serum")
    response = client_in.post(URL, {"section": "rules", "purchase-multipliers": "Vitamin-C-Serum = 2\nunsynced-1 = 3"})
    assert response.status_code == 302
    rule = EarningRule.objects.get(shop=alpha, kind="purchase")
    assert rule.multipliers == {"products": {"8049437": "2", "unsynced-1": "3"}}
    listed = client_in.get(URL).content.decode().split('id="multiplied-products">', 1)[1].split("</ul>", 1)[0]
    assert "Vitamin C serum" in listed and "×2" in listed and "not synced from your store yet" in listed
