"""A person's identifiers found in free text however they were written: the quarantined line as read, a
validation page, a report. Cleaning writes a phone as E.164 and an e-mail in lower case; a file that failed
cleaning holds them as typed ('180-3891-3590 转 8001', '18038913590/13900000000', '(010) 6552 9988', 'Zhang@X.cn'),
or as UTF-16 bytes read as UTF-8 (a NUL between characters).

`Needles` holds what to look for; `spans` finds where each stands in a text, as a whole token, so that
13812345678 inside 8613812345678999 (another number) is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

# A run of digits with the separators people type inside one number (space, dash, dot, brackets); a slash, a
# comma or '转' (extension) ends it. Several numbers in one run ('138 1234 5678 139 ...') are told apart by
# trying each sequence of its digit groups.
_RUN = re.compile(r"\+?\d(?:[\d \u00a0\-.()（）]*\d)?")
_GROUP = re.compile(r"\d+")
_EMAIL = re.compile(r"[^\s\"'<>,;:()\[\]{}\\/|]+@[^\s\"'<>,;:()\[\]{}\\/|]+")
_WORD = re.compile(r"[0-9A-Za-z]")


def phone_forms(e164: str) -> set[str]:
    """The digit strings a phone is written as: national number, with a trunk 0, with its country code, with 00."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return {re.sub(r"\D", "", e164)} if "*" not in e164 else set()
    national = phonenumbers.national_significant_number(number)
    code = str(number.country_code)
    return {national, "0" + national, code + national, "00" + code + national}


@dataclass(frozen=True)
class Needles:
    """What to find: phones (as digit forms), e-mails (case-insensitive) and other values (as written)."""

    phone_digits: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    tokens: tuple[str, ...] = ()

    @classmethod
    def of(cls, phones: list[str], emails: list[str], tokens: list[str]) -> Needles:
        digits = frozenset(d for p in phones for d in phone_forms(p))
        # longest first, so that a value inside a longer one (a name in a company name) does not split it
        ordered = tuple(sorted({t for t in tokens if t}, key=lambda t: (-len(t), t)))
        return cls(digits, frozenset(e.strip().lower() for e in emails if e.strip()), ordered)

    def __bool__(self) -> bool:
        return bool(self.phone_digits or self.emails or self.tokens)

    def markers(self) -> list[str]:
        """Substrings one of which a text holding a needle must contain once NULs are dropped (for a SQL prefilter:
        digits are compared with every non-digit removed)."""
        return sorted({*self.emails, *self.tokens})

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where the needles stand in `text`, as (start, end), without overlaps."""
        found: list[tuple[int, int]] = []
        if self.phone_digits:
            found += _phone_spans(text, self.phone_digits)
        if self.emails:
            found += [m.span() for m in _EMAIL.finditer(text) if m.group().lower() in self.emails]
        for token in self.tokens:
            found += _token_spans(text, token)
        return _without_overlaps(found)

    def found_in(self, text: str) -> bool:
        return bool(self.spans(text.replace("\x00", "")))

    def replace(self, text: str, by: str) -> str:
        """`text` with every needle replaced by `by`. A UTF-16 line read as UTF-8 is searched without its NULs and,
        when it holds a needle, kept without them."""
        if "\x00" in text:
            plain = text.replace("\x00", "")
            return self.replace(plain, by) if self.spans(plain) else text
        out, last = [], 0
        for start, end in self.spans(text):
            out += [text[last:start], by]
            last = end
        return "".join(out) + text[last:]


def _phone_spans(text: str, forms: frozenset[str]) -> list[tuple[int, int]]:
    longest = max(map(len, forms))
    spans = []
    for run in _RUN.finditer(text):
        groups = list(_GROUP.finditer(run.group()))
        i = 0
        while i < len(groups):
            digits, best = "", None
            for j in range(i, len(groups)):
                digits += groups[j].group()
                if len(digits) > longest:
                    break
                if digits in forms:
                    best = j
            if best is None:
                i += 1
                continue
            start = run.start() + groups[i].start()
            if start > 0 and text[start - 1] == "+":
                start -= 1
            spans.append((start, run.start() + groups[best].end()))
            i = best + 1
    return spans


def _token_spans(text: str, token: str) -> list[tuple[int, int]]:
    """A value where it stands as a whole token: not inside a longer run of letters or digits (a Chinese name is
    a token of its own characters)."""
    head = r"(?<![0-9A-Za-z])" if _WORD.match(token[0]) else ""
    tail = r"(?![0-9A-Za-z])" if _WORD.match(token[-1]) else ""
    return [m.span() for m in re.finditer(f"{head}{re.escape(token)}{tail}", text)]


def _without_overlaps(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    kept: list[tuple[int, int]] = []
    for start, end in sorted(spans, key=lambda s: (s[0], -s[1])):
        if kept and start < kept[-1][1]:
            continue
        kept.append((start, end))
    return kept
