"""Incremental identity resolution (pipeline/identity/increment.py): an increment gives a full resolution's result,
and a run resolves everything again whenever an increment could not be exact."""

from datetime import datetime

import duckdb
import pytest

from pipeline.identity.config import IdentityConfig, MatchingConfig
from pipeline.identity.resolve import resolve_identities
from tests.unit.test_identity import _raw

DETERMINISTIC = IdentityConfig(matching=MatchingConfig(enabled=False))
DAY1, DAY2 = datetime(2026, 1, 1), datetime(2026, 1, 2)


def _first_day(con) -> None:
    _raw(
        con,
        "customers",
        [
            {"_source": "members", "member_id": "M1", "name": "张伟", "phone": "+8613800001111"},
            {"_source": "members", "member_id": "M3", "name": "李娜", "email": "lina@example.com"},
            # three people typing one family e-mail: three names is not yet shared (max 3), so one customer
            *(
                {"_source": "members", "member_id": f"F{i}", "name": n, "email": "home@example.com"}
                for i, n in enumerate(["王一", "王二", "王三"])
            ),
            {"_source": "members", "member_id": "M7", "name": "赵六", "phone": "+8613900007777"},
        ],
    )
    _raw(
        con,
        "orders",
        [
            {"_source": "tmall", "order_id": "T1", "buyer_id": "zw", "buyer_name": "张伟", "phone": "+86138****1111"},
            {"_source": "pos", "order_id": "R1", "member_id": "M3"},
            {"_source": "pos", "order_id": "R2"},  # a walk-in receipt: nobody, until a later line names its buyer
        ],
    )


def _next_day(con) -> None:
    rows = [
        # 张伟 again, with a new member number on his phone; a fourth name on the family e-mail (now shared: the
        # family's customer splits); the second line of receipt R2, with a member card; somebody new
        ("customers", "members", "members_b.csv", 2, {"member_id": "M9", "name": "张伟", "phone": "+8613800001111"}),
        ("customers", "members", "members_b.csv", 3, {"member_id": "F9", "name": "王四", "email": "home@example.com"}),
        ("orders", "pos", "pos_b.csv", 2, {"order_id": "R2", "member_id": "M7"}),
        ("customers", "members", "members_b.csv", 4, {"member_id": "N1", "name": "孙七"}),
    ]
    for entity, source, file, row, values in rows:
        columns = ["_source", "_source_file", "_row_number", "_file_sha256", *values]
        con.execute(
            f"insert into raw.{entity} ({', '.join(columns)}) values ({', '.join('?' * len(columns))})",
            [source, file, row, f"sha-{file}", *values.values()],
        )


def _state(con) -> dict[str, list]:
    tables = {
        "record_links": "select * exclude (run_id) from identity.record_links",
        "customer_keys": "select * from identity.customer_keys",
        "customer_changes": "select * exclude (run_seq) from identity.customer_changes",
        "shared_identifiers": "select id_type, id_value from identity.shared_identifiers",
        "records": "select * from identity.records",
        "resolved_files": "select * from identity.resolved_files",
    }
    return {name: sorted(con.sql(query).fetchall(), key=str) for name, query in tables.items()}


@pytest.fixture
def two_warehouses():
    cons = [duckdb.connect(), duckdb.connect()]
    for con in cons:
        _first_day(con)
        resolve_identities(con, DETERMINISTIC, "run1", DAY1)
        _next_day(con)
    yield cons
    for con in cons:
        con.close()


def test_an_increment_gives_what_a_full_resolution_gives(two_warehouses):
    incremental, full = two_warehouses
    summary = resolve_identities(incremental, DETERMINISTIC, "run2", DAY2)
    reference = resolve_identities(full, DETERMINISTIC.model_copy(update={"incremental": False}), "run2", DAY2)
    assert (summary.mode, summary.mode_reason) == ("increment", "2 new file(s)")
    assert reference.mode == "full"
    # the neighbourhood: the new records, 张伟's, the family's, 赵六's and the receipt's; not 李娜's
    assert summary.resolved_records == 4 + 2 + 3 + 1 + 1 < reference.resolved_records
    assert _state(incremental) == _state(full)
    for field in (
        "records",
        "identified_records",
        "identifier_groups",
        "customers",
        "new_keys",
        "retired_keys",
        "shared_identifiers",
        "changed_customers",
    ):
        assert getattr(summary, field) == getattr(reference, field), field
    keys = dict(
        incremental.sql("select source_file || source_row_number, customer_key from identity.record_links").fetchall()
    )
    assert keys["members_b.csv2"] == keys["members.csv2"]  # 张伟
    assert keys["pos_b.csv2"] == keys["pos.csv4"] == keys["members.csv7"]  # the receipt found its buyer
    assert len({keys[f"members.csv{r}"] for r in (4, 5, 6)} | {keys["members_b.csv3"]}) == 4  # the family split


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("update raw.orders set _file_sha256 = 'v2' where _source = 'tmall'", "changed or left (e.g. tmall tmall.csv)"),
        ("delete from raw.customers where member_id = 'M3'", "changed or left (e.g. members members.csv)"),
        ("delete from raw.orders where _source = 'pos' and _source_file = 'pos.csv'", "changed or left"),
    ],
)
def test_a_file_resolved_earlier_that_changed_or_left_makes_a_full_resolution(two_warehouses, change, reason):
    con = two_warehouses[0]
    con.execute(change)
    summary = resolve_identities(con, DETERMINISTIC, "run2", DAY2)
    assert summary.mode == "full" and reason in summary.mode_reason


def test_a_changed_config_or_an_old_model_makes_a_full_resolution(two_warehouses):
    con = two_warehouses[0]
    fewer = DETERMINISTIC.model_copy(update={"max_names_per_identifier": 2})
    assert resolve_identities(con, fewer, "run2", DAY2).mode_reason.startswith("the identity config or code changed")
    assert resolve_identities(con, fewer, "run3", DAY2).mode == "increment"
    week = datetime(2026, 1, 2 + fewer.full_resolution_every_days)
    assert resolve_identities(con, fewer, "run4", week).mode_reason.endswith("days old")


SURNAMES, GIVEN = "王李张刘陈杨赵黄周吴", "伟芳娜敏静丽强磊军洋"
CITIES = ["上海", "北京", "广州", "深圳", "杭州"]


def _person(i: int) -> dict:
    return {
        "name": SURNAMES[i % 10] + GIVEN[(i // 10) % 10],
        "phone": f"+86138{i:04d}{(i * 7) % 10000:04d}",
        "city": CITIES[i % 5],
    }


def _with_splink(con) -> None:
    """40 members, each also a Tmall buyer under the same full phone (Splink learns from those pairs), and 10 JD
    buyers with only a name, a masked phone and a city (Splink places them)."""
    people = [_person(i) for i in range(40)]
    _raw(con, "customers", [{"_source": "members", "member_id": f"M{i}", **p} for i, p in enumerate(people)])
    masked = [{**p, "phone": p["phone"][:6] + "****" + p["phone"][-4:]} for p in people[:10]]
    _raw(
        con,
        "orders",
        [
            *(
                {
                    "_source": "tmall",
                    "order_id": f"T{i}",
                    "buyer_id": f"b{i}",
                    "buyer_name": p["name"],
                    "phone": p["phone"],
                    "city": p["city"],
                }
                for i, p in enumerate(people)
            ),
            *(
                {
                    "_source": "jd",
                    "order_id": f"J{i}",
                    "buyer_id": f"j{i}",
                    "buyer_name": p["name"],
                    "phone": p["phone"],
                    "city": p["city"],
                }
                for i, p in enumerate(masked)
            ),
        ],
    )
    _raw(con, "interactions", [{"_source": "web", "interaction_id": "W0", "channel": "web"}])


def _deliver(con, entity: str, file: str, rows: list[dict]) -> None:
    for row_number, values in enumerate(rows, start=2):
        columns = ["_source", "_source_file", "_row_number", "_file_sha256", *values]
        con.execute(
            f"insert into raw.{entity} ({', '.join(columns)}) values ({', '.join('?' * len(columns))})",
            [file.split("_")[0], file, row_number, f"sha-{file}", *values.values()],
        )


@pytest.mark.parametrize("named", [True, False])
def test_an_increment_scores_new_profiles_with_the_saved_model_as_a_full_resolution_would(named):
    cons = [duckdb.connect(), duckdb.connect()]
    for con in cons:
        _with_splink(con)
        first = resolve_identities(con, IdentityConfig(), "run1", DAY1)
        assert first.matching_skipped is None and first.accepted_matches > 0
        if named:  # a JD buyer seen before, under a new account: only Splink can place the profile
            _deliver(
                con,
                "orders",
                "jd_b.csv",
                [
                    {
                        "order_id": "J99",
                        "buyer_id": "j99",
                        "buyer_name": _person(12)["name"],
                        "phone": "+86138****" + _person(12)["phone"][-4:],
                        "city": _person(12)["city"],
                    }
                ],
            )
        else:  # nothing named arrives: no profile to score
            _deliver(con, "interactions", "web_b.csv", [{"interaction_id": "W1", "channel": "web"}])
    incremental, full = cons
    summary = resolve_identities(incremental, IdentityConfig(), "run2", DAY2)
    reference = resolve_identities(full, IdentityConfig(incremental=False), "run2", DAY2, reuse_model=True)
    assert (summary.mode, reference.mode) == ("increment", "full")
    state, expected = _state(incremental), _state(full)
    # every score the increment made is the full resolution's with the same model; the others stay as they were
    edges = "select group_id_l, group_id_r, rule, accepted, match_probability from identity.match_edges"
    assert set(incremental.sql(edges).fetchall()) >= {
        e for e in full.sql(edges).fetchall() if e[0] in _new_groups(incremental) or e[1] in _new_groups(incremental)
    }
    # record links compared without the score and the source it matched (columns 8 and 9)
    assert [r[:8] + r[10:] for r in state.pop("record_links")] == [r[:8] + r[10:] for r in expected.pop("record_links")]
    assert state == expected
    if named:
        keys = dict(
            incremental.sql(
                "select source_file || source_row_number, customer_key from identity.record_links"
            ).fetchall()
        )
        assert keys["jd_b.csv2"] == keys["members.csv14"]  # placed by Splink with the member it is
    for con in cons:
        con.close()


def _new_groups(con) -> set[int]:
    return {
        g
        for (g,) in con.sql(
            "select distinct identifier_group from identity.record_links where run_id = 'run2'"
        ).fetchall()
    }
