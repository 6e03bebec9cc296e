"""Authentication: every kind of bad token is a 401 with a coded GraphQL-shaped body."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from api.auth import TokenError, TokenVerifier, issue_dev_token
from api.settings import Settings
from tests.helpers import TEST_SECRET, Api

ME = "{ me { username agency { name kind } roles { role domain } jurisdiction { code } } }"


async def test_me_answers_for_a_valid_token(api: Api) -> None:
    data = await api.gql(ME, user="police_officer")
    me = data["me"]
    assert me["username"] == "police_officer"
    assert me["agency"]["kind"] == "POLICE"
    assert me["agency"]["name"] == "枣庄市公安局山亭分局"
    assert me["jurisdiction"]["code"] == "370406"
    roles = {r["role"] for r in me["roles"]}
    assert roles == {"police_officer", "member"}


async def test_school_user_is_scoped_to_the_school(api: Api) -> None:
    me = (await api.gql(ME, user="head_teacher"))["me"]
    assert me["agency"]["kind"] == "SCHOOL"
    staff = next(r for r in me["roles"] if r["role"] == "school_staff")
    assert "/school:" in staff["domain"]


def _payload(**overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    base: dict[str, object] = {
        "sub": "edu_officer",
        "iss": "lianbao-dev",
        "aud": "lianbao",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
    }
    base.update(overrides)
    return base


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("Basic abc", "malformed"),
        ("Bearer", "malformed"),
        ("Bearer not.a.jwt", "malformed"),
        ("Bearer " + jwt.encode(_payload(exp=1), TEST_SECRET, algorithm="HS256"), "expired"),
        (
            "Bearer " + jwt.encode(_payload(), "another-secret-" + "y" * 32, algorithm="HS256"),
            "bad_signature",
        ),
        (
            "Bearer " + jwt.encode(_payload(aud="someone-else"), TEST_SECRET, algorithm="HS256"),
            "wrong_audience",
        ),
        (
            "Bearer " + jwt.encode(_payload(sub="nobody"), TEST_SECRET, algorithm="HS256"),
            "unknown_user",
        ),
        (
            "Bearer " + jwt.encode({"sub": "edu_officer"}, TEST_SECRET, algorithm="HS256"),
            "malformed",
        ),
    ],
)
async def test_bad_tokens_get_401_with_a_code(api: Api, header: str | None, reason: str) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = await api.post(ME, user=None, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED", "reason": reason}


async def test_response_carries_a_request_id(api: Api) -> None:
    response = await api.post(ME, headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    fresh = await api.post(ME, headers={"X-Request-ID": "bad id with spaces"})
    assert len(fresh.headers["x-request-id"]) == 32


def test_production_refuses_hs256_and_dev_tokens() -> None:
    prod = Settings(environment="production", jwt_secret="s" * 40)
    with pytest.raises(RuntimeError):
        TokenVerifier(prod)
    with pytest.raises(RuntimeError):
        issue_dev_token(prod, "edu_officer")


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_public_key_verification(tmp_path: Path, algorithm: str) -> None:
    key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if algorithm == "RS256"
        else ec.generate_private_key(ec.SECP256R1())
    )
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "issuer.pem").write_bytes(pem)
    settings = Settings(
        environment="production",
        jwt_public_key_file=str(tmp_path / "issuer.pem"),
        jwt_issuer="https://idp.example",
        jwt_audience="lianbao",
    )
    verifier = TokenVerifier(settings)
    good = jwt.encode(_payload(iss="https://idp.example"), key, algorithm=algorithm)
    assert verifier.verify(good).username == "edu_officer"
    # A token signed with the HS256 "secret" equal to the public key must not pass.
    forged = jwt.encode(_payload(iss="https://idp.example"), "x" * 40, algorithm="HS256")
    with pytest.raises(TokenError) as caught:
        verifier.verify(forged)
    assert caught.value.reason == "bad_algorithm"


def test_jwks_file_verification(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="k1", alg="RS256", use="sig")
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    settings = Settings(
        environment="production",
        jwt_jwks_file=str(tmp_path / "jwks.json"),
        jwt_issuer="https://idp.example",
    )
    verifier = TokenVerifier(settings)
    good = jwt.encode(
        _payload(iss="https://idp.example"), key, algorithm="RS256", headers={"kid": "k1"}
    )
    assert verifier.verify(good).username == "edu_officer"
    unknown = jwt.encode(
        _payload(iss="https://idp.example"), key, algorithm="RS256", headers={"kid": "k2"}
    )
    with pytest.raises(TokenError) as caught:
        verifier.verify(unknown)
    assert caught.value.reason == "unknown_key"


def _signed(payload_json: str, header: str = '{"alg":"HS256","typ":"JWT"}') -> str:
    """An HS256 token over exactly these JSON texts (PyJWT cannot write Infinity or 1e400)."""

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = f"{b64(header.encode())}.{b64(payload_json.encode())}"
    signature = hmac.new(TEST_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def _claims(**overrides: object) -> str:
    return json.dumps(_payload(**overrides))


_GOOD = '"sub":"edu_officer","iss":"lianbao-dev","aud":"lianbao"'


@pytest.mark.parametrize(
    "token",
    [
        _signed(_claims(exp=10**30)),  # far future: past year 9999
        _signed(_claims(exp=253402300800)),  # 10000-01-01
        _signed(_claims(exp=1e308)),
        _signed("{" + _GOOD + ',"exp":1e400}'),  # parses as infinity
        _signed("{" + _GOOD + ',"exp":Infinity}'),
        _signed("{" + _GOOD + ',"exp":NaN}'),
        _signed(_claims(exp="4102444800")),  # a numeric string: not a NumericDate
        _signed(_claims(exp="tomorrow")),
        _signed(_claims(exp=None)),
        _signed(_claims(exp=[1])),
        _signed(_claims(sub=42)),
        _signed(_claims(sub=["edu_officer"])),
        _signed(_claims(sub="")),
        _signed(_claims(iat="x")),
        _signed(_claims(iat=10**30)),
        _signed(_claims(nbf=10**30)),
        _signed(_claims(iss=5)),
        _signed(_claims(aud={"a": 1})),
        _signed("{" + _GOOD + "}"),  # no exp
        _signed('{"exp":4102444800}'),  # no sub, iss, aud
        _signed("[1, 2]"),
        _signed('"just a string"'),
        _signed("[" * 100_000),
        _signed(_claims(), header='{"alg":"HS256","kid":[1]}'),
        _signed(_claims(), header='{"alg":["HS256"]}'),
        _signed(_claims(), header="[" * 100_000),
    ],
)
async def test_every_unusable_token_is_a_coded_401(api: Api, token: str) -> None:
    response = await api.post(ME, user=None, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert error["extensions"]["reason"] in {"malformed", "expired", "wrong_audience",
                                             "bad_algorithm"}


def test_jwks_refuses_a_kid_that_is_not_a_string(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="k1", alg="RS256", use="sig")
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    verifier = TokenVerifier(Settings(environment="production",
                                      jwt_jwks_file=str(tmp_path / "jwks.json"),
                                      jwt_issuer="https://idp.example"))
    good = jwt.encode(_payload(iss="https://idp.example"), key, algorithm="RS256",
                      headers={"kid": "k1"})
    _, claims, signature = good.split(".")
    for kid in ([1], {"k": "k1"}, 7, None):
        # PyJWT will not write such a header; the key is chosen before the signature counts.
        header = json.dumps({"alg": "RS256", "kid": kid}).encode()
        token = f"{base64.urlsafe_b64encode(header).rstrip(b'=').decode()}.{claims}.{signature}"
        with pytest.raises(TokenError) as caught:
            verifier.verify(token)
        assert caught.value.reason in {"unknown_key", "malformed"}
