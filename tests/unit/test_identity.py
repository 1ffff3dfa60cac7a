"""Identity resolution on hand-made raw tables: identifier links, shared values, anonymous rows, stable keys."""

from datetime import datetime

import duckdb
import pytest

from pipeline.contracts.schema import DUCKDB_TYPES, ENTITIES, LINEAGE
from pipeline.identity.config import IdentityConfig
from pipeline.identity.evaluate import pairwise_scores
from pipeline.identity.key_format import format_key
from pipeline.identity.keys import assign_keys
from pipeline.identity.resolve import resolve_identities
from pipeline.identity.work_db import identity_workspace


def _raw(con, entity: str, rows: list[dict]) -> None:
    columns = {**{c: DUCKDB_TYPES[t] for c, t in ENTITIES[entity].items()}, **LINEAGE}
    con.execute("create schema if not exists raw")
    con.execute(f"create table raw.{entity} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
    for i, row in enumerate(rows, start=2):
        row = {"_source_file": f"{row['_source']}.csv", "_row_number": i, **row}
        names = ", ".join(row)
        con.execute(f"insert into raw.{entity} ({names}) values ({', '.join('?' * len(row))})", list(row.values()))


@pytest.fixture
def con():
    con = duckdb.connect()
    _raw(
        con,
        "customers",
        [
            {"_source": "members", "member_id": "M1", "name": "张伟", "phone": "+8613800001111"},
            # the same person registered again with another member number: same phone
            {"_source": "members", "member_id": "M2", "name": "张伟华", "phone": "+8613800001111"},
            {"_source": "members", "member_id": "M3", "name": "李娜", "email": "lina@example.com"},
        ],
    )
    shop_phone = "+8613000000000"  # typed by cashiers for walk-ins: many names, nobody's phone
    _raw(
        con,
        "orders",
        [
            {"_source": "tmall", "order_id": "T1", "buyer_id": "zw", "buyer_name": "张伟", "phone": "+8613800001111"},
            {"_source": "tmall", "order_id": "T2", "buyer_id": "zw", "buyer_name": "张伟", "phone": "+86138****1111"},
            {"_source": "pos", "order_id": "R1", "member_id": "M3"},
            {"_source": "pos", "order_id": "R1", "member_id": None},  # second line of R1: joined by the order id
            {"_source": "pos", "order_id": "R2"},  # walk-in, no card, no phone: nobody
            *(
                {"_source": "jd", "order_id": f"J{i}", "buyer_name": n, "phone": shop_phone}
                for i, n in enumerate("ABCDE")
            ),
        ],
    )
    yield con
    con.close()


def _keys(con) -> dict[tuple[str, int], str]:
    """(source file stem, row) -> customer key."""
    rows = con.sql("select source_file, source_row_number, customer_key from identity.record_links").fetchall()
    return {(f.removesuffix(".csv"), r): k for f, r, k in rows}


def test_identifiers_link_records_and_shared_or_missing_ones_do_not(con):
    summary = resolve_identities(con, IdentityConfig(), "run1", datetime(2026, 1, 1))
    keys = _keys(con)
    # registry duplicate, Tmall order with the full phone, and the masked one under the same buyer id
    assert keys[("members", 2)] == keys[("members", 3)] == keys[("tmall", 2)] == keys[("tmall", 3)]
    assert keys[("pos", 4)] == keys[("pos", 5)] == keys[("members", 4)] != keys[("members", 2)]
    assert ("pos", 6) not in keys  # anonymous receipt
    assert len({keys[("jd", r)] for r in range(7, 12)}) == 5  # the shop phone linked nobody
    assert con.sql("select id_type, id_value, names from identity.shared_identifiers").fetchall() == [
        ("phone", "+8613000000000", 5)
    ]
    assert summary.matching_skipped and "nothing to learn from" in summary.matching_skipped
    why = dict(
        con.sql(
            "select source_name || source_row_number, linked_by from identity.record_links where source_name != 'jd'"
        ).fetchall()
    )
    assert why["members2"] == "member_id,phone" or why["members2"] == "phone"
    assert why["pos5"] == "order_id"


def test_a_rerun_keeps_keys_and_new_people_get_new_numbers(con):
    resolve_identities(con, IdentityConfig(), "run1", datetime(2026, 1, 1))
    first = _keys(con)
    con.execute(
        "insert into raw.customers (_source, _source_file, _row_number, member_id, name) "
        "values ('members', 'members2.csv', 2, 'M9', '王芳')"
    )
    resolve_identities(con, IdentityConfig(), "run2", datetime(2026, 1, 2))
    second = _keys(con)
    assert {k: second[k] for k in first} == first
    new = con.sql("select customer_key from identity.record_links where source_file = 'members2.csv'").fetchall()[0][0]
    assert new == format_key(max(int(k[1:]) for k in first.values()) + 1)


def _changes(con, run_id: str) -> dict[str, str]:
    rows = con.execute("select customer_key, change from identity.customer_changes where run_id = ?", [run_id])
    return dict(rows.fetchall())


def test_each_run_logs_the_customers_it_changed_and_only_those(con):
    resolve_identities(con, IdentityConfig(), "run1", datetime(2026, 1, 1))
    keys = _keys(con)
    assert set(_changes(con, "run1").values()) == {"new"} and set(_changes(con, "run1")) == set(keys.values())

    summary = resolve_identities(con, IdentityConfig(), "run2", datetime(2026, 1, 2))
    assert summary.changed_customers == 0 and _changes(con, "run2") == {}

    # a new order under 李娜's member number, a new person from a new source whose file sorts before all others
    # (no renumbering of anybody else's records), and 张伟's Tmall file delivered again with other bytes
    con.execute(
        "insert into raw.orders (_source, _source_file, _row_number, order_id, member_id) "
        "values ('pos', 'pos2.csv', 2, 'R9', 'M3')"
    )
    con.execute(
        "insert into raw.customers (_source, _source_file, _row_number, member_id, name) "
        "values ('a_crm', 'a_crm.csv', 2, 'M9', '王芳')"
    )
    con.execute("update raw.orders set _file_sha256 = 'v2' where _source = 'tmall'")
    resolve_identities(con, IdentityConfig(), "run3", datetime(2026, 1, 3))
    after = _keys(con)
    changed = _changes(con, "run3")
    assert changed == {keys[("members", 4)]: "links", keys[("tmall", 2)]: "links", after[("a_crm", 2)]: "new"}

    # every record of 李娜 goes (erased upstream): her customer is removed
    con.execute("delete from raw.customers where member_id = 'M3'")
    con.execute("delete from raw.orders where _source = 'pos'")
    resolve_identities(con, IdentityConfig(), "run4", datetime(2026, 1, 4))
    assert _changes(con, "run4") == {keys[("members", 4)]: "removed"}

    # a new survivorship ranking changes every customer's golden record
    trust = IdentityConfig().survivorship.model_copy(update={"source_trust": ["tmall", "members"]})
    config = IdentityConfig().model_copy(update={"survivorship": trust})
    resolve_identities(con, config, "run5", datetime(2026, 1, 5))
    assert set(_changes(con, "run5")) == set(_keys(con).values())
    assert set(_changes(con, "run5").values()) == {"survivorship"}
    seqs = con.sql("select run_id, min(run_seq), max(run_seq) from identity.customer_changes group by 1 order by 2")
    assert [(r, a) for r, a, b in seqs.fetchall() if a == b] == [("run1", 1), ("run3", 2), ("run4", 3), ("run5", 4)]


def test_keys_survive_merges_and_splits():
    con = duckdb.connect()
    con.execute(
        "create table previous as select * from (values (1, 'C1'), (2, 'C1'), (3, 'C1'), (4, 'C2'), (5, 'C3'),"
        " (6, 'C3')) t(record_id, customer_key)"
    )
    # records 1-4 are now one customer (C1 and C2 merge); C3's records 5 and 6 split apart; 7 and 8 are new
    con.execute(
        "create table clusters as select * from (values (1, 1), (2, 1), (3, 1), (4, 1), (5, 5), (6, 6), (7, 7),"
        " (8, 8), (9, 8)) t(record_id, cluster_id)"
    )
    with identity_workspace(con):
        assign_keys(con, "clusters", "previous", issued_max=3)
        keys = dict(con.sql("select cluster_id, customer_key from identity_key_map").fetchall())
        retired = con.sql("select * from identity_retired").fetchall()
    assert keys[1] == "C1"  # the larger side of the merge keeps its key
    assert retired == [("C2", "C1")]
    # new numbers in cluster order, after the highest ever issued
    assert keys[5] == "C3" and keys[6] == format_key(4) and keys[7] == format_key(5) and keys[8] == format_key(6)
    assert len(keys) == 5


def test_pairwise_scores_count_pairs_inside_clusters():
    con = duckdb.connect()
    con.execute(
        "create table t as select * from (values (1, 'a'), (1, 'a'), (1, 'b'), (2, 'b'), (3, null)) v(predicted, truth)"
    )
    s = pairwise_scores(con, "t")
    # predicted pairs: cluster 1 has 3 records -> 3 pairs; true pairs: a 1 + b 1 = 2; true positives: (a,a) = 1
    assert (s.predicted_pairs, s.true_pairs, s.true_positive_pairs) == (3, 2, 1)
    assert s.precision == pytest.approx(1 / 3) and s.recall == pytest.approx(1 / 2)


def _masked_phone_raw():
    con = duckdb.connect()
    _raw(
        con,
        "orders",
        [
            {"_source": "tmall", "order_id": "T1", "buyer_id": "wx", "buyer_name": "王霞", "phone": "+86139****2222"},
            # two buyers share the masked number 137****3333: a nameless full number cannot choose
            {"_source": "tmall", "order_id": "T2", "buyer_id": "a", "buyer_name": "赵敏", "phone": "+86137****3333"},
            {"_source": "tmall", "order_id": "T3", "buyer_id": "b", "buyer_name": "钱进", "phone": "+86137****3333"},
            # the masked 158****4444 belongs to this buyer's own, different full number
            {"_source": "tmall", "order_id": "T4", "buyer_id": "c", "buyer_name": "孙丽", "phone": "+86158****4444"},
            {"_source": "tmall", "order_id": "T5", "buyer_id": "c", "buyer_name": "孙丽", "phone": "+8615899994444"},
        ],
    )
    _raw(
        con,
        "service_tickets",
        [
            {"_source": "service", "ticket_id": "S1", "phone": "+8613912342222"},
            {"_source": "service", "ticket_id": "S2", "phone": "+8613755553333"},
            {"_source": "service", "ticket_id": "S3", "phone": "+8615800004444"},
        ],
    )
    return con


@pytest.mark.parametrize("enabled", [True, False])
def test_a_nameless_full_number_joins_the_only_customer_with_its_masked_form(enabled):
    con = _masked_phone_raw()
    config = IdentityConfig.model_validate({"matching": {"unique_masked_phone": enabled}})
    resolve_identities(con, config, "run1", datetime(2026, 1, 1))
    keys = _keys(con)
    assert (keys[("service", 2)] == keys[("tmall", 2)]) is enabled
    assert len({keys[("service", 3)], keys[("tmall", 3)], keys[("tmall", 4)]}) == 3
    assert keys[("service", 4)] != keys[("tmall", 5)]
    rules = dict(con.sql("select source_name || source_row_number, link_rule from identity.record_links").fetchall())
    assert rules["service2"] == ("masked_phone" if enabled else "single")
    edges = con.sql("select rule, phone_pattern, accepted from identity.match_edges").fetchall()
    assert edges == ([("masked_phone", "139****2222", True)] if enabled else [])
    con.close()


def test_a_profile_keeps_a_groups_most_frequent_combinations_per_source_ties_to_the_smallest(monkeypatch):
    # Three records of one person with three spellings are three chances to meet another group (issue 45: averaging
    # them into one record lost the people_fake_1000 matches whose other record carried the typo).
    from pipeline.identity import matching

    monkeypatch.setattr(matching, "TUPLES_PER_PROFILE", 2)
    con = duckdb.connect()
    con.execute(
        """create table identity_records as select * from (values
            (1, 'tmall', '王芳', '139****2222', null, '深圳', null),
            (2, 'tmall', '王芳', '139****2222', null, '广州', null),
            (3, 'tmall', '王小芳', '139****2222', null, null, null),
            (4, 'tmall', '王芳', '139****2222', null, '广州', null),
            (5, 'jd', 'Li LEI', null, null, '上海', null)
        ) t(record_id, source_name, name, phone_pattern, phone, city, address)"""
    )
    con.execute(
        "create table identity_groups as select record_id, case when record_id < 5 then 1 else 2 end as group_id"
        " from identity_records"
    )
    with identity_workspace(con):
        assert matching.build_profiles(con) == 3
        rows = con.sql(
            "select group_id, source_name, tuple_rank, name, phone_pattern, city, first_name from identity_profiles"
            " order by unique_id"
        ).fetchall()
    # 广州 twice first; of the two combinations seen once, 王小芳 sorts before 王芳 + 深圳, which is past the 2 kept.
    # Names lower-cased; attributes the records do not carry (first_name) are null.
    assert rows == [
        (1, "tmall", 1, "王芳", "139****2222", "广州", None),
        (1, "tmall", 2, "王小芳", "139****2222", None, None),
        (2, "jd", 1, "li lei", None, "上海", None),
    ]
