"""What a failed run says: the exception inside a step, and the quarantine gate (pipeline/quality/gate.py) first."""

import dagster as dg
import duckdb
import pytest

from pipeline.quality import gate
from pipeline.quality.store import DDL
from pipeline.runs.job import step_error
from pipeline.runs.summary import write_failure_summary


def test_a_failed_step_says_the_exception_raised_inside_it_not_dagsters_wrapper():
    @dg.asset
    def identity_assets():
        raise ValueError("math domain error")

    result = dg.materialize([identity_assets], raise_on_error=False)
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "Error occurred while executing" in failure.step_failure_data.error.message
    assert step_error(failure.step_failure_data.error) == "ValueError: math domain error"
    assert step_error(None) == "no error recorded"


def test_an_error_that_says_its_cause_and_more_is_said_whole():
    # identity's MatchingError names the stage and the setting to change around Splink's own message: the console
    # says it, not only the ValueError inside it (issue 45)
    from pipeline.identity.matching import MatchingError

    @dg.asset
    def identity_assets():
        try:
            raise ValueError("m_probability value 0.0 is below the minimum")
        except ValueError as error:
            raise MatchingError(
                f"identity matching, training (expectation maximisation on birth_date): {error}. Name the comparisons"
            ) from error

    result = dg.materialize([identity_assets], raise_on_error=False)
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert step_error(failure.step_failure_data.error) == (
        "MatchingError: identity matching, training (expectation maximisation on birth_date): m_probability value "
        "0.0 is below the minimum. Name the comparisons"
    )


def _dq(rows: list[tuple], quarantined: list[tuple]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for ddl in DDL:
        con.execute(ddl)
    for run, source, entity, file, status, read, quarantine in rows:
        con.execute(
            "insert into dq.reconciliation (run_id, source, entity, file, file_sha256, status, rows_read, rows_loaded,"
            " rows_quarantined, rows_duplicate, balanced, checked_at) values (?, ?, ?, ?, 'sha', ?, ?, ?, ?, 0, true,"
            " now())",
            [run, source, entity, file, status, read, read - quarantine, quarantine],
        )
    for run, source, entity, file, row, rule in quarantined:
        con.execute(
            "insert into dq.quarantine (run_id, source, entity, file, file_sha256, row_number, rule, on_failure,"
            " quarantined_at) values (?, ?, ?, ?, 'sha', ?, ?, 'quarantine', now())",
            [run, source, entity, file, row, rule],
        )
    return con


def test_the_gate_names_the_sources_over_their_share_and_the_rule_that_took_most_rows():
    quarantined = [
        # shop: 7 of 100 rows, rows 1-2 under two rules each: a row counts once, per rule once
        *[("r", "shop", "orders", "a.csv", i, "phone__to_match_regex") for i in range(1, 6)],
        *[("r", "shop", "orders", "b.csv", i, "amount__to_be_between") for i in range(1, 3)],
        ("r", "shop", "orders", "a.csv", 1, "ordered_at__to_not_be_null"),
        # erp: 3 of 100 (under 5%), and a breach of an earlier run that is not this run's
        *[("r", "erp", "orders", "e.csv", i, "amount__to_be_between") for i in range(1, 4)],
        *[("old", "erp", "orders", "e.csv", i, "amount__to_be_between") for i in range(1, 60)],
    ]
    con = _dq(
        [
            ("r", "shop", "orders", "a.csv", "loaded", 60, 5),
            ("r", "shop", "orders", "b.csv", "loaded", 40, 2),
            ("r", "shop", "orders", "c.csv", "unchanged", 0, 0),
            ("r", "erp", "orders", "e.csv", "loaded", 100, 3),
            ("old", "erp", "orders", "e.csv", "loaded", 100, 59),
            ("r", "members", "customers", "m.csv", "loaded", 10, 0),
        ],
        quarantined,
    )
    limits = {("orders", "shop"): 0.05, ("orders", "erp"): 0.05, ("customers", "members"): 0.0}
    [breach] = gate.breaches(con, "r", limits)
    assert breach == gate.Breach("shop", "orders", 100, 7, 0.05, "phone__to_match_regex", 5)
    assert breach.message({"phone__to_match_regex": "Phones are mobiles"}).startswith(
        "orders source 'shop': 7.0% of the 100 rows read this run were quarantined (7), over "
        "quality.max_quarantine_share 5%; most under phone__to_match_regex: 5 rows (Phones are mobiles)."
    )
    # a source's own limit wins; exactly at the limit is within it
    assert gate.breaches(con, "r", {**limits, ("orders", "shop"): 0.07}) == []
    assert [b.source for b in gate.breaches(con, "old", limits)] == ["erp"]


def test_a_contracts_own_share_wins_over_the_configured_default(tmp_path):
    from types import SimpleNamespace

    own = SimpleNamespace(entity="orders", source="shop", quality=SimpleNamespace(max_quarantine_share=0.5))
    unset = SimpleNamespace(entity="orders", source="erp", quality=SimpleNamespace(max_quarantine_share=None))
    assert gate.source_limits([own, unset], 0.05) == {("orders", "shop"): 0.5, ("orders", "erp"): 0.05}


@pytest.mark.parametrize("share", [float("nan"), float("inf"), 1.5, -0.1])
def test_an_impossible_share_is_refused_in_crmgrade_yml(share):
    from pydantic import ValidationError

    from pipeline.quality.config import QualityConfig

    with pytest.raises(ValidationError):
        QualityConfig(max_quarantine_share=share)


def test_a_failed_runs_summary_replaces_the_last_good_one_and_says_the_gate_first(tmp_path):
    (tmp_path / "run_summary.md").write_text("# crmgrade run summary\n(yesterday's)\n", encoding="utf-8")
    text, path = write_failure_summary(
        tmp_path,
        "run-1",
        ["orders source 'shop': 40.0% ..."],
        [("raw__orders", "DagsterAssetCheckFailedError: 1 blocking asset check failed")],
        [("shop", "a.csv", "rejected", "['退款金额']")],
    )
    assert path.read_text(encoding="utf-8") == text
    assert text.startswith("# crmgrade run FAILED\n\nRun run-1, finished ")
    assert (
        text.index("orders source 'shop'")
        < text.index("raw__orders: DagsterAssetCheckFailedError")
        < text.index("- shop a.csv (rejected): ['退款金额']")
    )
    assert "yesterday" not in text


def test_a_contract_whose_glob_matches_nothing_is_named_before_the_run(tmp_path):
    from pipeline.contracts.model import SourceContract
    from pipeline.ingest.source_files import unmatched_globs

    (tmp_path / "dealers").mkdir()
    (tmp_path / "dealers" / "d.csv").write_text("a\n1\n", encoding="utf-8")

    def contract(source, path):
        return SourceContract(source=source, entity="orders", path=path, format="csv", columns={"a": "order_id"})

    said = unmatched_globs(tmp_path, [contract("dealer", "dealer/*.csv"), contract("ok", "dealers/*.csv")])
    assert said == [
        f"the contract of source 'dealer' (orders): path 'dealer/*.csv' matches no file under {tmp_path} "
        "(did you mean 'dealers'?)"
    ]
    assert unmatched_globs(tmp_path / "missing", [contract("x", "*.csv")])[0].endswith(f"under {tmp_path / 'missing'}")
