"""The warehouse file copied afresh, so that the pages of deleted rows are gone from its bytes.

DuckDB marks a deleted row's pages free and reuses them later; until then the bytes stay in the file (an erased
e-mail could be read with `strings warehouse.duckdb`). COPY FROM DATABASE writes every schema, table, view, macro
and sequence into a new file, which then takes the old one's place in one rename.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def rewrite_warehouse(warehouse: Path, config: dict | None = None) -> None:
    """Replace `warehouse` by a copy holding only its live data. The caller holds the run lock and no connection
    to it; a crash before the rename leaves the old file whole (and a `.rewrite` file the next call removes)."""
    fresh = warehouse.with_name(warehouse.name + ".rewrite")
    for leftover in (fresh, fresh.with_name(fresh.name + ".wal")):
        leftover.unlink(missing_ok=True)
    # the write-ahead log first: a log left beside the file would be replayed onto the copy after the rename
    duckdb.connect(str(warehouse), config=config or {}).execute("checkpoint").close()
    con = duckdb.connect(config=config or {})
    try:
        con.execute(f"attach {_quoted(warehouse)} as old_warehouse (read_only)")
        con.execute(f"attach {_quoted(fresh)} as new_warehouse")
        con.execute("copy from database old_warehouse to new_warehouse")
        con.execute("detach new_warehouse")
        con.execute("detach old_warehouse")
    finally:
        con.close()
    with open(fresh, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(fresh, warehouse)
