"""Which bi columns hold personal data, and how a value in clear is recognised.

The bi dbt models mask each column below through the macro `personal` (dbt_project/macros/personal_data.sql);
crmgrade.yml serving.unmasked_columns may name some of them to show in clear. Publishing scans every text
column of the new version with the patterns below before switching to it: the one check of the bi data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # reading crmgrade.yml (serving/config.py checks its columns) needs no database
    import duckdb

# bi table.column -> how it is masked
PERSONAL_COLUMNS: dict[str, str] = {
    "customers.name": "name",
    "customers.phone": "phone",
    "customers.email": "email",
    "customers.address": "address",
    "customers.member_id": "hash",
    "customers.wechat_unionid": "hash",
    "customer_facts.member_id": "hash",
}

# A mainland mobile (optionally +86) not inside a longer number, any E.164 number, an e-mail address.
PHONE = r"(^|[^0-9])(\+?86)?1[3-9][0-9]{9}([^0-9]|$)"
E164 = r"\+[0-9]{8,15}"
EMAIL = r"[A-Za-z0-9._%+-]@[A-Za-z0-9-]+\.[A-Za-z]"
PATTERNS = {"phone": PHONE, "e164": E164, "email": EMAIL}
ANY = "|".join(PATTERNS.values())  # no quote in any of them: written into SQL as a literal


def personal_data_in_clear(
    con: duckdb.DuckDBPyConnection, schema: str, catalog: str | None = None, allowed: set[str] = frozenset()
) -> list[tuple[str, str, str, int]]:
    """(table, column, pattern, rows) for every text column of `schema` holding a value that matches a pattern;
    `allowed` table.column pairs are shown in clear on purpose (serving.unmasked_columns)."""
    columns = con.execute(
        """select table_name, column_name from duckdb_columns()
        where schema_name = ? and (? is null or database_name = ?) and data_type = 'VARCHAR'
        order by table_name, column_index""",
        [schema, catalog, catalog],
    ).fetchall()
    prefix = f'"{catalog}".' if catalog else ""
    by_table: dict[str, list[str]] = {}
    for table, column in columns:
        if f"{table}.{column}" not in allowed:
            by_table.setdefault(table, []).append(column)
    found = []
    for table, names in by_table.items():
        # One pass over the table with the patterns as one; each pattern counted apart only where something matched.
        # (a literal pattern: DuckDB compiles it once, not per row)
        counts = ", ".join(f"count(*) filter (where regexp_matches(\"{c}\", '{ANY}'))" for c in names)
        [hits] = con.execute(f'select {counts} from {prefix}"{schema}"."{table}"').fetchall()
        for column, hit in zip(names, hits, strict=True):
            if not hit:
                continue
            for name, pattern in PATTERNS.items():
                rows = con.execute(
                    f'select count(*) from {prefix}"{schema}"."{table}" where regexp_matches("{column}", ?)', [pattern]
                ).fetchall()[0][0]
                if rows:
                    found.append((table, column, name, rows))
    return found
