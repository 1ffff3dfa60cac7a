"""The dbt project on Apache Spark, run in .venv-spark (pyproject.toml's `spark` group) by
tests/e2e/test_marts_on_spark.py:

    .venv-spark/bin/python tests/e2e/spark_dbt.py WAREHOUSE MANIFEST WORKDIR DBT_VARS_JSON

A local SparkSession in this process (dbt-spark's `session` method finds it), the warehouse's source tables copied
into it, `dbt build` with the profile's `spark` target, every mart written to WORKDIR/marts/<name>.parquet and the
build's failures to WORKDIR/result.json (docs/scale.md).
"""

import json
import sys
from pathlib import Path

import duckdb
import polars as pl
from pyspark.sql import SparkSession

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

# Arrow types Spark cannot take: unsigned integers (Polars' row hashes) become the next wider signed type.
_WIDER = {"UBIGINT": "decimal(20, 0)", "UINTEGER": "bigint", "USMALLINT": "integer", "UTINYINT": "smallint"}


def local_spark(folder: Path) -> SparkSession:
    return (
        SparkSession.builder.master("local[2]")
        .appName("crmgrade-dbt")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.catalogImplementation", "in-memory")  # no Hive metastore on disk
        .config("spark.sql.warehouse.dir", str(folder / "spark-warehouse"))
        # the warehouse's timestamps are local times without a zone: read in UTC, Spark's zoned timestamps (which
        # dbt-spark's date macros produce) and the loaded zoneless ones compare as the same wall-clock times
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )


def dbt_sources(manifest: Path) -> list[tuple[str, str]]:
    """(schema, table) of every source the dbt project declares."""
    nodes = json.loads(manifest.read_text(encoding="utf-8"))["sources"].values()
    return sorted({(node["schema"], node["identifier"]) for node in nodes})


def copy_sources(spark: SparkSession, warehouse: Path, sources: list[tuple[str, str]]) -> None:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        for schema, table in sources:
            columns = con.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            select = ", ".join(
                f'cast("{name}" as {_WIDER[kind]}) as "{name}"' if kind in _WIDER else f'"{name}"'
                for name, kind in columns
            )
            arrow = con.sql(f"select {select} from {schema}.{table}").to_arrow_table()
            spark.sql(f"create database if not exists {schema}")
            spark.createDataFrame(arrow).write.mode("overwrite").saveAsTable(f"{schema}.{table}")
    finally:
        con.close()


def dbt_build_on_spark(target_path: Path, dbt_vars: dict, select: str, exclude: str) -> list[str]:
    """Run `dbt build --target spark`; returns the failures (node and message), empty when all passed."""
    from dbt.cli.main import dbtRunner

    args = ["build", "--target", "spark", "--select", select, "--exclude", exclude, "--vars", json.dumps(dbt_vars)]
    args += ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    args += ["--target-path", str(target_path), "--log-path", str(target_path / "logs")]
    result = dbtRunner().invoke(args)
    if result.exception is not None:
        return [f"dbt did not run: {result.exception}"]
    return [f"{r.node.unique_id}: {r.message}" for r in result.result if r.status in ("error", "fail")]


def mart_models(manifest: Path) -> list[str]:
    nodes = json.loads(manifest.read_text(encoding="utf-8"))["nodes"].values()
    return sorted(n["name"] for n in nodes if n["resource_type"] == "model" and n["fqn"][1] == "marts")


def main() -> None:
    warehouse, manifest, workdir, dbt_vars = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
    spark = local_spark(workdir)
    try:
        copy_sources(spark, warehouse, dbt_sources(manifest))
        # data tests already pass on DuckDB; on Spark the models, seeds and SQL unit tests are built and run (not
        # the unit tests of DuckDB's incremental branches, tag duckdb_only), and every mart is compared with
        # DuckDB's by the test
        failures = dbt_build_on_spark(
            workdir / "target", json.loads(dbt_vars), "+marts", "test_type:data tag:duckdb_only"
        )
        marts = mart_models(manifest)
        (workdir / "marts").mkdir(exist_ok=True)
        for mart in [] if failures else marts:
            pl.from_arrow(spark.table(f"marts.{mart}").toArrow()).write_parquet(workdir / "marts" / f"{mart}.parquet")
    finally:
        spark.stop()
    (workdir / "result.json").write_text(json.dumps({"failures": failures, "marts": marts}), encoding="utf-8")


if __name__ == "__main__":
    main()
