"""The console of `crmgrade run` (pipeline/defs/progress.py): a line per finished step and every warning; what
else is printed (dbt's output) goes to the run's console log."""

import dagster as dg

from pipeline.defs.progress import LOGGER, RUN_CONFIG, progress_logger, quiet_console


@dg.asset
def loaded(context: dg.AssetExecutionContext) -> int:
    print("1 of 62 OK created sql view model staging.x")  # as dagster-dbt writes dbt's output to stdout
    context.log.debug("a debug line")
    context.log.warning("3 rows quarantined")
    return 1


@dg.asset
def failing(loaded: int) -> None:
    raise ValueError("bad rule")


def test_a_line_per_step_and_the_warnings_on_the_console_the_rest_in_the_log(tmp_path, capsys):
    defs = dg.Definitions(
        assets=[loaded, failing],
        executor=dg.in_process_executor,
        loggers={"console": dg.colored_console_logger, LOGGER: progress_logger},
    )
    log = tmp_path / "reports" / "run_console.log"
    with quiet_console(log):
        result = defs.get_implicit_global_asset_job_def().execute_in_process(
            run_config=RUN_CONFIG, raise_on_error=False
        )
    assert not result.success
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("  [other] loaded done in ") and lines[0].endswith("s")
    assert "  warning: 3 rows quarantined" in err and "  [other] failing FAILED in " in err
    assert "debug" not in out + err and "STEP_START" not in out + err
    assert log.read_text(encoding="utf-8") == "1 of 62 OK created sql view model staging.x\n"
