"""The suppression list: salted hashes of the identifiers of erased people, never the identifiers themselves.

Kept in crmgrade.yml privacy.dir (suppressions.csv), outside the warehouse, so that ingesting the old files
again, or rebuilding the warehouse from them, leaves the erased people out. A row is suppressed when any of its
identifiers hashes to an entry: it is neither loaded nor quarantined, and dq.reconciliation counts it.
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from pipeline.contracts.schema import PERSON_IDENTIFIERS, SOURCE_SCOPED

FILE = "suppressions.csv"
FIELDS = ["identifier_hash", "kind", "erasure_id", "added_at"]
# The identifiers of a person, as the identity graph uses them; a source-scoped one (buyer_id, lead_id) is
# hashed with its source.
KINDS = PERSON_IDENTIFIERS


def identifier_hash(salt: str, kind: str, value: str) -> str:
    """Hex SHA-256 of salt:kind:value; DuckDB's sha256() over the same text gives the same digest."""
    return hashlib.sha256(f"{salt}:{kind}:{value}".encode()).hexdigest()


@dataclass(frozen=True)
class SuppressionList:
    hashes: frozenset[str]

    def __len__(self) -> int:
        return len(self.hashes)


def load_suppressions(privacy_dir: Path) -> SuppressionList:
    file = privacy_dir / FILE
    if not file.exists():
        return SuppressionList(frozenset())
    with open(file, newline="", encoding="utf-8") as f:
        return SuppressionList(frozenset(row["identifier_hash"] for row in csv.DictReader(f)))


def erasures_listing(privacy_dir: Path) -> dict[str, str]:
    """identifier hash -> the erasure that listed it."""
    file = privacy_dir / FILE
    if not file.exists():
        return {}
    with open(file, newline="", encoding="utf-8") as f:
        return {row["identifier_hash"]: row["erasure_id"] for row in csv.DictReader(f)}


def add_suppressions(privacy_dir: Path, salt: str, identifiers: list[tuple[str, str]], erasure_id: str) -> int:
    """Append the hashes of (kind, value) pairs not listed yet; returns how many were added."""
    privacy_dir.mkdir(parents=True, exist_ok=True)
    file = privacy_dir / FILE
    known = load_suppressions(privacy_dir).hashes
    now = datetime.now(UTC).isoformat()
    rows = []
    for kind, value in sorted(set(identifiers)):
        digest = identifier_hash(salt, kind, value)
        if digest not in known:
            known = known | {digest}
            rows.append({"identifier_hash": digest, "kind": kind, "erasure_id": erasure_id, "added_at": now})
    new_file = not file.exists()
    with open(file, "a", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, FIELDS)
        if new_file:
            writer.writeheader()
        writer.writerows(rows)
        f.flush()
        os.fsync(f.fileno())  # listed before any store is scrubbed (privacy/journal.py)
    return len(rows)


def suppressed_rows(frame: pl.DataFrame, source: str, salt: str, hashes: frozenset[str]) -> pl.Series:
    """_row_number of the rows of a cleaned, canonical frame whose identifiers are on the suppression list.

    Each distinct value is hashed once, in Python (hashlib), only when the list is not empty."""
    if not hashes or frame.is_empty():
        return pl.Series("_row_number", [], dtype=pl.Int64)
    hit = pl.lit(False)
    for kind in KINDS:
        if kind not in frame.columns:
            continue
        value = pl.lit(f"{source}:") + pl.col(kind) if kind in SOURCE_SCOPED else pl.col(kind)
        distinct = frame.select(value.alias("v")).drop_nulls().unique()["v"].to_list()
        listed = [v for v in distinct if identifier_hash(salt, kind, v) in hashes]
        if listed:
            hit = hit | value.is_in(listed)
    return frame.filter(hit)["_row_number"].cast(pl.Int64)
