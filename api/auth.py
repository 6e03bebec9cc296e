"""Bearer-token authentication: token → claims → principal.

Development signs HS256 tokens with a local secret (``lianbao token``). Production verifies
tokens from the county's identity provider against its public key (RS256/ES256), from a PEM
file or a JWKS file, and refuses HS256 altogether so a leaked shared secret cannot mint tokens.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from jwt import PyJWK

from api.settings import Settings
from authz.errors import Unauthenticated
from authz.principal import Principal

ASYMMETRIC = ["RS256", "ES256"]

log = logging.getLogger("lianbao.auth")


class TokenError(Unauthenticated):
    """401 with a reason a client can act on (log in again, fix the header, ...)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Claims:
    username: str
    expires_at: datetime


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._keys: dict[str | None, Any] = {}
        self._algorithms: list[str]
        # The identity provider's keys fetched from its URL: PyJWKClient caches the set for
        # jwt_jwks_cache_seconds and refetches when a token names a ``kid`` it does not have,
        # so a rotated key is picked up without a restart (docs/deploy.md, Keys).
        self._jwks_client: jwt.PyJWKClient | None = None
        if settings.jwt_jwks_url:
            self._jwks_client = jwt.PyJWKClient(
                settings.jwt_jwks_url,
                cache_keys=True,
                lifespan=settings.jwt_jwks_cache_seconds,
                cooldown_duration=settings.jwt_jwks_cooldown_seconds,
                timeout=5,
            )
            self._algorithms = ASYMMETRIC
        elif settings.jwt_jwks_file:
            jwks = json.loads(Path(settings.jwt_jwks_file).read_text(encoding="utf-8"))
            for entry in jwks.get("keys", []):
                key = PyJWK.from_dict(entry)
                self._keys[entry.get("kid")] = key.key
            self._algorithms = ASYMMETRIC
        elif settings.jwt_public_key_file:
            self._keys[None] = Path(settings.jwt_public_key_file).read_bytes()
            self._algorithms = ASYMMETRIC
        elif settings.jwt_secret and not settings.is_production:
            self._keys[None] = settings.jwt_secret
            self._algorithms = ["HS256"]
        else:
            raise RuntimeError(
                "no token verification key: set LIANBAO_JWT_JWKS_URL, "
                "LIANBAO_JWT_PUBLIC_KEY_FILE or LIANBAO_JWT_JWKS_FILE (production), "
                "or LIANBAO_JWT_SECRET (development)"
            )

    def _key_for(self, token: str) -> Any:
        if self._jwks_client is not None:
            try:
                return self._jwks_client.get_signing_key_from_jwt(token).key
            except jwt.PyJWKClientConnectionError as exc:
                # The identity provider is unreachable and no cached key fits: the token
                # cannot be checked now; logged for the operator, a 401 for the client.
                log.warning("JWKS fetch failed: %s", exc)
                raise TokenError(
                    "the token's signing key cannot be fetched", "unknown_key"
                ) from exc
            except jwt.PyJWKClientError as exc:
                raise TokenError("the token's signing key is not known", "unknown_key") from exc
        if None in self._keys and len(self._keys) == 1:
            return self._keys[None]
        kid = jwt.get_unverified_header(token).get("kid")
        if not isinstance(kid, str) or kid not in self._keys:
            raise TokenError("the token's signing key is not known", "unknown_key")
        return self._keys[kid]

    def verify_header(self, header: str | None) -> Claims:
        if not header:
            raise TokenError("an Authorization: Bearer token is required", "missing")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenError("the Authorization header must be 'Bearer <token>'", "malformed")
        return self.verify(token.strip())

    def verify(self, token: str) -> Claims:
        """The token's claims, or a ``TokenError`` (a coded 401) for every token that cannot be
        accepted, including those no specific check foresaw: a token is input from anyone, and
        no token may turn into a 500."""
        try:
            return self._verify(token)
        except TokenError:
            raise
        except Exception as exc:
            log.warning("unreadable token refused: %s: %s", type(exc).__name__, exc)
            raise TokenError("the token could not be read", "malformed") from exc

    def _verify(self, token: str) -> Claims:
        try:
            payload = jwt.decode(
                token,
                self._key_for(token),
                algorithms=self._algorithms,
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                options={"require": ["exp", "sub", "iss", "aud"]},
                # Clocks of the identity provider and this server drift a little.
                leeway=self.settings.jwt_leeway_seconds,
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("the token has expired", "expired") from exc
        except jwt.InvalidSignatureError as exc:
            raise TokenError("the token's signature is not valid", "bad_signature") from exc
        except jwt.InvalidAlgorithmError as exc:
            raise TokenError("the token's algorithm is not accepted", "bad_algorithm") from exc
        except (jwt.InvalidAudienceError, jwt.InvalidIssuerError) as exc:
            raise TokenError("the token was issued for someone else", "wrong_audience") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise TokenError(f"the token lacks the {exc.claim} claim", "malformed") from exc
        except TokenError:
            raise
        except jwt.PyJWTError as exc:
            raise TokenError("the token could not be read", "malformed") from exc
        sub = payload.get("sub")
        if not isinstance(sub, str) or not sub:
            raise TokenError("the token's subject is empty", "malformed")
        return Claims(username=sub, expires_at=_expiry(payload["exp"]))


class PrincipalCache:
    """Principals by username (of a verified token), each valid while the policy it was
    loaded under is in force (the authorizer's ``generation``: it moves at every reload) and
    for at most ``max_age`` seconds.

    Loading a principal is two statements; a front end sends the same user's token with
    every request. Keyed by the verified username rather than the token string: the principal
    depends on the user alone, and a renewed token keeps its user's entry. Every change that
    can alter a principal (a rule, a grant, a deactivation) bumps the authorization version
    in its transaction (``workflow/policy.authorization_changed``), and every process
    reloads on a new version (NOTIFY, then the poll), so an entry stops being used as soon
    as its process knows of the change. ``max_age`` bounds what the version cannot see: a
    user or grant edited by hand in the database. The token itself is verified on every
    request all the same (expiry, keys); only the database round trips are saved.
    """

    def __init__(self, max_age: float, max_entries: int = 10_000) -> None:
        self.max_age = max_age
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[int, float, Principal]] = OrderedDict()

    def get(self, username: str, version: int) -> Principal | None:
        entry = self._entries.get(username)
        if entry is None:
            return None
        loaded_version, loaded_at, principal = entry
        if loaded_version != version or time.monotonic() - loaded_at > self.max_age:
            del self._entries[username]
            return None
        return principal

    def put(self, username: str, version: int, principal: Principal) -> None:
        if self.max_age <= 0:
            return
        self._entries[username] = (version, time.monotonic(), principal)
        self._entries.move_to_end(username)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def _expiry(exp: object) -> datetime:
    """``exp`` as a datetime. RFC 7519 makes it a JSON number of seconds; PyJWT also lets a
    numeric string or a boolean through, and a number past year 9999 (or infinite) cannot be a
    datetime at all: each is a malformed token, not a crash."""
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise TokenError("the token's exp claim is not a number", "malformed")
    if isinstance(exp, float) and not math.isfinite(exp):
        raise TokenError("the token's exp claim is not a finite number", "malformed")
    try:
        return datetime.fromtimestamp(exp, UTC)
    except (OverflowError, ValueError, OSError) as exc:
        raise TokenError("the token's exp claim is out of range", "malformed") from exc


def issue_dev_token(settings: Settings, username: str, ttl: timedelta = timedelta(hours=12)) -> str:
    """A development token. Refused in production, where the identity provider issues them."""
    if settings.is_production or not settings.jwt_secret:
        raise RuntimeError("development tokens are not available in production")
    now = datetime.now(UTC)
    payload = {
        "sub": username,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(payload, settings.jwt_secret, algorithm="HS256")
