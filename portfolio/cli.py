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

# Applied on the command line so they hold whether or not .streamlit/config.toml is found. Magic (a bare
# expression drawn as if passed to st.write) is off because no page uses it, so pages compile without the
# rewrite of their syntax tree.
SERVER_FLAGS = (
    "--server.enableXsrfProtection=true",
    f"--server.maxUploadSize={MAX_FILE_BYTES // 1024 // 1024}",
    "--browser.gatherUsageStats=false",
    "--client.showErrorDetails=none",
    "--runner.magicEnabled=false",
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
    app.add_argument("--db", help="workspace database file, or the postgresql:// URL of a database that several "
                                  "instances share (default: $PORTFOLIO_LENS_DB, else one file per portfolio under "
                                  "~/.local/share/portfolio-lens, or $PORTFOLIO_LENS_HOME)")
    app.add_argument("--port", type=int, help="port to serve on (default: Streamlit's, 8501)")
    app.add_argument("--address", default="127.0.0.1",
                     help="address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 for every "
                          "interface, for a deployment with sign-in)")

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

    optimizer = commands.add_parser("optimize", help="print the rank-order and the optimal funding selection")
    optimizer.add_argument("path", type=Path, help="folder of canonical CSV files or an .xlsx workbook")
    optimizer.add_argument("--theme-weight", type=_theme_weight, action="append", default=[], metavar="ID=W",
                           help="set the raw weight of a theme, as a slider does (repeatable)")
    optimizer.add_argument("--objective", choices=("score", "score_cost"), default="score",
                           help="value to maximize: the total segment score (default), or segment score × cost")
    optimizer.add_argument("--format", choices=("csv", "json"), default="csv", help="output format (default csv)")

    backup = commands.add_parser(
        "backup", help="copy a workspace (a DuckDB file no running app has open, or a postgresql:// URL)")
    backup.add_argument("db", help="the workspace database file, or the postgresql:// URL of a shared workspace")
    backup.add_argument("out", type=Path, help="the backup file to write; an existing file is replaced")

    importer = commands.add_parser("import", help="write a canonical portfolio from a foreign export")
    importer.add_argument("file", type=Path, help="the export to read, e.g. a GMPP CSV")
    importer.add_argument("--mapping", required=True, metavar="PROFILE",
                          help="mapping profile: a name in data/mappings (e.g. uk-gmpp) or a .toml path")
    importer.add_argument("--out", required=True, type=Path, metavar="DIR",
                          help="folder to create; must not exist or be empty")
    importer.add_argument("--encoding", help="text encoding of a CSV file, e.g. utf-8 or cp1252 "
                                             "(default: the profile's list, tried in order)")
    importer.add_argument("--separator", help='field separator of a CSV file, e.g. ";" or "\\t" for tab '
                                              "(default: the profile's, or found from the file)")
    importer.add_argument("--sheet", help="sheet of an .xlsx workbook to read (default: the first with data)")
    importer.add_argument("--header-row", type=int, metavar="N",
                          help="row of the header, 1 for the first (default: the row naming the profile's columns)")
    importer.add_argument("--transpose", action="store_true",
                          help="read one record per column, with the field names down the first column")

    exporter = commands.add_parser("export", help="write the scored portfolio as a report, or as canonical files")
    exporter.add_argument("path", type=Path, help="folder of canonical CSV files or an .xlsx workbook")
    exporter.add_argument("--format", required=True, choices=("csv", "xlsx", "html", "canonical"),
                          help="csv or xlsx: the scored portfolio; html: the steering-committee pack; "
                               "canonical: a canonical CSV folder with raw values")
    exporter.add_argument("--out", required=True, type=Path, metavar="FILE",
                          help="file to write (replaced if it exists); for canonical, a folder that must not "
                               "exist or be empty")
    exporter.add_argument("--theme-weight", type=_theme_weight, action="append", default=[], metavar="ID=W",
                          help="set the raw weight of a theme, as a slider does (repeatable)")

    generator = commands.add_parser("generate", help="write a synthetic portfolio, the same for the same seed")
    generator.add_argument("--initiatives", required=True, type=int, metavar="N", help="number of initiatives")
    generator.add_argument("--themes", type=int, default=12, metavar="T", help="number of themes (default 12)")
    generator.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    generator.add_argument("--out", required=True, type=Path, metavar="DIR",
                           help="folder to create; must not exist or be empty")
    return parser


def run_generate(args: argparse.Namespace) -> int:
    from portfolio.generate import generate

    data = generate(args.out, args.initiatives, args.themes, args.seed)
    print(f"wrote {args.out}: {data.size} initiatives, {len(data.theme_ids)} themes, "
          f"{len(data.align_rows)} alignment scores (seed {args.seed})")
    for file in sorted(args.out.glob("*.csv")):
        if file.stat().st_size > MAX_FILE_BYTES:
            print(f"note: {file.name} is {file.stat().st_size / 1024 / 1024:.0f} MB, over the "
                  f"{MAX_FILE_BYTES // 1024 // 1024} MB that validate, score and the app read", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    handlers = {"app": run_app, "validate": run_validate, "score": run_score, "import": run_import,
                "compare": run_compare, "export": run_export, "optimize": run_optimize,
                "backup": run_backup, "generate": run_generate}
    try:
        return handlers[args.command](args)
    except PortfolioLensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader (for example `head`) stopped early; that is not an error of ours. Python would
        # otherwise report the pipe again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        print(f"error: {exc.strerror or exc} ({exc.filename or 'file'})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def run_app(args: argparse.Namespace) -> int:
    from portfolio.pgstore import redact
    from portfolio.store import default_workspace, is_database_url

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
    database = args.db or os.environ.get("PORTFOLIO_LENS_DB") or default_workspace(args.data)
    shared = is_database_url(database)
    env["PORTFOLIO_LENS_DB"] = database if shared else str(Path(database).resolve())
    command = [sys.executable, "-m", "streamlit", "run", str(APP_FILE), *SERVER_FLAGS]
    if args.port:
        command.append(f"--server.port={args.port}")
    # Local mode gives every session every role, so the default serves this machine only.
    command.append(f"--server.address={args.address}")
    logger.info("starting %s on %s", APP_FILE, redact(database) if shared else env["PORTFOLIO_LENS_DB"])
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
    _print_records(rows, RESULT_COLUMNS, args.format)
    return 0


def _is_duckdb_file(path: Path) -> bool:
    """Tell whether ``path`` starts like a DuckDB database file, whose header carries "DUCK" at byte 8."""
    with path.open("rb") as handle:
        return handle.read(12)[8:12] == b"DUCK"


def run_backup(args: argparse.Namespace) -> int:
    from portfolio.errors import StoreError
    from portfolio.store import Store, default_workspace, is_database_url

    out = Path(args.out)
    if out.is_dir():
        print(f"error: {out} is a folder; give the path of the backup file to write, for example "
              f"{out / 'backup.duckdb'}", file=sys.stderr)
        return 1
    if is_database_url(args.db):
        # A shared workspace stays open to its app instances; the copy is read in one snapshot.
        from portfolio.pgstore import PostgresStore

        store = PostgresStore(args.db)
        if store.is_empty():
            store.close()
            print(f"error: {store.path} holds no Portfolio Lens workspace yet; there is nothing to back up",
                  file=sys.stderr)
            return 1
    else:
        database = Path(args.db)
        problem = ("does not exist" if not database.exists() else
                   "is a folder" if database.is_dir() else
                   "is not a DuckDB workspace file" if not _is_duckdb_file(database) else None)
        if problem:
            print(f"error: {database} {problem}; give the path of a workspace database file, for example "
                  f"{default_workspace(None)}", file=sys.stderr)
            return 1
        try:
            store = Store(database)
        except StoreError as exc:
            if "in use by another process" not in str(exc):
                raise
            print(f"error: {database} is open in a running app or command (DuckDB allows one writer per file); "
                  "back up a live workspace from the app's Data page, or stop the app and try again",
                  file=sys.stderr)
            return 1
    try:
        target = store.backup(out, "command line")
    finally:
        store.close()
    print(f"wrote {target}")
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
    _print_records(records, COMPARE_COLUMNS, args.format)
    return 0


def _print_records(records: list[dict], columns: Sequence[str], output_format: str) -> None:
    """Print rows as JSON (an array of objects, null for empty) or as CSV with a header row."""
    if output_format == "json":
        json.dump(records, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow([_csv_cell(record[column]) for column in columns])


def _csv_cell(value: object) -> str:
    """Write a value as the CSV outputs do: empty for null, true/false, numbers without float noise."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _format_number(value)
    return str(value)


OPTIMIZE_COLUMNS = ("initiative_id", "segment", "funded_by_rank", "funded_optimal")


def run_optimize(args: argparse.Namespace) -> int:
    from portfolio.models import format_cents
    from portfolio.optimize import optimize

    portfolio, _ = require_portfolio(args.path)
    inputs = prepare(portfolio)
    params = ScoringParams.from_portfolio(portfolio).with_theme_weights(dict(args.theme_weight))
    optimization = optimize(inputs, params, portfolio.dependencies, args.objective)
    notice = sai_notice(inputs, params)
    if notice:
        print(f"notice: {notice}", file=sys.stderr)
    for summary in optimization.segments:
        if summary.overrun:
            print(f"notice: must-fund initiatives alone exceed the {summary.segment} envelope by "
                  f"{format_cents(summary.overrun)}; the selection is the must-fund set", file=sys.stderr)
    for needer, needed in optimization.unmet:
        print(f'notice: {needer} requires {needed}, which cannot be funded; {needer} is funded because it is '
              "must-fund", file=sys.stderr)

    records = [
        {"initiative_id": row.initiative_id, "segment": row.segment,
         "funded_by_rank": None if pd.isna(row.funded_by_rank) else bool(row.funded_by_rank),
         "funded_optimal": None if pd.isna(row.funded_optimal) else bool(row.funded_optimal)}
        for row in optimization.frame[list(OPTIMIZE_COLUMNS)].itertuples(index=False)
    ]
    _print_records(records, OPTIMIZE_COLUMNS, args.format)
    return 0


def run_import(args: argparse.Namespace) -> int:
    from portfolio.mapping import ReadOverrides, import_file, load_profile

    separator = {"\\t": "\t", "tab": "\t"}.get(args.separator, args.separator)
    overrides = ReadOverrides(encoding=args.encoding, separator=separator, header_row=args.header_row,
                              transpose=args.transpose or None, sheet=args.sheet)
    # A file with no importable row raises (one sentence, exit 1); rejected rows among good ones do not.
    report = import_file(args.file, load_profile(args.mapping), args.out, overrides)
    print(f"read {report.read_as}", file=sys.stderr)
    # A rejected row is reported, not an error of the command: the rest of the file was written.
    for problem in report.problems:
        kind = "rejected" if problem.severity == "error" else problem.severity
        print(f"{kind}: {problem.describe()}", file=sys.stderr)
    print(report.summary_line(), file=sys.stderr)
    print(f"wrote {args.out}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from portfolio.export import build_report, csv_bytes, write_canonical_folder, write_file_atomic
    from portfolio.export_pack import html_pack
    from portfolio.export_xlsx import xlsx_bytes

    portfolio, problems = require_portfolio(args.path)
    params = ScoringParams.from_portfolio(portfolio).with_theme_weights(dict(args.theme_weight))
    if args.format == "canonical":
        write_canonical_folder(portfolio, params, args.out)
        print(f"wrote {args.out}")
        return 0

    overrides = ", ".join(f"{theme}={weight:g}" for theme, weight in args.theme_weight)
    note = f"committed weights with {overrides} set on the command line" if overrides else "committed weights"
    # A portfolio that loads has warnings only, so the problems are the open flags.
    report = build_report(portfolio, params, weights_note=note, warnings=problems)
    if report.sai_notice:
        print(f"notice: {report.sai_notice}", file=sys.stderr)
    builders = {"csv": csv_bytes, "xlsx": xlsx_bytes, "html": html_pack}
    write_file_atomic(args.out, builders[args.format](report))
    print(f"wrote {args.out}")
    return 0

