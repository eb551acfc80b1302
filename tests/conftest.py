import os

import pytest
from django.conf import settings
from hypothesis import settings as hypothesis_settings

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"

pytest_plugins = ["tests.browser"]  # the headless Chromium fixture for the browser tests

# Property-based tests: "ci" (the default) is reproducible (the same examples on every run) and has
# no per-example deadline (a shared CI machine is slow now and then); "deep" hunts with fresh random
# examples, many more of them (e.g. ``HYPOTHESIS_PROFILE=deep FUZZ_EXAMPLES=200``).
hypothesis_settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
hypothesis_settings.register_profile("deep", deadline=None, derandomize=False, max_examples=500, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config: pytest.Config) -> None:
    if REQUIRE_SERVICES:
        engine = settings.DATABASES["default"]["ENGINE"]
        if "postgresql" not in engine:
            raise pytest.UsageError(f"REQUIRE_SERVICES=1 but the database is {engine}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # type: ignore[no-untyped-def]
    """In CI (REQUIRE_SERVICES=1) a skipped test is a failed test: skips never count as passes."""
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_SERVICES and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which counts as a failure: {report.longrepr}"


def pytest_collection_finish(session: pytest.Session) -> None:
    if not session.items:
        raise pytest.UsageError("no tests were collected")
