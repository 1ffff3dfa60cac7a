"""Are the campaign effect's intervals honest? monitoring.campaign_effect, compiled by dbt, run on many simulated
randomised campaigns: where an effect is planted, its 95% interval holds it in about 95% of the campaigns; where none
is, about 5% of the intervals leave out 0 (a "significant" effect that is not there).

Each campaign: 300 customers contacted and 300 held out at random on its day; every customer's orders in the 30
days before and after are Poisson (mean 1 per window) of log-normal value (mean 100); a contacted customer places an
extra order after the contact with probability `take_up`, so the planted uplift per customer is take_up x 100. The
compiled model's SQL runs on each campaign's tables in a DuckDB file named as the dbt profile's warehouse.
"""

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

CAMPAIGN_DAY = date(2026, 3, 1)
WINDOW = 30
CUSTOMERS = 300  # per arm
MEAN_ORDER = 100.0
SEEDS = 150


@pytest.fixture(scope="module")
def campaign_effect_sql(tmp_path_factory) -> tuple[Path, str]:
    """The model's SQL as dbt compiles it, and the DuckDB file it reads ("warehouse", as the profile names it)."""
    folder = tmp_path_factory.mktemp("effects")
    warehouse = folder / "warehouse.duckdb"
    dbt_vars = {"as_of_date": "2026-07-01", "campaign_effect": {"window_days": WINDOW, "min_customers": 30}}
    env = {**os.environ, "CRMGRADE_WAREHOUSE": str(warehouse)}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "compile", "--select", "campaign_effect", "--quiet",
         "--vars", json.dumps(dbt_vars), "--target-path", str(folder / "target"), "--log-path", str(folder),
         "--profiles-dir", "."],
        cwd=REPO / "dbt_project", env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [compiled] = (folder / "target" / "compiled").rglob("campaign_effect.sql")
    return warehouse, compiled.read_text(encoding="utf-8")


def _campaign(seed: int, take_up: float) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    keys = [f"C{i:04d}" for i in range(2 * CUSTOMERS)]
    contacted = np.arange(2 * CUSTOMERS) < CUSTOMERS
    sigma = 0.6
    mu = np.log(MEAN_ORDER) - sigma**2 / 2  # log-normal of mean MEAN_ORDER
    orders = []
    for i, key in enumerate(keys):
        before, after = rng.poisson(1.0), rng.poisson(1.0) + (contacted[i] and rng.random() < take_up)
        for offset in [-1 - rng.integers(0, WINDOW) for _ in range(before)] + [
            rng.integers(0, WINDOW) for _ in range(after)
        ]:
            orders.append((key, CAMPAIGN_DAY + timedelta(days=int(offset)), float(rng.lognormal(mu, sigma))))
    return {
        "int_campaign_responses": pl.DataFrame(
            {
                "campaign_id": "K",
                "customer_key": keys,
                "targeted_at": [f"{CAMPAIGN_DAY} 10:00:00"] * len(keys),
                "is_holdout": (~contacted).tolist(),
                "is_response": False,
            }
        ).with_columns(pl.col("targeted_at").str.to_datetime()),
        "int_orders": pl.DataFrame(
            orders, schema={"customer_key": pl.String, "order_date": pl.Date, "net_amount": pl.Float64}, orient="row"
        ).with_columns(margin_amount=pl.lit(None, pl.Float64), is_purchase=pl.lit(True)),
    }


def _estimates(campaign_effect_sql, take_up: float) -> list[tuple[float, float, float]]:
    """(uplift, interval low, interval high) of the 'all' row of each simulated campaign."""
    warehouse, sql = campaign_effect_sql
    con = duckdb.connect(str(warehouse))
    try:
        for schema in ("intermediate", "history", "staging"):
            con.execute(f"create schema if not exists {schema}")
        con.execute(
            "create or replace table history.grade_history (as_of_date date, customer_key varchar, grade varchar)"
        )
        con.execute(
            "create or replace table staging.stg_raw__campaigns "
            "(campaign_id varchar, campaign_name varchar, channel varchar, budget double)"
        )
        out = []
        for seed in range(SEEDS):
            for name, frame in _campaign(seed, take_up).items():
                con.register("frame", frame)
                con.execute(f"create or replace table intermediate.{name} as select * from frame")
                con.unregister("frame")
            [row] = con.execute(
                f"select estimate, uplift_per_customer, uplift_ci_low, uplift_ci_high from ({sql}) "
                "where breakdown = 'all'"
            ).fetchall()
            assert row[0] == "estimated", row
            out.append(row[1:])
        return out
    finally:
        con.close()


def test_a_planted_uplift_is_inside_its_95_percent_interval_in_about_95_percent_of_campaigns(campaign_effect_sql):
    take_up = 0.3
    planted = take_up * MEAN_ORDER
    estimates = _estimates(campaign_effect_sql, take_up)
    covered = sum(low <= planted <= high for _, low, high in estimates)
    # expected 95% (142.5 of 150, binomial sd 2.7): below 90% the standard error is too small
    assert covered >= 0.9 * SEEDS, covered
    # unbiased: the mean of the 150 estimates near the planted 30 (one estimate's sd is ~13, so the mean's is ~1.1;
    # these seeds' mean is 26.0, 3,000 seeds give 30.4 +- 0.26)
    mean = float(np.mean([u for u, _, _ in estimates]))
    assert mean == pytest.approx(planted, abs=5.0)


def test_without_an_effect_about_5_percent_of_intervals_leave_out_0(campaign_effect_sql):
    estimates = _estimates(campaign_effect_sql, 0.0)
    significant = sum(low > 0 or high < 0 for _, low, high in estimates)
    assert significant <= 0.1 * SEEDS, significant  # expected 7.5 of 150
