"""OCR quality on real pages (issue 19): `python -m bench.ocr_quality --realdocs DIR`.

1. Character error rate. Pages of real born-digital PDFs are rendered to images (pypdfium2,
   grayscale, at the OCR resolution) and read by the same OCR the ingest uses; the reference
   is the page's own text layer as our PDF parser extracts it. Both sides are NFKC-normalised
   (ligatures), quotes and dashes unified and whitespace collapsed. The edit distance is
   counted inside the differing stretches of a word alignment (difflib), which is at least
   the exact character edit distance: the CER reported can only be pessimistic.
2. Seconds per page: rendering plus Tesseract, on this machine.
3. Retrieval. Every realdocs PDF is copied with each page a question cites replaced by a scan
   of itself (rendered at 300 dpi, stored as a JPEG, no text layer); both sets of PDFs are
   ingested with the default settings into fresh in-memory indexes, and each PDF question
   (follow-ups carried as the eval does) is asked: a hit is a top-5 chunk from the question's
   file and page. The unscanned PDFs give the baseline.

Prints the tables and writes bench/results/<date>-ocr.json.
"""

from __future__ import annotations

import argparse
import difflib
import io
import json
import re
import tempfile
import time
import unicodedata
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium

RESULTS = Path(__file__).resolve().parent / "results"
# Born-digital body text: manuals set in one column (the refcard's three columns and the
# slides read in another order by any OCR, which says nothing of its character accuracy).
CER_PDFS = (
    "bash-doc/usr/share/doc/bash/bashref.pdf",
    "developers-reference/usr/share/developers-reference/developers-reference.pdf",
    "gnuplot-doc/usr/share/doc/gnuplot/gnuplot.pdf",
    "texlive-latex-recommended-doc/usr/share/doc/texlive-doc/latex/microtype/microtype.pdf",
)
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-",
                         "−": "-", "‐": "-"})
_SPACES = re.compile(r"\s+")
SCAN_DPI = 300
SCAN_JPEG_QUALITY = 75  # what an office scanner's default "text" setting writes


# -- character error rate --------------------------------------------------------------------
def normalise(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).translate(_QUOTES)).strip()


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def aligned_edit_distance(reference: str, hypothesis: str) -> int:
    """Edits turning ``hypothesis`` into ``reference``, counted inside the stretches a word
    alignment leaves unmatched (>= the exact edit distance; exact when words line up)."""
    ref, hyp = reference.split(" "), hypothesis.split(" ")
    matcher = difflib.SequenceMatcher(None, ref, hyp, autojunk=False)
    distance = 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            distance += levenshtein(" ".join(ref[i1:i2]), " ".join(hyp[j1:j2]))
    return distance


def sample_pages(page_count: int, per_pdf: int) -> list[int]:
    """``per_pdf`` page indexes spread over the middle of a document (no cover, no index)."""
    first, last = int(page_count * 0.15), int(page_count * 0.85)
    step = max(1, (last - first) // per_pdf)
    return list(range(first, last, step))[:per_pdf]


def measure_cer(documents: Path, per_pdf: int, dpi: int) -> dict[str, Any]:
    from ingest.limits import Deadline, ParseLimits
    from ingest.ocr import OcrOptions, ocr_image
    from ingest.pdf import _page_text

    options = OcrOptions(dpi=dpi)
    rows, seconds = [], []
    for name in CER_PDFS:
        document = pdfium.PdfDocument(documents / name)
        for index in sample_pages(len(document), per_pdf):
            reference = normalise(_page_text(document, index, name))
            if len(reference) < 200:
                continue  # a figure or a blank page: no body text to compare
            started = time.perf_counter()
            page = document[index]
            image = page.render(scale=dpi / 72, grayscale=True).to_pil()
            deadline = Deadline(name, ParseLimits(max_seconds=120))
            read = normalise(ocr_image(image, options, deadline, name, f"page {index + 1}", dpi))
            seconds.append(time.perf_counter() - started)
            errors = aligned_edit_distance(reference, read)
            rows.append({"pdf": Path(name).name, "page": index + 1, "chars": len(reference),
                         "errors": errors, "cer": errors / len(reference)})
            print(f"  {Path(name).name} page {index + 1}: CER {errors / len(reference):.3f} "
                  f"({seconds[-1]:.1f} s)", flush=True)
        document.close()
    by_pdf = {}
    for pdf in dict.fromkeys(r["pdf"] for r in rows):
        mine = [r for r in rows if r["pdf"] == pdf]
        by_pdf[pdf] = sum(r["errors"] for r in mine) / sum(r["chars"] for r in mine)
    chars = sum(r["chars"] for r in rows)
    return {"pages": rows, "cer": sum(r["errors"] for r in rows) / max(chars, 1),
            "cer_by_pdf": by_pdf, "seconds_per_page": sum(seconds) / max(len(seconds), 1),
            "dpi": dpi}


# -- retrieval with scanned pages ------------------------------------------------------------
def scanned_copy(source: Path, pages: set[int]) -> bytes:
    """``source`` with each 1-based page in ``pages`` replaced by a JPEG scan of itself."""
    document = pdfium.PdfDocument(source)
    for number in sorted(pages):
        index = number - 1
        page = document[index]
        width, height = page.get_size()
        image = page.render(scale=SCAN_DPI / 72, grayscale=True).to_pil()
        page.close()
        jpeg = io.BytesIO()
        image.save(jpeg, "JPEG", quality=SCAN_JPEG_QUALITY)
        jpeg.seek(0)
        document.del_page(index)
        scan_page = document.new_page(width, height, index=index)
        scan = pdfium.PdfImage.new(document)
        scan.load_jpeg(jpeg, inline=False)
        scan.set_matrix(pdfium.PdfMatrix().scale(width, height))
        scan_page.insert_obj(scan)
        scan_page.gen_content()
        scan_page.close()
    out = io.BytesIO()
    document.save(out)
    document.close()
    return out.getvalue()


def build_folder(documents: Path, target: Path, files: Sequence[str],
                 scanned: dict[str, set[int]] | None) -> None:
    for name in files:
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = scanned_copy(documents / name, scanned[name]) if scanned and name in scanned \
            else (documents / name).read_bytes()
        path.write_bytes(data)


def measure_retrieval(realdocs: Path, work: Path, scanned: bool) -> dict[str, Any]:
    from rag.eval.realdocs import answerable, load_realdocs, query_text
    from rag.retrieval.modes import retrieve
    from rag.settings import Settings, StoreSettings
    from rag.store.index import DocumentIndex

    corpus = load_realdocs(realdocs)
    items = [i for i in answerable(corpus.items) if i.format == "pdf"]
    by_id = corpus.by_id()
    files = sorted({p.relative_to(corpus.documents).as_posix()
                    for p in corpus.documents.rglob("*.pdf")})
    pages: dict[str, set[int]] = {}
    for item in items:
        pages.setdefault(item.places[0].file, set()).add(int(item.places[0].locator["page"]))
    folder = work / ("scanned" if scanned else "original")
    build_folder(corpus.documents, folder, files, pages if scanned else None)
    settings = Settings(store=StoreSettings(mode="memory", collection=f"o{uuid.uuid4().hex[:10]}"))
    index = DocumentIndex(settings)
    started = time.perf_counter()
    report = index.ingest_paths([folder])
    ingest_seconds = time.perf_counter() - started
    rows = []
    for item in items:
        gold = item.places[0]
        chunks = retrieve(index, query_text(item, by_id), k=5, settings=settings)
        ranks = [rank for rank, c in enumerate(chunks, start=1)
                 if str(c.doc.metadata.get("source", "")).endswith(gold.file)
                 and c.doc.metadata.get("page") == gold.locator["page"]]
        rows.append({"id": item.id, "page": gold.locator["page"],
                     "rank": ranks[0] if ranks else None,
                     "ocr": bool(ranks) and bool(chunks[ranks[0] - 1].doc.metadata.get("ocr"))})
    index.drop()
    found = sum(1 for r in rows if r["rank"] is not None)
    return {"scanned": scanned, "questions": len(rows), "found_top5": found,
            "recall_at_5": found / max(len(rows), 1), "pages_replaced": sum(map(len,
            pages.values())) if scanned else 0, "ocr_pages": report.ocr_pages,
            "failed": [f.reason for f in report.failures], "ingest_seconds": ingest_seconds,
            "rows": rows}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realdocs", type=Path, default=Path("../shared/realdocs"))
    parser.add_argument("--pages-per-pdf", type=int, default=5)
    parser.add_argument("--dpi", type=int, default=300)
    parser.add_argument("--skip-retrieval", action="store_true")
    args = parser.parse_args(argv)
    started = datetime.now()
    print("Character error rate (rendered born-digital pages vs their text layer)", flush=True)
    result: dict[str, Any] = {"started": started.isoformat(timespec="seconds"),
                              "cer": measure_cer(args.realdocs / "documents",
                                                 args.pages_per_pdf, args.dpi)}
    cer = result["cer"]
    print(f"CER {cer['cer']:.4f} over {len(cer['pages'])} pages, "
          f"{cer['seconds_per_page']:.2f} s/page at {args.dpi} dpi; by PDF: "
          + ", ".join(f"{pdf} {value:.4f}" for pdf, value in cer["cer_by_pdf"].items()),
          flush=True)
    if not args.skip_retrieval:
        with tempfile.TemporaryDirectory() as work:
            for scanned in (False, True):
                run = measure_retrieval(args.realdocs, Path(work), scanned)
                result["scanned" if scanned else "original"] = run
                print(f"{'scanned' if scanned else 'original'}: R@5 {run['recall_at_5']:.3f} "
                      f"({run['found_top5']}/{run['questions']}), {run['ocr_pages']} pages "
                      f"OCR'd, ingest {run['ingest_seconds']:.0f} s", flush=True)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{started:%Y-%m-%d}-ocr.json"
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
