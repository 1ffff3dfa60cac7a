"""Markdown tables for Dagster metadata and the run summary."""

from collections.abc import Iterable, Sequence


def _cell(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def md_table(headers: Sequence[str], rows: Iterable[Sequence[object]], numeric: Sequence[bool] | None = None) -> str:
    """A Markdown table; numbers with thousands separators and right-aligned (or as `numeric` says)."""
    rows = [list(r) for r in rows]
    if numeric is None:
        numeric = [
            bool(rows) and all(isinstance(r[i], int | float) for r in rows if r[i] is not None)
            for i in range(len(headers))
        ]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)
