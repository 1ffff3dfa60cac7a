"""Shadow grading: a candidate spec graded beside the live one, compared, and never served."""

import dagster as dg
import pytest

from pipeline.grading.versions import spec_files, version_of
from tests.conftest import REPO
from tests.e2e.pipeline_runs import materialize, query, stricter_a_spec

SERVED = "select * from marts.customer_grades order by customer_key"


def test_a_shadow_spec_produces_a_comparison_without_touching_the_served_grades(first_run, tmp_path):
    config, warehouse = first_run.copy_to(tmp_path)
    # the candidate: A needs a weighted score of 4.5 instead of 4.0; nothing else changes
    candidate = stricter_a_spec(tmp_path / "candidate.yml")
    config.write_text(config.read_text(encoding="utf-8") + f"shadow_grading: {candidate}\n", encoding="utf-8")
    served, bi = query(warehouse, SERVED), query(warehouse, "select * from bi.customer_grades order by customer_key")
    live_version = version_of(spec_files(REPO / "grading.yml", REPO / "rules.yml")).version
    shadow_version = version_of(spec_files(candidate, REPO / "rules.yml")).version

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRMGRADE_WAREHOUSE", str(warehouse))  # read by the dbt profile
        shown = [dg.AssetKey(["evaluation", "shadow_grade_comparison"]), dg.AssetKey(["monitoring", "report"])]
        result = materialize(config, warehouse, selection=shown)
    assert result.success

    # what BI and the marts serve is the live spec's, to the last row
    assert query(warehouse, SERVED) == served
    assert query(warehouse, "select * from bi.customer_grades order by customer_key") == bi
    assert {v for (v,) in query(warehouse, "select distinct spec_version from marts.customer_grades")} == {live_version}
    # the shadow graded the same customers under the candidate's version, recorded with its text
    shadow = query(warehouse, "select count(*), min(spec_version), max(spec_version) from shadow_marts.customer_grades")
    assert shadow == [(len(served), shadow_version, shadow_version)]
    assert query(warehouse, f"select count(*) from grading_spec.versions where spec_version = '{shadow_version}'") == [
        (1,)
    ]
    # exactly the live A customers scoring below 4.5 are graded otherwise (B), counted per grade pair
    [(expected_moves,)] = query(
        warehouse, "select count(*) from marts.customer_grades where grade = 'A' and weighted_score < 4.5"
    )
    assert expected_moves > 0
    comparison = query(
        warehouse,
        """select live_spec_version, shadow_spec_version, live_grade, shadow_grade, customers
        from evaluation.shadow_grade_comparison""",
    )
    assert sum(row[4] for row in comparison) == len(served)
    moved = {(live, new): n for _, _, live, new, n in comparison if live != new}
    assert moved == {("A", "B"): expected_moves}
    assert {(row[0], row[1]) for row in comparison} == {(live_version, shadow_version)}
    # and keeps them per day beside the served grades, for the spec backtest
    assert query(
        warehouse,
        f"""select count(*), min(variant), count(distinct inputs_as_of) from evaluation.variant_grades
        where spec_version = '{shadow_version}'""",
    ) == [(len(served), "shadow", 1)]
    # and the monitoring report says so
    report = " ".join((tmp_path / "reports" / "monitoring" / "latest.html").read_text(encoding="utf-8").split())
    assert f"Spec {shadow_version} (crmgrade.yml shadow_grading)" in report
    assert f"{expected_moves:,} of {len(served):,} customers get another grade" in report
    assert "Cut points on 2026-07-01" in report  # the day's cut points are shown too
