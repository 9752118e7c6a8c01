"""The ``portfolio-lens`` console script.

Every command prints an error as one plain sentence on stderr and exits
non-zero; no traceback reaches the user. ``--verbose`` logs to stderr.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from portfolio.errors import PortfolioLensError
from portfolio.funding import RESULT_COLUMNS, evaluate
from portfolio.importing import MAX_FILE_BYTES, load_portfolio, require_portfolio
from portfolio.models import errors_of, parse_decimal
from portfolio.scoring import ScoringParams, prepare, sai_notice

logger = logging.getLogger(__name__)

APP_FILE = Path(__file__).resolve().parent.parent / "app.py"

# Applied on the command line so they hold whether or not .streamlit/config.toml is found.
SECURITY_FLAGS = (
    "--server.enableXsrfProtection=true",
    f"--server.maxUploadSize={MAX_FILE_BYTES // 1024 // 1024}",
    "--browser.gatherUsageStats=false",
    "--client.showErrorDetails=none",
)


def _theme_weight(text: str) -> tuple[str, float]:
    theme, sep, value = text.partition("=")
    if not sep or not theme.strip():
        raise argparse.ArgumentTypeError(f'"{text}" is not ID=W; write for example --theme-weight T1=30')
    try:
        weight = float(parse_decimal(value))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f'"{text}": {exc}') from exc
    if weight < 0:
        raise argparse.ArgumentTypeError(f'"{text}": weights must be 0 or more')
    return theme.strip(), weight


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="portfolio-lens",
        description="Score, fund and reconcile an IT investment portfolio.",
    )
    parser.add_argument("--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    app = commands.add_parser("app", help="start the dashboard")
    app.add_argument("--data", type=Path, help="canonical portfolio to open (default: the demo portfolio)")
    app.add_argument("--db", type=Path, help="workspace database file (default: one per portfolio under "
                                             "~/.local/share/portfolio-lens, or $PORTFOLIO_LENS_HOME)")
    app.add_argument("--port", type=int, help="port to serve on (default: Streamlit's, 8501)")

    validate = commands.add_parser("validate", help="list every problem of a canonical portfolio")
    validate.add_argument("path", type=Path, help="folder of canonical CSV files or an .xlsx workbook")

    score = commands.add_parser("score", help="print the scores, ranks, quadrants and funding line")
    score.add_argument("path", type=Path, help="folder of canonical CSV files or an .xlsx workbook")
    score.add_argument("--theme-weight", type=_theme_weight, action="append", default=[], metavar="ID=W",
                       help="set the raw weight of a theme, as a slider does (repeatable)")
    score.add_argument("--format", choices=("csv", "json"), default="csv", help="output format (default csv)")

    compare = commands.add_parser("compare", help="compare the same initiatives in two portfolios")
    compare.add_argument("before", type=Path, help="the earlier portfolio, e.g. under last quarter's themes")
    compare.add_argument("after", type=Path, help="the later portfolio")
    compare.add_argument("--format", choices=("csv", "json"), default="csv", help="output format (default csv)")

    importer = commands.add_parser("import", help="write a canonical portfolio from a foreign export")
    importer.add_argument("file", type=Path, help="the export to read, e.g. a GMPP CSV")
    importer.add_argument("--mapping", required=True, metavar="PROFILE",
                          help="mapping profile: a name in data/mappings (e.g. uk-gmpp) or a .toml path")
    importer.add_argument("--out", required=True, type=Path, metavar="DIR",
                          help="folder to create; must not exist or be empty")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    handlers = {"app": run_app, "validate": run_validate, "score": run_score, "import": run_import,
                "compare": run_compare}
    try:
        return handlers[args.command](args)
    except PortfolioLensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {exc.strerror or exc} ({exc.filename or 'file'})", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader (for example `head`) stopped early; that is not an error of ours.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130


def run_app(args: argparse.Namespace) -> int:
    from portfolio.store import default_workspace

    if not APP_FILE.is_file():
        print(f"error: {APP_FILE} is missing; install Portfolio Lens from its source folder "
              "with pip install -e .", file=sys.stderr)
        return 1
    env = dict(os.environ)
    if args.data is not None:
        if not args.data.exists():
            print(f"error: {args.data} does not exist", file=sys.stderr)
            return 1
        env["PORTFOLIO_LENS_DATA"] = str(args.data.resolve())
    database = args.db or default_workspace(args.data)
    env["PORTFOLIO_LENS_DB"] = str(Path(database).resolve())
    command = [sys.executable, "-m", "streamlit", "run", str(APP_FILE), *SECURITY_FLAGS]
    if args.port:
        command.append(f"--server.port={args.port}")
    logger.info("starting %s on %s", APP_FILE, env["PORTFOLIO_LENS_DB"])
    return subprocess.call(command, env=env, cwd=APP_FILE.parent)


def run_validate(args: argparse.Namespace) -> int:
    portfolio, problems = load_portfolio(args.path)
    for problem in problems:
        print(f"{problem.severity}: {problem.describe()}")
    errors = errors_of(problems)
    warnings = len(problems) - len(errors)
    count = "no initiatives" if portfolio is None else f"{len(portfolio.initiatives)} initiatives"
    print(f"{args.path}: {len(errors)} errors, {warnings} warnings; {count}"
          + (" loaded" if portfolio is not None else " (does not load)"))
    return 1 if errors else 0


def _format_number(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def score_rows(path: Path, weights: list[tuple[str, float]]) -> tuple[list[dict], str | None]:
    """Score the portfolio at ``path`` and return the output rows (JSON-ready) and an optional notice."""
    portfolio, _ = require_portfolio(path)
    inputs = prepare(portfolio)
    params = ScoringParams.from_portfolio(portfolio).with_theme_weights(dict(weights))
    result = evaluate(inputs, params)
    rows = []
    for record in result[list(RESULT_COLUMNS)].itertuples(index=False):
        funded = record.funded
        rows.append({
            "initiative_id": record.initiative_id,
            "segment": str(record.segment),
            "sai": _json_number(record.sai),
            "urgency": _json_number(record.urgency),
            "segment_score": _json_number(record.segment_score),
            "rank": int(record.rank),
            "quadrant": None if not isinstance(record.quadrant, str) else record.quadrant,
            "funded": None if pd.isna(funded) else bool(funded),
        })
    return rows, sai_notice(inputs, params)


def _json_number(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def run_score(args: argparse.Namespace) -> int:
    rows, notice = score_rows(args.path, args.theme_weight)
    if notice:
        print(f"notice: {notice}", file=sys.stderr)
    if args.format == "json":
        json.dump(rows, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(RESULT_COLUMNS)
    for row in rows:
        writer.writerow([
            row["initiative_id"], row["segment"], _format_number(row["sai"]), _format_number(row["urgency"]),
            _format_number(row["segment_score"]), row["rank"], row["quadrant"] or "",
            "" if row["funded"] is None else ("true" if row["funded"] else "false"),
        ])
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from portfolio.realign import COMPARE_COLUMNS, compare_portfolios

    before, _ = require_portfolio(args.before)
    after, _ = require_portfolio(args.after)
    rows = compare_portfolios(before, after)
    records = []
    for row in rows.itertuples(index=False):
        records.append({
            "initiative_id": row.initiative_id,
            "segment": row.segment,
            "sai_before": None if pd.isna(row.sai_before) else float(row.sai_before),
            "sai_after": None if pd.isna(row.sai_after) else float(row.sai_after),
            "rank_before": None if pd.isna(row.rank_before) else int(row.rank_before),
            "rank_after": None if pd.isna(row.rank_after) else int(row.rank_after),
            "funded_before": None if pd.isna(row.funded_before) else bool(row.funded_before),
            "funded_after": None if pd.isna(row.funded_after) else bool(row.funded_after),
            "orphaned": bool(row.orphaned),
        })
    if args.format == "json":
        json.dump(records, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(COMPARE_COLUMNS)
    for record in records:
        writer.writerow([_csv_cell(record[column]) for column in COMPARE_COLUMNS])
    return 0


def _csv_cell(value: object) -> str:
    """Write a value as the CSV outputs do: empty for null, true/false, numbers without float noise."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _format_number(value)
    return str(value)


def run_import(args: argparse.Namespace) -> int:
    from portfolio.mapping import import_file, load_profile

    report = import_file(args.file, load_profile(args.mapping), args.out)
    # A rejected row is reported, not an error of the command: the rest of the file was written.
    for problem in report.problems:
        kind = "rejected" if problem.severity == "error" else problem.severity
        print(f"{kind}: {problem.describe()}", file=sys.stderr)
    print(report.summary_line(), file=sys.stderr)
    print(f"wrote {args.out}")
    return 0

