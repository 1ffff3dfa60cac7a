"""The Great Expectations suites in `expectations/`: one JSON file per canonical entity, in GE's own format.

Each expectation gets a stable name (for its Dagster asset check) and an action on failure:

- `quarantine`: row-level. Map expectations (column values, column pairs, compound columns) without `mostly`:
  the failing rows go to `dq.quarantine`, the rest of the file loads.
- `stop`: table-level. Everything else (row counts, schema, `mostly` shares): the file is rejected, its rows
  go to quarantine under this rule, and the source's downstream assets do not run.
- `warn`: a table-level expectation whose GE `severity` is `warning` or `info`: recorded, nothing stops.

`meta.on_failure` in the suite file overrides the default; `meta.name` overrides the derived name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pipeline.paths import REPO_ROOT
from pipeline.quality.expectation_types import ROW_LEVEL, TABLE_LEVEL

EXPECTATIONS_DIR = REPO_ROOT / "expectations"
OnFailure = Literal["quarantine", "stop", "warn"]
# Parameters a suite may reference as {"$PARAMETER": name}; the validator supplies them per file.
PARAMETERS = {
    "now": "the time of the run, in the warehouse time zone",
    "min_rows": "1, or for a file replacing an earlier version: its earlier rows x (1 - quality.max_volume_drop)",
    "earliest": "the earliest event time: quality.max_history_years before the as-of date, or the source's own",
    "earliest_birth": "120 years before the as-of date",
    "max_amount": "quality.max_amount (in the source's currency), or the source's own",
    "currency": "[the currency grading.yml grades in]: amounts in another currency are not mixed into its sums",
}


class SuiteError(ValueError):
    """A suite file that cannot be used; the message names the file and the expectation."""


@dataclass(frozen=True)
class Rule:
    name: str  # unique within the suite, a valid Dagster check name
    type: str  # the GE expectation type, e.g. expect_column_values_to_be_between
    kwargs: dict[str, Any]
    on_failure: OnFailure
    description: str
    index: int  # position in the suite file

    @property
    def columns(self) -> list[str]:
        k = self.kwargs
        cols = [k.get("column"), k.get("column_A"), k.get("column_B"), *(k.get("column_list") or [])]
        return [c for c in cols if c]


@dataclass(frozen=True)
class Suite:
    name: str
    file: Path
    document: dict[str, Any]  # the suite as GE reads it
    rules: tuple[Rule, ...]

    def rule(self, index: int) -> Rule:
        """The rule at `index` in the suite file."""
        return next(r for r in self.rules if r.index == index)

    def only(self, row_level: bool) -> Suite:
        """The row-level rules (quarantine) or the table-level ones (stop, warn), as a suite of their own."""
        keep = [r for r in self.rules if (r.on_failure == "quarantine") == row_level]
        document = {**self.document, "expectations": [self.document["expectations"][r.index] for r in keep]}
        return Suite(self.name, self.file, document, tuple(keep))


def _is_row_level(type_name: str) -> bool:
    if type_name in ROW_LEVEL:
        return True
    if type_name in TABLE_LEVEL:
        return False
    raise KeyError(type_name)


def _default_name(exp: dict[str, Any]) -> str:
    kw = exp.get("kwargs", {})
    subject = kw.get("column") or "_".join(filter(None, [kw.get("column_A"), kw.get("column_B")]))
    subject = subject or "_".join(kw.get("column_list") or []) or "table"
    verb = exp["type"].removeprefix("expect_").removeprefix("column_values_").removeprefix("table_")
    verb = verb.removeprefix("column_pair_values_").removeprefix("compound_columns_")
    return re.sub(r"[^a-z0-9_]", "_", f"{subject}__{verb}".lower().lstrip("_"))


def _parameters_used(value: Any) -> set[str]:
    if isinstance(value, dict):
        if set(value) == {"$PARAMETER"}:
            return {value["$PARAMETER"]}
        return set().union(*(_parameters_used(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_parameters_used(v) for v in value)) if value else set()
    return set()


def load_suite(file: Path) -> Suite:
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SuiteError(f"{file}: not a readable JSON suite: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("expectations"), list):
        raise SuiteError(f"{file}: a suite is a JSON object with an 'expectations' list")
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for i, exp in enumerate(document["expectations"]):
        where = f"{file}: expectations[{i}]"
        type_name = exp.get("type") if isinstance(exp, dict) else None
        if not type_name:
            raise SuiteError(f"{where}: missing 'type'")
        try:
            row_level = _is_row_level(type_name)
        except KeyError:
            raise SuiteError(f"{where}: unknown expectation type {type_name!r}") from None
        unknown = _parameters_used(exp.get("kwargs", {})) - set(PARAMETERS)
        if unknown:
            raise SuiteError(f"{where}: unknown $PARAMETER {sorted(unknown)}; known: {sorted(PARAMETERS)}")
        meta = exp.get("meta") or {}
        mostly = exp.get("kwargs", {}).get("mostly")
        if row_level and (mostly is None or mostly >= 1):
            default: OnFailure = "quarantine"
        else:
            default = "warn" if exp.get("severity") in ("warning", "info") else "stop"
        on_failure = meta.get("on_failure", default)
        if on_failure not in ("quarantine", "stop", "warn"):
            raise SuiteError(f"{where}: meta.on_failure must be quarantine, stop or warn, not {on_failure!r}")
        if on_failure == "quarantine" and not row_level:
            raise SuiteError(f"{where}: {type_name} judges the whole table; it cannot quarantine rows")
        name = meta.get("name") or _default_name(exp)
        if not re.fullmatch(r"[a-z0-9_]+", name):
            raise SuiteError(f"{where}: meta.name {name!r} must be lower-case letters, digits and '_'")
        if name in seen:
            raise SuiteError(
                f"{where}: name {name!r} is also the name of expectations[{seen[name]}]; give one a meta.name"
            )
        seen[name] = i
        rules.append(Rule(name, type_name, exp.get("kwargs", {}), on_failure, exp.get("description") or "", i))
    return Suite(name=document.get("name") or file.stem, file=file, document=document, rules=tuple(rules))


@cache
def suite_for(entity: str, folder: Path = EXPECTATIONS_DIR) -> Suite:
    file = folder / f"{entity}.json"
    if not file.exists():
        raise SuiteError(f"{file}: no suite for entity {entity!r} (every canonical entity needs one)")
    return load_suite(file)
