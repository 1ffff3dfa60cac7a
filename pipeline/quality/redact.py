"""Error messages without the cell values they quote, for the logs crmgrade erase cannot reach (Dagster's event
log and compute logs, the console). DuckDB and Polars name the value that failed ("Could not convert string
'180-3891-3590' to INT64", "failed ... for 1 out of 3 values: [\"180-3891-3590\"]"); what the reader needs is the
rule, column, file and row, which the message keeps."""

from __future__ import annotations

import re

HIDDEN = "…"
_PATTERNS = [
    # DuckDB: Could not convert string 'x' to INT64 / Could not cast value 'x' / Conversion Error: ... "x"
    (re.compile(r"((?:string|value|convert|cast)\s+)'(?:[^']|'')*'", re.IGNORECASE), rf"\1'{HIDDEN}'"),
    (re.compile(r'((?:string|value|convert|cast)\s+)"(?:[^"]|"")*"', re.IGNORECASE), rf'\1"{HIDDEN}"'),
    # Polars: ... values: ["x", "y"]  /  ... value: "x"
    (re.compile(r"(values?:\s*)\[[^\]]*\]", re.IGNORECASE), rf"\1[{HIDDEN}]"),
    (re.compile(r"(values?:\s*)(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')", re.IGNORECASE), rf'\1"{HIDDEN}"'),
    # anything shaped like an e-mail address or a phone number, wherever it stands
    (re.compile(r"[^\s\"'<>,;:()\[\]{}\\/|=]+@[^\s\"'<>,;:()\[\]{}\\/|]+\.[A-Za-z]{2,}"), HIDDEN),
    # (7+ digits, a + and a number, or 138-1234-5678; a date or a count with separators is none)
    (re.compile(r"(?<![\w.+\-])(?:\+\d[\d \-]{5,}\d|\d{7,}|\d{3,4}[ \-]\d{3,4}[ \-]\d{4})(?![\w.])"), HIDDEN),
]


def without_values(message: str) -> str:
    for pattern, replacement in _PATTERNS:
        message = pattern.sub(replacement, message)
    return message
