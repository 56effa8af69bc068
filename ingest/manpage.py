"""Manual pages (troff with the man macros): the text a reader sees, one unit per section.

Read as plain text, a page is mostly markup: ``.TP``, ``\\fB--help\\fR``, ``\\-``, and pages
generated from DocBook put every inline word of a sentence on a line of its own, so a
sentence cut at those lines reached neither search nor the answer scorer whole. Here the text
lines of a paragraph are filled into one line as ``man`` does, font and size changes dropped,
special characters written out, and requests that only lay the page out (spacing, indents,
macro and string definitions, conditionals) left out. ``.SH`` starts a unit and ``.SS`` a
subsection: the locator is the section path ("OPTIONS > Exit status"), as for Markdown. The
title is the NAME line ("chage - change user password expiry information"). BSD's mdoc
macros (``.Dd``/``.Sh``) are not this format and stay plain text.
"""

from __future__ import annotations

import re

from ingest.errors import IngestError
from ingest.limits import ParseLimits, check_size
from ingest.parsed import ParsedFile, display_stem, make_unit
from ingest.textcodec import decode_document

# A .TH request (the man macros' title line) and BSD mdoc's .Dd/.Dt, each at a line's start.
_TH_LINE = re.compile(r"^[.'][ \t]*TH[ \t]", re.M)
_MDOC_LINE = re.compile(r"^[.'][ \t]*D[dt][ \t]", re.M)
# The line that ends a macro definition (.de/.am) or ignored block (.ig): "..", or ".  ."
_DEFINITION_END = re.compile(r"[.'][ \t]*\.[ \t]*")

# One escape sequence: the alternatives have bounded length or a bracketed name without
# nesting, so a line is scanned once.
_ESCAPE = re.compile(
    r"\\(?:"
    r"(?P<drop>[fFmMngkY](?:\[[^\]\n]*\]|\(..|.)"  # font, colour, register
    r"|\*(?P<string>\[[^\]\n]*\]|\(..|.)"  # a defined string (resolved, not dropped)
    r"|s[-+]?(?:\[[^\]\n]*\]|\(\d\d|\d)"  # type size
    r"|[hvwlLNoDbxXZHSRABCE]'[^'\n]*'"  # functions with a quoted argument
    r"|[$][*@0-9])"  # macro arguments
    r"|\((?P<two>..)"  # special character, two-letter name
    r"|\[(?P<named>[^\]\n]*)\]"  # special character, long name
    r"|(?P<one>.))"
)
_SPECIAL = {
    "em": "—", "en": "–", "bu": "•", "aq": "'", "dq": '"', "lq": "“", "rq": "”", "oq": "‘",
    "cq": "’", "co": "©", "rg": "®", "tm": "™", "mi": "-", "hy": "-", "ti": "~", "ha": "^",
    "sl": "/", "rs": "\\", "lB": "[", "rB": "]", "lC": "{", "rC": "}", "Fo": "«", "Fc": "»",
    "fo": "‹", "fc": "›", "de": "°", "+-": "±", "mu": "×", "di": "÷", "<=": "≤", ">=": "≥",
    "!=": "≠", "->": "→", "<-": "←", "ga": "`", "aa": "´", "pl": "+", "eq": "=", "sh": "#",
    "Do": "$", "at": "@", "ba": "|", "bv": "|", "dg": "†", "ps": "¶", "sc": "§", "ct": "¢",
    "Eu": "€", "eu": "€", "Po": "£", "Ye": "¥", "ss": "ß", "ae": "æ", "AE": "Æ", "o/": "ø",
    "O/": "Ø", "'e": "é", "`e": "è", ":u": "ü", ":o": "ö", ":a": "ä", "ul": "_", "ru": "_",
}
# Strings the man macros define; a page's own ``.ds`` adds to them.
_STRINGS = {"R": "®", "Tm": "™", "lq": "“", "rq": "”", "Aq": "'", "aq": "'"}
# One-character escapes that draw something else or nothing; any other ("\-", "\.") draws
# its character.
_ONE = {"e": "\\", " ": " ", "~": " ", "0": " ", "t": "\t", "%": "", "&": "", "|": "",
        "^": "", "c": "", ":": "", ")": "", "/": "", ",": "", "!": "", "{": "", "}": "",
        "p": "", "r": "", "u": "", "d": "", "z": "", "a": ""}
# Requests and macros whose arguments are text the reader sees, in one font or alternating
# two (".BR ls (1)" reads "ls(1)": the alternating ones join their arguments).
_TEXT_MACROS = frozenset({"B", "I", "SM", "SB", "UR", "MT", "OP", "SY"})
_ALTERNATING = frozenset({"BI", "BR", "IB", "IR", "RB", "RI"})
# Requests that end a filled paragraph (the rest only lay out the page and are left out).
_BREAKS = frozenset({"PP", "P", "LP", "TP", "TQ", "IP", "HP", "br", "sp", "RS", "RE", "nf",
                     "fi", "EX", "EE", "in", "ti", "bp", "ne", "YS", "UE", "ME"})
_NO_FILL = {"nf": True, "EX": True, "fi": False, "EE": False}
_ARGUMENT = re.compile(r'"((?:[^"]|"")*)"|(\S+)')
_NO_TEXT = "no text to index (the manual page is blank)"


def looks_like_manpage(head: str) -> bool:
    """Whether a file's first characters are a troff manual page: they open with a control
    line and hold a .TH request, or open with a troff comment (a long preamble can push .TH
    past the first kilobytes). mdoc pages are not this format."""
    start = head.lstrip()[:3]
    comment = start.startswith(('.\\"', "'\\\"", '\\"'))
    if not (comment or start[:1] in (".", "'")) or _MDOC_LINE.search(head):
        return False
    return comment or bool(_TH_LINE.search(head))


def parse_manpage(data: bytes, name: str, limits: ParseLimits) -> ParsedFile:
    """Units: one per section (``.SH``, subsections ``.SS``), locator the section path."""
    check_size(len(data), name, limits)
    decoded = decode_document(data, name)
    page = _Page()
    for line in decoded.text.split("\n"):
        page.read(line)
    page.end_section()
    if not page.units:
        raise IngestError(name, _NO_TEXT)
    return ParsedFile(format="manpage", title=page.name_line or page.th or display_stem(name),
                      units=page.units, warnings=decoded.warnings)


def plain_text(line: str, strings: dict[str, str] | None = None) -> str:
    """A text line as the reader sees it: escapes resolved (``strings``: the page's defined
    strings besides the man macros' own), the comment at its end cut."""
    defined = _STRINGS if strings is None else {**_STRINGS, **strings}
    return _ESCAPE.sub(lambda match: _resolve(match, defined), _uncomment(line))


class _Page:
    """The page read line by line: sections of filled paragraphs."""

    def __init__(self) -> None:
        self.units: list = []
        self.name_line = ""  # the NAME section's text: "chage - change user password ..."
        self.th = ""  # from .TH: "chage(1)"
        self._path: list[str] = []  # [section] or [section, subsection]
        self._paragraphs: list[str] = []
        self._filling: list[str] = []
        self._no_fill = False
        self._skip_until_dots = False  # inside .de/.ig ... ..
        self._heading_next: str | None = None  # "SH"/"SS" given without a title
        self._strings: dict[str, str] = {}  # defined by the page (.ds)

    def read(self, line: str) -> None:
        if self._skip_until_dots:
            self._skip_until_dots = not _DEFINITION_END.fullmatch(line.rstrip())
            return
        if line[:1] in (".", "'"):
            self._request(line[1:].lstrip())
            return
        text = self._plain(line)
        if self._heading_next is None and not text.strip():
            self._break()
        else:
            self._text(text)

    def _request(self, request: str) -> None:
        if request.startswith('\\"'):
            return  # a comment line
        macro, _, rest = request.partition(" ")
        args = [quoted.replace('""', '"') if quoted is not None and not plain else plain
                for quoted, plain in _ARGUMENT.findall(_uncomment(rest))]
        if macro in ("de", "de1", "am", "ig"):
            self._skip_until_dots = True
        elif macro == "ds":
            self._define(rest, replace=True)
        elif macro in ("ie", "if", "el") and (at := rest.find(".ds ")) >= 0:
            # "ie \n(.g .ds Aq \(aq" / "el .ds Aq '": the first branch is groff's, and kept.
            self._define(rest[at + 4:], replace=False)
        elif macro == "TH":
            self.th = f"{self._plain(args[0]).lower()}({self._plain(args[1])})" \
                if len(args) > 1 else self._plain(args[0]).lower() if args else ""
        elif macro in ("SH", "SS"):
            if args:
                self._heading(macro, self._plain(" ".join(args)))
            else:
                self._heading_next = macro
        elif macro in _TEXT_MACROS or macro in _ALTERNATING:
            joined = ("" if macro in _ALTERNATING else " ").join(self._plain(a) for a in args)
            if joined.strip():
                self._text(joined)
        elif macro in _BREAKS:
            self._break()
            self._no_fill = _NO_FILL.get(macro, self._no_fill)
            if macro == "IP" and args and (tag := self._plain(args[0]).strip()):
                self._filling.append(tag)

    def _plain(self, text: str) -> str:
        return plain_text(text, self._strings)

    def _define(self, definition: str, *, replace: bool) -> None:
        name, _, value = _uncomment(definition).strip().partition(" ")
        if name and (replace or name not in self._strings):
            self._strings[name] = self._plain(value.lstrip().removeprefix('"'))

    def _text(self, text: str) -> None:
        """Text the reader sees, from a text line or a text macro's arguments."""
        if self._heading_next is not None:
            self._heading(self._heading_next, text)
        elif self._no_fill:  # a line of its own, after any tag (.IP) waiting to be filled
            self._break()
            self._paragraphs.append(text.rstrip())
        else:
            self._filling.append(text.strip())

    def _break(self) -> None:
        if self._filling:
            self._paragraphs.append(" ".join(self._filling))
            self._filling = []

    def _heading(self, macro: str, title: str) -> None:
        self._heading_next = None
        title = " ".join(title.split())
        self.end_section()
        if macro == "SH" or not self._path:
            self._path = [title]
        else:
            self._path = [self._path[0], title]

    def end_section(self) -> None:
        self._break()
        body = "\n".join(self._paragraphs).strip("\n")
        self._paragraphs = []
        if not body.strip():
            return
        section = " > ".join(self._path)
        if self._path and self._path[0].upper() == "NAME" and not self.name_line:
            self.name_line = " ".join(body.split())
        heading = self._path[-1] if self._path else ""
        text = f"{heading}\n{body}" if heading else body
        self.units.append(make_unit(text, section, section=section))


def _uncomment(line: str) -> str:
    """``line`` without its trailing comment (``\\"`` or ``\\#``, not an escaped backslash
    followed by a quote)."""
    at = 0
    while (at := line.find("\\", at)) >= 0:
        following = line[at + 1: at + 2]
        if following in ('"', "#"):
            return line[:at]
        at += 2
    return line


def _resolve(match: re.Match[str], strings: dict[str, str]) -> str:
    if (string := match.group("string")) is not None:
        return strings.get(string.strip("[]").removeprefix("("), "")
    if match.group("drop") is not None:  # layout only: fonts, sizes, motions, registers
        return ""
    if (two := match.group("two")) is not None:
        return _SPECIAL.get(two, "")
    if (named := match.group("named")) is not None:
        if named.startswith("u") and len(named) in (5, 6):
            try:
                return chr(int(named[1:], 16))
            except ValueError:
                return ""
        return _SPECIAL.get(named, "")
    return _ONE.get(match.group("one"), match.group("one"))
