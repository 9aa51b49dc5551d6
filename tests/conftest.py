"""Shared fixtures: the real MiniLM embedder (loaded once) and a real Chroma store holding seeds/."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from index.settings import Settings, offline_environment

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SHARED = ROOT.parent / "shared"
REALTIMEQA = Path(os.environ.get("NEWSQA_REALTIMEQA_DIR", SHARED / "realtimeqa-dev"))
CHECKPOINT_Q = "On what date did Baku set up the Lachin checkpoint?"

offline_environment()


@pytest.fixture(scope="session")
def embedder():
    from index.embedder import make_embedder

    return make_embedder(Settings())


@pytest.fixture(scope="session")
def seeded_settings(tmp_path_factory) -> Settings:
    return Settings(store_dir=tmp_path_factory.mktemp("seeded-store"), judge="none")


@pytest.fixture(scope="session")
def seeded_assistant(seeded_settings, embedder):
    from index.ingest import ingest
    from index.store import open_store
    from qa.assistant import Assistant

    store = open_store(seeded_settings)
    ingest([SEEDS], seeded_settings, store, embedder)
    return Assistant.from_settings(seeded_settings, store, embedder)


@pytest.fixture
def fresh_store(tmp_path, embedder):
    """An empty store of our own, and a function that ingests into it."""
    from index.ingest import ingest
    from index.store import open_store

    settings = Settings(store_dir=tmp_path / "store")
    store = open_store(settings)

    def run(*paths, progress=None):
        return ingest(list(paths), settings, store, embedder, progress=progress)

    yield settings, store, run
    store.close()


@pytest.fixture
def seed_copy(tmp_path) -> Path:
    """A writable copy of seeds/ to edit."""
    target = tmp_path / "articles"
    shutil.copytree(SEEDS, target)
    return target
