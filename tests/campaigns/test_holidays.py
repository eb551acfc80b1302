"""Holiday greetings people would accept: only occasions worth a greeting, on the right day (the
eve of a Jewish holiday), in the shopper's language, once per occasion and year."""

import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from campaigns.models import Enrolment, FlowStep, Message, ScheduledStep
from campaigns.services.engine import enrol, run_due
from campaigns.services.flows import flow_edit, flow_enable, flow_preview
from campaigns.services.holidays import catalogue, greetings, holiday_scan, plan
from commerce.models import Customer
from tests.factories import ShopFactory
from tests.integrations.test_oauth import session_token

ROOT = Path(__file__).resolve().parents[2]
MOURNING = ("tasua", "ashura", "arbaeen", "martyrdom", "death", "tisha", "remembrance", "zikaron", "shoah", "memorial")


def by_key(rows: list[dict]) -> dict[str, dict]:
    return {row["key"]: row for row in rows}


def test_iran_2026_greets_nowruz_and_eid_and_never_a_day_of_mourning():
    rows = plan(calendar="IR", year=2026)
    found = by_key(rows)
    assert found["nowruz"]["date"] in ("2026-03-20", "2026-03-21")
    assert (found["nowruz"]["name"], found["eid_al_fitr"]["name"]) == ("Nowruz", "Eid al-Fitr")
    assert found["nowruz"]["subject"].startswith("Nowruz Mobarak")
    assert found["shab_e_yalda"]["date"] == "2026-12-21"  # 30 Azar 1405
    assert {"sizdah_bedar", "eid_al_adha"} <= set(found)
    for row in rows:
        assert not any(word in f"{row['key']} {row['name']} {row['subject']}".lower() for word in MOURNING), row
    persian = by_key(plan(calendar="IR", year=2026, language="fa"))
    assert (persian["nowruz"]["name"], persian["nowruz"]["subject"]) == ("نوروز", "نوروز مبارک! سال نو خجسته باد!")
    assert persian["eid_al_fitr"]["name"] == "عید فطر"


def test_israel_2026_greets_on_the_eve_and_never_on_a_day_of_remembrance():
    rows = plan(calendar="IL", year=2026)
    found = by_key(rows)
    assert found["rosh_hashanah"]["date"] == "2026-09-11"  # Rosh Hashanah is 12 September: the eve
    assert found["rosh_hashanah"]["subject"].startswith("Shana Tova")
    assert (found["yom_kippur"]["date"], found["yom_kippur"]["subject"]) == (
        "2026-09-20", "Gmar Chatima Tova: wishing you an easy fast")
    assert found["sukkot"]["date"] == "2026-09-25"
    assert found["hanukkah"]["date"] == "2026-12-04" and found["hanukkah"]["subject"].startswith("Hanukkah Sameach")
    assert found["purim"]["date"] == "2026-03-02" and found["purim"]["subject"].startswith("Purim Sameach")
    assert found["pesach"]["date"] == "2026-04-01"
    assert found["shavuot"]["date"] == "2026-05-21"
    assert found["independence_day"]["date"] == "2026-04-22"  # on the day: its eve is Yom HaZikaron
    for row in rows:
        assert not any(word in f"{row['key']} {row['name']}".lower() for word in MOURNING), row
    assert [row["date"] for row in rows] == sorted(row["date"] for row in rows)
    hebrew = by_key(plan(calendar="IL", year=2026, language="he"))
    assert (hebrew["hanukkah"]["name"], hebrew["hanukkah"]["subject"]) == ("חנוכה", "חנוכה שמח!")
    assert hebrew["yom_kippur"]["subject"].startswith("גמר חתימה טובה")


def test_any_country_greets_its_public_holidays_but_not_days_of_remembrance():
    us = by_key(plan(calendar="US", year=2026))
    assert us["thanksgiving_day"]["date"] == "2026-11-26"
    assert us["independence_day"]["date"] == "2026-07-04"  # not the observed Friday
    assert "memorial_day" not in us
    gb = by_key(plan(calendar="gb", year=2026))
    assert "christmas_day" in gb and "good_friday" not in gb


def test_every_catalogued_occasion_is_found_in_the_library():
    """A renamed holiday in a new `holidays` release would silently drop a greeting."""
    for calendar in ("IL", "IR"):
        for key in catalogue(calendar=calendar):
            found = [greeting for year in (2025, 2026, 2027)
                     for greeting in greetings(calendar=calendar, year=year, chosen={key: {}})]
            assert found, f"{calendar} {key}"


def test_a_moved_holiday_is_greeted_on_the_day_it_is_kept_and_a_substitute_day_is_not():
    # Israel moved Independence Day 2024 to 14 May (the library lists only the "observed" day)
    assert by_key(plan(calendar="IL", year=2024))["independence_day"]["date"] == "2024-05-14"
    # Christmas 2021 was a Saturday: greeted on the 25th, not on Friday's day off
    assert [row["date"] for row in plan(calendar="US", year=2021) if row["key"] == "christmas_day"] == ["2021-12-25"]


def test_the_command_prints_the_plan_as_json_for_scripts():
    out = StringIO()
    call_command("holidays", calendar="IL", year=2026, language="he", format="json", stdout=out)
    rows = json.loads(out.getvalue())
    assert all(set(row) == {"date", "key", "name", "subject"} for row in rows)
    assert [row["date"] for row in rows] == sorted(row["date"] for row in rows)
    assert {"date": "2026-09-11", "key": "rosh_hashanah", "name": "ראש השנה", "subject": "שנה טובה ומתוקה!"} in rows
    with pytest.raises(CommandError, match="unknown calendar"):
        call_command("holidays", calendar="Narnia", year=2026, stdout=StringIO())
    with pytest.raises(CommandError, match="unknown language"):
        call_command("holidays", calendar="IR", year=2026, language="de", stdout=StringIO())


def test_the_command_from_the_shell_prints_only_json_or_fails_clearly():
    run = [sys.executable, "manage.py", "holidays", "--year", "2026", "--format", "json"]
    done = subprocess.run([*run, "--calendar", "IR", "--language", "fa"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=True)
    rows = json.loads(done.stdout)
    assert rows[0] == {"date": "2026-03-21", "key": "nowruz", "name": "نوروز",
                       "subject": "نوروز مبارک! سال نو خجسته باد!"}
    refused = subprocess.run([*run, "--calendar", "XX"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and refused.stdout == "" and "unknown calendar" in refused.stderr


# --- the flow, through the real scan and scheduler ------------------------------------------------

@pytest.fixture
def jerusalem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return ShopFactory(timezone="Asia/Jerusalem", locale="en", name="Shira Cosmetics")


@pytest.fixture
def tehran(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return ShopFactory(timezone="Asia/Tehran", locale="fa", name="Golrang")


def shopper(shop, locale: str, **fields) -> Customer:
    return Customer.objects.create(shop=shop, platform_id="c1", email="noa@example.com", first_name="Noa",
                                   email_consent="subscribed", locale=locale, **fields)


@pytest.mark.django_db
def test_three_jewish_holidays_within_a_month_each_greet_on_their_eve(jerusalem):
    flow = flow_enable(shop=jerusalem, key="holiday_greetings")  # the preset: IL, its default set
    noa = shopper(jerusalem, "en")
    # the daily job on the day before enrols the eve's greeting ahead, at 10:00 in Jerusalem
    assert holiday_scan(flow=flow, now=datetime(2026, 9, 10, 5, 0, tzinfo=UTC)) == 1
    [step] = ScheduledStep.objects.filter(enrolment__customer=noa)
    assert step.due_at == datetime(2026, 9, 11, 7, 0, tzinfo=UTC)
    assert run_due(now=datetime(2026, 9, 10, 12, 0, tzinfo=UTC)) == []
    for eve in (date(2026, 9, 11), date(2026, 9, 20), date(2026, 9, 25)):  # Rosh Hashanah, Yom Kippur, Sukkot
        morning = datetime(eve.year, eve.month, eve.day, 5, 0, tzinfo=UTC)
        holiday_scan(flow=flow, now=morning)
        assert holiday_scan(flow=flow, now=morning + timedelta(hours=2)) == 0  # once per occasion and year
        assert [outcome.status for outcome in run_due(now=morning + timedelta(hours=2, minutes=5))] == ["sent"]
    assert [message.subject for message in mail.outbox] == [
        "Shana Tova! Wishing you a sweet new year!", "Gmar Chatima Tova: wishing you an easy fast",
        "Chag Sameach! Happy Sukkot!"]
    assert "Warm wishes for Sukkot from all of us at Shira Cosmetics." in mail.outbox[2].body
    assert sorted(Enrolment.objects.filter(flow=flow).values_list("trigger_key", flat=True)) == sorted(
        f"holiday:{key}:2026:{noa.pk}" for key in ("rosh_hashanah", "yom_kippur", "sukkot"))
    # nothing on Yom Kippur itself, nor on Tisha B'Av or Yom HaZikaron
    for quiet in (datetime(2026, 9, 21, 5, tzinfo=UTC), datetime(2026, 7, 22, 5, tzinfo=UTC),
                  datetime(2026, 4, 20, 5, tzinfo=UTC)):
        assert holiday_scan(flow=flow, now=quiet) == 0


@pytest.mark.django_db
def test_nowruz_and_eid_al_fitr_on_one_day_are_one_greeting_in_persian(tehran):
    flow_enable(shop=tehran, key="holiday_greetings")
    flow = flow_edit(shop=tehran, key="holiday_greetings", settings={"calendars": ["IR"]})
    sara = shopper(tehran, "fa")
    morning = datetime(2026, 3, 21, 4, 0, tzinfo=UTC)  # 07:30 in Tehran
    assert holiday_scan(flow=flow, now=morning - timedelta(days=1)) == 1  # the day before: ahead
    assert Enrolment.objects.get(flow=flow).trigger_key == f"holiday:nowruz+eid_al_fitr:2026:{sara.pk}"
    # the merchant drops Eid al-Fitr on the eve: Sara, greeted for the day already, is not greeted twice
    flow = flow_edit(shop=tehran, key="holiday_greetings", settings={"occasions": {"IR": {"nowruz": {}}}})
    assert holiday_scan(flow=flow, now=morning) == 0
    assert [outcome.status for outcome in run_due(now=morning + timedelta(hours=3))] == ["sent"]
    [sent] = mail.outbox
    assert sent.subject == "نوروز مبارک! سال نو خجسته باد! عید فطر مبارک!"
    assert "نوروز و عید فطر" in sent.body
    # the martyrdom of Imam Ali (11 March 2026) and Ashura (25 June) are not greeted
    assert holiday_scan(flow=flow, now=datetime(2026, 3, 10, 4, tzinfo=UTC)) == 0
    assert holiday_scan(flow=flow, now=datetime(2026, 6, 24, 4, tzinfo=UTC)) == 0
    assert Message.objects.filter(customer=sara).count() == 1


@pytest.mark.django_db
def test_the_merchants_chosen_occasions_day_and_hour_are_honoured(tehran, client):
    flow = flow_enable(shop=tehran, key="holiday_greetings")
    sara = shopper(tehran, "fa")
    headers = {"Authorization": f"Bearer {session_token(tehran.domain)}"}
    chosen = {"calendars": ["ir"], "occasions": {"IR": {"nowruz": {"hour": 12}, "fathers_day": {"offset_days": -1}}}}
    response = client.put("/api/campaigns/flows/holiday_greetings", {"settings": chosen},
                          content_type="application/json", headers=headers)
    assert response.status_code == 200, response.content
    assert response.json()["settings"]["calendars"] == ["IR"]
    flow.refresh_from_db()
    # what the merchant chose from, and the year's greetings of that choice
    overview = client.get("/api/campaigns/holidays", {"calendar": "IR", "year": 2026, "language": "fa"},
                          headers=headers).json()
    occasions = by_key(overview["occasions"])
    assert occasions["eid_al_fitr"]["default"] and not occasions["eid_al_fitr"]["chosen"]
    assert (occasions["fathers_day"]["chosen"], occasions["fathers_day"]["offset_days"]) == (True, -1)
    assert occasions["nowruz"]["hour"] == 12 and "ashura" not in occasions
    assert [(row["date"], row["key"]) for row in overview["plan"]] == [
        ("2026-01-02", "fathers_day"), ("2026-03-21", "nowruz"), ("2026-12-22", "fathers_day")]
    # Nowruz at noon in Tehran; Eid al-Fitr, on the same day, was not chosen
    assert holiday_scan(flow=flow, now=datetime(2026, 3, 21, 4, 0, tzinfo=UTC)) == 1
    enrolment = Enrolment.objects.get(flow=flow)
    assert enrolment.trigger_key == f"holiday:nowruz:2026:{sara.pk}"
    assert enrolment.enrolled_at == datetime(2026, 3, 21, 8, 30, tzinfo=UTC)
    # Father's Day (the birthday of Imam Ali, 3 January 2026), a day early as the merchant chose
    assert holiday_scan(flow=flow, now=datetime(2026, 1, 3, 5, 0, tzinfo=UTC)) == 0
    assert holiday_scan(flow=flow, now=datetime(2026, 1, 2, 5, 0, tzinfo=UTC)) == 1
    run_due(now=datetime(2026, 1, 2, 8, 0, tzinfo=UTC))
    assert [message.subject for message in mail.outbox] == ["روز پدر مبارک!"]
    # a day of mourning, an unknown calendar or an hour in the night is refused, naming the field
    for settings, field in [({"occasions": {"IR": {"ashura": {}}}}, "settings.occasions.IR.ashura"),
                            ({"calendars": ["XX"]}, "settings.calendars[0]"),
                            ({"occasions": {"IR": {"nowruz": {"hour": 23}}}}, "settings.occasions.IR.nowruz.hour")]:
        refused = client.put("/api/campaigns/flows/holiday_greetings", {"settings": settings},
                             content_type="application/json", headers=headers)
        assert refused.status_code == 400 and field in refused.content.decode(), refused.content


@pytest.mark.django_db
def test_a_holiday_sms_carries_the_greeting_in_the_shoppers_language(jerusalem, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.SMS_PROVIDER = "sandbox"
    flow = flow_enable(shop=jerusalem, key="holiday_greetings")
    flow_edit(shop=jerusalem, key="holiday_greetings", steps=[{"action": "send_sms", "template": "holiday"}])
    flow.refresh_from_db()
    Customer.objects.create(shop=jerusalem, platform_id="c1", first_name="Noa", phone="+972-50-123-4567",
                            sms_consent="subscribed", locale="he")
    morning = datetime(2026, 12, 4, 6, 0, tzinfo=UTC)  # the eve of Hanukkah
    assert holiday_scan(flow=flow, now=morning) == 1
    assert [outcome.status for outcome in run_due(now=morning + timedelta(hours=3))] == ["sent"]
    [line] = [json.loads(line) for file in (tmp_path / "sms").glob("*.jsonl") for line in file.read_text().splitlines()]
    assert line["body"].startswith("Shira Cosmetics: חנוכה שמח!") and "STOP" in line["body"]
    assert FlowStep.objects.filter(flow=flow, version=flow.version, action="send_sms").exists()


@pytest.mark.django_db
def test_a_greeting_scheduled_by_the_old_calendar_for_a_day_of_mourning_is_skipped(tehran):
    # given: an enrolment the old calendar made for the martyrdom of Imam Ali (before this change)
    flow = flow_enable(shop=tehran, key="holiday_greetings")
    sara = shopper(tehran, "fa")
    at = datetime(2026, 3, 11, 7, 0, tzinfo=UTC)
    enrol(flow=flow, customer=sara, trigger_key=f"holiday:Martyrdom of Imam Ali:2026:{sara.pk}", at=at,
          context={"holiday": "Martyrdom of Imam Ali", "holiday_date": "2026-03-11", "holiday_country": "IR"})
    # when: it is due
    [outcome] = run_due(now=at)
    # then: nothing is sent, and the reason says why
    assert outcome.status == "skipped" and "not a day for greetings" in outcome.reason
    assert mail.outbox == []


@pytest.mark.django_db
def test_the_preview_shows_the_next_greeting_in_the_shoppers_language(jerusalem):
    flow_enable(shop=jerusalem, key="holiday_greetings")
    noa = shopper(jerusalem, "he")
    [step] = flow_preview(shop=jerusalem, key="holiday_greetings", customer=noa,
                          now=datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    assert step["subject"] == "חנוכה שמח!" and "חנוכה" in step["text"]
    assert Enrolment.objects.count() == 0 and mail.outbox == []
