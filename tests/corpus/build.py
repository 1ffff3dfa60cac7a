"""Write the bad-input corpus: one folder per case with its input files and case.yml (the expected outcome).

The files are committed; run `python tests/corpus/build.py` to recreate them after changing a case here.
Expected outcomes are written by hand in CASES below, never derived from a run.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import xlsxwriter
import yaml

HERE = Path(__file__).parent
H = "订单编号,手机,实付金额,退款金额,下单时间,状态\n"
R1 = "A1,13812345678,100.00,0,2024-03-05 14:22:01,成功\n"
R2 = "A2,138****5678,20.50,0,2024-03-06 09:00:00,成功\n"
R3 = "A3,,35,0,2024-03-07 10:00:00,关闭\n"
GOOD = H + R1 + R2 + R3


# The person the privacy cases erase, in the notations people type, and what must be gone after.
PERSON_PLAIN = "P1,18038913590,100.00,0,2024-03-05 14:22:01,成功\n"
PERSON_EXT = "P1,180-3891-3590 转 8001,100.00,0,2024-03-05 14:22:01,成功\n"
PERSON_TWO = "P1,18038913590/13900000000,100.00,0,2024-03-05 14:22:01,成功\n"


def erased(*absent: str, **more) -> dict:
    """The outcome of erasing the person: done, their quarantined row gone, `absent` in no byte of any store, the
    other customer's phone still loaded."""
    return {"exit": 0, "quarantine_left": 0, "absent": list(absent), "present": ["+8613812345678"], **more}


EVENTS_WITH_CONTACTS = {
    **yaml.safe_load((HERE / "contracts" / "events_jsonl.yml").read_text(encoding="utf-8")),
    "columns": {
        "eventId": "interaction_id",
        "eventType": "interaction_type",
        "ts": "occurred_at",
        "mobile": "phone",
        "email": "email",
    },
}
EVENT_OK = (
    '{"eventId": "E1", "eventType": "call", "ts": "2024-03-05T06:00:00Z", "mobile": "13812345678",'
    ' "email": "li@example.cn"}\n'
)
EVENT_CUT = (
    '{"eventId": "E2", "mobile": "18038913590", "email": "zhang.san@example.cn", "eventType": "call", "ts": "20\n'
)


def ok(file, loaded, **kw):
    return {"file": file, "status": kw.pop("status", "loaded"), "loaded": loaded, **kw}


# name: (contract, description, steps); a step is ({name in source folder: text | bytes | callable}, [expected])
CASES: dict[str, tuple[str, str, list]] = {
    "clean_utf8": ("orders_csv", "A clean UTF-8 export loads whole.", [({"o.csv": GOOD}, [ok("o.csv", 3)])]),
    "utf8_with_bom": (
        "orders_csv",
        "A byte-order mark before the header does not break the first column name.",
        [({"o.csv": b"\xef\xbb\xbf" + GOOD.encode()}, [ok("o.csv", 3)])],
    ),
    "gbk_declared_gbk": (
        "orders_gbk",
        "A GBK export read as GBK.",
        [({"o.csv": GOOD.encode("gbk")}, [ok("o.csv", 3)])],
    ),
    "gbk_declared_utf8": (
        "orders_csv",
        "A GBK file under a UTF-8 contract cannot be read; the message names the line and byte.",
        [
            (
                {"o.csv": GOOD.encode("gbk")},
                [
                    {
                        "file": "o.csv",
                        "status": "unreadable",
                        "loaded": 0,
                        "quarantined": {"file__readable": 3},
                        "message": "o.csv: line 1: byte offset 0 is not valid utf-8",
                    }
                ],
            )
        ],
    ),
    "missing_column": (
        "orders_csv",
        "A column the contract maps is gone: the file is rejected, naming the column.",
        [
            (
                {"o.csv": GOOD.replace(",退款金额", "").replace(",0,", ",")},
                [
                    {
                        "file": "o.csv",
                        "status": "rejected",
                        "loaded": 0,
                        "quarantined": {"file__has_contract_columns": 3},
                        "message": "['退款金额']",
                    }
                ],
            )
        ],
    ),
    "renamed_column": (
        "orders_csv",
        "A renamed header (订单号 for 订单编号) is a missing column.",
        [
            (
                {"o.csv": GOOD.replace("订单编号", "订单号")},
                [
                    {
                        "file": "o.csv",
                        "status": "rejected",
                        "loaded": 0,
                        "quarantined": {"file__has_contract_columns": 3},
                        "message": "['订单编号']",
                    }
                ],
            )
        ],
    ),
    "extra_column": (
        "orders_csv",
        "An extra column is ignored.",
        [
            (
                {
                    "o.csv": GOOD.replace("状态\n", "状态,备注\n")
                    .replace("成功\n", "成功,x\n")
                    .replace("关闭\n", "关闭,y\n")
                },
                [ok("o.csv", 3)],
            )
        ],
    ),
    "order_relisted_in_the_next_export": (
        "orders_csv",
        "The same order in March's export (成功) and again in April's (关闭): both files load whole, and April's"
        " counts the order it delivers again (its state replaces March's in int_order_lines, never summed).",
        [
            ({"2024-03.csv": H + R1 + R2}, [ok("2024-03.csv", 2)]),
            (
                {"2024-03.csv": H + R1 + R2, "2024-04.csv": H + R1.replace("成功", "关闭") + R3},
                [
                    {"file": "2024-03.csv", "status": "unchanged", "loaded": 0},
                    ok("2024-04.csv", 2, redelivered=1),
                ],
            ),
        ],
    ),
    "mapped_column_twice_in_the_header": (
        "orders_csv",
        "A header holding 手机 twice: the second column was silently dropped; now the file is rejected, naming both"
        " columns.",
        [
            (
                {
                    "o.csv": GOOD.replace("状态\n", "状态,手机\n")
                    .replace("成功\n", "成功,13900000000\n")
                    .replace("关闭\n", "关闭,\n")
                },
                [
                    {
                        "file": "o.csv",
                        "status": "rejected",
                        "loaded": 0,
                        "quarantined": {"file__has_contract_columns": 3},
                        "message": "'手机' is columns 2 and 7",
                    }
                ],
            )
        ],
    ),
    "carriage_returns_only": (
        "orders_csv",
        "Lines ending in a carriage return alone (Excel for Mac): read as lines, each row on its own line number"
        " (it was rows_read 0, 'balanced', with 3 rows neither counted nor quarantined).",
        [({"o.csv": GOOD.replace("\n", "\r").encode()}, [ok("o.csv", 3, row_numbers=[2, 3, 4])])],
    ),
    "reordered_columns": (
        "orders_csv",
        "Columns in another order are matched by name.",
        [
            (
                {
                    "o.csv": "手机,订单编号,实付金额,退款金额,下单时间,状态\n"
                    "13812345678,A1,1,0,2024-01-01 00:00:00,成功\n"
                },
                [ok("o.csv", 1)],
            )
        ],
    ),
    "line_with_too_many_fields": (
        "orders_csv",
        "A line with a field too many is quarantined as malformed; the others load.",
        [({"o.csv": H + R1 + "A9,1,2,3,4,5,6\n" + R3}, [ok("o.csv", 2, quarantined={"file__malformed_line": 1})])],
    ),
    "line_with_too_few_fields": (
        "orders_csv",
        "A short line (Polars would fill it with nulls) is quarantined as malformed.",
        [({"o.csv": H + R1 + "A9,138\n" + R3}, [ok("o.csv", 2, quarantined={"file__malformed_line": 1})])],
    ),
    "quoted_delimiter": (
        "orders_csv",
        "A quoted value holding the separator is one value, not a malformed line.",
        [({"o.csv": H + 'A1,13812345678,"1,299.50",0,2024-03-05 14:22:01,成功\n' + R2}, [ok("o.csv", 2)])],
    ),
    "empty_file": (
        "orders_csv",
        "A file of zero bytes has no header: unreadable.",
        [({"o.csv": b""}, [{"file": "o.csv", "status": "unreadable", "loaded": 0, "message": "empty"}])],
    ),
    "header_only": (
        "orders_csv",
        "A header without rows stops the file (row count below 1).",
        [
            (
                {"o.csv": H},
                [{"file": "o.csv", "status": "rejected", "loaded": 0, "message": "table__row_count_to_be_between"}],
            )
        ],
    ),
    "same_file_twice": (
        "orders_csv",
        "Ingesting the same file again adds nothing.",
        [
            ({"o.csv": GOOD}, [ok("o.csv", 3)]),
            ({"o.csv": GOOD}, [{"file": "o.csv", "status": "unchanged", "loaded": 0}]),
        ],
    ),
    "same_content_other_name": (
        "orders_csv",
        "A copy under another name is a duplicate file: every row counted as a duplicate, none loaded.",
        [
            ({"o.csv": GOOD}, [ok("o.csv", 3)]),
            (
                {"o.csv": GOOD, "o_copy.csv": GOOD},
                [
                    {"file": "o.csv", "status": "unchanged", "loaded": 0},
                    {"file": "o_copy.csv", "status": "duplicate_file", "loaded": 0, "duplicates": 3},
                ],
            ),
        ],
    ),
    "replaced_with_new_content": (
        "orders_csv",
        "A corrected export under the same name replaces that file's rows.",
        [
            ({"o.csv": GOOD}, [ok("o.csv", 3)]),
            (
                {"o.csv": H + R1 + R2 + "A4,13812345679,9,0,2024-03-08 10:00:00,成功\n"},
                [ok("o.csv", 3, status="replaced")],
            ),
        ],
    ),
    "replaced_with_far_fewer_rows": (
        "orders_csv",
        "A re-delivery that lost more than half its rows is rejected; the earlier version stays loaded.",
        [
            ({"o.csv": GOOD}, [ok("o.csv", 3)]),
            (
                {"o.csv": H + R1},
                [
                    {
                        "file": "o.csv",
                        "status": "rejected",
                        "loaded": 0,
                        "table_rows": 3,
                        "quarantined": {"table__row_count_to_be_between": 1},
                        "message": "table__row_count_to_be_between",
                    }
                ],
            ),
        ],
    ),
    "future_date": (
        "orders_csv",
        "An order dated after the run is quarantined.",
        [
            (
                {"o.csv": H + R1 + "A9,,1,0,2031-01-01 10:00:00,成功\n"},
                [ok("o.csv", 1, quarantined={"ordered_at__to_be_between": 1})],
            )
        ],
    ),
    "date_in_1900": (
        "orders_csv",
        "An order dated 1900 (an Excel zero date) is quarantined.",
        [
            (
                {"o.csv": H + R1 + "A9,,1,0,1900-01-01 00:00:00,成功\n"},
                [ok("o.csv", 1, quarantined={"ordered_at__to_be_between": 1})],
            )
        ],
    ),
    "unparseable_date": (
        "orders_csv",
        "A date in month 13 does not parse: quarantined, the reason names the value.",
        [
            (
                {"o.csv": H + R1 + "A9,,1,0,2024-13-45 10:00:00,成功\n"},
                [
                    ok(
                        "o.csv",
                        1,
                        quarantined={"parse_errors__to_be_null": 1, "ordered_at__to_not_be_null": 1},
                        reason="ordered_at=2024-13-45 10:00:00",
                    )
                ],
            )
        ],
    ),
    "negative_amount": (
        "orders_csv",
        "A negative amount is quarantined (refunds belong in 退款金额).",
        [
            (
                {"o.csv": H + R1 + "A9,,-5,0,2024-01-01 10:00:00,成功\n"},
                [
                    ok(
                        "o.csv",
                        1,
                        quarantined={"amount__to_be_between": 1, "amount_refund_amount__a_to_be_greater_than_b": 1},
                    )
                ],
            )
        ],
    ),
    "absurd_amount": (
        "orders_csv",
        "An amount over ten million yuan is quarantined.",
        [
            (
                {"o.csv": H + R1 + "A9,,999999999,0,2024-01-01 10:00:00,成功\n"},
                [ok("o.csv", 1, quarantined={"amount__to_be_between": 1})],
            )
        ],
    ),
    "text_in_numeric_column": (
        "orders_csv",
        "Text where an amount belongs does not parse: quarantined.",
        [
            (
                {"o.csv": H + R1 + "A9,,abc,0,2024-01-01 10:00:00,成功\n"},
                [ok("o.csv", 1, quarantined={"parse_errors__to_be_null": 1}, reason="amount=abc")],
            )
        ],
    ),
    "currency_signs_and_full_width": (
        "orders_csv",
        "￥, thousands separators and full-width digits are cleaned, not rejected.",
        [({"o.csv": H + 'A1,１３８１２３４５６７８,"￥1,299.50",0,2024-01-01 10:00:00,成功\n'}, [ok("o.csv", 1)])],
    ),
    "invalid_phone": (
        "orders_csv",
        "A ten-digit mobile is quarantined.",
        [
            (
                {"o.csv": H + R1 + "A9,1381234567,1,0,2024-01-01 10:00:00,成功\n"},
                [ok("o.csv", 1, quarantined={"phone__to_match_regex": 1})],
            )
        ],
    ),
    "masked_and_formatted_phones": (
        "orders_csv",
        "Masked and formatted phones are valid.",
        [
            (
                {
                    "o.csv": H
                    + "A1,138****5678,1,0,2024-01-01 10:00:00,成功\nA2,+86 138-1234-5678,1,0,2024-01-01 10:00:00,成功\n"
                },
                [ok("o.csv", 2)],
            )
        ],
    ),
    "duplicate_order_ids": (
        "orders_csv",
        "Two different rows with one order id: both quarantined, a person must decide.",
        [
            (
                {"o.csv": H + R1 + "A1,13812345678,99.00,0,2024-03-05 14:22:01,成功\n" + R3},
                [ok("o.csv", 1, quarantined={"order_id_unique_per_file": 2})],
            )
        ],
    ),
    "exact_duplicate_rows": (
        "orders_csv",
        "A row repeated verbatim (a re-export glitch) is removed and counted.",
        [({"o.csv": H + R1 + R1 + R2}, [ok("o.csv", 2, duplicates=1)])],
    ),
    "duplicate_across_files": (
        "orders_csv",
        "A row that repeats a loaded row of another file of the source is removed and counted.",
        [
            ({"a.csv": H + R1 + R2}, [ok("a.csv", 2)]),
            (
                {"a.csv": H + R1 + R2, "b.csv": H + R2 + R3},
                [{"file": "a.csv", "status": "unchanged", "loaded": 0}, ok("b.csv", 1, duplicates=1)],
            ),
        ],
    ),
    "refund_exceeds_amount": (
        "orders_csv",
        "A refund larger than the payment is quarantined.",
        [
            (
                {"o.csv": H + R1 + "A9,,10,20,2024-01-01 10:00:00,成功\n"},
                [ok("o.csv", 1, quarantined={"amount_refund_amount__a_to_be_greater_than_b": 1})],
            )
        ],
    ),
    "null_customer_refs": (
        "orders_csv",
        "Anonymous purchases (no phone, no id) load; a missing order id is derived from file and row.",
        [({"o.csv": H + ",,10,0,2024-01-01 10:00:00,成功\n,,11,0,2024-01-01 10:00:00,成功\n"}, [ok("o.csv", 2)])],
    ),
    "key_column_mostly_null": (
        "orders_csv",
        "Order times missing in 19 of 20 rows: the mapping broke, the file stops.",
        [
            (
                {"o.csv": H + R1 + "".join(f"B{i},,1,0,,成功\n" for i in range(19))},
                [
                    {
                        "file": "o.csv",
                        "status": "rejected",
                        "loaded": 0,
                        "message": "ordered_at_mostly_filled",
                        "quarantined": {"ordered_at_mostly_filled": 20},
                    }
                ],
            )
        ],
    ),
    "unknown_status": (
        "orders_csv",
        "A status the contract does not map becomes 'unknown' and is quarantined.",
        [
            (
                {"o.csv": H + R1 + "A9,,1,0,2024-01-01 10:00:00,待付款\n"},
                [ok("o.csv", 1, quarantined={"status__to_be_in_set": 1})],
            )
        ],
    ),
    "excel_several_sheets_unnamed": (
        "orders_xlsx",
        "A workbook with several sheets and no sheet in the contract is ambiguous: unreadable, listing the sheets.",
        [
            (
                {"o.xlsx": "xlsx:two_sheets"},
                [
                    {
                        "file": "o.xlsx",
                        "status": "unreadable",
                        "loaded": 0,
                        "message": "name the one to read with `sheet:`",
                    }
                ],
            )
        ],
    ),
    "excel_several_sheets_named": (
        "orders_xlsx_sheet",
        "The contract names the sheet: that sheet loads.",
        [({"o.xlsx": "xlsx:two_sheets"}, [ok("o.xlsx", 2)])],
    ),
    "excel_merged_header": (
        "orders_xlsx",
        "A header cell merged across two columns leaves one column without a name: rejected, naming it.",
        [
            (
                {"o.xlsx": "xlsx:merged_header"},
                [
                    {
                        "file": "o.xlsx",
                        "status": "rejected",
                        "loaded": 0,
                        "message": "['退款金额']",
                        "quarantined": {"file__has_contract_columns": 1},
                    }
                ],
            )
        ],
    ),
    "excel_blank_row": (
        "orders_xlsx",
        "A blank row in a workbook was skipped and every later row numbered one too low: rows keep Excel's numbers.",
        [({"o.xlsx": "xlsx:blank_row"}, [ok("o.xlsx", 2, row_numbers=[2, 4])])],
    ),
    "excel_merged_order_id": (
        {
            **yaml.safe_load((HERE / "contracts" / "orders_xlsx.yml").read_text(encoding="utf-8")),
            "grain": "order_line",
        },
        "An order id merged over its order's two lines read as empty on the second (an anonymous order of its own):"
        " a merged cell's value fills the cells it covers, as Excel shows it.",
        [({"o.xlsx": "xlsx:merged_order_id"}, [ok("o.xlsx", 3, values={"order_id": ["A1", "A1", "A2"]})])],
    ),
    "excel_merged_order_id_quarantined": (
        {
            **yaml.safe_load((HERE / "contracts" / "orders_xlsx.yml").read_text(encoding="utf-8")),
            "grain": "order_line",
            "merged_cells": "quarantine",
        },
        "With merged_cells: quarantine, the rows a merged cell covers below its first are set aside, naming it.",
        [
            (
                {"o.xlsx": "xlsx:merged_order_id"},
                [
                    ok(
                        "o.xlsx",
                        2,
                        quarantined={"file__malformed_line": 1},
                        reason="cell A3 is part of merged cell A2:A3",
                    )
                ],
            )
        ],
    ),
    "excel_formulas_never_calculated": (
        "orders_xlsx",
        "A workbook a program wrote with formulas it never calculated: the amount =50*2 loaded as 0 and #DIV/0! as"
        " empty. Rows whose mapped cells hold such a formula or an error value are quarantined, naming the cell; a"
        " formula in a column the contract does not map is no matter.",
        [
            (
                {"o.xlsx": "xlsx:formulas"},
                [
                    ok(
                        "o.xlsx",
                        2,
                        quarantined={"file__malformed_line": 2},
                        row_numbers=[4, 5],
                        reason="cell C2 (实付金额) holds a formula no program calculated (=50*2)",
                    )
                ],
            )
        ],
    ),
    "excel_formulas_calculated_by_excel": (
        "orders_xlsx",
        "The same workbook as Excel saves it (no calculation pending): a formula's value is its result and loads;"
        " an error value is still quarantined.",
        [
            (
                {"o.xlsx": "xlsx:formulas_calculated"},
                [
                    ok(
                        "o.xlsx",
                        3,
                        quarantined={"file__malformed_line": 1},
                        values={"amount": ["100.0000", "35.0000", "12.0000"]},
                        reason="cell C3 (实付金额) holds the Excel error #DIV/0!",
                    )
                ],
            )
        ],
    ),
    "jsonl_broken_line": (
        "events_jsonl",
        "A broken JSON line is quarantined with its text; the other lines load.",
        [
            (
                {
                    "e.jsonl": '{"eventId":"E1","eventType":"call","ts":"2024-01-01T02:00:00Z"}\n{"eventId":"E2",\n'
                    '{"eventId":"E3","eventType":"email","ts":"2024-01-02T02:00:00Z"}\n'
                },
                [ok("e.jsonl", 2, quarantined={"file__malformed_line": 1})],
            )
        ],
    ),
    "quote_in_header": (
        "orders_quote_header",
        "A stray quote in a header name (id\"x) made Polars read the rest of the file as one value: 0 rows, 'balanced'."
        " The line-by-line reader takes the quote literally and every row loads.",
        [({"o.csv": 'id"x,' + H + "".join("q," + r for r in (R1, R2, R3))}, [ok("o.csv", 3, row_numbers=[2, 3, 4])])],
    ),
    "field_over_128_kib": (
        "orders_csv",
        "A value of 200 KiB in a file that needs the line-by-line reader (a short line) crashed the source's ingest"
        " (the csv module's 128 KiB field limit): it is read, and judged like any value.",
        [
            (
                {"o.csv": H + "A1,13812345678,100,0,2024-03-05 14:22:01," + "x" * 200_000 + "\n" + R2 + "A9,138\n"},
                [ok("o.csv", 1, quarantined={"status__to_be_in_set": 1, "file__malformed_line": 1})],
            )
        ],
    ),
    "one_row_wrongly_encoded": (
        "orders_csv",
        "One line with bytes that are not UTF-8 made the whole file unreadable with rows_read NULL, yet 'balanced':"
        " that line is quarantined with its bytes escaped and its line number; the others load.",
        [
            (
                {"o.csv": (H + R1).encode() + b"A2,\xff\xfe,1,0,2024-03-05 14:22:01,x\n" + R3.encode()},
                [
                    ok(
                        "o.csv",
                        2,
                        quarantined={"file__malformed_line": 1},
                        reason="not valid utf-8",
                        row_numbers=[2, 4],
                    )
                ],
            )
        ],
    ),
    "jsonl_line_wrongly_encoded": (
        "events_jsonl",
        "A JSON line with bytes that are not UTF-8 is quarantined with its line number; the others load.",
        [
            (
                {
                    "e.jsonl": b'{"eventId":"E1","eventType":"call","ts":"2024-01-01T02:00:00Z"}\n'
                    b'{"eventId":"E2","eventType":"\xff\xfe","ts":"2024-01-01T03:00:00Z"}\n'
                    b'{"eventId":"E3","eventType":"email","ts":"2024-01-02T02:00:00Z"}\n'
                },
                [
                    ok(
                        "e.jsonl",
                        2,
                        quarantined={"file__malformed_line": 1},
                        reason="not valid utf-8",
                        row_numbers=[1, 3],
                    )
                ],
            )
        ],
    ),
    "blank_line_between_rows": (
        "orders_csv",
        "A blank line was read by Polars as a row of nulls (quarantined as an order without a time) and shifted"
        " the row numbers after it: it is skipped, and rows keep the line they are on.",
        [({"o.csv": H + R1 + "\n" + R2 + R3}, [ok("o.csv", 3, row_numbers=[2, 4, 5])])],
    ),
    "value_spanning_two_lines": (
        "orders_csv",
        "A quoted value holding a line break: one row, numbered by the line it starts on.",
        [
            (
                {"o.csv": H + R1 + 'A2,,1,0,2024-03-06 09:00:00,"成\n功"\n' + R3},
                [ok("o.csv", 2, quarantined={"status__to_be_in_set": 1}, row_numbers=[2, 5])],
            )
        ],
    ),
    "link_out_of_the_source_root": (
        "orders_csv",
        "A link in the source folder to /etc/passwd was read, and its lines stored in dq.quarantine: it is refused"
        " unopened, and nothing of it is kept.",
        [
            (
                {"o.csv": "link:/etc/passwd"},
                [
                    {
                        "file": "o.csv",
                        "status": "unreadable",
                        "loaded": 0,
                        "message": "leads outside sources.root",
                        "message_excludes": "root:",
                    }
                ],
            )
        ],
    ),
    "xlsx_cell_at_xfd1048576": (
        "orders_xlsx",
        "One cell at XFD1048576 made the Excel reader allocate 512 GiB and abort the process: the sheet's size is"
        " read from its XML first, and the file is unreadable, naming the cell.",
        [
            (
                {"o.xlsx": "xlsx:stray_cell"},
                [{"file": "o.xlsx", "status": "unreadable", "loaded": 0, "message": "reaches XFD1048576"}],
            )
        ],
    ),
    "header_row_missing": (
        "orders_csv",
        "An export without its header row: rejected for the missing columns, and the message (dq.reconciliation,"
        " the run's log) does not carry the first row, a person's phone, as the header it takes for one.",
        [
            (
                {"o.csv": R1 + R2},
                [
                    {
                        "file": "o.csv",
                        "status": "rejected",
                        "loaded": 0,
                        "quarantined": {"file__has_contract_columns": 1},
                        "message": "are not in the file's header",
                        "message_excludes": "13812345678",
                    }
                ],
            )
        ],
    ),
    "decimal_comma_under_a_dot_contract": (
        "orders_csv",
        "'1.234,50' under a contract with '.' decimals loaded as 1.23 (thousands commas stripped, then rounded):"
        " it is no number in that notation, so it is quarantined, naming the value.",
        [
            (
                {"o.csv": H + R1 + 'A9,,"1.234,50",0,2024-01-01 10:00:00,成功\n'},
                [ok("o.csv", 1, quarantined={"parse_errors__to_be_null": 1}, reason="amount=1.234,50")],
            )
        ],
    ),
    "european_number_format": (
        {
            **yaml.safe_load((HERE / "contracts" / "orders_csv.yml").read_text(encoding="utf-8")),
            "delimiter": ";",
            "decimal_separator": ",",
            "thousands_separator": ".",
            "currency": "EUR",
        },
        "A European export (';' between fields, ',' decimals, '.' thousands, €) loads the amounts it says.",
        [
            (
                {
                    "o.csv": H.replace(",", ";")
                    + "A1;13812345678;1.234,50 €;0;2024-03-05 14:22:01;成功\n"
                    + "A2;;€ 0,5;0,25;2024-03-06 09:00:00;成功\n"
                },
                [ok("o.csv", 2, values={"amount": ["1234.5000", "0.5000"], "refund_amount": ["0.0000", "0.2500"]})],
            )
        ],
        {"grading_currency": "EUR"},
    ),
    "unit_price_of_three_places": (
        "orders_lines",
        "Unit prices of a fraction of a cent (0.125) were rounded to 2 places without a word: four places are"
        " kept, and a price of five places is quarantined, not rounded.",
        [
            (
                {
                    "o.csv": "InvoiceNo,Quantity,UnitPrice,InvoiceDate\n"
                    "536365,6,0.125,2010-12-01 08:26:00\n536366,6,2.55,2010-12-01 08:28:00\n"
                    "536367,1,0.00005,2010-12-01 08:34:00\n"
                },
                [
                    ok(
                        "o.csv",
                        2,
                        quarantined={"parse_errors__to_be_null": 1},
                        reason="unit_price=0.00005",
                        values={"unit_price": ["0.1250", "2.5500"], "amount": ["0.7500", "15.3000"]},
                    )
                ],
            )
        ],
    ),
    "orders_from_the_1990s": (
        "orders_csv",
        "An order history from 1997 was quarantined whole by a fixed 'not before 2000-01-01': the earliest date is"
        " now quality.max_history_years (50) before the as-of date; an Excel zero date (1900) is still quarantined.",
        [
            (
                {
                    "o.csv": H + "A1,,10,0,1997-03-05 14:22:01,成功\nA2,,10,0,1999-12-31 23:00:00,成功\n"
                    "A3,,10,0,1899-12-30 00:00:00,成功\n"
                },
                [ok("o.csv", 2, quarantined={"ordered_at__to_be_between": 1})],
            )
        ],
    ),
    "limits_of_the_source_own": (
        {
            **yaml.safe_load((HERE / "contracts" / "orders_csv.yml").read_text(encoding="utf-8")),
            "quality": {"earliest": "2024-01-01", "max_amount": 1000},
        },
        "A source's contract sets its own limits: nothing before 2024 (the shop opened then), nothing over 1,000.",
        [
            (
                {"o.csv": H + R1 + "A8,,10,0,2023-12-31 23:59:59,成功\nA9,,1000.01,0,2024-03-05 14:22:01,成功\n"},
                [ok("o.csv", 1, quarantined={"ordered_at__to_be_between": 1, "amount__to_be_between": 1})],
            )
        ],
    ),
    "orders_without_order_ids": (
        {
            "source": "corpus",
            "entity": "orders",
            "path": "*.csv",
            "format": "csv",
            "columns": {"customer": "buyer_id", "date": "ordered_at", "total": "amount"},
            "derived": {"status": "'completed'"},
            "date_formats": ["%Y%m%d"],
            "datetime_formats": ["%Y%m%d"],
        },
        "An orders-only export without order numbers crashed the source ('unable to find column order_id'): each"
        " row is an order of its own, its id made from file and row.",
        [({"o.csv": "customer,date,total\n00004,19970101,29.33\n00004,19970118,29.73\n"}, [ok("o.csv", 2)])],
    ),
    "dollar_sign_in_a_yuan_export": (
        "orders_csv",
        "Only the signs of the contract's own currency are dropped: '$12.00' in a yuan export is no yuan amount.",
        [
            (
                {"o.csv": H + R1 + 'A9,,"$12.00",0,2024-01-01 10:00:00,成功\n'},
                [ok("o.csv", 1, quarantined={"parse_errors__to_be_null": 1}, reason="amount=$12.00")],
            )
        ],
    ),
    "orders_in_another_currency": (
        {**yaml.safe_load((HERE / "contracts" / "orders_csv.yml").read_text(encoding="utf-8")), "currency": "USD"},
        "A source in US dollars graded against yuan thresholds was summed as yuan: with grading.yml in CNY its"
        " orders are quarantined under currency__to_be_in_set, never mixed in.",
        [({"o.csv": GOOD}, [ok("o.csv", 0, quarantined={"currency__to_be_in_set": 3})])],
    ),
    "invoice_lines_with_cancellations": (
        {
            "source": "corpus",
            "entity": "orders",
            "path": "*.csv",
            "format": "csv",
            "grain": "order_line",
            "currency": "GBP",
            "timezone": "Europe/London",
            "columns": {
                "InvoiceNo": "order_id",
                "StockCode": "product_id",
                "Description": "product_name",
                "Quantity": "quantity",
                "InvoiceDate": "ordered_at",
                "UnitPrice": "unit_price",
                "CustomerID": "buyer_id",
            },
            "derived": {"amount": "quantity * unit_price", "status": "'completed'"},
            "returns": {"negative_quantity": True, "order_id_prefix": "C"},
            "datetime_formats": ["%m/%d/%Y %H:%M"],
        },
        "A UK invoice-line export: a cancellation invoice (C536379) of negative quantity was quarantined as a"
        " negative amount; it is a returned line of its value (its invoice a credit note). Float-text customer ids"
        " (17850.0) are the customer 17850; a zero-price line loads (and is no purchase); an exact duplicate line is"
        " removed and counted.",
        [
            (
                {
                    "o.csv": "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
                    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850.0,United Kingdom\n"
                    "536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850.0,United Kingdom\n"
                    "536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850.0,United Kingdom\n"
                    "C536379,D,Discount,-1,12/1/2010 9:41,27.50,14527.0,United Kingdom\n"
                    "536414,22139,,56,12/1/2010 11:52,0,,United Kingdom\n"
                },
                [
                    ok(
                        "o.csv",
                        4,
                        duplicates=1,
                        values={
                            "buyer_id": ["17850", "17850", "14527", None],
                            "status": ["completed", "completed", "returned", "completed"],
                            "quantity": ["6", "6", "1", "56"],
                            "amount": ["15.3000", "20.3400", "27.5000", "0.0000"],
                            "refund_amount": [None, None, "27.5000", None],
                            "currency": ["GBP", "GBP", "GBP", "GBP"],
                        },
                    )
                ],
            )
        ],
        {"grading_currency": "GBP"},
    ),
    "contract_path_climbs_out": (
        {
            **yaml.safe_load((HERE / "contracts" / "orders_csv.yml").read_text(encoding="utf-8")),
            "path": "../../*/*.csv",
        },
        "A contract whose glob climbs out of sources.root ingested files elsewhere: the contract is refused.",
        [],
        {"contract_error": "climbs out of sources.root"},
    ),
    "leap_second": (
        "orders_csv",
        "An order at a leap second (23:59:60) was dated the next day; it stays on its day, at 23:59:59.",
        [
            (
                {"o.csv": GOOD.replace("2024-03-06 09:00:00", "2016-12-31 23:59:60")},
                [
                    ok(
                        "o.csv",
                        3,
                        values={"ordered_at": ["2024-03-05 14:22:01", "2016-12-31 23:59:59", "2024-03-07 10:00:00"]},
                    )
                ],
            )
        ],
    ),
    "derived_cast_of_a_bad_cell": (
        {
            **yaml.safe_load((HERE / "contracts" / "orders_csv.yml").read_text(encoding="utf-8")),
            "columns": {
                "订单编号": "order_id",
                "实付金额": {"name": "paid_text", "type": "string"},
                "下单时间": "ordered_at",
                "状态": {"name": "status_cn", "type": "string"},
            },
            "derived": {
                "amount": "cast(paid_text as decimal(18, 2))",
                "status": "case status_cn when '成功' then 'completed' else 'cancelled' end",
            },
        },
        "A CAST in a derived field meeting one value it cannot convert failed the whole source; now that row is"
        " quarantined, naming the value, and the rest load.",
        [
            (
                {"o.csv": GOOD.replace("20.50", "二十")},
                [
                    ok(
                        "o.csv",
                        2,
                        quarantined={"parse_errors__to_be_null": 1},
                        values={"amount": ["100.0000", "35.0000"]},
                        reason="amount: CAST(paid_text AS DECIMAL(18, 2)) of 二十",
                    )
                ],
            )
        ],
    ),
    "derived_field_reads_a_file": (
        {
            **yaml.safe_load((HERE / "contracts" / "orders_csv.yml").read_text(encoding="utf-8")),
            "derived": {"status": "(select max(x) from read_csv('/etc/passwd'))"},
        },
        "A derived field holding a subquery made Polars open the file while parsing and print its first line in the"
        " error: subqueries and table functions are refused before Polars sees the expression.",
        [],
        {"contract_error": "a subquery is not allowed", "message_excludes": "root:"},
    ),
    # Privacy: after the steps, `crmgrade erase` of the person; `erase.expect` is the exact outcome, and none of
    # `absent` may be left in any byte of the warehouse file, the reports, the outbox or the privacy folder
    # (tests/unit/test_privacy_corpus.py).
    "privacy_phone_with_an_extension": (
        "orders_csv",
        "A phone written with an extension (180-3891-3590 转 8001) is quarantined as typed; erasing 18038913590 took"
        " the rows holding it as cleaning writes it, never this one, which stayed in quarantine and on the"
        " validation page.",
        [({"o.csv": H + PERSON_EXT + R1}, [ok("o.csv", 1, quarantined={"phone__to_match_regex": 1})])],
        {"erase": {"phone": ["18038913590"], "expect": erased("180-3891-3590")}},
    ),
    "privacy_two_phones_in_one_cell": (
        "orders_csv",
        "Two numbers in one cell (18038913590/13900000000): the quarantined row is the person's and goes.",
        [({"o.csv": H + PERSON_TWO + R1}, [ok("o.csv", 1, quarantined={"phone__to_match_regex": 1})])],
        {"erase": {"phone": ["18038913590"], "expect": erased("18038913590/13900000000")}},
    ),
    "privacy_json_line_cut_short": (
        EVENTS_WITH_CONTACTS,
        "A JSON line cut short holds the phone and e-mail but cannot be parsed: it is quarantined as text, and"
        " erasing the phone takes it, e-mail and all (the split at commas left the quoted phone unmatched).",
        [
            (
                {"e.jsonl": EVENT_OK + EVENT_CUT},
                [ok("e.jsonl", 1, quarantined={"file__malformed_line": 1})],
            )
        ],
        {"erase": {"phone": ["18038913590"], "expect": erased("18038913590", "zhang.san@example.cn")}},
    ),
    "privacy_unreadable_utf16_file": (
        "orders_csv",
        "A UTF-16 export under a UTF-8 contract is unreadable; its lines are quarantined as read (a NUL between"
        " characters), and erasing the phone finds it there. The last line left (a lone NUL after the final newline)"
        " holds nothing of anyone and stays.",
        [
            (
                {"o.csv": (H + PERSON_PLAIN).encode("utf-16")},
                [
                    {
                        "file": "o.csv",
                        "status": "unreadable",
                        "loaded": 0,
                        "quarantined": {"file__readable": 2},
                        "message": "is not valid utf-8",
                    }
                ],
            )
        ],
        {"erase": {"phone": ["18038913590"], "expect": erased("18038913590", present=[], quarantine_left=1)}},
    ),
    "privacy_nested_cast_of_a_phone": (
        {
            **yaml.safe_load((HERE / "contracts" / "orders_csv.yml").read_text(encoding="utf-8")),
            "columns": {
                "订单编号": "order_id",
                "手机": {"name": "phone_text", "type": "string"},
                "实付金额": "amount",
                "下单时间": "ordered_at",
                "状态": {"name": "status_cn", "type": "string"},
            },
            "derived": {
                "phone": "'+86' || cast(cast(phone_text as bigint) as varchar)",
                "status": "case status_cn when '成功' then 'completed' else 'cancelled' end",
            },
        },
        "A CAST inside a CAST stayed strict: one formatted phone failed the whole source with the phone in the error"
        " (and so in Dagster's log). Now the row is quarantined like any cell that does not convert, and erased.",
        [
            (
                {
                    "o.csv": "订单编号,手机,实付金额,下单时间,状态\nA1,180-3891-3590,100.00,2024-03-05 14:22:01,成功\n"
                    "A3,13812345678,35,2024-03-07 10:00:00,成功\n"
                },
                [
                    ok(
                        "o.csv",
                        1,
                        quarantined={"parse_errors__to_be_null": 1},
                        reason="phone: CAST(phone_text AS BIGINT) of 180-3891-3590",
                    )
                ],
            )
        ],
        {"erase": {"phone": ["18038913590"], "expect": erased("180-3891-3590")}},
    ),
    "privacy_erased_twice": (
        "orders_csv",
        "Erasing a person already erased succeeded only by failing ('no customer or record matches'); now it"
        " succeeds and names the earlier erasure.",
        [({"o.csv": H + PERSON_EXT + R1}, [ok("o.csv", 1, quarantined={"phone__to_match_regex": 1})])],
        {
            "erase": {
                "phone": ["18038913590"],
                "twice": True,
                "expect": erased("180-3891-3590", message="Already erased"),
            }
        },
    ),
    "privacy_erase_killed_after_the_database_commit": (
        "orders_csv",
        "An erasure killed after its database commit left no suppression entry and no audit record, and a second"
        " erase found nobody. Now the journal and the suppression entry come first: the next erase finishes it.",
        [({"o.csv": H + PERSON_EXT + R1}, [ok("o.csv", 1, quarantined={"phone__to_match_regex": 1})])],
        {
            "erase": {
                "phone": ["18038913590"],
                "crash_after": "database",
                "expect": erased("180-3891-3590", message="Finished the interrupted erasure"),
            }
        },
    ),
    "privacy_erase_while_a_run_writes": (
        "orders_csv",
        "An erase did not take the run lock and ran in the middle of a run. Now it stops at once, naming the run.",
        [({"o.csv": H + PERSON_EXT + R1}, [ok("o.csv", 1, quarantined={"phone__to_match_regex": 1})])],
        {
            "erase": {
                "phone": ["18038913590"],
                "lock_held": True,
                "expect": {"exit": 1, "message": "is being written by another run", "quarantine_left": 1},
            }
        },
    ),
}


def _xlsx(kind: str, path: Path) -> None:
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"created": datetime(2024, 1, 1)})  # the same bytes on every build
    header = ["订单编号", "手机", "实付金额", "退款金额", "下单时间", "状态"]
    if kind == "two_sheets":
        ws = wb.add_worksheet("汇总")
        ws.write_row(0, 0, ["合计", 2])
        ws = wb.add_worksheet("明细")
        ws.write_row(0, 0, header)
        ws.write_row(1, 0, ["A1", "13812345678", 100, 0, "2024-03-05 14:22:01", "成功"])
        ws.write_row(2, 0, ["A2", "", 20.5, 0, "2024-03-06 09:00:00", "成功"])
    elif kind == "stray_cell":
        ws = wb.add_worksheet("明细")
        ws.write_row(0, 0, header)
        ws.write_row(1, 0, ["A1", "13812345678", 100, 0, "2024-03-05 14:22:01", "成功"])
        ws.write(1_048_575, 16_383, "x")
    elif kind == "merged_header":
        ws = wb.add_worksheet("明细")
        ws.write_row(0, 0, header[:2])
        ws.merge_range(0, 2, 0, 3, "实付金额")  # 退款金额 lost under the merge
        ws.write_row(0, 4, header[4:])
        ws.write_row(1, 0, ["A1", "13812345678", 100, 0, "2024-03-05 14:22:01", "成功"])
    elif kind == "blank_row":
        ws = wb.add_worksheet("明细")
        ws.write_row(0, 0, header)
        ws.write_row(1, 0, ["A1", "13812345678", 100, 0, "2024-03-05 14:22:01", "成功"])
        ws.write_row(3, 0, ["A2", "", 20.5, 0, "2024-03-06 09:00:00", "成功"])  # row 3 left blank
    elif kind == "merged_order_id":
        ws = wb.add_worksheet("明细")
        ws.write_row(0, 0, header)
        ws.merge_range(1, 0, 2, 0, "A1")  # one order id over the order's two lines
        ws.write_row(1, 1, ["13812345678", 100, 0, "2024-03-05 14:22:01", "成功"])
        ws.write_row(2, 1, ["13812345678", 20, 0, "2024-03-05 14:22:01", "成功"])
        ws.write_row(3, 0, ["A2", "", 35, 0, "2024-03-07 10:00:00", "成功"])
    elif kind in ("formulas", "formulas_calculated"):
        ws = wb.add_worksheet("明细")
        ws.write_row(0, 0, [*header, "备注"])
        ws.write_row(1, 0, ["A1", "13812345678"])
        ws.write_formula(1, 2, "=50*2", None, 100 if kind == "formulas_calculated" else 0)
        ws.write_row(1, 3, [0, "2024-03-05 14:22:01", "成功"])
        ws.write_row(2, 0, ["A2", ""])
        ws.write_formula(2, 2, "=1/0", None, "#DIV/0!")
        ws.write_row(2, 3, [0, "2024-03-06 09:00:00", "成功"])
        ws.write_row(3, 0, ["A3", "", 35, 0, "2024-03-07 10:00:00", "成功"])
        ws.write_row(4, 0, ["A4", "", 12, 0, "2024-03-08 10:00:00", "成功"])
        ws.write_formula(4, 6, '="note"', None, 0)  # a formula in a column the contract does not map
    wb.close()
    if kind == "formulas_calculated":  # as Excel saves it: the values are its results, nothing to calculate on load
        _rewrite_member(path, "xl/workbook.xml", lambda xml: xml.replace(b' fullCalcOnLoad="1"', b""))


def _rewrite_member(path: Path, member: str, change) -> None:
    import zipfile

    with zipfile.ZipFile(path) as book:
        parts = [(info, book.read(info.filename)) for info in book.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for info, data in parts:
            book.writestr(info, change(data) if info.filename == member else data)


def build() -> None:
    for folder in HERE.iterdir():
        if folder.is_dir() and (folder / "case.yml").exists():
            shutil.rmtree(folder)
    for name, (contract, description, steps, *extra) in CASES.items():
        folder = HERE / name
        folder.mkdir()
        if isinstance(contract, dict):  # a contract of the case's own
            (folder / "contract.yml").write_text(yaml.safe_dump(contract, allow_unicode=True), encoding="utf-8")
            contract = "own"
        plan = []
        for i, (files, expected) in enumerate(steps, start=1):
            step_files = {}
            for target, content in files.items():
                rel = f"step{i}/{target}"
                path = folder / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                if isinstance(content, str) and content.startswith("link:"):
                    step_files[target] = content  # the test makes the link: git would keep it as a file
                    continue
                if isinstance(content, str) and content.startswith("xlsx:"):
                    _xlsx(content.removeprefix("xlsx:"), path)
                elif isinstance(content, bytes):
                    path.write_bytes(content)
                else:
                    path.write_text(content, encoding="utf-8")
                step_files[target] = rel
            plan.append({"files": step_files, "expect": expected})
        case = {"description": description, "contract": contract, "steps": plan, **(extra[0] if extra else {})}
        (folder / "case.yml").write_text(yaml.safe_dump(case, allow_unicode=True, sort_keys=False), encoding="utf-8")
    print(f"{len(CASES)} cases")


if __name__ == "__main__":
    build()
