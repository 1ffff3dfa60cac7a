"""Erasure finds a person's values in every text the job keeps, however they were written: dq rule samples and
messages, file accounts, quarantined lines as read (privacy/notation.py)."""

import duckdb

from pipeline.privacy.erasure import ERASED, scrub_schema_texts
from pipeline.privacy.notation import Needles
from pipeline.quality.store import ensure_dq_tables

PHONE = "+8618038913590"


def test_a_phone_in_a_file_account_message_is_scrubbed():
    # Before value-free messages, a header-less file's message carried its first row (a phone) as "the header";
    # erasure scrubbed dq.validation_results and dq.quarantine but never dq.reconciliation.
    con = duckdb.connect()
    ensure_dq_tables(con)
    con.execute(
        "insert into dq.reconciliation (run_id, source, entity, file, file_sha256, status, rows_loaded,"
        " rows_quarantined, rows_duplicate, balanced, message, checked_at) values"
        " ('r', 's', 'orders', 'o.csv', 'x', 'rejected', 0, 1, 0, true,"
        " 'o.csv: the file has [''A1'', ''13812345678'']', now()),"
        " ('r', 's', 'orders', 'p.csv', 'y', 'loaded', 1, 0, 0, true, 'no values here', now())"
    )
    con.execute(
        "insert into dq.validation_results (run_id, source, entity, file, file_sha256, suite, rule, expectation_type,"
        " on_failure, success, sample, message, validated_at) values ('r', 's', 'orders', 'o.csv', 'x', 'orders',"
        " 'phone__to_match_regex', 'expect_column_values_to_match_regex', 'quarantine', false,"
        " '[\"138-1234-5678\"]', 'phone__to_match_regex: 1 unexpected value(s), e.g. [''13812345678'']', now())"
    )
    assert scrub_schema_texts(con, "dq", Needles.of(["+8613812345678"], [], [])) == 3
    [(sample, message)] = con.execute("select sample, message from dq.validation_results").fetchall()
    assert (sample, message) == (f'["{ERASED}"]', f"phone__to_match_regex: 1 unexpected value(s), e.g. ['{ERASED}']")
    messages = [m for (m,) in con.execute("select message from dq.reconciliation order by file").fetchall()]
    assert messages == [f"o.csv: the file has ['A1', '{ERASED}']", "no values here"]


def test_a_phone_is_found_in_every_notation_people_type():
    needles = Needles.of([PHONE], ["Zhang.San@Example.cn"], ["M000123"])
    for text in [
        '{"手机":"180-3891-3590 转 8001"}',  # an extension after it
        '{"手机":"18038913590/13900000000"}',  # two numbers in one cell
        "+86 180 3891 3590",
        "0086-18038913590",
        '{"phone": "18038913590", "email": "zhang',  # a JSON line cut short
        "A1,18038913590,100".encode("utf-16-le").decode("utf-8", errors="replace"),  # UTF-16 read as UTF-8
        "mail ZHANG.SAN@example.cn today",
        "member M000123,",
    ]:
        assert needles.found_in(text), text
    for text in ["8618038913590999", "118038913590", "13900000000", "M0001234", "zhang.san@example.cn.evil"]:
        assert not needles.found_in(text), text


def test_a_formatted_phone_in_a_page_is_replaced_and_other_numbers_stay():
    needles = Needles.of([PHONE], [], ["张三"])
    page = "<td>180 3891 3590</td><td>18038913590/13900000000</td><td>张三</td><td>2026-07-01</td>"
    assert needles.replace(page, ERASED) == (
        f"<td>{ERASED}</td><td>{ERASED}/13900000000</td><td>{ERASED}</td><td>2026-07-01</td>"
    )
    utf16 = "B1,18038913590,100".encode("utf-16-le").decode("utf-8")
    assert needles.replace(utf16, ERASED) == f"B1,{ERASED},100"
