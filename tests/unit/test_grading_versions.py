"""Grading spec versions: named by content, recorded once with their text, read back exactly."""

from datetime import datetime

import duckdb
import pytest

from pipeline.grading.spec import parse_grading_spec
from pipeline.grading.versions import SEGMENT_MAPS, files_of, record_version, spec_files, version_of
from tests.conftest import REPO

NOW = datetime(2026, 7, 1, 2, 0)


@pytest.fixture
def files() -> dict[str, str]:
    return spec_files(REPO / "grading.yml", REPO / "rules.yml")


def test_a_version_is_its_files_content_not_their_paths(files, tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for name in SEGMENT_MAPS:
        (seeds / name).write_text(files[name], encoding="utf-8")
    (tmp_path / "g.yml").write_text(files["grading.yml"], encoding="utf-8")
    (tmp_path / "r.yml").write_text(files["rules.yml"], encoding="utf-8")
    elsewhere = spec_files(tmp_path / "g.yml", tmp_path / "r.yml", seeds)
    assert version_of(elsewhere).version == version_of(files).version
    assert len(version_of(files).version) == 12


@pytest.mark.parametrize("name", ["grading.yml", "rules.yml", *SEGMENT_MAPS])
def test_one_changed_byte_in_any_file_is_a_new_version(files, name):
    changed = {**files, name: files[name] + " "}
    assert version_of(changed).version != version_of(files).version


def test_moving_text_between_files_is_a_new_version(files):
    # without the lengths in the hash, "ab" + "c" and "a" + "bc" would be one version
    grading, rules = files["grading.yml"], files["rules.yml"]
    moved = {**files, "grading.yml": grading + rules[:10], "rules.yml": rules[10:]}
    assert version_of(moved).version != version_of(files).version


def test_a_version_is_recorded_once_and_its_text_read_back_exactly(files):
    con = duckdb.connect()
    version = version_of(files)
    assert record_version(con, version, "run-1", NOW) is True
    assert record_version(con, version, "run-2", NOW) is False  # the first run that used it stays
    assert con.execute("select first_run_id from grading_spec.versions").fetchall() == [("run-1",)]
    kept = files_of(con, version.version)
    assert kept == files
    assert version_of(kept).version == version.version
    assert parse_grading_spec(kept["grading.yml"], version.version).grades[0].grade == "A"


def test_an_unknown_version_names_the_versions_kept(files):
    con = duckdb.connect()
    record_version(con, version_of(files), "run-1", NOW)
    with pytest.raises(LookupError, match=version_of(files).version):
        files_of(con, "000000000000")
