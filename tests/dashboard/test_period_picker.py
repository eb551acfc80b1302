"""The period picker shows and reads dates in the page language's convention (ISO still works)."""

import pytest

from dashboard.periods import shop_today
from retention_app.locale_format import format_date

pytestmark = pytest.mark.django_db


def _speaking(client, member, language):
    client.force_login(member)
    client.post("/i18n/setlang/", {"language": language, "next": "/dashboard/overview/"})


@pytest.mark.parametrize(("language", "start", "end", "shown_start", "shown_end"), [
    ("en", "Mar 1, 2026", "12/7/2026", "Mar 1, 2026", "Dec 7, 2026"),
    ("en", "2026-03-01", "2026-12-07", "Mar 1, 2026", "Dec 7, 2026"),
    ("he", "1.3.2026", "7 בדצמ׳ 2026", "1 במרץ 2026", "7 בדצמ׳ 2026"),
    ("fa", "۱۴۰۴/۱۲/۱۰", "۱۶ آذر ۱۴۰۵", "۱۰ اسفند ۱۴۰۴", "۱۶ آذر ۱۴۰۵"),
    ("fa", "2026-03-01", "1405/09/16", "۱۰ اسفند ۱۴۰۴", "۱۶ آذر ۱۴۰۵"),
])
def test_the_picker_reads_the_pages_convention(client, two_shops, member, language, start, end, shown_start,
                                               shown_end):
    _speaking(client, member, language)
    response = client.get("/dashboard/loyalty/", {"start": start, "end": end})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'name="start" value="{shown_start}"' in html
    assert f'name="end" value="{shown_end}"' in html
    assert f"{shown_start} – {shown_end}" in html  # the period's label
    # the links (presets, CSV, other pages) carry the range as ISO, whatever the language
    assert "start=2026-03-01&amp;end=2026-12-07" in html
    assert 'type="date"' not in html


def test_a_day_that_does_not_exist_is_refused_with_an_example(client, two_shops, member):
    _speaking(client, member, "fa")
    response = client.get("/dashboard/loyalty/", {"start": "۳۱ اسفند ۱۴۰۴", "end": "۱۶ آذر ۱۴۰۵"})  # 1404: 29 days
    assert response.status_code == 400
    example = format_date(shop_today(shop=two_shops[0]), language="fa")
    assert example in response.content.decode()


def test_persian_pages_show_the_persian_calendar_in_the_picker_and_presets(client, two_shops, member):
    _speaking(client, member, "fa")
    html = client.get("/dashboard/loyalty/", {"range": "30d"}).content.decode()
    today = shop_today(shop=two_shops[0])
    assert f'name="end" value="{format_date(today, language="fa")}"' in html
    picker = html.split('class="period"')[1].split("</form>")[0]
    assert str(today.year) not in picker.replace(today.isoformat(), "")  # no Gregorian year but the ISO hint
