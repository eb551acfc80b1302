"""The oracle of bench/pipeline.py: what the ledger must hold for a handful of orders worked out by
hand, and how a ledger that differs from it is counted (lost, doubled, wrong, unexpected)."""

from decimal import Decimal

from bench.pipeline import OrderFacts, RefundFacts, expected_ledger, ledger_compare


def order(platform_id: str, subtotal: str, *, owner: str = "c:1", refunds: tuple[RefundFacts, ...] = (),
          is_test: bool = False, total: str | None = None, shipping: str = "0.00") -> OrderFacts:
    return OrderFacts(platform_id=platform_id, owner=owner, subtotal=Decimal(subtotal), merchandise=Decimal(subtotal),
                      total=Decimal(total or subtotal), shipping=Decimal(shipping), is_test=is_test, refunds=refunds)


def refund(platform_id: str, lines: str | None, amount: str = "0.00", shipping: str = "0.00") -> RefundFacts:
    return RefundFacts(platform_id=platform_id, lines_subtotal=None if lines is None else Decimal(lines),
                       amount=Decimal(amount), shipping=Decimal(shipping))


SCENARIO = [
    order("1", "29.00", refunds=(refund("r1", "9.00"),)),  # 29 x 9 / 29 = 9, not 8.99...
    order("2", "100.99", refunds=(refund("r2", "60.00"), refund("r3", "60.00"))),  # 60 then capped at 41
    order("3", "50.00", is_test=True),  # a test order earns nothing
    order("4", "50.00", owner=""),  # a guest without an email: no account to hold points
    order("5", "0.99"),  # rounds down to 0: no entry
    order("6", "40.00", total="52.00", shipping="8.00",  # a refund naming no lines: 24.00 - 8.00 of 44.00
          refunds=(refund("r4", None, amount="24.00", shipping="8.00"), refund("r5", None, amount="8.00",
                                                                               shipping="8.00"))),
    order("7", "10.00", owner="g:guest@example.com", refunds=(refund("r6", "0.00"),)),
]


def test_expected_ledger_worked_by_hand() -> None:
    assert expected_ledger(SCENARIO, points_per_unit=Decimal("1")) == {
        "earn:order:1": 29, "reverse:refund:r1": -9,
        "earn:order:2": 100, "reverse:refund:r2": -59, "reverse:refund:r3": -41,
        "earn:order:6": 40, "reverse:refund:r4": -14,
        "earn:order:7": 10,
    }


def test_points_per_unit_scales_before_rounding() -> None:
    assert expected_ledger([order("1", "10.50")], points_per_unit=Decimal("2")) == {"earn:order:1": 21}


def test_ledger_compare_counts_each_kind_of_difference() -> None:
    expected = expected_ledger(SCENARIO, points_per_unit=Decimal("1"))
    right = list(expected.items()) + [("rule:badge:3", 100)]  # other keys are not looked at
    verdict = ledger_compare(expected, right)
    assert verdict.passed and verdict.found == len(expected) and verdict.lost == 0

    ledger = [(k, v) for k, v in expected.items() if k != "reverse:refund:r1"]  # a reversal lost
    ledger = [(k, 2 * v if k == "earn:order:1" else v) for k, v in ledger]  # points applied twice
    ledger += [("earn:order:7", 10)]  # the same key twice
    ledger = [(k, 5 if k == "earn:order:6" else v) for k, v in ledger]  # other points
    ledger += [("earn:order:3", 50)]  # the test order earned
    verdict = ledger_compare(expected, ledger)
    assert (verdict.lost, verdict.doubled, verdict.wrong, verdict.extra) == (1, 2, 1, 1)
    assert verdict.samples["lost"] == ["reverse:refund:r1"]
    assert not verdict.passed
