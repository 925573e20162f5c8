"""Every operation of /openapi.json, generated from its schema (valid and invalid inputs, the
schemathesis CLI), with an admin token against a real server process: no answer may be a 5xx."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fuzz.conftest import EXAMPLES
from tests.fakes.live_server import LiveServer
from tests.staff_seed import World

CLI = Path(sys.executable).with_name("schemathesis")


def test_no_operation_answers_5xx(live: tuple[LiveServer, World], tmp_path: Path) -> None:
    server, world = live
    command = [
        str(CLI), "run", server.url + "/openapi.json",
        "--header", f"Authorization: Bearer {world.tokens['admin1']}",
        "--checks", "not_a_server_error",
        "--max-examples", str(EXAMPLES),
        "--request-timeout", "60",
        "--continue-on-failure",
        "--seed", os.environ.get("FUZZ_SEED", "16"),
        "--generation-database", "none",
        "--suppress-health-check", "all",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=1800)
    report = done.stdout[-20000:] + done.stderr[-5000:]
    print(report[-3000:])  # the summary: operations, cases, failures
    assert done.returncode == 0, report
    assert "not_a_server_error" in report or "passed" in report.lower(), report
