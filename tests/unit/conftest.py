"""Fixtures of the unit tests that read the packaged knowledge base against the Lanzhou policy
(a module's own `kb` fixture, when it needs another folder or policy, overrides these)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import typer

import knowledge
from knowledge import KnowledgeBase
from knowledge.policy import load_policy
from knowledge.understand import Understanding
from server.cli_kb import register


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    """The packaged knowledge base under the Lanzhou 2013 policy."""
    return KnowledgeBase.load(knowledge.PACKAGE_DIR, load_policy("lanzhou-2013"))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the packaged knowledge folder (with its model), for a test that edits it."""
    dst = tmp_path / "kb"
    shutil.copytree(knowledge.PACKAGE_DIR, dst, ignore=shutil.ignore_patterns("__pycache__"))
    return dst


@pytest.fixture(scope="module")
def und() -> Understanding:
    """The packaged message reader (stories, several questions, yes/no openings …)."""
    return Understanding.load(knowledge.PACKAGE_DIR)


@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    """A Typer app with the `ask` and `kb …` commands (server/cli_kb.py)."""
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """test app"""

    register(app)
    return app
