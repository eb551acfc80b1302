"""Every field that looks personal belongs to a registered eraser (or is allow-listed with a
reason), so a new model with an email, a name or a raw payload cannot be forgotten by
``customers/redact`` and ``shop/redact``."""

from django.apps import apps
from django.db import models
from django.test.utils import isolate_apps

from commerce.privacy import participant_list
from tests.privacy import declared, looks_personal, our_models, unregistered_personal_fields

OUR_APPS = {"commerce", "billing", "integrations", "loyalty", "campaigns", "analytics", "surveys", "segments",
            "dashboard", "woocommerce_platform"}


def test_every_app_with_models_joins_the_registry():
    # given the apps whose models the walk covers
    walked = {model._meta.app_label for model in our_models()}
    # then each of them (and only they) registered a participant
    assert walked == OUR_APPS
    assert {participant.name for participant in participant_list()} == OUR_APPS


def test_every_personal_field_belongs_to_a_registered_eraser():
    assert unregistered_personal_fields(our_models()) == []


def test_declarations_name_real_fields_and_allow_list_entries_give_a_reason():
    personal, allowed = declared()
    for name in personal | set(allowed):
        app_label, model_name, field_name = name.split(".")
        assert apps.get_model(app_label, model_name)._meta.get_field(field_name), name
    assert not personal & set(allowed)
    assert all(len(reason) > 10 for reason in allowed.values())


@isolate_apps("loyalty")
def test_a_new_model_with_an_email_field_fails_the_walk():
    # given a model nobody registered, as a new feature would add it
    class Newsletter(models.Model):  # noqa: DJ008 - a throwaway model
        shop_id = models.IntegerField()
        email = models.EmailField()
        signup_ip = models.GenericIPAddressField()
        note = models.TextField()
        points = models.IntegerField()

        class Meta:
            app_label = "loyalty"

    # then its personal fields are reported, and only those
    assert unregistered_personal_fields([Newsletter]) == [
        "loyalty.Newsletter.email", "loyalty.Newsletter.note", "loyalty.Newsletter.signup_ip",
    ]


@isolate_apps("loyalty")
def test_the_heuristics_see_names_addresses_and_payloads_but_not_amounts_or_counts():
    class Anything(models.Model):  # noqa: DJ008 - a throwaway model
        first_name = models.CharField(max_length=10)
        billing_address1 = models.CharField(max_length=10)
        phone = models.CharField(max_length=10)
        raw = models.BinaryField()
        extra = models.JSONField()
        total = models.DecimalField(max_digits=5, decimal_places=2)
        status = models.CharField(max_length=10)
        referral_ip_weekly_limit = models.IntegerField()

        class Meta:
            app_label = "loyalty"

    assert [field.name for field in Anything._meta.get_fields() if looks_personal(field)] == [
        "first_name", "billing_address1", "phone", "raw", "extra",
    ]
