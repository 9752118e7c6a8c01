"""Start Streamlit servers on free loopback ports for the browser benchmarks, and stop them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import REPO
from portfolio.cli import SERVER_FLAGS

START_TIMEOUT_S = 300
STOP_TIMEOUT_S = 10


def free_port() -> int:
    """Return a loopback port that is free now (another process could still take it before the server binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    started: float
    healthy_after: float

    def peak_rss_mib(self) -> float | None:
        """Return the server's peak resident memory (VmHWM) so far, in MiB, or None when it cannot be read."""
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextmanager
def serve(script: Path, home: Path, env: dict[str, str]) -> Iterator[Server]:
    """Run ``streamlit run script`` with the app's security flags on a free loopback port until the block ends."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    home.mkdir(parents=True, exist_ok=True)
    log = home / f"server-{port}.log"
    environment = {
        **os.environ,
        "PORTFOLIO_LENS_HOME": str(home),
        "STREAMLIT_SERVER_HEADLESS": "true",
        "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        **env,
    }
    command = [sys.executable, "-m", "streamlit", "run", str(script), *SERVER_FLAGS,
               "--server.address=127.0.0.1", f"--server.port={port}"]
    started = time.perf_counter()
    with log.open("wb") as handle:
        process = subprocess.Popen(command, cwd=REPO, env=environment, stdout=handle, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        while not _healthy(url):
            if process.poll() is not None:
                raise RuntimeError(f"{script.name} exited with code {process.returncode}; see {log}")
            if time.perf_counter() - started > START_TIMEOUT_S:
                raise RuntimeError(f"{script.name} did not become healthy within {START_TIMEOUT_S} s; see {log}")
            time.sleep(0.05)
        yield Server(url, process, log, started, time.perf_counter() - started)
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server's own process group: SIGTERM, then SIGKILL after a grace period."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT_S)
