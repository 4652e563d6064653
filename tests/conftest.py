"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import DATA_DIR, PROJECT_ROOT


@pytest.fixture(scope="session")
def project_root() -> Path:
    """The checkout's root folder."""
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def registry_path() -> Path:
    """The shipped synthetic registry."""
    return DATA_DIR / "registry.csv"
