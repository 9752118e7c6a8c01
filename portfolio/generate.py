"""Synthetic portfolios with realistic distributions, deterministic for a seed.

:func:`generate` draws every number from one ``numpy.random.Generator``
seeded with ``seed``, in a fixed order, so the same arguments give
byte-identical files. The shape follows what real IT portfolios look like:

- segments: about 45 % strategic, 25 % compliance and 30 % infrastructure;
- cost: log-normal around a median that differs by segment, plus a few
  programmes 40 to 120 times the median, so a handful of rows dominate spend;
  most costs are whole thousands and a third carry cents; about 1 in 2,000
  costs nothing;
- criteria: each segment scores high where its lens looks (compliance on
  risk and urgency, infrastructure on technical necessity); about 1 in 200
  criteria is left blank;
- alignment: sparse, because a strategic initiative serves one to a few themes,
  a compliance or infrastructure one mostly none, and some themes are far more
  popular than others; about 1 % of strategic initiatives have no alignment;
- justification: scores of 9 or 10 carry one, except about 4 % of them (at
  least one where any exists), which the app flags as unjustified;
- must-fund and force-out flags, capex/opex splits that add up to the cost,
  statuses, dates and actual spend for work in progress;
- one envelope per segment at 65 % of the segment's cost, rounded down to
  100,000.00 where the segment is large enough.

Text is built column by column with Apache Arrow compute functions and
written with Arrow's CSV writer, which is what makes a million rows take
seconds rather than minutes. pyarrow is installed with Streamlit and pandas.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from portfolio.errors import InvalidPortfolioError
from portfolio.models import (
    ALIGNMENT_COLUMNS,
    CRITERIA,
    DEFAULT_LENSES,
    DEFAULT_URGENCY,
    INITIATIVE_COLUMNS,
    THEME_COLUMNS,
    Portfolio,
    Settings,
)

SEGMENTS: tuple[str, ...] = ("strategic", "compliance", "infrastructure")
SEGMENT_SHARES: tuple[float, ...] = (0.45, 0.25, 0.30)

# Median cost per segment in cents, and the spread of the log-normal around it.
MEDIAN_COST_CENTS: tuple[int, ...] = (60_000_000, 25_000_000, 40_000_000)
COST_SIGMA = 1.1
MEGA_SHARE = 0.003
MEGA_FACTOR = (40.0, 120.0)
ZERO_COST_SHARE = 0.0005

MUST_FUND_SHARE: tuple[float, ...] = (0.01, 0.25, 0.08)
FORCE_OUT_SHARE = 0.003
MISSING_CRITERION_SHARE = 0.005

# Beta(a, b) parameters of each criterion (CRITERIA order) per segment, scaled to 0–10.
CRITERIA_BETA: tuple[tuple[tuple[float, float], ...], ...] = (
    ((5.0, 2.5), (2.0, 3.0), (2.0, 3.0), (3.0, 2.5), (2.0, 3.0)),
    ((2.0, 4.0), (5.0, 2.0), (5.0, 2.0), (1.5, 5.0), (3.0, 3.0)),
    ((2.5, 3.0), (3.0, 3.0), (3.0, 2.5), (3.0, 3.0), (5.0, 2.0)),
)

# Mean number of themes an initiative of each segment serves, beyond the one every strategic initiative gets.
EXTRA_THEMES_MEAN: tuple[float, ...] = (1.2, 0.4, 0.6)
UNALIGNED_STRATEGIC_SHARE = 0.01
# Beta(a, b) of alignment scores per segment, scaled to 1–10.
SCORE_BETA: tuple[tuple[float, float], ...] = ((4.0, 2.0), (2.0, 4.0), (2.0, 3.5))
HALF_POINT_SHARE = 0.1
JUSTIFICATION_THRESHOLD_TENTHS = 90
UNJUSTIFIED_SHARE = 0.04

ENVELOPE_SHARE_PERCENT = 65
ENVELOPE_STEP_CENTS = 10_000_000

THEME_NAMES: tuple[str, ...] = (
    "Customer experience", "Data and AI", "Operational efficiency", "Digital revenue growth",
    "Security and resilience", "Workforce productivity", "Sustainability", "Supply chain visibility",
    "Regulatory readiness", "Platform simplification", "Partner ecosystem", "Cost to serve",
    "Product innovation", "Cloud adoption", "Field service excellence", "Risk transparency",
)
VERBS: tuple[str, ...] = (
    "Modernise", "Replace", "Consolidate", "Automate", "Migrate", "Upgrade", "Roll out", "Harden",
    "Standardise", "Extend", "Retire", "Integrate",
)
OBJECTS: tuple[str, ...] = (
    "warehouse management system", "customer portal", "ERP finance module", "data warehouse",
    "identity and access management", "network edge", "contact centre platform", "pricing engine",
    "HR and payroll", "mobile field app", "document management", "backup and recovery",
    "e-commerce checkout", "master data hub", "transport planning", "security operations centre",
    "procurement workflow", "service desk", "analytics platform", "API gateway", "email archive",
    "payment gateway", "product catalogue", "branch point of sale", "data centre cooling",
    "Kubernetes platform", "observability stack", "supplier portal", "tax reporting", "privacy controls",
)
QUALIFIERS: tuple[str, ...] = ("", "", "", " (Europe)", " (North America)", " phase 2", " pilot", " for branches")
SPONSORS: tuple[str, ...] = (
    "CIO office", "CFO office", "COO office", "CISO office", "Head of Infrastructure", "Head of Data",
    "Chief Digital Officer", "General Counsel", "Head of Supply Chain", "Head of Sales", "HR Director",
    "Head of Customer Service",
)
BUSINESS_UNITS: tuple[str, ...] = (
    "IT", "Finance", "Operations", "Sales", "Legal and Compliance", "Information Security", "Supply Chain",
    "Human Resources", "Customer Service", "Marketing",
)
STATUSES: tuple[str, ...] = ("proposed", "approved", "in progress")
STATUS_SHARES: tuple[float, ...] = (0.7, 0.2, 0.1)
CYCLE_START = np.datetime64("2027-01-01")

INITIATIVE_HEADER: tuple[str, ...] = (
    "initiative_id", "name", "segment", "cost", "must_fund", "force_out", *CRITERIA, "sponsor", "business_unit",
    "status", "capex", "opex", "actual_spend", "start_date", "end_date",
)


@dataclass(frozen=True)
class Draw:
    """The numbers of one synthetic portfolio, before they become text or frames.

    Money is in integer cents and scores in integer tenths; -1 marks a blank
    cell. Alignment rows are sorted by initiative, then theme. Ids and names
    are Arrow string arrays, which turn into text or pandas columns without a
    copy per row.
    """

    theme_ids: tuple[str, ...]
    theme_names: tuple[str, ...]
    theme_weights: np.ndarray
    ids: pa.Array
    names: pa.Array
    segment_codes: np.ndarray
    cost: np.ndarray
    must_fund: np.ndarray
    force_out: np.ndarray
    criteria_tenths: np.ndarray
    sponsor_codes: np.ndarray
    unit_codes: np.ndarray
    status_codes: np.ndarray
    capex: np.ndarray
    opex: np.ndarray
    actual_spend: np.ndarray
    start_days: np.ndarray
    end_days: np.ndarray
    align_rows: np.ndarray
    align_cols: np.ndarray
    score_tenths: np.ndarray
    justified: np.ndarray
    envelopes: dict[str, int]

    @property
    def size(self) -> int:
        return len(self.ids)


def draw(initiatives: int, themes: int, seed: int) -> Draw:
    """Draw a synthetic portfolio of ``initiatives`` rows against ``themes`` themes.

    Raises :class:`InvalidPortfolioError` when ``initiatives`` is below 1 or
    ``themes`` below 0.
    """
    if initiatives < 1:
        raise InvalidPortfolioError(f"{initiatives} initiatives requested; a portfolio needs at least 1")
    if themes < 0:
        raise InvalidPortfolioError(f"{themes} themes requested; give 0 or more")
    rng = np.random.default_rng(seed)
    n = initiatives

    theme_popularity = rng.dirichlet(np.full(max(themes, 1), 0.8))[:themes]
    theme_weights = rng.integers(5, 31, size=themes)
    segment_codes = rng.choice(len(SEGMENTS), size=n, p=SEGMENT_SHARES)

    cost = _draw_costs(rng, segment_codes)
    must_fund = rng.random(n) < np.asarray(MUST_FUND_SHARE)[segment_codes]
    force_out = ~must_fund & (rng.random(n) < FORCE_OUT_SHARE)
    criteria = _draw_criteria(rng, segment_codes)

    sponsor_codes = rng.integers(0, len(SPONSORS), size=n)
    unit_codes = rng.integers(0, len(BUSINESS_UNITS), size=n)
    status_codes = rng.choice(len(STATUSES), size=n, p=STATUS_SHARES)
    split = rng.random(n) < 0.6
    capex_share = np.clip(rng.normal(np.asarray((0.4, 0.2, 0.7))[segment_codes], 0.15), 0.0, 1.0)
    capex = np.where(split, np.rint(cost * capex_share).astype(np.int64), -1)
    opex = np.where(split, cost - capex, -1)
    spent = np.rint(cost * rng.uniform(0.1, 1.2, size=n)).astype(np.int64)
    actual_spend = np.where(status_codes == STATUSES.index("in progress"), spent, -1)
    start_days = rng.integers(0, 300, size=n)
    end_days = start_days + rng.integers(30, 720, size=n)

    align_rows, align_cols, score_tenths, justified = _draw_alignment(rng, segment_codes, theme_popularity)
    name_parts = (rng.integers(0, len(VERBS), size=n), rng.integers(0, len(OBJECTS), size=n),
                  rng.integers(0, len(QUALIFIERS), size=n))

    width = max(2, len(str(themes)))
    return Draw(
        theme_ids=tuple(f"T{i + 1:0{width}d}" for i in range(themes)),
        theme_names=tuple(_theme_name(i) for i in range(themes)),
        theme_weights=theme_weights,
        ids=_initiative_ids(n),
        names=_initiative_names(*name_parts),
        segment_codes=segment_codes,
        cost=cost,
        must_fund=must_fund,
        force_out=force_out,
        criteria_tenths=criteria,
        sponsor_codes=sponsor_codes,
        unit_codes=unit_codes,
        status_codes=status_codes,
        capex=capex,
        opex=opex,
        actual_spend=actual_spend,
        start_days=start_days,
        end_days=end_days,
        align_rows=align_rows,
        align_cols=align_cols,
        score_tenths=score_tenths,
        justified=justified,
        envelopes=_envelopes(cost, segment_codes),
    )


def _draw_costs(rng: np.random.Generator, segment_codes: np.ndarray) -> np.ndarray:
    n = len(segment_codes)
    median = np.asarray(MEDIAN_COST_CENTS, dtype=float)[segment_codes]
    cost = median * rng.lognormal(0.0, COST_SIGMA, size=n)

    # A few large programmes carry much of the spend; the first initiative is always one, so even
    # a small portfolio is skewed.
    mega = rng.random(n) < MEGA_SHARE
    mega[0] = True
    cost = np.where(mega, median * rng.uniform(*MEGA_FACTOR, size=n), cost)

    whole_thousands = rng.random(n) < 2 / 3
    cents = np.where(whole_thousands, np.rint(cost / 100_000) * 100_000, np.rint(cost))
    zero = rng.random(n) < ZERO_COST_SHARE
    zero[0] = False
    return np.where(zero, 0, cents).astype(np.int64)


def _draw_criteria(rng: np.random.Generator, segment_codes: np.ndarray) -> np.ndarray:
    """Draw each criterion in tenths (0–100) from its segment's Beta distribution; -1 where blank."""
    n = len(segment_codes)
    beta = np.asarray(CRITERIA_BETA)[segment_codes]
    values = rng.beta(beta[:, :, 0], beta[:, :, 1], size=(n, len(CRITERIA)))
    tenths = np.rint(values * 20).astype(np.int64) * 5
    blank = rng.random((n, len(CRITERIA))) < MISSING_CRITERION_SHARE
    return np.where(blank, -1, tenths)


def _draw_alignment(
    rng: np.random.Generator, segment_codes: np.ndarray, popularity: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Draw sparse alignment: (rows, theme columns, scores in tenths, justified), sorted by row then theme."""
    n = len(segment_codes)
    themes = len(popularity)
    strategic = segment_codes == SEGMENTS.index("strategic")
    count = rng.poisson(np.asarray(EXTRA_THEMES_MEAN)[segment_codes]) + strategic
    count[strategic & (rng.random(n) < UNALIGNED_STRATEGIC_SHARE)] = 0
    count = np.minimum(count, themes)
    if themes == 0 or not count.any():
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, np.zeros(0, dtype=bool)

    # Gumbel top-k: the k largest of log(p) + Gumbel noise are k themes drawn without replacement by popularity.
    keys = np.log(popularity) + rng.gumbel(size=(n, themes))
    order = np.argsort(-keys, axis=1, kind="stable")
    chosen = np.zeros((n, themes), dtype=bool)
    taken = np.arange(themes) < count[:, None]
    np.put_along_axis(chosen, order, taken, axis=1)
    rows, cols = np.nonzero(chosen)

    beta = np.asarray(SCORE_BETA)[segment_codes[rows]]
    points = 1 + np.rint(rng.beta(beta[:, 0], beta[:, 1]) * 9).astype(np.int64)
    half = (rng.random(len(rows)) < HALF_POINT_SHARE) & (points < 10)
    score_tenths = points * 10 + np.where(half, 5, 0)

    high = score_tenths >= JUSTIFICATION_THRESHOLD_TENTHS
    unjustified = high & (rng.random(len(rows)) < UNJUSTIFIED_SHARE)
    if high.any() and not unjustified.any():
        unjustified[np.flatnonzero(high)[0]] = True
    return rows.astype(np.int64), cols.astype(np.int64), score_tenths, high & ~unjustified


def _envelopes(cost: np.ndarray, segment_codes: np.ndarray) -> dict[str, int]:
    envelopes = {}
    for code, segment in enumerate(SEGMENTS):
        total = int(cost[segment_codes == code].sum())
        share = total * ENVELOPE_SHARE_PERCENT // 100
        rounded = share // ENVELOPE_STEP_CENTS * ENVELOPE_STEP_CENTS
        envelopes[segment] = rounded if rounded > 0 else share
    return envelopes


def _theme_name(index: int) -> str:
    base = THEME_NAMES[index % len(THEME_NAMES)]
    cycle = index // len(THEME_NAMES)
    return base if cycle == 0 else f"{base} {cycle + 1}"


def _initiative_ids(n: int) -> pa.Array:
    width = max(6, len(str(n)))
    numbers = pc.cast(pa.array(np.arange(1, n + 1)), pa.string())
    padded = pc.utf8_lpad(numbers, width=width, padding="0")
    return pc.binary_join_element_wise("SYN-", padded, "")


def _initiative_names(verbs: np.ndarray, objects: np.ndarray, qualifiers: np.ndarray) -> pa.Array:
    parts = (pa.array(VERBS).take(verbs), pa.array(OBJECTS).take(objects), pa.array(QUALIFIERS).take(qualifiers))
    return pc.binary_join_element_wise(parts[0], " ", parts[1], parts[2], "")


def _labels(vocabulary: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    return pa.array(vocabulary, pa.string()).take(codes)


# --- canonical text ------------------------------------------------------------


def _money_text(cents: np.ndarray) -> pa.Array:
    """Write integer cents as plain amounts with two decimals, ``125050`` as ``1250.50``; -1 as blank."""
    blank = cents < 0
    safe = np.where(blank, 0, cents)
    units = pc.cast(pa.array(safe // 100), pa.string())
    rest = pc.utf8_lpad(pc.cast(pa.array(safe % 100), pa.string()), width=2, padding="0")
    text = pc.binary_join_element_wise(units, ".", rest, "")
    return pc.if_else(pa.array(blank), pa.scalar(None, pa.string()), text)


def _tenths_text(tenths: np.ndarray) -> pa.Array:
    """Write tenths as plain decimals without a trailing zero, ``75`` as ``7.5`` and ``80`` as ``8``; -1 as blank."""
    blank = tenths < 0
    safe = np.where(blank, 0, tenths)
    whole = pc.cast(pa.array(safe // 10), pa.string())
    fraction = pc.cast(pa.array(safe % 10), pa.string())
    decimal = pc.binary_join_element_wise(whole, ".", fraction, "")
    text = pc.if_else(pa.array(safe % 10 == 0), whole, decimal)
    return pc.if_else(pa.array(blank), pa.scalar(None, pa.string()), text)


def _yes_no(flags: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(flags), "yes", "no")


def _dates(days: np.ndarray) -> pa.Array:
    # Arrow casts a date to ISO yyyy-mm-dd text, much faster than strftime.
    return pc.cast(pa.array(CYCLE_START + days.astype("timedelta64[D]")).cast(pa.date32()), pa.string())


def _objectives(theme_names: tuple[str, ...]) -> list[str]:
    return [f"Measurably improve {name} this cycle." for name in theme_names]


def _justifications(data: Draw) -> pa.Array:
    """Return the justification of each alignment row: a sentence where justified, else null."""
    themes = _labels(data.theme_names, data.align_cols)
    text = pc.binary_join_element_wise("Delivers a key result of ", themes, " directly", "")
    return pc.if_else(pa.array(data.justified, pa.bool_()), text, pa.scalar(None, pa.string()))


def text_tables(data: Draw) -> dict[str, pa.Table]:
    """Turn a draw into canonical tables of text, every cell as the CSV files hold it (blank as null)."""
    themes = pa.table({
        "theme_id": pa.array(data.theme_ids, pa.string()),
        "name": pa.array(data.theme_names, pa.string()),
        "weight": pc.cast(pa.array(data.theme_weights, pa.int64()), pa.string()),
        "objective": pa.array(_objectives(data.theme_names), pa.string()),
    })

    columns = {
        "initiative_id": data.ids,
        "name": data.names,
        "segment": _labels(SEGMENTS, data.segment_codes),
        "cost": _money_text(data.cost),
        "must_fund": _yes_no(data.must_fund),
        "force_out": _yes_no(data.force_out),
    }
    for index, criterion in enumerate(CRITERIA):
        columns[criterion] = _tenths_text(data.criteria_tenths[:, index])
    columns["sponsor"] = _labels(SPONSORS, data.sponsor_codes)
    columns["business_unit"] = _labels(BUSINESS_UNITS, data.unit_codes)
    columns["status"] = _labels(STATUSES, data.status_codes)
    columns["capex"] = _money_text(data.capex)
    columns["opex"] = _money_text(data.opex)
    columns["actual_spend"] = _money_text(data.actual_spend)
    columns["start_date"] = _dates(data.start_days)
    columns["end_date"] = _dates(data.end_days)
    initiatives = pa.table(columns)

    alignment = pa.table({
        "initiative_id": data.ids.take(data.align_rows),
        "theme_id": _labels(data.theme_ids, data.align_cols),
        "score": _tenths_text(data.score_tenths),
        "justification": _justifications(data),
    })

    budget = pa.table({
        "segment": pa.array(list(data.envelopes), pa.string()),
        "envelope": _money_text(np.array(list(data.envelopes.values()), dtype=np.int64)),
    })
    settings = pa.table({
        "key": ["currency", "cycle", "justification_threshold", "unjustified_high_scores"],
        "value": ["USD", "FY2027 synthetic", "9", "count"],
    })
    return {"themes": themes, "initiatives": initiatives, "alignment": alignment, "budget": budget,
            "settings": settings}


def write_tables(tables: dict[str, pa.Table], out_dir: Path) -> None:
    """Write canonical tables as ``<name>.csv`` files into a new folder, atomically: all files or none.

    Raises :class:`InvalidPortfolioError` when ``out_dir`` exists and is not empty.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise InvalidPortfolioError(f"{out_dir} is not empty; choose a new folder")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".writing-", dir=out_dir.parent))
    try:
        for name, table in tables.items():
            _write_csv(table, staging / f"{name}.csv")
        if out_dir.exists():
            out_dir.rmdir()
        os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _write_csv(table: pa.Table, path: Path) -> None:
    # Arrow quotes every header name and, in its "needed" style, every string, so the header is written
    # here and the rows without quotes. No generated value holds a comma, a quote or a line break, and
    # Arrow raises an error rather than write one unquoted. A null becomes an empty cell.
    with path.open("wb") as handle:
        handle.write((",".join(table.column_names) + "\n").encode())
        options = pa_csv.WriteOptions(include_header=False, quoting_style="none")
        pa_csv.write_csv(table, handle, options)


def generate(out_dir: Path, initiatives: int, themes: int = 12, seed: int = 0) -> Draw:
    """Write a synthetic canonical portfolio into ``out_dir`` (a new or empty folder) and return its draw.

    Raises :class:`InvalidPortfolioError` for a non-empty ``out_dir`` or
    counts out of range; nothing is written then.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise InvalidPortfolioError(f"{out_dir} is not empty; choose a new folder")
    data = draw(initiatives, themes, seed)
    write_tables(text_tables(data), out_dir)
    return data


# --- typed portfolio -----------------------------------------------------------


def to_portfolio(data: Draw, source: str = "synthetic") -> Portfolio:
    """Build the typed portfolio that loading the written files would give, without validating row by row.

    The files of a draw always validate (the tests load them), so this is
    the same portfolio at a fraction of the cost: a million initiatives in
    seconds, where row validation takes minutes.
    """
    themes = pd.DataFrame({
        "theme_id": list(data.theme_ids),
        "name": list(data.theme_names),
        "weight": data.theme_weights.astype(float),
        "objective": _objectives(data.theme_names),
        "key_results": pd.Series([None] * len(data.theme_ids), dtype=object),
        "row": np.arange(2, len(data.theme_ids) + 2),
    }, columns=list(THEME_COLUMNS))

    n = data.size
    criteria = np.where(data.criteria_tenths < 0, np.nan, data.criteria_tenths / 10.0)
    items = {
        "initiative_id": data.ids.to_pandas(),
        "name": data.names.to_pandas(),
        "segment": _labels(SEGMENTS, data.segment_codes).to_pandas(),
        "cost": data.cost,
        "must_fund": data.must_fund,
        "force_out": data.force_out,
        **{criterion: criteria[:, index] for index, criterion in enumerate(CRITERIA)},
        "sponsor": _labels(SPONSORS, data.sponsor_codes).to_pandas(),
        "business_unit": _labels(BUSINESS_UNITS, data.unit_codes).to_pandas(),
        "status": _labels(STATUSES, data.status_codes).to_pandas(),
        "description": np.full(n, None, dtype=object),
        "start_date": _dates(data.start_days).to_pandas(),
        "end_date": _dates(data.end_days).to_pandas(),
        "deadline": np.full(n, None, dtype=object),
        "extra": [{} for _ in range(n)],
        "row": np.arange(2, n + 2),
    }
    for name in ("capex", "opex", "actual_spend"):
        values = getattr(data, name)
        items[name] = pd.array(np.where(values < 0, 0, values), dtype="Int64")
        items[name][values < 0] = pd.NA
    initiatives = pd.DataFrame(items)[list(INITIATIVE_COLUMNS)]

    alignment = pd.DataFrame({
        "initiative_id": data.ids.take(data.align_rows).to_pandas(),
        "theme_id": _labels(data.theme_ids, data.align_cols).to_pandas(),
        "score": data.score_tenths / 10.0,
        "justification": _justifications(data).fill_null("").to_pandas(),
        "row": np.arange(2, len(data.align_rows) + 2),
    }, columns=list(ALIGNMENT_COLUMNS))

    return Portfolio(
        themes=themes,
        initiatives=initiatives,
        alignment=alignment,
        envelopes=dict(data.envelopes),
        lenses={segment: dict(lens) for segment, lens in DEFAULT_LENSES.items()},
        urgency=dict(DEFAULT_URGENCY),
        settings=Settings(currency="USD", cycle="FY2027 synthetic", justification_threshold=9.0,
                          unjustified_high_scores="count"),
        source=source,
    )
