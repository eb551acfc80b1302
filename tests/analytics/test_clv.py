"""BG/NBD + Gamma-Gamma (analytics.clv) validated on the CDNOW sample against the published results.

Published values: Fader, Hardie & Lee (2005) and the note "Implementing the BG/NBD Model for Customer Base Analysis in
Excel" (r, alpha, a, b, LL, E[X(t)], the 1.226 conditional expectation); Fader & Hardie (2013) note 025 and its
workbook (p, q, v and the expected average values). Data: tests/analytics/data/README.md.
"""

import csv
import math
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, special

from analytics.clv import (
    BgNbdFit,
    GammaGammaFit,
    expected_average_value,
    expected_purchases,
    expected_purchases_new,
    fit_bgnbd,
    fit_gamma_gamma,
    predicted_clv,
    probability_alive,
    rfm_summary,
)

DATA = Path(__file__).parent / "data"
CALIBRATION_END = date(1997, 9, 30)  # the first 39 weeks of 1997
PUBLISHED_BGNBD = BgNbdFit(
    r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=-9582.4, converged=True, n_customers=2357
)
PUBLISHED_GAMMA_GAMMA = GammaGammaFit(
    p=6.25, q=3.74, v=15.44, log_likelihood=float("nan"), converged=True, n_customers=946
)


def read_summary(name: str) -> dict[str, np.ndarray]:
    with open(DATA / name, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {column: np.array([float(row[column]) for row in rows]) for column in rows[0]}


@pytest.fixture(scope="module")
def summary() -> dict[str, np.ndarray]:
    """ID, frequency, recency, T (weeks)."""
    return read_summary("cdnow_customers_summary.csv")


@pytest.fixture(scope="module")
def monetary_summary() -> dict[str, np.ndarray]:
    """ID, x, t_x, T, zbar: zbar is the mean value of the repeat purchases."""
    return read_summary("cdnow_customers_summary_with_transactions.csv")


@pytest.fixture(scope="module")
def sample_transactions() -> list[tuple[int, date, Decimal]]:
    """CDNOW_sample.txt: master id, sample id (1..2357), yyyymmdd, number of CDs, dollar value."""
    transactions = []
    with open(DATA / "CDNOW_sample.txt") as handle:
        for line in handle:
            if not line.strip():
                continue
            _master_id, sample_id, day, _cds, value = line.split()
            transactions.append((int(sample_id), datetime.strptime(day, "%Y%m%d").date(), Decimal(value)))
    return transactions


@pytest.fixture(scope="module")
def cdnow_fit(summary) -> BgNbdFit:
    return fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])


@pytest.fixture(scope="module")
def cdnow_gamma_gamma(monetary_summary) -> GammaGammaFit:
    return fit_gamma_gamma(monetary_summary["x"], monetary_summary["zbar"])


# --- the data ------------------------------------------------------------------------------------------------------


def test_data_files_are_the_2357_customer_sample(summary, monetary_summary, sample_transactions):
    assert len(summary["ID"]) == 2357
    assert len(monetary_summary["ID"]) == 2357
    assert int((monetary_summary["x"] > 0).sum()) == 946
    assert len(sample_transactions) == 6919
    assert len({customer for customer, _, _ in sample_transactions}) == 2357
    # both summaries are the same customers with the same (x, t_x, T)
    np.testing.assert_array_equal(summary["frequency"], monetary_summary["x"])
    np.testing.assert_array_equal(summary["recency"], monetary_summary["t_x"])
    np.testing.assert_array_equal(summary["T"], monetary_summary["T"])


def test_rfm_summary_of_the_raw_sample_reproduces_the_published_summary(sample_transactions, monetary_summary):
    # given the raw CDNOW transactions, the calibration period ending 1997-09-30
    # when
    result = rfm_summary(sample_transactions, CALIBRATION_END, time_unit="weeks")
    # then: the published (x, t_x, T) exactly (they are rounded to 2 decimals), zbar to the cent
    order = {customer: index for index, customer in enumerate(result.customer_ids)}
    rows = [order[int(customer)] for customer in monetary_summary["ID"]]
    assert len(result.customer_ids) == 2357
    np.testing.assert_array_equal(result.frequency[rows], monetary_summary["x"])
    np.testing.assert_array_equal(np.round(result.recency[rows], 2), monetary_summary["t_x"])
    np.testing.assert_array_equal(np.round(result.T[rows], 2), monetary_summary["T"])
    assert np.max(np.abs(result.monetary[rows] - monetary_summary["zbar"])) <= 0.005 + 1e-9


def test_rfm_summary_merges_same_day_purchases_and_cuts_at_the_end_date():
    transactions = [
        ("a", date(2024, 1, 1), Decimal("10.00")),
        ("a", date(2024, 1, 8), Decimal("5.00")),
        ("a", date(2024, 1, 8), Decimal("7.00")),  # same day: one purchase of 12.00
        ("a", date(2024, 1, 22), Decimal("20.00")),
        ("a", date(2024, 2, 1), Decimal("99.00")),  # after the end
        ("b", datetime(2024, 1, 29, 23, 30, tzinfo=UTC), 3.5),  # the end day itself counts
        ("c", date(2024, 1, 30), Decimal("1.00")),  # first purchase after the end: not a customer yet
    ]

    result = rfm_summary(transactions, date(2024, 1, 29), time_unit="days")

    assert result.customer_ids == ("a", "b")
    np.testing.assert_array_equal(result.frequency, [2, 0])
    np.testing.assert_array_equal(result.recency, [21, 0])
    np.testing.assert_array_equal(result.T, [28, 0])
    np.testing.assert_allclose(result.monetary, [16.0, 0.0])
    with pytest.raises(ValueError, match="time_unit"):
        rfm_summary(transactions, date(2024, 1, 29), time_unit="fortnights")


# --- BG/NBD --------------------------------------------------------------------------------------------------------


def test_bgnbd_fit_on_cdnow_matches_the_published_parameters(summary):
    # when
    started = time.process_time()  # CPU time: a busy shared machine must not fail the test
    fit = fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
    elapsed = time.process_time() - started
    # then
    assert fit.converged
    assert fit.n_customers == 2357
    for name in ("r", "alpha", "a", "b"):
        published = getattr(PUBLISHED_BGNBD, name)
        assert getattr(fit, name) == pytest.approx(published, rel=0.01, abs=0.01), name
        assert round(getattr(fit, name), 3) == pytest.approx(published, abs=0.0015), name
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.5)
    # standard errors: the values lifetimes reports for this fit (inverse Hessian)
    assert fit.standard_errors == pytest.approx((0.012557, 0.378221, 0.185719, 0.705345), rel=0.01)
    assert elapsed < 2.0


def test_bgnbd_fit_does_not_depend_on_the_time_unit(summary, cdnow_fit):
    fit_in_days = fit_bgnbd(summary["frequency"], summary["recency"] * 7, summary["T"] * 7)

    assert fit_in_days.converged
    assert fit_in_days.r == pytest.approx(cdnow_fit.r, rel=1e-4)
    assert fit_in_days.alpha == pytest.approx(cdnow_fit.alpha * 7, rel=1e-4)
    assert fit_in_days.a == pytest.approx(cdnow_fit.a, rel=1e-3)
    assert fit_in_days.b == pytest.approx(cdnow_fit.b, rel=1e-3)
    # LL of times in days = LL in weeks - sum(x) ln 7 (the density of each t_x changes scale)
    shift = summary["frequency"].sum() * math.log(7)
    assert fit_in_days.log_likelihood == pytest.approx(cdnow_fit.log_likelihood - shift, abs=1e-3)


def test_bgnbd_fit_from_the_raw_transactions_is_the_published_fit(sample_transactions):
    result = rfm_summary(sample_transactions, CALIBRATION_END)

    fit = fit_bgnbd(result.frequency, result.recency, result.T)

    assert (round(fit.r, 3), round(fit.alpha, 3), round(fit.a, 3), round(fit.b, 3)) == (0.243, 4.414, 0.793, 2.426)
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.5)


def test_conditional_expectation_matches_the_hardie_workbook(cdnow_fit):
    # customer 1 of CDNOW: 2 repeat purchases, the last at 30.43 weeks, observed 38.86 weeks; the next 39 weeks
    for fit in (cdnow_fit, PUBLISHED_BGNBD):
        assert float(expected_purchases(fit, 39, 2, 30.43, 38.86)) == pytest.approx(1.226, abs=0.001)


def test_unconditional_expectation_matches_the_hardie_workbook(cdnow_fit):
    times = [0.1429, 1.0, 3.0, 31.8571, 32.0, 78.0]
    expected = [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576]

    np.testing.assert_allclose(expected_purchases_new(cdnow_fit, times), expected, atol=0.0006)


def quadrature_expectations(fit: BgNbdFit, t: float, x: int, t_x: float, big_t: float) -> tuple[float, float]:
    """P(alive) and E[Y(t)] straight from the model's definition, integrating over p numerically.

    Given lambda and p a customer alive at T buys (1 - exp(-lambda p t)) / p times in (T, T+t]; the likelihood is
    (1-p)^x lambda^x e^(-lambda T) (alive) + [x>0] p (1-p)^(x-1) lambda^x e^(-lambda t_x) (dropped after t_x). The
    gamma integral over lambda is done by hand; no hypergeometric function is involved.
    """
    r, alpha, a, b = fit.r, fit.alpha, fit.a, fit.b

    def alive(p: float) -> float:
        return p ** (a - 1) * (1 - p) ** (b - 1 + x)

    def dead(p: float) -> float:
        return p**a * (1 - p) ** (b + x - 2) * ((alpha + big_t) / (alpha + t_x)) ** (r + x) if x > 0 else 0.0

    def buys(p: float) -> float:
        return alive(p) / p * (1 - ((alpha + big_t) / (alpha + big_t + p * t)) ** (r + x))

    alive_mass = integrate.quad(alive, 0, 1, limit=200)[0]
    dead_mass = integrate.quad(dead, 0, 1, limit=200)[0]
    purchases = integrate.quad(buys, 0, 1, limit=200)[0]
    return alive_mass / (alive_mass + dead_mass), purchases / (alive_mass + dead_mass)


@pytest.mark.parametrize(
    ("t", "x", "t_x", "big_t"),
    [(39, 0, 0.0, 38.86), (39, 2, 30.43, 38.86), (39, 2, 3.0, 38.86), (10, 10, 35.0, 38.0), (100, 200, 38.5, 39.0)],
)
def test_closed_forms_agree_with_direct_integration(t, x, t_x, big_t):
    palive, purchases = quadrature_expectations(PUBLISHED_BGNBD, t, x, t_x, big_t)

    assert float(probability_alive(PUBLISHED_BGNBD, x, t_x, big_t)) == pytest.approx(palive, rel=1e-8)
    assert float(expected_purchases(PUBLISHED_BGNBD, t, x, t_x, big_t)) == pytest.approx(purchases, rel=1e-7)


def test_large_frequency_stays_finite_where_the_textbook_form_overflows():
    fit, t, x, t_x, big_t = PUBLISHED_BGNBD, 39.0, 1500, 38.9, 39.0
    z = t / (fit.alpha + big_t + t)
    with np.errstate(all="ignore"):
        textbook = 1 - (1 - z) ** (fit.r + x) * special.hyp2f1(fit.r + x, fit.b + x, fit.a + fit.b + x - 1, z)
    assert not np.isfinite(textbook)

    _, purchases = quadrature_expectations(fit, t, x, t_x, big_t)
    assert float(expected_purchases(fit, t, x, t_x, big_t)) == pytest.approx(purchases, rel=1e-6)
    assert np.isfinite(fit_bgnbd([1500, 2, 0], [38.9, 20.0, 0.0], [39.0, 39.0, 39.0]).log_likelihood)


def test_probability_alive_properties(cdnow_fit):
    # no repeat purchase: in the BG/NBD a customer can only drop out right after a purchase
    np.testing.assert_array_equal(probability_alive(cdnow_fit, [0, 0], [0, 0], [1.0, 38.86]), [1.0, 1.0])
    # more recent last purchase -> more likely alive
    recencies = np.linspace(1, 38, 20)
    by_recency = probability_alive(cdnow_fit, 3, recencies, 38.86)
    assert np.all(np.diff(by_recency) > 0)
    # longer silence since the last purchase -> less likely alive
    by_age = probability_alive(cdnow_fit, 3, 10.0, np.linspace(10, 60, 20))
    assert np.all(np.diff(by_age) < 0)
    assert np.all((by_recency > 0) & (by_recency < 1))
    # bought at the very end of the window: almost surely alive (a customer who has lost interest rarely buys)
    assert float(probability_alive(cdnow_fit, 23, 39, 39)) == pytest.approx(1 / (1 + cdnow_fit.a / (cdnow_fit.b + 22)))


def test_invalid_or_degenerate_bgnbd_input_is_refused():
    with pytest.raises(ValueError, match="recency must not exceed T"):
        fit_bgnbd([1, 2], [5.0, 50.0], [10.0, 10.0])
    with pytest.raises(ValueError, match="whole numbers"):
        fit_bgnbd([1.5, 2], [5.0, 5.0], [10.0, 10.0])
    with pytest.raises(ValueError, match="no customer has a repeat purchase"):
        fit_bgnbd([0, 0, 0], [0, 0, 0], [10.0, 20.0, 30.0])
    with pytest.raises(ValueError, match="recency must be 0"):
        probability_alive(PUBLISHED_BGNBD, 0, 3.0, 10.0)


@pytest.mark.parametrize(
    ("frequency", "recency", "T"),
    [
        ([1, 0, 0], [5.0, 0.0, 0.0], [10.0, 10.0, 10.0]),
        ([3, 3, 3], [10.0, 10.0, 10.0], [10.0, 10.0, 10.0]),
        ([0, 1, 2, 0, 3], [0.0, 3.0, 8.0, 0.0, 9.0], [10.0] * 5),
    ],
)
def test_tiny_data_sets_report_not_converged(frequency, recency, T):
    fit = fit_bgnbd(frequency, recency, T)

    assert not fit.converged
    assert fit.standard_errors is None


# --- Gamma-Gamma ---------------------------------------------------------------------------------------------------


def test_gamma_gamma_fit_on_cdnow_matches_the_published_parameters(monetary_summary):
    fit = fit_gamma_gamma(monetary_summary["x"], monetary_summary["zbar"])

    assert fit.converged
    assert fit.n_customers == 946  # only the repeat buyers
    assert fit.p == pytest.approx(PUBLISHED_GAMMA_GAMMA.p, rel=0.01)
    assert fit.q == pytest.approx(PUBLISHED_GAMMA_GAMMA.q, rel=0.01)
    assert fit.v == pytest.approx(PUBLISHED_GAMMA_GAMMA.v, rel=0.01)
    assert fit.standard_errors is not None


def test_expected_average_value_matches_the_hardie_workbook(monetary_summary, cdnow_gamma_gamma):
    # the first ten CDNOW customers (note 025 workbook); customers without repeat purchases get the population mean
    expected = [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17]

    values = expected_average_value(cdnow_gamma_gamma, monetary_summary["x"][:10], monetary_summary["zbar"][:10])

    np.testing.assert_allclose(values, expected, atol=0.01)
    fit = cdnow_gamma_gamma
    assert float(expected_average_value(fit, 0, 123.0)) == pytest.approx(fit.p * fit.v / (fit.q - 1))


def test_expected_average_value_moves_from_the_population_mean_towards_the_customer_mean(cdnow_gamma_gamma):
    population_mean = float(expected_average_value(cdnow_gamma_gamma, 0, 0.0))
    values = expected_average_value(cdnow_gamma_gamma, [1, 5, 50, 5000], 100.0)

    assert np.all(np.diff(values) > 0)
    assert population_mean < values[0] and values[-1] == pytest.approx(100.0, rel=0.01)


def test_invalid_or_degenerate_gamma_gamma_input():
    with pytest.raises(ValueError, match="no customer has a repeat purchase"):
        fit_gamma_gamma([0, 0], [0.0, 0.0])
    with pytest.raises(ValueError, match="monetary must be > 0"):
        fit_gamma_gamma([1, 2], [10.0, 0.0])
    assert not fit_gamma_gamma([1, 2, 3], [10.0, 10.0, 10.0]).converged  # no spread: no finite maximum
    with pytest.raises(ValueError, match="q <= 1"):
        expected_average_value(replace(PUBLISHED_GAMMA_GAMMA, q=0.9), 1, 10.0)


# --- CLV -----------------------------------------------------------------------------------------------------------


def test_undiscounted_clv_is_expected_purchases_times_expected_value(monetary_summary, cdnow_fit, cdnow_gamma_gamma):
    x, t_x, big_t, m = (monetary_summary[column][:50] for column in ("x", "t_x", "T", "zbar"))

    clv = predicted_clv(cdnow_fit, cdnow_gamma_gamma, x, t_x, big_t, m, horizon=52)

    expected = expected_purchases(cdnow_fit, 52, x, t_x, big_t) * expected_average_value(cdnow_gamma_gamma, x, m)
    np.testing.assert_allclose(clv, expected, rtol=1e-12)


def test_discounted_clv_matches_the_period_sum(monetary_summary, cdnow_fit, cdnow_gamma_gamma):
    x, t_x, big_t, m = (monetary_summary[column][:10] for column in ("x", "t_x", "T", "zbar"))
    value = expected_average_value(cdnow_gamma_gamma, x, m)
    cumulative = [expected_purchases(cdnow_fit, week, x, t_x, big_t) for week in (0, 13, 26, 39, 52)]
    by_hand = sum((cumulative[k] - cumulative[k - 1]) * value / 1.03**k for k in range(1, 5))

    clv = predicted_clv(cdnow_fit, cdnow_gamma_gamma, x, t_x, big_t, m, 52, 0.03, period_length=13)

    np.testing.assert_allclose(clv, by_hand, rtol=1e-12)
    assert np.all(clv < predicted_clv(cdnow_fit, cdnow_gamma_gamma, x, t_x, big_t, m, 52))


def test_clv_matches_the_lifetimes_documentation(monetary_summary, cdnow_fit, cdnow_gamma_gamma):
    # lifetimes' Quickstart: 12 periods of 30 time units at 1 % per period on CDNOW (its example uses weeks as units)
    expected = [140.096211, 18.943467, 38.180574, 38.180574, 38.180574, 1003.868107, 28.109683, 38.180574, 167.418216]
    x, t_x, big_t, m = (monetary_summary[column][:9] for column in ("x", "t_x", "T", "zbar"))

    clv = predicted_clv(cdnow_fit, cdnow_gamma_gamma, x, t_x, big_t, m, 360, 0.01, period_length=30)

    np.testing.assert_allclose(clv, expected, rtol=1e-4)


def test_clv_partial_last_period_and_zero_horizon(cdnow_fit, cdnow_gamma_gamma):
    args = (cdnow_fit, cdnow_gamma_gamma, 2, 30.43, 38.86, 22.35)
    value = float(expected_average_value(cdnow_gamma_gamma, 2, 22.35))
    first, whole = (float(expected_purchases(cdnow_fit, t, 2, 30.43, 38.86)) for t in (0.3, 0.5))

    clv = float(predicted_clv(*args, 0.5, 0.1, period_length=0.3))

    assert clv == pytest.approx(first * value / 1.1 + (whole - first) * value / 1.1**2, rel=1e-12)
    assert float(predicted_clv(*args, 0.0, 0.1)) == 0.0
    with pytest.raises(ValueError, match="horizon"):
        predicted_clv(*args, -1.0)
