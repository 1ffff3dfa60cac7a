"""How large a worksheet is before the Excel reader sees it.

The reader (calamine, through fastexcel) allocates one cell for every position from A1 to the sheet's last
used cell: one stray cell at XFD1048576 makes it ask for 512 GiB and abort the whole process, which no
`except` can catch. So the sheet's XML is scanned first, as a stream: its declared `<dimension>` and every
cell and row reference it holds, and a sheet larger than MAX_CELLS is refused with the cell that makes it so.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from xml.etree import ElementTree

# About 32 bytes a cell in the reader: 25 million cells is under 1 GiB.
MAX_CELLS = 25_000_000
_CHUNK = 1 << 20
_CELL = re.compile(rb'<(?:\w+:)?c\b[^>]*?\sr="([A-Z]{1,3})(\d{1,7})"')
_ROW = re.compile(rb'<(?:\w+:)?row\b[^>]*?\sr="(\d{1,7})"')
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\b[^>]*?\sref="(?:[A-Z]{1,3}\d{1,7}:)?([A-Z]{1,3})(\d{1,7})"')
_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}


class SheetTooLarge(ValueError):
    """A worksheet whose used range is larger than the reader can hold."""


@dataclass(frozen=True)
class SheetExtent:
    rows: int
    columns: int
    last_cell: str  # the reference that reaches farthest, e.g. XFD1048576

    @property
    def cells(self) -> int:
        return self.rows * self.columns


def column_number(letters: bytes | str) -> int:
    """A -> 1, Z -> 26, AA -> 27, XFD -> 16384."""
    n = 0
    for ch in letters.decode() if isinstance(letters, bytes) else letters:
        n = n * 26 + ord(ch) - 64
    return n


def column_letters(n: int) -> str:
    """1 -> A, 26 -> Z, 27 -> AA, 16384 -> XFD."""
    letters = ""
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _relationships(book: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Id -> (type, target as a zip member) of a part's relationships."""
    where = PurePosixPath(part)
    rels = ElementTree.fromstring(book.read(str(where.parent / "_rels" / f"{where.name}.rels")))
    out = {}
    for r in rels.findall("rel:Relationship", _NS):
        target = r.get("Target") or ""
        member = target.lstrip("/") if target.startswith("/") else posixpath.normpath(str(where.parent / target))
        out[r.get("Id")] = (r.get("Type") or "", member)
    return out


def workbook_part(book: zipfile.ZipFile) -> str:
    """The zip member holding the workbook, found through the package's relationships."""
    return next(
        (t for kind, t in _relationships(book, "").values() if kind.endswith("/officeDocument")), "xl/workbook.xml"
    )


def _sheet_part(book: zipfile.ZipFile, sheet: str | None) -> str:
    """The zip member holding `sheet` (None: the first sheet), found through the package's relationships."""
    workbook_member = workbook_part(book)
    workbook = ElementTree.fromstring(book.read(workbook_member))
    sheets = workbook.findall("m:sheets/m:sheet", _NS)
    if not sheets:
        raise ValueError("the workbook lists no sheets")
    chosen = next((s for s in sheets if s.get("name") == sheet), None) if sheet is not None else sheets[0]
    if chosen is None:
        raise ValueError(f"no sheet {sheet!r}")
    target = _relationships(book, workbook_member).get(chosen.get(f"{{{_NS['r']}}}id"))
    if target is None:
        raise ValueError(f"sheet {chosen.get('name')!r} has no part in the workbook")
    return target[1]


def sheet_extent(path, sheet: str | None = None) -> SheetExtent:
    """The used range of a sheet from its XML, without building it: the farthest row and column referenced."""
    with zipfile.ZipFile(path) as book, book.open(_sheet_part(book, sheet)) as xml:
        max_row = max_col = 0
        tail = b""
        while chunk := xml.read(_CHUNK):
            text = tail + chunk
            # A reference split across two chunks is found whole in the next scan: keep the last bytes.
            for pattern in (_CELL, _DIMENSION):
                for m in pattern.finditer(text):
                    max_col = max(max_col, column_number(m.group(1)))
                    max_row = max(max_row, int(m.group(2)))
            for m in _ROW.finditer(text):
                max_row = max(max_row, int(m.group(1)))
            tail = text[-256:]
    return SheetExtent(max_row, max_col, f"{column_letters(max_col)}{max_row}")


def check_sheet_size(path, sheet: str | None = None, max_cells: int = MAX_CELLS) -> SheetExtent:
    """Raise SheetTooLarge, naming the farthest cell, when the sheet spans more than `max_cells` cells."""
    extent = sheet_extent(path, sheet)
    if extent.cells > max_cells:
        raise SheetTooLarge(
            f"the sheet's used range reaches {extent.last_cell} ({extent.rows:,} rows x {extent.columns:,} "
            f"columns = {extent.cells:,} cells, more than the {max_cells:,} that can be read safely): delete the "
            "stray cells beyond the data, or export the sheet as CSV"
        )
    return extent
