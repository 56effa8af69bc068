"""Follow-up measurement: the raw follow-up misses, the rule's rewrite finds the unit."""

from __future__ import annotations

from rag.answer.followup import rewrite_by_rule
from rag.eval.followup_eval import measure_followups
from rag.settings import Settings, StoreSettings
from rag.store.index import DocumentIndex
from tests.rag.conftest import unique_collection


def test_rule_rewrite_is_scored_against_raw_and_reference(tmp_path, embeddings, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "pumps.md").write_text(
        "# Pumps\n\n## Halvard K7\n\nThe Halvard K7 heat pump is serviced every 19 months.\n\n"
        "## Gardening\n\nTomatoes like sun and regular watering in summer.\n",
        encoding="utf-8",
    )
    settings = Settings(store=StoreSettings(mode="memory", collection=unique_collection()))
    index = DocumentIndex(settings, embeddings=embeddings)
    assert index.ingest_paths([tmp_path / "docs"]).failed == 0
    conversation = {
        "turns": [{"question": "Tell me about the Halvard K7 heat pump service"},
                  {"question": "how often?"}],
        "standalone": "How often is the Halvard K7 heat pump serviced?",
        "relevant": [{"source": "docs/pumps.md", "locator": "Pumps > Halvard K7"}],
    }
    result = measure_followups(
        index, [conversation], {"rule": rewrite_by_rule}, settings, k=1
    )
    assert result.total == 1
    assert result.hits["reference"] == 1
    assert result.hits["rule"] == 1
    assert "halvard" in result.rewrites["rule"][0]
