"""Predicted customer lifetime value: the BG/NBD and Gamma-Gamma models, fitted by maximum likelihood.

Implemented with numpy/scipy because the `lifetimes` library is unmaintained and does not run on current numpy.

Purchase counts -- BG/NBD, Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to the
Pareto/NBD Model", Marketing Science 24(2), 275-284. A customer buys as a Poisson process with rate lambda ~
Gamma(r, alpha) while alive, and after each purchase drops out with probability p ~ Beta(a, b). The data per customer
is (x, t_x, T): x repeat purchases (purchases after the first one), t_x the time of the last of them measured from the
first purchase (0 when x = 0), T the time from the first purchase to the end of the observation window. Any time unit
works if it is used consistently (CDNOW and the papers use weeks).

- Likelihood, eq. (6): L = B(a, b+x)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+T)^(r+x))
  + [x > 0] B(a+1, b+x-1)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x)), evaluated in logs with
  ``gammaln``/``betaln`` and ``logaddexp`` so it stays finite for any frequency.
- P(alive), from Fader, Hardie & Lee (2008) "Computing P(alive) Using the BG/NBD Model":
  1 / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)); exactly 1 when x = 0 (in this model a customer can only
  drop out right after a repeat purchase).
- Unconditional expectation, eq. (9): E[X(t)] = (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))].
- Conditional expectation, eq. (10): E[Y(t) | x, t_x, T] = (a+b+x-1)/(a-1)
  [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))] * P(alive).
  Both hypergeometric terms are evaluated after Euler's transformation 2F1(A, B; C; z) = (1-z)^(C-A-B)
  2F1(C-A, C-B; C; z), which turns the product into (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z): the series then has
  bounded upper parameters, so it neither overflows nor loses precision for large x (the naive form overflows).

Spend per purchase -- Gamma-Gamma, Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value"
(brucehardie.com/notes/025). Each purchase value is Gamma(p, nu) with nu ~ Gamma(q, v) across customers; the data is
the mean value m of the customer's x repeat purchases (only customers with x > 0 enter the fit).

- Likelihood of the mean (note 025, eq. 4): G(px+q) / (G(px) G(q)) v^q m^(px-1) x^(px) / (v + m x)^(px+q).
- Expected average value given (x, m), eq. (5): p (v + x m) / (p x + q - 1), a weighted mean of the population mean
  p v / (q - 1) and the observed mean m; for x = 0 it is the population mean (needs q > 1).

Fitting: parameters are optimised in logs (L-BFGS-B with the analytic gradient from fixed starting points, the best
one kept); times and amounts are rescaled internally so the starts work for any unit. ``converged`` describes the
point found, not the optimiser's report (whose ``success`` flag differs between CPUs on flat likelihoods): it is True
when no log-parameter sits on its search bound (which is what happens when the maximum is at infinity, e.g. tiny or
degenerate data), the gradient there is ~0 and the Hessian of the negative log-likelihood is positive definite (a
proper local maximum; its inverse gives the ``standard_errors``). When ``converged`` is False the parameters are the
best values found but must not be used for predictions. Invalid input (negative values, recency > T, no repeat buyer
at all) raises ``ValueError``.

Model choice (``choose_purchase_model``, ``choose_spend_model``): each model has a limit with one parameter fewer,
nested in it -- BG/NBD's constant dropout (a, b -> infinity) and Gamma-Gamma's constant spend (q, v -> infinity).
Both are fitted and the limit is used unless the full model's maximised log-likelihood beats it by more than a
likelihood-ratio threshold (``LIKELIHOOD_RATIO_CRITICAL_VALUE``). The choice reads only the two log-likelihoods
(rounded), never a convergence flag, so the same data gives the same model on every machine and every call.

Validated in tests/analytics/test_clv.py against the published CDNOW results (2,357 customers, 39 weeks):
r=0.243, alpha=4.414, a=0.793, b=2.426, LL=-9582.4; Gamma-Gamma p=6.25, q=3.74, v=15.44.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

FloatArray = NDArray[np.float64]

# Search box for the log-parameters (after rescaling): a fit that ends on it has its maximum at 0 or infinity.
_LOG_BOUND = 12.0
_EDGE_TOLERANCE = 1e-3

_BGNBD_STARTS = ((1.0, 1.0, 1.0, 1.0), (0.5, 0.5, 0.5, 2.0), (2.0, 2.0, 2.0, 5.0))
_GAMMA_GAMMA_STARTS = ((1.0, 2.0, 1.0), (5.0, 3.0, 5.0), (0.5, 5.0, 10.0))
_LIMIT_STARTS = ((1.0, 1.0, 0.1), (0.5, 0.5, 0.02), (2.0, 2.0, 0.5))  # (r, alpha, p / (1 - p))
# A maximum: the gradient of the mean log-likelihood per customer (in log-parameters) is this close to 0.
_STATIONARY_GRADIENT = 1e-4
_POLISH_STEPS = 8
_POLISH_DIFFERENCE = 1e-5  # step of the Hessian's central differences, in log-parameters

# Likelihood-ratio threshold for keeping the full model over its nested limit: the chi-square critical value for one
# extra parameter at the 5 % level (scipy.stats.chi2.ppf(0.95, 1) = 3.8415), rounded.  Boundary note: the limit sits
# on the edge of the full model's parameter space (1 / (a + b) = 0, 1 / q = 0), where the statistic under the limit
# is not chi-square(1) but the 50:50 mixture of chi-square(0) and chi-square(1) (Self & Liang 1987); against that
# mixture 3.841 is a 2.5 % test.  We keep the plain value on purpose: it leans towards the simpler limit, whose
# predictions are the stabler ones when the extra parameter is barely identified.
LIKELIHOOD_RATIO_CRITICAL_VALUE = 3.841
# Log-likelihoods are compared rounded to this many decimals (CPU-level noise is ~1e-9 of them), so that the choice
# can be re-checked from the reported values.
LOG_LIKELIHOOD_DECIMALS = 3


# ---------------------------------------------------------------------------------------------------------------------
# Fits
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BgNbdFit:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    converged: bool
    n_customers: int
    # Standard errors of (r, alpha, a, b) from the inverse Hessian; None when the Hessian is not positive definite.
    standard_errors: tuple[float, float, float, float] | None = None


@dataclass(frozen=True)
class GammaGammaFit:
    p: float
    q: float
    v: float
    log_likelihood: float
    converged: bool
    n_customers: int
    standard_errors: tuple[float, float, float] | None = None


@dataclass(frozen=True)
class ConstantDropoutFit:
    """BG/NBD's limit as a, b -> infinity with a / (a + b) -> p: after each purchase every customer
    drops out with the same probability ``p`` (no heterogeneity in dropout).  A store's BG/NBD fit
    runs off to that boundary (``a`` and ``b`` unbounded, ``converged`` False) when its customers'
    dropout hardly differs; this limit is then the maximum-likelihood model, with three parameters."""

    r: float
    alpha: float
    p: float
    log_likelihood: float
    converged: bool
    n_customers: int
    standard_errors: tuple[float, float, float] | None = None


PurchaseFit = BgNbdFit | ConstantDropoutFit


def _as_float_array(values: ArrayLike, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite numbers")
    return array


def _validate_bgnbd_data(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    x = _as_float_array(frequency, "frequency")
    t_x = _as_float_array(recency, "recency")
    big_t = _as_float_array(T, "T")
    x, t_x, big_t = np.broadcast_arrays(x, t_x, big_t)
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("frequency must be whole numbers >= 0 (repeat purchases)")
    if np.any(t_x < 0) or np.any(big_t < 0):
        raise ValueError("recency and T must be >= 0")
    if np.any(t_x > big_t):
        raise ValueError("recency must not exceed T")
    if np.any((x == 0) & (t_x != 0)):
        raise ValueError("recency must be 0 for customers without repeat purchases")
    return x, t_x, big_t


# ---------------------------------------------------------------------------------------------------------------------
# Compact data: each distinct customer once, each distinct value once
# ---------------------------------------------------------------------------------------------------------------------


def _dot(left: FloatArray, right: FloatArray) -> float:
    """Sum of the products, in numpy's own single-threaded (pairwise) sum: ``@`` calls BLAS, whose threads
    spin on a busy machine and cost several times the work itself."""
    return float(np.multiply(left, right).sum())


@dataclass(frozen=True)
class _Distinct:
    """A column stored as its distinct values and, per row, the index of its value: the special functions
    (gammaln, betaln, digamma, log) then run once per distinct value (a few hundred purchase counts, a few
    thousand day counts) instead of once per customer."""

    values: FloatArray
    index: NDArray[np.intp]

    @classmethod
    def of(cls, column: FloatArray) -> _Distinct:
        values, index = np.unique(column, return_inverse=True)
        return cls(values=values, index=index.ravel())

    def scaled(self, factor: float) -> _Distinct:
        return _Distinct(values=self.values / factor, index=self.index)


@dataclass(frozen=True)
class _PurchaseData:
    """BG/NBD data with identical customers (same x, t_x, T: whole days make them common) merged into one
    row of ``weight`` customers.  The log-likelihood is a sum over customers, so weighting each distinct
    row by its count gives the same value and gradient."""

    x: FloatArray  # per row
    x_distinct: _Distinct
    t_x: _Distinct
    big_t: _Distinct
    weight: FloatArray
    repeat: NDArray[np.bool_]
    customer_rows: NDArray[np.intp]  # per customer (in the order given), its row

    @property
    def customers_by_x(self) -> FloatArray:
        """Customers per distinct x."""
        return np.bincount(self.x_distinct.index, self.weight, minlength=self.x_distinct.values.size).astype(np.float64)

    @classmethod
    def of(cls, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> _PurchaseData:
        x, t_x, big_t = x.ravel(), t_x.ravel(), big_t.ravel()
        order = np.lexsort((big_t, t_x, x))  # np.unique(axis=0) does the same, many times slower
        columns = np.stack([x[order], t_x[order], big_t[order]])
        starts = np.ones(order.size, dtype=bool)
        starts[1:] = np.any(columns[:, 1:] != columns[:, :-1], axis=0)
        rows = columns[:, starts].T
        customer_rows = np.empty(order.size, dtype=np.intp)
        customer_rows[order] = np.cumsum(starts) - 1
        weight = np.diff(np.append(np.flatnonzero(starts), order.size))
        return cls(x=rows[:, 0], x_distinct=_Distinct.of(rows[:, 0]), t_x=_Distinct.of(rows[:, 1]),
                   big_t=_Distinct.of(rows[:, 2]), weight=weight.astype(np.float64), repeat=rows[:, 0] > 0,
                   customer_rows=customer_rows.ravel())

    def scaled(self, factor: float) -> _PurchaseData:
        """Times divided by ``factor`` (the fits work in a unit where the mean T is 1)."""
        return _PurchaseData(x=self.x, x_distinct=self.x_distinct, t_x=self.t_x.scaled(factor),
                             big_t=self.big_t.scaled(factor), weight=self.weight, repeat=self.repeat,
                             customer_rows=self.customer_rows)

    def rows(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(x, t_x, T) of each distinct row."""
        return self.x, self.t_x.values[self.t_x.index], self.big_t.values[self.big_t.index]


# ---------------------------------------------------------------------------------------------------------------------
# BG/NBD
# ---------------------------------------------------------------------------------------------------------------------


def _bgnbd_terms(
    params: FloatArray, data: _PurchaseData
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per-row pieces of eq. (6): ln A1, ln A2, ln A3 (-inf when x = 0), and ln(alpha+T), ln(alpha+t_x)."""
    r, alpha, a, b = params
    distinct_x = data.x_distinct.values
    x_repeat = np.where(distinct_x > 0, distinct_x, 1.0)  # keeps b + x - 1 > 0 where the term is masked out anyway
    beta = special.betaln(a, b)
    by_x = data.x_distinct.index
    log_a1 = (special.gammaln(r + distinct_x) - special.gammaln(r) + r * math.log(alpha))[by_x]
    log_alpha_t = np.log(alpha + data.big_t.values)[data.big_t.index]
    log_alpha_t_x = np.log(alpha + data.t_x.values)[data.t_x.index]
    log_a2 = (special.betaln(a, b + distinct_x) - beta)[by_x] - (r + data.x) * log_alpha_t
    log_a3 = (special.betaln(a + 1.0, b + x_repeat - 1.0) - beta)[by_x] - (r + data.x) * log_alpha_t_x
    log_a3 = np.where(data.repeat, log_a3, -np.inf)
    return log_a1, log_a2, log_a3, log_alpha_t, log_alpha_t_x


def _bgnbd_row_log_likelihoods(params: FloatArray, data: _PurchaseData) -> FloatArray:
    log_a1, log_a2, log_a3, _, _ = _bgnbd_terms(params, data)
    return log_a1 + np.logaddexp(log_a2, log_a3)


def _bgnbd_log_likelihoods(params: FloatArray, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> FloatArray:
    """Each customer's log-likelihood, eq. (6)."""
    data = _PurchaseData.of(*np.broadcast_arrays(x, t_x, big_t))
    return _bgnbd_row_log_likelihoods(params, data)[data.customer_rows]


def _bgnbd_log_likelihood(params: FloatArray, data: _PurchaseData) -> float:
    return float(_dot(data.weight, _bgnbd_row_log_likelihoods(params, data)))


def _bgnbd_value_gradient(params: FloatArray, data: _PurchaseData) -> tuple[float, FloatArray]:
    """The summed log-likelihood and its gradient with respect to (r, alpha, a, b), from one set of terms; the
    per-x parts are summed per distinct x (customers per x times the term) rather than per row."""
    r, alpha, a, b = params
    log_a1, log_a2, log_a3, log_alpha_t, log_alpha_t_x = _bgnbd_terms(params, data)
    both = np.logaddexp(log_a2, log_a3)
    w = data.weight
    value = float(_dot(w, (log_a1 + both)))
    dropped = w * np.exp(log_a3 - both)  # customers (weighted) in the "dropped after t_x" branch
    alive = w - dropped
    psi = special.digamma
    distinct_x = data.x_distinct.values
    x_repeat = np.where(distinct_x > 0, distinct_x, 1.0)
    by_x = data.customers_by_x
    dropped_by_x = np.bincount(data.x_distinct.index, dropped, minlength=distinct_x.size).astype(np.float64)
    alive_by_x = by_x - dropped_by_x
    customers = float(w.sum())
    r_x = r + data.x
    d_r = (_dot(by_x, (psi(r + distinct_x) - psi(r))) + customers * math.log(alpha) - _dot(alive, log_alpha_t)
           - _dot(dropped, log_alpha_t_x))
    d_alpha = (customers * r / alpha - _dot((alive * r_x), (1.0 / (alpha + data.big_t.values))[data.big_t.index])
               - _dot((dropped * r_x), (1.0 / (alpha + data.t_x.values))[data.t_x.index]))
    common = _dot(by_x, (psi(a + b) - psi(a + b + distinct_x)))
    d_a = common + float(dropped.sum()) * (psi(a + 1.0) - psi(a))
    d_b = (common + _dot(alive_by_x, (psi(b + distinct_x) - psi(b)))
           + _dot(dropped_by_x, (psi(b + x_repeat - 1.0) - psi(b))))
    return value, np.array([d_r, d_alpha, d_a, d_b])


def _bgnbd_gradient(params: FloatArray, data: _PurchaseData) -> FloatArray:
    """Gradient of the summed log-likelihood with respect to (r, alpha, a, b)."""
    return _bgnbd_value_gradient(params, data)[1]


def fit_bgnbd(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> BgNbdFit:
    """Maximum-likelihood BG/NBD fit (Fader, Hardie & Lee 2005, eq. 6) on per-customer (x, t_x, T)."""
    x, t_x, big_t = _validate_bgnbd_data(frequency, recency, T)
    x, t_x, big_t = x.ravel(), t_x.ravel(), big_t.ravel()
    if x.size == 0:
        raise ValueError("no customers to fit")
    if not np.any(x > 0):
        raise ValueError("no customer has a repeat purchase: the BG/NBD parameters cannot be estimated")
    if np.all(big_t == 0):
        raise ValueError("every customer has T = 0: there is no observation time to fit")
    scale = float(np.mean(big_t))
    data = _PurchaseData.of(x, t_x, big_t)
    scaled = data.scaled(scale)
    n = x.size

    def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
        params = np.exp(log_params)
        value, gradient = _bgnbd_value_gradient(params, scaled)
        return -value / n, -gradient * params / n

    result = _minimise(objective, _BGNBD_STARTS)
    r, scaled_alpha, a, b = np.exp(result.x)
    params = np.array([r, scaled_alpha * scale, a, b])
    log_likelihood = _bgnbd_log_likelihood(params, data)
    standard_errors = _standard_errors(lambda p: _bgnbd_gradient(p, data), params)
    return BgNbdFit(
        r=float(params[0]),
        alpha=float(params[1]),
        a=float(params[2]),
        b=float(params[3]),
        log_likelihood=log_likelihood,
        converged=_converged(result, standard_errors),
        n_customers=n,
        standard_errors=None if standard_errors is None else _four(standard_errors),
    )


def _limit_terms(
    params: FloatArray, data: _PurchaseData
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """eq. (6) as a, b -> infinity: B(a, b+x)/B(a, b) -> (1-p)^x and B(a+1, b+x-1)/B(a, b) -> p (1-p)^(x-1)."""
    r, alpha, p = params
    distinct_x = data.x_distinct.values
    by_x = data.x_distinct.index
    x = data.x
    x_repeat = np.where(data.repeat, x, 1.0)
    log_a1 = (special.gammaln(r + distinct_x) - special.gammaln(r) + r * math.log(alpha))[by_x]
    log_alpha_t = np.log(alpha + data.big_t.values)[data.big_t.index]
    log_alpha_t_x = np.log(alpha + data.t_x.values)[data.t_x.index]
    log_a2 = x * math.log1p(-p) - (r + x) * log_alpha_t
    log_a3 = math.log(p) + (x_repeat - 1.0) * math.log1p(-p) - (r + x) * log_alpha_t_x
    return log_a1, log_a2, np.where(data.repeat, log_a3, -np.inf), log_alpha_t, log_alpha_t_x


def _limit_row_log_likelihoods(params: FloatArray, data: _PurchaseData) -> FloatArray:
    log_a1, log_a2, log_a3, _, _ = _limit_terms(params, data)
    return log_a1 + np.logaddexp(log_a2, log_a3)


def _limit_log_likelihoods(params: FloatArray, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> FloatArray:
    """Each customer's log-likelihood in the constant-dropout limit."""
    data = _PurchaseData.of(*np.broadcast_arrays(x, t_x, big_t))
    return _limit_row_log_likelihoods(params, data)[data.customer_rows]


def _limit_log_likelihood(params: FloatArray, data: _PurchaseData) -> float:
    return float(_dot(data.weight, _limit_row_log_likelihoods(params, data)))


def _limit_value_gradient(params: FloatArray, data: _PurchaseData) -> tuple[float, FloatArray]:
    """The summed log-likelihood and its gradient with respect to (r, alpha, p)."""
    r, alpha, p = params
    log_a1, log_a2, log_a3, log_alpha_t, log_alpha_t_x = _limit_terms(params, data)
    both = np.logaddexp(log_a2, log_a3)
    w = data.weight
    value = float(_dot(w, (log_a1 + both)))
    dropped = w * np.exp(log_a3 - both)
    alive = w - dropped
    x = data.x
    x_repeat = np.where(data.repeat, x, 1.0)
    psi = special.digamma
    distinct_x = data.x_distinct.values
    customers = float(w.sum())
    r_x = r + x
    d_r = (_dot(data.customers_by_x, (psi(r + distinct_x) - psi(r))) + customers * math.log(alpha)
           - _dot(alive, log_alpha_t) - _dot(dropped, log_alpha_t_x))
    d_alpha = (customers * r / alpha - _dot((alive * r_x), (1.0 / (alpha + data.big_t.values))[data.big_t.index])
               - _dot((dropped * r_x), (1.0 / (alpha + data.t_x.values))[data.t_x.index]))
    d_p = _dot(alive, (-x / (1.0 - p))) + _dot(dropped, (1.0 / p - (x_repeat - 1.0) / (1.0 - p)))
    return value, np.array([d_r, d_alpha, d_p])


def _limit_gradient(params: FloatArray, data: _PurchaseData) -> FloatArray:
    """Gradient of the summed log-likelihood with respect to (r, alpha, p)."""
    return _limit_value_gradient(params, data)[1]


def fit_constant_dropout(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> ConstantDropoutFit:
    """Maximum-likelihood fit of BG/NBD's constant-dropout limit (see ``ConstantDropoutFit``)."""
    x, t_x, big_t = _validate_bgnbd_data(frequency, recency, T)
    x, t_x, big_t = x.ravel(), t_x.ravel(), big_t.ravel()
    if x.size == 0 or not np.any(x > 0) or np.all(big_t == 0):
        raise ValueError("no repeat purchases or no observation time to fit")
    scale = float(np.mean(big_t))
    data = _PurchaseData.of(x, t_x, big_t)
    scaled = data.scaled(scale)
    n = x.size

    def natural(log_params: FloatArray) -> FloatArray:  # (log r, log alpha, logit p) -> (r, alpha, p)
        r, alpha, odds = np.exp(log_params)
        return np.array([r, alpha, odds / (1.0 + odds)])

    def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
        params = natural(log_params)
        value, gradient = _limit_value_gradient(params, scaled)
        chain = np.array([params[0], params[1], params[2] * (1.0 - params[2])])
        return -value / n, -gradient * chain / n

    result = _minimise(objective, _LIMIT_STARTS)
    r, scaled_alpha, p = natural(result.x)
    params = np.array([r, scaled_alpha * scale, p])
    standard_errors = _standard_errors(lambda values: _limit_gradient(values, data), params)
    return ConstantDropoutFit(
        r=float(params[0]), alpha=float(params[1]), p=float(params[2]),
        log_likelihood=_limit_log_likelihood(params, data),
        converged=_converged(result, standard_errors), n_customers=n,
        standard_errors=None if standard_errors is None else _three(standard_errors),
    )


def _four(values: FloatArray) -> tuple[float, float, float, float]:
    return float(values[0]), float(values[1]), float(values[2]), float(values[3])


def _three(values: FloatArray) -> tuple[float, float, float]:
    return float(values[0]), float(values[1]), float(values[2])


def probability_alive(fit: PurchaseFit, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
    """P(alive at T | x, t_x, T); 1 for customers without repeat purchases."""
    x, t_x, big_t = _validate_bgnbd_data(frequency, recency, T)
    return _probability_alive(fit, x, t_x, big_t)


def _probability_alive(fit: PurchaseFit, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> FloatArray:
    repeat = x > 0
    x_repeat = np.where(repeat, x, 1.0)
    # a / (b + x - 1) -> p / (1 - p) in the constant-dropout limit
    log_odds = (math.log(fit.p) - math.log1p(-fit.p) if isinstance(fit, ConstantDropoutFit)
                else math.log(fit.a) - np.log(fit.b + x_repeat - 1.0))
    log_odds_dead = log_odds + (fit.r + x) * (np.log(fit.alpha + big_t) - np.log(fit.alpha + t_x))
    return np.where(repeat, special.expit(-log_odds_dead), 1.0)


def _expected_purchases_factor(fit: PurchaseFit, x: FloatArray, origin: FloatArray, t: FloatArray) -> FloatArray:
    """(a+b+x-1)/(a-1) [1 - ((alpha+origin)/(alpha+origin+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)], Euler-transformed.

    In the constant-dropout limit 2F1 -> (1 - (1-p) z)^-(r+x), which leaves
    (1/p) [1 - ((alpha+origin)/(alpha+origin+p t))^(r+x)]."""
    if isinstance(fit, ConstantDropoutFit):
        ratio = (fit.alpha + origin) / (fit.alpha + origin + fit.p * t)
        return -np.expm1((fit.r + x) * np.log(ratio)) / fit.p
    a = fit.a if abs(fit.a - 1.0) > 1e-9 else 1.0 + 1e-9  # removable singularity at a = 1
    z = t / (fit.alpha + origin + t)
    c = a + fit.b + x - 1.0
    tail = np.exp((a - 1.0) * np.log1p(-z)) * special.hyp2f1(a + fit.b - 1.0 - fit.r, a - 1.0, c, z)
    return c / (a - 1.0) * (1.0 - tail)


def expected_purchases(
    fit: PurchaseFit, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> FloatArray:
    """E[purchases in (T, T+t] | x, t_x, T], eq. (10) of Fader, Hardie & Lee (2005)."""
    x, t_x, big_t = _validate_bgnbd_data(frequency, recency, T)
    horizon = _as_float_array(t, "t")
    if np.any(horizon < 0):
        raise ValueError("t must be >= 0")
    return _expected_purchases_factor(fit, x, big_t, horizon) * _probability_alive(fit, x, t_x, big_t)


def expected_purchases_new(fit: PurchaseFit, t: ArrayLike) -> FloatArray:
    """E[X(t)]: expected repeat purchases in (0, t] for a customer just acquired, eq. (9)."""
    horizon = _as_float_array(t, "t")
    if np.any(horizon < 0):
        raise ValueError("t must be >= 0")
    zero = np.zeros_like(horizon)
    return _expected_purchases_factor(fit, zero, zero, horizon)


# ---------------------------------------------------------------------------------------------------------------------
# Gamma-Gamma
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SpendData:
    """Gamma-Gamma data: per repeat customer x and m, with the distinct x apart (the special functions of p x run
    once per distinct purchase count) and the constant logs computed once."""

    x: FloatArray
    x_distinct: _Distinct
    m: FloatArray
    log_m: FloatArray
    log_x_m: FloatArray  # ln(m x)

    @classmethod
    def of(cls, x: FloatArray, m: FloatArray) -> _SpendData:
        return cls(x=x, x_distinct=_Distinct.of(x), m=m, log_m=np.log(m), log_x_m=np.log(m * x))


def _gamma_gamma_row_log_likelihoods(params: FloatArray, data: _SpendData) -> FloatArray:
    p, q, v = params
    distinct_x = data.x_distinct.values
    by_x = (special.gammaln(p * distinct_x + q) - special.gammaln(p * distinct_x) + p * distinct_x
            * np.log(distinct_x))[data.x_distinct.index]
    x = data.x
    return (by_x - special.gammaln(q) + q * math.log(v) + (p * x - 1.0) * data.log_m
            - (p * x + q) * np.log(v + data.m * x))


def _gamma_gamma_log_likelihoods(params: FloatArray, x: FloatArray, m: FloatArray) -> FloatArray:
    """Each repeat customer's log-likelihood of their mean spend (note 025, eq. 4)."""
    return _gamma_gamma_row_log_likelihoods(params, _SpendData.of(np.asarray(x, dtype=np.float64),
                                                                  np.asarray(m, dtype=np.float64)))


def _gamma_gamma_gradient(params: FloatArray, data: _SpendData) -> FloatArray:
    p, q, v = params
    psi = special.digamma
    distinct_x = data.x_distinct.values
    by_x = data.x_distinct.index
    x = data.x
    log_total = np.log(v + data.m * x)
    d_p = x * ((psi(p * distinct_x + q) - psi(p * distinct_x))[by_x] + data.log_x_m - log_total)
    d_q = (psi(p * distinct_x + q))[by_x] - psi(q) + math.log(v) - log_total
    d_v = q / v - (p * x + q) / (v + data.m * x)
    return np.array([d_p.sum(), d_q.sum(), d_v.sum()])


def fit_gamma_gamma(frequency: ArrayLike, monetary: ArrayLike) -> GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma fit (Fader & Hardie 2013) on the customers with frequency > 0.

    ``monetary`` is the mean value of the customer's repeat purchases (the first purchase excluded), as in the paper.
    """
    x_all = _as_float_array(frequency, "frequency").ravel()
    m_all = _as_float_array(monetary, "monetary").ravel()
    if x_all.shape != m_all.shape:
        raise ValueError("frequency and monetary must have the same length")
    if np.any(x_all < 0) or np.any(x_all != np.round(x_all)):
        raise ValueError("frequency must be whole numbers >= 0 (repeat purchases)")
    repeat = x_all > 0
    x, m = x_all[repeat], m_all[repeat]
    if x.size == 0:
        raise ValueError("no customer has a repeat purchase: the Gamma-Gamma parameters cannot be estimated")
    if np.any(m <= 0):
        raise ValueError("monetary must be > 0 for customers with repeat purchases")
    scale = float(np.mean(m))
    data = _SpendData.of(x, m)
    scaled = _SpendData.of(x, m / scale)
    n = x.size

    def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
        params = np.exp(log_params)
        value = -float(_gamma_gamma_row_log_likelihoods(params, scaled).sum()) / n
        gradient = -_gamma_gamma_gradient(params, scaled) * params / n
        return value, gradient

    result = _minimise(objective, _GAMMA_GAMMA_STARTS)
    p, q, scaled_v = np.exp(result.x)
    params = np.array([p, q, scaled_v * scale])
    log_likelihood = float(_gamma_gamma_row_log_likelihoods(params, data).sum())
    standard_errors = _standard_errors(lambda values: _gamma_gamma_gradient(values, data), params)
    return GammaGammaFit(
        p=float(params[0]),
        q=float(params[1]),
        v=float(params[2]),
        log_likelihood=log_likelihood,
        converged=_converged(result, standard_errors),
        n_customers=n,
        standard_errors=None if standard_errors is None else _three(standard_errors),
    )


@dataclass(frozen=True)
class ConstantSpendFit:
    """Gamma-Gamma's limit as q, v -> infinity with v / q -> 1 / nu: every transaction value is
    Gamma(p, nu) for every customer (no heterogeneity in mean spend), so the expected average
    value is the same for everyone, p / nu: the mean repeat transaction value.  A store's
    Gamma-Gamma fit runs off to that boundary when its customers' mean spend hardly differs."""

    p: float
    nu: float
    log_likelihood: float
    converged: bool
    n_customers: int


SpendFit = GammaGammaFit | ConstantSpendFit


def fit_constant_spend(frequency: ArrayLike, monetary: ArrayLike) -> ConstantSpendFit:
    """Maximum likelihood of the constant-spend limit on repeat customers: x * m ~ Gamma(p x, nu),
    nu profiled out (nu = p sum(x) / sum(x m)), p by a bounded one-dimensional search."""
    x = _as_float_array(frequency, "frequency").ravel()
    m = _as_float_array(monetary, "monetary").ravel()
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    if x.size < 2:
        raise ValueError("at least two repeat customers with spend are needed")
    total = x * m
    distinct = _Distinct.of(x)
    sum_x, sum_total = float(x.sum()), float(total.sum())
    sum_log_x, sum_x_log_total, sum_log_total = float(np.log(x).sum()), float(_dot(x, np.log(total))), float(
        np.log(total).sum())
    counts = np.bincount(distinct.index, minlength=distinct.values.size).astype(np.float64)

    def log_likelihood(p: float) -> float:
        nu = p * sum_x / sum_total
        # the density of the mean m (as the Gamma-Gamma's): that of the sum x m, times x -- summed over the
        # customers term by term, gammaln(p x) once per distinct x
        return (p * sum_x * math.log(nu) - float(_dot(counts, special.gammaln(p * distinct.values)))
                + p * sum_x_log_total - sum_log_total - nu * sum_total + sum_log_x)

    result = optimize.minimize_scalar(lambda log_p: -log_likelihood(math.exp(log_p)), bounds=(-_LOG_BOUND, _LOG_BOUND),
                                      method="bounded", options={"xatol": 1e-9})
    p = math.exp(result.x)
    return ConstantSpendFit(p=p, nu=p * x.sum() / total.sum(), log_likelihood=log_likelihood(p),
                            converged=abs(result.x) < _LOG_BOUND - _EDGE_TOLERANCE, n_customers=int(x.size))


# ---------------------------------------------------------------------------------------------------------------------
# Model choice: the full model or its nested limit, by likelihood ratio
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LikelihoodRatioTest:
    """Full model against its nested limit (one parameter fewer).  The log-likelihoods are rounded to
    ``LOG_LIKELIHOOD_DECIMALS``; ``statistic`` = 2 (full - limit), floored at 0 (the full model contains the
    limit, so a lower full value only means its optimiser stopped short of the boundary)."""

    full_log_likelihood: float
    limit_log_likelihood: float
    statistic: float
    critical_value: float

    @property
    def limit_chosen(self) -> bool:
        """The full model is not better by more than the threshold: the simpler limit is used."""
        return self.statistic <= self.critical_value


def likelihood_ratio_test(*, full_log_likelihood: float, limit_log_likelihood: float,
                          critical_value: float = LIKELIHOOD_RATIO_CRITICAL_VALUE) -> LikelihoodRatioTest:
    full = round(full_log_likelihood, LOG_LIKELIHOOD_DECIMALS)
    limit = round(limit_log_likelihood, LOG_LIKELIHOOD_DECIMALS)
    return LikelihoodRatioTest(full_log_likelihood=full, limit_log_likelihood=limit,
                               statistic=round(max(0.0, 2.0 * (full - limit)), LOG_LIKELIHOOD_DECIMALS),
                               critical_value=critical_value)


@dataclass(frozen=True)
class PurchaseModelChoice:
    """BG/NBD or its constant-dropout limit, whichever the likelihood ratio picks (``model``)."""

    model: PurchaseFit
    full: BgNbdFit
    limit: ConstantDropoutFit
    test: LikelihoodRatioTest


@dataclass(frozen=True)
class SpendModelChoice:
    """Gamma-Gamma or its constant-spend limit, whichever the likelihood ratio picks (``model``)."""

    model: SpendFit
    full: GammaGammaFit
    limit: ConstantSpendFit
    test: LikelihoodRatioTest


def choose_purchase_model(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> PurchaseModelChoice:
    """Fit BG/NBD and its constant-dropout limit; keep the full model only when the likelihood ratio says the
    dropout heterogeneity (a, b finite) is real (see ``LIKELIHOOD_RATIO_CRITICAL_VALUE``)."""
    full = fit_bgnbd(frequency, recency, T)
    limit = fit_constant_dropout(frequency, recency, T)
    test = likelihood_ratio_test(full_log_likelihood=full.log_likelihood, limit_log_likelihood=limit.log_likelihood)
    return PurchaseModelChoice(model=limit if test.limit_chosen else full, full=full, limit=limit, test=test)


def choose_spend_model(frequency: ArrayLike, monetary: ArrayLike) -> SpendModelChoice:
    """Fit Gamma-Gamma and its constant-spend limit on the repeat customers; keep the full model only when the
    likelihood ratio says customers' mean spend really differs (see ``LIKELIHOOD_RATIO_CRITICAL_VALUE``)."""
    full = fit_gamma_gamma(frequency, monetary)
    limit = fit_constant_spend(frequency, monetary)
    test = likelihood_ratio_test(full_log_likelihood=full.log_likelihood, limit_log_likelihood=limit.log_likelihood)
    return SpendModelChoice(model=limit if test.limit_chosen else full, full=full, limit=limit, test=test)


def expected_average_value(fit: SpendFit, frequency: ArrayLike, monetary: ArrayLike) -> FloatArray:
    """E[average purchase value | x, m] = p (v + x m) / (p x + q - 1); the population mean p v / (q - 1) for x = 0.
    In the constant-spend limit: p / nu for everyone."""
    if isinstance(fit, ConstantSpendFit):
        return np.full(np.shape(_as_float_array(frequency, "frequency")), fit.p / fit.nu)
    if fit.q <= 1.0:
        raise ValueError("q <= 1: the Gamma-Gamma population mean is infinite, no expected value exists")
    x = _as_float_array(frequency, "frequency")
    m = _as_float_array(monetary, "monetary")
    if np.any(x < 0):
        raise ValueError("frequency must be >= 0")
    m = np.where(x > 0, m, 0.0)
    return fit.p * (fit.v + x * m) / (fit.p * x + fit.q - 1.0)


# ---------------------------------------------------------------------------------------------------------------------
# CLV
# ---------------------------------------------------------------------------------------------------------------------


def predicted_clv(
    bg: PurchaseFit,
    gg: SpendFit,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary: ArrayLike,
    horizon: float,
    discount_rate: float = 0.0,
    *,
    period_length: float = 1.0,
) -> FloatArray:
    """Expected value of each customer's purchases in (T, T + horizon].

    = sum over periods k of (E[Y(k)] - E[Y(k-1)]) * E[average value] / (1 + discount_rate)^k, periods of
    ``period_length`` time units (the last one may be partial). Approximations: purchases in a period are discounted
    as if made at its end; the purchase count and the spend per purchase are independent (the Gamma-Gamma assumption),
    so the expected value is the product of the two expectations. With ``discount_rate=0`` it is exactly
    E[Y(horizon)] * E[M]. Spend is in the unit of ``monetary`` (revenue or margin, whichever was summarised).
    """
    if horizon < 0:
        raise ValueError("horizon must be >= 0")
    if period_length <= 0:
        raise ValueError("period_length must be > 0")
    if discount_rate <= -1:
        raise ValueError("discount_rate must be > -1")
    x, t_x, big_t = _validate_bgnbd_data(frequency, recency, T)
    value = expected_average_value(gg, x, monetary)
    if discount_rate == 0:
        # undiscounted, the per-period differences add up to E[Y(horizon)]: one evaluation, once per distinct
        # (x, t_x, T) rather than per customer and per period
        data = _PurchaseData.of(x.ravel(), t_x.ravel(), big_t.ravel())
        rows = data.rows()
        purchases = expected_purchases(bg, horizon, *rows)[data.customer_rows].reshape(np.shape(x))
        return np.asarray(purchases * value, dtype=np.float64)
    full_periods = math.floor(horizon / period_length + 1e-9)
    ends = [k * period_length for k in range(1, full_periods + 1)]
    if horizon - full_periods * period_length > 1e-9 * period_length or not ends:
        ends.append(horizon)  # the last, partial period (or the only one)
    cumulative = np.array([expected_purchases(bg, end, x, t_x, big_t) for end in ends])
    per_period = np.diff(cumulative, axis=0, prepend=np.zeros((1, *cumulative.shape[1:])))
    discount = (1.0 + discount_rate) ** -np.arange(1, len(ends) + 1, dtype=np.float64)
    discounted_purchases = np.tensordot(discount, per_period, axes=1)
    return np.asarray(discounted_purchases * value, dtype=np.float64)


# ---------------------------------------------------------------------------------------------------------------------
# RFM summary from raw transactions
# ---------------------------------------------------------------------------------------------------------------------

_DAYS_PER_UNIT = {"days": 1.0, "weeks": 7.0}


@dataclass(frozen=True)
class RfmSummary:
    """One row per customer, in order of first appearance in the transactions."""

    customer_ids: tuple[Hashable, ...]
    frequency: FloatArray  # repeat purchase days in (first day, end]
    recency: FloatArray  # first purchase day -> last purchase day, in time units (0 without repeat purchases)
    T: FloatArray  # first purchase day -> end, in time units
    monetary: FloatArray  # mean value per repeat purchase day (first day excluded); 0 without repeat purchases


def rfm_summary(
    transactions: Iterable[tuple[Hashable, date | datetime, Decimal | float | int]],
    end: date,
    time_unit: str = "weeks",
) -> RfmSummary:
    """Summarise (customer_id, when, value) transactions into the (x, t_x, T, m) the models take.

    As in Fader, Hardie & Lee (2005): time is resolved to calendar days, so purchases on the same day are one purchase
    (their values add up); x counts the purchase days after the first one, up to and including ``end``; transactions
    after ``end`` and customers whose first purchase is after ``end`` are ignored. Datetimes are cut to their date as
    given: convert them to the shop's timezone first.
    """
    if time_unit not in _DAYS_PER_UNIT:
        raise ValueError(f"time_unit must be one of {sorted(_DAYS_PER_UNIT)}")
    days_per_unit = _DAYS_PER_UNIT[time_unit]
    end_day = end.date() if isinstance(end, datetime) else end
    per_customer: dict[Hashable, dict[date, Decimal]] = {}
    for customer_id, when, value in transactions:
        day = when.date() if isinstance(when, datetime) else when
        if day > end_day:
            continue
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
        days = per_customer.setdefault(customer_id, {})
        days[day] = days.get(day, Decimal(0)) + amount
    customer_ids = tuple(per_customer)
    frequency, recency, age, monetary = [], [], [], []
    for customer_id in customer_ids:
        days = per_customer[customer_id]
        ordered = sorted(days)
        repeat_values = [days[day] for day in ordered[1:]]
        frequency.append(float(len(repeat_values)))
        recency.append((ordered[-1] - ordered[0]).days / days_per_unit)
        age.append((end_day - ordered[0]).days / days_per_unit)
        monetary.append(float(sum(repeat_values, Decimal(0)) / len(repeat_values)) if repeat_values else 0.0)
    return RfmSummary(
        customer_ids=customer_ids,
        frequency=np.array(frequency, dtype=np.float64),
        recency=np.array(recency, dtype=np.float64),
        T=np.array(age, dtype=np.float64),
        monetary=np.array(monetary, dtype=np.float64),
    )


# ---------------------------------------------------------------------------------------------------------------------
# Optimisation helpers
# ---------------------------------------------------------------------------------------------------------------------


def _minimise(
    objective: Callable[[FloatArray], tuple[float, FloatArray]], starts: Sequence[Sequence[float]]
) -> optimize.OptimizeResult:
    """L-BFGS-B from each start (log-parameters in a box); the lowest finite objective wins, then Newton-polished.

    L-BFGS-B stops on a relative change of the objective, which leaves the parameters right only to ~1e-7 and
    dependent on the path (so on the start and the CPU's rounding): the reported 6-decimal values would differ.
    A few Newton steps at an interior maximum bring them to ~1e-12, where every machine agrees."""
    best: optimize.OptimizeResult | None = None
    for start in starts:
        log_start = np.log(np.asarray(start, dtype=np.float64))
        with np.errstate(all="ignore"):
            result = optimize.minimize(
                objective,
                log_start,
                jac=True,
                method="L-BFGS-B",
                bounds=[(-_LOG_BOUND, _LOG_BOUND)] * len(log_start),
                options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9},
            )
        if not np.isfinite(result.fun):
            continue
        if best is None or result.fun < best.fun:
            best = result
    if best is None:
        raise ValueError("the likelihood could not be evaluated at any starting point")
    return _newton_polish(objective, best)


def _newton_polish(
    objective: Callable[[FloatArray], tuple[float, FloatArray]], result: optimize.OptimizeResult
) -> optimize.OptimizeResult:
    """Newton steps on the gradient (one Hessian, by central differences), each kept only if it shrinks the gradient;
    skipped on the search bound, where the maximum is at infinity and the Hessian is singular."""
    x = np.asarray(result.x, dtype=np.float64).copy()
    if np.any(np.abs(x) >= _LOG_BOUND - _EDGE_TOLERANCE):
        return result
    with np.errstate(all="ignore"):
        value, gradient = objective(x)
        hessian = np.empty((x.size, x.size))
        for index in range(x.size):
            up, down = x.copy(), x.copy()
            up[index] += _POLISH_DIFFERENCE
            down[index] -= _POLISH_DIFFERENCE
            hessian[:, index] = (objective(up)[1] - objective(down)[1]) / (2.0 * _POLISH_DIFFERENCE)
        hessian = (hessian + hessian.T) / 2.0
        try:
            np.linalg.cholesky(hessian)  # a minimum of the objective: Newton heads for it
        except np.linalg.LinAlgError:
            return result
        for _ in range(_POLISH_STEPS):  # one Hessian for all steps: near the optimum it barely changes
            step = np.linalg.solve(hessian, gradient)
            candidate = x - step
            if not np.all(np.isfinite(candidate)) or np.any(np.abs(candidate) >= _LOG_BOUND - _EDGE_TOLERANCE):
                break
            candidate_value, candidate_gradient = objective(candidate)
            if not (np.isfinite(candidate_value) and np.max(np.abs(candidate_gradient)) < np.max(np.abs(gradient))):
                break
            x, value, gradient = candidate, candidate_value, candidate_gradient
            if np.max(np.abs(step)) < 1e-14:
                break
    return optimize.OptimizeResult(x=x, fun=value, jac=gradient, success=result.success, message=result.message,
                                   nit=result.nit)


def _standard_errors(gradient: Callable[[FloatArray], FloatArray], params: FloatArray) -> FloatArray | None:
    """sqrt(diag(H^-1)) with H the Hessian of -LL, by central differences of the analytic gradient."""
    size = params.size
    hessian = np.empty((size, size))
    with np.errstate(all="ignore"):
        for index in range(size):
            step = 1e-5 * params[index]
            up, down = params.copy(), params.copy()
            up[index] += step
            down[index] -= step
            hessian[:, index] = -(gradient(up) - gradient(down)) / (2.0 * step)
    hessian = (hessian + hessian.T) / 2.0
    if not np.all(np.isfinite(hessian)):
        return None
    try:
        np.linalg.cholesky(hessian)  # positive definite <=> a proper maximum
        covariance = np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        return None
    variances = np.diag(covariance)
    if np.any(variances <= 0) or not np.all(np.isfinite(variances)):
        return None
    return np.sqrt(variances)


def _converged(result: optimize.OptimizeResult, standard_errors: FloatArray | None) -> bool:
    """A proper interior maximum: off the search bound, gradient ~0, Hessian positive definite.  Deliberately not
    ``result.success``: L-BFGS-B reports an "abnormal" line search at a maximum it cannot improve in floating
    point, and whether it does so depends on the CPU's last bits."""
    on_bound = np.any(np.abs(result.x) >= _LOG_BOUND - _EDGE_TOLERANCE)
    stationary = np.all(np.isfinite(result.jac)) and np.max(np.abs(result.jac)) < _STATIONARY_GRADIENT
    return bool(stationary) and not on_bound and standard_errors is not None
