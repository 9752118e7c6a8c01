"""Run every benchmark, print the table and write benchmarks/RESULTS.md.

Usage: ``.venv/bin/python -m benchmarks.run`` (about 25 minutes on 2 cores);
``--quick`` runs fewer repetitions and the smaller sizes only, to try the
runner out, and ``--only SECTION`` runs one section.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from benchmarks import apptest_rerun, browser, scoring, startup
from benchmarks.common import REPO, Report, format_ratio, format_value, machine
from benchmarks.profiling import profile_rerun
from benchmarks.workspaces import Workspaces

RESULTS = REPO / "benchmarks" / "RESULTS.md"
SECTIONS = ("scoring", "rerun", "browser", "startup", "import", "profile")

SCORING_SIZES = (10_000, 100_000, 1_000_000)
RERUN_SIZES = (1_000, 10_000, 100_000)
BROWSER_SIZES = (1_000, 5_000, 20_000, 100_000)
IMPORT_SIZE = 100_000
PROFILE_SIZE = 10_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and smaller sizes; no RESULTS.md")
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run this section only (repeatable)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the results (default %(default)s)")
    args = parser.parse_args(argv)
    sections = tuple(args.only or SECTIONS)

    report = Report()
    info = machine()
    info["load average at start"] = _load()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="portfolio-lens-bench-") as temp:
        root = Path(temp)
        workspaces = Workspaces(root / "portfolios")
        for section in sections:
            print(f"--- {section}", flush=True)
            try:
                _run_section(section, report, workspaces, root, args.quick)
            except Exception:  # noqa: BLE001 - a failed section is recorded and the others still run
                report.note(section, "FAILED: " + traceback.format_exc().strip().splitlines()[-1])
                traceback.print_exc()
    info["load average at end"] = _load()
    info["run time"] = f"{(time.perf_counter() - started) / 60:.1f} min"

    text = render(report, info, sections, args.quick)
    if args.quick or args.only:
        print("\n(--quick or --only: RESULTS.md not written)")
    else:
        args.out.write_text(text, encoding="utf-8")
        print(f"\nwrote {args.out}")
    return 0


def _run_section(section: str, report: Report, workspaces: Workspaces, root: Path, quick: bool) -> None:
    if section == "scoring":
        scoring.run(report, SCORING_SIZES[:2] if quick else SCORING_SIZES, quick)
    elif section == "rerun":
        apptest_rerun.run(report, workspaces, RERUN_SIZES[:2] if quick else RERUN_SIZES, quick)
    elif section == "browser":
        browser.run(report, workspaces, BROWSER_SIZES[:2] if quick else BROWSER_SIZES, root / "servers", quick)
    elif section == "startup":
        startup.cold_start(report, root / "servers", 1 if quick else 2)
    elif section == "import":
        startup.import_portfolio(report, workspaces, 10_000 if quick else IMPORT_SIZE)
    elif section == "profile":
        report.profiles[f"one Prioritize rerun after a weight change, {PROFILE_SIZE // 1000}k initiatives"] = (
            profile_rerun(workspaces, PROFILE_SIZE, 30))


def _load() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def render(report: Report, info: dict[str, str], sections: tuple[str, ...], quick: bool) -> str:
    """Return RESULTS.md: the machine, one table of every figure with its ratio, notes and profiles."""
    lines = [
        "# Benchmark results",
        "",
        "Written by `.venv/bin/python -m benchmarks.run`; every figure and its reference were measured in this",
        "one run, on this machine. Times are wall-clock. A ratio is the figure divided by its reference.",
        "The history of the speed fixes, with before and after numbers, is in `benchmarks/HISTORY.md`;",
        "its last section explains each target marked **no** below, with the profile of what remains.",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        *[f"| {key} | {value} |" for key, value in info.items()],
        "",
        "The load average counts every process on the machine, including other work that ran beside this",
        "benchmark; figures measured under load above the core count are slower than on an idle machine.",
        "",
        "## Figures",
        "",
        "| section | figure | size | value | reference | reference value | ratio | target | met |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: | --- | --- |",
    ]
    for figure in report.figures:
        met = {True: "yes", False: "**no**", None: ""}[figure.met]
        lines.append(f"| {figure.section} | {figure.name} | {figure.size} | {format_value(figure.value, figure.unit)} "
                     f"| {figure.reference_name} | {format_value(figure.reference, figure.unit)} "
                     f"| {format_ratio(figure)} | {figure.target} | {met} |")
    notes = [f"- {figure.section}, {figure.name}, {figure.size}: {figure.note}" for figure in report.figures
             if figure.note]
    lines += ["", "## How each figure was taken", "", *notes]
    for section, texts in report.notes.items():
        lines += ["", f"### Notes: {section}", "", *[f"- {text}" for text in texts]]
    for title, text in report.profiles.items():
        lines += ["", f"## Profile: {title}", "", "cProfile in the script thread, sorted by cumulative time:", "",
                  "```", text.rstrip(), "```"]
    if quick:
        lines += ["", "(quick run: fewer repetitions and sizes)"]
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
