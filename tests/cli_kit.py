"""A CliRunner that runs every command with a given container (server.bootstrap.use_container):
how a test passes its container to the `chuangdai` commands instead of setting a process global."""

from __future__ import annotations

from typing import Any

from click.testing import Result
from typer.testing import CliRunner

from server.bootstrap import Container, use_container


class ContainerRunner(CliRunner):
    def __init__(self, container: Container, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.container = container

    def invoke(self, *args: Any, **kwargs: Any) -> Result:  # type: ignore[override]
        with use_container(self.container):
            return super().invoke(*args, **kwargs)
