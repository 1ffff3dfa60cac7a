"""Per-profile CLV fits and predictions (pipeline/grading/customer_value.py) on simulated purchases."""

from datetime import date, timedelta

import numpy as np
import polars as pl

from pipeline.grading import clv
from pipeline.grading.customer_value import ALL, never_drops_out, predict_customer_value
from pipeline.grading.spec import ClvSettings

AS_OF = date(2026, 7, 1)


def _orders(rng: np.random.Generator, prefix: str, customers: int, rate_per_week: float, refund: float) -> list[dict]:
    rows = []
    for i in range(customers):
        first = AS_OF - timedelta(days=int(rng.integers(60, 700)))
        day, lifetime_end = first, first + timedelta(days=int(rng.exponential(400)))
        scale = 50.0 * rng.gamma(3.0, 1 / 3)  # customers differ in spend, as Gamma-Gamma assumes
        while day < AS_OF and day <= lifetime_end:
            gross = float(rng.gamma(4.0, scale))
            rows.append(
                {
                    "customer_key": f"{prefix}{i:05d}",
                    "purchase_date": day,
                    "gross_amount": gross,
                    "net_amount": gross * (1 - refund),
                }
            )
            day += timedelta(days=max(1, int(rng.exponential(7 / rate_per_week))))
    return rows


def _run(min_repeat: int, monetary: str = "net", sample: int | None = None):
    rng = np.random.default_rng(3)
    orders = pl.DataFrame(_orders(rng, "R", 600, 0.5, 0.1) + _orders(rng, "B", 400, 0.15, 0.0))
    profiles = pl.DataFrame(
        {
            "customer_key": orders["customer_key"].unique().to_list(),
        }
    ).with_columns(
        profile=pl.when(pl.col("customer_key").str.starts_with("B")).then(pl.lit("b2b")).otherwise(pl.lit("default"))
    )
    settings = ClvSettings(min_repeat_customers=min_repeat, fit_sample_customers=sample)
    return orders, predict_customer_value(orders, profiles, AS_OF, settings, monetary, log=lambda _: None)


def test_a_profile_with_enough_repeat_buyers_gets_its_own_fit_else_the_pooled_one():
    _, result = _run(min_repeat=20)
    fitted = set(result.params["profile"].unique().to_list())
    assert fitted == {ALL, "default", "b2b"}
    by_profile = dict(result.predictions.group_by("profile").agg(pl.col("clv_model").unique().first()).iter_rows())
    assert by_profile == {"default": "default", "b2b": "b2b"}
    # the slow buyers' own fit has a lower purchase rate than the fast buyers' (r / alpha per week)
    p = {(r["profile"], r["parameter"]): r["value"] for r in result.params.iter_rows(named=True)}
    assert p[("b2b", "r")] / p[("b2b", "alpha")] < p[("default", "r")] / p[("default", "alpha")]

    _, pooled = _run(min_repeat=10_000)
    assert set(pooled.params["profile"].unique().to_list()) == {ALL}
    assert pooled.predictions["clv_model"].unique().to_list() == [ALL]


def test_refunds_are_applied_after_the_fit_and_only_for_net():
    orders, net = _run(min_repeat=20, monetary="net")
    _, gross = _run(min_repeat=20, monetary="gross")
    # the spend model saw the same (gross, positive) values either way
    assert net.params.equals(gross.params)
    share = dict(net.predictions.group_by("profile").agg(pl.col("refund_share").first()).iter_rows())
    assert abs(share["default"] - 0.1) < 1e-9 and share["b2b"] == 0
    assert gross.predictions["refund_share"].max() == 0
    joined = net.predictions.join(gross.predictions, on="customer_key", suffix="_gross")
    np.testing.assert_allclose(joined["clv"], joined["clv_gross"] * (1 - joined["refund_share"]))
    assert (net.predictions["expected_spend_gross"] > 0).all()


def test_the_spend_fit_on_data_with_refunds_receives_no_negative_value(monkeypatch):
    """Fully refunded orders (net 0), partial refunds, and returns some exports write as orders of negative
    amount: the Gamma-Gamma fit sees positive spend only; the refunds reach the CLV through the refund share."""
    from pipeline.grading import customer_value

    rng = np.random.default_rng(5)
    orders = _orders(rng, "R", 500, 0.5, 0.0)
    for i, row in enumerate(orders):
        if i % 5 == 0:
            row["net_amount"] = 0.0  # refunded in full
        elif i % 5 == 1:
            row["net_amount"] = row["gross_amount"] * 0.4
    returns = [row for row in orders[:400:7] if row["purchase_date"] + timedelta(days=3) < AS_OF]
    orders += [
        {**row, "purchase_date": row["purchase_date"] + timedelta(days=3), "gross_amount": -row["gross_amount"]}
        | {"net_amount": -row["gross_amount"]}
        for row in returns
    ]
    frame = pl.DataFrame(orders)
    assert (frame["net_amount"] < 0).any() and (frame["net_amount"] == 0).any()
    seen = []

    def spy(x, m_x):
        seen.append(np.asarray(m_x, dtype=float))
        return fit_gamma_gamma(x, m_x)

    fit_gamma_gamma = customer_value.clv.fit_gamma_gamma
    monkeypatch.setattr(customer_value.clv, "fit_gamma_gamma", spy)
    profiles = pl.DataFrame({"customer_key": frame["customer_key"].unique().to_list(), "profile": "default"})
    settings = ClvSettings(min_repeat_customers=20, fit_sample_customers=None)
    result = predict_customer_value(frame, profiles, AS_OF, settings, "net", log=lambda _: None)

    assert seen and all(((values > 0) | np.isnan(values)).all() for values in seen)
    assert all(np.isfinite(values).sum() > 100 for values in seen)
    positive = frame.filter(pl.col("gross_amount") > 0)
    expected_share = 1 - positive["net_amount"].sum() / positive["gross_amount"].sum()
    assert abs(result.predictions["refund_share"][0] - expected_share) < 1e-9
    assert (result.predictions["clv"] >= 0).all() and (result.predictions["expected_spend_gross"] > 0).all()


def test_a_fit_sample_fits_on_that_many_customers_predicts_all_and_draws_the_same_sample_again():
    orders, whole = _run(min_repeat=10_000)
    _, sampled = _run(min_repeat=10_000, sample=800)
    purchases = pl.col("model").is_in(clv.PURCHASE_MODELS)  # BG/NBD or MBG/NBD, whichever fitted better
    assert sampled.params.filter(purchases)["n_customers"].unique().to_list() == [800]
    assert whole.params.filter(purchases)["n_customers"].unique().to_list() == [1_000]
    assert sampled.predictions.height == orders["customer_key"].n_unique()
    # a different fit (a sample), close to the fit on everyone
    assert not sampled.params["value"].equals(whole.params["value"])
    np.testing.assert_allclose(sampled.params["value"], whole.params["value"], rtol=0.5)
    _, again = _run(min_repeat=10_000, sample=800)
    assert again.params.equals(sampled.params) and again.predictions.equals(sampled.predictions)


def test_every_buyer_has_one_prediction_with_probabilities_in_range():
    orders, result = _run(min_repeat=20)
    p = result.predictions
    assert p.height == orders["customer_key"].n_unique() == p["customer_key"].n_unique()
    assert p["p_alive"].is_between(0, 1).all() and p["p_no_purchase"].is_between(0, 1).all()
    assert set(p["churn_risk"].unique().to_list()) <= {"high", "medium", "low"}
    assert (p["clv"] >= 0).all()


def test_a_profile_whose_fit_finds_nobody_leaving_falls_back_to_the_pooled_fit_and_says_so():
    # Poisson buyers every ~30 days who never drop out: the MLE is the limit a -> 0 (no dropout) and
    # r, alpha -> infinity (one rate for all). The fit does not converge inside the bounds, and it would give
    # every customer P(alive) 1 however long ago they bought: the profile is predicted by the pooled fit.
    rng = np.random.default_rng(5)
    rows = []
    for i in range(300):
        day = AS_OF - timedelta(days=int(rng.integers(100, 700)))
        while day < AS_OF:
            gross = float(rng.gamma(4, 50 * rng.gamma(3, 1 / 3)))
            rows.append({"customer_key": f"F{i:04d}", "purchase_date": day, "gross_amount": gross, "net_amount": gross})
            day += timedelta(days=max(1, int(rng.exponential(30))))
    orders = pl.concat([pl.DataFrame(_orders(np.random.default_rng(3), "R", 600, 0.5, 0.1)), pl.DataFrame(rows)])
    profiles = (
        orders.select("customer_key")
        .unique()
        .with_columns(
            profile=pl.when(pl.col("customer_key").str.starts_with("F"))
            .then(pl.lit("flat"))
            .otherwise(pl.lit("default"))
        )
    )
    said = []
    result = predict_customer_value(
        orders, profiles, AS_OF, ClvSettings(min_repeat_customers=20), "net", log=said.append
    )
    flat = result.predictions.filter(pl.col("profile") == "flat")
    assert flat["clv_model"].unique().to_list() == [ALL]
    # flagged as the fallback that predicted them converged or not (here it did not: said, not hidden)
    pooled_converged = result.params.filter(pl.col("profile") == ALL)["converged"].all()
    assert flat["clv_fit"].unique().to_list() == ["converged" if pooled_converged else "did not converge"]
    assert pooled_converged or result.fit_notes[ALL].startswith("did not converge")
    assert set(result.params["profile"].unique().to_list()) == {ALL, "default"}  # no parameters of its own
    assert result.fit_notes["flat"].startswith("its BG/NBD fit says nobody ever drops out (did not converge: BG/NBD")
    assert result.fit_notes["flat"].endswith("predicted by the 'all' fit")
    assert f"profile flat: {result.fit_notes['flat']}" in said
    # the pooled fit sees the other profile's dropouts: some flat buyers are not alive for sure
    assert flat["p_alive"].min() < 0.99
    # the fit itself: a / (a + b) under NO_DROPOUT, on a bound
    part = flat.select(x="repeat_transactions", t_x="recency_t", T="age_t")
    fit = clv.fit_bgnbd(part["x"].to_numpy(), part["t_x"].to_numpy(), part["T"].to_numpy())
    assert never_drops_out(fit) and not fit.converged


def test_a_fit_on_a_bound_whose_rate_and_dropout_are_identified_is_kept_and_said():
    # the slow buyers all drop out alike: a and b both run to the bound, their ratio stays finite
    _, result = _run(min_repeat=20)
    b2b = result.params.filter(pl.col("profile") == "b2b", pl.col("model") == "bg_nbd")
    assert not b2b["converged"].any()
    assert result.fit_notes["b2b"].startswith("did not converge (BG/NBD r ")
    assert result.fit_notes["b2b"].endswith("used: its rate and dropout are still identified")
    assert "default" not in result.fit_notes  # it converged
    # and each customer says whether the fit that predicted it converged (marts.customer_clv.clv_fit)
    flags = dict(result.predictions.group_by("clv_model").agg(pl.col("clv_fit").unique().sort()).iter_rows())
    assert flags["b2b"] == ["did not converge"] and flags["default"] == ["converged"]


def _day(orders: pl.DataFrame, profiles: pl.DataFrame, as_of: date, previous=None, every=7, version="v1"):
    settings = ClvSettings(min_repeat_customers=20, refit_every_days=every)
    return predict_customer_value(
        orders, profiles, as_of, settings, "net", log=lambda _: None, spec_version=version, previous=previous
    )


def test_a_fit_predicts_the_days_after_it_until_refit_every_days_then_the_models_refit():
    rng = np.random.default_rng(3)
    orders = pl.DataFrame(_orders(rng, "R", 600, 0.5, 0.1) + _orders(rng, "B", 400, 0.15, 0.0))
    profiles = orders.select("customer_key").unique().with_columns(profile=pl.lit("default"))
    first = _day(orders, profiles, AS_OF)
    assert first.refitted and first.fitted_as_of == AS_OF and first.reason == "no earlier fit"
    assert first.params["fitted_as_of"].unique().to_list() == [AS_OF]

    # three days on: the first day's parameters, predicting from that day's ages (T grew by 3 days)
    later = AS_OF + timedelta(days=3)
    reused = _day(orders, profiles, later, previous=first.params)
    assert not reused.refitted and reused.fitted_as_of == AS_OF
    assert reused.reason == "fitted 3 days before (refit_every_days: 7)"
    assert reused.params.drop("as_of_date").equals(first.params.drop("as_of_date"))
    assert reused.params["as_of_date"].unique().to_list() == [later]
    p = reused.predictions.filter(pl.col("clv_model") == "default")
    own = first.params.filter(profile="default").filter(pl.col("model").is_in(clv.PURCHASE_MODELS))
    fit = clv.FitResult(dict(zip(own["parameter"], own["value"], strict=True)), 0.0, 0, True, own["model"][0])
    expected = clv.p_alive(fit, p["repeat_transactions"], p["recency_t"], p["age_t"])
    np.testing.assert_array_equal(p["p_alive"].to_numpy(), expected)
    grew = p["age_t"] - first.predictions.filter(pl.col("clv_model") == "default")["age_t"]
    np.testing.assert_allclose(grew.to_numpy(), 3 / 7)
    # refitted on that day's data instead, the parameters and the predictions differ
    fresh = _day(orders, profiles, later, previous=first.params, every=0)
    assert fresh.refitted and fresh.reason.endswith("is 3 days old (refit_every_days: 0)")
    assert not fresh.params["value"].equals(reused.params["value"])
    assert not fresh.predictions["clv"].equals(reused.predictions["clv"])

    # a re-run of the day predicts with the same fit again: the same figures
    again = _day(orders, profiles, later, previous=reused.params)
    assert again.predictions.equals(reused.predictions) and again.fitted_as_of == AS_OF

    week = _day(orders, profiles, AS_OF + timedelta(days=7), previous=reused.params)
    assert week.refitted and week.fitted_as_of == AS_OF + timedelta(days=7)
    assert week.reason == f"the last fit ({AS_OF}) is 7 days old (refit_every_days: 7)"


def test_another_spec_version_other_profiles_or_an_earlier_day_refit():
    rng = np.random.default_rng(3)
    orders = pl.DataFrame(_orders(rng, "R", 600, 0.5, 0.1) + _orders(rng, "B", 400, 0.15, 0.0))
    profiles = orders.select("customer_key").unique().with_columns(profile=pl.lit("default"))
    first = _day(orders, profiles, AS_OF)
    tomorrow = AS_OF + timedelta(days=1)
    changed = f"the spec or the profiles changed since the fit of {AS_OF}"
    assert _day(orders, profiles, tomorrow, previous=first.params, version="v2").reason == changed
    split = profiles.with_columns(
        profile=pl.when(pl.col("customer_key").str.starts_with("B")).then(pl.lit("b2b")).otherwise(pl.lit("default"))
    )
    assert _day(orders, split, tomorrow, previous=first.params).reason == changed
    earlier = _day(orders, profiles, AS_OF - timedelta(days=1), previous=first.params)
    assert (
        earlier.refitted
        and earlier.reason == f"the last fit ({AS_OF}) saw data after the as-of date {AS_OF - timedelta(days=1)}"
    )
    # parameter rows written before fits were dated: refit
    old = first.params.drop("fitted_as_of", "fit_key")
    assert _day(orders, profiles, tomorrow, previous=old).reason == "no earlier fit"
