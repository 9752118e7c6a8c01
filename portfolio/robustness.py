"""How robust the funding line is to the weights: single-theme sensitivity and Monte Carlo.

Single-theme sensitivity: for an initiative near its segment's funding line,
the smallest change of one theme's raw weight, the other weights held fixed,
that moves it across the line. Let ``w`` be the theme's raw weight and ``R``
the sum of the other raw weights. With those fixed, the gap between two
segment scores times ``(R + w)`` is linear in ``w``. So each pair of
initiatives swaps order at most once, at a root computed exactly. Walking
those roots outward from the current weight, in both directions, and summing
the costs of the initiatives ranked above gives the first weight at which the
initiative changes side. The change is reported in percentage points of the
theme's normalized share ``w / (R + w)``.

Monte Carlo: theme weights (normalized shares) and each lens's criterion
weights are drawn from Dirichlet distributions centred on the current ones,
with a concentration that sets how far they stray (larger is closer). Each
sample's funding line is computed for all samples at once per chunk: scores as
one matrix product, the order within a segment as one ``argsort`` per chunk.
Themes and criteria at weight zero stay at zero. Urgency weights, envelopes
and flags are held fixed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from portfolio.errors import PortfolioLensError
from portfolio.funding import evaluate
from portfolio.models import LENS_CRITERIA
from portfolio.scoring import DECIMALS, ScoringInputs, ScoringParams

ROBUST_FUNDED = "robustly funded"
ROBUST_UNFUNDED = "robustly unfunded"
CONTESTED = "contested"
ROBUSTNESS_LABELS: tuple[str, ...] = (ROBUST_FUNDED, CONTESTED, ROBUST_UNFUNDED)
DEFAULT_THRESHOLD = 0.9
SENSITIVITY_BANDS: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0)
# Scores are compared after rounding to 9 decimals, so a key of score × 1e9 is exact in int64 up to ~9e9 rows.
_SCORE_UNIT = 10 ** DECIMALS
_CHUNK_CELLS = 4_000_000


class RobustnessError(PortfolioLensError, ValueError):
    """The weights leave nothing to analyse, for example when SAI is undefined."""


@dataclass(frozen=True)
class _Segment:
    """One segment with an envelope, its eligible non-must-fund rows in tie-break order."""

    code: int
    name: str
    rows: np.ndarray
    room: int
    lens: np.ndarray
    tie_position: np.ndarray


def _segments(inputs: ScoringInputs, params: ScoringParams, result: pd.DataFrame) -> list[_Segment]:
    """Collect each segment with an envelope and a usable lens, rows sorted by urgency, cost and id.

    ``room`` is the envelope less the must-fund spend: what the other
    initiatives compete for. Forced-out and unscored rows never enter.
    """
    urgency = result["urgency"].to_numpy(dtype=float)
    scored = result["segment_score"].notna().to_numpy()
    urgency_key = np.where(np.isnan(urgency), np.inf, -urgency)
    segments = []
    for code, name in enumerate(inputs.segments):
        if name not in params.envelopes:
            continue
        lens = np.array([params.lenses.get(name, {}).get(c, 0.0) for c in LENS_CRITERIA], dtype=float)
        if lens.sum() <= 0:
            continue
        in_segment = inputs.segment_codes == code
        must = int(inputs.cost[in_segment & inputs.must_fund].sum())
        rows = np.flatnonzero(in_segment & ~inputs.must_fund & ~inputs.force_out & scored)
        rows = rows[np.lexsort((inputs.id_order[rows], inputs.cost[rows], urgency_key[rows]))]
        segments.append(_Segment(code=code, name=name, rows=rows, room=int(params.envelopes[name]) - must,
                                 lens=lens / lens.sum(), tie_position=np.arange(len(rows))))
    return segments


def _theme_vector(inputs: ScoringInputs, params: ScoringParams) -> np.ndarray:
    return np.array([params.theme_weights.get(t, 0.0) for t in inputs.theme_ids], dtype=float)


# --- single-theme sensitivity ----------------------------------------------------------------------


def near_line(result: pd.DataFrame, segment_rows: np.ndarray, window: int | None) -> np.ndarray:
    """Return the rows (of ``segment_rows``, which are in tie-break order) within ``window`` places of the line.

    Places count in rank order among the eligible non-must-fund initiatives;
    ``None`` returns them all.
    """
    if window is None or len(segment_rows) <= 2 * window:
        return segment_rows
    rank = result["rank"].to_numpy()[segment_rows]
    ordered = segment_rows[np.argsort(rank, kind="stable")]
    funded = int(result["funded"].fillna(False).to_numpy(dtype=bool)[segment_rows].sum())
    return ordered[max(0, funded - window): funded + window]


def weight_sensitivity(inputs: ScoringInputs, params: ScoringParams, result: pd.DataFrame | None = None,
                       window: int | None = 10) -> pd.DataFrame:
    """Return, per initiative near its line, theme and side, the smallest single-theme change that moves it across.

    One row per (initiative, theme, side), ``side`` being ``increase`` or
    ``decrease`` of the theme's raw weight. Columns: ``initiative_id``,
    ``name``, ``segment``, ``rank``, ``funded`` (now), ``theme_id``, ``side``,
    ``weight`` and ``new_weight`` (raw), ``share`` and ``new_share`` (0–1),
    ``change_pp`` (signed, percentage points of the theme's share; NaN when
    no change on that side moves it) and ``crossing`` (``into funding`` or
    ``out of funding``). At ``new_weight`` the initiative ties with the one it
    passes; any step further crosses the line. Only segments whose lens uses
    SAI can move. Raises :class:`RobustnessError` when SAI is undefined.
    """
    weights = _theme_vector(inputs, params)
    if len(weights) == 0 or weights.sum() <= 0:
        raise RobustnessError("SAI is undefined because no theme has a weight, so theme weights cannot move "
                              "the funding line; give a theme a weight above zero")
    if result is None:
        result = evaluate(inputs, params)
    funded_now = result["funded"].fillna(False).to_numpy(dtype=bool)
    score = result["segment_score"].to_numpy(dtype=float)
    records: list[dict] = []

    for segment in _segments(inputs, params, result):
        sai_weight = segment.lens[-1]
        if sai_weight <= 0 or len(segment.rows) < 2:
            continue
        rows = segment.rows
        rest = inputs.criteria[rows] @ (segment.lens[:-1] * 10.0)
        candidates = near_line(result, rows, window)
        place = np.full(inputs.size, -1)
        place[rows] = np.arange(len(rows))
        for theme_index, theme_id in enumerate(inputs.theme_ids):
            lines = _pair_lines(inputs, weights, theme_index, rows, rest, sai_weight)
            for row in candidates:
                for side in ("increase", "decrease"):
                    crossing = _first_crossing(lines, place[row], score[rows], inputs.cost[rows], segment.room,
                                               bool(funded_now[row]), weights[theme_index], side)
                    records.append(_sensitivity_record(inputs, result, row, segment.name, theme_id, side,
                                                       weights, theme_index, crossing, bool(funded_now[row])))
    return pd.DataFrame.from_records(records, columns=SENSITIVITY_COLUMNS)


SENSITIVITY_COLUMNS = ("initiative_id", "name", "segment", "rank", "funded", "theme_id", "side", "weight",
                       "new_weight", "share", "new_share", "change_pp", "crossing")


@dataclass(frozen=True)
class _Lines:
    """Per row of a segment: S(w) * (R + w) = intercept + slope * w, for one theme's raw weight w."""

    intercept: np.ndarray
    slope: np.ndarray
    others: float


def _pair_lines(inputs: ScoringInputs, weights: np.ndarray, theme: int, rows: np.ndarray, rest: np.ndarray,
                sai_weight: float) -> _Lines:
    """Write each score as a ratio with the theme weight w: S(w) = (intercept + slope * w) / (R + w)."""
    others = weights.copy()
    others[theme] = 0.0
    other_total = float(others.sum())
    partial = inputs.alignment[rows] @ others
    own = inputs.alignment[rows, theme]
    intercept = rest * other_total + 10.0 * sai_weight * partial
    slope = rest + 10.0 * sai_weight * own
    return _Lines(intercept=intercept, slope=slope, others=other_total)


def _first_crossing(lines: _Lines, place: int, score: np.ndarray, cost: np.ndarray, room: int, funded: bool,
                    weight: float, side: str) -> float | None:
    """Return the raw weight at which the initiative at ``place`` first changes side, or None.

    ``score`` is the current segment score of each row (rounded, as ranked);
    rows are in tie-break order, so a lower place wins an exact tie.
    """
    alpha = lines.intercept - lines.intercept[place]
    beta = lines.slope - lines.slope[place]
    gap_now = score - score[place]
    tie_wins = np.arange(len(score)) < place
    above_now = (gap_now > 0) | ((gap_now == 0) & tie_wins)

    upward = side == "increase"
    # Just past the current weight, a row tied now is decided by the slope; others keep their side.
    moving = beta > 0 if upward else beta < 0
    above_next = np.where(gap_now == 0, np.where(beta == 0, tie_wins, moving), above_now)
    with np.errstate(divide="ignore", invalid="ignore"):
        root = np.where(beta != 0, -alpha / beta, np.nan)
    lowest = 0.0 if lines.others > 0 else np.nextafter(0.0, 1.0)
    ahead = (root > weight) if upward else ((root < weight) & (root >= lowest))
    flips = (gap_now != 0) & ahead & np.isfinite(root)
    flips[place] = False

    event_at = np.r_[np.full(int(np.sum(above_next != above_now)), weight), root[flips]]
    changed = np.r_[np.flatnonzero(above_next != above_now), np.flatnonzero(flips)]
    entering = np.r_[above_next[above_next != above_now], ~above_next[flips]]
    if len(event_at) == 0:
        return None
    order = np.argsort(event_at if upward else -event_at, kind="stable")
    event_at, changed, entering = event_at[order], changed[order], entering[order]

    above_cost = int(cost[above_now].sum()) - (int(cost[place]) if above_now[place] else 0)
    deltas = np.where(entering, cost[changed], -cost[changed]).astype(np.int64)
    running = above_cost + np.cumsum(deltas)
    last_of_group = np.r_[event_at[1:] != event_at[:-1], True]
    fits = running + int(cost[place]) <= room
    crossed = last_of_group & (fits != funded)
    if not crossed.any():
        return None
    return float(event_at[np.argmax(crossed)])


def _sensitivity_record(inputs: ScoringInputs, result: pd.DataFrame, row: int, segment: str, theme_id: str,
                        side: str, weights: np.ndarray, theme: int, crossing: float | None, funded: bool) -> dict:
    total = float(weights.sum())
    weight = float(weights[theme])
    share = weight / total
    new_weight = np.nan if crossing is None else crossing
    new_share = np.nan if crossing is None else crossing / (total - weight + crossing)
    return {
        "initiative_id": inputs.ids[row],
        "name": inputs.names[row],
        "segment": segment,
        "rank": int(result["rank"].iloc[row]),
        "funded": funded,
        "theme_id": theme_id,
        "side": side,
        "weight": weight,
        "new_weight": new_weight,
        "share": share,
        "new_share": new_share,
        "change_pp": (new_share - share) * 100.0,
        "crossing": "out of funding" if funded else "into funding",
    }


def smallest_changes(sensitivity: pd.DataFrame) -> pd.DataFrame:
    """Return one row per initiative: its smallest single-theme change across the line, NaN when none moves it.

    Sorted by the size of that change, smallest first.
    """
    if sensitivity.empty:
        return sensitivity.copy()
    frame = sensitivity.assign(size=sensitivity["change_pp"].abs())
    frame = frame.sort_values(["size", "theme_id", "side"], kind="stable", na_position="last")
    best = frame.drop_duplicates("initiative_id", keep="first")
    return best.sort_values(["size", "segment", "rank"], kind="stable", na_position="last").drop(columns="size")


def describe_change(theme_name: str, change_pp: float) -> str:
    """Say in words which way to move a theme's share, e.g. ``raise Data and AI by 0.83 pp``.

    A change that rounds to 0.00 pp means the initiative is tied with the one
    it would pass, so any move that way crosses the line.
    """
    if np.isnan(change_pp):
        return ""
    verb = "raise" if change_pp > 0 else "lower"
    if abs(change_pp) < 0.005:
        return f"{verb} {theme_name} at all (tied now)"
    return f"{verb} {theme_name} by {abs(change_pp):.2f} pp"


def theme_sensitivity(sensitivity: pd.DataFrame, bands: tuple[float, ...] = SENSITIVITY_BANDS) -> pd.DataFrame:
    """Count, per theme, the funding decisions that a move of that theme alone within each band would change.

    Returns one row per theme with a column per band (``within_<band>``,
    cumulative) and ``nearest_pp``, the smallest change of that theme that
    moves any decision. Decisions count once per theme, on their nearer side.
    """
    columns = ["theme_id", *[f"within_{band:g}" for band in bands], "nearest_pp"]
    if sensitivity.empty:
        return pd.DataFrame(columns=columns)
    size = sensitivity.assign(size=sensitivity["change_pp"].abs())
    nearest = size.groupby(["theme_id", "initiative_id"], sort=False)["size"].min().reset_index()
    rows = []
    for theme_id, part in nearest.groupby("theme_id", sort=False):
        values = part["size"].to_numpy(dtype=float)
        record = {"theme_id": theme_id}
        for band in bands:
            record[f"within_{band:g}"] = int(np.sum(values <= band))
        record["nearest_pp"] = float(np.nanmin(values)) if np.isfinite(values).any() else np.nan
        rows.append(record)
    return pd.DataFrame.from_records(rows, columns=columns)


# --- Monte Carlo ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeightSamples:
    """Sampled weights: theme shares (samples × themes) and per segment the lens shares (samples × criteria)."""

    themes: np.ndarray
    lenses: dict[str, np.ndarray]

    @property
    def count(self) -> int:
        return len(self.themes)


def _dirichlet(rng: np.random.Generator, shares: np.ndarray, concentration: float, samples: int) -> np.ndarray:
    """Draw Dirichlet samples centred on ``shares``; components at zero stay at zero."""
    drawn = np.zeros((samples, len(shares)))
    positive = shares > 0
    if positive.sum() == 1:
        drawn[:, positive] = 1.0
    elif positive.any():
        drawn[:, positive] = rng.dirichlet(shares[positive] * concentration, size=samples)
    return drawn


def share_spread(share: float, concentration: float) -> float:
    """Return the standard deviation of a Dirichlet-sampled share around ``share`` (both 0–1).

    For a Dirichlet with parameters ``concentration * shares`` each component
    has variance ``share * (1 - share) / (concentration + 1)``.
    """
    return float(np.sqrt(share * (1.0 - share) / (concentration + 1.0)))


def sample_weights(inputs: ScoringInputs, params: ScoringParams, concentration: float, samples: int,
                   seed: int | None = 0) -> WeightSamples:
    """Draw theme shares and lens shares around the current ones; the same seed gives the same draws.

    Raises :class:`RobustnessError` for a concentration or sample count that
    is not positive, or when SAI is undefined.
    """
    if not concentration > 0:
        raise RobustnessError(f"concentration {concentration} is not positive; use a number above 0, e.g. 100")
    if samples < 1:
        raise RobustnessError(f"sample count {samples} is not positive; use 1 or more, e.g. 1000")
    weights = _theme_vector(inputs, params)
    if len(weights) == 0 or weights.sum() <= 0:
        raise RobustnessError("SAI is undefined because no theme has a weight, so there is nothing to sample "
                              "around; give a theme a weight above zero")
    rng = np.random.default_rng(seed)
    themes = _dirichlet(rng, weights / weights.sum(), concentration, samples)
    lenses = {}
    for segment in inputs.segments:
        lens = np.array([params.lenses.get(segment, {}).get(c, 0.0) for c in LENS_CRITERIA], dtype=float)
        lenses[segment] = _dirichlet(rng, lens / lens.sum(), concentration, samples) if lens.sum() > 0 \
            else np.zeros((samples, len(lens)))
    return WeightSamples(themes=themes, lenses=lenses)


def funded_counts(inputs: ScoringInputs, params: ScoringParams, drawn: WeightSamples,
                  result: pd.DataFrame | None = None, progress: Callable[[int, int], None] | None = None,
                  chunk: int | None = None) -> np.ndarray:
    """Return how many of the samples fund each initiative (int per row; must-fund rows count every sample).

    Works in chunks of samples so that memory stays near ``_CHUNK_CELLS``
    scores; ``progress(done, total)`` is called after each chunk.
    """
    if result is None:
        result = evaluate(inputs, params)
    total = drawn.count
    counts = np.zeros(inputs.size, dtype=np.int64)
    enveloped = np.isin(inputs.segment_codes, [c for c, s in enumerate(inputs.segments) if s in params.envelopes])
    counts[enveloped & inputs.must_fund] = total
    segments = [s for s in _segments(inputs, params, result) if len(s.rows)]
    step = chunk or max(1, _CHUNK_CELLS // max(inputs.size, 1))
    alignment_t = {s.code: np.ascontiguousarray(inputs.alignment[s.rows].T) for s in segments if s.lens[-1] > 0}
    criteria_t = {s.code: np.ascontiguousarray(inputs.criteria[s.rows].T * 10.0) for s in segments}

    for start in range(0, total, step):
        stop = min(total, start + step)
        themes = drawn.themes[start:stop]
        for segment in segments:
            lens = drawn.lenses[segment.name][start:stop]
            scores = lens[:, :-1] @ criteria_t[segment.code]
            if segment.code in alignment_t:
                sai = np.round(themes @ alignment_t[segment.code] * 10.0, DECIMALS)
                scores += lens[:, -1:] * sai
            counts[segment.rows] += _count_funded(scores, inputs.cost[segment.rows], segment.room)
        if progress is not None:
            progress(stop, total)
    return counts


def _count_funded(scores: np.ndarray, cost: np.ndarray, room: int) -> np.ndarray:
    """Count, per column, the samples (rows of ``scores``, unrounded) whose funding line takes it.

    ``rint(score * 1e9)`` is the score rounded to 9 decimals as the contract
    ranks it, in integer units. Columns are in tie-break order, so the key
    ``-rint(score * 1e9) * n + column`` is unique and a plain ``argsort`` of
    it is the ranking of each sample.
    """
    samples, size = scores.shape
    key = -np.rint(scores * _SCORE_UNIT).astype(np.int64) * size + np.arange(size)
    order = np.argsort(key, axis=1)
    running = np.cumsum(cost[order], axis=1)
    funded_per_sample = (running <= room).sum(axis=1)
    mask = np.arange(size) < funded_per_sample[:, None]
    return np.bincount(order[mask], minlength=size)


def funding_probability(inputs: ScoringInputs, params: ScoringParams, concentration: float = 100.0,
                        samples: int = 1000, seed: int | None = 0, result: pd.DataFrame | None = None,
                        progress: Callable[[int, int], None] | None = None,
                        threshold: float = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """Return each initiative's probability of being funded under weights drawn around the current ones.

    One row per initiative in file order: ``initiative_id``, ``name``,
    ``segment``, ``rank``, ``cost``, ``sai``, ``urgency``, ``funded`` (now),
    ``probability`` (0–1, NaN where the segment has no envelope or the
    initiative cannot be placed) and ``robustness`` (see :func:`label`).
    """
    if result is None:
        result = evaluate(inputs, params)
    drawn = sample_weights(inputs, params, concentration, samples, seed)
    counts = funded_counts(inputs, params, drawn, result, progress)
    known = result["funded"].notna().to_numpy()
    probability = np.where(known, counts / samples, np.nan)
    return pd.DataFrame({
        "initiative_id": inputs.ids,
        "name": inputs.names,
        "segment": result["segment"].astype(str).to_numpy(),
        "rank": result["rank"].to_numpy(),
        "cost": inputs.cost,
        "sai": result["sai"].to_numpy(),
        "urgency": result["urgency"].to_numpy(),
        "segment_score": result["segment_score"].to_numpy(),
        "funded": result["funded"].to_numpy(),
        "probability": probability,
        "robustness": label(probability, threshold),
    })


def label(probability: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Label each probability: robustly funded (>= threshold), robustly unfunded (<= 1 - threshold), contested.

    NaN probabilities get an empty label.
    """
    labels = np.full(len(probability), "", dtype=object)
    known = ~np.isnan(probability)
    labels[known] = CONTESTED
    labels[known & (probability >= threshold)] = ROBUST_FUNDED
    labels[known & (1.0 - probability >= threshold)] = ROBUST_UNFUNDED
    return labels
