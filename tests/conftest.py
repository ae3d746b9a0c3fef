"""Fixtures shared by every test module."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.settings import PROJECT_ROOT, Settings


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture
def tmp_settings(tmp_path: Path, project_root: Path) -> Settings:
    """Default settings, with a private copy of the real corpus and an empty index folder.

    Loaded with an empty environment and no config file, so neither the developer's
    ``ASSISTANT_*`` variables nor an ``assistant.toml`` in the project change what a
    test sees. Tests may add, edit or remove files in ``corpus_dir`` freely.
    """
    corpus = tmp_path / "corpus"
    shutil.copytree(project_root / "corpus", corpus)
    index = tmp_path / "index"
    index.mkdir()
    settings = Settings.load(config_file=tmp_path / "no-config.toml", env={})
    settings.corpus_dir = str(corpus)
    settings.index_dir = str(index)
    return settings
