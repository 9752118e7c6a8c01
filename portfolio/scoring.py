"""SAI, urgency, segment scores, rank and quadrant, vectorized.

The scoring contract:

1. Theme weights are normalized, ``W(t) = w(t) / sum(w)``; with no themes or
   all weights zero the SAI is undefined (NaN here, null when printed).
2. ``SAI(i) = 100 * sum_t W(t) * a(i, t) / 10``.
3. ``U(i) = 100 * sum_k u(k) * x(i, k) / (10 * sum_k u(k))`` over the urgency criteria.
4. ``S(i)`` is the weighted mean of the lens criteria of the initiative's
   segment, ``sai`` entering as SAI(i) and other criteria as ``10 * x(i, k)``.
5. Rank within the segment by S desc, U desc, cost asc, initiative_id asc;
   initiatives without S rank last under the same tie-breaks.
7. Quadrant against the thresholds ``tau_a`` (SAI) and ``tau_u`` (urgency).

Step 6, the funding line, lives in :mod:`portfolio.funding`. SAI, U and S are
rounded to 9 decimal places before any comparison so that floating-point
noise cannot change a rank or a quadrant. Missing criteria count as 0.

:func:`prepare` turns a portfolio into arrays once; :func:`score` is then a
handful of NumPy operations per weight change, which is what a slider needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from portfolio.errors import InvalidPortfolioError, UnknownThemeError
from portfolio.models import CRITERIA, LENS_CRITERIA, UNJUSTIFIED_CAP, Portfolio, unjustified_mask

DECIMALS = 9
QUADRANTS: tuple[str, ...] = ("fund_now", "can_wait", "fund_regardless", "challenge")
QUADRANT_LABELS: dict[str, str] = {
    "fund_now": "Fund now",
    "can_wait": "Can wait",
    "fund_regardless": "Fund regardless",
    "challenge": "Challenge",
}


class ScoringParams(BaseModel):
    """The numbers a what-if changes: weights, envelopes (cents) and thresholds.

    A scenario is a named instance of this model. Segments missing from
    ``envelopes`` have no envelope and therefore no funding line.
    """

    model_config = ConfigDict(frozen=True)

    theme_weights: dict[str, float] = Field(default_factory=dict)
    lenses: dict[str, dict[str, float]] = Field(default_factory=dict)
    urgency: dict[str, float] = Field(default_factory=dict)
    envelopes: dict[str, int] = Field(default_factory=dict)
    alignment_threshold: float = 50.0
    urgency_threshold: float = 50.0

    @classmethod
    def from_portfolio(cls, portfolio: Portfolio) -> ScoringParams:
        """Return the committed parameters of a portfolio."""
        return cls(
            theme_weights=portfolio.theme_weights,
            lenses={s: dict(lens) for s, lens in portfolio.lenses.items()},
            urgency=dict(portfolio.urgency),
            envelopes=dict(portfolio.envelopes),
            alignment_threshold=portfolio.settings.alignment_threshold,
            urgency_threshold=portfolio.settings.urgency_threshold,
        )

    def with_theme_weights(self, weights: dict[str, float]) -> ScoringParams:
        """Return a copy with some raw theme weights replaced; unknown themes raise."""
        unknown = sorted(set(weights) - set(self.theme_weights))
        if unknown:
            raise UnknownThemeError(
                f'unknown theme "{unknown[0]}"; known themes: ' + (", ".join(self.theme_weights) or "none"))
        negative = [t for t, w in weights.items() if not w >= 0]
        if negative:
            raise InvalidPortfolioError(f'theme "{negative[0]}": weight {weights[negative[0]]} is negative; '
                                        "weights must be 0 or more")
        return self.model_copy(update={"theme_weights": {**self.theme_weights, **weights}})

    def normalized_theme_weights(self) -> dict[str, float]:
        """Return each theme's share W(t) of the total weight; empty when SAI is undefined."""
        total = sum(self.theme_weights.values())
        if total <= 0:
            return {}
        return {t: w / total for t, w in self.theme_weights.items()}


@dataclass(frozen=True)
class ScoringInputs:
    """A portfolio as arrays, prepared once and scored many times.

    Rows follow the initiatives file. ``alignment`` is dense (initiatives ×
    themes) with the effective scores: unjustified high scores capped at 8 when
    the portfolio's setting is ``cap``. ``alignment_milli`` contains the same
    scores as exact integers (score × 1000) in sparse form for the attribution
    of spend.
    """

    ids: np.ndarray
    names: np.ndarray
    segments: tuple[str, ...]
    segment_codes: np.ndarray
    segment_index: tuple[np.ndarray, ...]
    cost: np.ndarray
    must_fund: np.ndarray
    force_out: np.ndarray
    criteria: np.ndarray
    criteria_missing: np.ndarray
    theme_ids: tuple[str, ...]
    alignment: np.ndarray
    align_rows: np.ndarray
    align_cols: np.ndarray
    alignment_milli: np.ndarray
    id_order: np.ndarray

    @property
    def size(self) -> int:
        return len(self.ids)

    # Computed once per prepared portfolio, because neither depends on the weights.
    @cached_property
    def tiebreak_order(self) -> np.ndarray:
        """Row positions sorted by the fixed tie-breaks of a rank: cost ascending, then initiative_id ascending."""
        return np.lexsort((self.id_order, self.cost))

    @cached_property
    def own_lens_index(self) -> np.ndarray:
        """Flat positions of each row's own segment in a segments × rows array, for one ``take``."""
        return self.segment_codes.astype(np.intp) * self.size + np.arange(self.size, dtype=np.intp)

    @cached_property
    def text_columns(self) -> tuple[pd.api.extensions.ExtensionArray, pd.api.extensions.ExtensionArray]:
        """``ids`` and ``names`` as pandas string arrays, which result frames share instead of converting each time."""
        return pd.array(self.ids, dtype="str"), pd.array(self.names, dtype="str")


def prepare(portfolio: Portfolio) -> ScoringInputs:
    """Turn a validated portfolio into the arrays :func:`score` works on."""
    items = portfolio.initiatives
    segments = tuple(portfolio.segments)
    code_of = {segment: code for code, segment in enumerate(segments)}
    segment_codes = items["segment"].map(code_of).to_numpy(dtype=np.int64)
    ids = items["initiative_id"].to_numpy(dtype=object)
    criteria_raw = items[list(CRITERIA)].to_numpy(dtype=float)

    theme_ids = tuple(portfolio.themes["theme_id"])
    theme_code = {theme: code for code, theme in enumerate(theme_ids)}
    row_of = pd.Series(np.arange(len(items)), index=items["initiative_id"])
    # Scores for themes of earlier versions stay in the portfolio as history but do not count.
    alignment = portfolio.alignment[portfolio.alignment["theme_id"].isin(theme_code)]
    scores = alignment["score"].to_numpy(dtype=float).copy()
    if portfolio.settings.unjustified_high_scores == "cap" and len(alignment):
        capped = unjustified_mask(alignment, portfolio.settings.justification_threshold).to_numpy()
        scores[capped] = np.minimum(scores[capped], UNJUSTIFIED_CAP)
    rows = row_of.reindex(alignment["initiative_id"]).to_numpy(dtype=np.int64)
    cols = alignment["theme_id"].map(theme_code).to_numpy(dtype=np.int64)
    dense = np.zeros((len(items), len(theme_ids)))
    dense[rows, cols] = scores

    return ScoringInputs(
        ids=ids,
        names=items["name"].to_numpy(dtype=object),
        segments=segments,
        segment_codes=segment_codes,
        segment_index=tuple(np.flatnonzero(segment_codes == code) for code in range(len(segments))),
        cost=items["cost"].to_numpy(dtype=np.int64),
        must_fund=items["must_fund"].to_numpy(dtype=bool),
        force_out=items["force_out"].to_numpy(dtype=bool),
        criteria=np.nan_to_num(criteria_raw, nan=0.0),
        criteria_missing=np.isnan(criteria_raw),
        theme_ids=theme_ids,
        alignment=dense,
        align_rows=rows,
        align_cols=cols,
        alignment_milli=np.rint(scores * 1000).astype(np.int64),
        id_order=np.argsort(np.argsort(ids.astype(str), kind="stable"), kind="stable"),
    )


@dataclass(frozen=True)
class Scores:
    """SAI, urgency and segment scores (NaN where undefined), aligned with the inputs' rows."""

    sai: np.ndarray
    urgency: np.ndarray
    segment_score: np.ndarray
    sai_defined: bool


def compute_sai(inputs: ScoringInputs, params: ScoringParams) -> np.ndarray:
    """Return SAI per initiative, or all NaN when there are no themes or every weight is zero."""
    raw = np.array([params.theme_weights.get(t, 0.0) for t in inputs.theme_ids], dtype=float)
    total = raw.sum()
    if len(raw) == 0 or total <= 0:
        return np.full(inputs.size, np.nan)
    return np.round(_matvec(inputs.alignment, raw / total) * 10.0, DECIMALS)


def compute_urgency(inputs: ScoringInputs, params: ScoringParams) -> np.ndarray:
    """Return the urgency score U (0–100), NaN for everyone when every urgency weight is zero."""
    weights = np.array([params.urgency.get(c, 0.0) for c in CRITERIA], dtype=float)
    total = weights.sum()
    if total <= 0:
        return np.full(inputs.size, np.nan)
    return np.round(_matvec(inputs.criteria, weights) * (10.0 / total), DECIMALS)


# Rows per BLAS call in _matvec: below the size at which OpenBLAS splits a product over threads.
MATVEC_ROWS = 8192


def _matvec(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Multiply a tall, narrow matrix by a vector or a narrow matrix, in blocks of rows; equal to ``matrix @ vector``.

    NOTE: one ``matrix @ vector`` over 100,000 × 12 took about 7 ms, because
    OpenBLAS spreads it over threads; blocks of 8,192 rows take 0.2 ms in all
    (numpy 2.4 with OpenBLAS 0.3.31, 2 cores; see benchmarks/RESULTS.md).
    """
    out = np.empty((matrix.shape[0], *vector.shape[1:]))
    for start in range(0, matrix.shape[0], MATVEC_ROWS):
        np.matmul(matrix[start:start + MATVEC_ROWS], vector, out=out[start:start + MATVEC_ROWS])
    return out


def compute_segment_scores(inputs: ScoringInputs, params: ScoringParams, sai: np.ndarray) -> np.ndarray:
    """Return S per initiative: its segment's lens as a weighted mean, NaN where it needs an undefined SAI."""
    # One column of normalized lens weights per segment; NaN for a lens whose weights are all zero.
    weights = np.zeros((len(LENS_CRITERIA), len(inputs.segments)))
    for code, segment in enumerate(inputs.segments):
        lens = params.lenses.get(segment, {})
        column = np.array([lens.get(c, 0.0) for c in LENS_CRITERIA], dtype=float)
        total = column.sum()
        weights[:, code] = column / total if total > 0 else np.nan

    # Every row is scored under every lens in one product (segments × rows, read down the column-major
    # criteria), and one flat take keeps each row's own segment. At 100k rows this costs about half of
    # criteria @ weights followed by take_along_axis.
    per_lens = (weights[:-1] * 10.0).T @ inputs.criteria.T
    values = per_lens.ravel().take(inputs.own_lens_index)
    sai_weight = weights[-1]
    if not sai_weight.any():
        return np.round(values, DECIMALS, out=values)
    row_weight = sai_weight.take(inputs.segment_codes)
    missing = np.isnan(sai)
    if missing.any():
        values += row_weight * np.where(missing, 0.0, sai)
        values[(row_weight > 0) & missing] = np.nan
    else:
        values += row_weight * sai
    return np.round(values, DECIMALS, out=values)


def compute_scores(inputs: ScoringInputs, params: ScoringParams) -> Scores:
    sai = compute_sai(inputs, params)
    return Scores(
        sai=sai,
        urgency=compute_urgency(inputs, params),
        segment_score=compute_segment_scores(inputs, params, sai),
        sai_defined=_weights_defined(inputs, params),
    )


def _weights_defined(inputs: ScoringInputs, params: ScoringParams) -> bool:
    return len(inputs.theme_ids) > 0 and sum(params.theme_weights.get(t, 0.0) for t in inputs.theme_ids) > 0


def sai_notice(inputs: ScoringInputs, params: ScoringParams) -> str | None:
    """Explain why SAI is undefined, or return None when it is defined."""
    if not inputs.theme_ids:
        return "SAI undefined: the portfolio has no themes yet, so alignment is not scored"
    if not _weights_defined(inputs, params):
        return "SAI undefined: every theme weight is zero"
    return None


def rank_within_segments(inputs: ScoringInputs, segment_score: np.ndarray, urgency: np.ndarray) -> np.ndarray:
    """Return the rank (1 = best) of each initiative within its segment, by the contract's tie-breaks."""
    if inputs.size == 0:
        return np.zeros(0, dtype=np.int64)
    score_key = np.where(np.isnan(segment_score), np.inf, -segment_score)
    urgency_key = np.where(np.isnan(urgency), np.inf, -urgency)
    # Rows taken in tie-break order (cost, then id) and sorted stably by the other keys keep that order among
    # equals: the same order as one lexsort over all five keys, with two fewer sort passes.
    tiebreak = inputs.tiebreak_order
    order = tiebreak[np.lexsort((urgency_key[tiebreak], score_key[tiebreak], inputs.segment_codes[tiebreak]))]
    sorted_codes = inputs.segment_codes[order]
    positions = np.arange(inputs.size)
    starts = np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]
    first = np.maximum.accumulate(np.where(starts, positions, 0))
    rank = np.empty(inputs.size, dtype=np.int64)
    rank[order] = positions - first + 1
    return rank


def quadrant_codes(sai: np.ndarray, urgency: np.ndarray, tau_a: float, tau_u: float) -> np.ndarray:
    """Return quadrant codes into :data:`QUADRANTS`, -1 where SAI or urgency is undefined."""
    aligned = sai >= tau_a
    urgent = urgency >= tau_u
    codes = np.where(aligned, np.where(urgent, 0, 1), np.where(urgent, 2, 3))
    codes[np.isnan(sai) | np.isnan(urgency)] = -1
    return codes
