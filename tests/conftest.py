"""Shared test configuration: marker-based skips."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from tests.postgres import PostgresServer, postgres_server


def has_cuda() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


require_gpu = pytest.mark.skipif(not has_cuda(), reason="needs a CUDA GPU")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if has_cuda():
        return
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL server per test session (tests/postgres.py); each test makes its own
    database with ``postgres.new_database()``."""
    with postgres_server() as server:
        yield server
