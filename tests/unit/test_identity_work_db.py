"""The identity workspace on the warehouse connection: found, used, and gone afterwards."""

import duckdb
import pytest

from pipeline.identity.deterministic import connected_components
from pipeline.identity.work_db import WORK_DB, identity_workspace, splink_db_api, unordered


@pytest.fixture
def warehouse(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"), config={"temp_directory": str(tmp_path / "spill")})
    con.execute("create schema raw; create table raw.t as select 1 as a")
    yield con, tmp_path
    con.close()


def _databases(con) -> set[str]:
    return {d for (d,) in con.sql("select database_name from duckdb_databases()").fetchall()}


def test_the_workspace_is_a_file_in_the_temp_directory_removed_afterwards(warehouse):
    con, tmp_path = warehouse
    con.execute("create temp table handed_over as select 7 as x")
    with identity_workspace(con):
        [(path,)] = con.sql("select path from duckdb_databases() where database_name = ?", params=[WORK_DB]).fetchall()
        assert path == str(tmp_path / "spill" / f"{WORK_DB}.duckdb")
        con.execute(f"create table {WORK_DB}.scratch as select x from handed_over")
        with identity_workspace(con):  # re-entrant: the same workspace
            assert con.sql("select x from scratch").fetchall() == [(7,)]
        assert con.sql("select * from raw.t join scratch on true").fetchall() == [(1, 7)]
        with splink_db_api(con):
            con.execute("create table splink_made as select 1 as y")  # Splink's unqualified tables land here
            assert con.sql("select x from scratch").fetchall() == [(7,)]  # workspace tables by their bare names
        assert con.sql("select current_database()").fetchall() == [("w",)]
        [(database,)] = con.sql("select database_name from duckdb_tables() where table_name = 'splink_made'").fetchall()
        assert database == WORK_DB
    assert WORK_DB not in _databases(con)
    assert not list((tmp_path / "spill").glob(f"{WORK_DB}*"))
    assert con.sql("select current_setting('search_path')").fetchall() == [("",)]


def test_the_workspace_goes_even_when_the_work_fails(warehouse):
    con, tmp_path = warehouse
    with pytest.raises(duckdb.Error), identity_workspace(con):
        con.execute("select * from no_such_table")
    assert WORK_DB not in _databases(con)
    assert not list((tmp_path / "spill").glob(f"{WORK_DB}*"))


def test_unordered_restores_the_setting(warehouse):
    con, _ = warehouse
    with unordered(con):
        assert con.sql("select current_setting('preserve_insertion_order')").fetchall() == [(False,)]
    assert con.sql("select current_setting('preserve_insertion_order')").fetchall() == [(True,)]


def test_components_are_named_after_their_smallest_node(warehouse):
    con, _ = warehouse
    con.execute("create temp table n as select * from range(1, 8) t(node)")
    con.execute("create temp table e as select * from (values (5, 2), (2, 4), (6, 7)) t(node_l, node_r)")
    with identity_workspace(con):
        connected_components(con, "select node from n", "select node_l, node_r from e", "node", into="cc")
        clusters = dict(con.sql("select node, cluster_id from cc").fetchall())
        left = {
            t
            for (t,) in con.sql(
                "select table_name from duckdb_tables() where database_name = ?", params=[WORK_DB]
            ).fetchall()
        }
    assert clusters == {1: 1, 2: 2, 4: 2, 5: 2, 3: 3, 6: 6, 7: 6}
    assert left == {"cc"}  # Splink's and the inputs' tables are dropped
