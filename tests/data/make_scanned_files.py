"""Write the scanned test files in tests/data/ (OCR, issue 19).

Run: .venv/bin/python tests/data/make_scanned_files.py
The pages are rasters as a scanner or a fax machine makes them, of text in our own words set
in reportlab's bundled Vera font: a grey scan with speckles, a slight skew and JPEG blocks;
a 1-bit CCITT Group 4 fax page at fax resolution; a JBIG2 page, on A4 and on a poster-sized
page; a page stored sideways and turned by the
PDF's /Rotate; a page scanned sideways with no /Rotate at all (only orientation detection
turns it); a born-digital page with a picture (its text layer is used, no OCR). Random noise
is seeded, so the files come out the same each run; the generated files are committed.
"""

from __future__ import annotations

import io
import random
import struct
from pathlib import Path

import reportlab
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

HERE = Path(__file__).resolve().parent
FONT = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"

# Our own words; each test looks for a few of them in the OCR text.
LEASE = [
    "RENTAL AGREEMENT - HARBOUR LIGHTS LTD",
    "",
    "The lease of the flat at 14 Quay Street begins on 1 March 2025",
    "and runs for twelve months. The monthly rent is 1,250 euros,",
    "payable on the first working day of each month by bank transfer.",
    "The tenant pays a deposit of 2,500 euros, which is returned within",
    "thirty days after the keys are handed back, less the cost of any",
    "repairs. Pets are allowed only with the landlord's written consent.",
]
FAX = [
    "FAX TRANSMISSION - NORDVIK MARINE SUPPLY",
    "",
    "Invoice number 4471 for the lighthouse lamp order.",
    "Twelve brass wick holders and four glass chimneys.",
    "Total due: 389.50 EUR, payment within fourteen days.",
]
MANUAL = [
    "LAMP ROOM MAINTENANCE - CHAPTER 2",
    "",
    "Clean the lens every morning with a soft linen cloth.",
    "Trim the wick before sunset and check the oil level.",
    "Replace the chimney glass when it shows any crack.",
]
PACKING = [
    "PACKING LIST - SKERRY LIGHT STATION",
    "",
    "Crate 7 holds the spare lens prisms, wrapped in felt.",
    "Crate 8 holds forty litres of lamp oil in sealed tins.",
]
SIDEWAYS = [
    "FOG SIGNAL LOG",
    "",
    "The foghorn sounded for six hours on the night of the storm.",
    "The keeper wound the clockwork twice before dawn.",
]
MIXED_TEXT = (
    "The keeper's cottage stands behind the tower. Its kitchen has a cast iron stove "
    "that heats the whole house in winter, and the photograph below shows the garden."
)
PICTURE_WORD = "ZEBRAFISH"  # drawn inside the picture: OCR of the mixed page would find it


def _text_image(lines: list[str], dpi: int, mode: str = "L") -> Image.Image:
    """The lines set in 11 pt type on a white strip of A4 width, at ``dpi``."""
    font = ImageFont.truetype(str(FONT), round(11 * dpi / 72))
    width, leading = round(8.27 * dpi), round(16 * dpi / 72)
    image = Image.new("L", (width, leading * (len(lines) + 2)), 255)
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines, start=1):
        draw.text((round(0.8 * dpi), row * leading), line, font=font, fill=0)
    return image if mode == "L" else image.convert(mode)


def _scanned(image: Image.Image, seed: int) -> Image.Image:
    """What a cheap office scanner makes of a page: skewed, soft, grey paper, speckled."""
    rng = random.Random(seed)
    image = image.rotate(0.8, resample=Image.BICUBIC, fillcolor=255, expand=False)
    image = image.filter(ImageFilter.GaussianBlur(0.8))
    paper = image.point(lambda v: 40 + v * 190 // 255)  # grey paper, toner not quite black
    pixels = paper.load()
    for _ in range(paper.width * paper.height // 400):  # dust and toner specks
        x, y = rng.randrange(paper.width), rng.randrange(paper.height)
        pixels[x, y] = rng.choice((30, 90, 250))
    return paper


def _jpeg(image: Image.Image, quality: int = 40) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _scan_pdf() -> bytes:
    """Three pages: born-digital text, a scanned page (JPEG), born-digital text again."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    pdf.setTitle("Lease file")
    pdf.drawString(72, 780, "Cover letter: the signed lease is enclosed on the next page.")
    pdf.drawString(72, 760, "Please keep this scan with the tenant's file.")
    pdf.showPage()
    scan = ImageReader(io.BytesIO(_jpeg(_scanned(_text_image(LEASE, 200), seed=1))))
    width, height = scan.getSize()
    pdf.drawImage(scan, 0, A4[1] - height * 72 / 200, width * 72 / 200, height * 72 / 200)
    pdf.showPage()
    pdf.drawString(72, 780, "Appendix: an inventory of the furniture follows by post.")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _raw_pdf(objects: list[bytes], page_count: int) -> bytes:
    """A PDF from numbered object bodies (1: catalog, 2: page tree, ...), with its xref."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    del page_count
    return bytes(out)


def _fax_pdf() -> bytes:
    """One A4 page holding a 1-bit CCITT Group 4 image at fax 'fine' resolution (204x196)."""
    image = _scanned(_text_image(FAX, 200), seed=2).point(lambda v: 255 if v > 140 else 0)
    image = image.resize((round(image.width * 204 / 200), round(image.height * 196 / 200)))
    image = image.convert("1", dither=Image.Dither.NONE)
    tiff = io.BytesIO()
    image.save(tiff, "TIFF", compression="group4", tiffinfo={278: image.height})
    decoded = Image.open(io.BytesIO(tiff.getvalue()))
    start, length = decoded.tag_v2[273][0], decoded.tag_v2[279][0]  # the one strip
    g4 = tiff.getvalue()[start : start + length]
    width_pt, height_pt = image.width * 72 / 204, image.height * 72 / 196
    content = b"q %.2f 0 0 %.2f 0 %.2f cm /Fax Do Q" % (width_pt, height_pt, A4[1] - height_pt)
    return _raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] "
        b"/Resources << /XObject << /Fax 4 0 R >> >> /Contents 5 0 R >>" % A4,
        # BlackIs1 true: Pillow's 1-bit TIFF codes its 0 bits (black) as the white runs.
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
        b"/BitsPerComponent 1 /Filter /CCITTFaxDecode /DecodeParms << /K -1 /Columns %d "
        b"/Rows %d /BlackIs1 true >> /Length %d >>\nstream\n" % (
            image.width, image.height, image.width, image.height, len(g4))
        + g4 + b"\nendstream",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ], 1)


def _jbig2_pdf() -> bytes:
    """A JBIG2 scan (a generic region, MMR-coded) at 200 dpi on an A4 page, and the same image
    at the top of a poster-sized A0 page (too many pixels at 300 dpi: read at 160)."""
    image = _scanned(_text_image(PACKING, 200), seed=8).point(lambda v: 255 if v > 140 else 0)
    # JBIG2 codes black as 1 bits; Pillow's G4 codes a 1-bit image's 0 bits (its black) as
    # the white runs, so the image is inverted first and its black is coded as black runs.
    inverted = ImageOps.invert(image).convert("1", dither=Image.Dither.NONE)
    tiff = io.BytesIO()
    inverted.save(tiff, "TIFF", compression="group4", tiffinfo={278: image.height})
    decoded = Image.open(io.BytesIO(tiff.getvalue()))
    start, length = decoded.tag_v2[273][0], decoded.tag_v2[279][0]
    mmr = tiff.getvalue()[start : start + length]
    width, height = image.size

    def segment(number: int, kind: int, data: bytes) -> bytes:
        # Segment header: number, type, no referred-to segments, page 1, data length.
        return struct.pack(">IBBBI", number, kind, 0, 1, len(data)) + data

    # A PDF's JBIG2 stream holds the page's segments without file header or end-of-page:
    # page information (48), then an immediate generic region (38) with MMR coding.
    page_info = struct.pack(">IIIIBH", width, height, 0, 0, 0, 0)
    region = struct.pack(">IIIIB", width, height, 0, 0, 0) + b"\x01" + mmr
    stream = segment(0, 48, page_info) + segment(1, 38, region)
    a0 = (2384.0, 3370.0)
    pages = []
    for box, scale in ((A4, 72 / 200), (a0, 72 / 200)):
        w, h = width * scale, height * scale
        pages.append((box, b"q %.2f 0 0 %.2f 0 %.2f cm /Scan Do Q" % (w, h, box[1] - h)))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [4 0 R 6 0 R] /Count 2 >>",
               b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
               b"/BitsPerComponent 1 /Filter /JBIG2Decode /Length %d >>\nstream\n"
               % (width, height, len(stream)) + stream + b"\nendstream"]
    for number, (box, content) in enumerate(pages):
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Resources "
                       b"<< /XObject << /Scan 3 0 R >> >> /Contents %d 0 R >>"
                       % (*box, 5 + 2 * number))
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content
                       + b"\nendstream")
    return _raw_pdf(objects, 2)


def _rotated_pdf() -> bytes:
    """Page 1 stored sideways and turned upright by /Rotate 90; page 2 scanned sideways with
    no /Rotate (upside down for a reader until orientation detection turns it)."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(A4[1], A4[0]), invariant=1)
    pdf.setTitle("Rotated scans")
    for lines, seed, rotate in ((MANUAL, 3, 90), (SIDEWAYS, 4, 0)):
        page = _scanned(_text_image(lines, 200), seed).rotate(90, expand=True)
        scan = ImageReader(io.BytesIO(_jpeg(page)))
        width, height = scan.getSize()
        pdf.setPageRotation(rotate)
        pdf.drawImage(scan, 0, 0, width * 72 / 200, height * 72 / 200)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _mixed_pdf() -> bytes:
    """A born-digital page with a picture: text layer and image, read without OCR."""
    picture = Image.new("L", (600, 300), 200)
    draw = ImageDraw.Draw(picture)
    draw.text((40, 120), PICTURE_WORD, font=ImageFont.truetype(str(FONT), 60), fill=0)
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    pdf.setTitle("Keeper's cottage")
    text = pdf.beginText(72, 780)
    for start in range(0, len(MIXED_TEXT), 80):
        text.textLine(MIXED_TEXT[start : start + 80])
    pdf.drawText(text)
    pdf.drawImage(ImageReader(picture), 72, 450, width=300, height=150)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _images() -> dict[str, bytes]:
    """The lease as a PNG scan, and the fax as a two-page Group 4 TIFF."""
    png = io.BytesIO()
    _scanned(_text_image(LEASE, 150), seed=5).save(png, "PNG", dpi=(150, 150), optimize=True)
    fax = _scanned(_text_image(FAX, 200), seed=6).point(lambda v: 255 if v > 140 else 0)
    manual = _scanned(_text_image(MANUAL, 200), seed=7).point(lambda v: 255 if v > 140 else 0)
    tiff = io.BytesIO()
    fax.convert("1").save(tiff, "TIFF", compression="group4", dpi=(200, 200), save_all=True,
                          append_images=[manual.convert("1")])
    return {"scan_lease.png": png.getvalue(), "fax_two_pages.tiff": tiff.getvalue()}


def main() -> None:
    files = {
        "scan_lease.pdf": _scan_pdf(),
        "scan_fax_g4.pdf": _fax_pdf(),
        "scan_jbig2.pdf": _jbig2_pdf(),
        "scan_rotated.pdf": _rotated_pdf(),
        "text_and_picture.pdf": _mixed_pdf(),
        **_images(),
    }
    for file_name, content in files.items():
        (HERE / file_name).write_bytes(content)


if __name__ == "__main__":
    main()
