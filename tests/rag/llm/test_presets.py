"""Prompt and decoding presets: every shipped file loads, and the exact text sent is pinned."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from rag.answer.grounding import NOT_IN_DOCUMENTS
from rag.errors import ConfigError
from rag.llm.presets import (
    DecodingPreset,
    list_decoding_presets,
    list_prompt_presets,
    load_decoding_preset,
    load_prompt_preset,
)

CONTEXT = "[1] The Aurora X2 battery holds 5,000 mAh.\n[2] It charges in 90 minutes."
QUESTION = "How big is the Aurora X2 battery?"

STRICT_SYSTEM = (
    "You answer questions using only the numbered documents the user gives you. "
    "Cite the number of each document you use, like [1]. "
    "If the documents do not contain the answer, say exactly: "
    "The documents do not contain the answer."
)
DOCS_TEMPLATE = "Documents:\n{context}\n\nQuestion: {question}"
KETTLE = (
    "[1] The Model X kettle boils one litre of water in 3 minutes.\n"
    "[2] The kettle switches itself off when the water boils.",
    "How long does the Model X kettle take to boil a litre?",
    "It boils one litre in 3 minutes [1].",
)


def docs(context: str, question: str) -> str:
    return f"Documents:\n{context}\n\nQuestion: {question}"


def test_shipped_presets_are_listed() -> None:
    assert list_prompt_presets() == [
        "bullet_summary", "few_shot", "grounded", "one_shot", "reasoning", "tutor",
        "tutorial_baseline",
    ]
    assert list_decoding_presets() == ["creative", "greedy", "sampling", "top_k", "top_p"]


@pytest.mark.parametrize("name", list_prompt_presets())
def test_every_prompt_preset_renders_question_last(name: str) -> None:
    preset = load_prompt_preset(name)
    messages = preset.render(CONTEXT, QUESTION)
    final = messages[-1]
    assert isinstance(final, HumanMessage)
    assert CONTEXT in final.content
    # The question is the last thing the model reads (only an answer cue may follow).
    tail = final.content.split(QUESTION)[-1]
    assert tail in ("", "\nHelpful Answer:")
    assert load_decoding_preset(preset.decoding)  # its default decoding preset exists


def test_grounded_exact_messages() -> None:
    preset = load_prompt_preset("grounded")
    assert preset.system == STRICT_SYSTEM
    assert NOT_IN_DOCUMENTS in preset.system  # the refusal the grounding check recognises
    assert preset.max_new_tokens == 48  # a short copied phrase, not an essay
    assert preset.render(CONTEXT, QUESTION) == [
        SystemMessage(STRICT_SYSTEM),
        HumanMessage(
            f"Documents:\n{CONTEXT}\n\n"
            "Answer with a short phrase copied from the documents and its number, like [1].\n"
            f"Question: {QUESTION}"
        ),
    ]


def test_one_shot_exact_messages() -> None:
    messages = load_prompt_preset("one_shot").render(CONTEXT, QUESTION)
    assert messages == [
        SystemMessage(STRICT_SYSTEM),
        HumanMessage(docs(KETTLE[0], KETTLE[1])),
        AIMessage(KETTLE[2]),
        HumanMessage(docs(CONTEXT, QUESTION)),
    ]


def test_few_shot_exact_messages() -> None:
    messages = load_prompt_preset("few_shot").render(CONTEXT, QUESTION)
    library = (
        "[1] The library opens at 9 am on weekdays.\n"
        "[2] On Saturdays the library opens at 10 am and closes at 4 pm."
    )
    bridge = "[1] The bridge was finished in 1932.\n[2] It is 1,149 metres long."
    assert messages == [
        SystemMessage(STRICT_SYSTEM),
        HumanMessage(docs(KETTLE[0], KETTLE[1])),
        AIMessage(KETTLE[2]),
        HumanMessage(docs(library, "When does the library open?")),
        AIMessage("At 9 am on weekdays [1] and at 10 am on Saturdays [2]."),
        HumanMessage(docs(bridge, "Who designed the bridge?")),
        AIMessage(NOT_IN_DOCUMENTS),
        HumanMessage(docs(CONTEXT, QUESTION)),
    ]


def test_reasoning_exact_messages_and_answer_part() -> None:
    preset = load_prompt_preset("reasoning")
    system = (
        "You answer questions using only the numbered documents the user gives you. "
        "First reason step by step about which documents are relevant and what they say. "
        'Then write a last line that starts with "Answer:" and gives the final answer, '
        "citing the documents you used like [1]. "
        "If the documents do not contain the answer, the last line is exactly: "
        "Answer: The documents do not contain the answer."
    )
    assert preset.render(CONTEXT, QUESTION) == [
        SystemMessage(system), HumanMessage(docs(CONTEXT, QUESTION))
    ]
    generated = "Document [1] gives the capacity.\nAnswer: 5,000 mAh [1]."
    assert preset.answer_part(generated) == "5,000 mAh [1]."
    assert preset.answer_part("no marker here") == "no marker here"
    assert load_prompt_preset("grounded").answer_part(generated) == generated


def test_bullet_summary_exact_messages() -> None:
    system = (
        "You answer questions using only the numbered documents the user gives you. "
        'Answer with at most five short bullet points starting with "- ". '
        "End each bullet with the number of the document it comes from, like [1]. "
        "If the documents do not contain the answer, say exactly: "
        "The documents do not contain the answer."
    )
    assert load_prompt_preset("bullet_summary").render(CONTEXT, QUESTION) == [
        SystemMessage(system), HumanMessage(docs(CONTEXT, QUESTION))
    ]


def test_tutor_exact_messages() -> None:
    system = (
        "You are a patient tutor helping a student understand their course documents. "
        "Explain the answer in plain words, in two or three short sentences, using only the "
        "numbered documents. Cite the documents you use like [1]. "
        "If the documents do not contain the answer, say exactly: "
        "The documents do not contain the answer."
    )
    preset = load_prompt_preset("tutor")
    assert preset.render(CONTEXT, QUESTION) == [
        SystemMessage(system),
        HumanMessage(f"Course documents:\n{CONTEXT}\n\nStudent's question: {QUESTION}"),
    ]
    assert preset.decoding == "top_p"


def test_tutorial_baseline_is_the_classic_single_prompt() -> None:
    expected = (
        "Use the following pieces of context to answer the question at the end. If you don't "
        "know the answer, just say that you don't know, don't try to make up an answer.\n\n"
        f"{CONTEXT}\n\nQuestion: {QUESTION}\nHelpful Answer:"
    )
    assert load_prompt_preset("tutorial_baseline").render(CONTEXT, QUESTION) == [
        HumanMessage(expected)
    ]


def test_history_goes_between_examples_and_question() -> None:
    history = [("What is the X2?", "A phone [1].")]
    messages = load_prompt_preset("one_shot").render(CONTEXT, QUESTION, history=history)
    assert messages[3:] == [
        HumanMessage("What is the X2?"),
        AIMessage("A phone [1]."),
        HumanMessage(docs(CONTEXT, QUESTION)),
    ]


def test_braces_in_documents_are_kept_verbatim() -> None:
    context = '[1] {"battery": "5,000 mAh", "note": "{question}"}'
    final = load_prompt_preset("one_shot").render(context, QUESTION)[-1]
    assert final.content == docs(context, QUESTION)


def test_examples_and_fixed_text_for_token_budgets() -> None:
    few = load_prompt_preset("few_shot")
    text = few.examples_text()
    assert text.count("Documents:") == 3
    assert KETTLE[2] in text and NOT_IN_DOCUMENTS in text
    assert load_prompt_preset("grounded").examples_text() == ""
    fixed = few.fixed_text()
    assert fixed.startswith(STRICT_SYSTEM) and text in fixed
    assert fixed.endswith("Documents:\n\n\nQuestion: ")  # the template with empty slots


def test_decoding_presets_values() -> None:
    greedy = load_decoding_preset("greedy")
    assert greedy.greedy and greedy.temperature == 0.0 and greedy.repetition_penalty == 1.1
    assert load_decoding_preset("sampling").temperature == 0.8
    top_k = load_decoding_preset("top_k")
    assert (top_k.top_k, top_k.temperature) == (40, 0.7)
    top_p = load_decoding_preset("top_p")
    assert (top_p.top_p, top_p.temperature) == (0.9, 0.7)
    creative = load_decoding_preset("creative")
    assert (creative.temperature, creative.top_p, creative.seed) == (1.0, 0.95, 1234)
    for name in list_decoding_presets():
        preset = load_decoding_preset(name)
        assert isinstance(preset, DecodingPreset) and preset.max_new_tokens >= 64


def _copy_shipped(tmp_path: Path) -> Path:
    folder = tmp_path / "prompts"
    (folder / "decoding").mkdir(parents=True)
    shipped = Path(__file__).resolve().parents[3] / "prompts"
    for f in shipped.glob("*.yaml"):
        (folder / f.name).write_text(f.read_text())
    for f in (shipped / "decoding").glob("*.yaml"):
        (folder / "decoding" / f.name).write_text(f.read_text())
    return folder


def test_dropped_in_preset_appears(tmp_path: Path) -> None:
    folder = _copy_shipped(tmp_path)
    (folder / "pirate.yaml").write_text(
        "description: Answers like a pirate.\n"
        "system: Talk like a pirate.\n"
        "template: \"Context: {context}\\nQ: {question}\"\n"
        "decoding: sampling\n"
    )
    (folder / "decoding" / "cool.yaml").write_text("description: cool\ntemperature: 0.3\n")
    assert "pirate" in list_prompt_presets(folder)
    pirate = load_prompt_preset("pirate", folder)
    assert pirate.render("C", "Q") == [SystemMessage("Talk like a pirate."),
                                       HumanMessage("Context: C\nQ: Q")]
    assert load_decoding_preset("cool", folder).temperature == 0.3
    assert "pirate" not in list_prompt_presets()  # the shipped folder is untouched


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("system: [unclosed\n", "cannot read preset"),
        ("- just\n- a list\n", "mapping"),
        ("description: d\nsystem: s\ntemplate: 'Q: {question}'\n", "{context}"),
        ("description: d\nsystem: s\ntemplate: 'Q: {question} C: {context}'\n", "after"),
        ("description: d\nsystem: s\ntemplate: '{context} {name} {question}'\n", "placeholders"),
        ("description: d\nsystem: s\ntemplate: '{context} {question}'\ncolour: red\n", "colour"),
        ("name: other\ndescription: d\nsystem: s\ntemplate: '{context} {question}'\n", "differs"),
    ],
)
def test_bad_prompt_file_names_file_and_problem(tmp_path: Path, content: str, problem: str):
    (tmp_path / "decoding").mkdir()
    (tmp_path / "broken.yaml").write_text(content)
    with pytest.raises(ConfigError, match=r"broken\.yaml") as info:
        load_prompt_preset("broken", tmp_path)
    assert problem in str(info.value)


def test_bad_decoding_value_names_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "decoding").mkdir()
    (tmp_path / "decoding" / "hot.yaml").write_text("description: d\ntemperature: 9\n")
    with pytest.raises(ConfigError, match=r"hot\.yaml: invalid preset: temperature"):
        load_decoding_preset("hot", tmp_path)


def test_unknown_names_list_the_available_ones() -> None:
    with pytest.raises(ConfigError, match="available: bullet_summary, few_shot, grounded"):
        load_prompt_preset("nope")
    with pytest.raises(ConfigError, match="available: creative, greedy, sampling"):
        load_decoding_preset("nope")
