"""Every management command of our apps, called with arbitrary arguments: it succeeds or stops
with a ``CommandError`` (a clear message, no traceback), never another exception.

Commands are enumerated from our apps and their arguments read from each command's own parser,
so a new command or option is fuzzed without touching this file; ``import_orders`` gets arbitrary
CSV files (huge fields, year-1 dates, totals beyond the money column, bytes that are not UTF-8).
"""

import csv
import io
import os
import tempfile
from argparse import Action
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError
from django.db import transaction
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.security import fuzzing
from tests.security.fuzzing import World

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6")) * 5

#: Commands not fuzzed, each with its reason.
EXCLUDED: dict[str, str] = {
    "demo": "starts the app and the Shopify sandbox as servers and runs until stopped; `make demo` is its test",
}

#: Options every command has (verbosity, settings, ...): Django's, not ours.
COMMON = {"help", "version", "verbosity", "settings", "pythonpath", "traceback", "no_color", "force_color",
          "skip_checks"}

#: Options whose value must not be a real shop: with one these commands call the platform over the
#: network (their sandbox tests cover that path); any other value exercises their own checks.
NO_REAL_SHOP = {("shopify_sync", "shop")}


def our_commands() -> dict[str, str]:
    """Command name -> app, for the commands of the apps in this repository."""
    return {name: app for name, app in get_commands().items()
            if (fuzzing.ROOT / app.split(".")[0]).is_dir() and not app.startswith("django")}


COMMANDS = sorted(name for name in our_commands() if name not in EXCLUDED)

CSV_COLUMNS = ["order_id", "customer_id", "email", "processed_at", "total", "currency", "cost", "refunded",
               "product"]
csv_values = st.one_of(
    fuzzing.text_values,
    st.sampled_from(["1e20", "1e308", "-5", "99999999999999999.999", "0.0001", "NaN", "Infinity", "12,50", "$10",
                     "0001-01-01", "9999-12-31T23:59:59", "2026-01-02T10:00:00+99:00", "USD", "usd", "XXX", "€",
                     "x" * 200_000, "=HYPERLINK(\"http://x\")", "1\x00"]),
)


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """A CSV as a merchant's export might look, or broken: columns missing, shuffled or repeated,
    arbitrary values, a field larger than the CSV reader's limit, or bytes that are not UTF-8."""
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        return draw(st.binary(max_size=200))
    columns = draw(st.lists(st.sampled_from(CSV_COLUMNS + ["", "extra", "total"]), min_size=0, max_size=11))
    if draw(st.booleans()):
        columns = CSV_COLUMNS[:6] + columns
    rows = draw(st.lists(st.lists(csv_values, min_size=0, max_size=len(columns) + 1), max_size=4))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8", errors="surrogatepass")


def _parser_actions(name: str) -> list[Action]:
    command = load_command_class(our_commands()[name], name)
    parser = command.create_parser("manage.py", name)
    return [action for action in parser._actions if action.dest not in COMMON]


def _value(command: str, action: Action, world: World, folder: Path) -> st.SearchStrategy[str]:
    if action.dest == "file":
        def written(content: bytes) -> str:
            path = folder / "orders.csv"
            path.write_bytes(content)
            return str(path)
        return st.one_of(csv_files().map(written), st.sampled_from([str(folder), str(folder / "missing.csv"),
                                                                    "a\x00b.csv", ""]))
    options: list[st.SearchStrategy[str]] = [fuzzing.text_values]
    if action.choices:
        options.append(st.sampled_from([str(choice) for choice in action.choices]))
    if action.type is int:
        options.append(st.integers(min_value=-(10**20), max_value=10**20).map(str))
    if action.dest == "shop" and (command, action.dest) not in NO_REAL_SHOP:
        options.append(st.just(world.shop.domain))
    if action.dest in ("start", "end"):
        options.append(st.dates().map(lambda day: day.isoformat()))
    if action.dest == "year":
        options.append(st.integers(min_value=1890, max_value=2110).map(str))
    return st.one_of(*options)


@st.composite
def command_arguments(draw: st.DrawFn, command: str, world: World, folder: Path) -> list[str]:
    argv: list[str] = []
    for action in _parser_actions(command):
        wanted = action.required or not action.option_strings
        if not draw(st.booleans() if not wanted else st.sampled_from([True] * 9 + [False])):
            continue  # an option left out, or now and then a required one (argparse must refuse)
        if action.nargs == 0:  # a flag
            argv.append(action.option_strings[0])
            continue
        value = draw(_value(command, action, world, folder))
        argv += [f"{action.option_strings[0]}={value}"] if action.option_strings else [value]
    return argv


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[World]:
    with django_db_blocker.unblock(), transaction.atomic():
        yield fuzzing.world_create()
        transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.parametrize("command", COMMANDS)
def test_a_command_with_arbitrary_arguments_succeeds_or_says_what_was_wrong(command: str, world: World) -> None:
    with tempfile.TemporaryDirectory(prefix="fuzz-command-") as folder:

        @hypothesis_settings(max_examples=EXAMPLES)
        @given(argv=command_arguments(command, world, Path(folder)))
        def run(argv: list[str]) -> None:
            with transaction.atomic():
                try:
                    call_command(command, *argv, stdout=io.StringIO(), stderr=io.StringIO())
                except CommandError as error:
                    assert str(error).strip(), "a CommandError must say what was wrong"
                transaction.set_rollback(True)

        run()


def test_every_command_of_our_apps_is_fuzzed_or_excluded_with_a_reason() -> None:
    ours = set(our_commands())
    assert set(EXCLUDED) <= ours, "an exclusion names a command that no longer exists"
    assert {"import_orders", "holidays", "retention_report", "shop_defaults"} <= set(COMMANDS)
    assert set(COMMANDS) | set(EXCLUDED) == ours
