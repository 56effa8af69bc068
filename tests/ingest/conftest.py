"""Shared fixtures for the ingestion tests: the fixture folder and default limits."""

from pathlib import Path

import pytest

from ingest import ParseLimits

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def limits() -> ParseLimits:
    return ParseLimits()


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()
