"""CSV and TSV files: one record per row, its cells named by the header row.

Read as plain text, a table's chunks after the first hold rows of bare values
("19-Sep-03,29.76,29.97,...") with nothing saying which column is which, and the rows of one
chunk run together. As records, each row reads "Date: 19-Sep-03 · Open: 29.76 · ..." and is
identified like any JSON record (:func:`ingest.json_.identity_fields`: a name, id or code
column, else its first text cell); the chunker packs neighbouring rows without mixing them,
and a citation names the row's line.

The delimiter and quoting are sniffed from the start of the file (comma, semicolon, tab or
bar; tab for ``.tsv`` when sniffing fails). A file whose first row does not look like a header
(see :func:`_has_header`) is read as text, and its warning says so.
"""

from __future__ import annotations

import csv
import io

from ingest.errors import IngestError
from ingest.json_ import named_fields, record_metadata, render_record
from ingest.limits import Deadline, ParseLimits, check_size
from ingest.parsed import ParsedFile, display_stem, elide_middle, make_unit
from ingest.text import parse_text
from ingest.textcodec import decode_document

_SNIFF_CHARS = 64 * 1024
_DELIMITERS = ",;\t|"
_NO_ROWS = "no rows below the header row"


def _dialect(sample: str, name: str) -> type[csv.Dialect]:
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
    except csv.Error:
        return csv.excel_tab if name.lower().endswith(".tsv") else csv.excel


def _is_number(cell: str) -> bool:
    try:
        float(cell.replace(",", ""))
    except ValueError:
        return False
    return True


def _labels_over_numbers(rows: list[list[str]]) -> bool:
    """The first row is labels (distinct, none blank or a number) over a column that holds
    numbers in most rows below: "version,codename,release" over "10,buster,2019-07-06"."""
    if len(rows) < 2:
        return False
    header = [cell.strip() for cell in rows[0]]
    if not header or len(set(header)) < len(header) or \
            any(not cell or _is_number(cell) for cell in header):
        return False
    body = rows[1:]
    return any(sum(_is_number(row[i]) for row in body if i < len(row)) * 2 > len(body)
               for i in range(len(header)))


def _has_header(sample: str, dialect: type[csv.Dialect]) -> bool:
    """Whether the sample's first row names the columns: :meth:`csv.Sniffer.has_header` (its
    cells differ in type or length from the rows below) or :func:`_labels_over_numbers`."""
    try:
        if csv.Sniffer().has_header(sample):
            return True
    except csv.Error:
        pass
    rows = list(csv.reader(io.StringIO(sample, newline=""), dialect, strict=False))[:-1]
    return _labels_over_numbers(rows)  # the sample's last row may be cut


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
    sample = text[:_SNIFF_CHARS]
    dialect = _dialect(sample, name)
    if not _has_header(sample, dialect):
        parsed = parse_text(data, name, limits)
        note = "no header row found (its cells look like the rows below); read as text"
        return ParsedFile(format="text", title=parsed.title, units=parsed.units,
                          warnings=(*parsed.warnings, note))
    reader = csv.reader(io.StringIO(text, newline=""), dialect, strict=False)
    skipped = preamble.count("\n")  # lines above the header row
    units = [make_unit(preamble.strip(), "line 1", line=1)] if preamble.strip() else []
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
