"""Planning cycles: the status a cycle moves through and what each status allows.

A cycle (for example FY2027) moves forward through
draft → themes published → submissions open → submissions closed → decided.
Themes must be published before submissions open. Every write in the store
calls :func:`require_allowed` first, so the app and the command line refuse
the same actions with the same reason.
"""

from __future__ import annotations

from portfolio.errors import PortfolioLensError

STATUSES: tuple[str, ...] = ("draft", "themes_published", "submissions_open", "submissions_closed", "decided")
STATUS_LABELS: dict[str, str] = {
    "draft": "Draft",
    "themes_published": "Themes published",
    "submissions_open": "Submissions open",
    "submissions_closed": "Submissions closed",
    "decided": "Decided",
}

# The statuses that allow each action. New OKRs can land in any status, so a new
# theme-set version is always allowed; everything else follows the cycle.
ALLOWED: dict[str, tuple[str, ...]] = {
    "edit themes": STATUSES,
    "edit initiative": ("submissions_open",),
    "record decision": ("submissions_open", "submissions_closed"),
    "commit baseline": ("themes_published", "submissions_open", "submissions_closed"),
    "import": ("draft", "themes_published", "submissions_open"),
}

REASONS: dict[str, str] = {
    "edit initiative": "sponsors submit and score initiatives only while submissions are open",
    "record decision": "the committee records decisions once submissions are open and until the cycle is decided",
    "commit baseline": "a baseline needs published themes and cannot change once the cycle is decided",
    "import": "initiatives can only be imported before submissions close",
}

DECISIONS: dict[str, str] = {
    "fund": "Fund",
    "fund_regardless": "Fund regardless",
    "defer": "Defer",
    "reject": "Reject",
}
# Fund and fund regardless force an initiative in; defer and reject force it out.
DECISION_FLAGS: dict[str, tuple[bool, bool]] = {
    "fund": (True, False),
    "fund_regardless": (True, False),
    "defer": (False, True),
    "reject": (False, True),
}


class ActionNotAllowedError(PortfolioLensError, PermissionError):
    """The cycle's status does not allow the action; the message gives the reason and the statuses that allow it."""


def require_allowed(action: str, status: str) -> None:
    """Raise :class:`ActionNotAllowedError` when ``status`` does not allow ``action``."""
    allowed = ALLOWED[action]
    if status in allowed:
        return
    label = STATUS_LABELS.get(status, status)
    wanted = " or ".join(STATUS_LABELS[s] for s in allowed)
    raise ActionNotAllowedError(f"cannot {action} while the cycle is {label}: {REASONS[action]} "
                                f"(allowed when {wanted})")


def next_status(status: str) -> str | None:
    """Return the status after ``status``, or None when the cycle is decided."""
    position = STATUSES.index(status)
    return STATUSES[position + 1] if position + 1 < len(STATUSES) else None


def check_transition(current: str, target: str, themes_published: bool) -> None:
    """Raise unless the cycle may move from ``current`` to ``target``.

    Moves go one step forward; "submissions closed" may also reopen to
    "submissions open". Submissions open only on a published theme set.
    """
    if target not in STATUSES:
        raise ActionNotAllowedError(f'"{target}" is not a cycle status; use one of ' + ", ".join(STATUSES))
    reopening = current == "submissions_closed" and target == "submissions_open"
    if target != next_status(current) and not reopening:
        raise ActionNotAllowedError(
            f"cannot move the cycle from {STATUS_LABELS[current]} to {STATUS_LABELS[target]}: "
            f"the next step is {STATUS_LABELS.get(next_status(current) or '', 'none, the cycle is decided')}")
    if target == "submissions_open" and not themes_published:
        raise ActionNotAllowedError("cannot open submissions: publish the current theme set first, "
                                    "so that sponsors score against themes that will not change under them")
