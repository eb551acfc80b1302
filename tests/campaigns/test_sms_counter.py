"""The SMS character and segment counter (GSM-7 / UCS-2), the merchant's own text per language, and
the count recorded when the text is sent."""

import json
from datetime import UTC, datetime

import pytest

from campaigns.models import FlowStep, Message
from campaigns.services.engine import enrol, run_due
from campaigns.services.flows import flow_edit, flow_enable
from campaigns.services.sms import sms_count, text_count
from commerce.models import Customer
from retention_app.errors import ApplicationError
from tests.factories import ShopFactory

NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # 15:00 in Jerusalem: outside quiet hours


# --- the counter -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "encoding", "units", "segments", "remaining"), [
    ("", "GSM-7", 0, 0, 160),
    ("a" * 160, "GSM-7", 160, 1, 0),
    ("a" * 161, "GSM-7", 161, 2, 145),  # 153 + 8
    ("a" * 306, "GSM-7", 306, 2, 0),
    ("a" * 307, "GSM-7", 307, 3, 152),
    ("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà", "GSM-7", 42, 1, 118),  # the basic table's accents, one each
    ("€" * 80, "GSM-7", 160, 1, 0),  # the extension table counts two
    ("€" * 81, "GSM-7", 162, 2, 143),
    ("{[~]}|^\\", "GSM-7", 16, 1, 144),
    ("שלום", "UCS-2", 4, 1, 66),
    ("ש" * 70, "UCS-2", 70, 1, 0),
    ("ש" * 71, "UCS-2", 71, 2, 63),  # 67 + 4
    ("ش" * 134, "UCS-2", 134, 2, 0),
    ("ش" * 135, "UCS-2", 135, 3, 66),
    ("😀" * 35, "UCS-2", 70, 1, 0),  # outside the BMP: a surrogate pair, two units
])
def test_the_counter_follows_gsm_7_and_ucs_2(text, encoding, units, segments, remaining):
    count = sms_count(text=text)
    assert (count.encoding, count.units, count.segments, count.remaining) == (encoding, units, segments, remaining)
    assert count.characters == len(text)


def test_one_character_outside_gsm_7_makes_the_whole_text_ucs_2():
    # a Latin text of 100 characters is one GSM-7 segment...
    assert sms_count(text="a" * 100).segments == 1
    # ...but a typographic apostrophe turns it into two UCS-2 segments, and says which character did it
    count = sms_count(text="a" * 98 + "’s")
    assert (count.encoding, count.segments, count.per_segment, count.non_gsm) == ("UCS-2", 2, 67, ("’",))


def test_an_extension_character_is_not_split_across_segments():
    # 152 septets, then "€" (two): 154 fit one segment of 160
    assert sms_count(text="a" * 152 + "€").segments == 1
    # 161 septets: multipart; 152 + the escape pair would straddle 153, so "€" starts segment 2 (2 + 7)
    count = sms_count(text="a" * 152 + "€" + "b" * 7)
    assert (count.units, count.segments, count.remaining) == (161, 2, 153 - 9)


def test_a_surrogate_pair_is_not_split_across_segments():
    count = sms_count(text="ש" * 66 + "😀" + "ש" * 3)  # 66 + 2 + 3 = 71 units
    assert (count.units, count.segments, count.remaining) == (71, 2, 67 - 5)


# --- the merchant's text per language ---------------------------------------------------------------

@pytest.fixture
def shop(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.SMS_PROVIDER = "sandbox"
    return ShopFactory(timezone="Asia/Jerusalem", locale="en", name="Shira")


@pytest.fixture
def sms_flow(shop):
    flow = flow_enable(shop=shop, key="winback")
    FlowStep.objects.filter(flow=flow).update(action="send_sms", config={})
    return flow


def sms_steps(texts: dict) -> list[dict]:
    return [{"delay_minutes": 0, "action": "send_sms", "template": "winback",
             "conditions": {"no_order_since_enrolment": True}, "config": {"texts": texts}}]


def member(shop, language: str) -> Customer:
    return Customer.objects.create(shop=shop, platform_id=f"c-{language}", first_name="Noa", locale=language,
                                   phone="+972501234567", sms_consent="subscribed")


def test_the_merchants_text_is_sent_in_the_shoppers_language_and_its_segments_recorded(shop, sms_flow, tmp_path):
    # given a Hebrew text for the win-back SMS (English keeps the template)
    flow_edit(shop=shop, key="winback", steps=sms_steps({"he": "{first_name}, התגעגענו! חזרי ל-{shop}", "en": " "}))
    hebrew, english = member(shop, "he"), member(shop, "en")
    enrol(flow=sms_flow.__class__.objects.get(pk=sms_flow.pk), customer=hebrew, trigger_key="he", at=NOON)
    enrol(flow=sms_flow.__class__.objects.get(pk=sms_flow.pk), customer=english, trigger_key="en", at=NOON)
    # when the scheduler runs
    assert [outcome.status for outcome in run_due(now=NOON)] == ["sent", "sent"]
    # then the Hebrew shopper gets the merchant's words with the opt-out sentence in Hebrew
    bodies = {json.loads(line)["body"] for file in (tmp_path / "sms").glob("*.jsonl")
              for line in file.read_text().splitlines()}
    hebrew_body = next(body for body in bodies if body.startswith("Noa, התגעגענו"))
    assert hebrew_body.startswith("Noa, התגעגענו! חזרי ל-Shira ")
    assert "STOP" in hebrew_body and hebrew_body != "Noa, התגעגענו! חזרי ל-Shira"
    assert any(body.startswith("Shira: we miss you, Noa!") for body in bodies)  # the template, in English
    # and each message records the segments the counter gives for exactly what was sent
    for message in Message.objects.all():
        body = next(body for body in bodies if body[:300] == message.subject)
        assert message.segments == sms_count(text=body).segments >= 1
    assert Message.objects.get(customer=hebrew).segments == sms_count(text=hebrew_body).segments


def test_the_count_of_a_text_includes_the_opt_out_sentence(shop):
    plain = text_count(shop=shop, text="a" * 150, language="en", is_marketing=False)
    marketing = text_count(shop=shop, text="a" * 150, language="en", is_marketing=True)
    assert (plain.units, plain.segments) == (150, 1)
    assert marketing.units == 150 + 1 + len("Reply STOP to opt out.") and marketing.segments == 2


@pytest.mark.parametrize(("texts", "field", "says"), [
    ({"de": "Hallo"}, "steps[0].config.texts.de", "unknown language"),
    ({"en": "Hi {firstname}"}, "steps[0].config.texts.en", "unknown placeholder {firstname}"),
    ({"he": "ש" * 700}, "steps[0].config.texts.he", "11 SMS segments; at most 10"),
    ({"en": 5}, "steps[0].config.texts.en", "must be text"),
])
def test_a_bad_text_is_refused_and_nothing_changes(shop, sms_flow, texts, field, says):
    with pytest.raises(ApplicationError) as refused:
        flow_edit(shop=shop, key="winback", steps=sms_steps(texts))
    assert refused.value.extra["field"] == field and says in refused.value.message
    assert sms_flow.__class__.objects.get(pk=sms_flow.pk).version == 1


def test_empty_texts_make_no_version(shop, sms_flow):
    current = FlowStep.objects.get(flow=sms_flow)
    same = [{"delay_minutes": 0, "action": "send_sms", "template": "winback", "conditions": current.conditions,
             "config": {"texts": {"he": "  ", "fa": ""}}}]
    assert flow_edit(shop=shop, key="winback", steps=same).version == 1
