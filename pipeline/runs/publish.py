"""The serving copy published again from the working warehouse outside a run: `crmgrade publish`, and after an
erasure, when the older versions (which hold the erased person) are removed too."""

from __future__ import annotations

from pipeline.config import Settings


def publish_now(settings: Settings) -> str:
    """Publish the working warehouse's bi schema as a new serving version; returns the version."""
    import duckdb

    from pipeline.defs.dbt.project import dbt_project, prepare_manifest
    from pipeline.serving.catalog import publish_latest
    from pipeline.serving.publish import PublishError

    if not dbt_project.manifest_path.exists():
        prepare_manifest(settings.dbt_vars())
    try:
        con = settings.connect_warehouse()
    except duckdb.IOException as exc:
        raise PublishError(f"cannot open {settings.warehouse} (a run holds it? publish after it): {exc}") from None
    try:
        return publish_latest(con, settings.serving, dbt_project.manifest_path, run_id="crmgrade publish").version
    finally:
        con.close()


def republish_after_erasure(settings: Settings) -> str | None:
    """When a serving copy is published: a new version without the erased person, and every older version
    removed (rollback history goes with them). None when nothing is published yet."""
    from pipeline.serving.publish import remove_versions_except_current

    if not (settings.serving.dir / "current").is_symlink():
        return None
    version = publish_now(settings)
    removed = remove_versions_except_current(settings.serving.dir)
    return f"serving copy republished as {version}; {len(removed)} older version(s) holding the person removed"
