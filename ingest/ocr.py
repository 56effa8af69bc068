"""OCR with Tesseract: the text of a page image, for scans and image uploads.

Tesseract runs as a child process of the parser worker (Debian's ``tesseract-ocr``, installed
by ``make ocr-deps``), fed the image on stdin, so its memory counts against the worker's cap
(``RLIMIT_AS`` is inherited) and its time against the file's deadline: each call gets the
time the file has left and is killed when it overruns. Each page read earns the file
``ParseLimits.ocr_seconds_per_page`` more (up to ``max_ocr_seconds``), so a long scan is not
held to the time limit of any file. The worker leads its own process
group, which :mod:`ingest.isolation` kills as a whole, so a worker stopped mid-page leaves no
Tesseract behind.

One OpenMP thread per call: two parse workers already share the 2 cores here, and with two
threads a page took 35 s instead of 2.3 s (threads spinning against each other and the other
worker).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from ingest.errors import IngestError

if TYPE_CHECKING:
    from PIL import Image

    from ingest.limits import Deadline, ParseLimits

# A page is read at this many pixels at most (a poster at 300 dpi would be ~1e9): larger pages
# are read at a lower resolution. 40 M pixels is an A2 page at 300 dpi.
MAX_OCR_PIXELS = 40_000_000
_ORIENTATION = "osd"  # Tesseract's orientation and script data: rotated scans read upright
_HYPHEN_BREAK = re.compile(r"(?<=[a-z])-\n(?=[a-z])")
_LINE_BREAK = re.compile(r"(?<!\n)\n(?!\n)")
_INSTALL_HINT = "`make ocr-deps` installs it (Debian package tesseract-ocr)"


@dataclass(frozen=True)
class OcrOptions:
    """How to OCR: Tesseract language names ("eng", "deu"...) and the resolution pages are
    rendered at. Built by ``rag`` from ``IngestSettings``; ingest never reads settings."""

    languages: tuple[str, ...] = ("eng",)
    dpi: int = 300

    def signature(self) -> str:
        """What changes OCR output: a document OCR'd under another signature is read again."""
        return f"tesseract|{'+'.join(self.languages)}|{self.dpi}"


@dataclass(frozen=True)
class OcrPage:
    """Progress of one file's OCR, sent after each page: ``done`` of ``total`` pages;
    ``read`` when Tesseract read it (a blank page is not sent to it), which earns the file its
    time allowance, in the worker and in :mod:`ingest.isolation` alike."""

    file: str
    page: int
    done: int
    total: int
    seconds: float
    read: bool = True

    def describe(self) -> str:
        return (f"OCR {self.file} page {self.page} ({self.done}/{self.total} pages without "
                f"text, {self.seconds:.1f} s)")


OcrProgress = Callable[[OcrPage], None]


@dataclass
class OcrRun:
    """One file's OCR: the options, a progress sink, and the count of pages OCR'd."""

    options: OcrOptions
    progress: OcrProgress | None = None
    pages: int = 0

    def unavailable(self) -> str:
        """Why OCR cannot run here ("" when it can): Tesseract or a language is missing."""
        return unavailable_reason(self.options)

    def report(self, page: OcrPage, deadline: Deadline) -> None:
        """One page done; a page Tesseract read counts and moves the file's deadline on."""
        if page.read:
            self.pages += 1
            deadline.ocr_page_read()
        if self.progress is not None:
            self.progress(page)


@lru_cache(maxsize=1)
def installed_languages() -> frozenset[str] | None:
    """Tesseract's installed language data; None when Tesseract itself is missing."""
    if shutil.which("tesseract") is None:
        return None
    try:
        listing = subprocess.run(["tesseract", "--list-langs"], capture_output=True,
                                 timeout=30, check=True, env=_environment()).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    lines = listing.decode("utf-8", "replace").splitlines()
    return frozenset(line.strip() for line in lines[1:] if line.strip())  # after the heading


def unavailable_reason(options: OcrOptions) -> str:
    """Why OCR cannot run with these options ("" when it can), with how to fix it."""
    languages = installed_languages()
    if languages is None:
        return f"OCR needs Tesseract, which is not installed; {_INSTALL_HINT}"
    missing = [lang for lang in options.languages if lang not in languages]
    if missing:
        wanted = " ".join(options.languages)
        return (f"OCR language data not installed: {', '.join(missing)} (installed: "
                f"{', '.join(sorted(languages - {_ORIENTATION})) or 'none'}); "
                f"`make ocr-deps OCR_LANGS=\"{wanted}\"` installs it")
    return ""


def ocr_image(image: Image.Image, options: OcrOptions, deadline: Deadline, name: str,
              what: str, dpi: int | None = None) -> str:
    """The text Tesseract reads in ``image`` (``what`` names the page in messages); ``dpi``
    is the image's resolution when known (Tesseract sizes its text expectations by it).

    Raises :class:`IngestError` when the file's time runs out during the call (Tesseract is
    killed) or when Tesseract fails.
    """
    if not deadline.remaining():
        raise out_of_time(name, deadline, f"OCR of {what} was not started")
    image, dpi = _within_pixel_cap(image, dpi)
    buffer = io.BytesIO()
    # Uncompressed PNM: no compression to do here nor to undo in Tesseract.
    image.convert("L" if image.mode not in ("1", "L") else image.mode).save(buffer, "PPM")
    # psm 1: page segmentation after orientation detection, so a page scanned sideways or
    # upside down reads upright (0.3 s more a page); psm 3 without the orientation data.
    layout = "1" if _ORIENTATION in (installed_languages() or ()) else "3"
    command = ["tesseract", "stdin", "stdout", "-l", "+".join(options.languages),
               "--psm", layout, *(["--dpi", str(dpi)] if dpi else [])]
    try:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=_environment())
    except OSError as exc:
        raise IngestError(name, f"OCR could not start Tesseract: {exc}; {_INSTALL_HINT}") from exc
    try:
        out, err = process.communicate(buffer.getvalue(), timeout=deadline.remaining())
    except subprocess.TimeoutExpired as exc:
        process.kill()
        process.communicate()
        raise out_of_time(name, deadline, f"OCR of {what} was stopped") from exc
    finally:
        if process.poll() is None:  # an exception of ours mid-call: no Tesseract outlives it
            process.kill()
            process.wait()
    if process.returncode != 0:
        detail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        raise IngestError(name, f"OCR of {what} failed: Tesseract exited with code "
                                f"{process.returncode} ({detail[0]})")
    return reflow(out.decode("utf-8", "replace"))


def out_of_time(name: str, deadline: Deadline, what: str) -> IngestError:
    """The time limit's message, saying what OCR had done and which setting lets it through."""
    return IngestError(name, f"{deadline.reason()} ({what}; "
                             f"{time_hint(deadline.limits, deadline.ocr_pages)})")


def time_hint(limits: ParseLimits, ocr_pages: int) -> str:
    """Which setting a scan that ran out of time after ``ocr_pages`` pages needs raised."""
    if not ocr_pages:
        return ("the first page read by OCR must fit in RAG_INGEST__MAX_SECONDS_PER_FILE, each "
                "page read then adds RAG_INGEST__OCR_SECONDS_PER_PAGE: a page this slow needs "
                "a higher RAG_INGEST__MAX_SECONDS_PER_FILE")
    if limits.seconds_allowed(ocr_pages) >= limits.ocr_ceiling():
        return ("RAG_INGEST__MAX_OCR_SECONDS_PER_FILE caps a file's time however many pages "
                "OCR reads: a scan this long needs a higher one")
    return (f"each page read by OCR adds RAG_INGEST__OCR_SECONDS_PER_PAGE "
            f"({limits.ocr_seconds_per_page:g} s) to the limit: pages this slow need a higher one")


def reflow(text: str) -> str:
    """Tesseract's lines of a paragraph joined (paragraphs stay apart by a blank line), and
    words it hyphenated at a line end made whole, so that sentences survive chunking."""
    text = text.replace("\f", "\n\n")
    text = _HYPHEN_BREAK.sub("", text)
    return _LINE_BREAK.sub(" ", text)


def is_blank(image: Image.Image) -> bool:
    """Nothing drawn: no page worth an OCR call (an empty page of a scan, a blank back)."""
    darkest, _ = image.convert("L").getextrema()
    return darkest > 200


def _within_pixel_cap(image: Image.Image, dpi: int | None) -> tuple[Image.Image, int | None]:
    pixels = image.width * image.height
    if pixels <= MAX_OCR_PIXELS:
        return image, dpi
    scale = (MAX_OCR_PIXELS / pixels) ** 0.5
    size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
    return image.resize(size), int(dpi * scale) if dpi else None


def _environment() -> dict[str, str]:
    # The worker's own environment is already minimal; OMP_THREAD_LIMIT: see the module doc.
    return {**os.environ, "OMP_THREAD_LIMIT": "1"}


def timed() -> Callable[[], float]:
    """A stopwatch: call the result for the seconds since."""
    start = time.perf_counter()
    return lambda: time.perf_counter() - start
