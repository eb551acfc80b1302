"""The plugin's PHP against the app's Python: every PHP file parses (``php -l``), and what the
plugin signs and sends is what the app reads and verifies, for awkward query strings."""

import json
import shutil
import subprocess
import urllib.parse
from pathlib import Path

import pytest
from django.http import QueryDict

from integrations.shopify.app_proxy import proxy_message, proxy_signature

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "integrations" / "woocommerce" / "plugin" / "comeback"
PHP = shutil.which("php") or "php"

pytestmark = pytest.mark.skipif(shutil.which("php") is None, reason="php-cli is missing (.ci/wordpress installs it)")

SECRET = "pl_9f2c\u00e9-secret with spaces & symbols"

#: A shopper's own query strings as the plugin's REST route receives them.
QUERIES = [
    "locale=he",
    "",
    "locale=fa&code=ABC-123",
    # Hebrew and Persian, encoded and raw-plus
    "name=%D7%A9%D7%9C%D7%95%D7%9D&city=%D8%AA%D9%87%D8%B1%D8%A7%D9%86",
    "q=a+b%2Bc&r=%2520",  # '+' is a space, %2B a plus, %2520 a literal %20
    "tag=one&tag=two&tag=three,four",  # a repeated key: values joined by ',' in order
    "b=2&a=1&B=3&_z=0&a_b=x&ab=y",  # byte-order sort: 'B' < '_z' < 'a' < 'a_b' < 'ab' < 'b'
    "10=ten&9=nine&2=two",  # numeric keys sort as strings ('10' < '2' < '9')
    "empty=&flag&eq=a=b=c",  # blank values kept; '=' inside a value
    "amp=%26&hash=%23&semi=a;b&slash=%2F",
    "k%20ey=v&k+ey=w",  # the same key spelt two ways
    "bad=%FF%FE&ok=1",  # not UTF-8: dropped (the app would read U+FFFD and refuse the signature)
    "emoji=%F0%9F%8E%81&nul=a%00b",
    "pct=%zz&lone=%",
]


def php_sign(cases: list[dict]) -> list[dict]:
    done = subprocess.run([PHP, str(Path(__file__).with_name("sign.php"))], input=json.dumps(cases),
                          capture_output=True, text=True, timeout=30, check=True)
    return json.loads(done.stdout)


def test_every_php_file_parses() -> None:
    files = sorted(PLUGIN.rglob("*.php")) + sorted(Path(__file__).parent.glob("*.php"))
    assert len(files) >= 8
    for path in files:
        result = subprocess.run([PHP, "-l", str(path)], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_plugin_signs_what_the_app_verifies() -> None:
    results = php_sign([{"query": query, "secret": SECRET} for query in QUERIES])
    for query, result in zip(QUERIES, results, strict=True):
        # What the app reads from the forwarded query (Django's parser) ...
        received = dict(QueryDict(result["sent"], encoding="utf-8").lists())
        # ... is the shopper's query exactly (Python's reading of it), valid UTF-8 pairs only,
        expected = [(k, v) for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True, errors="replace")
                    if "\ufffd" not in k + v]
        assert [tuple(pair) for pair in result["pairs"]] == expected, query
        # ... and the message and signature match the app's own computation.
        assert result["message"] == proxy_message(received), query
        assert received["signature"] == [proxy_signature(received, SECRET)], query


def test_a_changed_value_or_another_secret_does_not_verify() -> None:
    [result] = php_sign([{"query": "locale=he&code=ABC", "secret": SECRET}])
    received = dict(QueryDict(result["sent"]).lists())
    assert received["signature"] == [proxy_signature(received, SECRET)]
    assert received["signature"] != [proxy_signature({**received, "code": ["ABD"]}, SECRET)]
    assert received["signature"] != [proxy_signature(received, SECRET + "x")]


def test_repeated_values_join_in_order_and_sort_by_key() -> None:
    [result] = php_sign([{"query": "tag=b&z=1&tag=a&A=0", "secret": "k"}])
    assert result["message"] == "A=0tag=b,az=1"
