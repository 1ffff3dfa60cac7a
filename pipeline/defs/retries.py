"""Which failures are worth a retry: DuckDB's file lock held by another process (a BI tool, a second run, a
`dbt` started by hand) goes away; a failed rule, model or test does not, and is never retried."""

import dagster as dg

MAX_RETRIES = 3
SECONDS_TO_WAIT = 60  # a dashboard's query or a stray shell usually lets go of the file within a minute

_TRANSIENT = ("Could not set lock on file", "Conflicting lock is held")


def is_transient(message: str) -> bool:
    return any(text in message for text in _TRANSIENT)


def retry_if_transient(exc: Exception) -> None:
    """Raise Dagster's RetryRequested when `exc` is transient (the step runs again later); else return."""
    if is_transient(str(exc)):
        raise dg.RetryRequested(max_retries=MAX_RETRIES, seconds_to_wait=SECONDS_TO_WAIT) from exc
