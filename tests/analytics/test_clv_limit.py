"""The limits nested in the models -- BG/NBD's constant dropout (a, b -> infinity, a / (a + b) -> p) and Gamma-Gamma's
constant spend (q, v -> infinity) -- and the likelihood-ratio choice between each model and its limit."""

import numpy as np
import pytest
from scipy import stats

from analytics import clv
from analytics.clv import BgNbdFit, ConstantDropoutFit
from tests.analytics.test_clv import read_summary


@pytest.fixture(scope="module")
def cdnow():
    return read_summary("cdnow_customers_summary.csv")


def near_limit(p: float, size: float) -> BgNbdFit:
    return BgNbdFit(r=0.24, alpha=4.4, a=p * size, b=(1 - p) * size, log_likelihood=0.0, converged=True,
                    n_customers=0)


def test_the_limit_formulas_are_bgnbd_with_a_and_b_growing_together(cdnow):
    x, t_x, big_t = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    limit = ConstantDropoutFit(r=0.24, alpha=4.4, p=0.08, log_likelihood=0.0, converged=True, n_customers=0)
    alive_gaps, bought_gaps = [], []
    for size in (200.0, 2000.0, 20000.0):  # the gap shrinks like 1 / (a + b)
        bg = near_limit(0.08, size)
        alive_gaps.append(np.abs(clv.probability_alive(bg, x, t_x, big_t)
                                 - clv.probability_alive(limit, x, t_x, big_t)).max())
        if size <= 2000:  # (BG/NBD's own closed form loses precision beyond)
            bought = clv.expected_purchases(bg, 39, x, t_x, big_t)
            bought_gaps.append(np.abs(bought - clv.expected_purchases(limit, 39, x, t_x, big_t)).max() / bought.max())
    assert alive_gaps[0] > alive_gaps[1] > alive_gaps[2] and alive_gaps[2] < 1e-3
    assert bought_gaps[0] > bought_gaps[1] and bought_gaps[1] < 0.02
    params = np.array([0.24, 4.4, 0.08])
    bg_params = np.array([0.24, 4.4, 0.08 * 1e5, 0.92 * 1e5])
    assert clv._limit_log_likelihoods(params, x, t_x, big_t).sum() == pytest.approx(
        clv._bgnbd_log_likelihoods(bg_params, x, t_x, big_t).sum(), abs=0.5)


def simulate(r: float, alpha: float, p: float, customers: int, seed: int) -> tuple[np.ndarray, ...]:
    """Purchases at a Gamma(r, alpha) rate; after each one the customer leaves with probability p."""
    rng = np.random.default_rng(seed)
    big_t = rng.uniform(20, 60, customers)
    x, t_x = np.zeros(customers), np.zeros(customers)
    for i in range(customers):
        rate, now = rng.gamma(r, 1 / alpha), 0.0
        while True:
            now += rng.exponential(1 / rate)
            if now > big_t[i]:
                break
            x[i], t_x[i] = x[i] + 1, now
            if rng.random() < p:
                break
    return x, t_x, big_t


def test_a_store_with_one_dropout_probability_is_fitted_by_the_limit():
    # given: every customer drops out with the same probability (data from the limit model)
    x, t_x, big_t = simulate(r=0.6, alpha=6.0, p=0.05, customers=4000, seed=3)
    # when
    choice = clv.choose_purchase_model(x, t_x, big_t)
    # then: BG/NBD gains nothing from a, b (it runs off towards them being infinite), so the limit is used
    assert choice.test.limit_chosen and choice.test.statistic <= clv.LIKELIHOOD_RATIO_CRITICAL_VALUE
    assert choice.model is choice.limit
    limit = choice.limit
    assert limit.converged
    assert limit.p == pytest.approx(0.05, rel=0.25)
    assert limit.r == pytest.approx(0.6, rel=0.15) and limit.alpha == pytest.approx(6.0, rel=0.2)
    assert choice.full.a + choice.full.b > 1000 and limit.p == pytest.approx(
        choice.full.a / (choice.full.a + choice.full.b), rel=0.05)
    assert choice.test.limit_log_likelihood == round(limit.log_likelihood, 3)
    assert choice.test.full_log_likelihood == round(choice.full.log_likelihood, 3)
    values = clv.predicted_clv(limit, clv.GammaGammaFit(p=6, q=4, v=15, log_likelihood=0, converged=True,
                                                        n_customers=0), x, t_x, big_t, np.full(x.size, 30.0), 52)
    assert np.all(np.isfinite(values)) and values.mean() > 0


def test_a_store_with_different_dropout_keeps_the_full_model(cdnow):
    choice = clv.choose_purchase_model(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert not choice.test.limit_chosen and choice.model is choice.full
    # CDNOW's dropout is Beta(0.79, 2.43): one probability for everyone is far less likely
    assert choice.test.statistic == pytest.approx(2 * (choice.full.log_likelihood - choice.limit.log_likelihood),
                                                  abs=0.002)
    assert choice.test.statistic > 40


def _alike_spenders(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 12, 3000).astype(float)
    m = np.array([rng.gamma(4.0, 1 / 0.1, int(n)).mean() for n in x])  # every purchase Gamma(p=4, nu=0.1)
    return x, m


def test_a_store_whose_customers_spend_alike_is_fitted_by_the_constant_spend_limit():
    # given: data from the constant-spend limit
    x, m = _alike_spenders(seed=8)
    # when
    choice = clv.choose_spend_model(x, m)
    # then: the Gamma-Gamma fit ends at a finite q (about 820 here, and it converges), yet it is no better than the
    # limit by more than the likelihood-ratio threshold: the limit is chosen whatever the optimiser reported
    assert choice.full.q > 100
    assert choice.test.limit_chosen and choice.model is choice.limit
    assert 0 <= choice.test.statistic < 1.0
    limit = choice.limit
    assert limit.converged
    assert limit.p == pytest.approx(4.0, rel=0.05) and limit.nu == pytest.approx(0.1, rel=0.05)
    assert limit.p / limit.nu == pytest.approx((x * m).sum() / x.sum())  # the mean purchase value
    assert np.all(clv.expected_average_value(limit, x, m) == limit.p / limit.nu)


def test_a_store_whose_spend_differs_keeps_the_gamma_gamma():
    monetary = read_summary("cdnow_customers_summary_with_transactions.csv")
    repeat = monetary["x"] > 0
    choice = clv.choose_spend_model(monetary["x"][repeat], monetary["zbar"][repeat])
    assert not choice.test.limit_chosen and choice.model is choice.full
    assert choice.full.converged and choice.test.statistic > 100


def test_the_threshold_is_the_chi_square_critical_value_for_one_parameter():
    assert clv.LIKELIHOOD_RATIO_CRITICAL_VALUE == pytest.approx(stats.chi2.ppf(0.95, 1), abs=1e-3)
    within = clv.likelihood_ratio_test(full_log_likelihood=-1000.0, limit_log_likelihood=-1001.92)
    assert within.statistic == 3.84 and within.limit_chosen
    beyond = clv.likelihood_ratio_test(full_log_likelihood=-1000.0, limit_log_likelihood=-1001.921)
    assert beyond.statistic == 3.842 and not beyond.limit_chosen
    # a full fit that stopped short of its boundary (lower than its own limit) counts as no gain
    short = clv.likelihood_ratio_test(full_log_likelihood=-1000.5, limit_log_likelihood=-1000.0)
    assert short.statistic == 0.0 and short.limit_chosen


def test_the_choice_and_the_numbers_do_not_depend_on_the_optimisers_path(cdnow, monkeypatch):
    """What differs between machines is the optimiser's path (last-bit rounding, iterations, its success flag);
    started from each point alone, the fits must give the same choice and the same reported digits."""
    x_spend, m_spend = _alike_spenders(seed=8)
    purchases = [clv.choose_purchase_model(cdnow["frequency"], cdnow["recency"], cdnow["T"])]
    spends = [clv.choose_spend_model(x_spend, m_spend)]
    for bgnbd_start, spend_start in zip(clv._BGNBD_STARTS, clv._GAMMA_GAMMA_STARTS, strict=True):
        monkeypatch.setattr(clv, "_BGNBD_STARTS", (bgnbd_start,))
        monkeypatch.setattr(clv, "_GAMMA_GAMMA_STARTS", (spend_start,))
        purchases.append(clv.choose_purchase_model(cdnow["frequency"], cdnow["recency"], cdnow["T"]))
        spends.append(clv.choose_spend_model(x_spend, m_spend))
    assert len({choice.test for choice in purchases}) == 1
    assert len({choice.test for choice in spends}) == 1
    assert len({tuple(round(getattr(choice.full, name), 6) for name in ("r", "alpha", "a", "b"))
                for choice in purchases}) == 1
    assert len({round(choice.full.q, 3) for choice in spends}) == 1


def test_calling_twice_gives_identical_output(cdnow):
    first = clv.choose_purchase_model(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    second = clv.choose_purchase_model(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert first == second
