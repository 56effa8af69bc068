"""The README's example table is what the app replies today (default settings: the int8
embedding backend, the packaged model), and the command that writes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.cli.examples import (
    END,
    START,
    example_settings,
    examples_table,
    read_questions,
    replace_table,
)
from rag.errors import ConfigError
from rag.settings import EmbeddingSettings, Settings, StoreSettings
from rag.store.index import DocumentIndex

ROOT = Path(__file__).resolve().parents[3]


def test_replace_table_swaps_only_the_block_between_the_markers():
    text = f"intro\n{START}\nold | table\n{END}\noutro\n"
    assert replace_table(text, "| new |") == f"intro\n{START}\n| new |\n{END}\noutro\n"
    with pytest.raises(ConfigError, match="needs one"):
        replace_table("no markers here", "| new |", "README.md")


def test_questions_file_skips_comments_and_blank_lines(tmp_path):
    path = tmp_path / "q.txt"
    path.write_text("# a comment\n\nFirst?\n  Second?  \n", encoding="utf-8")
    assert read_questions(path) == ["First?", "Second?"]
    with pytest.raises(ConfigError, match="cannot read"):
        read_questions(tmp_path / "absent.txt")


@pytest.mark.slow
def test_readme_table_is_what_the_app_says_today(project_cache_dir):
    # The app's defaults (its cache folder holds the converted model and the int8 export),
    # not the suite's torch embedding backend (tests/conftest.py).
    settings = example_settings(Settings(
        store=StoreSettings(mode="memory"),
        embedding=EmbeddingSettings(backend="onnx-int8"),
        cache_dir=project_cache_dir,
    ))
    index = DocumentIndex(settings)
    assert index.ingest_paths([ROOT / "data" / "corpus"]).failed == 0
    table = examples_table(index, read_questions(ROOT / "data" / "examples.txt"), settings)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = readme.split(START, 1)[1].split(END, 1)[0].strip()
    assert shown == table, (
        "README's example table is out of date: run `python -m rag examples --write README.md`"
    )
