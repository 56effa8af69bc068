"""Regenerate the binary and encoding test fixtures in tests/data/.

Run: .venv/bin/python tests/data/make_test_files.py
PDFs are written with reportlab in invariant mode (no timestamps / random ids), so the
output is byte-for-byte reproducible; the generated files are committed.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

HERE = Path(__file__).resolve().parent

SAMPLE_PAGES = [
    ["Time Machine Manual", "Chapter one explains the dashboard and the date display."],
    ["Power requirements", "The flux capacitor needs 1.21 gigawatts to operate."],
    [],  # a blank page: no text layer on this page, must be skipped
    ["Safety", "Never exceed 88 miles per hour in a parking lot."],
]


def _pdf(pages: list[list[str]], title: str | None) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    # reportlab writes Title "untitled" unless told otherwise; "" leaves the title empty.
    pdf.setTitle(title or "")
    for lines in pages:
        y = 780
        for line in lines:
            pdf.drawString(72, y, line)
            y -= 20
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


# layout.pdf: prose wrapped by a typesetter, next to a table and a term list that must keep
# their lines. The line breaks are given, so that one of them falls inside "regu-lar".
JUSTIFIED_LINES = [
    "The lighthouse keepers of the northern coast kept a log of every ship that",
    "passed, and they wrote down the weather at regular hours with a regu-",
    "lar hand, so that the records could later be compared with the tide tables",
    "kept at the harbour office.",
]
RAGGED_TEXT = (
    "A second paragraph follows after a gap. Its lines are not justified, so they end at "
    "different places, yet each line was still broken by the typesetter because the next "
    "word did not fit, and its sentences belong together."
)
TABLE_ROWS = [("Lamp", "Oil", "Hours"), ("Lens", "Glass", "Fixed"), ("Bell", "Bronze", "Fog")]
TERM_ROWS = [
    ("keeper", "the person who tends the light during the night"),
    ("tender", "a small boat that brings fuel and food to the tower"),
    ("beacon", "any fixed signal that marks a danger for sailors"),
]
_LEFT, _WIDTH, _FONT, _SIZE, _LEADING = 72, 440, "Helvetica", 11, 14


def _ragged_lines(text: str) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and stringWidth(candidate, _FONT, _SIZE) <= _WIDTH:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines


def _layout_pdf() -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    pdf.setTitle("Layout")
    text = pdf.beginText(_LEFT, 780)
    text.setFont(_FONT, _SIZE)
    text.setLeading(_LEADING)
    for index, line in enumerate(JUSTIFIED_LINES):
        # Justified: the spaces of every line but the last stretch it to the full width.
        last = index == len(JUSTIFIED_LINES) - 1
        stretch = 0 if last else (_WIDTH - stringWidth(line, _FONT, _SIZE)) / line.count(" ")
        text.setWordSpace(stretch)
        text.textLine(line)
    text.setWordSpace(0)
    text.moveCursor(0, _LEADING)  # a blank line's worth of gap before the next paragraph
    for line in _ragged_lines(RAGGED_TEXT):
        text.textLine(line)
    pdf.drawText(text)
    y = 560
    for row in TABLE_ROWS:
        for column, cell in enumerate(row):
            pdf.setFont(_FONT, _SIZE)
            pdf.drawString(_LEFT + 90 * column, y, cell)
        y -= _LEADING
    y -= _LEADING
    for term, description in TERM_ROWS:
        pdf.drawString(_LEFT, y, term)
        pdf.drawString(_LEFT + 100, y, description)
        y -= _LEADING
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


# outline.pdf: bookmarks (title, level) starting on each page; page 1 comes before them all and
# page 4 starts no entry of its own.
OUTLINE_PAGES = [
    [],
    [("Getting started", 0)],
    [("Installing the lamp", 1)],
    [],
    [("Maintenance", 0), ("A long section title" + " that goes on and on" * 5, 1)],
]


def _outline_pdf() -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    pdf.setTitle("Outline")
    for number, entries in enumerate(OUTLINE_PAGES, start=1):
        pdf.drawString(72, 780, f"Text on page {number}.")
        for index, (title, level) in enumerate(entries):
            key = f"p{number}e{index}"
            pdf.bookmarkPage(key)
            pdf.addOutlineEntry(title, key, level=level)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _image_only_pdf() -> bytes:
    image = Image.new("RGB", (200, 60), "white")
    for x in range(20, 180):  # a dark bar: pixels only, no text layer
        for y in range(25, 35):
            image.putpixel((x, y), (0, 0, 0))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    pdf.drawImage(ImageReader(image), 72, 600, width=400, height=120)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _encrypted(data: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    # RC4-128: pypdf does it natively (AES would need the cryptography package).
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# Russian prose (our own words): enough letters for an encoding detector to be sure.
_RUSSIAN = (
    "Маяк на мысе зажигают каждый вечер. Смотритель поднимается по лестнице, "
    "проверяет лампу и записывает в журнал погоду, ветер и время.\n"
)


def _forgiven_text_files() -> dict[str, bytes]:
    """Files a forgiving parser reads with a warning: bad XML, odd or lying encodings."""
    return {
        # Line 4 holds a bare "&": not well-formed, recovered with a warning naming line 4.
        "bare_ampersand.xml": (
            b'<?xml version="1.0" encoding="UTF-8"?>\n<shop>\n  <item>Kettle</item>\n'
            b"  <item>Salt & pepper mill</item>\n  <item>Teapot</item>\n</shop>\n"
        ),
        # libxml2 has no codec named windows_1252; Python's does ("cp1252").
        "windows_1252.xml": (
            '<?xml version="1.0" encoding="windows_1252"?>\n<menu>\n'
            "  <dish>Cr\u00e8me br\u00fbl\u00e9e costs \u20ac5</dish>\n</menu>\n"
        ).encode("cp1252"),
        # Declares UTF-8 but was saved as windows-1251: the declaration is a lie.
        "declared_utf8_is_cp1251.xml": (
            '<?xml version="1.0" encoding="UTF-8"?>\n<log>\n  <entry>'
            + _RUSSIAN * 3
            + "</entry>\n</log>\n"
        ).encode("cp1251"),
        # Plain text in windows-1251 with no declaration at all: detected.
        "cp1251.txt": (_RUSSIAN * 4).encode("cp1251"),
        # An extensionless upstream changelog, as Debian packages ship them.
        "changelog": (
            "\nChanges with lamplighter 2.4.1                            03 Mar 2025\n\n"
            "    *) Bugfix: the lamp stayed lit after sunrise when the clock was set\n"
            "       to a time zone west of Greenwich.\n\n"
            "Changes with lamplighter 2.4.0                            14 Jan 2025\n\n"
            "    *) Feature: the \"dusk_offset\" directive.\n\n"
            "    *) Change: the log rotates weekly instead of daily.\n"
        ).encode("ascii"),
    }


def main() -> None:
    sample = _pdf(SAMPLE_PAGES, title="Time Machine Manual")
    files = {
        "sample.pdf": sample,
        "no_title.pdf": _pdf([["A page without a title in its metadata."]], title=None),
        "layout.pdf": _layout_pdf(),
        "outline.pdf": _outline_pdf(),
        "image_only.pdf": _image_only_pdf(),
        "truncated.pdf": sample[: len(sample) // 3],
        "encrypted_empty_password.pdf": _encrypted(sample, user_password=""),
        "encrypted_password.pdf": _encrypted(sample, user_password="s3cret"),
        # Latin-1/cp1252 HTML with no charset declaration: must fall back, not crash.
        "cp1252.html": (
            "<html><head><title>Caf\u00e9 menu</title></head><body>"
            "<h1>Caf\u00e9</h1><p>Cr\u00e8me br\u00fbl\u00e9e for \u20ac5</p></body></html>"
        ).encode("cp1252"),
        # UTF-8 page with one paragraph pasted in from a cp1252 editor.
        "mixed_encoding.html": (
            "<html><head><meta charset='utf-8'><title>Mixed</title></head><body><h1>Mixed</h1>"
            "<p>UTF-8 part: na\u00efve r\u00e9sum\u00e9</p>".encode()
            + "<p>cp1252 part: fa\u00e7ade \u201cquoted\u201d</p>".encode("cp1252")
            + b"</body></html>"
        ),
        "utf16_bom.json": '{"greeting": "h\u00e9llo w\u00f6rld"}'.encode("utf-16"),
        "latin1.json": '{"name": "Jos\u00e9"}'.encode("latin-1"),
        "binary_junk.txt": bytes(range(256)) * 4,
        "pdf_named.json": sample,
        **_forgiven_text_files(),
    }
    for file_name, content in files.items():
        (HERE / file_name).write_bytes(content)


if __name__ == "__main__":
    main()
