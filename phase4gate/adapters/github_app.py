"""GitHub tokens per repository: a variable named in ``github.tokens``, or a GitHub App installation token.

A GitHub App authenticates with a JSON Web Token signed RS256 with its private key
(:func:`app_jwt`: ``iat`` 60 s in the past against clock drift, ``exp`` at most 10
minutes ahead, ``iss`` the app id) and trades it for an installation token
(``POST /app/installations/{id}/access_tokens``, valid one hour).
:class:`AppTokenSource` mints that token on first use and again before its hour runs
out.  The private key is read from the file an environment variable names
(``github.app.private_key_env``); neither key, JWT nor token is ever put in a
message, a log or evidence: every error text is redacted with them.

:func:`token_source` picks, for one repository: ``github.tokens[repo]`` (a variable),
else the App when ``github.app`` is set (and lists the repository, or lists none),
else ``github.token_env``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

from phase4gate.errors import ConfigError, GitHubError, redact

if TYPE_CHECKING:
    from phase4gate.adapters.actions.transport import Transport
    from phase4gate.config import GateConfig, GitHubAppConfig

__all__ = [
    "JWT_BACKDATE_SECONDS",
    "JWT_LIFETIME_SECONDS",
    "REFRESH_MARGIN_SECONDS",
    "AppTokenSource",
    "StaticToken",
    "TokenSource",
    "app_jwt",
    "jwt_claims",
    "token_source",
]

JWT_BACKDATE_SECONDS: Final = 60
# GitHub refuses an exp more than 10 minutes ahead; 9 leaves room for the backdated iat and drift.
JWT_LIFETIME_SECONDS: Final = 9 * 60
# An installation token lives an hour; a new one is minted when less than this is left.
REFRESH_MARGIN_SECONDS: Final = 5 * 60


class TokenSource(Protocol):
    """Where a request's token comes from."""

    where: str  # what the operator configured ("GITHUB_TOKEN", "the GitHub App 123 installation 456")

    def token(self) -> str | None:
        """Return the token to send now (None: no token)."""
        ...

    def secrets(self) -> tuple[str, ...]:
        """Return every secret this source holds (for redaction)."""
        ...


class StaticToken:
    """A token read once from an environment variable."""

    def __init__(self, env_name: str, environ: Mapping[str, str]) -> None:
        self.where = env_name
        self._token = environ.get(env_name) or None

    def token(self) -> str | None:
        """Return the variable's value (None when unset or empty)."""
        return self._token

    def secrets(self) -> tuple[str, ...]:
        """Return the token, if any."""
        return (self._token,) if self._token else ()

    def __repr__(self) -> str:
        return f"StaticToken({self.where!r})"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwt_claims(app_id: int, now: float) -> dict[str, int | str]:
    """Return the claims of an App JWT issued at *now* (epoch seconds): backdated ``iat``, ``exp`` < 10 min."""
    issued = int(now)
    return {"iat": issued - JWT_BACKDATE_SECONDS, "exp": issued + JWT_LIFETIME_SECONDS, "iss": str(app_id)}


def app_jwt(app_id: int, private_key_pem: bytes, now: float) -> str:
    """Return the RS256 JWT of App *app_id* at *now*, signed with *private_key_pem*.

    Raises:
        ConfigError: the key is not an RSA private key in PEM.
    """
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415 - only for an App
    from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: PLC0415

    try:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(
            "the GitHub App private key is not an unencrypted RSA private key in PEM",
            field="github.app.private_key_env",
            hint="download the App's private key (.pem) from its settings page and name the file in that variable",
        )
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(jwt_claims(app_id, now), separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{_b64(signature)}"


def _parse_expiry(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


class AppTokenSource:
    """Mint and refresh a GitHub App installation token (thread-safe)."""

    def __init__(  # noqa: PLR0913 - the App and its transport, each a keyword
        self,
        app: GitHubAppConfig,
        *,
        api_url: str,
        environ: Mapping[str, str],
        transport: Transport,
        epoch: Callable[[], float],
        api_version: str = "2022-11-28",
    ) -> None:
        self.app = app
        self.where = f"the GitHub App {app.app_id} installation {app.installation_id}"
        self._api_url = api_url.rstrip("/")
        self._environ = environ
        self._transport = transport
        self._epoch = epoch
        self._api_version = api_version
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires = 0.0
        self._jwt: str | None = None
        self.permissions: dict[str, str] = {}
        self.minted = 0

    def __repr__(self) -> str:
        return f"AppTokenSource(app_id={self.app.app_id}, installation_id={self.app.installation_id})"

    def secrets(self) -> tuple[str, ...]:
        """Return the current token and JWT (for redaction)."""
        return tuple(s for s in (self._token, self._jwt) if s)

    def _key(self) -> bytes:
        env = self.app.private_key_env
        name = self._environ.get(env)
        if not name:
            raise ConfigError(
                f"the environment variable {env} (the GitHub App's private key file) is not set",
                field="github.app.private_key_env",
                hint=f"export {env}=/path/to/app.private-key.pem",
            )
        try:
            return Path(name).read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"cannot read the GitHub App private key file named by {env}: {exc.strerror or exc}",
                field="github.app.private_key_env",
            ) from None

    def token(self) -> str:
        """Return a valid installation token, minting one when none is left or it ends within five minutes.

        Raises:
            ConfigError: no key, a bad key, an unknown installation, or bad App credentials (names the fix).
            GitHubError: GitHub did not answer.
        """
        with self._lock:
            now = self._epoch()
            if self._token is None or self._expires - now < REFRESH_MARGIN_SECONDS:
                self._mint(now)
            assert self._token is not None  # noqa: S101 - _mint sets it or raises
            return self._token

    def _mint(self, now: float) -> None:
        self._jwt = app_jwt(self.app.app_id, self._key(), now)
        url = f"{self._api_url}/app/installations/{self.app.installation_id}/access_tokens"
        answer = self._transport.request(
            "POST",
            url,
            kind="token",
            headers={
                "Authorization": f"Bearer {self._jwt}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": self._api_version,
                "User-Agent": "phase4gate",
            },
        )
        data = answer.json()
        if answer.status != 201 or not isinstance(data, dict) or not isinstance(data.get("token"), str):
            message = redact(answer.message(), *self.secrets())
            if answer.status in {401, 403, 404}:
                raise ConfigError(
                    f"{self.where}: could not mint an installation token: HTTP {answer.status} {message!r}",
                    field="github.app",
                    hint="check app_id, installation_id and the private key (the App must be installed on the "
                    "repositories the gate runs Actions in)",
                )
            raise GitHubError(
                f"{self.where}: could not mint an installation token: HTTP {answer.status} {message!r}",
                url=url,
                status=answer.status,
            )
        self._token = str(data["token"])
        self._expires = _parse_expiry(data.get("expires_at")) or now + 3600.0
        perms = data.get("permissions")
        self.permissions = {str(k): str(v) for k, v in perms.items()} if isinstance(perms, dict) else {}
        self.minted += 1

    def check_permission(self, name: str, level: str, *, needed_for: str) -> None:
        """Refuse an installation whose token lacks *name*: *level* (``actions``: ``write``), when GitHub listed them.

        Raises:
            ConfigError: naming the missing permission and what it is needed for.
        """
        self.token()
        have = self.permissions.get(name)
        if not self.permissions or have == level or (level == "read" and have == "write"):
            return
        title = name.replace("_", " ").title()
        raise ConfigError(
            f"{self.where} has {title}: {have or 'none'}; {needed_for} needs {title}: {level}",
            field="github.app",
            hint=f"grant the App {title}: {level} in its settings and accept the new permission on the installation",
        )


def token_source(
    config: GateConfig, repo: str, environ: Mapping[str, str], *, transport: Transport, epoch: Callable[[], float]
) -> TokenSource:
    """Return where *repo*'s token comes from: ``github.tokens``, else the App, else ``github.token_env``."""
    gh = config.github
    for name, env in gh.tokens.items():
        if name.lower() == repo.lower():
            return StaticToken(env, environ)
    if gh.app is not None and (not gh.app.repos or repo.lower() in {r.lower() for r in gh.app.repos}):
        return AppTokenSource(gh.app, api_url=gh.api_url, environ=environ, transport=transport, epoch=epoch)
    return StaticToken(gh.token_env, environ)
