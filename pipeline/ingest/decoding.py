"""Text files in any encoding, made UTF-8 without losing a line to one bad byte.

A whole file is decoded in large chunks (fast). When a byte is not valid in the contract's encoding, the file
is decoded again line by line: each line that does not decode is left empty in the UTF-8 copy (so every other
line keeps its number) and returned with its line number, the reason and its text with the bad bytes escaped,
to be quarantined. A bad byte in the header (or the lines before it) leaves no columns to read: the file is
unreadable, and the error names the line and the byte.
"""

from __future__ import annotations

import codecs
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

CHUNK = 4 * 1024 * 1024
UTF8 = {"utf-8", "utf8", "utf_8", "utf-8-sig", "utf_8_sig"}
# GB18030 is a strict superset of GBK and GB2312: decoding with it accepts every valid GBK file.
_DECODE_AS = {"gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030"}


class UndecodableHeader(ValueError):
    """The header (or a line before it) is not valid in the file's encoding. The message names line and byte."""


@dataclass
class Decoded:
    path: Path  # UTF-8 text, one line for each line of the source (undecodable ones left empty)
    bad_lines: list[tuple[int, str, str]] = field(default_factory=list)  # (line, text escaped, reason)


def is_utf8(encoding: str) -> bool:
    return encoding.lower().replace("_", "-") in UTF8


def _codec(encoding: str) -> str:
    name = codecs.lookup(encoding).name
    return _DECODE_AS.get(name, name)


def _splits_on_newline(encoding: str) -> bool:
    """Whether a newline byte is always a line break (ASCII-compatible encodings; not UTF-16 or UTF-32)."""
    name = _codec(encoding)
    return "\n".encode(name) == b"\n" and not name.startswith(("utf-16", "utf-32"))


def _describe(encoding: str, line: int, offset: int, exc: UnicodeDecodeError) -> str:
    return f"line {line}: byte offset {offset} is not valid {encoding} ({exc.reason})"


def to_utf8(path: Path, encoding: str, workdir: Path, header_row: int) -> Decoded:
    """A UTF-8 copy of `path` in `workdir` (for UTF-8 files, the file itself when every line decodes)."""
    if is_utf8(encoding) and _decodes_whole(path, "utf-8"):
        return Decoded(path)
    out = Path(tempfile.mkstemp(suffix=".txt", dir=workdir)[1])
    if not is_utf8(encoding) and _transcode_whole(path, encoding, out):
        return Decoded(out)
    if not _splits_on_newline(encoding):
        # Lines cannot be told apart without decoding: the first bad byte leaves the file unreadable.
        line, offset, exc = _first_error(path, encoding)
        raise UndecodableHeader(_describe(encoding, line, offset, exc))
    return Decoded(out, _transcode_by_line(path, encoding, out, header_row))


def _decodes_whole(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(_codec(encoding))(errors="strict")
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _transcode_whole(path: Path, encoding: str, out: Path) -> bool:
    """Stream `path` to UTF-8 in `out`, one chunk in memory; False at the first byte that does not decode."""
    decoder = codecs.getincrementaldecoder(_codec(encoding))(errors="strict")
    with open(path, "rb") as src, open(out, "w", encoding="utf-8", newline="") as dst:
        try:
            while True:
                chunk = src.read(CHUNK)
                dst.write(decoder.decode(chunk, final=not chunk))
                if not chunk:
                    return True
        except UnicodeDecodeError:
            return False


def _first_error(path: Path, encoding: str) -> tuple[int, int, UnicodeDecodeError]:
    data = path.read_bytes()
    try:
        data.decode(_codec(encoding))
    except UnicodeDecodeError as exc:
        return data[: exc.start].count(b"\n") + 1, exc.start, exc
    raise AssertionError("no decoding error")  # pragma: no cover - only called after one


def _transcode_by_line(path: Path, encoding: str, out: Path, header_row: int) -> list[tuple[int, str, str]]:
    codec = _codec(encoding)
    bad: list[tuple[int, str, str]] = []
    offset = 0
    with open(path, "rb") as src, open(out, "w", encoding="utf-8", newline="") as dst:
        for number, raw in enumerate(src, start=1):
            try:
                text = raw.decode(codec)
            except UnicodeDecodeError as exc:
                where = _describe(encoding, number, offset + exc.start, exc)
                if number <= header_row:
                    raise UndecodableHeader(where) from None
                ending = "\r\n" if raw.endswith(b"\r\n") else "\n" if raw.endswith(b"\n") else ""
                escaped = raw.rstrip(b"\r\n").decode(codec, errors="backslashreplace")
                bad.append((number, escaped, where.split(": ", 1)[1]))
                text = ending  # the line stays, empty, so the lines after it keep their numbers
            if number == 1 and codec.startswith("utf-8") and text.startswith("\ufeff"):
                text = text[1:]
            dst.write(text)
            offset += len(raw)
    return bad


def unreadable_lines(path: Path, encoding: str, header_row: int) -> list[tuple[int, str]]:
    """The non-blank lines after the header of a file that could not be read, as text with bad bytes escaped:
    what is quarantined for it, so that every line read is accounted for."""
    codec = _codec(encoding) if _splits_on_newline(encoding) else "latin-1"
    lines = []
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if number > header_row and raw.strip():
                lines.append((number, raw.rstrip(b"\r\n").decode(codec, errors="backslashreplace")))
    return lines
