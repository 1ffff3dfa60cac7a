"""What a customer key looks like (C and 10 digits): issued by keys.py, checked where a person names one
(crmgrade.yml never_link, `crmgrade identity unmerge`). Imports nothing heavy: reading crmgrade.yml needs it."""

from __future__ import annotations

import re

KEY_PREFIX = "C"
KEY_DIGITS = 10
_KEY = re.compile(rf"{KEY_PREFIX}\d{{{KEY_DIGITS}}}")


def format_key(number: int) -> str:
    return f"{KEY_PREFIX}{number:0{KEY_DIGITS}d}"


def is_customer_key(text: str) -> bool:
    """Whether `text` is a key format_key could issue."""
    return _KEY.fullmatch(text) is not None
