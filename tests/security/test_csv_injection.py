"""Issue 11 item 4: no CSV export hands a spreadsheet a formula. Text cells starting with ``=``, ``+``,
``-``, ``@``, tab or carriage return get a leading quote (OWASP); numbers stay numbers."""

import csv
import io
from decimal import Decimal

import pytest

from commerce.models import Customer
from dashboard.models import MembershipRole
from dashboard.services import membership_grant
from retention_app import csv_safety
from segments.services import segment_create, shop_recompute
from tests.factories import OrderFactory, ShopFactory, UserFactory
from tests.integrations.helpers import fixture, post_webhook

pytestmark = pytest.mark.django_db

HOSTILE = ['=HYPERLINK("http://x","y")', "+1+1", "@SUM(A1)", "-2+3", "=cmd|' /C calc'!A0"]


@pytest.fixture
def alpha(db):
    return ShopFactory(domain="alpha.myshopify.com", name="Alpha")


@pytest.fixture
def member(alpha):
    """A dashboard login of alpha, the merchant who downloads the CSV."""
    user = UserFactory(username="dana")
    membership_grant(user=user, shop=alpha, role=MembershipRole.OWNER)
    return user


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def _write(rows: list[list[object]]) -> list[list[str]]:
    buffer = io.StringIO()
    csv_safety.writer(buffer).writerows(rows)
    return list(csv.reader(io.StringIO(buffer.getvalue())))


@pytest.mark.parametrize("text", [*HOSTILE, "\tTAB", "\rCR", "=1+1", "-", "@"])
def test_a_text_cell_that_would_run_gets_a_leading_quote(text):
    assert _write([[text]]) == [["'" + text]]


@pytest.mark.parametrize("text", ["Noa Levi", "נועה", "a=b", "1-2", "'=already quoted", "", "—", "dana@example.com"])
def test_plain_text_is_unchanged(text):
    assert _write([[text]]) == [[text]]


def test_numbers_written_as_numbers_stay_numbers_even_when_negative():
    assert _write([[-5, Decimal("-12.500"), -1.5, 0, True, None]]) == [["-5", "-12.500", "-1.5", "0", "True", ""]]


def test_the_dict_writer_neutralises_header_and_values():
    buffer = io.StringIO()
    writer = csv_safety.SafeDictWriter(buffer, fieldnames=["name", "=total"])
    writer.writeheader()
    writer.writerows([{"name": "@SUM(A1)", "=total": Decimal("-3.000")}])
    assert list(csv.reader(io.StringIO(buffer.getvalue()))) == [["name", "'=total"], ["'@SUM(A1)", "-3.000"]]


def test_segment_customer_export_neutralises_names_from_shopify_and_keeps_numbers(client, alpha, member,
                                                                                   django_capture_on_commit_callbacks):
    """Shoppers choose their own names: a ``customers/create`` webhook is how one gets in."""
    names = [*HOSTILE, "Noa Levi"]
    for index, name in enumerate(names):
        payload = fixture("shopify_customer.json")
        payload.update(id=9100 + index, email=f"shopper{index}@example.com", first_name=name, last_name="",
                       phone=None)
        with django_capture_on_commit_callbacks(execute=True):
            response = post_webhook(client, "customers/create", payload, shop_domain=alpha.domain)
        assert response.status_code == 200
    customers = list(Customer.objects.filter(shop=alpha).order_by("platform_id"))
    assert [customer.first_name for customer in customers] == names
    for customer in customers:
        OrderFactory(shop=alpha, customer=customer, total=Decimal("80.000"))
    shop_recompute(shop=alpha)
    client.force_login(member)
    rows = _csv(client.get("/dashboard/segments/one_time/", {"format": "csv", "table": "customers"}))
    assert rows[0][:4] == ["Customer", "Email", "Orders", "Total spent (USD)"]
    by_email = {row[1]: row for row in rows[1:]}
    assert {email: row[0] for email, row in by_email.items()} == {
        f"shopper{index}@example.com": name if name == "Noa Levi" else "'" + name for index, name in enumerate(names)}
    assert {tuple(row[2:4]) for row in rows[1:]} == {("1", "80.000")}


def test_segments_export_neutralises_a_merchant_segment_name(client, alpha, member):
    segment_create(shop=alpha, key="sum", name="@SUM(A1)",
                   conditions={"all": [{"field": "orders_count", "op": "gte", "value": 5}]})
    client.force_login(member)
    rows = _csv(client.get("/dashboard/segments/", {"format": "csv", "table": "segments"}))
    by_name = {row[0]: row for row in rows[1:]}
    assert "'@SUM(A1)" in by_name and "@SUM(A1)" not in by_name
    assert by_name["'@SUM(A1)"][2] == "0"


def test_survey_export_neutralises_question_text(client, alpha, member):
    from surveys.models import Question, SurveyKind
    from surveys.selectors import survey_list
    from surveys.services import survey_activate

    survey = next(s for s in survey_list(shop=alpha) if s.kind == SurveyKind.NPS)
    survey_activate(shop=alpha, survey_id=survey.pk, active=True)
    Question.objects.filter(shop=alpha, survey=survey).update(text={"en": "-2+3"})
    client.force_login(member)
    rows = _csv(client.get("/dashboard/surveys/", {"format": "csv", "table": f"survey-{survey.key}"}))
    assert rows[0][0] == "Question"
    assert {row[0] for row in rows[1:]} == {"'-2+3"}


def test_a_dashboard_table_keeps_negative_amounts_as_numbers_and_quotes_text():
    from dashboard.tables import Cell, Column, Table, csv_response

    table = Table(name="t", caption="t", currency="USD",
                  columns=[Column("Name"), Column("Net", "money"), Column("Value"), Column("Change", "percent")],
                  rows=[["-2+3", "-12.500", Cell(Decimal("-4.5"), "decimal"), Decimal("-3.25")],
                        ["Noa", Decimal("-0.500"), "-", "=1+1"]])
    rows = _csv(csv_response(table, filename="t.csv"))
    assert rows[1:] == [["'-2+3", "-12.500", "-4.5", "-3.25"], ["Noa", "-0.500", "'-", "'=1+1"]]
