"""Servers for the sign-in and security browser tests: a mock OpenID Connect provider and a configured app.

The provider is oidc-provider-mock, served from a thread of the test process on
a loopback port. Its authorization form offers one button per predefined user,
named after the user's subject (``sub``); a click signs that user in. The app
finds its ``[auth]`` secrets through ``STREAMLIT_SECRETS_FILES``, so nothing is
written into the repository's ``.streamlit/`` folder.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import oidc_provider_mock
from app_server import PORTFOLIO_LENS, REPO, SERVER_LOGS, _free_port, _stop, _wait_until_healthy

# The group the role file maps to the pmo role.
PMO_GROUP = "it-portfolio-office"


@dataclass(frozen=True)
class TestUser:
    """A person the mock provider can sign in, with the claims it puts into the ID token."""

    __test__ = False  # a data class, not a pytest test class

    sub: str
    email: str
    name: str
    groups: tuple[str, ...] = ()

    def claims(self) -> dict[str, object]:
        return {"email": self.email, "name": self.name, "groups": list(self.groups)}


CHAIR = TestUser(sub="dana", email="dana.chair@example.org", name="Dana Chair")
VIEWER = TestUser(sub="val", email="val.viewer@example.org", name="Val Viewer")
PMO = TestUser(sub="pat", email="pat.pmo@example.org", name="Pat Office", groups=(PMO_GROUP,))
USERS = (CHAIR, VIEWER, PMO)

# Roles by e-mail address and by group. Everyone signed in also gets the default role, viewer.
ROLES_TOML = f"""default = ["viewer"]

[users]
"{CHAIR.email}" = ["chair"]

[groups]
"{PMO_GROUP}" = ["pmo"]
"""


@contextmanager
def serve_provider(users: Sequence[TestUser] = USERS) -> Iterator[str]:
    """Run the mock OpenID Connect provider on a free loopback port and yield its issuer URL.

    The provider accepts any client id and secret, and any redirect URI.
    """
    predefined = [oidc_provider_mock.User(sub=user.sub, claims=user.claims()) for user in users]
    # NOTE: the mock binds "localhost", which resolves to 127.0.0.1 for its IPv4 socket.
    with oidc_provider_mock.run_server_in_thread(user_claims=predefined) as server:
        yield f"http://127.0.0.1:{server.server_port}"


def write_auth_config(folder: Path, issuer: str, app_port: int) -> dict[str, str]:
    """Write ``secrets.toml`` and ``roles.toml`` into ``folder`` and return the environment that points the app at them.

    The redirect URI must be the app's address that the browser uses, with the path ``/oauth2callback``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    secrets_file = folder / "secrets.toml"
    secrets_file.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        'client_id = "portfolio-lens-test"\n'
        f'client_secret = "{secrets.token_hex(16)}"\n'
        f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n',
        encoding="utf-8")
    roles_file = folder / "roles.toml"
    roles_file.write_text(ROLES_TOML, encoding="utf-8")

    # Streamlit reads the option secrets.files from this variable, which separates several paths by spaces.
    assert " " not in str(secrets_file), f"STREAMLIT_SECRETS_FILES cannot hold a path with a space: {secrets_file}"
    return {"STREAMLIT_SECRETS_FILES": str(secrets_file), "PORTFOLIO_LENS_ROLES": str(roles_file)}


@contextmanager
def serve_configured_app(home: Path, env: Mapping[str, str] | None = None, args: Sequence[str] = (),
                         port: int | None = None) -> Iterator[str]:
    """Start ``portfolio-lens app ARGS`` with its workspace under ``home`` and extra ``env``; yield its base URL.

    Like ``app_server.serve_app``, but the caller may choose the port (the redirect URI names it), add
    environment variables and pass arguments such as ``--data``.
    """
    port = port or _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = home / "app.log"
    server_env = {
        **os.environ,
        "PORTFOLIO_LENS_HOME": str(home),
        "STREAMLIT_SERVER_ADDRESS": "127.0.0.1",
        "STREAMLIT_SERVER_HEADLESS": "true",
        "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    # Set by an enclosing `portfolio-lens app` or a developer's shell, these would change the app under test.
    for name in ("PORTFOLIO_LENS_DB", "PORTFOLIO_LENS_DATA", "PORTFOLIO_LENS_ROLES", "STREAMLIT_SECRETS_FILES"):
        server_env.pop(name, None)
    server_env.update(env or {})

    with log_path.open("wb") as log:
        process = subprocess.Popen([str(PORTFOLIO_LENS), "app", *args, "--port", str(port)], cwd=REPO,
                                   env=server_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_until_healthy(process, url, log_path)
        SERVER_LOGS[url] = log_path
        yield url
    finally:
        SERVER_LOGS.pop(url, None)
        _stop(process)
