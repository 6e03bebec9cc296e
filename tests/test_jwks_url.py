"""Keys from the identity provider's JWKS URL (PyJWKClient): cached, refetched when a rotated
``kid`` appears, with clock leeway (issue 18, keys)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from api.auth import TokenError, TokenVerifier
from api.settings import Settings


class _Provider:
    """An identity provider's JWKS endpoint serving whatever keys it holds now."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.fetches = 0

    def add(self, kid: str) -> rsa.RSAPrivateKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.keys[kid] = key
        return key

    def jwks(self) -> bytes:
        entries = []
        for kid, key in self.keys.items():
            entry: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
            entries.append({**entry, "kid": kid, "use": "sig", "alg": "RS256"})
        return json.dumps({"keys": entries}).encode()


@pytest.fixture
def provider() -> Iterator[tuple[_Provider, str]]:
    idp = _Provider()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            idp.fetches += 1
            body = idp.jwks()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield idp, f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


def _token(key: rsa.RSAPrivateKey, kid: str, *, exp: datetime | None = None) -> str:
    now = datetime.now(UTC)
    payload = {"sub": "edu_officer", "iss": "idp", "aud": "lianbao",
               "exp": int((exp or now + timedelta(minutes=5)).timestamp())}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


def _settings(url: str, leeway: int = 30, cooldown: float = 0.0) -> Settings:
    return Settings(environment="production", jwt_jwks_url=url, jwt_issuer="idp",
                    jwt_audience="lianbao", jwt_leeway_seconds=leeway,
                    jwt_jwks_cooldown_seconds=cooldown)


def _refusal(verifier: TokenVerifier, token: str) -> str:
    """The reason ``verifier`` gives for refusing ``token`` (it must refuse it)."""
    with pytest.raises(TokenError) as caught:
        verifier.verify(token)
    return caught.value.reason


def test_keys_are_fetched_cached_and_rotated(provider: tuple[_Provider, str]) -> None:
    idp, url = provider
    first = idp.add("2026-11")
    verifier = TokenVerifier(_settings(url))
    assert verifier.verify(_token(first, "2026-11")).username == "edu_officer"
    assert verifier.verify(_token(first, "2026-11")).username == "edu_officer"
    assert idp.fetches == 1, "the key set is cached"
    # Rotation: the provider publishes a new key; a token naming it is accepted at once.
    second = idp.add("2026-12")
    assert verifier.verify(_token(second, "2026-12")).username == "edu_officer"
    assert idp.fetches == 2
    assert _refusal(verifier, _token(second, "never-published")) == "unknown_key"


def test_unknown_kids_do_not_hammer_the_provider(provider: tuple[_Provider, str]) -> None:
    idp, url = provider
    key = idp.add("k1")
    verifier = TokenVerifier(_settings(url, cooldown=30))
    verifier.verify(_token(key, "k1"))
    for i in range(5):
        with pytest.raises(TokenError):
            verifier.verify(_token(key, f"made-up-{i}"))
    assert idp.fetches == 1


def test_unreachable_provider_is_a_coded_401() -> None:
    verifier = TokenVerifier(_settings("http://127.0.0.1:9/jwks.json"))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert _refusal(verifier, _token(key, "k")) == "unknown_key"


def test_clock_leeway(provider: tuple[_Provider, str]) -> None:
    idp, url = provider
    key = idp.add("k1")
    just_expired = _token(key, "k1", exp=datetime.now(UTC) - timedelta(seconds=10))
    assert TokenVerifier(_settings(url, leeway=30)).verify(just_expired)
    assert _refusal(TokenVerifier(_settings(url, leeway=0)), just_expired) == "expired"
