"""Load source files into the warehouse's `raw` schema: read, de-duplicate, clean, validate, load. Idempotent.

Per file, in one transaction:
1. skip it when the manifest already holds the same content for this source; record a copy of a loaded
   file under another name as a duplicate file;
2. read it (`readers`), set aside malformed lines, remove exact duplicate rows (within the file and
   against this source's other files), clean and type the rest (`transform`);
3. judge the rows with the entity's Great Expectations suite (`pipeline.quality`): rows failing a
   row-level rule go to `dq.quarantine`; a failing table-level rule rejects the whole file (its rows are
   quarantined under that rule, an earlier version of the file stays loaded) and is reported as a stop;
4. replace this file's rows in `raw.<entity>` and record the accounts in `dq.reconciliation`, which must
   balance: rows read = loaded + quarantined + duplicates removed.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipeline.contracts.model import SourceContract
from pipeline.contracts.schema import DUCKDB_TYPES, ENTITIES, LINEAGE
from pipeline.ingest.judged_files import Fingerprint, fingerprint
from pipeline.ingest.readers import SourceRead, SourceReadError, file_sha256, read_source_file, unread_rows
from pipeline.ingest.source_files import find_source_files
from pipeline.ingest.transform import to_canonical
from pipeline.privacy.suppression import suppressed_rows
from pipeline.quality.cleaning import fold_full_width
from pipeline.quality.docs import page_path, render_validation
from pipeline.quality.store import FileRecords, ensure_dq_tables, forget_file_version, forget_judgement
from pipeline.quality.suites import Suite, suite_for
from pipeline.quality.validate import RuleOutcome, Validation, validate_frame
from pipeline.warehouse_tables import insert_frame, transaction

log = logging.getLogger(__name__)

MANIFEST = "raw._ingest_manifest"
HASH_METHOD = f"polars-{pl.__version__}"
# Rules the reader enforces before any suite can run (they appear in dq tables like suite rules).
READABLE = "file__readable"
HAS_COLUMNS = "file__has_contract_columns"
MALFORMED = "file__malformed_line"
NOT_READ = "not read"  # the file_sha256 of a file refused unopened (a link out of the sources root)


@dataclass(frozen=True)
class IngestOptions:
    warehouse_tz: str
    run_id: str
    now: datetime  # naive, in the warehouse time zone: "dates not in the future" are judged against it
    max_volume_drop: float = 0.5
    docs_dir: Path | None = None  # where GE's validation pages go (None: not written)
    as_of_date: date | None = None  # the run's as-of date, stamped on dq.reconciliation and dq.column_profiles
    # (salt, hashes) of the suppression list: rows of erased people are neither loaded nor quarantined
    suppression: tuple[str, frozenset[str]] | None = None
    max_history_years: int = 50  # crmgrade.yml quality.*: the limits a contract's quality block can override
    max_amount: float = 10_000_000
    country: str = "CN"  # crmgrade.yml's: where a phone without a country code is from (a contract's own wins)
    currency: str = "CNY"  # grading.yml's: an order in another currency is quarantined, never summed with these

    def limits(self, contract: SourceContract) -> dict[str, object]:
        """The suites' $PARAMETERs that depend on the source and the as-of date, not on one file."""
        as_of = self.as_of_date or self.now.date()
        own = contract.quality
        years = own.max_history_years or self.max_history_years
        earliest = own.earliest or _years_before(as_of, years)
        return {
            "now": self.now,
            "earliest": datetime.combine(earliest, datetime.min.time()),
            "earliest_birth": datetime.combine(_years_before(as_of, 120), datetime.min.time()),
            "max_amount": float(own.max_amount or self.max_amount),
            "currency": [self.currency],
        }


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@dataclass
class FileResult:
    source: str
    entity: str
    file: str
    status: str  # loaded | replaced | unchanged | duplicate_file | rejected | unreadable
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rows_suppressed: int = 0  # rows of erased people (pipeline/privacy/suppression.py)
    orders_redelivered: int = 0  # orders an earlier file of the source held: this file's state replaces theirs
    seconds: float = 0.0
    message: str | None = None
    validation: Validation | None = field(default=None, repr=False)
    pages: list[tuple[str, Path]] = field(default_factory=list)  # (label, GE Data Docs page)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    fingerprint: Fingerprint | None = None  # the file's size and mtime when judged (ingest/judged_files.py)

    @property
    def rows(self) -> int:
        return self.rows_loaded

    @property
    def stopped(self) -> bool:
        return self.status in ("rejected", "unreadable")


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create `raw` and `dq` tables from the canonical schema; add columns a newer schema introduced."""
    con.execute("create schema if not exists raw")
    for entity, columns in ENTITIES.items():
        cols = {**{c: DUCKDB_TYPES[t] for c, t in columns.items()}, **LINEAGE}
        ddl = ", ".join(f'"{c}" {t}' for c, t in cols.items())
        con.execute(f"create table if not exists raw.{entity} ({ddl})")
        have = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_schema = 'raw' and table_name = ?",
                [entity],
            ).fetchall()
        )
        for c, t in cols.items():
            if c not in have:
                con.execute(f'alter table raw.{entity} add column "{c}" {t}')
            elif t.startswith("decimal") and have[c].replace(" ", "").lower() != t.replace(" ", ""):
                # Decimals widened from two places to four: lossless, and older rows keep their values.
                con.execute(f'alter table raw.{entity} alter column "{c}" set data type {t}')
    con.execute(
        f"""create table if not exists {MANIFEST} (
            source varchar not null,
            entity varchar not null,
            file_path varchar not null,
            file_sha256 varchar not null,
            file_bytes bigint not null,
            rows_loaded bigint not null,
            status varchar not null,
            duplicate_of varchar,
            ingested_at timestamp not null,
            rows_read bigint,
            rows_validated bigint,
            hash_method varchar,
            primary key (source, file_path)
        )"""
    )
    ensure_dq_tables(con)


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _record_hash(columns: list[str]) -> pl.Expr:
    # Nulls and empty strings must hash differently, and so must ("a", "bc") and ("ab", "c").
    return pl.concat_str([pl.col(c).fill_null("\x00") for c in columns], separator="\x1f").hash(seed=0x5EED)


def _split_duplicates(
    con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, contract: SourceContract, rel: str, pending: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows to keep, duplicates): a duplicate repeats an earlier row of this file, a loaded row of another
    file of this source, or a row of a file earlier in the same batch (`pending`)."""
    first = frame.select(pl.col("_record_hash").is_first_distinct()).to_series()
    kept, repeats = frame.filter(first), frame.filter(~first)
    originals = kept.select("_record_hash", pl.col("_row_number").alias("duplicate_of_row"))
    within = repeats.select("_row_number", "_record_hash").join(originals, on="_record_hash", how="left")
    within = within.with_columns(pl.lit(rel).alias("duplicate_of_file"))
    # Loaded rows of other files of this source, hashed the same way (a Polars upgrade changes the hash).
    con.register("_hashes", kept.select("_record_hash").to_arrow())
    elsewhere = con.sql(
        f"""select r._record_hash, min(r._source_file) as duplicate_of_file,
                   arg_min(r._row_number, r._source_file) as duplicate_of_row
            from raw.{contract.entity} r
            join {MANIFEST} m on m.source = r._source and m.file_path = r._source_file and m.hash_method = ?
            where r._source = ? and r._source_file <> ?
              and r._record_hash in (select _record_hash from _hashes)
            group by r._record_hash""",
        params=[HASH_METHOD, contract.source, rel],
    ).pl()
    con.unregister("_hashes")
    if pending.height:
        earlier = pending.filter(pl.col("_record_hash").is_in(kept["_record_hash"].implode()))
        earlier = earlier.unique("_record_hash", keep="first", maintain_order=True)
        elsewhere = pl.concat(
            [elsewhere.with_columns(pl.col("_record_hash").cast(pl.UInt64)), earlier], how="vertical_relaxed"
        ).unique("_record_hash", keep="first", maintain_order=True)
    if elsewhere.height:
        elsewhere = elsewhere.with_columns(pl.col("_record_hash").cast(pl.UInt64))
        across = kept.select("_row_number", "_record_hash").join(elsewhere, on="_record_hash", how="inner")
        kept = kept.filter(~pl.col("_record_hash").is_in(elsewhere["_record_hash"].implode()))
    else:
        across = within.clear()
    columns = ["_row_number", "duplicate_of_file", "duplicate_of_row"]
    return kept, pl.concat([within.select(columns), across.select(columns)]).sort("_row_number")


def _records(read: SourceRead, rows: pl.Series) -> pl.DataFrame:
    """The quarantined rows exactly as read (every column of the file), as JSON text."""
    cols = [c for c in read.header if c in read.frame.columns]
    return read.frame.filter(pl.col("_row_number").is_in(rows.implode())).select(
        "_row_number", pl.struct(cols).struct.json_encode().alias("record")
    )


def _min_rows(previous_rows: int | None, max_drop: float) -> int:
    if not previous_rows:
        return 1
    return max(1, math.ceil(previous_rows * (1 - max_drop)))


class _FileJob:
    """Everything known about one file while it is being ingested."""

    def __init__(
        self, con, contract: SourceContract, root: Path, path: Path, options: IngestOptions, *, read: bool = True
    ) -> None:
        self.con, self.contract, self.options = con, contract, options
        self.path = path
        self.rel = path.relative_to(root).as_posix()
        # before its bytes are read: a file written after this has another fingerprint, and is judged again
        self.fingerprint = fingerprint(path) if read else None
        self.sha = file_sha256(path) if read else NOT_READ
        self.start = time.perf_counter()
        self.at = _utc_now()
        self.seen_before = True  # until _prepare knows better
        # what judging this file writes to the dq tables (quality/store.py)
        self.records = FileRecords(con, self.base(), self.at, options.as_of_date)

    def base(self) -> list:
        return [self.options.run_id, self.contract.source, self.contract.entity, self.rel, self.sha]

    def result(self, status: str, **counts) -> FileResult:
        seconds = time.perf_counter() - self.start
        return FileResult(
            self.contract.source,
            self.contract.entity,
            self.rel,
            status,
            seconds=seconds,
            fingerprint=self.fingerprint,
            **counts,
        )

    def reconcile(self, r: FileResult) -> None:
        self.records.reconciliation(r, self.options.as_of_date or self.options.now.date())


@dataclass
class _Prepared:
    """A file read, de-duplicated and typed, waiting for its batch to be validated."""

    job: _FileJob
    read: SourceRead
    canonical: pl.DataFrame
    dups: pl.DataFrame
    malformed: pl.DataFrame
    previous_rows: int | None  # rows the earlier version of this file had (a replacement), else None
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage, for the benchmark
    suppressed: pl.Series | None = None  # _row_number of rows of erased people, left out


def _malformed_rows(read: SourceRead) -> pl.DataFrame:
    return read.malformed.select(
        "_row_number",
        pl.lit(MALFORMED).alias("rule"),
        pl.lit("quarantine").alias("on_failure"),
        pl.format("{}: {}", pl.lit(MALFORMED), pl.col("reason")).alias("reason"),
        pl.col("text").alias("record"),
    )


def _prepare(job: _FileJob, workdir: Path, pending_hashes: pl.DataFrame) -> FileResult | _Prepared:
    """Read one file up to the point where it waits for validation; a FileResult when it is already settled."""
    con, contract, options = job.con, job.contract, job.options
    rel, sha, path = job.rel, job.sha, job.path
    known = con.execute(
        f"select file_path, file_sha256, rows_validated, rows_read from {MANIFEST}"
        " where source = ? and (file_path = ? or file_sha256 = ?) order by file_path = ? desc",
        [contract.source, rel, sha, rel],
    ).fetchall()
    if any(fp == rel and s == sha for fp, s, _, _ in known):
        return job.result("unchanged")
    # This name was loaded before, or judged before (a rejected version leaves dq rows but no manifest row).
    job.seen_before = any(fp == rel for fp, *_ in known) or bool(
        con.execute(
            "select count(*) from dq.reconciliation where source = ? and file = ?", [contract.source, rel]
        ).fetchall()[0][0]
    )
    same_content = next(((fp, n) for fp, s, _, n in known if s == sha and fp != rel), None)
    if same_content:
        return _duplicate_file(job, *same_content)
    previous = next((n_valid for fp, _, n_valid, _ in known if fp == rel), None)
    try:
        t0 = time.perf_counter()
        read = read_source_file(path, contract, workdir)
        t_read = time.perf_counter() - t0
    except SourceReadError as exc:
        return _reject(job, None, "unreadable", READABLE, str(exc))
    malformed = _malformed_rows(read)
    missing = read.missing_columns(contract)
    if missing:
        message = (
            f"{rel}: column(s) {missing} declared in the contract of source {contract.source!r} are not in the "
            f"file's header (row {contract.header_row}, {len(read.header)} columns)"
        )
        # The header itself only where erasure reaches: a file without a header row has a person's data there.
        detail = f"{message}; the file has {read.header}"
        return _reject(job, read, "rejected", HAS_COLUMNS, message, malformed=malformed, detail=detail)
    ambiguous = read.ambiguous_columns(contract)
    if ambiguous:
        named = "; ".join(f"{name!r} is columns {' and '.join(map(str, at))}" for name, at in ambiguous)
        message = (
            f"{rel}: the header (row {contract.header_row}) holds a column the contract of source "
            f"{contract.source!r} maps more than once: {named}. Which one it means cannot be told: rename one in "
            "the export"
        )
        return _reject(job, read, "rejected", HAS_COLUMNS, message, malformed=malformed)
    source_cols = list(contract.columns)
    frame = read.frame.select("_row_number", *source_cols).with_columns(_record_hash(source_cols).alias("_record_hash"))
    t0 = time.perf_counter()
    kept, dups = _split_duplicates(con, frame, contract, rel, pending_hashes)
    t_dedupe = time.perf_counter() - t0
    canonical = to_canonical(
        fold_full_width(kept, source_cols).lazy(),
        contract,
        source_file=rel,
        file_sha256=sha,
        ingested_at=job.at,
        warehouse_tz=options.warehouse_tz,
        country=contract.country or options.country,
    ).collect()
    stages = {"read": t_read, "deduplicate": t_dedupe, "clean_and_type": time.perf_counter() - t0 - t_dedupe}
    suppressed = None
    if options.suppression:
        suppressed = suppressed_rows(canonical, contract.source, *options.suppression)
        canonical = canonical.filter(~pl.col("_row_number").is_in(suppressed.implode()))
    return _Prepared(job, read, canonical, dups, malformed, previous, stages, suppressed)


def _duplicate_file(job: _FileJob, original: str, original_rows: int | None) -> FileResult:
    """A re-export under a new name: every row repeats the other file; record it, load nothing.

    If this name held other content before, its old rows go."""
    con, contract = job.con, job.contract
    rows_read = original_rows or 0
    result = job.result("duplicate_file", rows_read=rows_read, rows_duplicate=rows_read)
    result.message = f"same content as {original}"
    with transaction(con):
        con.execute(
            f"delete from raw.{contract.entity} where _source = ? and _source_file = ?", [contract.source, job.rel]
        )
        forget_file_version(con, contract.source, job.rel, keep_sha=None)
        _record_manifest(job, "duplicate", rows_loaded=0, rows_read=rows_read, rows_validated=0, duplicate_of=original)
        job.reconcile(result)
    return result


def _record_manifest(
    job: _FileJob,
    status: str,
    *,
    rows_loaded: int,
    rows_read: int,
    rows_validated: int,
    duplicate_of: str | None = None,
) -> None:
    job.con.execute(
        f"insert or replace into {MANIFEST} by name select ? as source, ? as entity, ? as file_path,"
        " ? as file_sha256, ? as file_bytes, ? as rows_loaded, ? as status, ? as duplicate_of,"
        " ? as ingested_at, ? as rows_read, ? as rows_validated, ? as hash_method",
        [
            job.contract.source,
            job.contract.entity,
            job.rel,
            job.sha,
            job.path.stat().st_size,
            rows_loaded,
            status,
            duplicate_of,
            job.at,
            rows_read,
            rows_validated,
            HASH_METHOD,
        ],
    )


def _file_outcomes(suite: Suite, failures: pl.DataFrame) -> list[RuleOutcome]:
    """Per-file outcomes of the row-level rules, from the failures the batch validation found in this file."""
    outcomes = []
    for rule in suite.rules:
        hits = failures.filter(pl.col("rule") == rule.name)
        sample = [r.split(": ", 1)[-1] for r in hits["reason"].head(10).to_list()]
        outcomes.append(RuleOutcome(rule, hits.height == 0, unexpected_count=hits.height, sample=sample))
    return outcomes


def _finish(batch: list[_Prepared]) -> list[FileResult]:
    """Validate a batch of files (row rules once for all, table rules per file), then load or reject each."""
    if not batch:
        return []
    options = batch[0].job.options
    suite = suite_for(batch[0].job.contract.entity)
    row_suite, table_suite = suite.only(row_level=True), suite.only(row_level=False)
    # One GE call for the row-level rules of the whole batch: GE costs ~0.4 s per call whatever the size.
    together = pl.concat(
        [p.canonical.with_columns(pl.lit(i, pl.Int32).alias("_file_index")) for i, p in enumerate(batch)],
        how="vertical_relaxed",
    ).with_row_index("_batch_row")
    together = together.with_columns(pl.col("_batch_row").cast(pl.Int64))
    t0 = time.perf_counter()
    limits = options.limits(batch[0].job.contract)
    batch_validation = validate_frame(together, row_suite, {**limits, "min_rows": 1}, index="_batch_row")
    batch_seconds, batch_size = time.perf_counter() - t0, max(together.height, 1)
    failures = batch_validation.row_failures.join(
        together.select("_batch_row", "_file_index", "_row_number"), on="_batch_row"
    )
    del together
    pages: list[tuple[str, Path]] = []
    if options.docs_dir is not None and batch_validation.ge_result is not None:
        job = batch[0].job
        name = f"row_rules_{job.rel}" + (f"_and_{len(batch) - 1}_more" if len(batch) > 1 else "")
        path = page_path(options.docs_dir, job.contract.entity, job.contract.source, name)
        pages.append(("row rules (batch)", render_validation(batch_validation.ge_result, path)))
    results = []
    for i, p in enumerate(batch):
        mine = failures.filter(pl.col("_file_index") == i).select("_row_number", "rule", "reason")
        params = {**limits, "min_rows": _min_rows(p.previous_rows, options.max_volume_drop)}
        t0 = time.perf_counter()
        table = validate_frame(p.canonical, table_suite, params) if table_suite.rules else None
        # The batch's validation time is shared among its files by rows.
        p.stages["validate"] = time.perf_counter() - t0 + batch_seconds * p.canonical.height / batch_size
        outcomes = [*(table.outcomes if table else []), *_file_outcomes(row_suite, mine)]
        outcomes.sort(key=lambda o: o.rule.index)
        result_json = {"file": table.result if table else None, "batch_row_rules": batch_validation.result}
        validation = Validation(suite, p.canonical.height, outcomes, mine, result_json)
        t0 = time.perf_counter()
        result = _load(p, validation)
        p.stages["load"] = time.perf_counter() - t0
        result.stage_seconds = p.stages
        result.pages = list(pages)
        if options.docs_dir is not None and table is not None and not all(o.success for o in table.outcomes):
            path = page_path(options.docs_dir, p.job.contract.entity, p.job.contract.source, f"table_rules_{p.job.rel}")
            result.pages.append(("table rules", render_validation(table.ge_result, path)))
        results.append(result)
    return results


def _load(p: _Prepared, validation: Validation) -> FileResult:
    job, read, canonical, dups, malformed = p.job, p.read, p.canonical, p.dups, p.malformed
    con, contract = job.con, job.contract
    reader_rules = [(MALFORMED, "quarantine", malformed.height == 0, malformed.height, None)]
    if validation.stops:
        message = "; ".join(o.summary for o in validation.stops)
        return _reject(
            job,
            read,
            "rejected",
            None,
            message,
            validation=validation,
            dups=dups,
            malformed=malformed,
            suppressed=p.suppressed,
        )
    failures = validation.row_failures
    bad = failures["_row_number"].unique()
    quarantined = failures.join(_records(read, bad), on="_row_number", how="left").select(
        "_row_number", "rule", pl.lit("quarantine").alias("on_failure"), "reason", "record"
    )
    load = canonical.filter(~pl.col("_row_number").is_in(bad.implode()))
    status = "replaced" if p.previous_rows is not None else "loaded"
    result = job.result(
        status,
        rows_read=read.rows_read,
        rows_loaded=load.height,
        rows_quarantined=bad.len() + malformed.height,
        rows_duplicate=dups.height,
        rows_suppressed=p.suppressed.len() if p.suppressed is not None else 0,
        validation=validation,
    )
    if validation.warnings:
        result.message = "; ".join(o.summary for o in validation.warnings)
    table = f"raw.{contract.entity}"
    with transaction(con):
        if job.seen_before:  # a new file has nothing to replace: skip two scans of growing tables
            con.execute(f"delete from {table} where _source = ? and _source_file = ?", [contract.source, job.rel])
            forget_file_version(con, contract.source, job.rel, keep_sha=None)
        insert_frame(con, table, load)
        if contract.entity == "orders" and "order_id" in contract.filled_columns() and load.height:
            ids = load["order_id"]
            result.orders_redelivered = _orders_redelivered(con, contract.source, job.rel, ids.min(), ids.max())
        job.records.column_profile(canonical, job.contract.filled_columns())
        job.records.quarantine(pl.concat([quarantined, malformed]))
        job.records.duplicates(dups)
        _record_manifest(
            job, status, rows_loaded=load.height, rows_read=read.rows_read, rows_validated=canonical.height
        )
        job.records.validation(validation, reader_rules, job.contract.entity)
        result.seconds = time.perf_counter() - job.start
        job.reconcile(result)
    return result


def _orders_redelivered(con: duckdb.DuckDBPyConnection, source: str, file: str, low: str, high: str) -> int:
    """Orders of `file` that another file of the source holds too: the one loaded last is the order's state. The
    file's id range bounds both scans: row groups of other ids are skipped (0.3 s -> 5 ms a file at 10M rows)."""
    return con.execute(
        """select count(distinct order_id) from raw.orders
           where _source = $source and _source_file <> $file and order_id between $low and $high
               and order_id in (
                   select order_id from raw.orders
                   where _source = $source and _source_file = $file and order_id between $low and $high
               )""",
        {"source": source, "file": file, "low": low, "high": high},
    ).fetchall()[0][0]


def _reject(
    job: _FileJob,
    read: SourceRead | None,
    status: str,
    rule: str | None,
    message: str,
    *,
    validation: Validation | None = None,
    dups: pl.DataFrame | None = None,
    malformed: pl.DataFrame | None = None,
    suppressed: pl.Series | None = None,
    detail: str | None = None,
) -> FileResult:
    """The file does not load: its rows are quarantined under the failing rule(s); an earlier version stays.
    Rows of erased people (`suppressed`) are left out of the quarantine too.

    `message` (dq.reconciliation, the log) holds no value of a row; `detail` may, and goes only to
    dq.validation_results and dq.quarantine, which erasure scrubs."""
    con, contract = job.con, job.contract
    rules = [rule] if rule else [o.rule.name for o in (validation.stops if validation else [])]
    # A file that could not be read still has its lines counted and kept (none when it was refused unread).
    unread = unread_rows(job.path, contract) if read is None and job.sha != NOT_READ else []
    rows_read = read.rows_read if read is not None else len(unread)
    dup_rows = dups["_row_number"] if dups is not None and dups.height else pl.Series([], dtype=pl.Int64)
    left_out = pl.concat([dup_rows, suppressed]) if suppressed is not None else dup_rows
    parts = []
    if read is not None:
        judged = read.frame.filter(~pl.col("_row_number").is_in(left_out.implode()))
        records = _records(read, judged["_row_number"])
        for r in rules:
            parts.append(
                records.select(
                    "_row_number",
                    pl.lit(r).alias("rule"),
                    pl.lit("stop").alias("on_failure"),
                    pl.lit(message).alias("reason"),
                    "record",
                )
            )
    if unread:
        parts.append(
            pl.DataFrame(unread, schema={"_row_number": pl.Int64, "record": pl.String}, orient="row").select(
                "_row_number",
                pl.lit(rules[0]).alias("rule"),
                pl.lit("stop").alias("on_failure"),
                pl.lit(message).alias("reason"),
                "record",
            )
        )
    if malformed is not None:
        parts.append(malformed)
    quarantined = pl.concat(parts) if parts else pl.DataFrame()
    n_quarantined = quarantined["_row_number"].n_unique() if quarantined.height else 0
    result = job.result(
        status,
        rows_read=rows_read,
        rows_quarantined=n_quarantined,
        rows_duplicate=dups.height if dups is not None else 0,
        rows_suppressed=suppressed.len() if suppressed is not None else 0,
        validation=validation,
    )
    result.message = message
    with transaction(con):
        forget_judgement(con, contract.source, job.rel, job.sha)
        if quarantined.height:
            job.records.quarantine(quarantined)
        if dups is not None:
            job.records.duplicates(dups)
        extra = [(rule, "stop", False, rows_read, detail or message)] if rule else []
        job.records.validation(validation, extra, job.contract.entity)
        job.reconcile(result)
    log.error("%s %s: %s: %s", contract.source, job.rel, status, message)
    return result


def ingest_contract(
    con: duckdb.DuckDBPyConnection,
    contract: SourceContract,
    root: Path,
    *,
    options: IngestOptions,
    on_file: Callable[[FileResult], None] | None = None,
    batch_rows: int = 500_000,
) -> list[FileResult]:
    """Ingest every file of one source, validating new files in batches of about `batch_rows` rows.

    Batches bound the memory (one batch of typed rows at a time) and share Great Expectations' fixed cost
    per validation among many small files (a first load of monthly exports has hundreds).
    """
    ensure_raw_tables(con)
    results: list[FileResult] = []
    no_hashes = pl.DataFrame(
        schema={"_record_hash": pl.UInt64, "duplicate_of_file": pl.String, "duplicate_of_row": pl.Int64}
    )

    def settle(done: list[FileResult]) -> None:
        for r in done:
            if on_file:
                on_file(r)
            results.append(r)

    with tempfile.TemporaryDirectory(prefix="crmgrade-ingest-") as tmp:
        batch: list[_Prepared] = []
        pending_hashes = no_hashes
        found = find_source_files(root, contract)
        for path in found.refused:
            job = _FileJob(con, contract, root, path, options, read=False)
            message = f"{job.rel}: leads outside sources.root ({root}); refused, not read"
            settle([_reject(job, None, "unreadable", READABLE, message)])
        for path in found.files:
            job = _FileJob(con, contract, root, path, options)
            prepared = _prepare(job, Path(tmp), pending_hashes)
            if isinstance(prepared, FileResult):
                settle([prepared])
                continue
            batch.append(prepared)
            # Later files of the batch are de-duplicated against this one too, before it is loaded.
            pending_hashes = pl.concat(
                [
                    pending_hashes,
                    prepared.canonical.select(
                        "_record_hash",
                        pl.lit(job.rel).alias("duplicate_of_file"),
                        pl.col("_row_number").alias("duplicate_of_row"),
                    ),
                ]
            )
            if sum(p.canonical.height for p in batch) >= batch_rows:
                settle(_finish(batch))
                batch, pending_hashes = [], no_hashes
        settle(_finish(batch))
    return sorted(results, key=lambda r: r.file)
