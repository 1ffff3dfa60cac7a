"""The quarantine gate: a source that sent mostly bad rows this run stops its entity instead of loading the rest.

Row-level rules quarantine a failing row and let the file load. That is right for a few bad rows and quietly wrong
for many: a contract whose grain is wrong quarantines 98% of an export under `order_id_unique_per_file`, and a
green run then grades 17% of the buyers. So per run and source, rows quarantined / rows read (of the files judged
this run) above `quality.max_quarantine_share` (crmgrade.yml, or the contract's own) is a table-level failure:
the ingest asset's blocking check `source__quarantine_share` fails, the entity's downstream does not run, the run
exits non-zero and says first which rule took most rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

CHECK_NAME = "source__quarantine_share"
DESCRIPTION = (
    "No source has more than quality.max_quarantine_share (crmgrade.yml, or the contract's own) of the rows it "
    "delivered this run quarantined: a contract that does not fit its export stops the run instead of loading the rest."
)
# statuses of a file judged this run (unchanged and duplicate files were not read again)
_JUDGED = ("loaded", "replaced", "rejected", "unreadable")


@dataclass(frozen=True)
class Breach:
    source: str
    entity: str
    rows_read: int
    rows_quarantined: int
    limit: float
    top_rule: str  # the rule that took most rows
    top_rule_rows: int

    @property
    def share(self) -> float:
        return self.rows_quarantined / self.rows_read

    def message(self, describe: dict[str, str] | None = None) -> str:
        what = (describe or {}).get(self.top_rule)
        checks = f" ({what})" if what else ""
        return (
            f"{self.entity} source {self.source!r}: {self.share:.1%} of the {self.rows_read:,} rows read this run "
            f"were quarantined ({self.rows_quarantined:,}), over quality.max_quarantine_share {self.limit:.0%}; "
            f"most under {self.top_rule}: {self.top_rule_rows:,} rows{checks}. Fix the contract or the export "
            "(dq.quarantine holds every row with its reason), or raise the source's quality.max_quarantine_share."
        )


def source_limits(contracts, default: float) -> dict[tuple[str, str], float]:
    """(entity, source) -> the share of a run's rows the source may have quarantined: its contract's
    quality.max_quarantine_share, else crmgrade.yml's."""
    own = {(c.entity, c.source): c.quality.max_quarantine_share for c in contracts}
    return {key: default if share is None else share for key, share in own.items()}


def breaches(con: duckdb.DuckDBPyConnection, run_id: str, limits: dict[tuple[str, str], float]) -> list[Breach]:
    """The sources (keyed (entity, source) in `limits`, with their allowed share) over their limit in `run_id`."""
    if not limits:
        return []
    rows = con.execute(
        f"""
        with judged as (
            select entity, source, sum(rows_read) as rows_read, sum(rows_quarantined) as rows_quarantined
            from dq.reconciliation
            where run_id = $run_id and status in {_JUDGED}
            group by all
        ),
        rule_rows as (
            select entity, source, rule, count(distinct (file, row_number)) as n
            from dq.quarantine where run_id = $run_id
            group by entity, source, rule
        ),
        per_rule as (
            select * from rule_rows
            qualify row_number() over (partition by entity, source order by n desc, rule) = 1
        )
        select judged.entity, judged.source, judged.rows_read, judged.rows_quarantined, per_rule.rule, per_rule.n
        from judged left join per_rule using (entity, source)
        where judged.rows_read > 0
        order by judged.entity, judged.source
        """,
        {"run_id": run_id},
    ).fetchall()
    out = []
    for entity, source, read, quarantined, rule, rule_rows in rows:
        limit = limits.get((entity, source))
        if limit is not None and quarantined / read > limit:
            out.append(Breach(source, entity, read, quarantined, limit, rule or "?", rule_rows or 0))
    return out
