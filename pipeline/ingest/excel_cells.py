"""What a worksheet's cells say that the Excel reader's values hide, read from the sheet's XML.

The reader (calamine, through fastexcel and Polars) gives a frame of values, and loses four things a person sees:
- the row numbers: it skips a blank row, so every row after it was numbered one too low;
- merged cells: a value merged down over three rows is in the first only, and the other two read as empty (an
  order id merged over an order's lines split the order into anonymous ones);
- formulas a program wrote without calculating them (the workbook asks Excel to calculate on opening,
  `fullCalcOnLoad`, or the cell has no value): their value is a placeholder, usually 0;
- error values (#DIV/0!, #N/A, #VALUE!): read as empty.
`scan_sheet` streams the sheet's XML once and returns them, so that the reader can number rows as Excel does,
fill merged cells down (or set their rows aside, as the contract says) and set aside the rows whose mapped cells
hold an uncalculated formula or an error, naming the cell.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from xml.etree import ElementTree

from pipeline.ingest.excel_bounds import _NS, _sheet_part, column_number, workbook_part

_REF = re.compile(r"([A-Z]{1,3})(\d+)")
_MAIN = _NS["m"]


@dataclass
class SheetCells:
    data_rows: list[int] = field(default_factory=list)  # Excel rows below the header holding a value, in order
    header_first_column: int = 1  # the column (1-based) of the header's first name
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # first row, first col, last row, last col
    uncalculated: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, col) -> the formula
    errors: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, col) -> '#DIV/0!'


def _cell(ref: str) -> tuple[int, int]:
    m = _REF.fullmatch(ref)
    return int(m.group(2)), column_number(m.group(1))


def _calculates_on_load(book: zipfile.ZipFile) -> bool:
    """Whether the workbook asks Excel to calculate every formula when opened: its cached values were never
    calculated (xlsxwriter, and most programs that write workbooks, write 0)."""
    calc = ElementTree.fromstring(book.read(workbook_part(book))).find("m:calcPr", _NS)
    return calc is not None and calc.get("fullCalcOnLoad") in ("1", "true")


def scan_sheet(path, sheet: str | None, header_row: int) -> SheetCells:
    out = SheetCells()
    with zipfile.ZipFile(path) as book:
        stale = _calculates_on_load(book)
        with book.open(_sheet_part(book, sheet)) as xml:
            for _, element in ElementTree.iterparse(xml):
                tag = element.tag.rpartition("}")[2]
                if tag == "row":
                    number = int(element.get("r") or 0)
                    filled = []
                    for c in element.findall(f"{{{_MAIN}}}c"):
                        value = c.find(f"{{{_MAIN}}}v")
                        inline = c.find(f"{{{_MAIN}}}is")
                        formula = c.find(f"{{{_MAIN}}}f")
                        has_value = (value is not None and value.text not in (None, "")) or inline is not None
                        ref = c.get("r")
                        if ref is None:
                            continue
                        row, col = _cell(ref)
                        if has_value:
                            filled.append(col)
                        if c.get("t") == "e" and value is not None:
                            out.errors[(row, col)] = value.text or "#ERROR"
                        elif formula is not None and (stale or not has_value):
                            out.uncalculated[(row, col)] = "=" + (formula.text or "")
                    if number == header_row and filled:
                        out.header_first_column = min(filled)
                    elif number > header_row and filled:
                        out.data_rows.append(number)
                    element.clear()
                elif tag == "mergeCell":
                    first, _, last = (element.get("ref") or "").partition(":")
                    if last:
                        (r1, c1), (r2, c2) = _cell(first), _cell(last)
                        out.merged.append((r1, c1, r2, c2))
    return out
