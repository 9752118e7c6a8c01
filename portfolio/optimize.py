"""Optimal funding selections and the efficient frontier, solved exactly as mixed integer programs.

For each segment with an envelope, choose the initiatives that maximize the
total value of the funded set within the envelope. The value of an initiative
is its segment score (objective ``score``), or its segment score × cost / 100
(objective ``score_cost``, value proportional to size, in cents).

Rules, in the order they are applied:

1. ``must_fund`` initiatives are always funded and ``force_out`` ones never.
   Initiatives without a segment score cannot be valued and are left out
   (their ``funded_optimal`` is unknown, as on the funding line), unless they
   are ``must_fund`` or a forced initiative requires them.
2. Dependencies ("A requires B") hold in the selection. A forced initiative
   forces in what it requires, transitively. An initiative whose requirement
   cannot be funded (forced out, not scored, or in a segment without an
   envelope and not ``must_fund``) cannot be funded either. A requirement
   that conflicts with forcing (a must-fund initiative requiring a forced-out
   one) is reported in ``unmet`` and not enforced, because must-fund wins.
3. Where the forced initiatives alone exceed a segment's envelope, that
   segment's selection is exactly the forced set and the overrun is reported.
4. A dependency between two segments with envelopes links them: linked
   segments are solved together as one program, each within its own envelope,
   maximizing the sum of their values. So a cross-segment requirement is met
   exactly when the required initiative is funded by its own segment's
   optimal selection.
5. Among selections of equal value (within :data:`TIE_TOLERANCE`), the
   result is the one that changes the fewest decisions of the rank-order
   funding line, then the one that funds higher-ranked initiatives. This is a
   second solve with the optimal value fixed. The program is built in
   (segment, rank) order, so the input row order does not change the answer.

Solving: an LP relaxation (HiGHS through ``scipy.optimize.linprog``) gives a
dual bound, and every variable whose reduced cost proves it takes the same
value in all optimal selections is fixed (reduced-cost fixing, valid for any
non-negative duals by weak duality). The remaining core goes to
``scipy.optimize.milp`` (HiGHS) with ``mip_rel_gap=0``. The selection is then
checked in exact integer cents against every envelope and dependency.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import coo_array, csr_array

from portfolio.errors import PortfolioLensError
from portfolio.formatting import money
from portfolio.funding import evaluate, funding_line
from portfolio.scoring import ScoringInputs, ScoringParams

logger = logging.getLogger(__name__)

OBJECTIVES: dict[str, str] = {
    "score": "Maximize the total segment score of the funded initiatives, within the envelope.",
    "score_cost": "Maximize the total of segment score × cost: an initiative's value is taken as "
                  "proportional to its size, so a large initiative with a middling score can outweigh "
                  "a small one with a high score.",
}
OBJECTIVE_LABELS: dict[str, str] = {"score": "Segment score", "score_cost": "Segment score × cost"}
VALUE_TITLES: dict[str, str] = {"score": "Total segment score (points)",
                                "score_cost": "Score-weighted spend (segment score / 100 × cost)"}

# Values are scaled for the solver so that the largest is SOLVER_SCALE. Two selections whose scaled values
# differ by less than TIE_TOLERANCE count as equally good, because HiGHS's own tolerances are about 1e-6.
SOLVER_SCALE = 100.0
TIE_TOLERANCE = 1e-6
FRONTIER_STEPS = 21
FRONTIER_MAX_FRACTION = 1.5
_MAX_REPAIRS = 5
# The kernel solved first contains the variables whose |reduced cost| is within this share of the greedy gap.
KERNEL_SHARE = 0.25


class OptimizationError(PortfolioLensError, RuntimeError):
    """The solver failed to return a selection that passes the exact checks."""


@dataclass(frozen=True)
class SegmentSelection:
    """One segment's optimal selection beside its rank-order funding line; money in cents.

    ``value_*`` are in the objective's unit: points of segment score for
    ``score``, cents for ``score_cost``. ``added`` and ``dropped`` list the
    initiative ids the optimizer funds and the line does not, and the reverse.
    """

    segment: str
    envelope: int
    value_rank: float
    value_optimal: float
    cost_rank: int
    cost_optimal: int
    count_rank: int
    count_optimal: int
    forced_cost: int
    overrun: int
    added: tuple[str, ...]
    dropped: tuple[str, ...]
    linked: tuple[str, ...]
    rank_breaks: int

    @property
    def value_gained(self) -> float:
        return self.value_optimal - self.value_rank

    @property
    def money_change(self) -> int:
        """Return optimal spend minus rank-line spend (positive: more of the envelope is used)."""
        return self.cost_optimal - self.cost_rank


@dataclass(frozen=True)
class Optimization:
    """The optimal selection of every segment with an envelope.

    ``frame`` has one row per initiative in file order: ``initiative_id``,
    ``name``, ``segment``, ``rank``, ``segment_score``, ``cost`` (cents),
    ``must_fund``, ``force_out``, ``value`` (objective value, NaN where not
    scored), ``funded_by_rank`` and ``funded_optimal`` (nullable booleans,
    empty where unknown or without an envelope). ``unmet`` lists the
    dependencies (initiative_id, requires_id) that were not enforced.
    """

    objective: str
    frame: pd.DataFrame
    segments: tuple[SegmentSelection, ...]
    unmet: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def segment(self, name: str) -> SegmentSelection | None:
        return next((s for s in self.segments if s.segment == name), None)


def objective_values(segment_score: np.ndarray, cost: np.ndarray, objective: str) -> np.ndarray:
    """Return each initiative's value under the objective (NaN where the segment score is undefined)."""
    if objective == "score":
        return segment_score.astype(float)
    if objective == "score_cost":
        return segment_score * cost.astype(float) / 100.0
    raise ValueError(f'unknown objective "{objective}"; use one of: {", ".join(OBJECTIVES)}')


def value_text(value: float, objective: str, currency: str) -> str:
    """Format an objective value: points of segment score, or money (from cents) for ``score_cost``."""
    if objective == "score_cost":
        return money(round(value), currency)
    return f"{value:,.1f} points"


def dependency_pairs(inputs: ScoringInputs, dependencies: pd.DataFrame | None) -> np.ndarray:
    """Map a dependencies frame (initiative_id, requires_id) to row pairs ``(k, 2)`` of the inputs.

    Rows naming an initiative the inputs do not have are dropped; validation
    rejects them when a portfolio loads.
    """
    if dependencies is None or len(dependencies) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    row_of = pd.Series(np.arange(inputs.size), index=inputs.ids.astype(str))
    rows = row_of.reindex(dependencies["initiative_id"].astype(str)).to_numpy()
    needs = row_of.reindex(dependencies["requires_id"].astype(str)).to_numpy()
    known = ~(np.isnan(rows) | np.isnan(needs))
    return np.column_stack([rows[known], needs[known]]).astype(np.int64)


# --- forced, excluded and free initiatives -------------------------------------------------------


@dataclass
class _Bounds:
    """Per row: ``low`` (certainly funded) and ``high`` (may be funded); ``decided`` rows are variables.

    ``forceable`` rows may be pulled in by a forced initiative that requires
    them even where ``high`` is false: unscored rows, which are never chosen
    for their value.
    """

    low: np.ndarray
    high: np.ndarray
    decided: np.ndarray
    forceable: np.ndarray
    conflicts: np.ndarray


def _propagate(pairs: np.ndarray, bounds: _Bounds) -> None:
    """Force in what forced rows require and exclude what requires an unfundable row, to a fixed point."""
    if len(pairs) == 0:
        return
    needer, needed = pairs[:, 0], pairs[:, 1]
    low, high, decided = bounds.low, bounds.high, bounds.decided
    while True:
        waiting = low[needer] & ~low[needed]
        fundable = (high[needed] | bounds.forceable[needed]) & decided[needed]
        bounds.conflicts |= waiting & ~fundable
        force = needed[waiting & fundable]
        block = needer[~high[needed] & high[needer] & ~low[needer] & decided[needer]]
        if len(force) == 0 and len(block) == 0:
            return
        low[force] = True
        high[force] = True
        high[block] = False


def _initial_bounds(inputs: ScoringInputs, scored: np.ndarray, scope: np.ndarray,
                    constant: np.ndarray) -> _Bounds:
    """Rows in ``scope`` are decided: forced if must-fund, excluded if forced out or not scored.

    Rows outside the scope keep ``constant`` (funded or not) as fixed facts.
    """
    must = inputs.must_fund & scope
    low = np.where(scope, must, constant)
    high = np.where(scope, ~inputs.force_out & (scored | inputs.must_fund), constant)
    return _Bounds(low=low.astype(bool), high=high.astype(bool), decided=scope.copy(),
                   forceable=scope & ~inputs.force_out, conflicts=np.zeros(0, dtype=bool))


def _settle(inputs: ScoringInputs, pairs: np.ndarray, bounds: _Bounds,
            envelope_of_row: np.ndarray) -> dict[int, int]:
    """Propagate dependencies, then pin every overrun segment to its forced set; return overruns by code."""
    bounds.conflicts = np.zeros(len(pairs), dtype=bool)
    _propagate(pairs, bounds)
    overruns: dict[int, int] = {}
    for code in np.unique(inputs.segment_codes[bounds.decided]):
        rows = bounds.decided & (inputs.segment_codes == code)
        forced = int(inputs.cost[rows & bounds.low].sum())
        envelope = int(envelope_of_row[rows][0])
        if forced > envelope:
            overruns[int(code)] = forced - envelope
            bounds.high[rows] = bounds.low[rows]
            bounds.forceable[rows] = bounds.low[rows]
    if overruns:
        _propagate(pairs, bounds)
    return overruns


# --- the core solver ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Problem:
    """A selection problem over free variables in canonical order; budgets and costs in cents."""

    values: np.ndarray
    costs: np.ndarray
    groups: np.ndarray
    budgets: np.ndarray
    pairs: np.ndarray
    preference: np.ndarray

    @property
    def size(self) -> int:
        return len(self.values)


def _constraint_matrix(problem: _Problem) -> tuple[csr_array, np.ndarray, np.ndarray]:
    """Return ``A``, ``b`` and the row scales for ``A x <= b``: one budget row per group, one row per pair."""
    size, groups = problem.size, len(problem.budgets)
    scale = np.maximum(problem.budgets.astype(float), 1.0)
    pair_count = len(problem.pairs)
    rows = np.r_[problem.groups, groups + np.arange(pair_count), groups + np.arange(pair_count)]
    cols = np.r_[np.arange(size), problem.pairs[:, 0], problem.pairs[:, 1]]
    data = np.r_[problem.costs / scale[problem.groups], np.ones(pair_count), -np.ones(pair_count)]
    matrix = coo_array((data, (rows, cols)), shape=(groups + pair_count, size)).tocsr()
    rhs = np.r_[problem.budgets / scale, np.zeros(pair_count)]
    return matrix, rhs, scale


def _feasible(problem: _Problem, chosen: np.ndarray) -> tuple[bool, np.ndarray]:
    """Check a 0/1 selection exactly: integer spend per group and every pair; return (ok, overspend)."""
    spent = np.zeros(len(problem.budgets), dtype=np.int64)
    np.add.at(spent, problem.groups[chosen], problem.costs[chosen])
    over = np.maximum(spent - problem.budgets, 0)
    pairs_ok = not len(problem.pairs) or bool(np.all(~chosen[problem.pairs[:, 0]] | chosen[problem.pairs[:, 1]]))
    return bool(pairs_ok and not over.any()), over


def _greedy(problem: _Problem, start: np.ndarray) -> np.ndarray:
    """Extend a feasible selection by value per cent while it stays feasible: a lower bound, not an optimum."""
    chosen = start.copy()
    spent = np.zeros(len(problem.budgets), dtype=np.int64)
    np.add.at(spent, problem.groups[chosen], problem.costs[chosen])
    requires: dict[int, list[int]] = {}
    for needer, needed in problem.pairs:
        requires.setdefault(int(needer), []).append(int(needed))
    ratio = problem.values / np.maximum(problem.costs, 1)
    for index in np.argsort(-ratio, kind="stable"):
        if chosen[index] or problem.values[index] <= 0:
            continue
        group = problem.groups[index]
        if spent[group] + problem.costs[index] > problem.budgets[group]:
            continue
        if any(not chosen[j] for j in requires.get(int(index), ())):
            continue
        chosen[index] = True
        spent[group] += problem.costs[index]
    return chosen


def _lp_bound(problem: _Problem, matrix: csr_array, rhs: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Solve the LP relaxation; return reduced costs, the dual upper bound and the LP solution.

    The bound ``y·b + sum(max(d, 0))`` holds for any ``y >= 0`` by weak
    duality, so clipping the solver's duals keeps it valid.
    """
    result = linprog(-problem.values, A_ub=matrix, b_ub=rhs, bounds=(0, 1), method="highs")
    if result.status != 0:
        raise OptimizationError(f"the LP relaxation failed: {result.message}")
    duals = np.maximum(-np.asarray(result.ineqlin.marginals, dtype=float), 0.0)
    reduced = problem.values - matrix.T @ duals
    upper = float(duals @ rhs + np.maximum(reduced, 0.0).sum())
    return reduced, upper, np.asarray(result.x, dtype=float)


def _solve_core(problem: _Problem, fixed: np.ndarray, fixed_value: np.ndarray, objective: np.ndarray,
                floor: float | None, strict: bool = True) -> np.ndarray | None:
    """Solve the MILP over the unfixed variables; return the full 0/1 selection.

    ``objective`` is maximized; ``floor`` adds the row ``values·x >= floor``.
    Budgets are tightened and the solve repeated when the exact check finds
    an overspend that the solver's tolerances let through. When the
    fixings leave no feasible selection, return None unless ``strict``.
    """
    chosen = fixed & fixed_value
    free = np.flatnonzero(~fixed)
    if len(free) == 0:
        return chosen
    position = np.full(problem.size, -1)
    position[free] = np.arange(len(free))

    lower = np.zeros(len(free))
    upper = np.ones(len(free))
    needer, needed = (problem.pairs[:, 0], problem.pairs[:, 1]) if len(problem.pairs) else (np.zeros(0, int),) * 2
    both = (position[needer] >= 0) & (position[needed] >= 0)
    lower[position[needed[(position[needed] >= 0) & (position[needer] < 0) & chosen[needer]]]] = 1.0
    upper[position[needer[(position[needer] >= 0) & (position[needed] < 0) & ~chosen[needed]]]] = 0.0

    groups = problem.groups[free]
    budgets = problem.budgets.copy()
    np.subtract.at(budgets, problem.groups[chosen], problem.costs[chosen])
    sub_pairs = np.column_stack([position[needer[both]], position[needed[both]]]).astype(np.int64)
    for _ in range(_MAX_REPAIRS):
        sub = _Problem(values=problem.values[free], costs=problem.costs[free], groups=groups, budgets=budgets,
                       pairs=sub_pairs.reshape(-1, 2), preference=problem.preference[free])
        matrix, rhs, _ = _constraint_matrix(sub)
        constraints = [LinearConstraint(matrix, -np.inf, rhs)]
        if floor is not None:
            rest = floor - float(problem.values[chosen].sum())
            constraints.append(LinearConstraint(sub.values.reshape(1, -1), rest, np.inf))
        result = _milp(-objective[free], Bounds(lower, upper), constraints)
        if result.status == 2 and not strict:
            return None
        if result.status != 0 or result.x is None:
            raise OptimizationError(f"the mixed integer program failed: {result.message}")
        picked = np.rint(result.x).astype(bool)
        ok, over = _feasible(sub, picked)
        if ok:
            full = chosen.copy()
            full[free] = picked
            return full
        logger.info("tightening budgets by %s cents after an overspend within solver tolerance", over.tolist())
        budgets = budgets - over - 1
        if (budgets < 0).any():
            break
    raise OptimizationError("the solver kept returning a selection over the envelope; report this portfolio")


# HiGHS 1.12, as bundled with SciPy 1.17, prints a debugging line from transformNewIntegerFeasibleSolution to
# the C-level stdout, where it would corrupt the command line's CSV and JSON; the solve runs with fd 1 on
# /dev/null. The lock keeps concurrent sessions from interleaving the redirection.
_STDOUT_LOCK = threading.Lock()


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    with _STDOUT_LOCK:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "wb") as sink:
                os.dup2(sink.fileno(), 1)
                yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def _milp(objective: np.ndarray, bounds: Bounds, constraints: list[LinearConstraint]):
    """Run ``scipy.optimize.milp`` on binary variables with a zero relative gap, quietly."""
    with _quiet_stdout(), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return milp(objective, integrality=np.ones(len(objective)), bounds=bounds, constraints=constraints,
                    options={"mip_rel_gap": 0.0})


def _fixing(problem: _Problem, reduced: np.ndarray, upper: float, target: float) -> tuple[np.ndarray, np.ndarray]:
    """Return (fixed, value): variables whose reduced cost exceeds ``upper - target`` and their forced value.

    Any selection with value at least ``target`` has these variables at their
    LP-preferred bound, because moving one away costs at least its |reduced cost|.
    """
    margin = 1e-9 * (1.0 + float(np.abs(problem.values).sum()))
    fixed = np.abs(reduced) > (upper - target) + margin
    return fixed, reduced > 0


def _consistent(problem: _Problem, fixed: np.ndarray, value: np.ndarray) -> bool:
    if len(problem.pairs) == 0:
        return True
    needer, needed = problem.pairs[:, 0], problem.pairs[:, 1]
    both = fixed[needer] & fixed[needed]
    return not np.any(both & value[needer] & ~value[needed])


def _value(problem: _Problem, chosen: np.ndarray) -> float:
    return float(problem.values[chosen].sum())


def solve(problem: _Problem, hint: np.ndarray | None = None) -> np.ndarray:
    """Return the optimal 0/1 selection, ties settled by ``problem.preference`` (larger preferred).

    ``hint`` is an optional selection to start from, such as the optimum at a
    smaller budget. It is used only when it passes the exact checks.

    First come the LP bound and a greedy selection. A first MILP then solves
    the kernel, the variables the LP is least sure of, with the rest at their
    LP-preferred bound; its selection is feasible and usually optimal. The
    exact MILP over the core that this selection leaves follows, unless the
    kernel already contained that core. Last, the tie-break MILP runs with
    the value held at the optimum.
    """
    if problem.size == 0:
        return np.zeros(0, dtype=bool)
    matrix, rhs, _ = _constraint_matrix(problem)
    reduced, upper, relaxed = _lp_bound(problem, matrix, rhs)

    start = relaxed >= 1.0 - 1e-9
    if not _feasible(problem, start)[0]:
        start = np.zeros(problem.size, dtype=bool)
    best = _greedy(problem, start)
    if hint is not None and _feasible(problem, hint)[0]:
        hinted = _greedy(problem, hint)
        if _value(problem, hinted) > _value(problem, best):
            best = hinted
    lower = _value(problem, best)
    fixed, value = _fixing(problem, reduced, upper, lower - TIE_TOLERANCE)
    if not _consistent(problem, fixed, value):
        fixed[:] = False

    proven = False
    kernel = fixed | (np.abs(reduced) > (upper - lower) * KERNEL_SHARE)
    if (kernel & ~fixed).any() and _consistent(problem, kernel, value):
        trial = _solve_core(problem, kernel, value, problem.values, floor=None, strict=False)
        if trial is not None:
            if _value(problem, trial) > lower:
                best, lower = trial, _value(problem, trial)
            fixed, value = _fixing(problem, reduced, upper, lower - TIE_TOLERANCE)
            proven = _consistent(problem, fixed, value) and not (kernel & ~fixed).any()
    if not proven:
        if not _consistent(problem, fixed, value):
            fixed[:] = False
        exact = _solve_core(problem, fixed, value, problem.values, floor=None)
        if _value(problem, exact) >= lower:
            best = exact
    optimum = _value(problem, best)

    fixed, value = _fixing(problem, reduced, upper, optimum - TIE_TOLERANCE)
    if not _consistent(problem, fixed, value):
        fixed[:] = False
    if fixed.all():
        return best
    tied = _solve_core(problem, fixed, value, problem.preference.astype(float), floor=optimum - TIE_TOLERANCE)
    if _value(problem, tied) < optimum - 2 * TIE_TOLERANCE:
        return best
    return tied


# --- building problems from a portfolio ------------------------------------------------------------


def _preference(by_rank: np.ndarray) -> np.ndarray:
    """Integer tie-break weights for rows in (segment, rank) order: agree with the rank line, then rank higher.

    Weight ``K * (+1 funded by the line, -1 not) + (m - position)`` with ``K``
    above the largest possible sum of the second term, so that one more
    agreement with the line always outweighs any rank preference.
    """
    size = len(by_rank)
    bonus = size - np.arange(size)
    heavy = size * (size + 1) // 2 + 1
    return np.where(by_rank, heavy, -heavy).astype(np.int64) + bonus


def _components(codes: np.ndarray, linked: np.ndarray) -> list[np.ndarray]:
    """Group segment ``codes`` joined by the ``(k, 2)`` code pairs in ``linked`` (union-find over few segments)."""
    parent = {int(c): int(c) for c in np.unique(codes)}

    def root(code: int) -> int:
        while parent[code] != code:
            code = parent[code]
        return code

    for a, b in linked:
        ra, rb = root(int(a)), root(int(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for code in parent:
        groups.setdefault(root(code), []).append(code)
    return [np.array(sorted(g)) for _, g in sorted(groups.items())]


def _select(inputs: ScoringInputs, pairs: np.ndarray, bounds: _Bounds, values: np.ndarray, rank: np.ndarray,
            by_rank: np.ndarray, envelope_of_row: np.ndarray, hint: np.ndarray | None = None) -> np.ndarray:
    """Solve every linked group of decided segments; return the funded flags of all rows.

    ``hint`` (funded flags of all rows) seeds each group's search; see :func:`solve`.
    """
    funded = bounds.low.copy()
    free = bounds.decided & bounds.high & ~bounds.low
    if not free.any():
        return funded
    free_pairs = pairs[free[pairs[:, 0]] & free[pairs[:, 1]]] if len(pairs) else pairs
    for codes in _components(inputs.segment_codes[free], inputs.segment_codes[free_pairs].reshape(-1, 2)):
        rows = np.flatnonzero(free & np.isin(inputs.segment_codes, codes))
        rows = rows[np.lexsort((rank[rows], inputs.segment_codes[rows]))]
        local = np.full(inputs.size, -1)
        local[rows] = np.arange(len(rows))
        group_of = {int(c): g for g, c in enumerate(codes)}
        budgets = np.array([int(envelope_of_row[inputs.segment_codes == c][0])
                            - int(inputs.cost[bounds.low & bounds.decided & (inputs.segment_codes == c)].sum())
                            for c in codes], dtype=np.int64)
        inside = free_pairs[np.isin(inputs.segment_codes[free_pairs[:, 0]], codes)] if len(free_pairs) else free_pairs
        problem = _Problem(
            values=np.nan_to_num(values[rows], nan=0.0),
            costs=inputs.cost[rows].astype(np.int64),
            groups=np.array([group_of[int(c)] for c in inputs.segment_codes[rows]], dtype=np.int64),
            budgets=budgets,
            pairs=local[inside].reshape(-1, 2),
            preference=_preference(by_rank[rows]),
        )
        problem = _scaled(problem)
        funded[rows] = solve(problem, None if hint is None else hint[rows])
    return funded


def _scaled(problem: _Problem) -> _Problem:
    """Scale values so the largest is :data:`SOLVER_SCALE`; the tie tolerance is relative to that scale."""
    top = float(np.abs(problem.values).max()) if problem.size else 0.0
    if top <= 0:
        return problem
    return _Problem(values=problem.values * (SOLVER_SCALE / top), costs=problem.costs, groups=problem.groups,
                    budgets=problem.budgets, pairs=problem.pairs, preference=problem.preference)


def _envelope_of_row(inputs: ScoringInputs, envelopes: dict[str, int]) -> np.ndarray:
    per_segment = np.array([envelopes.get(s, -1) for s in inputs.segments], dtype=np.int64)
    return per_segment[inputs.segment_codes] if inputs.size else np.zeros(0, dtype=np.int64)


def optimize(inputs: ScoringInputs, params: ScoringParams, dependencies: pd.DataFrame | None = None,
             objective: str = "score", result: pd.DataFrame | None = None) -> Optimization:
    """Return the optimal selection of every segment with an envelope beside its rank-order line.

    ``result`` is :func:`portfolio.funding.evaluate` of the same inputs and
    parameters, computed here when not given. Raises ``ValueError`` for an
    unknown objective and :class:`OptimizationError` when the solver fails.
    """
    if result is None:
        result = evaluate(inputs, params)
    segment_score = result["segment_score"].to_numpy(dtype=float)
    rank = result["rank"].to_numpy(dtype=np.int64)
    values = objective_values(segment_score, inputs.cost, objective)
    scored = ~np.isnan(segment_score)
    pairs = dependency_pairs(inputs, dependencies)
    envelope_of_row = _envelope_of_row(inputs, params.envelopes)
    decided = envelope_of_row >= 0
    by_rank = result["funded"].fillna(False).to_numpy(dtype=bool)

    bounds = _initial_bounds(inputs, scored, decided, inputs.must_fund.copy())
    overruns = _settle(inputs, pairs, bounds, envelope_of_row)
    funded = _select(inputs, pairs, bounds, values, rank, by_rank, envelope_of_row)

    known = decided & (scored | bounds.low | inputs.force_out)
    frame = pd.DataFrame({
        "initiative_id": inputs.ids,
        "name": inputs.names,
        "segment": result["segment"].astype(str).to_numpy(),
        "rank": rank,
        "segment_score": segment_score,
        "cost": inputs.cost,
        "must_fund": inputs.must_fund,
        "force_out": inputs.force_out,
        "value": values,
        "funded_by_rank": result["funded"].astype("boolean").to_numpy(),
        "funded_optimal": pd.arrays.BooleanArray(funded & known, ~known),
    })
    links = _linked_segments(inputs, pairs, decided)
    summaries = tuple(
        _summary(inputs, frame, code, int(params.envelopes[segment]), overruns.get(code, 0), links.get(code, ()),
                 pairs, bounds)
        for code, segment in enumerate(inputs.segments) if segment in params.envelopes
    )
    unmet = tuple((str(inputs.ids[i]), str(inputs.ids[j])) for i, j in pairs[bounds.conflicts]) if len(pairs) else ()
    return Optimization(objective=objective, frame=frame, segments=summaries, unmet=unmet)


def _linked_segments(inputs: ScoringInputs, pairs: np.ndarray, decided: np.ndarray) -> dict[int, tuple[str, ...]]:
    links: dict[int, set[str]] = {}
    for i, j in pairs if len(pairs) else ():
        a, b = int(inputs.segment_codes[i]), int(inputs.segment_codes[j])
        if a != b and decided[i] and decided[j]:
            links.setdefault(a, set()).add(inputs.segments[b])
            links.setdefault(b, set()).add(inputs.segments[a])
    return {code: tuple(sorted(names)) for code, names in links.items()}


def _summary(inputs: ScoringInputs, frame: pd.DataFrame, code: int, envelope: int, overrun: int,
             linked: tuple[str, ...], pairs: np.ndarray, bounds: _Bounds) -> SegmentSelection:
    rows = inputs.segment_codes == code
    by_rank = frame["funded_by_rank"].fillna(False).to_numpy(dtype=bool) & rows
    optimal = frame["funded_optimal"].fillna(False).to_numpy(dtype=bool) & rows
    values = np.nan_to_num(frame["value"].to_numpy(dtype=float), nan=0.0)
    order = np.argsort(frame["rank"].to_numpy(), kind="stable")
    ids = inputs.ids
    breaks = 0
    if len(pairs):
        # The line meets a requirement when it funds it, or, without an envelope, when it is must-fund.
        met = frame["funded_by_rank"].fillna(False).to_numpy(dtype=bool) | (~bounds.decided & inputs.must_fund)
        needer, needed = pairs[:, 0], pairs[:, 1]
        breaks = int(np.sum(by_rank[needer] & ~met[needed]))
    return SegmentSelection(
        segment=inputs.segments[code],
        envelope=envelope,
        value_rank=float(values[by_rank].sum()),
        value_optimal=float(values[optimal].sum()),
        cost_rank=int(inputs.cost[by_rank].sum()),
        cost_optimal=int(inputs.cost[optimal].sum()),
        count_rank=int(by_rank.sum()),
        count_optimal=int(optimal.sum()),
        forced_cost=int(inputs.cost[rows & bounds.low].sum()),
        overrun=overrun,
        added=tuple(str(ids[i]) for i in order if optimal[i] and not by_rank[i]),
        dropped=tuple(str(ids[i]) for i in order if by_rank[i] and not optimal[i]),
        linked=linked,
        rank_breaks=breaks,
    )


# --- the efficient frontier ------------------------------------------------------------------------


def frontier_budgets(envelope: int, steps: int = FRONTIER_STEPS,
                     max_fraction: float = FRONTIER_MAX_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    """Return (fractions, budgets in cents): ``steps`` evenly spaced budgets from 0 to ``max_fraction`` × E.

    With the defaults that is every 7.5 % from 0 to 150 %. Budgets are
    rounded down to the cent.
    """
    fractions = np.linspace(0.0, max_fraction, steps)
    budgets = np.array([(int(round(f * 1_000_000)) * envelope) // 1_000_000 for f in fractions], dtype=np.int64)
    return fractions, budgets


def efficient_frontier(inputs: ScoringInputs, params: ScoringParams, dependencies: pd.DataFrame | None,
                       segment: str, objective: str = "score", optimization: Optimization | None = None,
                       result: pd.DataFrame | None = None, steps: int = FRONTIER_STEPS,
                       max_fraction: float = FRONTIER_MAX_FRACTION) -> pd.DataFrame:
    """Return the optimal value of one segment at ``steps`` budgets from 0 to ``max_fraction`` of its envelope.

    The 7.5 % grid does not contain 100 %, so the envelope itself is added as
    one more row with ``at_envelope`` true. Rows are sorted by budget. Each
    point is solved exactly like :func:`optimize`. The other segments are held
    at their optimal selections, which matters only for dependencies across
    segments. Columns: ``fraction``, ``budget``, ``value``, ``cost`` (cents),
    ``count``, ``funded`` (tuple of ids in rank order), ``rank_value``,
    ``rank_cost`` (the rank-order line at that budget), ``overrun`` (cents by
    which forced initiatives exceed the budget) and ``at_envelope``. Raises
    ``LookupError`` when the segment has no envelope.
    """
    if segment not in params.envelopes:
        raise LookupError(f'segment "{segment}" has no envelope, so it has no frontier; set one in the budget file')
    if result is None:
        result = evaluate(inputs, params)
    if optimization is None:
        optimization = optimize(inputs, params, dependencies, objective, result)
    envelope = int(params.envelopes[segment])
    fractions, budgets = frontier_budgets(envelope, steps, max_fraction)
    points = sorted([(float(f), int(b), False) for f, b in zip(fractions, budgets, strict=True)]
                    + [(1.0, envelope, True)], key=lambda point: (point[1], point[2]))

    context = _FrontierContext.build(inputs, params, dependencies, segment, objective, optimization, result)
    records = []
    previous: np.ndarray | None = None
    for fraction, budget, at_envelope in points:
        funded, line, overrun = context.solve_at(budget, previous)
        # NOTE: a larger budget can never lose value, so a lower figure could only come from solver tolerance.
        # The previous selection, still within budget, is then kept and the frontier stays monotone.
        if previous is not None and context.value(funded) < context.value(previous):
            funded = previous
        previous = funded
        order = np.flatnonzero(funded)[np.argsort(context.rank[funded], kind="stable")]
        records.append({
            "fraction": fraction,
            "budget": budget,
            "value": context.value(funded),
            "cost": int(inputs.cost[funded].sum()),
            "count": int(funded.sum()),
            "funded": tuple(str(i) for i in inputs.ids[order]),
            "rank_value": context.value(line),
            "rank_cost": int(inputs.cost[line].sum()),
            "overrun": overrun,
            "at_envelope": at_envelope,
        })
    return pd.DataFrame.from_records(records)


@dataclass(frozen=True)
class _FrontierContext:
    """What every budget of one segment's frontier shares: scores, dependencies, the other segments' choice."""

    inputs: ScoringInputs
    params: ScoringParams
    segment: str
    pairs: np.ndarray
    scope: np.ndarray
    others: np.ndarray
    segment_score: np.ndarray
    rank: np.ndarray
    values: np.ndarray

    @classmethod
    def build(cls, inputs: ScoringInputs, params: ScoringParams, dependencies: pd.DataFrame | None, segment: str,
              objective: str, optimization: Optimization, result: pd.DataFrame) -> _FrontierContext:
        segment_score = result["segment_score"].to_numpy(dtype=float)
        scope = inputs.segment_codes == inputs.segments.index(segment)
        elsewhere = optimization.frame["funded_optimal"].fillna(False).to_numpy(dtype=bool) | inputs.must_fund
        return cls(inputs=inputs, params=params, segment=segment, pairs=dependency_pairs(inputs, dependencies),
                   scope=scope, others=np.where(scope, False, elsewhere), segment_score=segment_score,
                   rank=result["rank"].to_numpy(dtype=np.int64),
                   values=objective_values(segment_score, inputs.cost, objective))

    def value(self, funded: np.ndarray) -> float:
        return float(np.nan_to_num(self.values[funded], nan=0.0).sum())

    def solve_at(self, budget: int, hint: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, int]:
        """Return (optimal funded rows, rank-line funded rows, overrun in cents) of the segment at ``budget``.

        ``hint``, the optimum at a smaller budget, only speeds up the search.
        """
        inputs, scope = self.inputs, self.scope
        at_budget = self.params.model_copy(update={"envelopes": {**self.params.envelopes, self.segment: budget}})
        line, _ = funding_line(inputs, at_budget, self.segment_score, self.rank)
        envelope_of_row = np.where(scope, budget, -1)
        bounds = _initial_bounds(inputs, ~np.isnan(self.segment_score), scope, self.others)
        overruns = _settle(inputs, self.pairs, bounds, envelope_of_row)
        funded = _select(inputs, self.pairs, bounds, self.values, self.rank, line & scope, envelope_of_row,
                         hint) & scope
        return funded, line & scope, sum(overruns.values())
