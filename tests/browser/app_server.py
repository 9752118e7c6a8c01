"""Start ``portfolio-lens app`` on a free loopback port for the browser tests.

Each server starts from an empty ``PORTFOLIO_LENS_HOME``, so its workspace
database is created fresh from the demo portfolio in ``data/demo``.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PORTFOLIO_LENS = Path(sys.executable).parent / "portfolio-lens"

START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 10
HEALTH_POLL_S = 0.25
LOG_TAIL_LINES = 40

# Log file of each running server by base URL, so that a failed test can show the app's side.
SERVER_LOGS: dict[str, Path] = {}


def _free_port() -> int:
    """Return a loopback port that is free now.

    NOTE: another process could take the port before the app binds it; the start then fails with the log.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def log_tail(log_path: Path) -> str:
    lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(lines[-LOG_TAIL_LINES:])


def _is_healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _wait_until_healthy(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    """Poll the health endpoint until it returns "ok", and fail with the log tail if the app exits or times out."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if _is_healthy(url):
            return

        # Waiting on the process paces the polling and notices an early exit.
        try:
            code = process.wait(timeout=HEALTH_POLL_S)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"the app exited with code {code} before {url} became healthy; log tail:\n"
                    f"{log_tail(log_path)}", pytrace=False)

    pytest.fail(f"the app did not become healthy at {url}/_stcore/health within {START_TIMEOUT_S} s; "
                f"log tail:\n{log_tail(log_path)}", pytrace=False)


def _group_members(group: int) -> list[int]:
    """Return the ids of the running (not zombie) processes in process group ``group``, read from Linux /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue

        # The fields after the command name, which is in parentheses and may contain spaces: state, ppid, pgrp.
        state, _, group_id = stat.rpartition(")")[2].split()[:3]
        if int(group_id) == group and state != "Z":
            members.append(int(entry.name))
    return members


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the app's process group (the console script and its Streamlit child), then kill what is left.

    The console script exits at once on SIGTERM while Streamlit shuts down on its own, so this waits for every
    member of the group, not only for the direct child.
    """
    pidfds = []
    for pid in _group_members(process.pid):
        try:
            pidfds.append(os.pidfd_open(pid))
        except ProcessLookupError:
            continue

    try:
        os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for pidfd in pidfds:
            # A pidfd becomes readable when its process exits.
            select.select([pidfd], [], [], max(0.0, deadline - time.monotonic()))
        if _group_members(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    finally:
        for pidfd in pidfds:
            os.close(pidfd)
    process.wait(timeout=STOP_TIMEOUT_S)


@contextmanager
def serve_app(home: Path) -> Iterator[str]:
    """Start ``portfolio-lens app`` with its workspace under ``home`` and yield its base URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = home / "app.log"
    env = {
        **os.environ,
        "PORTFOLIO_LENS_HOME": str(home),
        "STREAMLIT_SERVER_ADDRESS": "127.0.0.1",
        "STREAMLIT_SERVER_HEADLESS": "true",
        "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    # Set by an enclosing `portfolio-lens app`, they would point the app at another workspace.
    env.pop("PORTFOLIO_LENS_DB", None)
    env.pop("PORTFOLIO_LENS_DATA", None)

    with log_path.open("wb") as log:
        # `portfolio-lens app` does not forward signals to its Streamlit child, so the app gets a session
        # (and process group) of its own, which _stop signals as a whole.
        process = subprocess.Popen([str(PORTFOLIO_LENS), "app", "--port", str(port)], cwd=REPO, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_until_healthy(process, url, log_path)
        SERVER_LOGS[url] = log_path
        yield url
    finally:
        SERVER_LOGS.pop(url, None)
        _stop(process)
