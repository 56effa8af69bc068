"""CSV and TSV files: one record per row, its cells named by the header row.

Read as plain text, a table's chunks after the first hold rows of bare values
("19-Sep-03,29.76,29.97,...") with nothing saying which column is which, and the rows of one
chunk run together. As records, each row reads "Date: 19-Sep-03 · Open: 29.76 · ..." and is
identified like any JSON record (:func:`ingest.json_.identity_fields`: a name, id or code
column, else its first text cell); the chunker packs neighbouring rows without mixing them,
and a citation names the row's line.

The delimiter is found from the first rows (comma, semicolon, tab or bar; see
:func:`_delimiter`). A file whose first row does not look like a header (see
:func:`_has_header`) is read as text, and its warning says so.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from itertools import islice

from ingest.errors import IngestError
from ingest.json_ import named_fields, record_metadata, render_record
from ingest.limits import Deadline, ParseLimits, check_size
from ingest.parsed import ParsedFile, display_stem, elide_middle, make_unit
from ingest.text import parse_text
from ingest.textcodec import decode_document

_SAMPLE_ROWS = 50
_DELIMITERS = ",;\t|"
_NO_ROWS = "no rows below the header row"


def _rows(text: str, delimiter: str, limit: int = _SAMPLE_ROWS) -> list[list[str]]:
    """The first ``limit`` rows of ``text`` split at ``delimiter`` (the csv module's reader:
    one pass, whatever the quotes)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    return list(islice(reader, limit))


def _delimiter(text: str, name: str) -> str:
    """The delimiter that splits the first rows into the same number of cells (two or more)
    most often: comma, semicolon, tab or bar; tab for a ``.tsv`` on a tie or when none does.
    (Not :class:`csv.Sniffer`: its patterns take tens of seconds on 64 KB of quotes and
    commas.)"""
    order = "\t,;|" if name.lower().endswith(".tsv") else _DELIMITERS
    best, best_rows = order[0], 0
    for delimiter in order:
        widths = Counter(len(row) for row in _rows(text, delimiter) if row)
        width, count = widths.most_common(1)[0] if widths else (0, 0)
        if width >= 2 and count > best_rows:
            best, best_rows = delimiter, count
    return best


def _is_number(cell: str) -> bool:
    try:
        float(cell.replace(",", ""))
    except ValueError:
        return False
    return True


def _has_header(rows: list[list[str]]) -> bool:
    """Whether the first row names the columns: its cells are labels (distinct, none blank or
    a number) and the rows below either hold numbers in some column ("version,codename" over
    "10,buster") or never repeat a label in its own column (a data row's values recur)."""
    if len(rows) < 2:
        return False
    header = [cell.strip() for cell in rows[0]]
    if not header or len(set(header)) < len(header) or \
            any(not cell or _is_number(cell) for cell in header):
        return False
    body = rows[1:]
    numbers = any(sum(_is_number(row[i]) for row in body if i < len(row)) * 2 > len(body)
                  for i in range(len(header)))
    recurs = any(i < len(row) and row[i].strip() == label
                 for row in body for i, label in enumerate(header))
    return numbers or not recurs


def _column_names(header: list[str]) -> list[str]:
    """The header's cells, blank or repeated ones numbered ("column 3", "Price (2)")."""
    names: list[str] = []
    for index, cell in enumerate(header, start=1):
        name = " ".join(cell.split()) or f"column {index}"
        names.append(name if name not in names else f"{name} ({index})")
    return names


def _split_comments(text: str) -> tuple[str, str]:
    """The comment lines ("# Data source: ...") and blank lines above the header row, and the
    rest of the text."""
    at = 0
    while at < len(text):
        end = text.find("\n", at)
        end = len(text) if end == -1 else end + 1
        line = text[at:end].strip()
        if line and not line.startswith("#"):
            break
        at = end
    return text[:at], text[at:]


def parse_csv(data: bytes, name: str, limits: ParseLimits) -> ParsedFile:
    """Units: one per data row; locator "line N" (the file line the row starts on), ``line``,
    and the record keys of :func:`ingest.json_.record_metadata` (pointer "/<row index>")."""
    check_size(len(data), name, limits)
    deadline = Deadline(name, limits, len(data))
    decoded = decode_document(data, name)
    preamble, text = _split_comments(decoded.text)
    try:
        delimiter = _delimiter(text, name)
        header_row = _has_header(_rows(text, delimiter))
    except csv.Error as exc:  # a field over the csv module's size limit, in the first rows
        raise IngestError(name, f"CSV error in its first {_SAMPLE_ROWS} rows: {exc}") from exc
    if not header_row:
        parsed = parse_text(data, name, limits)
        note = "no header row found (its cells look like the rows below); read as text"
        return ParsedFile(format="text", title=parsed.title, units=parsed.units,
                          warnings=(*parsed.warnings, note))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    skipped = preamble.count("\n")  # lines above the header row
    units = []
    if preamble.strip():
        first = preamble.count("\n", 0, len(preamble) - len(preamble.lstrip())) + 1
        units.append(make_unit(preamble.strip(), f"line {first}", line=first))
    try:
        header = next(reader, [])
        names = _column_names(header)
        line = skipped + reader.line_num + 1
        for index, row in enumerate(reader):
            if index % 1000 == 0:
                deadline.check(units)
            cells = {(names[i] if i < len(names) else f"column {i + 1}"): " ".join(cell.split())
                     for i, cell in enumerate(row)}
            record = {key: value for key, value in cells.items() if value}
            if record:
                pointer = f"/{index}"
                meta = record_metadata(pointer, record, ())
                # A row is identified by its name-like cells (a name, id or code column), else
                # by its first cell (a date, a number), as a table's first column names a row.
                meta["record"] = elide_middle(" · ".join(named_fields(record)) or render_record(
                    dict([next(iter(record.items()))])))
                units.append(make_unit(render_record(record), f"line {line}", pointer=pointer,
                                       line=line, **meta))
            line = skipped + reader.line_num + 1
    except csv.Error as exc:  # a field over the csv module's size limit, a NUL byte
        raise IngestError(name, f"CSV error on line {reader.line_num}: {exc}") from exc
    if not units:
        raise IngestError(name, _NO_ROWS)
    return ParsedFile(format="csv", title=display_stem(name), units=units,
                      warnings=decoded.warnings)
