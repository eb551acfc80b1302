"""The widget designer: its choices save through the loyalty service and reach the shoppers' widget
(the app-proxy state); bad input is refused next to its field and saves nothing; the preview carries
the shop's real rewards in each language."""

import json
import re
from decimal import Decimal
from html import unescape
from typing import Any

import pytest
from django.test import Client

from loyalty.models import Reward, WidgetSettings
from loyalty.services.program import program_enable
from tests.loyalty.test_widget_api import signed

pytestmark = pytest.mark.django_db
URL = "/dashboard/settings/widget/"
SECTIONS = ("points", "ways_to_earn", "rewards", "tiers", "referrals", "surveys")


@pytest.fixture
def program(alpha: Any) -> Any:
    program_enable(shop=alpha)
    return alpha


def _post(**changes: Any) -> dict[str, Any]:
    """The designer's form as the browser sends it: every section on, no colour, with ``changes``."""
    data: dict[str, Any] = {"accent_color": "", "accent_text_color": "", "launcher_position": ""}
    data.update({f"show_{key}": "on" for key in SECTIONS})
    for language in ("en", "he", "fa"):
        data.update({f"texts.{language}.launcher_label": "", f"texts.{language}.title": "",
                     f"texts.{language}.welcome": ""})
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def _widget(client: Client, shop: Any, locale: str = "en") -> dict[str, Any]:
    return client.get(f"/proxy/loyalty?{signed(shop, locale=locale)}").json()["widget"]


def test_the_designer_changes_the_shoppers_widget(client_in: Client, program: Any) -> None:
    # given: nothing set; the widget follows the theme editor
    assert _widget(client_in, program)["accent_color"] is None
    # when: a colour, the left corner, a label in Hebrew and the referral section hidden
    response = client_in.post(URL, _post(**{"accent_color": "#0B6E4F", "launcher_position": "left",
                                            "texts.he.launcher_label": "הטבות", "texts.en.title": "Perks club",
                                            "show_referrals": None}))
    # then
    assert response.status_code == 302 and "saved=1" in response["Location"]
    hebrew = _widget(client_in, program, "he")
    assert (hebrew["accent_color"], hebrew["launcher_position"], hebrew["launcher_label"], hebrew["title"]) == (
        "#0b6e4f", "left", "הטבות", "Perks club")
    assert hebrew["sections"]["referrals"] is False and hebrew["sections"]["rewards"] is True
    # and the page shows what was saved
    page = client_in.get(URL).content.decode()
    assert 'value="#0b6e4f"' in page and 'value="הטבות"' in page
    assert re.search(r'name="show_referrals"[^>]*>', page) and not re.search(r'name="show_referrals"[^>]*checked', page)


def test_bad_input_is_explained_next_to_its_field_and_nothing_is_saved(client_in: Client, program: Any) -> None:
    response = client_in.post(URL, _post(**{"accent_color": "purple", "texts.fa.title": "ب" * 61}))
    assert response.status_code == 400
    page = response.content.decode()
    assert 'class="error-summary" role="alert"' in page
    assert "Enter a colour as #RRGGBB" in unescape(page)
    assert re.search(r'id="id_accent_color_error"', page)
    assert not WidgetSettings.objects.exists()
    assert _widget(client_in, program)["accent_color"] is None


def test_the_preview_carries_the_real_rewards_in_each_language(client_in: Client, program: Any) -> None:
    Reward.objects.filter(shop=program, points_cost=100).update(names={"fa": "۵ تخفیف"})
    page = client_in.get(URL).content.decode()
    states = json.loads(re.search(r'<script id="widget-preview-states" type="application/json">(.*?)</script>',
                                  page, re.S).group(1))
    assert set(states) == {"en", "he", "fa"}
    assert [r["name"] for r in states["fa"]["guest"]["rewards"]][0] == "۵ تخفیف"
    assert states["en"]["member"]["logged_in"] is True and states["en"]["guest"]["logged_in"] is False
    member_tier = states["en"]["member"]["tier"]
    assert (member_tier["name"], member_tier["next"], Decimal(member_tier["remaining"])) == ("Bronze", "Silver", 250)
    assert "/storefront/comeback-widget.js" in page  # the real widget draws the preview
    assert not WidgetSettings.objects.exists()  # the page's read writes nothing


def test_another_shops_settings_are_untouched(client_in: Client, program: Any, beta: Any) -> None:
    client_in.post(URL, _post(accent_color="#112233"))
    assert WidgetSettings.objects.get().shop_id == program.pk
    assert _widget(client_in, beta)["accent_color"] is None
