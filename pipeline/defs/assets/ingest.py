"""Ingest assets: one per canonical entity, loading, cleaning and validating every source of that entity.

Each asset carries one asset check per rule of its Great Expectations suite (and per rule the reader
enforces), plus `reconciliation`. Row-level rules are WARN checks (rows went to quarantine, the run goes
on); table-level rules and the reconciliation are blocking ERROR checks: when one fails, the entity's
downstream assets do not run, while the other entities' do.
"""

from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from pipeline.contracts import load_contracts
from pipeline.contracts.schema import ENTITIES, PARSE_ERRORS, PERSONAL
from pipeline.defs.resources import CrmgradeSettings, DuckDBWarehouse
from pipeline.grading.spec import load_grading_spec
from pipeline.ingest.judged_files import record_judged_files
from pipeline.ingest.loader import (
    HAS_COLUMNS,
    MALFORMED,
    READABLE,
    FileResult,
    IngestOptions,
    ensure_raw_tables,
    ingest_contract,
)
from pipeline.ingest.withdraw import gone_files
from pipeline.privacy.salt import privacy_salt
from pipeline.privacy.suppression import load_suppressions
from pipeline.quality import gate
from pipeline.quality.docs import write_index
from pipeline.quality.reconcile import reconciliation_problems
from pipeline.quality.redact import without_values
from pipeline.quality.suites import suite_for
from pipeline.run_lock import other_holder

RECONCILIATION = "reconciliation"
_READER_RULES = {
    READABLE: ("stop", "Every file of this entity can be read as its contract says (encoding, format, sheet)."),
    HAS_COLUMNS: ("stop", "Every file has the columns its contract maps."),
    MALFORMED: (
        "quarantine",
        "No line has the wrong number of fields or broken JSON, and no Excel cell the contract maps holds a formula "
        "never calculated or an error value (such lines are quarantined, naming the cell).",
    ),
    gate.CHECK_NAME: ("stop", gate.DESCRIPTION),
}


def _rules(entity: str) -> dict[str, tuple[str, str]]:
    """Check name -> (on_failure, description) for an entity."""
    suite = suite_for(entity)
    rules = dict(_READER_RULES)
    rules.update({r.name: (r.on_failure, r.description or r.type) for r in suite.rules})
    return rules


def _check_specs(entity: str) -> list[dg.AssetCheckSpec]:
    key = dg.AssetKey(["raw", entity])
    specs = [
        dg.AssetCheckSpec(
            RECONCILIATION,
            asset=key,
            blocking=True,
            description="Per file this run: rows read = rows loaded + quarantined + duplicates, counted in the tables.",
        )
    ]
    for name, (on_failure, description) in _rules(entity).items():
        specs.append(dg.AssetCheckSpec(name, asset=key, blocking=on_failure == "stop", description=description))
    return specs


def rule_descriptions(entity: str) -> dict[str, str]:
    """What each rule of an entity checks, for the messages that name a rule."""
    return {name: description for name, (_, description) in _rules(entity).items()}


def _check_results(
    entity: str, results: list[FileResult], problems: list[str], breaches: list[gate.Breach]
) -> list[dg.AssetCheckResult]:
    checks = [
        dg.AssetCheckResult(
            check_name=RECONCILIATION,
            passed=not problems,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "files_checked": len([r for r in results if r.status != "unchanged"]),
                "problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems) or "none"),
            },
        )
    ]
    failed: dict[str, list[str]] = defaultdict(list)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    samples: dict[str, list] = defaultdict(list)
    for r in results:
        if r.status == "unreadable":
            failed[READABLE].append(f"{r.file}: {r.message}")
        elif r.status == "rejected" and r.validation is None:
            failed[HAS_COLUMNS].append(f"{r.file}: {r.message}")
        if r.validation is None:
            continue
        for o in r.validation.outcomes:
            if not o.success:
                counts[o.rule.name][r.source] += o.unexpected_count
                # Dagster's event log is outside the warehouse: `crmgrade erase` cannot reach it, so the values
                # of personal columns, and the cell texts a parse error quotes (any column's), stay in
                # dq.validation_results and the validation pages only.
                if PERSONAL.isdisjoint(o.rule.columns) and PARSE_ERRORS not in o.rule.columns:
                    failed[o.rule.name].append(f"{r.file}: {o.summary}")
                    samples[o.rule.name].extend(o.sample[: 5 - len(samples[o.rule.name])])
                else:
                    failed[o.rule.name].append(f"{r.file}: {o.unexpected_count} rows (values in dq.validation_results)")
    for breach in breaches:
        failed[gate.CHECK_NAME].append(breach.message(rule_descriptions(entity)))
        counts[gate.CHECK_NAME][breach.source] += breach.rows_quarantined
    for name, (on_failure, _) in _rules(entity).items():
        severity = dg.AssetCheckSeverity.ERROR if on_failure == "stop" else dg.AssetCheckSeverity.WARN
        files = failed.get(name, [])
        checks.append(
            dg.AssetCheckResult(
                check_name=name,
                passed=not files,
                severity=severity,
                metadata={
                    "on_failure": on_failure,
                    "files_failing": len(files),
                    "unexpected_per_source": dg.MetadataValue.json(dict(counts.get(name, {}))),
                    "sample_values": dg.MetadataValue.json(samples.get(name, [])),
                    "details": dg.MetadataValue.md("\n".join(f"- {f}" for f in files[:20]) or "all files passed"),
                },
            )
        )
    return checks


def _ingest_asset(entity: str, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        partitions_def=partitions,
        name=entity,
        key_prefix="raw",
        description=(
            f"Every source file whose contract maps to `{entity}`: cleaned, validated by "
            f"expectations/{entity}.json, loaded into raw.{entity}; rejected rows in dq.quarantine."
        ),
        kinds={"polars", "duckdb", "great_expectations"},
        check_specs=_check_specs(entity),
    )
    def _asset(context: dg.AssetExecutionContext, settings: CrmgradeSettings, warehouse: DuckDBWarehouse):
        cfg = settings.load_for(context)
        if holder := other_holder(cfg.warehouse):  # a run started from the UI while an erasure writes
            raise dg.Failure(f"{cfg.warehouse} is held by {holder}: one writer at a time; run again after it")
        contracts = [c for c in load_contracts(cfg.sources.contracts) if c.entity == entity]
        options = IngestOptions(
            warehouse_tz=cfg.timezone,
            run_id=context.run_id,
            now=datetime.now(ZoneInfo(cfg.timezone)).replace(tzinfo=None),
            max_volume_drop=cfg.quality.max_volume_drop,
            max_history_years=cfg.quality.max_history_years,
            max_amount=cfg.quality.max_amount,
            currency=load_grading_spec(cfg.grading).currency,
            country=cfg.country,
            docs_dir=cfg.reports_dir / "validation" / context.run_id,
            as_of_date=cfg.resolved_as_of_date(),
            suppression=_suppression(cfg.privacy.dir),
        )
        results: list[FileResult] = []
        errors: list[str] = []

        def on_file(r: FileResult) -> None:
            if r.status == "unchanged":
                return
            line = (
                f"{r.source}: {r.file} {r.status}: read {r.rows_read}, loaded {r.rows_loaded}, "
                f"quarantined {r.rows_quarantined}, duplicates {r.rows_duplicate} ({r.seconds:.1f}s)"
            )
            if r.orders_redelivered:
                line += f"; {r.orders_redelivered} order(s) delivered again: this file's state replaces the earlier"
            (context.log.error if r.stopped else context.log.info)(line + (f": {r.message}" if r.message else ""))

        with warehouse.connect() as con:
            # An entity no contract maps is still an (empty) typed table, with the dq tables beside it: on a
            # fresh warehouse nothing else would create them before the reconciliation reads them.
            ensure_raw_tables(con)
            for contract in contracts:
                # An unexpected error in one source must not stop the others; the asset fails at the end.
                try:
                    judged = ingest_contract(con, contract, cfg.sources.root, options=options, on_file=on_file)
                    results += judged
                    # for the new-files sensor, which cannot open the warehouse (pipeline/ingest/judged_files.py)
                    record_judged_files(
                        cfg.warehouse, contract.source, entity, [(r.file, r.fingerprint) for r in judged]
                    )
                    for gone in gone_files(con, [contract], cfg.sources.root):
                        context.log.warning(
                            f"{gone.source}: {gone.file} is no longer in the source folder; its {gone.rows_loaded:,} "
                            f"rows stay loaded (`crmgrade source withdraw {gone.file}` takes them out)"
                        )
                except Exception as exc:
                    # the message only: Dagster keeps it where `crmgrade erase` cannot reach (quality/redact.py)
                    message = without_values(f"{type(exc).__name__}: {exc}")
                    context.log.error(f"source {contract.source!r}: {message}")
                    errors.append(f"{contract.source}: {message}")
            problems = reconciliation_problems(con, entity, context.run_id)
            limits = gate.source_limits(contracts, cfg.quality.max_quarantine_share)
            breaches = gate.breaches(con, context.run_id, limits)
            for breach in breaches:
                context.log.error(breach.message(rule_descriptions(entity)))
            table_rows = con.execute(f"select count(*) from raw.{entity}").fetchall()[0][0]
        if errors:
            raise dg.Failure(
                description=f"raw.{entity}: {len(errors)} source(s) failed",
                metadata={"errors": dg.MetadataValue.md("\n".join(f"- {e}" for e in errors))},
            )
        judged = [r for r in results if r.status != "unchanged"]
        index = write_index(
            options.docs_dir,
            entity,
            [
                {
                    "source": r.source,
                    "file": r.file,
                    "status": r.status,
                    "read": r.rows_read,
                    "loaded": r.rows_loaded,
                    "quarantined": r.rows_quarantined,
                    "duplicates": r.rows_duplicate,
                    "message": r.message,
                    "pages": r.pages,
                }
                for r in judged
            ],
        )
        per_source: dict[str, dict[str, int]] = {}
        for r in results:
            s = per_source.setdefault(r.source, defaultdict(int))
            s["files"] += 1
            s[r.status] += 1
            for k in ("rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate"):
                s[k] += getattr(r, k) or 0
        yield dg.MaterializeResult(
            metadata={
                "table_rows": dg.MetadataValue.int(table_rows),
                "validation_report": dg.MetadataValue.path(str(index)),
                "rows_loaded_this_run": dg.MetadataValue.int(sum(r.rows_loaded for r in results)),
                "rows_quarantined_this_run": dg.MetadataValue.int(sum(r.rows_quarantined for r in results)),
                "duplicates_removed_this_run": dg.MetadataValue.int(sum(r.rows_duplicate for r in results)),
                "files_stopped": dg.MetadataValue.md(
                    "\n".join(f"- {r.file}: {r.message}" for r in results if r.stopped) or "none"
                ),
                "per_source": dg.MetadataValue.json({k: dict(v) for k, v in per_source.items()}),
            }
        )
        yield from _check_results(entity, results, problems, breaches)

    return _asset


def ingest_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    return [_ingest_asset(entity, partitions) for entity in ENTITIES]


def _suppression(privacy_dir) -> tuple[str, frozenset[str]] | None:
    """The salt and hashes of erased people's identifiers, when anyone was erased (crmgrade erase)."""
    hashes = load_suppressions(privacy_dir).hashes
    return (privacy_salt(privacy_dir), hashes) if hashes else None
