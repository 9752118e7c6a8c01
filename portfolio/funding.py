"""Envelopes and the funding line, and the whole scoring pipeline.

The funding line of a segment with envelope E: take ``must_fund``
initiatives first, then the rest, each group in rank order; an initiative is
funded while the running total of cost, itself included, is at most E.
``must_fund`` initiatives are always funded (an overrun is flagged). The first
other initiative that does not fit ends the line. ``force_out`` initiatives
are never funded and do not end the line; initiatives without a segment
score are unknown (None) unless they are ``must_fund``, and do not end the
line either. Segments without an envelope have no line: ``funded`` is None.

Because costs are never negative the running total only grows, so "funded
until the first misfit" is the same as "running total at most E"; that is
what makes the line one cumulative sum per segment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from portfolio.scoring import (
    QUADRANTS,
    ScoringInputs,
    ScoringParams,
    compute_scores,
    quadrant_codes,
    rank_within_segments,
)

RESULT_COLUMNS: tuple[str, ...] = (
    "initiative_id",
    "segment",
    "sai",
    "urgency",
    "segment_score",
    "rank",
    "quadrant",
    "funded",
)


def funding_line(
    inputs: ScoringInputs, params: ScoringParams, segment_score: np.ndarray, rank: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(funded, known)``: funded flags and where the flag is defined.

    ``known`` is False for segments without an envelope and for initiatives
    without a segment score that are not ``must_fund``.
    """
    size = inputs.size
    funded = np.zeros(size, dtype=bool)
    known = np.zeros(size, dtype=bool)
    if size == 0:
        return funded, known

    envelope_of = np.array([params.envelopes.get(s, -1) for s in inputs.segments], dtype=np.int64)
    envelope = envelope_of[inputs.segment_codes]
    has_envelope = envelope >= 0
    scored = ~np.isnan(segment_score)
    eligible = ~inputs.force_out & (inputs.must_fund | scored)

    # One stable sort of a combined key (segment, then must_fund first, then rank) gives the order of
    # lexsort((rank, ~must_fund, segment_codes)) in a third of the time.
    offset = rank - rank.min()
    group = inputs.segment_codes * 2 + ~inputs.must_fund
    order = np.argsort(group * (int(offset.max()) + 1) + offset, kind="stable")
    counted = np.where(eligible, inputs.cost, 0)[order]
    running = np.cumsum(counted)
    codes = inputs.segment_codes[order]
    starts = np.r_[True, codes[1:] != codes[:-1]]
    before_segment = np.where(starts, running - counted, 0)
    running -= _segment_offsets(before_segment, starts)
    fits = np.empty(size, dtype=bool)
    fits[order] = running <= envelope[order]

    funded = eligible & (inputs.must_fund | fits) & has_envelope
    known = has_envelope & (eligible | inputs.force_out)
    return funded, known


def _segment_offsets(before_segment: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Spread each segment's starting offset over the segment's rows (rows sorted by segment)."""
    positions = np.where(starts, np.arange(len(starts)), 0)
    first = np.maximum.accumulate(positions)
    return before_segment[first]


def evaluate(inputs: ScoringInputs, params: ScoringParams) -> pd.DataFrame:
    """Score a portfolio under the given parameters: one row per initiative, in file order.

    Columns: ``initiative_id``, ``segment``, ``sai``, ``urgency``,
    ``segment_score`` (floats, NaN where undefined), ``rank`` (int),
    ``quadrant`` (categorical, NaN where undefined), ``funded`` (nullable
    boolean), and for convenience ``name``, ``cost`` (cents), ``must_fund``
    and ``force_out``.
    """
    scores = compute_scores(inputs, params)
    rank = rank_within_segments(inputs, scores.segment_score, scores.urgency)
    funded, known = funding_line(inputs, params, scores.segment_score, rank)
    codes = quadrant_codes(scores.sai, scores.urgency, params.alignment_threshold, params.urgency_threshold)
    segment_names = np.array(inputs.segments, dtype=object)
    ids, names = inputs.text_columns
    return pd.DataFrame(
        {
            "initiative_id": ids,
            "segment": pd.Categorical.from_codes(inputs.segment_codes, categories=list(inputs.segments))
            if inputs.segments else segment_names[inputs.segment_codes],
            "sai": scores.sai,
            "urgency": scores.urgency,
            "segment_score": scores.segment_score,
            "rank": rank,
            "quadrant": pd.Categorical.from_codes(codes, categories=list(QUADRANTS)),
            "funded": pd.arrays.BooleanArray(funded, ~known),
            "name": names,
            "cost": inputs.cost,
            "must_fund": inputs.must_fund,
            "force_out": inputs.force_out,
        }
    )


@dataclass(frozen=True)
class SegmentFunding:
    """One segment's money against its envelope, all amounts in cents."""

    segment: str
    envelope: int | None
    proposed: int
    funded: int
    must_fund: int
    count: int
    funded_count: int

    @property
    def overrun(self) -> int:
        """Return how far must-fund initiatives alone exceed the envelope (0 when they fit)."""
        if self.envelope is None:
            return 0
        return max(0, self.must_fund - self.envelope)

    @property
    def headroom(self) -> int | None:
        """Return the envelope left under the line, or None without an envelope."""
        if self.envelope is None:
            return None
        return max(0, self.envelope - self.funded)


def segment_funding(result: pd.DataFrame, params: ScoringParams, segments: tuple[str, ...]) -> list[SegmentFunding]:
    """Summarize proposed and funded spend per segment, exactly in cents."""
    summaries = []
    for segment in segments:
        rows = result[result["segment"] == segment]
        funded = rows["funded"].fillna(False).to_numpy(dtype=bool)
        costs = rows["cost"].to_numpy(dtype=np.int64)
        summaries.append(
            SegmentFunding(
                segment=segment,
                envelope=params.envelopes.get(segment),
                proposed=int(costs.sum()),
                funded=int(costs[funded].sum()),
                must_fund=int(costs[rows["must_fund"].to_numpy(dtype=bool)].sum()),
                count=len(rows),
                funded_count=int(funded.sum()),
            )
        )
    return summaries


def fits_in_headroom(result: pd.DataFrame, summary: SegmentFunding) -> pd.DataFrame:
    """Return the unfunded, scored initiatives of a segment that would fit in its headroom.

    The line does not fill such gaps: the optimizer does. Sorted by rank.
    """
    if summary.headroom is None:
        return result.iloc[0:0]
    rows = result[(result["segment"] == summary.segment) & (result["funded"] == False)]  # noqa: E712
    rows = rows[~rows["force_out"] & rows["segment_score"].notna() & (rows["cost"] <= summary.headroom)]
    return rows.sort_values("rank")


def ranked_segment(result: pd.DataFrame, segment: str, baseline: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return one segment's initiatives in funding order with the running total of cost.

    Funding order is the order the line takes them: ``must_fund`` first, then
    the rest, each by rank; initiatives that cannot be placed (forced out, or
    without a segment score) come last. ``running_total`` (cents) counts only
    the initiatives the line counts, so it crosses the envelope exactly where
    the line ends. With ``baseline``, ``rank_change`` is positive for a move up
    and ``crossing`` names a change of side of the line.
    """
    mask = (result["segment"] == segment).to_numpy()
    rows = result.loc[mask].copy()
    placed = ~rows["force_out"] & (rows["must_fund"] | rows["segment_score"].notna())
    rows["_group"] = np.where(~placed, 2, np.where(rows["must_fund"], 0, 1))
    rows = rows.sort_values(["_group", "rank"], kind="stable")
    counted = np.where(rows["_group"] < 2, rows["cost"].to_numpy(dtype=np.int64), 0)
    rows["running_total"] = np.cumsum(counted)
    rows.loc[rows["_group"] == 2, "running_total"] = pd.NA
    if baseline is not None:
        before = baseline.loc[mask]
        rank_before = pd.Series(before["rank"].to_numpy(), index=before.index)
        funded_before = pd.Series(before["funded"].fillna(False).to_numpy(dtype=bool), index=before.index)
        rows["rank_change"] = rank_before.reindex(rows.index).to_numpy() - rows["rank"].to_numpy()
        now = rows["funded"].fillna(False).to_numpy(dtype=bool)
        was = funded_before.reindex(rows.index).to_numpy(dtype=bool)
        rows["crossing"] = np.where(now & ~was, "into funding", np.where(was & ~now, "out of funding", ""))
    return rows.drop(columns="_group")


# Labels for an initiative's place against the funding line, shared by the pages and the exports.
STATUS_FUNDED = "funded"
STATUS_MUST_FUND = "must fund"
STATUS_BELOW = "below the line"
STATUS_FORCED_OUT = "forced out"
STATUS_NOT_SCORED = "not scored"
STATUS_NO_ENVELOPE = "no envelope"


def funding_status(frame: pd.DataFrame) -> np.ndarray:
    """Describe each initiative's place against the funding line: funded, must fund, below the line, ...

    ``frame`` has the columns ``funded``, ``must_fund``, ``force_out`` and
    ``segment_score`` of :func:`portfolio.funding.evaluate`.
    """
    funded = frame["funded"]
    known = funded.notna().to_numpy()
    is_funded = funded.fillna(False).to_numpy(dtype=bool)
    must = frame["must_fund"].to_numpy(dtype=bool)
    forced_out = frame["force_out"].to_numpy(dtype=bool)
    scored = frame["segment_score"].notna().to_numpy()
    return np.select(
        [forced_out, ~known & must, ~known & ~scored, ~known, must, is_funded],
        [STATUS_FORCED_OUT, STATUS_MUST_FUND, STATUS_NOT_SCORED, STATUS_NO_ENVELOPE, STATUS_MUST_FUND,
         STATUS_FUNDED],
        default=STATUS_BELOW,
    ).astype(object)
