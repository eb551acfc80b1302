"""``import_orders`` with hostile or broken files: every bad row is refused with its line number and
what was wrong, the good rows around it are imported, the command exits non-zero, and nothing
out of its column's range (money, text, dates) reaches the database; never a traceback."""

import csv
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Sum

from commerce.models import Customer, Order, OrderLine, Shop

pytestmark = pytest.mark.django_db

HEADER = "order_id,customer_id,email,processed_at,total,currency,cost,refunded,product\n"
GOOD_BEFORE = "1,C1,ann@example.com,2026-01-05T10:00:00Z,10.00,EUR,,,Mug\n"
GOOD_AFTER = "9,C9,bob@example.com,2026-01-06,20,EUR,,,Tea\n"


def _import(tmp_path, text: str, *args: str) -> tuple[str, str, str | None]:
    """Run the command; its output, its errors and the CommandError's message (None if it passed)."""
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8")
    out, err = StringIO(), StringIO()
    failure = None
    try:
        call_command("import_orders", str(path), "--shop", "old-store.example", *args, stdout=out, stderr=err)
    except CommandError as error:
        failure = str(error)
    return out.getvalue(), err.getvalue().replace(f"{path}:", ""), failure


def _imported() -> list[str]:
    return sorted(Order.objects.values_list("platform_id", flat=True))


@pytest.mark.parametrize(("row", "reason"), [
    # money: beyond the column (max_digits=20, decimal_places=3), not finite, negative, too precise
    ("5,C5,c@example.com,2026-01-05,1e20,EUR,,,", "total '1e20' is more than 999999999999999.999, the largest"),
    ("5,C5,c@example.com,2026-01-05,1000000000000000,EUR,,,", "is more than 999999999999999.999"),
    ("5,C5,c@example.com,2026-01-05,1e999999999999999999999,EUR,,,", "total '1e999999999999999999999' is not a number"),
    ("5,C5,c@example.com,2026-01-05,10,EUR,1E+30,,", "cost '1E+30' is more than"),
    ("5,C5,c@example.com,2026-01-05,NaN,EUR,,,", "total 'NaN' is not a finite number"),
    ("5,C5,c@example.com,2026-01-05,sNaN,EUR,,,", "total 'sNaN' is not a finite number"),
    ("5,C5,c@example.com,2026-01-05,Infinity,EUR,,,", "total 'Infinity' is not a finite number"),
    ("5,C5,c@example.com,2026-01-05,10,EUR,,-Infinity,", "refunded '-Infinity' is not a finite number"),
    ("5,C5,c@example.com,2026-01-05,-5,EUR,,,", "total '-5' must be a number >= 0"),
    ("5,C5,c@example.com,2026-01-05,10,EUR,,,", None),  # the control: a good row
    ("5,C5,c@example.com,2026-01-05,1e-9,EUR,,,", "total '1e-9' has more than 3 decimal places"),
    # dates outside 2000-2100 (year 1 overflows in the shop's time zone)
    ("5,C5,c@example.com,0001-01-01,10,EUR,,,", "processed_at '0001-01-01' is not between the years 2000 and 2100"),
    ("5,C5,c@example.com,9999-12-31T23:59:59-12:00,10,EUR,,,", "is not between the years 2000 and 2100"),
    ("5,C5,c@example.com,1999-12-31,10,EUR,,,", "is not between the years 2000 and 2100"),
    # text: longer than its column, control characters (PostgreSQL cannot store NUL)
    ("5,C5," + "a" * 320 + "@example.com,2026-01-05,10,EUR,,,", "email is longer than 320 characters"),
    ("5,C5,c@example.com,2026-01-05,10,EUR,,," + "x" * 501, "product is longer than 500 characters"),
    ("5,C5,c@example.com,2026-01-05,10,EUR,,,Mug\x00", "product contains a control character"),
    ("5\x00,C5,c@example.com,2026-01-05,10,EUR,,,", "order_id contains a control character"),
    ("5," + "9" * 58 + ",c@example.com,2026-01-05,10,EUR,,,", "customer_id is longer than 57 characters"),
    ("5,C5,not-an-email,2026-01-05,10,EUR,,,", "email 'not-an-email' is not an email address"),
    # currency: the shape of an ISO 4217 code
    ("5,C5,c@example.com,2026-01-05,10," + "E" * 5000 + ",,,", "is not an ISO 4217 code"),
    ("5,C5,c@example.com,2026-01-05,10,€€€,,,", "currency '€€€' is not an ISO 4217 code"),
    ("5,C5,c@example.com,2026-01-05,10,,,,", "currency (missing) is not an ISO 4217 code"),
])
def test_a_bad_value_is_a_row_error_and_the_rest_is_imported(tmp_path, row, reason):
    # when a file has the bad row between two good ones
    out, err, failure = _import(tmp_path, HEADER + GOOD_BEFORE + row + "\n" + GOOD_AFTER)
    if reason is None:
        assert (err, failure) == ("", None)
        assert _imported() == ["import:1", "import:5", "import:9"]
        return
    # then the row is refused with its line number and the reason, the others are imported
    assert err.startswith("line 3: ") and reason in err, err
    assert len(err) < 300  # a 5,000-character value is not echoed whole
    assert failure == "1 rows were rejected (the others were imported)"
    assert "orders created 2" in out
    assert _imported() == ["import:1", "import:9"]


def test_a_field_over_the_csv_limit_is_a_row_error_not_a_crash(tmp_path):
    # given a 200 KB product name (the CSV reader's limit is 128 KB) between good rows
    huge = "5,C5,c@example.com,2026-01-05,10,EUR,,," + "x" * 200_000 + "\n"
    out, err, failure = _import(tmp_path, HEADER + GOOD_BEFORE + huge + GOOD_AFTER)
    # then that line is refused, the rows around it are imported
    assert err == f"line 3: a field is longer than {csv.field_size_limit()} characters\n"
    assert failure == "1 rows were rejected (the others were imported)"
    assert _imported() == ["import:1", "import:9"]
    assert "4 rows" not in out and "3 rows" in out


def test_a_huge_quoted_field_over_several_lines_is_refused_with_its_line(tmp_path):
    huge = '5,C5,c@example.com,2026-01-05,10,EUR,,,"' + ("y" * 1000 + "\n") * 200 + '"\n'
    _, err, failure = _import(tmp_path, HEADER + GOOD_BEFORE + huge + GOOD_AFTER)
    assert "a field is longer than" in err
    assert failure is not None and "rows were rejected" in failure
    assert "import:1" in _imported()
    assert not OrderLine.objects.filter(title__startswith="yyy").exists()


def test_a_huge_header_is_refused_clearly(tmp_path):
    _, _, failure = _import(tmp_path, "order_id," + "h" * 200_000 + "\n" + GOOD_BEFORE)
    assert failure == f"the header row is not readable CSV: a field is longer than {csv.field_size_limit()} characters"
    assert not Shop.objects.exists()


def test_a_file_of_only_unreadable_rows_creates_no_shop(tmp_path):
    _, err, failure = _import(tmp_path, HEADER + "5,C5,c@example.com,2026-01-05,10,EUR,,," + "x" * 200_000 + "\n")
    assert err.startswith("line 2: a field is longer than")
    assert failure == "1 rows were rejected (the others were imported)"
    assert not Shop.objects.exists()


def test_the_largest_amount_and_the_last_year_are_imported_and_read_back(tmp_path):
    edge = "5,C5,c@example.com,2100-12-31T23:59:59+14:00,999999999999999.999,EUR,999999999999999.999,,\n"
    _, err, failure = _import(tmp_path, HEADER + edge)
    assert (err, failure) == ("", None)
    order = Order.objects.get(platform_id="import:5")
    if connection.vendor == "postgresql":  # SQLite keeps decimals as floats: 15 significant digits
        assert order.total == Decimal("999999999999999.999")
    else:
        assert abs(order.total - Decimal("999999999999999.999")) < 1
    assert Order.objects.aggregate(total=Sum("total"))["total"] == order.total


def test_the_first_rows_currency_must_be_a_code_to_create_a_shop(tmp_path):
    _, _, failure = _import(tmp_path, HEADER + "5,C5,c@example.com,2026-01-05,10,E\x00R,,,\n")
    assert failure is not None and failure.startswith("line 2: currency ") and "ISO 4217" in failure
    assert not Shop.objects.exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--shop", "x" * 300 + ".example"], "is not a domain name"),
    (["--shop", "old store!"], "'old store!' is not a domain name"),
    (["--shop", "old-store.example", "--timezone", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
    (["--shop", "old-store.example", "--timezone", "x" * 5000], "unknown time zone"),
    (["--shop", "old-store.example", "--timezone", "../../etc/passwd"], "unknown time zone"),
    (["--shop", "old-store.example", "--batch-size", "0"], "--batch-size must be at least 1"),
    (["--shop", "old-store.example", "--batch-size", "lots"], "invalid int value"),
    (["--shop", "old-store.example", "--platform", "magento"], "invalid choice"),
    (["--shop", "x.myshopify.com", "--platform", "shopify"], "no shopify shop has the domain"),
])
def test_bad_arguments_are_a_clear_command_error(tmp_path, args, message):
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + GOOD_BEFORE, encoding="utf-8")
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(".", r"\.")):
        call_command("import_orders", str(path), *args, stdout=StringIO(), stderr=StringIO())
    assert not Shop.objects.exists() and not Customer.objects.exists()


@pytest.mark.parametrize(("content", "message"), [
    (b"\xff\xfe\x00o\x00r", "is not UTF-8 text"),
    (b"", "lacks the columns"),
    (HEADER.encode(), "the file has no rows"),
])
def test_unreadable_files_are_a_clear_command_error(tmp_path, content, message):
    path = tmp_path / "orders.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        call_command("import_orders", str(path), "--shop", "old-store.example", stdout=StringIO(), stderr=StringIO())
    assert not Shop.objects.exists()


def test_a_directory_or_a_missing_file_is_a_clear_command_error(tmp_path):
    for path in (tmp_path, tmp_path / "missing.csv", f"{tmp_path}/a\x00b.csv"):
        with pytest.raises(CommandError, match="cannot read"):
            call_command("import_orders", str(path), "--shop", "old-store.example", stdout=StringIO())
