"""XML: record elements become units addressed by an XPath like "/catalog/book[2]".

Safety: lxml with entity resolution, DTD loading and network access all off, and no huge-tree
mode (libxml2 then caps depth, text node size and entity amplification). libxml2 leaves every
entity reference in the text as a reference; this module then writes out, once and never
nested, the references to internal entities whose declared text is short plain text (a
product name, a version: :data:`MAX_ENTITY_CHARS`), which is what DocBook and similar sources
declare them for. Any other reference stays as written ("&lol9;"), and an external entity (a
file or URL: XXE) is never read or fetched: its reference becomes a note naming what was not
read. So no declaration can expand a document (billion laughs) or leak a file, and a document
that declares entities is still read, with a warning saying what was left out.

Forgiving, and saying so: a file that is not well-formed (a bare "&", a tag left open at the
end) is parsed again in libxml2's recover mode, with the same safety settings, and each error
it recovered from becomes a warning naming the line. Python decides the encoding (libxml2 lacks
many that documents declare: windows_1252, ibm037, x-mac-roman...): the text is decoded with
Python's codec and handed to lxml as UTF-8 with the declaration rewritten to match; a declared
encoding the bytes do not follow is detected instead, with a warning.

Units: an element whose children are all leaves is one record ("tag: text" lines, attributes
as "@attr: value", a leaf's attributes as "tag/@attr: value"). An element with mixed children
gets a unit for its own text, attributes and leaf children; its non-leaf children are visited
the same way, except in a short record (own text or leaves, at most 400 characters in all)
whose nested elements are groups of distinct fields ("<accept><family>…</family></accept>"):
those are folded into the record's unit as "accept › family: …" lines. A root without children
is one unit. Names are local names (namespaces dropped).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Any

from lxml import etree

from ingest.codes import code_names, named
from ingest.errors import IngestError, NotWellFormedError
from ingest.limits import Deadline, ParseLimits, check_size
from ingest.parsed import ParsedFile, display_stem, elide_middle, make_unit
from ingest.textcodec import bom_encoding, decode_document, python_codec

_SPACE = re.compile(r"\s+")
_COLUMN_GAP = re.compile(r" {2,}")
_DECLARATION = re.compile(
    r"""^(\s*<\?xml\s[^>]*?\bencoding\s*=\s*)(["'])([A-Za-z0-9._:-]*)\2"""
)
# "<?xm" in EBCDIC: libxml2 would need an EBCDIC codec it lacks; Python reads the declaration.
_EBCDIC_START = b"\x4c\x6f\xa7\x94"
_MAX_WARNINGS = 5


def _secure_parser(*, recover: bool = False) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        # Comments stay: in configuration and data files they often carry the documentation
        # (a table of aliases, what a setting means); they are read as text, never run.
        remove_comments=False,
        remove_pis=True,
        recover=recover,
    )


# Internal entity text written out in place of its reference, at most this long: names and
# versions, not text that could multiply a document's size.
MAX_ENTITY_CHARS = 200
_URL_CHARS = 120  # an external entity's system URL, as named in its note


def _entity_text(entity: etree._Entity, declared: dict[str, Any]) -> str:
    """What a reference to ``entity`` reads as: the declared text of a short internal entity
    that holds no markup or further reference; a note for an external one; else the
    reference as written."""
    found = declared.get(entity.name)
    if found is None:
        return str(entity.text)
    if found.system_url:
        return f"[external entity {found.name} -> {found.system_url[:_URL_CHARS]}: not read]"
    content = found.content or ""
    if len(content) <= MAX_ENTITY_CHARS and "&" not in content and "<" not in content:
        return content
    return str(entity.text)


def _inline_entities(root: etree._Element) -> list[str]:
    """Replace each entity reference under ``root`` by :func:`_entity_text`, joined into the
    text around it, and return the warnings. Each parent's children are rebuilt in one pass,
    so a paragraph of many references takes linear time."""
    dtd = root.getroottree().docinfo.internalDTD
    declared = {e.name: e for e in dtd.iterentities()} if dtd is not None else {}
    parents: dict[int, etree._Element] = {}
    for reference in root.iter(etree.Entity):
        parent = reference.getparent()
        if parent is not None:
            parents.setdefault(id(parent), parent)
    kept, external = 0, sorted({n for n, e in declared.items() if e.system_url})
    for parent in parents.values():
        anchor: etree._Element | None = None  # whose text or tail the pieces become
        pieces = [parent.text or ""]
        for child in list(parent):
            if child.tag is etree.Entity:
                text = _entity_text(child, declared)
                kept += text == child.text
                pieces += [text, child.tail or ""]
                parent.remove(child)
                continue
            _set_text(parent, anchor, "".join(pieces))
            anchor, pieces = child, [child.tail or ""]
        _set_text(parent, anchor, "".join(pieces))
    warnings = []
    if external:
        named = ", ".join(f"{n} -> {declared[n].system_url[:_URL_CHARS]}" for n in external[:3])
        warnings.append(f"external entities never read ({named}): their references are notes")
    if kept:
        warnings.append(f"{kept} entity reference(s) left as written: undeclared, or declared "
                        f"as markup, nested references or more than {MAX_ENTITY_CHARS} "
                        "characters")
    return warnings


def _set_text(parent: etree._Element, anchor: etree._Element | None, text: str) -> None:
    if anchor is None:
        parent.text = text or None
    else:
        anchor.tail = text or None


def _local(name: str) -> str:
    return etree.QName(name).localname if name.startswith("{") else name


def _clean(text: str | None) -> str:
    return _SPACE.sub(" ", text).strip() if text else ""


def _is_element(node: etree._Element) -> bool:
    return isinstance(node.tag, str)  # not an unresolved entity reference


def _children(element: etree._Element) -> list[etree._Element]:
    return [child for child in element if _is_element(child)]


def _comment_text(node: etree._Element) -> str:
    """A comment's text with its line structure kept (a table drawn in a comment stays a
    table); empty for anything that is not a comment."""
    if not isinstance(node, etree._Comment) or not node.text:
        return ""
    # Column gaps stay visible (two spaces), so a row of a table still reads as its cells.
    lines = ("  ".join(" ".join(cell.split()) for cell in _COLUMN_GAP.split(line.strip()))
             for line in node.text.expandtabs().split("\n"))
    return "\n".join(line for line in lines if line)


def _attribute_lines(element: etree._Element, prefix: str = "") -> list[str]:
    return [f"{prefix}@{_local(key)}: {_clean(value)}" for key, value in element.attrib.items()
            if _clean(value)]


# (tag, attribute, value) -> the English name of a value that is a standard code
CodeNames = dict[tuple[str, str, str], str]


def _code_attribute_names(elements: list[etree._Element]) -> CodeNames:
    """Names for attribute values that are codes of one standard across same-named siblings
    (``<territory type="DE">`` among other territories: "Germany"; see :mod:`ingest.codes`).
    A value may be a list of codes (``territories="DJ DZ EH"``): each item counts as one."""
    values: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
    for element in elements:
        for key, value in element.attrib.items():
            values[(_local(element.tag), _local(key))].extend(_clean(value).split(" "))
    return {(tag, attribute, value): name
            for (tag, attribute), found in values.items()
            for value, name in code_names(found).items()}


def _attribute_text(element: etree._Element, key: str, names: CodeNames) -> str:
    tag, attribute = _local(element.tag), _local(key)
    items = _clean(element.attrib[key]).split(" ")
    return f"{attribute}=" + " ".join(
        named(item, names.get((tag, attribute, item), "")) for item in items)


def _label(element: etree._Element, names: CodeNames) -> str:
    """The element's name with its attributes: "territory [type=DE (Germany)]"."""
    attributes = ", ".join(_attribute_text(element, k, names) for k, v in element.attrib.items()
                           if _clean(v))
    return f"{_local(element.tag)} [{attributes}]" if attributes else _local(element.tag)


def _leaf_line(child: etree._Element, names: CodeNames) -> str:
    """A leaf child as one line, its attributes beside its text: "territory [type=DE
    (Germany)]: Yr Almaen". One line per leaf keeps a record's attributes with its own text
    when a long list of leaves is split into chunks."""
    label = _label(child, names)
    text = _clean(child.text)
    if text:
        return f"{label}: {text}"
    return "" if label == _local(child.tag) else label  # a bare name says nothing


def _is_prose(element: etree._Element) -> bool:
    """Mixed content: text beside child elements ("Click <gui>Save</gui> to keep it."), as in
    document-like XML (Mallard, DocBook, JATS, XHTML). Read as one flowing text."""
    return bool(_children(element)) and (
        bool(_clean(element.text)) or any(_clean(c.tail) for c in element))


def _prose_text(element: etree._Element) -> str:
    return _clean("".join(element.itertext()))


def _unit_text(element: etree._Element, limits: ParseLimits, name: str) -> str:
    """Own attributes and text, leaf children one line each, text between children; a prose
    element's whole text as it reads."""
    lines = _attribute_lines(element)
    for raw in [element.text, *(c.tail for c in element), *(c.text for c in element)]:
        if raw and len(raw) > limits.max_string_chars:
            raise IngestError(name, f"an XML text node is longer than the limit of "
                                    f"{limits.max_string_chars:,} characters")
    if _is_prose(element):
        return "\n".join([*lines, _prose_text(element)])
    names = _code_attribute_names([c for c in _children(element) if not _children(c)])
    return "\n".join([*lines, *_leaf_lines(element, names)])


# Attribute or leaf names whose short value identifies a record ("type", "id", "code",
# "CtryNm"...), matched at the end of the local name; see ingest.json_ for the same idea.
_IDENTITY_NAME = re.compile(r"(?:name|nm|id|code|title|label|key|type|ref)$", re.I)
_IDENTITY_CHARS = 60
_CONTEXT_STEPS = 3


def _identity(element: etree._Element, names: CodeNames) -> str:
    """The element with its identifying attributes (a code with its name, ``names`` being its
    siblings' :func:`_code_attribute_names`), and its identifying leaf child ("CcyNtry" is
    known by its "CtryNm: ALBANIA"). Empty for prose, which its section's title places."""
    if _is_prose(element):
        return ""
    attributes = [_attribute_text(element, k, names) for k, v in element.attrib.items()
                  if _IDENTITY_NAME.search(_local(k)) and 0 < len(_clean(v)) <= _IDENTITY_CHARS]
    if not attributes:
        attributes = [_attribute_text(element, k, names) for k, v in element.attrib.items()
                      if 0 < len(_clean(v)) <= _IDENTITY_CHARS][:1]
    children = _children(element)
    counts = Counter(_local(c.tag) for c in children)
    # A field, not an item of a list: a leaf whose name no sibling shares.
    fields = [c for c in children if not _children(c) and counts[_local(c.tag)] == 1
              and 0 < len(_clean(c.text)) <= _IDENTITY_CHARS]
    named = [c for c in fields if _IDENTITY_NAME.search(_local(c.tag))]
    parts = [f"{_local(c.tag)}: {_clean(c.text)}" for c in (named or fields)[:1]]
    if attributes or not parts:
        parts.insert(0, f"{_local(element.tag)} [{', '.join(attributes[:2])}]" if attributes
                     else _local(element.tag))
    return " · ".join(parts)


# A record whose nested elements are fields of its own (``<alias>`` holding ``<accept>``, an
# ``<action>`` holding its ``<defaults>``) is one unit when all of it is this short: split at
# each nested element, a field ("accept › family: Liberation Sans") lost the record it belongs
# to ("family: Arial"); so a JSON array's item keeps its nested keys ("address.city").
_FOLDED_RECORD_CHARS = 400
_FOLDED_RECORD_ELEMENTS = 24


def _folded_text(element: etree._Element, own: str) -> str:
    """``own`` (the element's unit text) with its nested elements folded in, one line per
    field under its path ("accept › family: Liberation Sans"), or "" when they cannot be: a
    nested element that repeats a sibling's name or holds children of one name (a list of
    records, each its own unit or line), prose, more than :data:`_FOLDED_RECORD_CHARS`
    characters or :data:`_FOLDED_RECORD_ELEMENTS` nested elements. Walked without recursion
    and given up at the first of these, so a large element is not walked through."""
    if not own:  # a wrapper of its own records, nothing of its own to hold them together
        return ""
    lines = [own]
    size, count = len(own), 0
    stack = [("", element)]
    while stack:
        prefix, parent = stack.pop()
        children = _children(parent)
        names = Counter(_local(c.tag) for c in children)
        branches = []
        for child in children:
            if not _children(child):
                continue
            count += 1
            inner = Counter(_local(c.tag) for c in _children(child))
            if (names[_local(child.tag)] > 1 or max(inner.values()) > 1 or _is_prose(child)
                    or count > _FOLDED_RECORD_ELEMENTS):
                return ""
            path = f"{prefix}{_label(child, {})} › "
            for line in _leaf_lines(child, {}):
                lines.append(f"{path}{line}")
                size += len(lines[-1]) + 1
            if size > _FOLDED_RECORD_CHARS:
                return ""
            branches.append((path, child))
        stack.extend(reversed(branches))
    return "\n".join(lines) if count else ""


def _leaf_lines(element: etree._Element, names: CodeNames) -> list[str]:
    """The element's own text, its leaf children (``names``: codes among them, see
    :func:`_code_attribute_names`), comments and the text between them, one line each; not
    its attributes."""
    lines = [_clean(element.text)] if _clean(element.text) else []
    for child in element:  # every node: comments are text too
        if _is_element(child) and not _children(child):
            line = _leaf_line(child, names)
            if line:
                lines.append(line)
        elif _comment_text(child):
            lines.append(_comment_text(child))
        if _clean(child.tail):
            lines.append(_clean(child.tail))
    return lines


def _section_of(element: etree._Element) -> tuple[etree._Element | None, str]:
    """The nearest ancestor with a ``title`` child (a section in Mallard, DocBook, JATS, an
    item of a feed) and that title."""
    for ancestor in element.iterancestors():
        for child in _children(ancestor):
            if _local(child.tag) == "title" and _clean(child.text):
                return ancestor, _clean(child.text)
    return None, ""


def _child_paths(parent_path: str, children: list[etree._Element]) -> list[str]:
    """XPath steps with a 1-based position only where siblings share the local name."""
    names = [_local(child.tag) for child in children]
    totals = Counter(names)
    seen: Counter[str] = Counter()
    paths = []
    for tag in names:
        seen[tag] += 1
        step = f"{tag}[{seen[tag]}]" if totals[tag] > 1 else tag
        paths.append(elide_middle(f"{parent_path}/{step}"))  # long names, deep: cut as built
    return paths


def xml_units(root: etree._Element, name: str, limits: ParseLimits, deadline: Deadline) -> list:
    """Units in document order; each says whose record it is (``record``), the elements above
    it (``context``) and its parent's path (``parent``), for headers and packing."""
    units = []
    stack = [(root, f"/{_local(root.tag)}")]
    identities: dict[etree._Element, str] = {}  # an element's identity, worked out once
    section_paths: dict[etree._Element, str] = {}  # likewise a section's path
    sibling_names: dict[etree._Element | None, CodeNames] = {}  # codes among a parent's children

    def identity(element: etree._Element) -> str:
        if element not in identities:
            parent = element.getparent()
            if parent not in sibling_names:
                sibling_names[parent] = _code_attribute_names(
                    _children(parent) if parent is not None else [])
            identities[element] = _identity(element, sibling_names[parent])
        return identities[element]

    while stack:
        element, path = stack.pop()
        text = _unit_text(element, limits, name)
        prose = _is_prose(element)
        folded = "" if prose else _folded_text(element, text)
        text = folded or text
        if text:
            section, title = _section_of(element)
            # The records above, nearest two by their identity ("action [id=...mount]"), so
            # a nested element such as <defaults> says whose defaults it holds.
            above = [identity(a) if depth < 2 else _local(a.tag)
                     for depth, a in enumerate(list(element.iterancestors())[:_CONTEXT_STEPS])]
            context = title or " › ".join(reversed(above))
            parent = path.rsplit("/", 1)[0]
            if section is not None and prose:
                # Paragraphs of one section pack together, whatever list or item holds them.
                if section not in section_paths:
                    section_paths[section] = elide_middle(section.getroottree().getpath(section))
                parent = section_paths[section]
            units.append(make_unit(text, path, xpath=path, record=identity(element),
                                   context=context, parent=parent))
            if len(units) % 1000 == 0:
                deadline.check(units)
        children = [] if folded or prose else _children(element)
        branches = [
            (child, child_path)
            for child, child_path in zip(children, _child_paths(path, children), strict=True)
            if _children(child)
        ]
        stack.extend(reversed(branches))
    return units


def _declared_encoding(data: bytes) -> str | None:
    head = data[:1024]
    text = head.decode("cp037" if head.startswith(_EBCDIC_START) else "latin-1")
    match = _DECLARATION.match(text)
    return match.group(3) if match else None


def _utf8_for_lxml(data: bytes, name: str) -> tuple[bytes, tuple[str, ...]]:
    """The document as bytes libxml2 reads the way Python decided, and what that forgave."""
    if bom_encoding(data)[0] is not None:
        return data, ()  # libxml2 reads every byte-order mark we know
    if b"\0" in data:
        raise IngestError(name, "binary or non-text content (NUL bytes)")
    declared = _declared_encoding(data)
    if declared is None or python_codec(declared) == "utf-8":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass  # not what it says (or what XML assumes): detected below, with a warning
        else:
            return data, ()
    decoded = decode_document(data, name, declared)
    # A str with an encoding declaration is refused by lxml; UTF-8 bytes saying so are not.
    text = _DECLARATION.sub(lambda m: f"{m.group(1)}{m.group(2)}utf-8{m.group(2)}",
                            decoded.text, count=1)
    return text.encode("utf-8"), decoded.warnings


def _refuse_limit_errors(message: str, name: str, cause: Exception | None = None) -> None:
    """Depth and entity-expansion errors are limits, not typos: recovery must not undo them."""
    if "Excessive depth" in message:
        raise IngestError(name, "XML nesting is deeper than 256 levels") from cause
    if "amplification" in message or "entity reference loop" in message:
        # libxml2 measures expansion while checking entity declarations, even unresolved.
        reason = f"entity expansion refused (billion laughs): {message}"
        raise IngestError(name, reason) from cause


def _recovered(
    data: bytes, name: str, strict_error: NotWellFormedError
) -> tuple[etree._Element, list[str]]:
    """The tree libxml2's recover mode rebuilds, and one warning per error it got past."""
    parser = _secure_parser(recover=True)
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise strict_error from exc
    errors = list(parser.error_log)
    for error in errors:
        _refuse_limit_errors(error.message, name)
    if root is None:
        raise strict_error
    warnings = [
        f"not well-formed XML recovered at line {error.line}, column {error.column}: "
        f"{error.message.strip()}"
        for error in errors[:_MAX_WARNINGS]
    ]
    if len(errors) > _MAX_WARNINGS:
        warnings.append(f"and {len(errors) - _MAX_WARNINGS} more XML errors recovered")
    return root, warnings


def parse_xml(data: bytes, name: str, limits: ParseLimits) -> ParsedFile:
    """Units: record elements; metadata and locator ``xpath`` ("/catalog/book[2]")."""
    check_size(len(data), name, limits)
    deadline = Deadline(name, limits, len(data))
    data, decoding_warnings = _utf8_for_lxml(data, name)
    warnings = list(decoding_warnings)
    strict_error: NotWellFormedError | None = None
    try:
        root = etree.fromstring(data, parser=_secure_parser())
    except etree.XMLSyntaxError as exc:
        message = str(exc.msg)
        _refuse_limit_errors(message, name, exc)
        where = f"line {exc.lineno}, column {exc.offset}" if exc.lineno else "start"
        strict_error = NotWellFormedError(name, f"not well-formed XML at {where}: {exc.msg}")
        strict_error.__cause__ = exc
        root, recovery_warnings = _recovered(data, name, strict_error)
        warnings += recovery_warnings
    if root is None:
        raise NotWellFormedError(name, "not well-formed XML: no root element")
    warnings += _inline_entities(root)
    deadline.check()
    units = xml_units(root, name, limits, deadline)
    if not units:
        if strict_error is not None:  # what recovery kept is no document: the error stands
            raise strict_error
        raise IngestError(name, "no text to index (XML has no text or attribute values)")
    title_nodes = root.xpath("/*/*[local-name()='title']")
    title = _clean(title_nodes[0].text) if title_nodes else ""
    return ParsedFile(format="xml", title=title or display_stem(name), units=units,
                      warnings=tuple(warnings))
