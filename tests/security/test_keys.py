"""No public keys: development generates its own under var/, the repository's old key is refused.

The settings are loaded in a fresh interpreter (as ``manage.py`` would load them) with a chosen
environment; the links are forged with the old development key the way an attacker reading the
repository would, with ``django.core.signing`` and ``key=``.
"""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core import signing
from django.core.management import CommandError, call_command
from django.test import override_settings

from campaigns.services.email import UNSUBSCRIBE_SALT, unsubscribe_token
from commerce.models import ConsentChange, MarketingConsent, Shop
from retention_app.keys import PUBLIC_ENCRYPTION_KEYS, PUBLIC_SECRET_KEYS, derived_encryption_key
from surveys.models import Response, Survey
from surveys.selectors import survey_list
from surveys.services import LINK_SALT, survey_link
from tests.factories import CustomerFactory, ShopFactory

ROOT = Path(__file__).resolve().parents[2]
OLD_KEY = "insecure-development-key-do-not-use-in-production"  # in the repository until issue 11
PRINT_KEYS = ("import json; from django.conf import settings; "
              "print(json.dumps([settings.SECRET_KEY, settings.FIELD_ENCRYPTION_KEYS]))")
PRODUCTION_ENV = {"DEBUG": "0", "SHOPIFY_API_KEY": "key", "SHOPIFY_API_SECRET": "secret-" + "x" * 40,
                  "APP_URL": "https://comeback.example", "ALLOWED_HOSTS": "comeback.example",
                  "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/comeback", "CELERY_BROKER_URL": "redis://127.0.0.1/0"}


def load_settings(module: str, var_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items()
             if key not in {"SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "DEBUG", "DATABASE_URL", "CELERY_BROKER_URL"}}
    clean.update({"DJANGO_SETTINGS_MODULE": module, "VAR_DIR": str(var_dir), **env})
    return subprocess.run([sys.executable, "-c", PRINT_KEYS], cwd=ROOT, env=clean, capture_output=True, text=True,
                          timeout=120)


def keys_of(result: subprocess.CompletedProcess[str]) -> tuple[str, list[str]]:
    assert result.returncode == 0, result.stderr[-2000:]
    secret_key, encryption_keys = json.loads(result.stdout.strip().splitlines()[-1])
    return secret_key, encryption_keys


def test_development_generates_its_keys_once_under_var_private_and_reuses_them(tmp_path):
    # when: a first start with nothing in the environment (DEBUG on by default)
    first = keys_of(load_settings("retention_app.settings.base", tmp_path))
    # then
    secrets_file = tmp_path / "secrets.json"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert json.loads(secrets_file.read_text()) == {"secret_key": first[0], "encryption_key": first[1][0]}
    assert first[0] not in PUBLIC_SECRET_KEYS and len(first[0]) >= 50
    Fernet(first[1][0].encode())  # a real Fernet key, not derived from anything public
    assert first[1][0] not in PUBLIC_ENCRYPTION_KEYS
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".secrets")]  # no temporary left
    # a restart keeps them (sessions and encrypted tokens survive); another var/ gets others
    assert keys_of(load_settings("retention_app.settings.base", tmp_path)) == first
    other = keys_of(load_settings("retention_app.settings.base", tmp_path / "other"))
    assert other[0] != first[0] and other[1] != first[1]


def test_environment_keys_win_over_var(tmp_path):
    keys_of(load_settings("retention_app.settings.base", tmp_path))
    fernet_key = Fernet.generate_key().decode()
    secret_key, encryption_keys = keys_of(load_settings(
        "retention_app.settings.base", tmp_path, SECRET_KEY="s" * 60, FIELD_ENCRYPTION_KEYS=fernet_key))
    assert (secret_key, encryption_keys) == ("s" * 60, [fernet_key])
    # only SECRET_KEY set: the encryption key is derived from it (not from var/)
    assert keys_of(load_settings("retention_app.settings.base", tmp_path, SECRET_KEY="s" * 60)) == (
        "s" * 60, [derived_encryption_key("s" * 60)])


@pytest.mark.parametrize(("module", "debug"), [("retention_app.settings.base", "1"),
                                               ("retention_app.settings.base", "0"),
                                               ("retention_app.settings.production", "0")])
def test_the_old_public_key_is_refused_as_secret_key_and_as_encryption_key(tmp_path, module, debug):
    env = {**PRODUCTION_ENV, "DEBUG": debug}
    good_fernet = Fernet.generate_key().decode()
    # the old SECRET_KEY
    refused = load_settings(module, tmp_path, **env, SECRET_KEY=OLD_KEY, FIELD_ENCRYPTION_KEYS=good_fernet)
    assert refused.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is a public development value" in refused.stderr
    # the encryption key derived from it (what the demo used), alone or among rotated keys
    for keys in (derived_encryption_key(OLD_KEY), f"{good_fernet},{derived_encryption_key(OLD_KEY)}"):
        refused = load_settings(module, tmp_path, **env, SECRET_KEY="r" * 60, FIELD_ENCRYPTION_KEYS=keys)
        assert refused.returncode != 0
        assert "ImproperlyConfigured: FIELD_ENCRYPTION_KEYS holds the key derived from the public" in refused.stderr
    # the same settings with random keys start
    assert keys_of(load_settings(module, tmp_path, **env, SECRET_KEY="r" * 60, FIELD_ENCRYPTION_KEYS=good_fernet))


def test_production_refuses_to_start_without_its_keys(tmp_path):
    refused = load_settings("retention_app.settings.production", tmp_path, **PRODUCTION_ENV, SECRET_KEY="r" * 60)
    assert refused.returncode != 0
    assert "production settings need these environment variables: FIELD_ENCRYPTION_KEYS" in refused.stderr
    refused = load_settings("retention_app.settings.production", tmp_path, **PRODUCTION_ENV)
    assert refused.returncode != 0 and "SECRET_KEY must be set when DEBUG is off" in refused.stderr
    assert not (tmp_path / "secrets.json").exists()  # production never writes development keys


def test_the_test_run_has_random_keys():
    assert settings.SECRET_KEY not in PUBLIC_SECRET_KEYS
    assert not set(settings.FIELD_ENCRYPTION_KEYS) & PUBLIC_ENCRYPTION_KEYS


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unsubscribe_link_signed_with_the_old_key_is_refused_and_changes_nothing(client, method):
    customer = CustomerFactory(email_consent=MarketingConsent.SUBSCRIBED)
    forged = signing.dumps({"c": customer.pk, "ch": "email"}, key=OLD_KEY, salt=UNSUBSCRIBE_SALT)
    # when
    response = getattr(client, method)(f"/u/{forged}")
    # then
    assert response.status_code == 400
    assert "not valid" in response.content.decode() or "invalid" in response.content.decode().lower()
    customer.refresh_from_db()
    assert customer.email_consent == MarketingConsent.SUBSCRIBED
    assert not ConsentChange.objects.exists()
    # the genuine link (this installation's key) works: the refusal is the key's doing
    assert client.post(f"/u/{unsubscribe_token(customer)}").status_code == 200
    customer.refresh_from_db()
    assert customer.email_consent == MarketingConsent.UNSUBSCRIBED


@pytest.mark.django_db
def test_a_survey_link_signed_with_the_old_key_is_refused_and_stores_no_answer(client):
    shop = ShopFactory()
    customer = CustomerFactory(shop=shop, locale="en")
    survey = next(survey for survey in survey_list(shop=shop) if survey.key == "nps")
    Survey.objects.filter(pk=survey.pk).update(is_active=True)
    forged = signing.TimestampSigner(key=OLD_KEY, salt=LINK_SALT).sign_object(
        {"s": shop.pk, "c": customer.pk, "v": survey.pk, "o": None})
    # when
    shown = client.get(f"/surveys/r/{forged}")
    posted = client.post(f"/surveys/r/{forged}", {"recommend": "10", "reason": "forged"})
    # then
    assert shown.status_code == 400 and posted.status_code == 400
    assert "This link is not valid." in posted.content.decode()
    assert not Response.objects.exists()
    genuine = survey_link(shop=shop, customer=customer, survey=survey).removeprefix(settings.APP_URL)
    assert client.post(genuine, {"recommend": "10"}).status_code == 200
    assert Response.objects.count() == 1


@pytest.mark.django_db
def test_demo_on_a_database_encrypted_with_another_key_says_to_run_make_clean():
    # given: a var/ database whose shop token was encrypted with the old derived development key
    with override_settings(FIELD_ENCRYPTION_KEYS=[derived_encryption_key(OLD_KEY)]):
        ShopFactory(domain="demo-store.myshopify.com", access_token="shpat_from_before")
    assert Shop.objects.count() == 1
    # when / then: a clear message instead of a traceback halfway through the install
    with pytest.raises(CommandError, match=r"old public development key.*Run `make clean`"):
        call_command("demo", "--exit-after-install", "--port", "1")
    assert Shop.objects.count() == 1  # nothing was touched


@pytest.mark.parametrize("variable", ["SHOPIFY_API_SECRET", "SHOPIFY_API_SECRET_PREVIOUS"])
def test_production_refuses_the_repositorys_shopify_secrets(tmp_path, variable):
    # the development default: whoever knows it signs webhooks, proxy requests and session tokens
    refused = load_settings("retention_app.settings.production", tmp_path, **{
        **PRODUCTION_ENV, "SECRET_KEY": "r" * 60, "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        variable: "comeback-dev-secret"})
    assert refused.returncode != 0
    assert "SHOPIFY_API_SECRET (or SHOPIFY_API_SECRET_PREVIOUS) is a development" in refused.stderr
