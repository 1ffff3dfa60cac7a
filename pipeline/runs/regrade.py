"""`crmgrade regrade`: past days graded again under a recorded spec version, from their inputs as they stood
(pipeline/grading/regrade.py says what a regrade is), one day after another, outside Dagster."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

from pipeline.config import Settings
from pipeline.grading import regrade
from pipeline.grading.variant import grade_variant


def regradable_days(settings: Settings) -> list[date]:
    """Every graded day whose inputs were kept, oldest first."""
    with settings.connect_warehouse() as con:
        return [d for (d,) in con.execute(regrade.REGRADABLE_DAYS).fetchall()]


def regrade_days(
    settings: Settings, days: list[date], version: str | None, progress: Callable[[str], None]
) -> Iterator[regrade.RegradeResult]:
    """Each day graded again under `version` (default: the one that graded it) and compared with its stored
    grades. Raises RegradeError or GradingError for a day that cannot be, DagsterDbtCliRuntimeError when dbt
    fails; the days before it are kept."""
    from pipeline.defs.dbt.project import DBT_PROJECT_DIR, build_variant, dbt_project, dbt_resource

    # one target folder for every regrade, not a new one per call (dagster-dbt's default)
    target = DBT_PROJECT_DIR / dbt_project.target_path / "regrade"
    dbt = dbt_resource()
    for i, as_of_date in enumerate(days, 1):
        with settings.connect_warehouse() as con:
            day = regrade.plan_day(con, as_of_date, version)
        progress(
            f"[{i}/{len(days)}] {as_of_date} under spec {day.spec.version}, from its inputs as they stood at "
            f"{day.inputs_as_of:%Y-%m-%d %H:%M:%S} ..."
        )
        grade_variant(
            settings.connect_warehouse,
            lambda args: build_variant(dbt, ["--quiet", *args], target_path=target),
            regrade.VARIANT,
            day.spec,
            f"grading_spec.versions {day.spec.version}",
            regrade.dbt_vars(day, settings.dbt_vars()),
        )
        with settings.connect_warehouse() as con:
            yield regrade.record_regrade(con, day)
