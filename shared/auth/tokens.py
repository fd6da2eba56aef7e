"""Bearer tokens: verified against a configured OpenID Connect issuer's published keys, or (the
embedded default) against a local issuer whose Ed25519 key lives in the data folder.

Only asymmetric algorithms are accepted: with ``none`` or a shared HMAC secret anyone who can
verify a token could also make one."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol
from uuid import uuid4

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from shared.auth.errors import IssuerUnavailableError, NotAuthenticatedError
from shared.clock import utc_now
from shared.settings import Settings

ALGORITHMS = ["RS256", "ES256", "EdDSA"]
LOCAL_ISSUER = "urn:kotoutus:local"
REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]
# Clocks of the issuer and of this host differ a little; more than this is not a skew.
LEEWAY_SECONDS = 30


@dataclass(frozen=True)
class VerifiedToken:
    subject: str
    roles: tuple[str, ...]
    organisation: str | None


class TokenVerifier(Protocol):
    def verify(self, token: str) -> VerifiedToken: ...


def _claim(claims: dict[str, Any], name: str) -> Any:
    """A claim by name; a dotted name reaches into objects (e.g. Keycloak's realm_access.roles)."""
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _verified(claims: dict[str, Any], settings: Settings) -> VerifiedToken:
    roles = _claim(claims, settings.oidc_roles_claim)
    if isinstance(roles, str):
        roles = [roles]
    organisation = _claim(claims, settings.oidc_organisation_claim)
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise NotAuthenticatedError("the token names no subject")
    return VerifiedToken(
        subject=subject,
        roles=tuple(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else (),
        organisation=organisation if isinstance(organisation, str) and organisation else None,
    )


def _decode(token: str, key: Any, settings: Settings, issuer: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            audience=settings.oidc_audience,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.PyJWTError as error:
        # The reason (expired, wrong audience, bad signature) helps the caller fix it and
        # reveals nothing about any client.
        raise NotAuthenticatedError(str(error)) from None
    return claims


def signing_key_from_file(path: Path) -> Ed25519PrivateKey:
    """The local issuer's key: made once, readable by the owner only. Several processes may
    start at once, so the key is written aside and linked into place; the first one wins."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        )
        aside = path.with_name(f".{path.name}.{uuid4().hex}")
        descriptor = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(aside)
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


class LocalIssuer:
    """Issues and verifies tokens with a key of this deployment (no identity provider)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._key = signing_key_from_file(settings.token_signing_key_path)

    def issue(
        self,
        *,
        subject: str,
        roles: Iterable[str],
        organisation: str,
        lifetime: timedelta = timedelta(hours=8),
    ) -> str:
        now = utc_now()
        claims = {
            "iss": LOCAL_ISSUER,
            "aud": self.settings.oidc_audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": uuid4().hex,
            self.settings.oidc_roles_claim: list(roles),
            self.settings.oidc_organisation_claim: organisation,
        }
        return jwt.encode(claims, self._key, algorithm="EdDSA")

    def verify(self, token: str) -> VerifiedToken:
        claims = _decode(token, self._key.public_key(), self.settings, LOCAL_ISSUER)
        return _verified(claims, self.settings)


class OidcVerifier:
    """Verifies tokens of an OpenID Connect issuer against its published keys (JWKS).

    ``PyJWKClient`` caches the keys and fetches them again once for a key id it does not know,
    so the issuer can rotate its keys without a restart here."""

    def __init__(self, settings: Settings) -> None:
        assert settings.oidc_issuer
        self.settings = settings
        self.issuer = settings.oidc_issuer
        self._lock = threading.Lock()
        self._keys: jwt.PyJWKClient | None = None

    def _jwks_url(self) -> str:
        if self.settings.oidc_jwks_url:
            return self.settings.oidc_jwks_url
        discovery = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            response = httpx.get(discovery, timeout=10)
            response.raise_for_status()
            url = response.json()["jwks_uri"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            raise IssuerUnavailableError(f"discovery at {discovery}: {error}") from None
        if not isinstance(url, str):
            raise IssuerUnavailableError(f"discovery at {discovery}: no jwks_uri")
        return url

    def _client(self) -> jwt.PyJWKClient:
        with self._lock:
            if self._keys is None:
                self._keys = jwt.PyJWKClient(
                    self._jwks_url(), cache_keys=True, lifespan=300, timeout=10
                )
            return self._keys

    def verify(self, token: str) -> VerifiedToken:
        client = self._client()
        try:
            key = client.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as error:
            raise IssuerUnavailableError(str(error)) from None
        except jwt.PyJWTError as error:  # unknown key id, malformed token
            raise NotAuthenticatedError(str(error)) from None
        return _verified(_decode(token, key, self.settings, self.issuer), self.settings)


def token_verifier(settings: Settings) -> TokenVerifier:
    if settings.oidc_issuer:
        return OidcVerifier(settings)
    return LocalIssuer(settings)
