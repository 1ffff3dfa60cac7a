"""The one Dagster code location (workspace.yaml, `dagster dev`, `dagster code-server start -m pipeline.definitions`):
ingest -> validate -> identity -> dbt (staging, intermediate, marts) -> grading -> monitoring -> serving (the copy
BI reads), run by the nightly schedule, the new-files sensor, or by hand (UI, `crmgrade run`).

The settings are read here, once, when the code location loads ($CRMGRADE_CONFIG or crmgrade.yml): the
schedule's cron, the sensor's interval and the partitions come from them. `crmgrade run` builds the same
definitions from the settings it has already read (pipeline/defs/build.py).
"""

from __future__ import annotations

import os

from pipeline.config import load_settings
from pipeline.defs.build import build_definitions

_settings = load_settings()
# The DuckDB limits the warehouse resource and dbt read, unless `crmgrade run` exported them already.
for _name, _value in _settings.duckdb.environment(_settings.warehouse).items():
    os.environ.setdefault(_name, _value)

defs = build_definitions(_settings)
