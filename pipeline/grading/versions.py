"""Grading spec versions: which exact rules graded a day, kept with their text so any day can be graded again.

A version is the content of everything that decides a grade, a segment, a tag or a recommendation: grading.yml,
rules.yml and the segment maps (the dbt seeds rfm_segments_cn, rfm_segments_en, segment_actions). Its name is the
first 12 hex digits of a SHA-256 over those files' names and bytes, so the same files give the same version on
any machine, and one changed byte (a comment too) gives a new one.

`grading_spec.versions` keeps every version a run has used, append-only, with each file's text: enough to
rebuild the spec exactly (`files_of`), whatever grading.yml says today.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from pipeline.paths import DBT_PROJECT_DIR

SEGMENT_MAPS = ("rfm_segments_cn.csv", "rfm_segments_en.csv", "segment_actions.csv")
VERSIONS_DDL = """create table if not exists grading_spec.versions (
    spec_version varchar primary key,
    files json not null,            -- {file name: text}
    first_used_at timestamp not null,
    first_run_id varchar not null
)"""


@dataclass(frozen=True)
class SpecVersion:
    version: str
    files: dict[str, str]  # file name (grading.yml, rules.yml, a seed's file name) -> its text


def spec_files(grading: Path, rules: Path, seeds_dir: Path = DBT_PROJECT_DIR / "seeds") -> dict[str, str]:
    """The files a version is made of, by the name the version records (not their path on this machine)."""
    files = {"grading.yml": grading, "rules.yml": rules, **{name: seeds_dir / name for name in SEGMENT_MAPS}}
    return {name: path.read_text(encoding="utf-8") for name, path in files.items()}


def version_of(files: dict[str, str]) -> SpecVersion:
    digest = hashlib.sha256()
    for name in sorted(files):
        data = files[name].encode("utf-8")
        # lengths first: no two different sets of files can run together into the same bytes
        digest.update(f"{name}\x00{len(data)}\x00".encode())
        digest.update(data)
    return SpecVersion(digest.hexdigest()[:12], dict(files))


def record_version(con: duckdb.DuckDBPyConnection, spec: SpecVersion, run_id: str, now: datetime) -> bool:
    """Keep `spec` in grading_spec.versions; True when this run is its first."""
    con.execute("create schema if not exists grading_spec")
    con.execute(VERSIONS_DDL)
    known = con.execute("select 1 from grading_spec.versions where spec_version = ?", [spec.version]).fetchall()
    if known:
        return False
    con.execute(
        "insert into grading_spec.versions values (?, ?, ?, ?)",
        [spec.version, json.dumps(spec.files, ensure_ascii=False), now, run_id],
    )
    return True


def files_of(con: duckdb.DuckDBPyConnection, version: str) -> dict[str, str]:
    """The texts of a recorded version; a clear error naming the versions kept when it is not one of them."""
    rows = con.execute("select files from grading_spec.versions where spec_version = ?", [version]).fetchall()
    if not rows:
        kept = con.execute("select spec_version from grading_spec.versions order by first_used_at").fetchall()
        kept = [r[0] for r in kept]
        raise LookupError(f"no grading spec version {version!r} in grading_spec.versions (kept: {kept or 'none'})")
    return json.loads(rows[0][0])
