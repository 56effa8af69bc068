from rag.eval.datasets import GoldRef
from rag.eval.relevance import (
    dedup_hits,
    locator_covers,
    matching_ref,
    normalise_source,
    same_source,
)


def test_locator_exact_and_structural_descendants():
    assert locator_covers("/errors/3", "/errors/3")
    assert locator_covers("/errors", "/errors/3")
    assert not locator_covers("/errors/3", "/errors/30")
    assert locator_covers("/catalog/book[2]", "/catalog/book[2]/title")
    assert not locator_covers("/catalog/book[2]", "/catalog/book[20]")
    assert locator_covers("page 3", "page 3")
    assert not locator_covers("page 3", "page 30")
    assert locator_covers("Install > Linux#linux", "Install > Linux#linux")
    assert locator_covers("Install", "Install > Linux#linux")
    assert locator_covers("Install > Linux", "Install > Linux#linux")
    assert not locator_covers("Install > Linux", "Install > Linuxes")
    assert locator_covers("", "Intro")  # empty gold locator: the whole file


def test_sources_compare_as_relative_posix_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert normalise_source("./data/corpus/../corpus/x.pdf") == "data/corpus/x.pdf"
    assert normalise_source(str(tmp_path / "data" / "corpus" / "x.pdf")) == "data/corpus/x.pdf"
    assert same_source(str(tmp_path / "data/corpus/x.pdf"), "data/corpus/x.pdf")
    assert same_source("/elsewhere/data/corpus/x.pdf", "data/corpus/x.pdf")
    assert not same_source("data/corpus/y.pdf", "data/corpus/x.pdf")
    assert not same_source("data/corpus/ax.pdf", "x.pdf")


def test_matching_ref_needs_source_and_locator():
    refs = (GoldRef("data/corpus/a.json", "/errors/3"), GoldRef("data/corpus/b.pdf", "page 2"))
    assert matching_ref({"source": "data/corpus/a.json", "locator": "/errors/3"}, refs) == 0
    assert matching_ref({"source": "data/corpus/b.pdf", "locator": "page 2"}, refs) == 1
    assert matching_ref({"source": "data/corpus/b.pdf", "locator": "/errors/3"}, refs) is None
    assert matching_ref({"source": "data/corpus/a.json", "locator": "page 2"}, refs) is None


def test_dedup_counts_a_unit_once_at_its_first_rank():
    assert dedup_hits([None, 0, 0, 1, None, 1]) == [False, True, False, True, False, False]
