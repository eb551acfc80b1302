from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from dashboard import formatting
from dashboard.tables import Column, Table, csv_filename, csv_response


@pytest.mark.parametrize(("language", "number", "money", "percent", "day", "month"), [
    ("en", "1,234.50", "$1,234.50", "23.45%", "Mar 5, 2026", "Mar 2026"),
    ("he", "1,234.50", "\u200f1,234.50\xa0\u200f$", "23.45%", "5 במרץ 2026", "מרץ 2026"),
    # the Persian calendar, as the widget: 5 March 2026 is 14 Esfand 1404
    ("fa", "۱٬۲۳۴٫۵۰", "\u200e$\xa0۱٬۲۳۴٫۵۰", "۲۳٫۴۵٪", "۱۴ اسفند ۱۴۰۴", "اسفند ۱۴۰۴"),
])
def test_numbers_money_and_dates_follow_the_language(language, number, money, percent, day, month):
    with translation.override(language):
        assert formatting.number(Decimal("1234.5"), 2) == number
        assert formatting.money("1234.500", "USD") == money
        assert formatting.percent(Decimal("23.45")) == percent
        assert formatting.day(date(2026, 3, 5)) == day
        assert formatting.month("2026-03") == month


def test_missing_values_show_a_dash_not_zero():
    assert formatting.number(None) == formatting.money(None, "USD") == formatting.percent(None) == "—"
    assert formatting.day(None) == formatting.month("") == "—"


def test_csv_has_a_bom_raw_values_and_a_safe_filename():
    table = Table(name="members", caption="x", currency="ILS",
                  columns=[Column("קבוצה"), Column("Spend", "money"), Column("Day", "day"), Column("Rate", "percent")],
                  rows=[["חברים", "1234.500", date(2026, 3, 5), Decimal("12.50")], ["אחרים", None, None, None]])
    filename = csv_filename("comeback", "shop.myshopify.com", "members", "2026-01-01_2026-03-31")
    response = csv_response(table, filename=filename)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="comeback-shop.myshopify.com-members-2026-01-01_2026-03-31.csv"')
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert response.content.decode("utf-8-sig").splitlines() == [
        "קבוצה,Spend (ILS),Day,Rate",
        "חברים,1234.500,2026-03-05,12.50",
        "אחרים,,,",
    ]
    assert csv_filename("comeback", "a b/../c") == "comeback-a_b_.._c.csv"
