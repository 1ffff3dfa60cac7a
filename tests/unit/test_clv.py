"""BG/NBD and Gamma-Gamma (pipeline/grading/clv.py) against the published CDNOW fits, and their invariants."""

from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipeline.grading import clv

CDNOW = Path(__file__).resolve().parent.parent / "data" / "cdnow" / "CDNOW_sample.txt"
CALIBRATION_END = date(1997, 9, 30)  # the 39-week calibration period of the papers


@pytest.fixture(scope="module")
def cdnow() -> clv.CustomerSummary:
    rows = [line.split() for line in CDNOW.read_text().splitlines() if line.strip()]
    transactions = pl.DataFrame(
        {
            "customer_key": [r[0] for r in rows],
            "purchase_date": [datetime.strptime(r[2], "%Y%m%d").date() for r in rows],
            "value": [float(r[4]) for r in rows],
        }
    )
    summary, arrays = clv.summarize_transactions(transactions, CALIBRATION_END, clv.DAYS_PER_UNIT["week"])
    assert summary.height == 2357
    return arrays


def _within(estimate: dict[str, float], published: dict[str, float], share: float = 0.02) -> None:
    for name, value in published.items():
        assert estimate[name] == pytest.approx(value, rel=share), (name, estimate[name], value)


def test_bgnbd_matches_the_published_cdnow_fit(cdnow):
    fit = clv.fit_bgnbd(cdnow.x, cdnow.t_x, cdnow.T)
    _within(fit.params, {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.5)
    assert fit.n_customers == 2357


def test_mbgnbd_matches_the_btydplus_cdnow_fit(cdnow):
    # BTYDplus's MBG/NBD on the CDNOW sample (r 0.525, alpha 6.183, a 0.891, b 1.614; lifetimes tests against it)
    fit = clv.fit_mbgnbd(cdnow.x, cdnow.t_x, cdnow.T)
    assert fit.converged and fit.model == "mbg_nbd"
    _within(fit.params, {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}, share=0.002)


def test_gamma_gamma_matches_the_published_cdnow_fit(cdnow):
    fit = clv.fit_gamma_gamma(cdnow.x, cdnow.m_x)
    _within(fit.params, {"p": 6.25, "q": 3.74, "gamma": 15.44})
    assert fit.n_customers == 946


def test_conditional_expectation_of_the_papers_example_customer():
    # FHL 2005: a customer with x=2, t_x=30.43, T=38.86 weeks is expected to buy 1.226 times in the next 39 weeks
    params = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    expected = clv.bgnbd_expected_purchases(params, 39, np.array([2.0]), np.array([30.43]), np.array([38.86]))
    assert expected[0] == pytest.approx(1.226, abs=0.002)


def test_p_alive_is_one_without_repeat_purchases_and_falls_with_silence():
    params = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    x = np.array([0.0, 3.0, 3.0])
    t_x = np.array([0.0, 30.0, 5.0])
    T = np.array([20.0, 32.0, 32.0])
    alive = clv.bgnbd_p_alive(params, x, t_x, T)
    assert alive[0] == 1.0
    assert 0 < alive[2] < alive[1] < 1  # same history, long silence -> less likely alive


def test_expected_spend_shrinks_towards_the_population_mean():
    params = {"p": 6.25, "q": 3.74, "gamma": 15.44}
    population = params["p"] * params["gamma"] / (params["q"] - 1)
    spend = clv.gamma_gamma_expected_spend(params, np.array([0.0, 1.0, 50.0]), np.array([np.nan, 100.0, 100.0]))
    assert spend[0] == pytest.approx(population)
    assert population < spend[1] < spend[2] < 100.0  # more transactions -> closer to the customer's own mean


def test_clv_falls_with_the_discount_rate_and_grows_with_the_horizon(cdnow):
    bgnbd = clv.fit_bgnbd(cdnow.x, cdnow.t_x, cdnow.T)
    spend = clv.gamma_gamma_expected_spend(clv.fit_gamma_gamma(cdnow.x, cdnow.m_x).params, cdnow.x, cdnow.m_x)
    kw = {"days_per_unit": 7.0}
    low, purchases = clv.customer_lifetime_value(bgnbd, spend, cdnow, horizon_months=12, annual_discount_rate=0.0, **kw)
    high, _ = clv.customer_lifetime_value(bgnbd, spend, cdnow, horizon_months=12, annual_discount_rate=0.3, **kw)
    longer, _ = clv.customer_lifetime_value(bgnbd, spend, cdnow, horizon_months=24, annual_discount_rate=0.0, **kw)
    assert (high < low).all() and (longer > low).all()
    # undiscounted: value is expected purchases times expected spend
    np.testing.assert_allclose(low, purchases * spend, rtol=1e-9)


def test_fit_refuses_data_without_repeat_purchases():
    with pytest.raises(ValueError, match="repeat"):
        clv.fit_bgnbd(np.zeros(5), np.zeros(5), np.ones(5))
    with pytest.raises(ValueError, match="repeat"):
        clv.fit_gamma_gamma(np.zeros(5), np.full(5, np.nan))


def test_same_day_orders_are_one_transaction():
    tx = pl.DataFrame(
        {
            "customer_key": ["c", "c", "c", "c"],
            "purchase_date": [date(2026, 1, 1), date(2026, 1, 1), date(2026, 1, 8), date(2026, 2, 1)],
            "value": [10.0, 5.0, 20.0, 99.0],
        }
    )
    summary, arrays = clv.summarize_transactions(tx, date(2026, 1, 15), 7.0)
    # Feb 1 is after the observation end; Jan 1 counts once (15.0), the repeat is Jan 8
    assert summary["transactions"].to_list() == [2]
    assert arrays.x.tolist() == [1.0] and arrays.t_x.tolist() == [1.0] and arrays.T.tolist() == [2.0]
    assert arrays.m_x.tolist() == [20.0]


def test_p_no_purchase_matches_a_simulation_of_the_model():
    # Simulate BG/NBD customers, condition on their history by rejection, compare P(no purchase in t).
    rng = np.random.default_rng(7)
    params = {"r": 0.8, "alpha": 5.0, "a": 0.9, "b": 2.5}
    n, T, t = 400_000, 20.0, 10.0
    lam = rng.gamma(params["r"], 1 / params["alpha"], n)
    p = rng.beta(params["a"], params["b"], n)
    x = np.zeros(n)
    t_last = np.zeros(n)
    time = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    silent_after_T = np.ones(n, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        time[idx] += rng.exponential(1 / lam[idx])
        in_cal = time[idx] <= T
        in_hold = (time[idx] > T) & (time[idx] <= T + t)
        silent_after_T[idx[in_hold]] = False
        x[idx[in_cal]] += 1
        t_last[idx[in_cal]] = time[idx[in_cal]]
        dies = rng.random(len(idx)) < p[idx]
        alive[idx[~in_cal | dies]] = False
    fit = clv.FitResult(params, 0.0, n, True, "bg_nbd")
    one = x == 1  # one repeat purchase; compare within a recency band
    for lo, hi in ((2.0, 6.0), (14.0, 18.0)):
        group = one & (t_last >= lo) & (t_last < hi)
        simulated = silent_after_T[group].mean()
        mid = np.full(1, (lo + hi) / 2)
        predicted = clv.p_no_purchase(fit, t, np.ones(1), mid, np.full(1, T))[0]
        assert predicted == pytest.approx(simulated, abs=0.03), (lo, hi)
    never = x == 0
    predicted = clv.p_no_purchase(fit, t, np.zeros(1), np.zeros(1), np.full(1, T))[0]
    assert predicted == pytest.approx(silent_after_T[never].mean(), abs=0.01)


def test_distinct_histories_are_numpy_uniques_rows_in_the_same_order():
    rng = np.random.default_rng(7)
    x = rng.integers(0, 5, 5000).astype(float)
    T = rng.integers(0, 60, 5000) / 7
    t_x = np.minimum(T, rng.integers(0, 60, 5000) / 7)
    (dx, dt, dT), inverse = clv._distinct_rows(x, t_x, T)
    expected, expected_inverse = np.unique(np.column_stack([x, t_x, T]), axis=0, return_inverse=True)
    assert len(dx) < len(x)  # there are repeats to fold
    np.testing.assert_array_equal(np.column_stack([dx, dt, dT]), expected)
    np.testing.assert_array_equal(inverse, expected_inverse.reshape(-1))
    np.testing.assert_array_equal(np.column_stack([dx, dt, dT])[inverse], np.column_stack([x, t_x, T]))


def _simulate(params: dict[str, float], n: int, seed: int, *, modified: bool, holdout: float = 26.0):
    """Customers of (M)BG/NBD observed for 26-52 weeks after their first purchase, then `holdout` weeks more:
    x, t_x, T and the purchases in the holdout. Under MBG/NBD the first purchase may be the last."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params["r"], 1 / params["alpha"], n)
    p = rng.beta(params["a"], params["b"], n)
    T = rng.uniform(26, 52, n)
    x, t_last, time, later = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    alive = rng.random(n) >= p if modified else np.ones(n, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        time[idx] += rng.exponential(1 / lam[idx])
        observed = time[idx] <= T[idx]
        x[idx[observed]] += 1
        t_last[idx[observed]] = time[idx[observed]]
        later[idx[(time[idx] > T[idx]) & (time[idx] <= T[idx] + holdout)]] += 1
        alive[idx[(time[idx] > T[idx] + holdout) | (rng.random(len(idx)) < p[idx])]] = False
    return x, t_last, T, later


PLANTED = {"r": 0.6, "alpha": 3.0, "a": 2.5, "b": 4.0}


def test_where_one_time_buyers_leave_mbgnbd_fits_better_and_predicts_them_as_they_buy():
    # Half the buyers never come back. BG/NBD keeps every one of them alive for sure and promised them 40% more
    # purchases than they made in the next 26 weeks; MBG/NBD, which fits better, is within 15% and finds the
    # planted parameters.
    x, t_x, T, later = _simulate(PLANTED, 20_000, 1, modified=True)
    best, other = clv.fit_purchases(x, t_x, T)
    assert (best.model, other.model) == ("mbg_nbd", "bg_nbd") and best.log_likelihood > other.log_likelihood
    _within(best.params, PLANTED, share=0.1)
    once = x == 0
    actual = later[once].mean()
    assert clv.expected_purchases(best, 26.0, x[once], t_x[once], T[once]).mean() == pytest.approx(actual, rel=0.15)
    assert clv.expected_purchases(other, 26.0, x[once], t_x[once], T[once]).mean() > 1.25 * actual
    # and P(alive) of a one-time buyer is below 1, falling with the time since that purchase
    alive = clv.p_alive(best, np.zeros(2), np.zeros(2), np.array([26.0, 52.0]))
    assert 0 < alive[1] < alive[0] < 1


def test_where_every_buyer_stays_at_first_bgnbd_fits_better_and_is_kept():
    x, t_x, T, later = _simulate(PLANTED, 20_000, 2, modified=False)
    best, other = clv.fit_purchases(x, t_x, T)
    assert (best.model, other.model) == ("bg_nbd", "mbg_nbd")
    _within(best.params, PLANTED, share=0.1)
    once = x == 0
    predicted = clv.expected_purchases(best, 26.0, x[once], t_x[once], T[once]).mean()
    assert predicted == pytest.approx(later[once].mean(), rel=0.15)
