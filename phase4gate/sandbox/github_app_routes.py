"""GitHub App installation tokens on the GitHub emulator: ``POST /app/installations/{id}/access_tokens``.

:func:`register_app` makes an emulator know one App (its id, its public key, its
installations and their permissions); :func:`answer_app_route` answers the route
before the emulator's token check (an App authenticates with a JWT, not a token):

* the ``Authorization: Bearer <JWT>`` must be RS256, signed by the App's key, with
  ``iss`` the app id, ``iat`` not in the future (60 s of drift allowed) and ``exp``
  after now and at most 10 minutes after ``iat``: else 401 with GitHub's message;
* an unknown installation is 404;
* the answer is 201 with a fresh ``ghs_`` token (valid an hour, accepted by the
  emulator, writing only with ``actions: write``) and the installation's permissions.

Every minted token and every JWT received is recorded (``AppState.minted``, ``jwts``)
so a test checks what was asked and that no token leaked.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from attrs import define, field

from phase4gate.sandbox._server import Request, Response

if TYPE_CHECKING:
    from phase4gate.sandbox.github_api import GitHubEmulator

__all__ = ["AppState", "answer_app_route", "register_app"]

_ROUTE: Final = re.compile(r"/app/installations/(?P<id>\d+)/access_tokens")
_MAX_LIFETIME: Final = 600
_DRIFT: Final = 60
_APPS: weakref.WeakKeyDictionary[GitHubEmulator, AppState] = weakref.WeakKeyDictionary()


@define
class AppState:
    """One GitHub App known to an emulator."""

    app_id: int
    public_key_pem: bytes = field(repr=False)
    installations: dict[int, dict[str, str]]  # installation id -> permissions
    login: str = "phase4gate-app[bot]"
    token_seconds: float = 3600.0
    minted: list[str] = field(factory=list, repr=False)
    jwts: list[dict[str, Any]] = field(factory=list)  # the claims of every JWT received


def register_app(emulator: GitHubEmulator, app: AppState) -> AppState:
    """Make *emulator* answer the access-token route for *app*; return it."""
    with emulator.lock:
        _APPS[emulator] = app
    return app


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _error(status: int, message: str) -> Response:
    doc = "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app"
    return Response.json({"message": message, "documentation_url": doc, "status": str(status)}, status)


def _claims(app: AppState, authorization: str) -> dict[str, Any] | Response:
    from cryptography.exceptions import InvalidSignature  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: PLC0415

    scheme, _, jwt = authorization.partition(" ")
    parts = jwt.strip().split(".")
    if scheme.lower() != "bearer" or len(parts) != 3:
        return _error(401, "A JSON web token could not be decoded")
    try:
        header = json.loads(_b64decode(parts[0]))
        claims = json.loads(_b64decode(parts[1]))
        signature = _b64decode(parts[2])
    except ValueError:
        return _error(401, "A JSON web token could not be decoded")
    if not isinstance(header, dict) or header.get("alg") != "RS256" or not isinstance(claims, dict):
        return _error(401, "A JSON web token could not be decoded")
    key = serialization.load_pem_public_key(app.public_key_pem)
    if not isinstance(key, rsa.RSAPublicKey):  # pragma: no cover - registered by a test
        return _error(500, "the App's key is not RSA")
    try:
        key.verify(signature, f"{parts[0]}.{parts[1]}".encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return _error(401, "A JSON web token could not be decoded")
    return claims


def answer_app_route(emulator: GitHubEmulator, request: Request) -> Response | None:
    """Answer the App access-token route for a registered App (None: not this route, or no App)."""
    from phase4gate.sandbox.github_api import API_PREFIX  # noqa: PLC0415 - a cycle at import
    from phase4gate.sandbox.github_seed import SeedToken  # noqa: PLC0415

    path = request.path.removeprefix(API_PREFIX)
    m = _ROUTE.fullmatch(path)
    with emulator.lock:
        app = _APPS.get(emulator)
    if m is None or app is None:
        return None
    if request.method != "POST":
        return _error(404, "Not Found")
    claims = _claims(app, request.header("Authorization") or "")
    if isinstance(claims, Response):
        return claims
    now = time.time()
    with emulator.lock:
        app.jwts.append(dict(claims))
    iat, exp, iss = claims.get("iat"), claims.get("exp"), claims.get("iss")
    if str(iss) != str(app.app_id):
        return _error(401, f"Integration not found for 'iss' {iss!r}")
    if not isinstance(iat, int) or not isinstance(exp, int):
        return _error(401, "'Issued at' and 'Expiration time' claims are required")
    if iat > now + _DRIFT:
        return _error(401, "'Issued at' claim ('iat') must be an Integer representing a time in the past.")
    if exp <= now or exp > now + _MAX_LIFETIME:
        return _error(401, "'Expiration time' claim ('exp') is too far in the future")
    permissions = app.installations.get(int(m["id"]))
    if permissions is None:
        return _error(404, "Not Found")
    token = "ghs_" + secrets.token_hex(18)
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + app.token_seconds))
    with emulator.lock:
        writes = permissions.get("actions") == "write"
        emulator.state.tokens[token] = SeedToken(login=app.login, write=writes)
        app.minted.append(token)
    body: Mapping[str, object] = {
        "token": token,
        "expires_at": expires,
        "permissions": dict(permissions),
        "repository_selection": "all",
    }
    return Response.json(dict(body), 201)
