"""Time the optimizer, the frontier, the Monte Carlo and the sensitivity analysis on synthetic portfolios.

Targets: the optimizer returns within a second for 2,000 initiatives in one
segment, and the Monte Carlo with 1,000 samples over 10,000 initiatives within
two seconds. Each timing is the median of several runs and is printed beside a
plain rank-line ``evaluate`` of the same data, measured in the same run, so
the ratio holds on any machine. The table and the machine are written to
``benchmarks/results/optimize.md``.

Usage: ``python benchmarks/bench_optimize.py [--seed N] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import scipy

from portfolio.funding import evaluate
from portfolio.importing import require_portfolio
from portfolio.optimize import efficient_frontier, optimize
from portfolio.robustness import funding_probability, weight_sensitivity
from portfolio.scoring import ScoringParams, prepare

RESULTS = Path(__file__).resolve().parent / "results" / "optimize.md"
SEGMENTS = ("strategic", "compliance", "infrastructure")
CRITERIA = ("business_value", "urgency", "risk", "financial_return", "technical_necessity")


def write_synthetic(folder: Path, size: int, seed: int, segments: tuple[str, ...] = SEGMENTS,
                    themes: int = 8, dependency_share: float = 0.05) -> Path:
    """Write a canonical portfolio of ``size`` initiatives, deterministic for a seed.

    Costs are log-normal with a median of about 250,000. 3 % are must-fund
    and 2 % forced out. Alignment scores are 0–8 on a random half of the
    themes. Of ``dependency_share`` × size random pairs, those within one
    segment become dependencies. Each envelope is 40 % of its segment's proposed spend.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"S{n:06d}" for n in range(size)]
    segment = rng.choice(segments, size=size)
    cost_cents = np.rint(rng.lognormal(np.log(25_000_000), 1.0, size)).astype(np.int64)
    flag = rng.random(size)
    initiatives = pd.DataFrame({
        "initiative_id": ids, "name": [f"Initiative {n}" for n in range(size)], "segment": segment,
        "cost": [f"{c // 100}.{c % 100:02d}" for c in cost_cents],
        "must_fund": np.where(flag < 0.03, "yes", "no"), "force_out": np.where((flag >= 0.03) & (flag < 0.05),
                                                                             "yes", "no"),
    })
    for criterion in CRITERIA:
        initiatives[criterion] = np.round(rng.uniform(0, 10, size), 1)
    initiatives.to_csv(folder / "initiatives.csv", index=False)

    theme_ids = [f"T{n}" for n in range(themes)]
    pd.DataFrame({"theme_id": theme_ids, "name": [f"Theme {t}" for t in theme_ids],
                  "weight": rng.integers(5, 30, themes)}).to_csv(folder / "themes.csv", index=False)
    mask = rng.random((size, themes)) < 0.5
    rows, cols = np.nonzero(mask)
    pd.DataFrame({"initiative_id": np.array(ids)[rows], "theme_id": np.array(theme_ids)[cols],
                  "score": rng.integers(0, 9, len(rows))}).to_csv(folder / "alignment.csv", index=False)

    budget = [(s, int(cost_cents[segment == s].sum()) * 2 // 5) for s in segments]
    pd.DataFrame({"segment": [s for s, _ in budget],
                  "envelope": [f"{e // 100}.{e % 100:02d}" for _, e in budget]}).to_csv(folder / "budget.csv",
                                                                                       index=False)
    pairs = set()
    for _ in range(int(size * dependency_share)):
        a, b = rng.integers(0, size, 2)
        if a != b and segment[a] == segment[b]:
            pairs.add((ids[a], ids[b]))
    if pairs:
        pd.DataFrame(sorted(pairs), columns=["initiative_id", "requires_id"]).to_csv(folder / "dependencies.csv",
                                                                                     index=False)
    return folder


def median_time(action: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Return the median wall and CPU seconds of ``repeat`` runs of ``action``, after one warm-up run.

    CPU time is this process's, all threads included. On a machine shared
    with other work, it shows what the code costs when wall time is inflated.
    """
    action()
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        action()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def load_average() -> str:
    if not hasattr(os, "getloadavg"):
        return "unknown"
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def machine() -> list[str]:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return [f"CPU: {model}", f"logical cores: {os.cpu_count()}",
            f"Python {platform.python_version()}, NumPy {np.__version__}, SciPy {scipy.__version__}, "
            f"pandas {pd.__version__}", f"OS: {platform.platform()}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20270, help="seed of the synthetic portfolios")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per measurement (median reported)")
    args = parser.parse_args()

    rows: list[tuple[str, float, float, float, str]] = []
    load_before = load_average()

    def measure(name: str, action: Callable[[], object], base: float | None, target: float | None,
                repeat: int = args.repeat) -> float:
        wall, cpu = median_time(action, repeat)
        if target is not None:
            note = f"target < {target:g} s: " + ("met" if wall < target else "MISSED")
        else:
            note = "reference" if base is None else "no target"
        rows.append((name, wall, cpu, wall / base if base else 1.0, note))
        return wall

    with tempfile.TemporaryDirectory() as temp:
        single, _ = require_portfolio(write_synthetic(Path(temp) / "single", 2000, args.seed,
                                                      segments=("strategic",)))
        inputs = prepare(single)
        params = ScoringParams.from_portfolio(single)
        result = evaluate(inputs, params)
        base = measure("rank-line evaluate, 2,000 initiatives", lambda: evaluate(inputs, params), None, None)
        for objective in ("score", "score_cost"):
            measure(f"optimize ({objective}), 2,000 in one segment",
                    lambda o=objective: optimize(inputs, params, single.dependencies, o, result), base, 1.0)
        optimization = optimize(inputs, params, single.dependencies, "score", result)
        measure("efficient frontier (22 optima), 2,000 in one segment",
                lambda: efficient_frontier(inputs, params, single.dependencies, "strategic",
                                           optimization=optimization, result=result),
                base, None, max(1, args.repeat // 2))

        large, _ = require_portfolio(write_synthetic(Path(temp) / "large", 10_000, args.seed + 1))
        inputs = prepare(large)
        params = ScoringParams.from_portfolio(large)
        result = evaluate(inputs, params)
        base = measure("rank-line evaluate, 10,000 initiatives", lambda: evaluate(inputs, params), None, None)
        measure("Monte Carlo, 1,000 samples × 10,000 initiatives",
                lambda: funding_probability(inputs, params, 100.0, 1000, 0, result), base, 2.0)
        measure("single-theme sensitivity, 20 nearest the line per segment, 10,000",
                lambda: weight_sensitivity(inputs, params, result, window=10), base, None)
        measure("optimize (score), 10,000 in three segments",
                lambda: optimize(inputs, params, large.dependencies, "score", result), base, None)

    header = ("| measurement | median wall s | median CPU s | wall × evaluate | note |\n"
              "| --- | ---: | ---: | ---: | --- |")
    table = "\n".join([header, *[f"| {name} | {wall:.3f} | {cpu:.3f} | {ratio:.1f} | {note} |"
                                 for name, wall, cpu, ratio, note in rows]])
    print(table)
    load = f"load average (1, 5, 15 min): {load_before} before, {load_average()} after"
    print(load)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        "# Optimizer, frontier and robustness timings\n\n"
        f"Written by `benchmarks/bench_optimize.py --seed {args.seed} --repeat {args.repeat}`: synthetic "
        "portfolios (log-normal costs, 3 % must-fund, 2 % forced out, dependencies on up to 5 % of initiatives, "
        "envelopes at 40 % of proposed spend). Each figure is the median of the timed runs after a warm-up; "
        "the ratio compares wall time with a plain rank-line `evaluate` of the same portfolio in the same run. "
        "CPU time counts every thread of the process, so it is less inflated than wall time when other work "
        "shares the machine.\n\n"
        + "\n".join(f"- {line}" for line in [*machine(), load]) + "\n\n" + table + "\n",
        encoding="utf-8")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
