"""Timing helpers, result rows and the description of the machine a run used."""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Figure:
    """One measured figure, the reference it is compared with, and the target it is held to.

    ``value`` and ``reference`` share ``unit``; ``ratio`` is value / reference.
    ``target`` is a sentence such as "within 5× the floor" and ``met`` whether
    this run met it (None where the figure has no target).
    """

    section: str
    name: str
    size: str
    value: float
    unit: str
    reference_name: str
    reference: float | None
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.reference is None or self.reference == 0:
            return None
        return self.value / self.reference


@dataclass
class Report:
    """Everything one run measured, in the order it was measured."""

    figures: list[Figure] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)
    profiles: dict[str, str] = field(default_factory=dict)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        print(format_row(figure), flush=True)
        return figure

    def note(self, section: str, text: str) -> None:
        self.notes.setdefault(section, []).append(text)


def median_time(function: Callable[[], object], repeats: int, warmup: int = 1) -> tuple[float, list[float]]:
    """Run ``function`` ``warmup`` times untimed, then ``repeats`` times; return the median and all times in s."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (0–100) with linear interpolation, as numpy computes it."""
    return float(np.percentile(np.asarray(values, dtype=float), q))


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        if value < 0.001:
            return f"{value * 1e6:.0f} µs"
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "MiB":
        return f"{value:,.0f} MiB"
    return f"{value:,.3g} {unit}"


def format_ratio(figure: Figure) -> str:
    ratio = figure.ratio
    if ratio is None:
        return "—"
    return f"{ratio:.3g}×"


def format_row(figure: Figure) -> str:
    verdict = {True: "met", False: "MISSED", None: ""}[figure.met]
    return (f"{figure.section:<10} {figure.name:<44} {figure.size:>6}  {format_value(figure.value, figure.unit):>11}  "
            f"vs {figure.reference_name:<28} {format_value(figure.reference, figure.unit):>11}  "
            f"{format_ratio(figure):>8}  {verdict}")


def machine() -> dict[str, str]:
    """Describe the machine and the versions this run used."""
    import duckdb
    import pandas
    import plotly
    import streamlit

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    chromium = "not found"
    try:
        import subprocess

        chromium = subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True,
                                  timeout=30).stdout.strip() or chromium
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "RAM": memory,
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pandas.__version__,
        "duckdb": duckdb.__version__,
        "streamlit": streamlit.__version__,
        "plotly": plotly.__version__,
        "Chromium": chromium,
    }
