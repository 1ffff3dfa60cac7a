"""Dagster, and only Dagster: the assets of each stage, the resources, the dbt bridge and the automation, built
into one Definitions object from settings read once (build.py; pipeline/definitions.py is the code location's
entry).

The stages: ingest (raw.*) -> validate (dq.*) -> identity (identity.*) -> dbt (staging, intermediate, marts,
history, monitoring, bi) with grading (grading_spec.*, clv.*, tags.customer_tags) and monitoring between its
steps -> serving (privacy.salt, serving.published). The work itself is in the Dagster-free packages beside this
one (pipeline.ingest, pipeline.quality, pipeline.identity, pipeline.grading, pipeline.monitoring,
pipeline.serving, pipeline.privacy); the assets here call them.
"""
