"""Reversible identity: the merge ledger, `crmgrade identity unmerge` and the never-link list
(pipeline/identity/never_link.py) on hand-made raw tables."""

from datetime import datetime

import duckdb
import pytest

from pipeline.identity.config import IdentityConfig, MatchingConfig, NeverLink
from pipeline.identity.never_link import NeverLinkError, request_unmerge
from pipeline.identity.resolve import resolve_identities
from tests.unit.test_identity import _keys, _raw

P1, P2 = "+8613800001111", "+8613900002222"


@pytest.fixture
def con():
    """张伟 registered twice (two member numbers, two phones: two customers), and 李娜."""
    con = duckdb.connect()
    _raw(
        con,
        "customers",
        [
            {"_source": "members", "member_id": "M1", "name": "张伟", "phone": P1},
            {"_source": "members", "member_id": "M2", "name": "张伟", "phone": P2},
            {"_source": "members", "member_id": "M3", "name": "李娜", "email": "lina@example.com"},
        ],
    )
    _raw(con, "orders", [{"_source": "pos", "order_id": "R1", "member_id": "M3"}])
    yield con
    con.close()


def _bridge(con, file: str = "pos2.csv") -> None:
    """An order under M1's member number with M2's phone: the evidence that makes the two one customer."""
    con.execute(
        "insert into raw.orders (_source, _source_file, _row_number, order_id, member_id, phone, buyer_name) "
        f"values ('pos', '{file}', 2, 'R2', 'M1', '{P2}', '张伟')"
    )


# Splink has nothing to learn from in data this small; without it, a run adding files resolves incrementally.
DETERMINISTIC = IdentityConfig(matching=MatchingConfig(enabled=False))


def _run(con, run_id: str, day: int, config: IdentityConfig = DETERMINISTIC):
    return resolve_identities(con, config, run_id, datetime(2026, 1, day))


def _changes(con, run_id: str) -> dict[str, str]:
    rows = con.execute("select customer_key, change from identity.customer_changes where run_id = ?", [run_id])
    return dict(rows.fetchall())


def test_an_unmerge_restores_both_customers_with_their_original_keys(con):
    _run(con, "run1", 1)
    first = _keys(con)
    zhang_1, zhang_2, lina = first[("members", 2)], first[("members", 3)], first[("members", 4)]
    assert len({zhang_1, zhang_2, lina}) == 3

    _bridge(con)
    summary = _run(con, "run2", 2)
    merged = _keys(con)
    assert merged[("members", 2)] == merged[("members", 3)] == merged[("pos2", 2)] == zhang_1
    assert summary.merges == 1
    assert con.sql("select event, customer_key, other_key, records from identity.merges").fetchall() == [
        ("merge", zhang_2, zhang_1, 1)
    ]
    # the ledger keeps what each key held before the merge
    assert con.sql(
        "select customer_key, merged_into, source_file, source_row_number from identity.merge_records order by all"
    ).fetchall() == [(zhang_1, zhang_1, "members.csv", 2), (zhang_2, zhang_1, "members.csv", 3)]

    unmerge = request_unmerge(con, zhang_2, "two people: father and son", datetime(2026, 1, 2, 12))
    assert (unmerge.successor, unmerge.merged_by_run, unmerge.records, unmerge.successor_records) == (
        zhang_1,
        "run2",
        1,
        1,
    )
    summary = _run(con, "run3", 3)
    assert summary.mode == "full" and "wait to be applied" in summary.mode_reason
    after = _keys(con)
    # both customers are back under their own keys; the bridging order stays with one of them; 李娜 untouched
    assert after[("members", 2)] == zhang_1 and after[("members", 3)] == zhang_2
    assert after[("pos2", 2)] == zhang_1
    assert {k: v for k, v in after.items() if k[0] != "pos2"} == first
    assert (summary.unmerges, summary.kept_apart, summary.new_keys, summary.retired_keys) == (1, 1, 0, 0)
    assert con.execute(
        "select retired_run_id, successor_key from identity.customer_keys where customer_key = ?", [zhang_2]
    ).fetchall() == [(None, None)]
    assert _changes(con, "run3") == {zhang_1: "links", zhang_2: "new"}
    ledger = con.sql("select run_id, event, customer_key, other_key, reason from identity.merges order by run_seq")
    assert ledger.fetchall()[1] == ("run3", "unmerge", zhang_2, zhang_1, "two people: father and son")
    assert con.sql("select count(*) from identity.never_link_pairs where applied_run_id = 'run3'").fetchall() == [(1,)]

    # the next runs keep them apart and change nobody, incrementally too
    summary = _run(con, "run4", 4)
    assert (summary.mode, summary.mode_reason) == ("increment", "0 new file(s)")
    assert _keys(con) == after and _changes(con, "run4") == {}
    _raw_row = "insert into raw.customers (_source, _source_file, _row_number, member_id, name, phone) values "
    con.execute(_raw_row + f"('members', 'members2.csv', 2, 'M2', '张伟', '{P1}')")  # more bridging evidence
    summary = _run(con, "run5", 5)
    final = _keys(con)
    assert summary.mode == "increment"
    assert final[("members", 2)] == zhang_1 and final[("members", 3)] == zhang_2
    assert summary.kept_apart == 1 and summary.unmerges == 0


def test_an_unmerge_names_what_it_cannot_do(con):
    _run(con, "run1", 1)
    keys = _keys(con)
    with pytest.raises(NeverLinkError, match="is a live customer"):
        request_unmerge(con, keys[("members", 2)], "x", datetime(2026, 1, 2))
    with pytest.raises(NeverLinkError, match="not a customer key"):
        request_unmerge(con, "C1' or 1=1 --", "x", datetime(2026, 1, 2))
    with pytest.raises(NeverLinkError, match="C0000009999 was never issued"):
        request_unmerge(con, "C0000009999", "x", datetime(2026, 1, 2))
    _bridge(con)
    _run(con, "run2", 2)
    request_unmerge(con, keys[("members", 3)], "x", datetime(2026, 1, 2))
    with pytest.raises(NeverLinkError, match="already requested"):
        request_unmerge(con, keys[("members", 3)], "x", datetime(2026, 1, 2))


def test_a_never_link_entry_keeps_two_live_customers_apart_while_it_is_configured(con):
    _run(con, "run1", 1)
    keys = _keys(con)
    zhang_1, zhang_2 = keys[("members", 2)], keys[("members", 3)]
    config = DETERMINISTIC.model_copy(
        update={"never_link": [NeverLink(customers=(zhang_2, zhang_1), reason="a shared household phone")]}
    )
    _bridge(con)
    summary = _run(con, "run2", 2, config)
    after = _keys(con)
    assert after[("members", 2)] == zhang_1 and after[("members", 3)] == zhang_2
    assert summary.kept_apart == 1 and summary.merges == 0 and summary.new_keys == 0
    # without the entry the evidence merges them again
    summary = _run(con, "run3", 3)
    assert _keys(con)[("members", 3)] == zhang_1 and summary.merges == 1


def test_a_never_link_entry_with_an_unknown_key_names_it():
    config = IdentityConfig(never_link=[NeverLink(customers=("C0000000001", "C0000000077"), reason="x")])
    con = duckdb.connect()
    _raw(con, "customers", [{"_source": "members", "member_id": "M1", "name": "张伟"}])
    _run(con, "run1", 1)
    with pytest.raises(NeverLinkError, match=r"identity.never_link \['C0000000001', 'C0000000077'\]: C0000000077 was"):
        _run(con, "run2", 2, config)


def test_never_link_entries_are_validated():
    with pytest.raises(ValueError, match="not a customer key"):
        NeverLink(customers=("C1", "C0000000002"), reason="x")
    with pytest.raises(ValueError, match="the same key"):
        NeverLink(customers=("C0000000002", "C0000000002"), reason="x")
