"""Per-customer predicted value at an as-of date: fits per grading profile, then predictions.

Input: purchase orders (customer_key, purchase_date, gross_amount, net_amount) before the as-of date and each
customer's grading profile. The models are refitted every `refit_every_days` (or when the spec or the profiles
change); in between, the last fit's parameters predict every customer from the day's purchases. The spend model
fits on gross (positive) transaction values, orders of zero or negative gross left out; with `monetary: net` the
profile's refund share is applied afterwards, so a refund never becomes a negative spend in the fit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import polars as pl

from pipeline.grading import clv
from pipeline.grading.spec import ClvSettings

ALL = "all"  # the fit over every customer, used by profiles too small for their own
CONVERGED, NOT_CONVERGED = "converged", "did not converge"  # predictions.clv_fit: of the fit that predicted it
SAMPLE_SEED = 20050101  # fixed: a re-run over the same customers draws the same fit sample


@dataclass(frozen=True)
class CustomerValue:
    # model, profile, parameter, value, time_unit, n_customers, log_likelihood, converged, fitted_as_of, fit_key
    params: pl.DataFrame
    predictions: pl.DataFrame  # one row per customer with a purchase
    refitted: bool  # False: the parameters of the fit of `fitted_as_of` predicted this day
    fitted_as_of: date
    reason: str  # why it refitted or why it did not
    # On the days it refitted, per profile (and ALL) whose fit did not converge or was not used: what was done.
    fit_notes: dict[str, str] = field(default_factory=dict)


Fits = dict[str, tuple[clv.FitResult, clv.FitResult]]  # profile (or ALL) -> (BG/NBD or MBG/NBD, Gamma-Gamma)


def fit_key(settings: ClvSettings, spec_version: str, profiles: list[str]) -> str:
    """What a fit stands for beyond the purchases: the spec version (its profiles, their rules and the fit
    settings) and the profiles the customers are in. Another key, another fit."""
    inputs = {
        "spec_version": spec_version,
        "time_unit": settings.time_unit,
        "min_repeat_customers": settings.min_repeat_customers,
        "fit_sample_customers": settings.fit_sample_customers,
        "profiles": sorted(profiles),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


def stored_fits(
    previous: pl.DataFrame | None, key: str, as_of_date: date, refit_every_days: int
) -> tuple[Fits | None, date | None, str]:
    """The fits of the last run's parameter rows when they may predict `as_of_date`: the same key, fitted on or
    before that day and less than `refit_every_days` before it. Else None and why."""
    if previous is None or previous.is_empty() or not {"fit_key", "fitted_as_of"} <= set(previous.columns):
        return None, None, "no earlier fit"
    fitted = previous["fitted_as_of"].max()
    if previous.filter(pl.col("fit_key") == key).height != previous.height:
        return None, None, f"the spec or the profiles changed since the fit of {fitted}"
    age = (as_of_date - fitted).days
    if age < 0:
        return None, None, f"the last fit ({fitted}) saw data after the as-of date {as_of_date}"
    if age >= refit_every_days:
        return None, None, f"the last fit ({fitted}) is {age} days old (refit_every_days: {refit_every_days})"
    fits: Fits = {}
    for (profile,), rows in previous.group_by("profile", maintain_order=True):
        results = []
        purchase_models = [m for m in clv.PURCHASE_MODELS if m in rows["model"].to_list()]
        if len(purchase_models) != 1:
            return None, None, f"the fit of {fitted} has {len(purchase_models)} purchase models for profile {profile}"
        for model, names in ((purchase_models[0], clv.PURCHASE_PARAMETERS), ("gamma_gamma", clv.SPEND_PARAMETERS)):
            part = rows.filter(pl.col("model") == model)
            values = dict(zip(part["parameter"].to_list(), part["value"].to_list(), strict=True))
            if set(values) != set(names):
                return None, None, f"the fit of {fitted} lacks {model} parameters for profile {profile}"
            first = part.row(0, named=True)
            results.append(
                clv.FitResult(values, first["log_likelihood"], first["n_customers"], bool(first["converged"]), model)
            )
        fits[profile] = (results[0], results[1])
    if ALL not in fits:
        return None, None, f"the fit of {fitted} has no '{ALL}' fit"
    return fits, fitted, f"fitted {age} days before (refit_every_days: {refit_every_days})"


def _fits(summary: clv.CustomerSummary, sample: int | None) -> list[tuple[clv.FitResult, clv.FitResult]]:
    """(purchase fit, spend fit) with each purchase model, the better fit first (clv.fit_purchases), on at most
    `sample` customers: a seeded draw, so the same customers give the same fit."""
    if sample is not None and len(summary.x) > sample:
        chosen = np.sort(np.random.default_rng(SAMPLE_SEED).choice(len(summary.x), size=sample, replace=False))
        summary = _subset(summary, chosen)
    spend = clv.fit_gamma_gamma(summary.x, summary.m_x)
    return [(purchases, spend) for purchases in clv.fit_purchases(summary.x, summary.t_x, summary.T)]


# The columns of CustomerValue's frames, in order: what predict_customer_value returns and, empty, what a run
# with nobody to predict writes (no_customer_value).
PARAMETER_COLUMNS = {
    "as_of_date": pl.Date,
    "model": pl.String,
    "profile": pl.String,
    "parameter": pl.String,
    "value": pl.Float64,
    "time_unit": pl.String,
    "n_customers": pl.Int64,
    "log_likelihood": pl.Float64,
    "converged": pl.Boolean,
    "fitted_as_of": pl.Date,
    "fit_key": pl.String,
}
PREDICTION_COLUMNS = {
    "customer_key": pl.String,
    "as_of_date": pl.Date,
    "profile": pl.String,
    "clv_model": pl.String,
    "clv_fit": pl.String,
    "transactions": pl.Int64,
    "repeat_transactions": pl.Int64,
    "recency_t": pl.Float64,
    "age_t": pl.Float64,
    "time_unit": pl.String,
    "mean_repeat_value": pl.Float64,
    "p_alive": pl.Float64,
    "expected_purchases": pl.Float64,
    "p_no_purchase": pl.Float64,
    "expected_spend_gross": pl.Float64,
    "refund_share": pl.Float64,
    "clv": pl.Float64,
    "churn_risk": pl.String,
    "horizon_months": pl.Int32,
    "annual_discount_rate": pl.Float64,
}


def no_customer_value(as_of_date: date, reason: str) -> CustomerValue:
    """No parameters and no predictions: a company with no sales has nobody to predict."""
    return CustomerValue(
        pl.DataFrame(schema=PARAMETER_COLUMNS), pl.DataFrame(schema=PREDICTION_COLUMNS), False, as_of_date, reason
    )


def _subset(summary: clv.CustomerSummary, mask: np.ndarray) -> clv.CustomerSummary:
    return clv.CustomerSummary(summary.x[mask], summary.t_x[mask], summary.T[mask], summary.m_x[mask])


def predict_customer_value(
    orders: pl.DataFrame,
    profiles: pl.DataFrame,
    as_of_date: date,
    settings: ClvSettings,
    monetary: str,
    log=print,
    *,
    spec_version: str = "",
    previous: pl.DataFrame | None = None,
) -> CustomerValue:
    """`previous`: the parameter rows the last run wrote (CustomerValue.params), reused as `stored_fits` allows."""
    days_per_unit = clv.DAYS_PER_UNIT[settings.time_unit]
    # A return some exports write as an order of negative amount is no purchase: it would make a transaction
    # (or a day's sum) zero or negative, which the spend model cannot take. Refunds reach the CLV through the
    # refund share instead (net against gross of the purchases).
    orders = orders.filter(pl.col("gross_amount") > 0)
    # the observation period ends on the last day of data, the day before the as-of date
    observation_end = as_of_date - timedelta(days=1)
    transactions = orders.select("customer_key", "purchase_date", value=pl.col("gross_amount"))
    summary, arrays = clv.summarize_transactions(transactions, observation_end, days_per_unit)
    summary = summary.join(profiles, on="customer_key", how="left").with_columns(pl.col("profile").fill_null("default"))
    refunds = (
        orders.join(profiles, on="customer_key", how="left")
        .with_columns(pl.col("profile").fill_null("default"))
        .group_by("profile")
        # summed in a fixed order, then totalled in profile order: a parallel float sum differs in its last bits
        # from run to run, and a re-run must give the same CLV
        .agg(gross=pl.col("gross_amount").sort().sum(), net=pl.col("net_amount").sort().sum())
        .sort("profile")
    )
    refund_share = {
        row["profile"]: (1 - row["net"] / row["gross"]) if monetary == "net" and row["gross"] > 0 else 0.0
        for row in refunds.iter_rows(named=True)
    }
    total_gross, total_net = refunds["gross"].sum(), refunds["net"].sum()
    refund_share[ALL] = (1 - total_net / total_gross) if monetary == "net" and total_gross > 0 else 0.0

    window = settings.churn_risk.window_days / days_per_unit

    def predict(fit: tuple[clv.FitResult, clv.FitResult], part: clv.CustomerSummary) -> dict[str, np.ndarray]:
        purchases, gamma_gamma = fit[0], fit[1].params
        out = {
            "p_alive": clv.p_alive(purchases, part.x, part.t_x, part.T),
            "p_no_purchase": clv.p_no_purchase(purchases, window, part.x, part.t_x, part.T),
            "spend": clv.gamma_gamma_expected_spend(gamma_gamma, part.x, part.m_x),
        }
        out["value"], out["purchases"] = clv.customer_lifetime_value(
            purchases,
            out["spend"],
            part,
            days_per_unit=days_per_unit,
            horizon_months=settings.horizon_months,
            annual_discount_rate=settings.annual_discount_rate,
        )
        return out

    def usable(out: dict[str, np.ndarray]) -> bool:
        # a fit on a bound (e.g. nobody ever drops out: a -> 0) can make the closed forms cancel into noise
        finite = all(np.isfinite(v).all() for v in out.values())
        in_range = all(((v >= 0) & (v <= 1)).all() for v in (out["p_alive"], out["p_no_purchase"]))
        return finite and in_range and (out["value"] >= 0).all() and (out["purchases"] >= 0).all()

    profile_of = summary["profile"].to_numpy()
    names = sorted(set(profile_of.tolist()))
    key = fit_key(settings, spec_version, names)
    fits, fitted_as_of, reason = stored_fits(previous, key, as_of_date, settings.refit_every_days)
    if fits is not None:
        columns, model_of = _predict_with(fits, names, arrays, profile_of, predict)
        if usable(columns):
            log(f"CLV: the fit of {fitted_as_of} predicts {as_of_date} ({reason})")
        else:
            fits, reason = None, f"the fit of {fitted_as_of} gives unusable predictions on {as_of_date}'s data"
    refitted = fits is None
    if refitted:
        log(f"CLV: refitting: {reason}")
        fits, columns, model_of, notes = _fit_profiles(arrays, profile_of, names, settings, predict, usable, log)
        fitted_as_of = as_of_date
    share = np.array([refund_share.get(name, refund_share[ALL]) for name in model_of], dtype=float)
    # per customer: whether the fit that predicted it converged (its profile's note says what was done if not)
    converged = {name: all(f.converged for f in fit) for name, fit in fits.items()}
    clv_fit = np.array([CONVERGED if converged[name] else NOT_CONVERGED for name in model_of], dtype=object)
    p_alive, purchases, p_none = columns["p_alive"], columns["purchases"], columns["p_no_purchase"]
    spend, value = columns["spend"], columns["value"]

    risk = settings.churn_risk
    predictions = summary.select(
        "customer_key",
        pl.lit(as_of_date).alias("as_of_date"),
        "profile",
        pl.Series("clv_model", model_of.tolist(), dtype=pl.String),
        pl.Series("clv_fit", clv_fit.tolist(), dtype=pl.String),
        pl.col("transactions").cast(pl.Int64),
        pl.col("x").cast(pl.Int64).alias("repeat_transactions"),
        pl.col("t_x").alias("recency_t"),
        pl.col("T").alias("age_t"),
        pl.lit(settings.time_unit).alias("time_unit"),
        pl.col("m_x").alias("mean_repeat_value"),
        pl.Series("p_alive", p_alive),
        pl.Series("expected_purchases", purchases),
        pl.Series("p_no_purchase", p_none),
        pl.Series("expected_spend_gross", spend),
        pl.Series("refund_share", share),
        pl.Series("clv", value * (1 - share)),
    ).with_columns(
        pl.when(pl.col("p_no_purchase") >= risk.high_from)
        .then(pl.lit("high"))
        .when(pl.col("p_no_purchase") >= risk.medium_from)
        .then(pl.lit("medium"))
        .otherwise(pl.lit("low"))
        .alias("churn_risk"),
        pl.lit(settings.horizon_months).alias("horizon_months"),
        pl.lit(settings.annual_discount_rate).alias("annual_discount_rate"),
    )

    rows = []
    for name, profile_fits in fits.items():
        for fit in profile_fits:
            for parameter, v in fit.params.items():
                rows.append(
                    {
                        "as_of_date": as_of_date,
                        "model": fit.model,
                        "profile": name,
                        "parameter": parameter,
                        "value": v,
                        "time_unit": settings.time_unit,
                        "n_customers": fit.n_customers,
                        "log_likelihood": fit.log_likelihood,
                        "converged": fit.converged,
                        "fitted_as_of": fitted_as_of,
                        "fit_key": key,
                    }
                )
    # typed by the one schema a day with nobody to predict also writes (no_customer_value)
    params = pl.DataFrame(rows, schema=PARAMETER_COLUMNS)
    predictions = predictions.select(pl.col(c).cast(t) for c, t in PREDICTION_COLUMNS.items())
    return CustomerValue(params, predictions, refitted, fitted_as_of, reason, notes if refitted else {})


def _predict_with(fits: Fits, names: list[str], arrays: clv.CustomerSummary, profile_of: np.ndarray, predict):
    """Every customer by the 'all' fit, then those of a profile with a fit of its own by that one."""
    own = {name: predict(fits[name], _subset(arrays, profile_of == name)) for name in names if name in fits}
    return _combine(predict(fits[ALL], arrays), own, profile_of)


def _combine(columns: dict[str, np.ndarray], own: dict[str, dict[str, np.ndarray]], profile_of: np.ndarray):
    """The 'all' fit's predictions with each profile's own in its customers' places; which fit each customer got."""
    model_of = np.full(len(profile_of), ALL, dtype=object)
    for name, own_columns in own.items():
        mask = profile_of == name
        model_of[mask] = name
        for column, values in own_columns.items():
            columns[column][mask] = values
    return columns, model_of


def _fit_profiles(
    arrays: clv.CustomerSummary, profile_of: np.ndarray, names: list[str], settings: ClvSettings, predict, usable, log
):
    """The 'all' fit, then one per profile with enough repeat customers whose fit predicts usable values; of the
    two purchase models, the better fit whose predictions are usable."""
    candidates = _fits(arrays, settings.fit_sample_customers)
    for fit in candidates:
        columns = predict(fit, arrays)
        if usable(columns):
            fits = {ALL: fit}
            break
    else:
        best, spend = candidates[0]
        raise ValueError(
            f"the CLV fit over all {len(arrays.x):,} customers gives unusable predictions "
            f"({clv.MODEL_NAMES[best.model]} {best.params}, Gamma-Gamma {spend.params}): the purchases show no "
            "dropout or spend heterogeneity to fit"
        )
    notes: dict[str, str] = {}
    if unconverged := _not_converged(fits[ALL]):
        notes[ALL] = f"did not converge ({unconverged}); used: there is no fit to fall back to"
        log(f"CLV: the pooled fit {notes[ALL]}")
    own = {}
    for name in names:
        mask = profile_of == name
        repeaters = int((arrays.x[mask] > 0).sum())
        if repeaters < settings.min_repeat_customers:
            log(f"profile {name}: {repeaters} repeat customers < {settings.min_repeat_customers}, uses the '{ALL}' fit")
            continue
        part = _subset(arrays, mask)
        own_fit, own_columns, refused = None, None, []
        for candidate in _fits(part, settings.fit_sample_customers):
            if never_drops_out(candidate[0]):
                refused.append(
                    f"its {clv.MODEL_NAMES[candidate[0].model]} fit says nobody ever drops out (did not converge: "
                    f"{_not_converged(candidate)}), so every customer would be alive for sure"
                )
                continue
            candidate_columns = predict(candidate, part)
            if not usable(candidate_columns):
                refused.append(
                    f"its {clv.MODEL_NAMES[candidate[0].model]} fit ({candidate[0].params}) gives unusable predictions"
                )
                continue
            own_fit, own_columns = candidate, candidate_columns
            break
        if own_fit is None:
            notes[name] = "; ".join(refused) + f": predicted by the '{ALL}' fit"
            log(f"profile {name}: {notes[name]}")
            continue
        unconverged = _not_converged(own_fit)
        if unconverged:
            # both parameters of a ratio on a bound: one rate or one dropout for all, which the limit predicts
            notes[name] = f"did not converge ({unconverged}); used: its rate and dropout are still identified"
            log(f"profile {name}: {notes[name]}")
        fits[name], own[name] = own_fit, own_columns
    return fits, *_combine(columns, own, profile_of), notes


# A BG/NBD or MBG/NBD fit whose dropout probability per purchase, a / (a + b), is below this has found no dropout.
NO_DROPOUT = 1e-6


def never_drops_out(fit: clv.FitResult) -> bool:
    """The fit's limit is that no customer ever leaves: P(alive) 1 for everyone, however long ago they bought."""
    a, b = fit.params["a"], fit.params["b"]
    return not fit.converged and a / (a + b) < NO_DROPOUT


def _not_converged(fits: tuple[clv.FitResult, clv.FitResult]) -> str:
    """Which of a profile's two fits did not converge, with their parameters; empty when both did."""
    return "; ".join(
        f"{clv.MODEL_NAMES[fit.model]} {', '.join(f'{k} {v:.4g}' for k, v in fit.params.items())}"
        for fit in fits
        if not fit.converged
    )
