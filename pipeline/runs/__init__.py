"""The job run outside Dagster's UI: one whole run (job.py) with its input digest (inputs.py) and end-of-run
summary (summary.py), the nightly simulation, regrading past days, publishing now and erasing a person. Above
pipeline/defs, which holds Dagster definitions only; pipeline/cli parses arguments and prints what these return."""
