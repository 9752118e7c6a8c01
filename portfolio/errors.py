"""Errors raised by the domain package.

Every error subclasses :class:`PortfolioLensError` and the built-in it behaves
like, so callers can catch either. Messages are one plain sentence that names
the value and says what to do; the command line prints them as they are.
"""

from __future__ import annotations


class PortfolioLensError(Exception):
    """Base class of every error the domain raises on purpose."""


class InvalidPortfolioError(PortfolioLensError, ValueError):
    """A portfolio, a file of it, or an edit fails validation.

    ``problems`` holds every :class:`portfolio.models.Problem` found, errors
    and warnings alike, so a caller can show the whole report.
    """

    def __init__(self, message: str, problems: list | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


class UnknownThemeError(PortfolioLensError, LookupError):
    """A weight or a score names a theme the portfolio does not have."""


class NotFoundError(PortfolioLensError, LookupError):
    """An initiative, file, profile or scenario does not exist."""


class ConflictError(PortfolioLensError, RuntimeError):
    """Someone else committed a change to the same record since it was read."""


class StoreError(PortfolioLensError, RuntimeError):
    """The database file cannot be opened or written."""
