"""Validation results as pages people can open: GE's own Data Docs renderer, one page per validation.

Pages go under `<reports_dir>/validation/<run_id>/`, with an index.html listing every file judged in the run
(loaded, quarantined, duplicates, stops) and linking the pages. The asset metadata links the index.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def render_validation(ge_result: Any, path: Path) -> Path:
    """Write GE's Data Docs page for one validation result."""
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    path.parent.mkdir(parents=True, exist_ok=True)
    page = DefaultJinjaPageView().render(ValidationResultsPageRenderer().render(_values_escaped(ge_result)))
    path.write_text(page, encoding="utf-8")
    return path


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_escaped(v) for v in value)
    return value


def _values_escaped(ge_result: Any) -> Any:
    """A copy of the result whose values from the file (unexpected values, their counts, observed values) are
    HTML-escaped: GE's page writes them into its HTML as they are, so a cell holding `<img src=x onerror=...>`
    ran in the browser of whoever opened the validation page."""
    import copy

    escaped = copy.deepcopy(ge_result)
    for outcome in escaped.results:
        outcome.result = _escaped(outcome.result)
    return escaped


def page_path(run_dir: Path, entity: str, source: str, name: str) -> Path:
    return run_dir / entity / f"{_slug(source)}__{_slug(name)}.html"


def write_index(run_dir: Path, entity: str, rows: list[dict[str, Any]]) -> Path:
    """An index of this entity's files in the run: counts, status, message and links to the GE pages."""
    run_dir.mkdir(parents=True, exist_ok=True)
    head = ["source", "file", "status", "read", "loaded", "quarantined", "duplicates", "message", "pages"]
    body = []
    for r in rows:
        links = " ".join(
            f'<a href="{html.escape(Path(p).relative_to(run_dir).as_posix())}">{html.escape(label)}</a>'
            for label, p in r.get("pages", [])
        )
        cells = [html.escape(str(r.get(k) if r.get(k) is not None else "")) for k in head[:-1]]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + f"<td>{links}</td></tr>")
    page = (
        "<!doctype html><meta charset='utf-8'><title>Validation: " + html.escape(entity) + "</title>"
        "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:2px 6px}"
        "table{border-collapse:collapse}</style>"
        f"<h1>Validation of raw.{html.escape(entity)}</h1>"
        "<p>Every file judged in this run. Rejected rows: <code>dq.quarantine</code>; "
        "accounts: <code>dq.reconciliation</code>.</p><table><tr>"
        + "".join(f"<th>{h}</th>" for h in head)
        + "</tr>"
        + "".join(body)
        + "</table>"
    )
    path = run_dir / f"{_slug(entity)}.html"
    path.write_text(page, encoding="utf-8")
    return path
