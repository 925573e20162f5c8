"""How a test hands its container to a door instead of setting a process global: a CliRunner that
runs every `chuangdai` command with it (server.bootstrap.use_container), and a client of one door's
routes mounted on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from click.testing import Result
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from server.bootstrap import Container, use_container


class ContainerRunner(CliRunner):
    def __init__(self, container: Container, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.container = container

    def invoke(self, *args: Any, **kwargs: Any) -> Result:  # type: ignore[override]
        with use_container(self.container):
            return super().invoke(*args, **kwargs)


def door_client(
    mount: Callable[[FastAPI, Container], object], container: Container
) -> Iterator[TestClient]:
    """A TestClient of a bare app with one door's routes (`mount`) on `container`, its lifespan
    running while the client is in use (a fixture yields from this)."""
    app = FastAPI()
    mount(app, container)
    with TestClient(app) as client:
        yield client
