import math

import pytest

from rag.errors import ConfigError
from rag.settings import EmbeddingSettings, Settings
from rag.store.embeddings import (
    DEFAULT_MODEL_NAME,
    LocalEmbeddings,
    default_model_path,
    get_embeddings,
)

pytestmark = pytest.mark.slow


def test_default_model_is_the_packaged_folder():
    assert (default_model_path() / "config.json").is_file()
    assert LocalEmbeddings().model_name == DEFAULT_MODEL_NAME
    assert LocalEmbeddings(model="/models/other").model_name == "/models/other"


def test_vectors_are_unit_length(embeddings):
    vectors = embeddings.embed_documents(["short", "a somewhat longer sentence about tractors"])
    for vector in vectors:
        assert len(vector) == 384
        assert math.isclose(math.fsum(x * x for x in vector), 1.0, rel_tol=1e-4)


def test_batched_length_sorted_results_keep_input_order(embeddings):
    texts = [
        "The lighthouse lamp is lit at dusk " * 6,
        "cat",
        "Descale the coffee machine every 42 days.",
        "x " * 200,
        "dog",
    ]
    together = embeddings.embed_documents(texts)
    alone = [embeddings.embed_query(t) for t in texts]
    for joint, single in zip(together, alone, strict=True):
        assert max(abs(a - b) for a, b in zip(joint, single, strict=True)) < 1e-4


def test_similar_texts_are_closer_than_unrelated(embeddings):
    query = embeddings.embed_query("How often must the coffee machine be descaled?")
    related, unrelated = embeddings.embed_documents(
        ["Descale the coffee machine every 42 days.", "The lighthouse lamp is lit at dusk."]
    )

    def dot(a, b):
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert dot(query, related) > dot(query, unrelated) + 0.2


def test_count_tokens_excludes_special_tokens(embeddings):
    assert embeddings.count_tokens("hello world") == 2
    assert embeddings.count_tokens("") == 0
    # Long texts are counted in full (the splitter measures them), not cut at 256.
    assert embeddings.count_tokens("word " * 600) == 600


def test_get_embeddings_is_cached_per_model_and_device(embeddings):
    settings = Settings(embedding=EmbeddingSettings(backend="torch"))
    assert get_embeddings(settings) is get_embeddings(settings)
    other_device = Settings(embedding=EmbeddingSettings(backend="torch", device="meta"))
    assert get_embeddings(other_device) is not get_embeddings(settings)
    # The same weights are shared: a second instance does not load the model again.
    assert LocalEmbeddings().encoder is embeddings.encoder


def test_empty_input_embeds_nothing(embeddings):
    assert embeddings.embed_documents([]) == []


def test_missing_model_folder_is_a_config_error(tmp_path):
    broken = LocalEmbeddings(model=str(tmp_path / "no-such-model"))
    with pytest.raises(ConfigError, match="no-such-model"):
        broken.embed_query("anything")


def test_bad_batch_size_is_refused():
    with pytest.raises(ConfigError, match="batch_size"):
        LocalEmbeddings(batch_size=0)


def test_max_tokens_embeds_only_the_first_wordpieces(embeddings):
    cut = LocalEmbeddings(backend="torch", max_tokens=6)
    assert cut.encoder is embeddings.encoder  # a limit, not another copy of the model
    head = "The pump restarts after forty"  # six wordpieces
    assert embeddings.count_tokens(head) == 6
    long = head + " seconds when the float switch trips, unless the breaker is open."

    def close(a, b):
        return max(abs(x - y) for x, y in zip(a, b, strict=True)) < 1e-4

    limited, short = cut.embed_documents([long, "float switch"])
    assert close(limited, embeddings.embed_query(head))  # cut at a wordpiece end
    assert not close(limited, embeddings.embed_query(long))
    assert close(short, embeddings.embed_query("float switch"))  # shorter texts whole
    assert close(cut.embed_query(long), limited)


def test_max_tokens_cuts_at_the_end_of_a_split_word(embeddings):
    cut = LocalEmbeddings(backend="torch", max_tokens=2)
    # "unsubscribable" is several wordpieces: the cut keeps whole wordpieces only.
    pieces = embeddings.encoder.tokenizer.tokenize("unsubscribable")
    assert len(pieces) > 2
    (kept,) = cut.truncate(["unsubscribable tail"])
    assert embeddings.encoder.tokenizer.tokenize(kept) == pieces[:2]


def test_negative_max_tokens_is_refused():
    with pytest.raises(ConfigError, match="max_tokens"):
        LocalEmbeddings(max_tokens=-1)


def test_a_text_measured_again_is_not_tokenized_again():
    model = LocalEmbeddings(backend="torch")
    text = "The float switch trips after forty seconds."
    first = model.count_tokens(text)
    before = model._token_counts.cache_info().hits
    assert model.count_tokens(text) == first == len(model.encoder.tokenizer.tokenize(text))
    assert model._token_counts.cache_info().hits == before + 1


def test_later_windows_cover_what_the_first_window_left_in_pieces(embeddings):
    text = "The float switch trips after forty seconds unless the breaker is open again."
    tokenize = embeddings.encoder.tokenizer.tokenize
    pieces = embeddings.later_windows(text, read=4, size=3)
    assert [len(tokenize(p)) for p in pieces[:-1]] == [3] * (len(pieces) - 1)
    assert 1 <= len(tokenize(pieces[-1])) <= 3
    # Together the pieces are the wordpieces after the first four, in order, none lost.
    assert [t for p in pieces for t in tokenize(p)] == tokenize(text)[4:]
    assert embeddings.later_windows(text, read=100, size=3) == []
    with pytest.raises(ValueError, match="window size"):
        embeddings.later_windows(text, read=4, size=0)
