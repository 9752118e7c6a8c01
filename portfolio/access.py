"""Who may change what: roles, actors and the permission check every store write makes.

Roles: **viewer** reads everything; **sponsor** edits the initiatives they
sponsor and submits scores; **pmo** manages themes, imports and the cycle's
status; **chair** commits scenarios as the baseline and records decisions.
Without sign-in the app runs in local mode, where every session has every
role and names itself.

With sign-in, roles come from a TOML file (``$PORTFOLIO_LENS_ROLES``)::

    default = ["viewer"]

    [users]
    "dana@example.org" = ["chair", "pmo"]

    [groups]
    "it-portfolio-office" = ["pmo"]
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from portfolio.errors import PortfolioLensError

ROLES: tuple[str, ...] = ("viewer", "sponsor", "pmo", "chair")

# The roles that may perform each action; "edit initiative" by a sponsor is
# further limited to the initiatives they sponsor.
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "load portfolio": ("pmo",),
    "import": ("pmo",),
    "edit initiative": ("sponsor", "pmo"),
    "edit themes": ("pmo",),
    "change cycle status": ("pmo",),
    "save scenario": ("pmo", "chair"),
    "commit baseline": ("chair",),
    "record decision": ("chair",),
    "back up": ("pmo", "chair"),
}


class AccessDeniedError(PortfolioLensError, PermissionError):
    """The actor's roles do not allow the action; the message names the role needed."""


@dataclass(frozen=True)
class Actor:
    """A person acting on the portfolio: the name the audit log records, their roles and aliases.

    ``aliases`` (for example an e-mail address) also count when matching the
    sponsor of an initiative.
    """

    name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    aliases: frozenset[str] = field(default_factory=frozenset)
    local: bool = False

    def has(self, role: str) -> bool:
        return role in self.roles

    def sponsors(self, sponsor: str | None) -> bool:
        """Tell whether this actor is the named sponsor (case-insensitive, by name or alias)."""
        if not sponsor:
            return False
        wanted = sponsor.strip().casefold()
        return any(wanted == value.strip().casefold() for value in (self.name, *self.aliases))


def local_actor(name: str) -> Actor:
    """Return the actor of a local-mode session: every role, under the name the person typed."""
    return Actor(name=name.strip(), roles=frozenset(ROLES), local=True)


def as_actor(who: str | Actor) -> Actor:
    """Accept an :class:`Actor`, or a plain name for local mode and scripts (every role)."""
    return who if isinstance(who, Actor) else local_actor(who)


def require_permission(actor: Actor, action: str, sponsor: str | None = None) -> None:
    """Raise :class:`AccessDeniedError` unless ``actor`` may perform ``action``.

    For "edit initiative", a sponsor without the pmo role must be the
    initiative's sponsor (``sponsor`` is its sponsor field).
    """
    allowed = PERMISSIONS[action]
    if not any(actor.has(role) for role in allowed):
        needed = " or ".join(allowed)
        held = ", ".join(sorted(actor.roles)) or "no role"
        raise AccessDeniedError(f"{actor.name} cannot {action}: it needs the {needed} role (you have {held})")
    if action == "edit initiative" and not actor.has("pmo") and not actor.sponsors(sponsor):
        raise AccessDeniedError(f"{actor.name} cannot edit this initiative: a sponsor edits only the initiatives "
                                f'they sponsor, and this one is sponsored by "{sponsor or "nobody"}" '
                                "(or ask someone with the pmo role)")


@dataclass(frozen=True)
class RoleMap:
    """Roles by user (e-mail or subject) and by group, with a default for everyone signed in."""

    users: Mapping[str, tuple[str, ...]]
    groups: Mapping[str, tuple[str, ...]]
    default: tuple[str, ...] = ("viewer",)

    def roles_for(self, identifiers: Iterable[str], groups: Iterable[str]) -> frozenset[str]:
        roles = set(self.default)
        users = {k.casefold(): v for k, v in self.users.items()}
        for identifier in identifiers:
            roles.update(users.get(str(identifier).casefold(), ()))
        for group in groups:
            roles.update(self.groups.get(str(group), ()))
        return frozenset(roles)


def load_role_map(path: str | Path | None) -> RoleMap:
    """Read a role map; with no file everyone signed in is a viewer."""
    if path is None:
        return RoleMap(users={}, groups={})
    try:
        data: dict[str, Any] = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PortfolioLensError(f"the role file {path} cannot be read ({exc}); fix it or unset "
                                 "PORTFOLIO_LENS_ROLES") from exc

    def roles(value: Any, where: str) -> tuple[str, ...]:
        items = tuple(value) if isinstance(value, list) else (value,)
        unknown = [r for r in items if r not in ROLES]
        if unknown:
            raise PortfolioLensError(f'the role file {path}: {where} names the unknown role "{unknown[0]}"; '
                                     "use " + ", ".join(ROLES))
        return items

    return RoleMap(
        users={str(k): roles(v, f'user "{k}"') for k, v in data.get("users", {}).items()},
        groups={str(k): roles(v, f'group "{k}"') for k, v in data.get("groups", {}).items()},
        default=roles(data.get("default", ["viewer"]), "default"),
    )
