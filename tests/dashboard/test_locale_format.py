"""The one date convention per language (checked against what Chromium's Intl shows), digits, bidi."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.template import engines
from django.utils import translation

from retention_app import locale_format as lf


# The expected texts are what Chromium's Intl.DateTimeFormat(lang, {dateStyle}) prints, the widget's own.
@pytest.mark.parametrize(("day", "language", "medium", "short"), [
    (date(2026, 12, 7), "en", "Dec 7, 2026", "12/7/26"),
    (date(2026, 12, 7), "he", "7 בדצמ׳ 2026", "7.12.2026"),
    (date(2026, 12, 7), "fa", "۱۶ آذر ۱۴۰۵", "۱۴۰۵/۹/۱۶"),
    (date(2026, 3, 20), "fa", "۲۹ اسفند ۱۴۰۴", "۱۴۰۴/۱۲/۲۹"),
    (date(2026, 3, 21), "fa", "۱ فروردین ۱۴۰۵", "۱۴۰۵/۱/۱"),  # Nowruz
    (date(2025, 3, 20), "fa", "۳۰ اسفند ۱۴۰۳", "۱۴۰۳/۱۲/۳۰"),  # 1403 is a leap year
    (date(2024, 3, 20), "fa", "۱ فروردین ۱۴۰۳", "۱۴۰۳/۱/۱"),
    (date(2000, 1, 1), "fa", "۱۱ دی ۱۳۷۸", "۱۳۷۸/۱۰/۱۱"),
    (date(2000, 1, 1), "he", "1 בינו׳ 2000", "1.1.2000"),
])
def test_each_language_shows_its_calendar_as_the_widget_does(day, language, medium, short):
    assert lf.format_date(day, language=language) == medium
    assert lf.format_date(day, language=language, style="short") == short
    assert lf.format_date(day.isoformat(), language=language) == medium
    # and reads back what it wrote
    assert lf.parse_date(medium, language=language) == day
    assert lf.parse_date(short, language=language) == day


def test_long_dates_and_months():
    assert lf.format_date(date(2026, 12, 7), language="en", style="long") == "December 7, 2026"
    assert lf.format_date(date(2026, 12, 7), language="he", style="long") == "7 בדצמבר 2026"
    assert lf.format_month("2026-12", language="en") == "Dec 2026"
    assert lf.format_month("2026-04", language="he") == "אפר׳ 2026"
    assert lf.format_month(date(2026, 4, 1), language="fa") == "فروردین ۱۴۰۵"
    assert lf.format_month("2026-12", language="fa") == "آذر ۱۴۰۵"


def test_the_active_language_is_used_when_none_is_given():
    with translation.override("fa"):
        assert lf.format_date(date(2026, 12, 7)) == "۱۶ آذر ۱۴۰۵"
    with translation.override("he"):
        assert lf.format_date(date(2026, 12, 7)) == "7 בדצמ׳ 2026"
    assert lf.language_code("fa-IR") == "fa" and lf.language_code("he_IL") == "he"
    assert lf.language_code("de") == "en"


def test_date_and_time_in_the_shops_zone_with_its_name():
    moment = datetime(2026, 12, 7, 20, 31, tzinfo=UTC)  # 22:31 in Jerusalem (UTC+2 in winter)
    assert lf.format_datetime(moment, language="en", zone="Asia/Jerusalem") == "Dec 7, 2026, 10:31\u202fPM"
    assert lf.format_datetime(moment, language="he", zone="Asia/Jerusalem") == "7 בדצמ׳ 2026, 22:31"
    assert lf.format_datetime(moment, language="fa", zone="Asia/Jerusalem") == "۱۶ آذر ۱۴۰۵، ۲۲:۳۱"
    assert lf.format_datetime(moment, language="en", zone=ZoneInfo("Asia/Jerusalem"), with_zone=True) == (
        "Dec 7, 2026, 10:31\u202fPM (Israel Time)")
    assert lf.format_datetime(moment, language="he", zone="Asia/Jerusalem", with_zone=True).endswith("(שעון ישראל)")
    # past midnight in Tehran (UTC+3:30) it is already the next Persian day
    late = datetime(2026, 12, 7, 21, 0, tzinfo=UTC)
    assert lf.format_datetime(late, language="fa", zone="Asia/Tehran") == "۱۷ آذر ۱۴۰۵، ۰:۳۰"  # as Intl: H:mm
    assert lf.format_time(time(9, 5), language="fa") == "۹:۰۵"
    assert lf.zone_name("Asia/Tehran", language="fa") == "وقت ایران"
    assert lf.zone_name("UTC", language="he") == "UTC"
    assert lf.zone_label("Asia/Jerusalem", language="en") == "Israel Time (\u2068Asia/Jerusalem\u2069)"


def test_iso_is_always_accepted_in_any_digits():
    for language in lf.LANGUAGES:
        assert lf.parse_date("2026-12-07", language=language) == date(2026, 12, 7)
        assert lf.parse_date("۲۰۲۶-۱۲-۰۷", language=language) == date(2026, 12, 7)
        assert lf.parse_date("\u2068٢٠٢٦-١٢-٠٧\u2069", language=language) == date(2026, 12, 7)


@pytest.mark.parametrize(("text", "language", "expected"), [
    ("December 7 2026", "en", date(2026, 12, 7)),
    ("7 Dec 2026", "en", date(2026, 12, 7)),
    ("12/7/2026", "en", date(2026, 12, 7)),       # CLDR English: month first
    ("7/12/2026", "he", date(2026, 12, 7)),       # Hebrew: day first
    ("7 דצמבר 2026", "he", date(2026, 12, 7)),
    ("Dec 7, 2026", "he", date(2026, 12, 7)),     # English month names everywhere
    ("16 آذر 1405", "fa", date(2026, 12, 7)),
    ("1405/09/16", "fa", date(2026, 12, 7)),
    ("1405-09-16", "fa", date(2026, 12, 7)),      # a Persian year with ISO's dashes is still Persian
    ("16/9/1405", "fa", date(2026, 12, 7)),
    ("۷ دسامبر ۲۰۲۶", "fa", date(2026, 12, 7)),   # a Gregorian month name stays Gregorian
    ("2026/12/07", "fa", date(2026, 12, 7)),
])
def test_typed_dates_in_the_pages_convention(text, language, expected):
    assert lf.parse_date(text, language=language) == expected


@pytest.mark.parametrize(("text", "language"), [
    ("", "en"), ("yesterday", "en"), ("2026-02-30", "en"), ("13/13/2026", "en"), ("1405/12/30", "fa"),
    ("7 Foo 2026", "en"), ("7 2026", "he"), ("12/7", "en"),
])
def test_what_is_no_date_is_refused(text, language):
    with pytest.raises(ValueError):
        lf.parse_date(text, language=language)


def test_digits_and_isolation():
    assert lf.local_digits("#9003 · 2026", "fa") == "#۹۰۰۳ · ۲۰۲۶"
    assert lf.local_digits("#9003", "he") == "#9003"
    assert lf.latin_digits("۱۲۳٤٥") == "12345"
    assert lf.isolate("#9003") == "\u2068#9003\u2069"
    assert lf.isolate("") == lf.isolate(None) == ""


def test_templates_load_the_same_convention():
    source = ("{% load locale_format %}{{ day|local_date }}|{{ day|local_date:'short' }}|{{ month|local_month }}|"
              "{{ moment|local_datetime:'Asia/Jerusalem' }}|{{ code|isolate }}|{{ count|local_digits }}")
    template = engines["django"].from_string(source)
    context = {"day": date(2026, 12, 7), "month": "2026-12",
               "moment": datetime(2026, 12, 7, 20, 31, tzinfo=UTC), "code": "<b>#9003</b>", "count": 12}
    with translation.override("fa"):
        assert template.render(context) == (
            "۱۶ آذر ۱۴۰۵|۱۴۰۵/۹/۱۶|آذر ۱۴۰۵|۱۶ آذر ۱۴۰۵، ۲۲:۳۱ (وقت اسرائیل)|\u2068&lt;b&gt;#9003&lt;/b&gt;\u2069|۱۲")
    with translation.override("he"):
        assert template.render(context).startswith("7 בדצמ׳ 2026|7.12.2026|דצמ׳ 2026|7 בדצמ׳ 2026, 22:31 (שעון ישראל)|")
