"""Erasure reaches every dq text that may hold a person's values: rule samples and messages, and file accounts."""

import duckdb

from pipeline.privacy.erasure import ERASED, _scrub_dq_texts
from pipeline.quality.store import ensure_dq_tables


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
        " '[\"13812345678\"]', 'phone__to_match_regex: 1 unexpected value(s), e.g. [''13812345678'']', now())"
    )
    _scrub_dq_texts(con, ["13812345678"])
    [(sample, message)] = con.execute("select sample, message from dq.validation_results").fetchall()
    assert (sample, message) == (f'["{ERASED}"]', f"phone__to_match_regex: 1 unexpected value(s), e.g. ['{ERASED}']")
    messages = [m for (m,) in con.execute("select message from dq.reconciliation order by file").fetchall()]
    assert messages == [f"o.csv: the file has ['A1', '{ERASED}']", "no values here"]
