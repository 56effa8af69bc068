"""JSON and JSON Lines: records become units addressed by RFC 6901 JSON pointers.

Which parts become units:
- an array of objects/arrays (at the top or under a key): one unit per element, "/items/3";
- an object: its scalar fields (and lists of scalars) form one unit at the object's pointer,
  each nested object is visited the same way, each nested array is an array of records;
- JSON Lines: one unit per non-blank line, pointer "/<0-based line index>", metadata ``line``.
Text is "key: value" lines with nested paths dotted ("address.city: Oslo"). Module name ends in
an underscore so it cannot shadow the standard library's ``json``.

Each object unit also says whose record it is, for the chunk header and for packing small
siblings (``ingest.chunking``): ``record`` is its own key under its parent ("IS" under
"territoryInfo") and its identifying fields (short values of keys such as name, id, code,
title, label: :func:`identity_fields`), ``context`` the keys above it, ``parent`` the parent's
pointer. Nothing here is specific to one file's schema.
"""

from __future__ import annotations

import re
from typing import Any

from langchain_core.documents import Document

from ingest.codes import code_names, named, with_name
from ingest.errors import IngestError
from ingest.json_load import decode_json_text, load_json
from ingest.limits import Deadline, ParseLimits, check_size
from ingest.parsed import ParsedFile, display_stem, elide_middle, make_unit

_NO_TEXT = "valid JSON but no text to index (only nulls, empty strings or empty containers)"


def escape_pointer_token(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _is_container(value: Any) -> bool:
    return isinstance(value, dict | list)


def _is_scalar_list(value: Any) -> bool:
    return isinstance(value, list) and not any(_is_container(item) for item in value)


def _scalar_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).replace("\0", "")


def _list_text(items: list[Any]) -> str:
    """A list of scalars as text: its items joined by commas, unless they are the lines of one
    text (each but the last ending in a line break, as a notebook cell's source is stored),
    which are joined as they were written."""
    texts = [_scalar_text(item) for item in items]
    if len(items) > 1 and all(isinstance(item, str) and item.endswith("\n") for item in items[:-1]):
        return "".join(texts).strip()
    return ", ".join(t for t in texts if t)


def render_record(value: Any) -> str:
    """A JSON value as readable "path: value" lines, without recursion."""
    lines: list[str] = []
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            # Paths are cut as they grow: long keys nested deep would otherwise repeat in
            # full on every line below them. Keys that are codes carry their names.
            names = code_names(map(str, item))
            children = [(elide_middle(f"{path}.{label}") if path else elide_middle(label), v)
                        for label, v in ((with_name(str(k), names), v) for k, v in item.items())]
            stack.extend(reversed(children))
        elif isinstance(item, list) and not _is_scalar_list(item):
            children = [(elide_middle(f"{path}.{index}") if path else str(index), v)
                        for index, v in enumerate(item)]
            stack.extend(reversed(children))
        else:
            text = _list_text(item) if isinstance(item, list) else _scalar_text(item)
            if text:
                lines.append(f"{path.replace(chr(0), '')}: {text}" if path else text)
    return "\n".join(lines)


# Keys whose short value names or identifies a record, matched at the end of the key so that
# "countryName", "iso_code", "Subtag" or "_type" count as well as "name".
_IDENTITY_KEY = re.compile(r"(?:name|id|code|title|label|key|slug|tag|type|symbol)$", re.I)
IDENTITY_VALUE_CHARS = 60
IDENTITY_FIELDS = 2
CONTEXT_KEYS = 3


def unescape_pointer_token(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def identity_fields(record: dict) -> list[str]:
    """ "key: value" of the fields that identify a record; else its first short text field."""
    short = [(str(k), _scalar_text(v)) for k, v in record.items()
             if not _is_container(v) and 0 < len(_scalar_text(v)) <= IDENTITY_VALUE_CHARS]
    named = [(k, v) for k, v in short if _IDENTITY_KEY.search(k.strip("_@-"))]
    chosen = named or [(k, v) for k, v in short if any(c.isalpha() for c in v)][:1]
    return [f"{k}: {v}" for k, v in chosen[:IDENTITY_FIELDS]]


def named_fields(record: dict) -> list[str]:
    """Only the fields whose key says they identify (a keyed record has its key already)."""
    return [f for f in identity_fields(record)
            if _IDENTITY_KEY.search(f.split(":", 1)[0].strip("_@-"))]


def _own_key(pointer: str) -> str:
    """The key (or array index) a pointer ends in; "" for the document root."""
    return unescape_pointer_token(pointer.rsplit("/", 1)[-1]) if pointer else ""


def record_label(pointer: str, record: Any, name: str = "") -> str:
    """Whose record this is: its own key under its parent ("IS"; not an array index, with the
    key's name when it is a code, see :mod:`ingest.codes`) and its identifying fields; the
    document root by its identifying fields alone."""
    last = _own_key(pointer)
    own = [named(last, name)] if last and not last.isdigit() else []
    fields = [] if not isinstance(record, dict) else (
        named_fields(record) if own else identity_fields(record))
    return elide_middle(" · ".join([*own, *fields]))


def record_metadata(pointer: str, record: Any, above: tuple[str, ...],
                    name: str = "") -> dict[str, str]:
    """``record``, ``context`` (the labels of the records above, nearest last, so a nested
    object still names the record it belongs to) and ``parent`` (see module doc)."""
    if not pointer:
        return {}
    found = {"record": record_label(pointer, record, name),
             "context": " › ".join([a for a in above if a][-CONTEXT_KEYS:]),
             "parent": pointer.rsplit("/", 1)[0]}
    return {key: value for key, value in found.items() if value or key == "parent"}


def _nested_keys(item: dict) -> list[str]:
    """Keys of an object's nested records (not its own scalar fields)."""
    return [str(k) for k, v in item.items() if _is_container(v) and not _is_scalar_list(v)]


def _code_names_by_key(value: Any) -> dict[str, dict[str, str]]:
    """Codes among the keys of nested records, pooled over every object held under the same
    key ("languagePopulation" of each territory): one object alone often has too few keys to
    tell codes from words. See :mod:`ingest.codes`."""
    pooled: dict[str, list[str]] = {}
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        key, item = stack.pop()
        if isinstance(item, dict):
            pooled.setdefault(key, []).extend(_nested_keys(item))
            stack.extend((str(k), v) for k, v in item.items() if isinstance(v, dict))
    return {key: names for key, keys in pooled.items() if (names := code_names(keys))}


def json_units(value: Any, deadline: Deadline) -> list[Document]:
    units: list[Document] = []
    names_by_key = _code_names_by_key(value)

    def add(pointer: str, text: str, record: Any, above: tuple[str, ...], name: str = "") -> None:
        if text:
            units.append(make_unit(text, pointer, pointer=pointer,
                                   **record_metadata(pointer, record, above, name)))
            if len(units) % 1000 == 0:
                deadline.check(units)

    # (pointer, value, labels of the records above, the key's name when it is a code)
    stack: list[tuple[str, Any, tuple[str, ...], str]] = [("", value, (), "")]
    while stack:
        pointer, item, above, name = stack.pop()
        if isinstance(item, dict):
            own = {k: v for k, v in item.items() if not _is_container(v) or _is_scalar_list(v)}
            add(pointer, render_record(own), own, above, name)
            inner = (*above, record_label(pointer, own, name))
            names = names_by_key.get(_own_key(pointer), {})
            # Pointers are cut as they grow (see ingest.parsed.elide_middle).
            nested = [(elide_middle(f"{pointer}/{escape_pointer_token(k)}"), v, inner,
                       names.get(str(k), "")) for k, v in item.items() if k not in own]
            stack.extend(reversed(nested))
        elif isinstance(item, list) and not _is_scalar_list(item):
            add(pointer, render_record([v for v in item if not _is_container(v)]), None, above,
                name)
            inner = (*above, record_label(pointer, None, name))
            for index, record in enumerate(item):
                if _is_container(record):
                    add(elide_middle(f"{pointer}/{index}"), render_record(record), record,
                        inner)
        else:
            add(pointer, render_record(item), None, above, name)
    return units


def parse_json(data: bytes, name: str, limits: ParseLimits) -> ParsedFile:
    """Units: records / objects of one JSON document; metadata and locator ``pointer``."""
    check_size(len(data), name, limits)
    deadline = Deadline(name, limits, len(data))
    value = load_json(decode_json_text(data, name), name, limits)
    deadline.check()
    units = json_units(value, deadline)
    if not units:
        raise IngestError(name, _NO_TEXT)
    return ParsedFile(format="json", title=display_stem(name), units=units)


def parse_jsonl(data: bytes, name: str, limits: ParseLimits) -> ParsedFile:
    """Units: one per non-blank line; ``pointer`` "/<0-based index>", ``line`` 1-based."""
    check_size(len(data), name, limits)
    deadline = Deadline(name, limits, len(data))
    units = []
    for index, line in enumerate(decode_json_text(data, name).split("\n")):
        if not line.strip():
            continue
        if index % 1000 == 0:
            deadline.check(units)
        record = load_json(line, name, limits, line=index + 1)
        text = render_record(record)
        if text:
            pointer = f"/{index}"
            units.append(make_unit(text, pointer, pointer=pointer, line=index + 1,
                                   **record_metadata(pointer, record, ())))
    if not units:
        raise IngestError(name, _NO_TEXT)
    return ParsedFile(format="jsonl", title=display_stem(name), units=units)
