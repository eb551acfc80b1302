"""``manage.py demo`` with bad arguments or environment: a usage error that names the option, before
anything is migrated, seeded or started (the fuzzing of commands leaves ``demo`` out: it runs servers)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command


@pytest.mark.parametrize(("args", "message"), [
    (["--port", "70000"], "argument --port: 70000 is not a port number from 1 to 65,535"),
    (["--port", "0"], "argument --port: 0 is not a port number"),
    (["--port", "eighty"], "argument --port: 'eighty' is not a port number"),
    (["--sandbox-port", "-1"], "argument --sandbox-port: -1 is not a port number"),
    (["--customers", "-5"], "argument --customers: -5 is not a number of customers from 1 to 1,000,000"),
    (["--orders", "9" * 40], "argument --orders: " + "9" * 40 + " is not a number of orders"),
    (["--seed", "1e3"], "argument --seed: '1e3' is not a seed"),
    (["--live-interval", "nan"], "argument --live-interval: nan is not seconds between live orders"),
    (["--live-interval", "0"], "argument --live-interval: 0.0 is not seconds between live orders"),
])
def test_a_bad_option_is_a_usage_error(args, message):
    with pytest.raises(CommandError) as refused:
        call_command("demo", *args, stdout=StringIO(), stderr=StringIO())
    assert message in str(refused.value)


@pytest.mark.parametrize(("variable", "value", "option"), [
    ("PORT", "abc", "--port"), ("SANDBOX_PORT", "99999", "--sandbox-port"), ("DEMO_CUSTOMERS", "lots", "--customers"),
    ("DEMO_LIVE_INTERVAL", "-1", "--live-interval"),
])
def test_a_bad_environment_variable_is_the_same_usage_error(monkeypatch, variable, value, option):
    monkeypatch.setenv(variable, value)
    with pytest.raises(CommandError, match=f"argument {option}: "):
        call_command("demo", stdout=StringIO(), stderr=StringIO())
