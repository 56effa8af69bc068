"""A deterministic corpus of real-looking documents in every supported format.

The same seed always gives the same bytes (PDFs are written with reportlab's ``invariant`` mode,
so no timestamps or random ids), which lets the benchmark compare runs and keep one cached copy
per size in ``bench/corpus-cache/<size>/``. Files are written one at a time: nothing holds the
whole corpus in memory, so the 100k-chunk size is as cheap in RAM as the 1k one.

The text is built from a fixed vocabulary of product, policy and operations prose with made-up
names and numbers, so chunks differ from one another (retrieval has something to rank) and each
format carries its usual structure: PDF pages, HTML sections with tables, JSON record arrays, XML
catalogues and Markdown sections.
"""

from __future__ import annotations

import html
import json
import math
import random
import shutil
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

# Named sizes → target number of chunks under the app's default chunking (256 tokens).
SIZES: dict[str, int] = {"tiny": 60, "1k": 1_000, "10k": 10_000, "100k": 100_000}
DEFAULT_CACHE = Path(__file__).resolve().parent / "corpus-cache"
MANIFEST = "manifest.json"
# Bump when the generator's output changes, so stale caches are rebuilt instead of reused.
GENERATOR_VERSION = 1

# Share of the corpus (in estimated chunks) each format gets, roughly what a document
# collection of a small company looks like.
FORMAT_SHARES: tuple[tuple[str, float], ...] = (
    ("pdf", 0.25),
    ("html", 0.25),
    ("markdown", 0.20),
    ("json", 0.15),
    ("xml", 0.15),
)
EXTENSIONS = {"pdf": ".pdf", "html": ".html", "markdown": ".md", "json": ".json", "xml": ".xml"}

# Estimate of wordpiece tokens per generated word (measured on this vocabulary with the
# MiniLM tokenizer: names and numbers split into several pieces).
TOKENS_PER_WORD = 1.45
CHUNK_TOKENS = 256
OVERLAP_TOKENS = 32

_SYLLABLES = (
    "ka ri to mel van dor sin lu bra ve quo zen tal mir pho nex cor ast ul ben gri fa lo "
    "tre xim ro dal sev ani "
).split()
_SUBJECTS = (
    "the controller", "each replica", "the billing service", "a maintenance window",
    "the onboarding checklist", "the warehouse scanner", "our support team", "the audit log",
    "the firmware update", "a customer account", "the shipping label", "the retention policy",
    "the backup job", "every invoice", "the access badge", "the staging cluster",
    "the travel allowance", "a purchase order", "the cooling unit", "the data export",
)
_VERBS = (
    "records", "rejects", "schedules", "encrypts", "synchronises", "approves", "archives",
    "validates", "forwards", "throttles", "reconciles", "rotates", "flags", "restores",
    "summarises", "replicates", "escalates", "calibrates", "publishes", "measures",
)
_OBJECTS = (
    "the pending requests", "all expired tokens", "the quarterly report", "incoming pallets",
    "duplicate payments", "the sensor readings", "overdue tickets", "the nightly snapshot",
    "unsigned contracts", "the error budget", "regional price lists", "the holiday calendar",
    "stale cache entries", "the firewall rules", "partial refunds", "temperature alarms",
    "the vendor catalogue", "inactive mailboxes", "the parts inventory", "usage quotas",
)
_CLAUSES = (
    "before the end of the business day", "unless an administrator overrides it",
    "within {n} minutes of the trigger", "when the threshold of {n} units is crossed",
    "for accounts older than {n} days", "after a second reviewer signs off",
    "during the {month} freeze", "in the {region} region only", "at most {n} times per hour",
    "as described in section {sec}", "using the {name} connector", "on every {weekday}",
)
_MONTHS = "January February March April May June July August September October November".split()
_REGIONS = ("Nordic", "Iberian", "Pacific", "Alpine", "Baltic", "Andean", "Sahel", "Danube")
_WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday".split()
_TOPICS = (
    "Installation", "Configuration", "Troubleshooting", "Security", "Billing", "Shipping",
    "Returns", "Maintenance", "Reporting", "Access control", "Backups", "Networking",
    "Onboarding", "Compliance", "Pricing", "Warranty", "Scheduling", "Monitoring",
)
_DOC_KINDS = (
    "Operations manual", "Policy handbook", "Service guide", "Field handbook",
    "Administrator guide", "Release notes", "Runbook", "Customer FAQ",
)
_CATEGORIES = ("hardware", "software", "service", "spare part", "subscription", "training")


@dataclass(frozen=True)
class CorpusInfo:
    """What was generated for one size: where, how much, and an estimate of its chunk count."""

    size: str
    directory: Path
    files: int
    bytes: int
    estimated_chunks: int
    by_format: dict[str, int]
    seed: int

    def paths(self) -> list[Path]:
        """The corpus files, in a stable order."""
        return sorted(p for p in self.directory.rglob("*") if p.is_file() and p.name != MANIFEST)


class _Prose:
    """Sentences and names drawn from a seeded RNG: the same seed gives the same text."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def name(self) -> str:
        parts = self.rng.randint(2, 3)
        return "".join(self.rng.choice(_SYLLABLES) for _ in range(parts)).capitalize()

    def sentence(self) -> str:
        r = self.rng
        clause = r.choice(_CLAUSES).format(
            n=r.randint(2, 500),
            month=r.choice(_MONTHS),
            region=r.choice(_REGIONS),
            sec=f"{r.randint(1, 12)}.{r.randint(1, 9)}",
            name=self.name(),
            weekday=r.choice(_WEEKDAYS),
        )
        text = f"{r.choice(_SUBJECTS)} {r.choice(_VERBS)} {r.choice(_OBJECTS)} {clause}"
        if r.random() < 0.3:
            text += f", and the {self.name()} team keeps a copy under reference {self.code()}"
        return text[0].upper() + text[1:] + "."

    def paragraph(self, sentences: tuple[int, int] = (3, 7)) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(*sentences)))

    def words_of(self, paragraphs: list[str]) -> int:
        return sum(len(p.split()) for p in paragraphs)

    def code(self) -> str:
        return f"{self.rng.choice('ABCDEFGHKMNPRSTX')}{self.rng.randint(100, 9999)}"

    def date(self) -> str:
        r = self.rng
        return f"20{r.randint(19, 26)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"


def estimate_chunks(words: int) -> int:
    """Chunks the app's splitter makes of one structural unit of ``words`` words."""
    tokens = words * TOKENS_PER_WORD
    step = CHUNK_TOKENS - OVERLAP_TOKENS
    return max(1, math.ceil((tokens - OVERLAP_TOKENS) / step))


# -- one writer per format: each returns the estimated chunk count of the file it wrote --------


def _sections(prose: _Prose, count: int) -> list[tuple[str, list[str]]]:
    topics = prose.rng.sample(_TOPICS, k=min(count, len(_TOPICS)))
    return [(t, [prose.paragraph() for _ in range(prose.rng.randint(1, 4))]) for t in topics]


def write_markdown(path: Path, prose: _Prose) -> int:
    title = f"{prose.rng.choice(_DOC_KINDS)}: {prose.name()} {prose.name()}"
    lines = [f"# {title}", "", prose.paragraph((2, 3)), ""]
    chunks = estimate_chunks(len(lines[2].split()))
    for topic, paragraphs in _sections(prose, prose.rng.randint(4, 10)):
        lines += [f"## {topic}", ""]
        for i, para in enumerate(paragraphs):
            if i == 1 and prose.rng.random() < 0.4:
                lines += [f"### {topic} on {prose.rng.choice(_REGIONS)} sites", ""]
            lines += [para, ""]
        if prose.rng.random() < 0.5:
            lines += [f"- {prose.sentence()}" for _ in range(prose.rng.randint(2, 5))] + [""]
        chunks += estimate_chunks(prose.words_of(paragraphs) + 20)
    path.write_text("\n".join(lines), encoding="utf-8")
    return chunks


def write_html(path: Path, prose: _Prose) -> int:
    title = f"{prose.rng.choice(_DOC_KINDS)} — {prose.name()}"
    body: list[str] = [f"<h1>{html.escape(title)}</h1>", f"<p>{prose.paragraph((2, 3))}</p>"]
    chunks = 1
    for topic, paragraphs in _sections(prose, prose.rng.randint(4, 10)):
        anchor = topic.lower().replace(" ", "-")
        body.append(f'<section id="{anchor}"><h2>{html.escape(topic)}</h2>')
        body += [f"<p>{html.escape(p)}</p>" for p in paragraphs]
        words = prose.words_of(paragraphs)
        if prose.rng.random() < 0.5:
            rows = [
                f"<tr><td>{prose.code()}</td><td>{prose.name()}</td>"
                f"<td>{prose.rng.randint(1, 900)}.{prose.rng.randint(0, 99):02d} EUR</td>"
                f"<td>{prose.date()}</td></tr>"
                for _ in range(prose.rng.randint(3, 12))
            ]
            body.append(
                "<table><thead><tr><th>Code</th><th>Item</th><th>Price</th><th>Updated</th>"
                f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            )
            words += 6 * len(rows)
        body.append("</section>")
        chunks += estimate_chunks(words)
    nav = (
        "<nav><a href='/'>Home</a> | <a href='/docs'>Docs</a> | "
        "<a href='/support'>Support</a></nav>"
    )
    page = (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title><style>body{{font-family:sans-serif}}</style></head><body>{nav}<main>"
        + "\n".join(body)
        + "</main><footer>© Example Corp. All rights reserved.</footer></body></html>"
    )
    path.write_text(page, encoding="utf-8")
    return chunks


def write_json(path: Path, prose: _Prose) -> int:
    records = []
    chunks = 0
    for i in range(prose.rng.randint(20, 80)):
        description = prose.paragraph((1, 4))
        records.append(
            {
                "id": f"{prose.code()}-{i}",
                "name": f"{prose.name()} {prose.rng.choice(_CATEGORIES)}",
                "category": prose.rng.choice(_CATEGORIES),
                "price": round(prose.rng.uniform(5, 2500), 2),
                "in_stock": prose.rng.random() < 0.7,
                "updated": prose.date(),
                "description": description,
                "tags": prose.rng.sample(_TOPICS, k=2),
            }
        )
        chunks += estimate_chunks(len(description.split()) + 25)
    doc = {"catalogue": prose.name(), "currency": "EUR", "items": records}
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
    return chunks


def write_xml(path: Path, prose: _Prose) -> int:
    items = []
    chunks = 0
    for _ in range(prose.rng.randint(20, 80)):
        summary = prose.paragraph((1, 4))
        items.append(
            f'  <book id="{prose.code()}" lang="en">\n'
            f"    <title>{xml_escape(prose.name())} and the {xml_escape(prose.name())}</title>\n"
            f"    <author>{prose.name()} {prose.name()}</author>\n"
            f"    <year>{prose.rng.randint(1950, 2026)}</year>\n"
            f"    <genre>{prose.rng.choice(_TOPICS)}</genre>\n"
            f"    <summary>{xml_escape(summary)}</summary>\n"
            "  </book>"
        )
        chunks += estimate_chunks(len(summary.split()) + 15)
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<catalog name="{xml_escape(prose.name())}">\n' + "\n".join(items) + "\n</catalog>\n"
    )
    path.write_text(text, encoding="utf-8")
    return chunks


def write_pdf(path: Path, prose: _Prose) -> int:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    width, height = A4
    # invariant=1: fixed creation date and document id, so the bytes depend on the seed only.
    pdf = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    title = f"{prose.rng.choice(_DOC_KINDS)}: {prose.name()}"
    pdf.setTitle(title)
    chunks = 0
    for page_no in range(1, prose.rng.randint(3, 14) + 1):
        y = height - 72
        pdf.setFont("Helvetica-Bold", 14)
        pdf.drawString(72, y, f"{title} — {prose.rng.choice(_TOPICS)}")
        y -= 28
        pdf.setFont("Helvetica", 10)
        words = 0
        while y > 90:
            para = prose.paragraph((2, 5))
            words += len(para.split())
            for line in _wrap(para, 95):
                if y <= 90:
                    break
                pdf.drawString(72, y, line)
                y -= 13
            y -= 8
        pdf.setFont("Helvetica", 8)
        pdf.drawString(width / 2 - 20, 40, f"Page {page_no}")
        pdf.showPage()
        chunks += estimate_chunks(words)
    pdf.save()
    return chunks


def _wrap(text: str, width: int) -> Iterator[str]:
    line: list[str] = []
    length = 0
    for word in text.split():
        if length + len(word) + 1 > width and line:
            yield " ".join(line)
            line, length = [], 0
        line.append(word)
        length += len(word) + 1
    if line:
        yield " ".join(line)


WRITERS: dict[str, Callable[[Path, _Prose], int]] = {
    "pdf": write_pdf,
    "html": write_html,
    "markdown": write_markdown,
    "json": write_json,
    "xml": write_xml,
}


def generate_corpus(directory: Path, target_chunks: int, *, seed: int = 20261123) -> dict:
    """Write files into ``directory`` until each format reaches its share of ``target_chunks``.

    Files are interleaved across formats (file i of each format in turn) so a prefix of the
    corpus looks like the whole. Returns the manifest fields.
    """
    directory.mkdir(parents=True, exist_ok=True)
    goals = {fmt: target_chunks * share for fmt, share in FORMAT_SHARES}
    made = dict.fromkeys(goals, 0)
    files = dict.fromkeys(goals, 0)
    total_bytes = 0
    index = 0
    while any(made[f] < goals[f] for f in goals):
        for fmt, _ in FORMAT_SHARES:
            if made[fmt] >= goals[fmt]:
                continue
            # One RNG per file, seeded by (seed, format, index): a file's content does not depend
            # on how many files of other formats came before it.
            rng = random.Random(f"{seed}:{fmt}:{index}")
            folder = directory / fmt
            folder.mkdir(exist_ok=True)
            path = folder / f"{fmt}-{index:05d}{EXTENSIONS[fmt]}"
            made[fmt] += WRITERS[fmt](path, _Prose(rng))
            files[fmt] += 1
            total_bytes += path.stat().st_size
        index += 1
    return {
        "files": sum(files.values()),
        "bytes": total_bytes,
        "estimated_chunks": round(sum(made.values())),
        "by_format": files,
        "seed": seed,
        "target_chunks": target_chunks,
        "generator_version": GENERATOR_VERSION,
    }


def ensure_corpus(
    size: str, cache_dir: Path = DEFAULT_CACHE, *, seed: int = 20261123
) -> CorpusInfo:
    """The corpus for a named size, generated into ``cache_dir/<size>`` once and then reused."""
    if size not in SIZES:
        raise ValueError(f"unknown corpus size {size!r}; valid sizes: {', '.join(SIZES)}")
    directory = cache_dir / size
    manifest_path = directory / MANIFEST
    manifest = None
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        stale = (
            manifest.get("generator_version") != GENERATOR_VERSION
            or manifest.get("seed") != seed
        )
        if stale:
            manifest = None
    if manifest is None:
        # A half-written folder (interrupted run) or an old generator: start clean.
        shutil.rmtree(directory, ignore_errors=True)
        tmp = cache_dir / f".{size}.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        manifest = generate_corpus(tmp, SIZES[size], seed=seed)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
        tmp.rename(directory)
    return CorpusInfo(
        size=size,
        directory=directory,
        files=manifest["files"],
        bytes=manifest["bytes"],
        estimated_chunks=manifest["estimated_chunks"],
        by_format=manifest["by_format"],
        seed=manifest["seed"],
    )


def corpus_summary(info: CorpusInfo) -> dict:
    data = asdict(info)
    data["directory"] = str(info.directory)
    return data


def sample_queries(count: int, *, seed: int = 7) -> list[str]:
    """Questions a user of this corpus would ask, in the corpus's own vocabulary."""
    rng = random.Random(seed)
    forms = (
        "How does {s} handle {o}?",
        "When {v} {s} {o}?",
        "What is the policy for {o} {c}?",
        "Which team {v} {o}?",
        "{s} {o} {c}",
    )
    queries = []
    for _ in range(count):
        clause = rng.choice(_CLAUSES).format(
            n=rng.randint(2, 500), month=rng.choice(_MONTHS), region=rng.choice(_REGIONS),
            sec="3.2", name="Karito", weekday=rng.choice(_WEEKDAYS),
        )
        queries.append(
            rng.choice(forms).format(
                s=rng.choice(_SUBJECTS), v=rng.choice(_VERBS), o=rng.choice(_OBJECTS), c=clause
            )
        )
    return queries
