"""`crmgrade erase` and the run's first step: erasing a person from every layer (pipeline/privacy), with the
warehouse, files and serving copy the settings name. The caller holds the run lock (pipeline/run_lock.py)."""

from __future__ import annotations

from collections.abc import Callable

from pipeline.config import Settings
from pipeline.contracts import load_contracts
from pipeline.privacy.erasure import ErasureReport, ErasureRequest
from pipeline.privacy.journal import ErasureTarget, erase, finish_open_erasures, open_erasures
from pipeline.privacy.salt import privacy_salt
from pipeline.runs.publish import republish_after_erasure


def erasure_target(settings: Settings) -> ErasureTarget:
    """Every store an erasure reaches, as the settings name them; the serving copy is published again after."""
    return ErasureTarget(
        warehouse=settings.warehouse,
        connection_config=settings.duckdb.connection_config(settings.warehouse),
        contracts=load_contracts(settings.sources.contracts),
        salt=privacy_salt(settings.privacy.dir),
        privacy_dir=settings.privacy.dir,
        reports_dir=settings.reports_dir,
        outbox_dir=settings.outbox_dir,
        country=settings.country,
        republish=lambda: republish_after_erasure(settings),
    )


def _finish_open(target: ErasureTarget, step: Callable[[str], None], said: Callable[[str], None]) -> None:
    """Every erasure a crash left open finished, each said as it is."""
    for report in finish_open_erasures(target, step):
        said(f"Finished the interrupted erasure {report.erasure_id}")


def erase_person(
    settings: Settings, request: ErasureRequest, step: Callable[[str], None], said: Callable[[str], None]
) -> ErasureReport:
    """The erasures left open by a crash finished first (said), then this one."""
    target = erasure_target(settings)
    _finish_open(target, step, said)
    return erase(target, request, step)


def finish_interrupted(settings: Settings, progress: Callable[[str], None]) -> str | None:
    """An erasure interrupted earlier is finished before a run reads anything (pipeline/privacy/journal.py);
    the reason the run stops when it cannot be."""
    if not open_erasures(settings.privacy.dir):
        return None
    try:
        _finish_open(erasure_target(settings), lambda text: progress(f"  {text}"), progress)
    except Exception as exc:  # the person must not be graded and published again: stop, saying why
        return f"an interrupted erasure could not be finished, so the run did not start: {exc}"
    return None
