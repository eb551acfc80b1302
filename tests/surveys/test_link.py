"""The emailed survey link: a signed, expiring token to a page in the shopper's language."""

import time
from datetime import timedelta
from unittest import mock
from urllib.parse import urlparse

import pytest

from surveys.models import Response
from surveys.services import LINK_MAX_AGE, survey_link
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


def path_of(link: str) -> str:
    return urlparse(link).path


def test_link_opens_the_form_in_the_shoppers_language_right_to_left(client, surveys, shop):
    customer = CustomerFactory(shop=shop, locale="he")
    link = survey_link(shop=shop, customer=customer, survey=surveys["nps"])
    assert link.startswith("http") and "/surveys/r/" in link
    response = client.get(path_of(link))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'lang="he" dir="rtl"' in html
    assert "עד כמה סביר שתמליצו עלינו לחבר או לעמית?" in html
    assert "שליחת התשובות" in html  # the submit button, translated
    assert html.count('type="radio" name="recommend"') == 11
    assert '<legend>' in html and '<label for="f-reason">' in html


def test_persian_page(client, surveys, shop):
    customer = CustomerFactory(shop=shop, locale="fa-IR")
    html = client.get(path_of(survey_link(shop=shop, customer=customer, survey=surveys["satisfaction"]))
                      ).content.decode()
    assert 'lang="fa" dir="rtl"' in html
    assert "آیا سفارش شما به موقع رسید؟" in html


def test_answering_through_the_link_then_coming_back(client, surveys, shop):
    customer = CustomerFactory(shop=shop, locale="en")
    order = OrderFactory(shop=shop, customer=customer)
    url = path_of(survey_link(shop=shop, customer=customer, survey=surveys["satisfaction"], order=order))
    # when
    done = client.post(url, {"met_expectations": "yes", "on_time": "no", "well_packed": "yes",
                             "comment": "The box was crushed"})
    # then
    assert done.status_code == 200
    assert "Thank you!" in done.content.decode()
    response = Response.objects.get()
    assert (response.customer_id, response.order_id, response.channel) == (customer.pk, order.pk, "email")
    again = client.get(url)
    assert "You have already answered this survey." in again.content.decode()
    client.post(url, {"met_expectations": "no", "on_time": "no", "well_packed": "no"})
    assert Response.objects.count() == 1


def test_invalid_answers_show_the_form_again_with_errors_and_store_nothing(client, surveys, shop):
    customer = CustomerFactory(shop=shop, locale="he")
    url = path_of(survey_link(shop=shop, customer=customer, survey=surveys["nps"]))
    response = client.post(url, {"reason": "no score given"})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'role="alert"' in html
    assert "נא לענות על השאלה הזו." in html  # "please answer this question", in Hebrew
    assert "no score given" in html  # what the shopper wrote is kept
    assert not Response.objects.exists()


def test_expired_link(client, surveys, shop):
    customer = CustomerFactory(shop=shop, locale="en")
    long_ago = time.time() - LINK_MAX_AGE.total_seconds() - timedelta(days=1).total_seconds()
    with mock.patch("django.core.signing.time.time", return_value=long_ago):
        url = path_of(survey_link(shop=shop, customer=customer, survey=surveys["nps"]))
    response = client.get(url)
    assert response.status_code == 410
    assert "This link has expired." in response.content.decode()
    assert client.post(url, {"recommend": "10"}).status_code == 410
    assert not Response.objects.exists()


def test_forged_link(client, surveys, shop):
    customer = CustomerFactory(shop=shop)
    url = path_of(survey_link(shop=shop, customer=customer, survey=surveys["nps"]))
    token = url.rsplit("/", 1)[1]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for bad in (f"/surveys/r/{forged}", "/surveys/r/not-a-token"):
        response = client.get(bad)
        assert response.status_code == 400
        assert "This link is not valid." in response.content.decode()
    assert client.post(f"/surveys/r/{forged}", {"recommend": "10"}).status_code == 400
    assert not Response.objects.exists()


def test_a_link_for_a_closed_survey(client, surveys, shop):
    customer = CustomerFactory(shop=shop)
    url = path_of(survey_link(shop=shop, customer=customer, survey=surveys["nps"]))
    surveys["nps"].is_active = False
    surveys["nps"].save()
    response = client.get(url)
    assert response.status_code == 410
    assert "This survey is closed." in response.content.decode()
