"""BG/NBD's constant-dropout limit (a, b -> infinity, a / (a + b) -> p): the model a store's fit
runs to when its customers' dropout hardly differs."""

import numpy as np
import pytest

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
    x, t_x, big_t = simulate(r=0.6, alpha=6.0, p=0.05, customers=4000, seed=3)
    bg = clv.fit_bgnbd(x, t_x, big_t)
    assert clv.dropout_is_homogeneous(bg)  # runs off to a, b -> infinity
    limit = clv.fit_constant_dropout(x, t_x, big_t)
    assert limit.converged
    assert limit.p == pytest.approx(0.05, rel=0.25)
    assert limit.r == pytest.approx(0.6, rel=0.15) and limit.alpha == pytest.approx(6.0, rel=0.2)
    assert limit.p == pytest.approx(bg.a / (bg.a + bg.b), rel=0.05)
    assert limit.log_likelihood >= bg.log_likelihood - 1e-3  # the boundary's supremum
    values = clv.predicted_clv(limit, clv.GammaGammaFit(p=6, q=4, v=15, log_likelihood=0, converged=True,
                                                        n_customers=0), x, t_x, big_t, np.full(x.size, 30.0), 52)
    assert np.all(np.isfinite(values)) and values.mean() > 0


def test_a_store_with_different_dropout_keeps_the_full_model(cdnow):
    fit = clv.fit_bgnbd(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert fit.converged and not clv.dropout_is_homogeneous(fit)


def test_a_store_whose_customers_spend_alike_is_fitted_by_the_constant_spend_limit():
    rng = np.random.default_rng(8)
    x = rng.integers(1, 12, 3000).astype(float)
    m = np.array([rng.gamma(4.0, 1 / 0.1, int(n)).mean() for n in x])  # every purchase Gamma(p=4, nu=0.1)
    gamma_gamma = clv.fit_gamma_gamma(x, m)
    assert clv.spend_is_homogeneous(gamma_gamma)  # q, v run off together
    limit = clv.fit_constant_spend(x, m)
    assert limit.converged
    assert limit.p == pytest.approx(4.0, rel=0.05) and limit.nu == pytest.approx(0.1, rel=0.05)
    assert limit.p / limit.nu == pytest.approx((x * m).sum() / x.sum())  # the mean purchase value
    # as likely as the Gamma-Gamma's (within a likelihood-ratio test's noise), with one parameter fewer
    assert abs(limit.log_likelihood - gamma_gamma.log_likelihood) < 1.0
    assert np.all(clv.expected_average_value(limit, x, m) == limit.p / limit.nu)


def test_a_store_whose_spend_differs_keeps_the_gamma_gamma():
    monetary = read_summary("cdnow_customers_summary_with_transactions.csv")
    repeat = monetary["x"] > 0
    fit = clv.fit_gamma_gamma(monetary["x"][repeat], monetary["zbar"][repeat])
    assert fit.converged and not clv.spend_is_homogeneous(fit)
