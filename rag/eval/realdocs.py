"""The realdocs layout: real files under ``documents/`` and questions written outside this project.

``questions.jsonl`` (see that folder's README) names, per question, the file, a verbatim evidence
passage, a short answer with aliases, a structural locator in the file's own terms (PDF page,
HTML heading path and element id, JSON pointer to the answering leaf, an XPath 1.0 that selects
one node, a text line) and optionally other files that state the same fact.

Scoring follows that README: a retrieved passage is correct when it comes from the question's
file (or an alternative one) and its text contains the answer or the evidence, compared
case-insensitively with whitespace collapsed. On top of that we check the *locator* our citation
gives for the first correct passage against the gold one (:func:`locator_matches`), since a
right passage under a wrong page or record is a wrong citation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from rag.errors import ConfigError
from rag.eval.metrics import collapse_spaces as collapse
from rag.eval.metrics import contains_text
from rag.eval.relevance import same_source

_ANCHOR = "#"
_SECTION_SEPARATOR = " > "


@dataclass(frozen=True)
class Place:
    """Where a fact is stated: a file (relative to ``documents/``), its locator and evidence."""

    file: str
    locator: Mapping[str, Any]
    evidence: str


@dataclass(frozen=True)
class RealDocsItem:
    id: str
    question: str
    answer: str
    aliases: tuple[str, ...]
    format: str
    places: tuple[Place, ...]  # the gold file first, then alternative files
    unanswerable: bool
    follow_up_of: str | None = None

    @property
    def references(self) -> tuple[str, ...]:
        return tuple(a for a in (self.answer, *self.aliases) if a)


@dataclass(frozen=True)
class RealDocs:
    root: Path
    items: tuple[RealDocsItem, ...] = field(default_factory=tuple)

    @property
    def documents(self) -> Path:
        return self.root / "documents"

    def by_id(self) -> dict[str, RealDocsItem]:
        return {item.id: item for item in self.items}


def is_realdocs_folder(path: Path) -> bool:
    return (Path(path) / "questions.jsonl").is_file() and (Path(path) / "documents").is_dir()


def load_realdocs(root: Path) -> RealDocs:
    """Read ``questions.jsonl``; a malformed line is a ``ConfigError`` naming file and line."""
    root = Path(root)
    path = root / "questions.jsonl"
    if not is_realdocs_folder(root):
        raise ConfigError(f"{root}: not a realdocs folder (needs questions.jsonl and documents/)")
    items: list[RealDocsItem] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            unanswerable = bool(rec["unanswerable"])
            places: list[Place] = []
            if not unanswerable:
                places.append(Place(str(rec["file"]), dict(rec["locator"]), str(rec["evidence"])))
                places += [Place(str(a["file"]), dict(a.get("locator") or {}),
                                 str(a.get("evidence") or "")) for a in rec.get("alt_files") or []]
            items.append(RealDocsItem(
                id=str(rec["id"]),
                question=str(rec["question"]).strip(),
                answer=str(rec.get("answer") or ""),
                aliases=tuple(str(a) for a in rec.get("answer_aliases") or []),
                format=str(rec.get("format") or ""),
                places=tuple(places),
                unanswerable=unanswerable,
                follow_up_of=rec.get("follow_up_of"),
            ))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{path}:{number}: malformed question ({exc})") from exc
    if not items:
        raise ConfigError(f"{path}: no questions")
    known = {item.id for item in items}
    for item in items:
        if item.follow_up_of and item.follow_up_of not in known:
            raise ConfigError(f"{path}: {item.id} follows unknown question {item.follow_up_of}")
    return RealDocs(root=root, items=tuple(items))


def text_supports(text: str, item: RealDocsItem, place: Place) -> bool:
    """The README's rule: the passage contains the answer (or an alias) or the evidence."""
    return answer_found(text, [*item.references, place.evidence])


def answer_found(reply: str, references: Sequence[str]) -> bool:
    """The README's rule for answers: the reply contains the answer or an alias, compared
    case-insensitively with whitespace collapsed (as text, not as whole words: the README's
    rule, which :func:`rag.eval.metrics.contains_answer` is stricter than)."""
    return contains_text(reply, references)


def supporting_place(meta: Mapping[str, Any], text: str, item: RealDocsItem) -> Place | None:
    """The gold place a retrieved passage (metadata + text) is correct for, else None."""
    source = str(meta.get("source", ""))
    for place in item.places:
        if same_source(source, place.file) and text_supports(text, item, place):
            return place
    return None


# -- locators -------------------------------------------------------------------------------
def _normalise_heading(text: str) -> str:
    return collapse(text).rstrip(" .:")


def html_locator_matches(gold: Mapping[str, Any], ours: str) -> bool:
    """Same element id (our locator's "#id"), or the same innermost heading."""
    section, _, anchor = ours.partition(_ANCHOR)
    element_id = gold.get("element_id")
    if element_id and anchor and anchor.casefold() == str(element_id).casefold():
        return True
    headings = [h for h in gold.get("heading_path") or [] if h]
    ours_path = [h for h in section.split(_SECTION_SEPARATOR) if h.strip()]
    return bool(headings and ours_path) and (
        _normalise_heading(headings[-1]) == _normalise_heading(ours_path[-1]))


def json_locator_matches(gold_pointer: str, ours: str) -> bool:
    """Our record is the answering leaf, or holds it within two levels (a record's field, or a
    field of one of its nested objects); the document root counts only for its own fields (a
    one-record file), never for a deeper leaf."""
    gold_steps = gold_pointer.split("/")[1:] if gold_pointer else []
    our_steps = ours.split("/")[1:] if ours else []
    if our_steps != gold_steps[: len(our_steps)]:
        return False
    if not our_steps and len(gold_steps) > 1:
        return False
    return len(gold_steps) - len(our_steps) <= 2


def pdf_locator_matches(gold: Mapping[str, Any], meta: Mapping[str, Any]) -> bool:
    try:
        return int(meta.get("page", -1)) == int(gold["page"])
    except (KeyError, TypeError, ValueError):
        return False


def text_locator_matches(gold: Mapping[str, Any], meta: Mapping[str, Any]) -> bool:
    """The gold line lies in the chunk's line range (``line`` .. ``line_end``)."""
    try:
        line = int(gold["line"])
        first = int(meta["line"])
        last = int(meta.get("line_end", first))
    except (KeyError, TypeError, ValueError):
        return False
    return first <= line <= last


@lru_cache(maxsize=32)
def _xml_tree(path: str) -> Any:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             recover=True, huge_tree=False)
    return etree.parse(path, parser)


def _local(tag: Any) -> str:
    from lxml import etree

    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _follow_our_xpath(root: Any, ours: str) -> Any | None:
    """The element our locator names: "/root/child[2]/leaf", steps by local name, 1-based."""
    steps = [s for s in ours.split("/") if s]
    if not steps or _local(root.tag) != steps[0].split("[")[0]:
        return None
    node = root
    for step in steps[1:]:
        name, _, rest = step.partition("[")
        position = int(rest.rstrip("]")) if rest else 1
        matches = [c for c in node if _local(c.tag) == name]
        if len(matches) < position:
            return None
        node = matches[position - 1]
    return node


def xml_locator_matches(gold_xpath: str, ours: str, file_path: Path) -> bool:
    """Our element is the gold node's element, an ancestor of it within two levels, or an
    element inside it: the gold node holds the evidence, so an element of it that the citation
    names (an item's paragraph) is the same place, named more narrowly."""
    from lxml import etree

    try:
        tree = _xml_tree(str(file_path))
        found = tree.xpath(gold_xpath)
    except (OSError, ValueError, etree.Error):  # a gold XPath lxml cannot run: a miss
        return False
    if not isinstance(found, list) or len(found) != 1:
        return False
    target = found[0]
    if not hasattr(target, "tag"):  # an attribute or text node: its element
        target = target.getparent()
    ours_node = _follow_our_xpath(tree.getroot(), ours.split(_ANCHOR)[0])
    if ours_node is None:
        return False
    node, levels = target, 0
    while node is not None and levels <= 2:
        if node is ours_node:
            return True
        node, levels = node.getparent(), levels + 1
    return any(outer is target for outer in ours_node.iterancestors())


def locator_matches(place: Place, meta: Mapping[str, Any], locator: str, documents: Path
                    ) -> bool:
    """Whether our citation (chunk metadata, and the record locator inside it) names the
    gold place in the gold file's own terms."""
    gold = place.locator
    if "page" in gold:
        return pdf_locator_matches(gold, meta)
    if "pointer" in gold:
        return json_locator_matches(str(gold["pointer"]), locator)
    if "xpath" in gold:
        return xml_locator_matches(str(gold["xpath"]), locator, documents / place.file)
    if "heading_path" in gold or "element_id" in gold:
        return html_locator_matches(gold, locator)
    if "line" in gold:
        return text_locator_matches(gold, meta)
    return False


def record_locator(meta: Mapping[str, Any], text: str, item: RealDocsItem, place: Place) -> str:
    """The locator a citation of this passage names: for a chunk packing several records, the
    record whose text supports the answer; else the chunk's own locator."""
    from ingest.records import records_in_chunk

    for span_text, locator in records_in_chunk(text, meta):
        if text_supports(span_text, item, place):
            return locator
    return str(meta.get("locator", ""))


# -- turning items into eval inputs ---------------------------------------------------------
def query_text(item: RealDocsItem, items: Mapping[str, RealDocsItem]) -> str:
    """What the app searches for: a follow-up carries its previous question's terms (the
    local backend's rule), so retrieval is scored the way a conversation would run."""
    from rag.answer.followup import rewrite_by_rule

    if item.follow_up_of and item.follow_up_of in items:
        previous = items[item.follow_up_of]
        return rewrite_by_rule(item.question, [(previous.question, "")])
    return item.question


def unit_of(item: RealDocsItem) -> Callable[[Any], object | None]:
    """Retrieved chunk -> the fact's key when it supports the answer (one fact per question)."""

    def judge(chunk: Any) -> object | None:
        place = supporting_place(chunk.doc.metadata, chunk.doc.page_content, item)
        return item.id if place is not None else None

    return judge


def answerable(items: Sequence[RealDocsItem]) -> list[RealDocsItem]:
    return [item for item in items if not item.unanswerable]
