"""Why a score is what it is: each score split into the parts that make it.

SAI is the sum over themes of ``W(t) * a(i, t) * 10``; the urgency score the
sum over criteria of ``u(k) / sum(u) * 10 * x(i, k)``; the segment score the
sum over the lens of ``l(k) / sum(l) * value(k)``. Parts are also given
rounded to hundredths by largest remainder, so that the rounded parts add up
exactly to the rounded total that the page shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from portfolio.models import CRITERIA
from portfolio.scoring import ScoringInputs, ScoringParams, compute_scores

CRITERION_LABELS: dict[str, str] = {
    "business_value": "Business value",
    "urgency": "Urgency",
    "risk": "Risk",
    "financial_return": "Financial return",
    "technical_necessity": "Technical necessity",
    "sai": "Strategic Alignment Index",
}


@dataclass(frozen=True)
class Part:
    """One addend of a score: what it is, how it is computed, its exact and shown value."""

    label: str
    formula: str
    value: float
    shown: float


@dataclass(frozen=True)
class Explanation:
    """A score and its parts. When the score is undefined, ``total`` is NaN and ``reason`` gives the cause."""

    title: str
    total: float
    shown_total: float
    parts: tuple[Part, ...]
    reason: str | None = None

    @property
    def defined(self) -> bool:
        return not math.isnan(self.total)


def _shown_parts(values: list[float], total: float) -> list[float]:
    """Round parts to hundredths so that they add up to the total rounded to hundredths."""
    if not values:
        return []
    target = round(total * 100)
    scaled = [v * 100 for v in values]
    floors = [math.floor(v + 1e-9) for v in scaled]
    leftover = target - sum(floors)
    order = sorted(range(len(values)), key=lambda k: (-(scaled[k] - floors[k]), k))
    for k in order[: max(0, leftover)]:
        floors[k] += 1
    return [f / 100 for f in floors]


def _explanation(title: str, labels: list[str], formulas: list[str], values: list[float], total: float,
                 reason: str | None = None) -> Explanation:
    if math.isnan(total):
        return Explanation(title, total, math.nan, (), reason)
    shown = _shown_parts(values, total)
    parts = tuple(Part(label, formula, value, show)
                  for label, formula, value, show in zip(labels, formulas, values, shown, strict=True))
    return Explanation(title, total, round(total, 2), parts, None)


def explain(inputs: ScoringInputs, params: ScoringParams, row: int, theme_names: dict[str, str]) -> list[Explanation]:
    """Explain SAI, urgency and segment score of the initiative at ``row`` under ``params``."""
    scores = compute_scores(inputs, params)
    sai = float(scores.sai[row])
    urgency = float(scores.urgency[row])
    segment_score = float(scores.segment_score[row])
    criteria = inputs.criteria[row]
    missing = inputs.criteria_missing[row]

    weights = params.normalized_theme_weights()
    labels, formulas, values = [], [], []
    for column, theme in enumerate(inputs.theme_ids):
        score = float(inputs.alignment[row, column])
        if score == 0 or not weights:
            continue
        share = weights.get(theme, 0.0)
        labels.append(theme_names.get(theme, theme))
        formulas.append(f"weight {share * 100:.1f} % × score {score:g} × 10")
        values.append(share * score * 10)
    reason = None
    if not inputs.theme_ids:
        reason = "no themes yet"
    elif not weights:
        reason = "every theme weight is zero"
    explanations = [_explanation("Strategic Alignment Index (SAI)", labels, formulas, values, sai, reason)]

    total = sum(params.urgency.values())
    labels, formulas, values = [], [], []
    for index, criterion in enumerate(CRITERIA):
        weight = params.urgency.get(criterion, 0.0)
        if weight <= 0:
            continue
        note = " (missing, counts as 0)" if missing[index] else ""
        labels.append(CRITERION_LABELS[criterion] + note)
        formulas.append(f"weight {weight / total * 100:.1f} % × {criteria[index]:g} × 10")
        values.append(weight / total * criteria[index] * 10)
    explanations.append(_explanation("Urgency score", labels, formulas, values, urgency,
                                     "every urgency weight is zero"))

    segment = inputs.segments[inputs.segment_codes[row]]
    lens = params.lenses.get(segment, {})
    total = sum(lens.values())
    labels, formulas, values = [], [], []
    for criterion, weight in lens.items():
        if weight <= 0:
            continue
        share = weight / total
        if criterion == "sai":
            labels.append(CRITERION_LABELS["sai"])
            formulas.append(f"weight {share * 100:.1f} % × SAI {0 if np.isnan(sai) else sai:.2f}")
            values.append(share * (0.0 if np.isnan(sai) else sai))
            continue
        index = CRITERIA.index(criterion)
        note = " (missing, counts as 0)" if missing[index] else ""
        labels.append(CRITERION_LABELS[criterion] + note)
        formulas.append(f"weight {share * 100:.1f} % × {criteria[index]:g} × 10")
        values.append(share * criteria[index] * 10)
    explanations.append(_explanation(f"Segment score ({segment} lens)", labels, formulas, values, segment_score,
                                     "the lens uses SAI, which is undefined"))
    return explanations
