"""Prompt and decoding presets: YAML files in ``prompts/`` and ``prompts/decoding/``.

A preset is data, not code: a user drops a new YAML file into the folder and it shows up in
the list. Files are read on every call (they are tiny) so an edit shows without a restart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rag.errors import ConfigError

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
CONTEXT_SLOT = "{context}"
QUESTION_SLOT = "{question}"

T = TypeVar("T", bound=BaseModel)


class PromptExample(BaseModel):
    """One worked example shown to the model before the real question."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    context: str
    question: str
    answer: str


class PromptPreset(BaseModel):
    """System text, a user-message template and optional examples."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str
    system: str = Field(description="System message; empty = none is sent.")
    template: str = Field(description="User message with {context} and {question}.")
    examples: tuple[PromptExample, ...] = ()
    decoding: str = Field("greedy", description="Default decoding preset name.")
    style: tuple[str, ...] = ()
    # For presets that reason first: the marker after which the final answer starts.
    answer_marker: str | None = None
    max_new_tokens: int | None = Field(
        None, ge=1, description="Replies of this style need no more tokens than this."
    )

    @field_validator("template")
    @classmethod
    def _question_comes_last(cls, template: str) -> str:
        for slot in (CONTEXT_SLOT, QUESTION_SLOT):
            if template.count(slot) != 1:
                raise ValueError(f"template must contain {slot} exactly once")
        # Small models answer the last thing they read: the question must close the prompt.
        if template.index(QUESTION_SLOT) < template.index(CONTEXT_SLOT):
            raise ValueError("{question} must come after {context} in the template")
        other = template.replace(CONTEXT_SLOT, "").replace(QUESTION_SLOT, "")
        if "{" in other or "}" in other:
            raise ValueError("template may only use the {context} and {question} placeholders")
        return template

    def user_message(self, context: str, question: str) -> str:
        """The template filled in (plain replacement: braces in documents stay as they are)."""
        head, tail = self.template.split(CONTEXT_SLOT)
        middle, end = tail.split(QUESTION_SLOT)
        return f"{head}{context}{middle}{question}{end}"

    def render(
        self,
        context: str,
        question: str,
        history: list[tuple[str, str]] | None = None,
    ) -> list[BaseMessage]:
        """System, examples as user/assistant turns, past turns, then the filled template."""
        # An empty system text sends no system turn (the tutorial baseline is one user prompt).
        messages: list[BaseMessage] = [SystemMessage(self.system)] if self.system else []
        for example in self.examples:
            messages.append(HumanMessage(self.user_message(example.context, example.question)))
            messages.append(AIMessage(example.answer))
        for past_question, past_answer in history or []:
            messages.append(HumanMessage(past_question))
            messages.append(AIMessage(past_answer))
        messages.append(HumanMessage(self.user_message(context, question)))
        return messages

    def examples_text(self) -> str:
        """The examples as the model reads them, so a caller can count their tokens."""
        return "\n".join(
            f"{self.user_message(e.context, e.question)}\n{e.answer}" for e in self.examples
        )

    def fixed_text(self) -> str:
        """Everything sent whatever the question: system, examples, template without slots."""
        parts = [self.system, self.examples_text(), self.user_message("", "")]
        return "\n".join(p for p in parts if p)

    def answer_part(self, generated: str) -> str:
        """The final answer of a reply (after the answer marker for reasoning presets)."""
        if self.answer_marker is None:
            return generated
        _, marker, tail = generated.rpartition(self.answer_marker)
        return tail.strip() if marker else generated


class DecodingPreset(BaseModel):
    """How tokens are picked. temperature 0 means greedy (argmax), so there is one switch."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="0 = greedy decoding.")
    top_k: int | None = Field(None, ge=1, description="Sample among the k likeliest tokens.")
    top_p: float | None = Field(None, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    repetition_penalty: float = Field(1.0, ge=1.0, le=2.0, description="1.0 = no penalty.")
    max_new_tokens: int = Field(256, ge=1, le=4096, description="Reply length limit, tokens.")
    seed: int | None = Field(None, ge=0, description="Fixed seed for reproducible sampling.")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


def _folder(folder: Path | str | None, sub: str = "") -> Path:
    base = Path(folder) if folder is not None else PROMPTS_DIR
    return base / sub if sub else base


def _preset_files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise ConfigError(f"preset folder {folder} does not exist")
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    return {f.stem: f for f in files}


def _read_preset(path: Path, kind: type[T]) -> T:
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path.name}: cannot read preset: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name}: a preset file must hold a mapping of fields")
    data.setdefault("name", path.stem)
    if data["name"] != path.stem:
        raise ConfigError(f"{path.name}: name {data['name']!r} differs from the file name")
    try:
        return kind.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'file'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"{path.name}: invalid preset: {problems}") from exc


def _load(name: str, folder: Path, kind: type[T], what: str) -> T:
    files = _preset_files(folder)
    if name not in files:
        raise ConfigError(f"unknown {what} {name!r}; available: {', '.join(files) or 'none'}")
    return _read_preset(files[name], kind)


def list_prompt_presets(folder: Path | str | None = None) -> list[str]:
    """Names of the prompt presets (YAML file stems), sorted."""
    return list(_preset_files(_folder(folder)))


def load_prompt_preset(name: str, folder: Path | str | None = None) -> PromptPreset:
    return _load(name, _folder(folder), PromptPreset, "prompt preset")


def list_decoding_presets(folder: Path | str | None = None) -> list[str]:
    """Names of the decoding presets; ``folder`` is the prompts folder (decoding/ inside)."""
    return list(_preset_files(_folder(folder, "decoding")))


def load_decoding_preset(name: str, folder: Path | str | None = None) -> DecodingPreset:
    return _load(name, _folder(folder, "decoding"), DecodingPreset, "decoding preset")
