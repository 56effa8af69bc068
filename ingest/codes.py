"""Standard codes read as names: records keyed by ISO codes also carry the code's English name.

Data files key their records by standard codes: a territory by "IS", a language by "cy" or
"sr_Latn", a currency by "EUR", a script by "Cyrl". People ask by name ("Iceland", "Welsh"), so
a record that only says "IS" is found by neither keyword nor dense search. When the keys of
sibling records are (nearly) all codes of one standard, each key gets its name from pycountry's
copy of the ISO tables (3166-1 countries and withdrawn ones, 639-3 languages, 4217 currencies,
15924 scripts), shown as "IS (Iceland)". Nearly all and of one standard, because a short key is
often a word or an abbreviation ("id", "no", "to") that happens to resolve when it stands alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache

# A key set is read as codes when at least this share of it (and this many keys) resolves in
# one standard; below that the keys are something else that a few codes happen to match.
MIN_SHARE = 0.8
MIN_KEYS = 3

_REGION = re.compile(r"[A-Z]{2,3}")
_LANGUAGE = re.compile(r"[a-z]{2,3}")
# A locale tag: a language with script and/or region subtags ("sr_Latn_BA", "zh-Hant", "en-GB").
_LOCALE = re.compile(r"([a-z]{2,3})((?:[_-](?:[A-Z][a-z]{3}|[A-Z]{2}|[0-9]{3}))+)")
_SUBTAG = re.compile(r"[_-]([A-Za-z0-9]+)")
_CURRENCY = re.compile(r"[A-Z]{3}")
_SCRIPT = re.compile(r"[A-Z][a-z]{3}")


def _pycountry():  # the module, imported on first use (its tables load lazily)
    import pycountry

    return pycountry


def _named(record: object) -> str:
    if record is None:
        return ""
    return str(getattr(record, "common_name", "") or getattr(record, "name", "") or "")


@lru_cache(maxsize=4096)
def region_name(code: str) -> str:
    if not _REGION.fullmatch(code):
        return ""
    lib = _pycountry()
    key = "alpha_2" if len(code) == 2 else "alpha_3"
    return _named(lib.countries.get(**{key: code}) or lib.historic_countries.get(**{key: code}))


@lru_cache(maxsize=4096)
def language_name(code: str) -> str:
    if _LANGUAGE.fullmatch(code):
        lib = _pycountry()
        return _named(lib.languages.get(**{"alpha_2" if len(code) == 2 else "alpha_3": code}))
    locale = _LOCALE.fullmatch(code)
    if not locale:
        return ""
    language = language_name(locale.group(1))
    if not language:
        return ""
    parts = [script_name(tag) or region_name(tag) for tag in _SUBTAG.findall(locale.group(2))]
    return f"{language} ({', '.join(parts)})" if all(parts) else ""


@lru_cache(maxsize=4096)
def currency_name(code: str) -> str:
    return _named(_pycountry().currencies.get(alpha_3=code)) if _CURRENCY.fullmatch(code) else ""


@lru_cache(maxsize=4096)
def script_name(code: str) -> str:
    return _named(_pycountry().scripts.get(alpha_4=code)) if _SCRIPT.fullmatch(code) else ""


_STANDARDS: tuple[Callable[[str], str], ...] = (
    region_name, language_name, currency_name, script_name)


def code_names(keys: Iterable[str]) -> dict[str, str]:
    """``{key: English name}`` for sibling keys that are codes of one standard, else ``{}``."""
    keys = list(dict.fromkeys(k for k in keys if k))
    # The shape first (no table lookup for keys that are plainly not codes).
    if len(keys) < MIN_KEYS or sum(map(_looks_like_code, keys)) < MIN_SHARE * len(keys):
        return {}
    best: dict[str, str] = {}
    for name_of in _STANDARDS:
        found = {k: n for k in keys if (n := name_of(k))}
        if len(found) > len(best):
            best = found
    if len(best) < MIN_KEYS or len(best) < MIN_SHARE * len(keys):
        return {}
    return best


def file_code_name(stem: str) -> str:
    """The English name of a file stem that is a language or locale code ("cy": Welsh,
    "pt_BR") or a region code ("DE"), else "". Locale data is filed by code (CLDR's
    ``main/cy.xml``, ``locales/de.json``, ``values-fr``) and asked about by name. Two-letter
    codes and locale tags only: a three-letter stem is as often a word or an abbreviation that
    ISO 639-3 happens to list ("man", "new", "log")."""
    if len(stem) == 2:
        return language_name(stem) or region_name(stem)
    return language_name(stem) if _LOCALE.fullmatch(stem) else ""


def _looks_like_code(key: str) -> bool:
    """Cheap shape check before any table lookup: short letters, a locale tag."""
    return len(key) <= 16 and bool(
        _REGION.fullmatch(key) or _LANGUAGE.fullmatch(key) or _SCRIPT.fullmatch(key)
        or _LOCALE.fullmatch(key))


def named(code: str, name: str) -> str:
    """``"IS (Iceland)"``: a code as every parser writes it with its name; ``code`` alone when
    ``name`` is empty."""
    return f"{code} ({name})" if name else code


def with_name(key: str, names: dict[str, str]) -> str:
    """``key`` with its name in ``names`` (see :func:`named`)."""
    return named(key, names.get(key, ""))
