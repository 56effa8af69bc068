"""Standard codes get their English names, only where sibling keys are codes of one standard."""

import json

from ingest.codes import code_names, language_name, region_name, with_name
from ingest.json_ import parse_json
from ingest.xml import parse_xml


def test_country_language_currency_and_script_codes_resolve():
    assert region_name("FR") == "France"
    assert region_name("NOR") == "Norway"
    assert language_name("fi") == "Finnish"
    assert language_name("haw") == "Hawaiian"  # three-letter ISO 639-3
    assert language_name("pt_BR") == "Portuguese (Brazil)"
    assert language_name("zh-Hant") == "Chinese (Han (Traditional variant))"
    assert code_names(["USD", "JPY", "CHF"]) == {
        "USD": "US Dollar", "JPY": "Yen", "CHF": "Swiss Franc"}
    assert code_names(["Arab", "Grek", "Latn"])["Grek"] == "Greek"


def test_keys_that_merely_look_like_codes_stay_as_they_are():
    # Short field names resolve one by one ("id" is a language code, "to" a country's) but
    # the set is not a set of codes.
    assert code_names(["id", "to", "name", "value", "kind"]) == {}
    assert code_names(["NL", "SE"]) == {}  # too few keys to tell
    assert code_names(["NL", "SE", "DK", "XYZZY", "hello", "world"]) == {}  # half are not
    assert with_name("NL", {}) == "NL"


def test_a_mostly_coded_key_set_names_the_codes_it_can(limits):
    names = code_names(["FR", "DE", "IT", "ES", "QQ"])
    assert names["IT"] == "Italy" and "QQ" not in names


def test_json_records_keyed_by_codes_carry_names_in_label_and_header(limits):
    data = {"countries": {code: {"capital": capital, "languages": {
        lang: {"share": share} for lang, share in langs}}
        for code, capital, langs in [
            ("FI", "Helsinki", [("fi", 87), ("sv", 5)]),
            ("NO", "Oslo", [("nb", 90), ("se", 1)]),
            ("PT", "Lisbon", [("pt", 99)]),
        ]}}
    units = parse_json(json.dumps(data).encode(), "c.json", limits).units
    by_pointer = {u.metadata["pointer"]: u for u in units}
    assert by_pointer["/countries/FI"].metadata["record"] == "FI (Finland)"
    # Each country's "languages" holds one or two keys, too few alone: pooled over every
    # object under the same key they are codes, and the country stays in the context.
    swedish = by_pointer["/countries/FI/languages/sv"]
    assert swedish.metadata["record"] == "sv (Swedish)"
    assert "FI (Finland)" in swedish.metadata["context"]
    assert by_pointer["/countries/PT/languages/pt"].metadata["record"] == "pt (Portuguese)"


def test_json_scalar_fields_keyed_by_codes_are_named(limits):
    data = {"names": {"DE": "Allemagne", "JP": "Japon", "KE": "Kenya", "BR": "Brésil"}}
    (unit,) = parse_json(json.dumps(data).encode(), "fr.json", limits).units
    assert "DE (Germany): Allemagne" in unit.page_content


def test_json_fields_that_are_not_codes_are_left_alone(limits):
    data = {"items": {"id": {"x": 1}, "to": {"x": 2}, "as": {"x": 3}, "name": {"x": 4}}}
    units = parse_json(json.dumps(data).encode(), "o.json", limits).units
    assert {u.metadata["record"] for u in units if u.metadata.get("record")} >= {"id", "to"}
    assert all("(" not in u.metadata.get("record", "") for u in units)


def test_xml_leaf_attributes_and_record_attributes_are_named(limits):
    xml = b"""<root>
      <regions>
        <region code="KE">Kenia</region><region code="PE">Peru</region>
        <region code="VN">Wietnam</region><region code="CL">Chile</region>
        <region code="ZZ">Nieznany</region>
      </regions>
      <langs>
        <lang id="sw"><speakers>71000000</speakers></lang>
        <lang id="qu"><speakers>7000000</speakers></lang>
        <lang id="vi"><speakers>85000000</speakers></lang>
      </langs>
      <flags><flag kind="big">x</flag><flag kind="small">y</flag><flag kind="odd">z</flag></flags>
    </root>"""
    units = parse_xml(xml, "pl.xml", limits).units
    text = "\n".join(u.page_content for u in units)
    assert "region [code=KE (Kenya)]: Kenia" in text
    assert "region [code=ZZ]: Nieznany" in text  # not a country: as written
    records = [u.metadata["record"] for u in units]
    assert any(r.startswith("lang [id=qu (Quechua)]") for r in records)
    assert "flag [kind=big]: x" in text


def test_xml_attributes_holding_lists_of_codes_name_each_code(limits):
    xml = b"""<data><preferences>
        <preference territories="001" ordering="gregorian"/>
        <preference territories="DJ DZ ER" ordering="gregorian islamic"/>
        <preference territories="ET" ordering="gregorian ethiopic"/>
        <preference territories="IL" ordering="gregorian hebrew"/>
    </preferences></data>"""
    text = "\n".join(u.page_content for u in parse_xml(xml, "s.xml", limits).units)
    assert "territories=DJ (Djibouti) DZ (Algeria) ER (Eritrea)" in text
    assert "territories=ET (Ethiopia), ordering=gregorian ethiopic" in text
    assert "territories=001," in text  # a region number, not a code of the standard
    assert "ordering=gregorian islamic" in text  # words, not codes: as written
