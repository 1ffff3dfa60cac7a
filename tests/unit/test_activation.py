"""Activation: enter and exit events per destination, idempotent, written as CSV, Parquet or webhook JSON lines."""

import json
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline.activation.memberships import planned_actions
from pipeline.activation.outbox import record_changes, remove_from_outbox, write_outbox
from pipeline.grading.rules import RulesError, RulesSpec, load_rules

RULES = """
destinations:
  crm_groups: {format: csv}
  staff_tasks: {format: jsonl}
  archive: {format: parquet}
rules:
  - name: high_value
    when: monetary > 10000
    tag: 高价值
    actions:
      - {destination: crm_groups, do: 分配到高价值客户组}
      - {destination: archive, do: high value}
grade_actions:
  - {grade: A, destination: staff_tasks, do: 专属客服回访, events: [enter]}
"""


@pytest.fixture
def spec(tmp_path) -> RulesSpec:
    path = tmp_path / "rules.yml"
    path.write_text(RULES, encoding="utf-8")
    return load_rules(path)


def warehouse(tmp_path: Path, tagged: list[str], grades: dict[str, str]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    set_day(con, tagged, grades)
    return con


def set_day(con, tagged: list[str], grades: dict[str, str]) -> None:
    """The day's tags.customer_tags (high_value), marts.customer_grades and marts.dim_customer."""
    for schema in ("tags", "marts"):
        con.execute(f"create schema if not exists {schema}")
    tags = pl.DataFrame(
        {"customer_key": tagged, "rule": ["high_value"] * len(tagged)},
        schema=[("customer_key", pl.String), ("rule", pl.String)],
    )
    graded = pl.DataFrame(
        {
            "customer_key": list(grades),
            "grade": list(grades.values()),
            "segment_cn": ["重要价值客户"] * len(grades),
            "segment_en": ["Champions"] * len(grades),
        }
    )
    customers = pl.DataFrame({"customer_key": list(grades), "member_id": [f"M{k[1:]}" for k in grades]})
    for table, frame in (
        ("tags.customer_tags", tags),
        ("marts.customer_grades", graded),
        ("marts.dim_customer", customers),
    ):
        con.register("_f", frame.to_arrow())
        con.execute(f"create or replace table {table} as select * from _f")
        con.unregister("_f")


def events(con, batch_id: str) -> list[tuple]:
    return con.execute(
        "select destination, event, membership_kind, membership_value, customer_key, member_id, grade from "
        "activation.events where batch_id = ? order by destination, membership_value, event, customer_key",
        [batch_id],
    ).fetchall()


def test_the_first_run_enters_everyone_and_a_run_again_sends_nothing(tmp_path, spec):
    con = warehouse(tmp_path, ["C1", "C2"], {"C1": "A", "C2": "B", "C3": "A"})
    actions = planned_actions(spec)
    first = record_changes(con, actions, date(2026, 7, 1), "run-0001-aaaa")
    assert first.batch_id == "2026-07-01_run-0001"
    assert events(con, first.batch_id) == [
        ("archive", "enter", "rule", "high_value", "C1", "M1", "A"),
        ("archive", "enter", "rule", "high_value", "C2", "M2", "B"),
        ("crm_groups", "enter", "rule", "high_value", "C1", "M1", "A"),
        ("crm_groups", "enter", "rule", "high_value", "C2", "M2", "B"),
        ("staff_tasks", "enter", "grade", "A", "C1", "M1", "A"),
        ("staff_tasks", "enter", "grade", "A", "C3", "M3", "A"),
    ]
    files = write_outbox(con, tmp_path / "outbox", spec.destinations)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in files) == [
        "outbox/archive/2026-07-01_run-0001.parquet",
        "outbox/crm_groups/2026-07-01_run-0001.csv",
        "outbox/staff_tasks/2026-07-01_run-0001.jsonl",
    ]
    # the same inputs again (a re-run, a retried step): no event, no file
    again = record_changes(con, actions, date(2026, 7, 1), "run-0002-bbbb")
    assert again.total == 0 and events(con, again.batch_id) == []
    assert write_outbox(con, tmp_path / "outbox", spec.destinations) == []
    assert con.execute("select count(*) from activation.events").fetchall() == [(6,)]


def test_a_change_sends_enters_and_exits_as_each_action_asks(tmp_path, spec):
    con = warehouse(tmp_path, ["C1", "C2"], {"C1": "A", "C2": "B", "C3": "A"})
    actions = planned_actions(spec)
    record_changes(con, actions, date(2026, 7, 1), "run-0001")
    write_outbox(con, tmp_path / "outbox", spec.destinations)
    # the next day: C2 is no longer high value, C3 is; C1 dropped to B (the grade action sends enters only)
    set_day(con, ["C1", "C3"], {"C1": "B", "C2": "B", "C3": "A"})
    nxt = record_changes(con, actions, date(2026, 7, 2), "run-0002")
    assert events(con, nxt.batch_id) == [
        ("archive", "enter", "rule", "high_value", "C3", "M3", "A"),
        ("archive", "exit", "rule", "high_value", "C2", "M2", "B"),
        ("crm_groups", "enter", "rule", "high_value", "C3", "M3", "A"),
        ("crm_groups", "exit", "rule", "high_value", "C2", "M2", "B"),
    ]
    assert nxt.events == {
        ("archive", "enter"): 1,
        ("archive", "exit"): 1,
        ("crm_groups", "enter"): 1,
        ("crm_groups", "exit"): 1,
    }
    # C1 left grade A on 07-02: the state keeps who is in, and since when
    state = con.execute("select membership, customer_key, since_date from activation.memberships order by all")
    assert state.fetchall() == [
        ("grade:A", "C3", date(2026, 7, 1)),
        ("rule:high_value", "C1", date(2026, 7, 1)),
        ("rule:high_value", "C3", date(2026, 7, 2)),
    ]
    [csv] = [p for p in write_outbox(con, tmp_path / "outbox", spec.destinations) if p.suffix == ".csv"]
    assert csv.read_bytes().startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads the Chinese
    rows = pl.read_csv(csv).select("as_of_date", "event", "action", "customer_key", "member_id").rows()
    assert rows == [
        ("2026-07-02", "enter", "分配到高价值客户组", "C3", "M3"),
        ("2026-07-02", "exit", "分配到高价值客户组", "C2", "M2"),
    ] or sorted(rows) == sorted(
        [
            ("2026-07-02", "enter", "分配到高价值客户组", "C3", "M3"),
            ("2026-07-02", "exit", "分配到高价值客户组", "C2", "M2"),
        ]
    )


def test_webhook_lines_are_the_documented_payload(tmp_path, spec):
    con = warehouse(tmp_path, [], {"C3": "A"})
    record_changes(con, planned_actions(spec), date(2026, 7, 1), "run-0001")
    [jsonl] = write_outbox(con, tmp_path / "outbox", spec.destinations)
    [line] = jsonl.read_text(encoding="utf-8").splitlines()
    payload = json.loads(line)
    assert len(payload.pop("event_id")) == 24
    assert payload == {
        "event": "enter",
        "as_of_date": "2026-07-01",
        "destination": "staff_tasks",
        "action": "专属客服回访",
        "membership": {"kind": "grade", "value": "A"},
        "customer": {"customer_key": "C3", "member_id": "M3"},
        "grade": "A",
        "segment_cn": "重要价值客户",
        "segment_en": "Champions",
    }


def test_an_earlier_day_changes_nothing_and_a_file_a_crash_missed_is_written_next_time(tmp_path, spec):
    con = warehouse(tmp_path, ["C1"], {"C1": "A"})
    actions = planned_actions(spec)
    first = record_changes(con, actions, date(2026, 7, 2), "run-0001")
    # the process dies after the commit, before any file: the events wait in activation.batches
    backfill = record_changes(con, actions, date(2026, 6, 1), "run-0002")
    assert backfill.skipped == "the outbox was last delivered for 2026-07-02; 2026-06-01 is earlier and changes nothing"
    assert backfill.total == 0
    written = write_outbox(con, tmp_path / "outbox", spec.destinations)
    assert sorted(p.name for p in written) == [f"{first.batch_id}.{s}" for s in ("csv", "jsonl", "parquet")]
    assert (
        pl.read_parquet(
            written[0] if written[0].suffix == ".parquet" else next(p for p in written if p.suffix == ".parquet")
        ).height
        == 1
    )


def test_an_erased_customer_leaves_every_outbox_file_and_the_others_stay_as_written(tmp_path, spec):
    con = warehouse(tmp_path, ["C1", "C2"], {"C1": "A", "C2": "A", "C3": "B"})
    record_changes(con, planned_actions(spec), date(2026, 7, 1), "run-0001")
    outbox = tmp_path / "outbox"
    files = {p.suffix: p for p in write_outbox(con, outbox, spec.destinations)}
    before = {suffix: path.read_bytes() for suffix, path in files.items()}
    assert remove_from_outbox(outbox, ["C9"]) == []  # nobody there: no file touched
    assert {suffix: path.read_bytes() for suffix, path in files.items()} == before

    changed = remove_from_outbox(outbox, ["C2"])
    assert sorted(p.suffix for p in changed) == [".csv", ".jsonl", ".parquet"]
    csv = files[".csv"].read_text(encoding="utf-8-sig").splitlines()
    assert files[".csv"].read_bytes().startswith(b"\xef\xbb\xbf")  # still a BOM for Excel
    assert [line.split(",")[6] for line in csv] == ["customer_key", "C1"]
    assert csv[1] == before[".csv"].decode("utf-8-sig").splitlines()[1]  # C1's row as it was written
    assert pl.read_parquet(files[".parquet"])["customer_key"].to_list() == ["C1"]
    jsonl = [json.loads(line) for line in files[".jsonl"].read_text(encoding="utf-8").splitlines()]
    assert [e["customer"]["customer_key"] for e in jsonl] == ["C1"]
    assert list(outbox.rglob("*.partial")) == []


def test_an_erased_customer_leaves_the_files_a_receiver_archived(tmp_path, spec):
    # A receiver moves what it took into <destination>/archive/: erasure globbed only <destination>/<file>.
    con = warehouse(tmp_path, ["C1", "C2"], {"C1": "A", "C2": "A", "C3": "B"})
    record_changes(con, planned_actions(spec), date(2026, 7, 1), "run-0001")
    outbox = tmp_path / "outbox"
    for path in write_outbox(con, outbox, spec.destinations):
        (path.parent / "archive" / "2026").mkdir(parents=True, exist_ok=True)
        path.rename(path.parent / "archive" / "2026" / path.name)
    changed = remove_from_outbox(outbox, ["C2"])
    assert sorted(p.suffix for p in changed) == [".csv", ".jsonl", ".parquet"]
    assert all(p.parent.name == "2026" for p in changed)
    assert [p for p in outbox.rglob("*") if p.is_file() and b"C2" in p.read_bytes()] == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "rules:\n  - {name: a, when: monetary > 1, tag: x, actions: [{destination: crm, do: y}]}\n",
            "actions name undeclared destination(s) ['crm']; destinations: none",
        ),
        (
            "destinations: {crm: {format: csv}}\n"
            "grade_actions:\n  - {grade: A, segment_cn: 重要价值客户, destination: crm, do: y}\n",
            "name exactly one of grade, segment_cn, segment_en (got ['grade', 'segment_cn'])",
        ),
        ("destinations: {CRM-x: {format: csv}}\n", "destination names are folder names"),
        ("destinations: {crm: {format: xml}}\n", "'csv', 'parquet' or 'jsonl'"),
    ],
)
def test_actions_are_validated_with_the_file_and_the_reason(tmp_path, text, message):
    path = tmp_path / "rules.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError, match="rules.yml") as error:
        load_rules(path)
    assert message in str(error.value)


def test_a_grade_or_segment_grading_never_gives_is_named(tmp_path):
    from pipeline.activation.memberships import PlannedAction, unknown_values

    con = duckdb.connect()
    con.execute("create schema reference")
    con.execute("create table reference.rfm_segments_cn as select '重要价值客户' as segment_cn")
    con.execute("create table reference.rfm_segments_en as select 'Champions' as segment_en")
    actions = [
        PlannedAction("grade", "E", "crm", "x", ("enter",)),
        PlannedAction("segment_cn", "重要价值客户", "crm", "x", ("enter",)),
        PlannedAction("segment_en", "Champion", "crm", "x", ("enter",)),
        PlannedAction("rule", "high_value", "crm", "x", ("enter",)),
    ]
    assert unknown_values(con, actions, ["A", "B"]) == [
        "grade 'E' (known: A, B)",
        "segment_en 'Champion' (known: Champions)",
    ]


def test_a_csv_for_excel_or_a_crm_import_holds_no_live_formula():
    import polars as pl

    from pipeline.activation.outbox import spreadsheet_safe

    frame = pl.DataFrame(
        {
            "member_id": ['=HYPERLINK("http://x","y")', "@SUM(A1)", "+cmd|' /C calc'!A0", "-2+3+cmd|x", "\tM1", "M2"],
            "phone": ["+8613812345678", "+86138****5678", "-5", "+1 (415) 555-0100", None, "13812345678"],
            "events": [1, 2, 3, 4, 5, 6],
        }
    )
    safe = spreadsheet_safe(frame)
    assert safe["member_id"].to_list() == [
        '\'=HYPERLINK("http://x","y")',
        "'@SUM(A1)",
        "'+cmd|' /C calc'!A0",
        "'-2+3+cmd|x",
        "'\tM1",
        "M2",
    ]
    # a phone or a signed number is no formula: as it was
    assert safe["phone"].to_list() == frame["phone"].to_list()
    assert safe["events"].to_list() == frame["events"].to_list()


def test_the_outbox_csv_is_written_spreadsheet_safe(tmp_path):
    import polars as pl

    from pipeline.activation.outbox import _write

    path = tmp_path / "crm_groups" / "batch.csv"
    _write(pl.DataFrame({"member_id": ['=HYPERLINK("http://x")'], "customer_key": ["C1"]}), path, "csv", "crm_groups")
    assert path.read_text(encoding="utf-8-sig") == 'member_id,customer_key\n"\'=HYPERLINK(""http://x"")",C1\n'
