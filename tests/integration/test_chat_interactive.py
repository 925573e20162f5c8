"""`chuangdai chat` on a real terminal (a pseudo-terminal): the welcome, numbered options, /attach."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.dialogue_kit import png

CLI = Path(sys.executable).with_name("chuangdai")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def read_until(fd: int, marker: str, seen: list[str], timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536).decode("utf-8", "replace")
            except OSError:
                break
            seen.append(ANSI.sub("", chunk))
            if marker in "".join(seen):
                return "".join(seen)
    raise AssertionError(f"{marker!r} not shown; got: {''.join(seen)[-500:]}")


def test_interactive_chat_with_attach(db_url: str, tmp_path: Path) -> None:
    doc = tmp_path / "photo.png"
    doc.write_bytes(png(5))
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DATA_DIR": str(tmp_path),
        "SCHEDULER_ENABLED": "false",
        "COLUMNS": "200",
    }
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [str(CLI), "chat", "--address", "tty"],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        close_fds=True,
    )
    os.close(child)
    seen: list[str] = []
    try:
        read_until(main, "您：", seen)
        assert "资格预审" in "".join(seen) and "回复 1 资格预审" in "".join(seen)
        os.write(main, b"1\n")
        read_until(main, "个人", seen)  # 1 = 资格预审 from the menu, then the type question
        os.write(main, f"/attach {doc}\n".encode())
        read_until(main, "还没有申请", seen)  # the document door answered (no application yet)
        os.write(main, b"exit\n")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)
