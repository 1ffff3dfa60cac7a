"""Run a suite on one file's canonical rows with Great Expectations (pandas engine), and say which rows failed.

GE has no Polars engine; the columns a suite reads are handed over as a pandas frame (cheap, Arrow-backed).
Two conversions keep GE on its vectorised paths: timestamps and dates become datetime64[ns] (GE compares
other datetime units value by value, 10x slower) and decimals become floats.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import polars as pl

from pipeline.quality.redact import without_values
from pipeline.quality.suites import Rule, Suite

log = logging.getLogger(__name__)

ROW = "_row_number"
# The datetime64[ns] range is 1677-09-21 .. 2262-04-11; a value outside it is clipped to a bound, still
# outside any plausible range a suite sets, so the suite still rejects it.
_NS_MIN, _NS_MAX = datetime(1678, 1, 1), datetime(2262, 1, 1)
_SAMPLE = 10


def _result_format(index: str) -> dict[str, Any]:
    # COMPLETE lists every failing row by our own index column (GE's would be the frame position).
    return {
        "result_format": "COMPLETE",
        "unexpected_index_column_names": [index],
        "partial_unexpected_count": _SAMPLE,
        "return_unexpected_index_query": False,
    }


@dataclass
class RuleOutcome:
    rule: Rule
    success: bool
    unexpected_count: int = 0
    sample: list[Any] = field(default_factory=list)
    observed: Any = None
    error: str | None = None  # GE could not evaluate the expectation

    @property
    def message(self) -> str:
        if self.error:
            return f"{self.rule.name}: could not be evaluated: {self.error}"
        if self.rule.on_failure == "quarantine" or self.unexpected_count:
            return f"{self.rule.name}: {self.unexpected_count} unexpected value(s), e.g. {self.sample[:3]}"
        return f"{self.rule.name}: observed {self.observed!r}"

    @property
    def summary(self) -> str:
        """The outcome without any value of a row: what goes into dq.reconciliation and the run's log, which
        erasure does not reach (the values stay in dq.validation_results, which it scrubs)."""
        if self.error:
            return f"{self.rule.name}: could not be evaluated (see dq.validation_results)"
        if self.rule.on_failure == "quarantine" or self.unexpected_count:
            return f"{self.rule.name}: {self.unexpected_count} unexpected value(s) (examples in dq.validation_results)"
        observed = self.observed if isinstance(self.observed, int | float) else "see dq.validation_results"
        return f"{self.rule.name}: observed {observed}"


@dataclass
class Validation:
    suite: Suite
    rows: int
    outcomes: list[RuleOutcome]
    row_failures: pl.DataFrame  # _row_number, rule, reason: one row per failing row and rule
    result: dict[str, Any]  # GE's validation result as JSON, index lists removed
    ge_result: Any = None  # the ExpectationSuiteValidationResult itself, for rendering

    @property
    def stops(self) -> list[RuleOutcome]:
        # An expectation GE could not evaluate stops the file too: it was not judged.
        return [o for o in self.outcomes if not o.success and (o.rule.on_failure == "stop" or o.error)]

    @property
    def warnings(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if not o.success and o.rule.on_failure == "warn"]


@cache
def _batch_definition():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    # GE fingerprints every in-memory batch under 1 GB by hashing each cell (a batch marker we never read):
    # measured at ~40% of validation time. Frames over the threshold skip it; make every frame skip it.
    if hasattr(pandas_execution_engine, "HASH_THRESHOLD"):
        pandas_execution_engine.HASH_THRESHOLD = 0

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("crmgrade").add_dataframe_asset("file")
    return context, asset.add_batch_definition_whole_dataframe("whole_file")


def _prepared_suite(suite: Suite):
    """The suite with the index of our rule in each expectation's meta, to map results back."""
    import great_expectations as gx

    document = copy.deepcopy(suite.document)
    document.pop("id", None)
    document["name"] = f"{suite.name}_{len(suite.rules)}"
    for rule, exp in zip(suite.rules, document["expectations"], strict=True):
        exp.pop("id", None)
        exp["meta"] = {**(exp.get("meta") or {}), "crmgrade_rule": rule.index}
    _batch_definition()  # GE wants a context before a suite is built
    return gx.ExpectationSuite(**document)


def _to_pandas(df: pl.DataFrame):
    conversions = []
    for name, dtype in df.schema.items():
        if isinstance(dtype, pl.Datetime | pl.Date):
            conversions.append(pl.col(name).cast(pl.Datetime("us")).clip(_NS_MIN, _NS_MAX).cast(pl.Datetime("ns")))
        elif isinstance(dtype, pl.Decimal):
            conversions.append(pl.col(name).cast(pl.Float64))
    return df.with_columns(conversions).to_pandas()


def _json_safe(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if value != value:  # NaN
        return None
    return value


def _exception_message(info: dict[str, Any] | None) -> str | None:
    """GE reports an exception either at the top of exception_info or under the id of the failing metric."""
    if not info:
        return None
    candidates = [info, *(v for v in info.values() if isinstance(v, dict))]
    for c in candidates:
        if c.get("raised_exception"):
            return str(c.get("exception_message") or "error")
    return None


def validate_frame(df: pl.DataFrame, suite: Suite, parameters: dict[str, Any], index: str = ROW) -> Validation:
    """Validate `df` (canonical columns and an `index` column naming each row) against `suite`.

    `row_failures` has columns `index`, rule and reason.
    """
    needed = [index, *dict.fromkeys(c for r in suite.rules for c in r.columns)]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"suite {suite.file}: column(s) {missing} are not canonical columns of this entity")
    _, batch_definition = _batch_definition()
    batch = batch_definition.get_batch(batch_parameters={"dataframe": _to_pandas(df.select(needed))})
    result = batch.validate(
        _prepared_suite(suite), result_format=_result_format(index), expectation_parameters=parameters
    )

    outcomes: list[RuleOutcome] = []
    failed_rows: list[tuple[int, str, str]] = []
    for r in result.results:
        rule = suite.rule(r.expectation_config.meta["crmgrade_rule"])
        error = _exception_message(r.exception_info)
        if error:
            outcomes.append(RuleOutcome(rule, False, error=error))
            # the console and Dagster's compute log, which erasure cannot reach: the error without cell values
            log.warning("%s: %s could not be evaluated: %s", suite.file.name, rule.name, without_values(error))
            continue
        res = r.result or {}
        outcome = RuleOutcome(
            rule,
            bool(r.success),
            unexpected_count=int(res.get("unexpected_count") or 0),
            sample=[_json_safe(v) for v in (res.get("partial_unexpected_list") or [])],
            observed=_json_safe(res.get("observed_value")),
        )
        outcomes.append(outcome)
        if rule.on_failure == "quarantine" and not r.success:
            for hit in res.get("unexpected_index_list") or []:
                values = ", ".join(f"{c}={_json_safe(v)!r}" for c, v in hit.items() if c != index)
                failed_rows.append((int(hit[index]), rule.name, f"{rule.name}: {values}"))
    outcomes.sort(key=lambda o: o.rule.index)
    row_failures = pl.DataFrame(
        failed_rows, schema={index: pl.Int64, "rule": pl.String, "reason": pl.String}, orient="row"
    )
    document = result.to_json_dict()
    for res in document.get("results", []):
        (res.get("result") or {}).pop("unexpected_index_list", None)
        (res.get("result") or {}).pop("unexpected_list", None)
    return Validation(suite, df.height, outcomes, row_failures, document, result)
