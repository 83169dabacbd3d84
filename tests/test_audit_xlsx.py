"""The streaming XLSX writer of the exports, read back with openpyxl: headers on every sheet, a new sheet
past the row limit, numbers and text kept apart, XML-unsafe text escaped or dropped, bytes leaving before
the last row is read."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from traceapp.audit import xlsx

HEADERS = [["批次码", "数量"], ["Batch code", "Quantity"]]


def read(data: bytes) -> dict[str, list[list]]:
    book = load_workbook(io.BytesIO(data), read_only=True)
    return {sheet.title: [list(r) for r in sheet.iter_rows(values_only=True)] for sheet in book.worksheets}


def test_rows_come_back_as_written_with_ints_as_numbers_and_text_as_text():
    rows = [("A<B&C>", "1250.500", 7), ("炎陵黄桃 “示范”", None, 0), ("x\x00y\x1fz", "", 12)]
    counter = [0]
    headers = [[*HEADERS[0], "账本序号"], [*HEADERS[1], "Ledger seq"]]
    sheets = read(b"".join(xlsx.xlsx_chunks(headers, rows, counter=counter)))
    assert list(sheets) == ["events"] and counter == [3]
    assert sheets["events"] == [*headers, ["A<B&C>", "1250.500", 7], ["炎陵黄桃 “示范”", None, 0], ["xyz", None, 12]]


def test_past_the_row_limit_rows_go_on_to_a_next_sheet_with_the_headers_again(monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_ROWS", 5)  # two header rows and three data rows a sheet
    rows = [(f"B{n}", str(n)) for n in range(8)]
    sheets = read(b"".join(xlsx.xlsx_chunks(HEADERS, rows)))
    assert list(sheets) == ["events", "events-2", "events-3"]
    assert all(sheet[:2] == HEADERS for sheet in sheets.values())
    assert [r[0] for sheet in sheets.values() for r in sheet[2:]] == [f"B{n}" for n in range(8)]


def test_no_rows_is_a_workbook_with_the_headers():
    assert read(b"".join(xlsx.xlsx_chunks(HEADERS, []))) == {"events": HEADERS}


def test_bytes_leave_before_the_last_row_is_read(monkeypatch):
    monkeypatch.setattr(xlsx, "FLUSH_ROWS", 10)
    read_so_far = []

    def rows():
        for n in range(100):
            read_so_far.append(n)
            yield (f"B{n}", str(n))

    chunks = xlsx.xlsx_chunks(HEADERS, rows())
    first = next(chunks)
    assert first.startswith(b"PK") and len(read_so_far) < 100
    rest = b"".join(chunks)
    assert len(read(first + rest)["events"]) == 102
