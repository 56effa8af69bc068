"""Sidebar model section: backend picker with its own fields, connection test, decoding sliders."""

from __future__ import annotations

from typing import Any

import streamlit as st
from pydantic import SecretStr

from rag.endpoints import user_llm_settings
from rag.errors import ConfigError
from rag.llm.presets import DecodingPreset
from rag.settings import LLMSettings, Settings
from ui.errors import error_boundary, show_error
from ui.untrusted import inert_markdown

_BACKEND_LABELS = {
    "local": "Local (packaged SmolLM2)",
    "openai": "OpenAI-compatible server",
    "huggingface": "Hugging Face endpoint",
}
_MODEL_HINTS = {
    "local": "packaged SmolLM2-135M-Instruct",
    "openai": "e.g. gpt-4o-mini or the server's model name",
    "huggingface": "e.g. HuggingFaceH4/zephyr-7b-beta",
}
_URL_HINTS = {
    "openai": "https://api.openai.com/v1 or http://127.0.0.1:8080/v1",
    "huggingface": "https://…endpoints.huggingface.cloud",
}
_SLIDERS = ("temperature", "top_k", "top_p", "max_new_tokens")


def backend_names() -> list[str]:
    from rag.llm import BACKENDS

    return list(BACKENDS)


def render_backend_section(base: Settings) -> LLMSettings:
    """Backend, model, base URL and key for this session; returns the LLM settings to use."""
    names = backend_names()
    default = base.llm.backend if base.llm.backend in names else names[0]
    backend = st.selectbox(
        "Backend",
        names,
        index=names.index(default),
        format_func=lambda name: _BACKEND_LABELS.get(name, name),
        key="backend",
    )
    remote = backend != "local"
    # Each backend keeps its own fields (widget keys per backend), so switching back and forth
    # does not carry an OpenAI model name into the local backend.
    same = backend == base.llm.backend
    model = st.text_input(
        "Model",
        value=base.llm.model if same else "",
        placeholder=_MODEL_HINTS.get(backend, ""),
        key=f"model-{backend}",
    )
    base_url = st.text_input(
        "Base URL",
        value=(base.llm.base_url or "") if same else "",
        placeholder=_URL_HINTS.get(backend, "not used by the local backend"),
        disabled=not remote,
        key=f"base_url-{backend}",
    )
    api_key = st.text_input(
        "API key",
        type="password",
        placeholder="kept in this browser session only" if remote else "not needed",
        disabled=not remote,
        key=f"api_key-{backend}",
        help="Held in memory for this session; never written to disk or logs.",
    )
    test = st.button("Test connection", icon=":material/network_check:", key="test_connection")
    try:
        # The server's key only ever goes to the server's configured endpoint; another URL
        # must be on the admin's allow-list and gets only the key typed here.
        llm = user_llm_settings(
            base,
            backend=backend,
            model=model.strip(),
            base_url=base_url if remote else None,
            user_key=SecretStr(api_key) if api_key else None,
        )
    except ConfigError as exc:
        if base_url.strip() or test:
            show_error(exc)
        else:  # just switched here: a hint, not an error, until a URL is typed
            st.caption(":material/info: Enter a base URL this server allows.")
        # No URL and no key: this backend cannot send anything until the choice is allowed.
        return base.llm.model_copy(
            update={"backend": backend, "model": model.strip(), "base_url": None, "api_key": None}
        )
    if test:
        _test_connection(base.model_copy(update={"llm": llm}))
    return llm


def render_configured_backend(base: Settings) -> LLMSettings:
    """For a signed-in user who is not an admin: the server's backend, named, not editable."""
    label = _BACKEND_LABELS.get(base.llm.backend, base.llm.backend)
    model = f" · {base.llm.model}" if base.llm.model and base.llm.backend != "local" else ""
    st.caption(f":material/lock: {inert_markdown(label + model)}; set by an admin.")
    return base.llm


def _test_connection(settings: Settings) -> None:
    from rag.llm import check_connection

    with error_boundary(), st.spinner("Connecting…"):
        try:
            message = check_connection(settings)
        except Exception as exc:
            show_error(exc)
            return
        # The message names what the server reported (its model list): shown as text.
        st.success(inert_markdown(str(message or "Connected.")), icon=":material/check_circle:")


def unsupported_decoding(backend: str) -> dict[str, str]:
    """Decoding controls the backend cannot honour, each with the reason."""
    from rag.llm import backend_capabilities

    return dict(backend_capabilities(backend).unsupported)


def render_decoding_sliders(
    decoding: DecodingPreset, unsupported: dict[str, str], key: str
) -> dict[str, Any]:
    """Sliders starting at the preset's values; returns the values to use.

    A control the backend cannot honour is disabled, shows why, and keeps the preset value.
    """
    values: dict[str, Any] = {}
    greedy_note = "0 = greedy (always the likeliest token)."

    def why(name: str, default: str) -> str:
        return f"Not supported by this backend: {unsupported[name]}" if name in unsupported \
            else default

    values["temperature"] = st.slider(
        "Temperature", 0.0, 2.0, float(decoding.temperature), 0.05,
        disabled="temperature" in unsupported, help=why("temperature", greedy_note),
        key=f"temperature-{key}",
    )
    sampling_off = values["temperature"] == 0.0
    top_k = st.slider(
        "Top-k", 0, 200, int(decoding.top_k or 0), 1,
        disabled="top_k" in unsupported or sampling_off,
        help=why("top_k", "0 = off. Only used when sampling (temperature > 0)."),
        key=f"top_k-{key}",
    )
    values["top_k"] = int(top_k) or None
    top_p = st.slider(
        "Top-p", 0.05, 1.0, float(decoding.top_p or 1.0), 0.05,
        disabled="top_p" in unsupported or sampling_off,
        help=why("top_p", "1.0 = off. Only used when sampling (temperature > 0)."),
        key=f"top_p-{key}",
    )
    values["top_p"] = None if top_p >= 1.0 and decoding.top_p is None else float(top_p)
    values["max_new_tokens"] = int(st.slider(
        "Max new tokens", 16, 2048, int(decoding.max_new_tokens), 16,
        disabled="max_new_tokens" in unsupported, help=why("max_new_tokens", "Reply length."),
        key=f"max_new_tokens-{key}",
    ))
    for name in _SLIDERS:
        if name in unsupported:
            values[name] = getattr(decoding, name)  # a disabled control changes nothing
    notes = [f"**{name.replace('_', '-')}**: {reason}" for name, reason in unsupported.items()
             if name in _SLIDERS]
    if notes:
        st.caption(":material/block: " + " · ".join(notes))
    return values
