import math

import pytest

from rag.eval.metrics import (
    citation_correctness,
    contains_answer,
    exact_match,
    first_relevant_rank,
    mrr_at_k,
    ndcg_at_k,
    normalize_answer,
    percentile,
    recall_at_k,
    token_f1,
)

F, T = False, True


def test_recall_at_k_counts_relevant_units_in_the_top_k():
    hits = [F, T, F, T]
    assert recall_at_k(hits, 2, 1) == 0.0
    assert recall_at_k(hits, 2, 2) == 0.5
    assert recall_at_k(hits, 2, 5) == 1.0
    # Three relevant units, only two retrieved: 2/3 at any depth.
    assert recall_at_k(hits, 3, 10) == pytest.approx(2 / 3)


def test_recall_needs_relevant_units():
    with pytest.raises(ValueError):
        recall_at_k([T], 0, 5)


def test_mrr_is_reciprocal_rank_of_first_hit_within_k():
    assert mrr_at_k([F, F, T, T]) == pytest.approx(1 / 3)
    assert mrr_at_k([T]) == 1.0
    assert mrr_at_k([F] * 10 + [T], k=10) == 0.0  # rank 11 is outside MRR@10
    assert first_relevant_rank([F, F, F]) is None
    assert first_relevant_rank([F, T]) == 2


def test_ndcg_binary_log2_discount():
    # DCG = 1/log2(3) + 1/log2(5); ideal for 2 relevant = 1 + 1/log2(3).
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k([F, T, F, T], 2) == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(0.650920, abs=1e-6)
    assert ndcg_at_k([T, T], 2) == 1.0
    assert ndcg_at_k([F] * 10 + [T], 1) == 0.0


def test_ndcg_ideal_is_cut_at_k_like_pytrec_eval():
    # 12 relevant units but only 10 ranks count: all-relevant top 10 is perfect.
    assert ndcg_at_k([T] * 10, 12, k=10) == pytest.approx(1.0)
    # One relevant at rank 1 out of 3 relevant: 1 / (1 + 1/log2(3) + 1/log2(4)).
    assert ndcg_at_k([T, F, F], 3) == pytest.approx(1 / (1 + 1 / math.log2(3) + 0.5))


def test_percentile_interpolates_linearly():
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([10.0, 0.0, 5.0], 50) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)
    assert math.isnan(percentile([], 50))


def test_squad_normalisation():
    assert normalize_answer("The  Cat's hat!") == "cats hat"
    assert normalize_answer("An apple, a pear") == "apple pear"
    assert normalize_answer("“Quoted”  text") == "quoted text"


def test_exact_match_and_f1_against_any_reference():
    assert exact_match("the Eiffel Tower.", ["Eiffel tower", "tower"]) == 1.0
    assert exact_match("Eiffel", ["Eiffel tower"]) == 0.0
    # pred [cat, sat] vs ref [cat, sat, down]: P = 1, R = 2/3, F1 = 0.8
    assert token_f1("the cat sat", ["a cat sat down"]) == pytest.approx(0.8)
    assert token_f1("dog", ["cat", "a dog"]) == 1.0
    assert token_f1("dog", ["cat"]) == 0.0
    assert token_f1("", [""]) == 1.0  # SQuAD: empty vs empty agree


def test_contains_answer_on_whole_normalised_tokens():
    assert contains_answer("It takes 30 minutes [1].", ["30 minutes"])
    assert contains_answer("Press the RESET button.", ["nope", "reset button"])
    assert not contains_answer("In 2010 it shipped.", ["10"])
    assert not contains_answer("anything", [""])


def test_contains_answer_splits_tokens_at_punctuation():
    assert contains_answer("region [status=shared_by_treaty]", ["shared_by_treaty"])
    assert contains_answer("Valid until 1999-12-31.", ["1999-12-31"])
    assert contains_answer("Tolkien's books", ["Tolkien"])
    assert not contains_answer("Valid until 1999-12-31.", ["1999-12-3"])


def test_contains_answer_finds_a_reference_of_punctuation_only_as_written():
    assert contains_answer("smiley: :-]", [":-]"])
    assert not contains_answer("smiley: :-(", [":-]"])


def test_citation_correctness_is_share_of_relevant_citations():
    assert citation_correctness([T, F, T, T]) == 0.75
    assert citation_correctness([F]) == 0.0
    assert citation_correctness([]) is None
