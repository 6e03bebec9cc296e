"""The issuing agency's digital signature on each document (PAdES, with pyHanko).

A copy of a document can then be checked offline: any PDF reader (or pyHanko's validator)
shows who signed it and that not a byte changed since. Keys are per agency: the folder
``LIANBAO_SIGNING_KEYS_DIR`` holds, per agency, one PEM file with its private key, its
certificate and the chain up to the county's CA, named ``agency-<id>.pem`` or
``<jurisdiction code>-<agency kind>.pem`` (e.g. ``370406-judicial.pem``: the district's
judicial bureau). In development the folder is ``var/dev-signing``: a development CA and
each agency's key are generated there on first use, as the JWT secret is, and never
committed. In production a missing key refuses the issue (``SIGNING_KEY_MISSING``) rather
than sending out an unsigned document.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from asn1crypto import keys as asn1_keys
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from authz.errors import LianbaoError

if TYPE_CHECKING:  # pyhanko is imported where a document is signed: ~40 MB a worker otherwise
    from pyhanko.sign import signers

DEV_CA = "dev-ca.pem"
FIELD_NAME = "LianbaoIssuer"


class SigningKeyMissing(LianbaoError):
    code = "SIGNING_KEY_MISSING"


@dataclass(frozen=True)
class Signatory:
    """Whose key signs: the issuing agency."""

    agency_id: int
    jurisdiction_code: str
    kind: str
    name: str

    @property
    def file_names(self) -> tuple[str, str]:
        return f"agency-{self.agency_id}.pem", f"{self.jurisdiction_code}-{self.kind}.pem"


@dataclass
class _Config:
    keys_dir: Path
    generate: bool


_config = _Config(Path("var") / "dev-signing", generate=True)
_signers: dict[Path, tuple[float, signers.SimpleSigner]] = {}
_lock = threading.Lock()


def configure(keys_dir: str | Path, *, generate: bool) -> None:
    """Where agencies' keys are, and whether missing ones are generated (development)."""
    _config.keys_dir, _config.generate = Path(keys_dir), generate
    _signers.clear()


def keys_dir() -> Path:
    return _config.keys_dir


def sign(pdf: bytes, who: Signatory, reason: str) -> bytes:
    """The PDF with ``who``'s PAdES signature appended as an incremental update."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    signer = _signer(who)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        name=who.name,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    out = signers.PdfSigner(meta, signer).sign_pdf(writer)
    return bytes(out.getvalue())


def _signer(who: Signatory) -> signers.SimpleSigner:
    with _lock:
        path = next(
            (p for p in (_config.keys_dir / n for n in who.file_names) if p.is_file()), None
        )
        if path is None:
            if not _config.generate:
                raise SigningKeyMissing(
                    f"no signing key for {who.name}: put {who.file_names[1]} in "
                    f"{_config.keys_dir}"
                )
            path = _generate(who)
        mtime = path.stat().st_mtime
        cached = _signers.get(path)
        if cached is None or cached[0] != mtime:
            cached = _signers[path] = (mtime, _load(path))
        return cached[1]


def _load(path: Path) -> signers.SimpleSigner:
    """The key, the agency's certificate (the first) and its chain, from one PEM file; the
    chain goes into the signature, so a reader can build the path to the county's CA."""
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    blocks = list(pem.unarmor(path.read_bytes(), multiple=True))
    keys_ = [der for kind, _, der in blocks if kind == "PRIVATE KEY"]
    certs = [asn1_x509.Certificate.load(der) for kind, _, der in blocks if kind == "CERTIFICATE"]
    if len(keys_) != 1 or not certs:
        raise SigningKeyMissing(
            f"{path} must hold one unencrypted PKCS#8 key and the agency's certificate chain"
        )
    return signers.SimpleSigner(
        signing_cert=certs[0],
        signing_key=asn1_keys.PrivateKeyInfo.load(keys_[0]),
        cert_registry=SimpleCertificateStore.from_certs(certs),  # type: ignore[no-untyped-call]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
) -> x509.Certificate:
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, subject),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Lianbao development (not for use)"),
    ])
    issuer_name, issuer_key = issuer or (name, key)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is None:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
    else:
        builder = builder.add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False), True
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
    return builder.sign(issuer_key, hashes.SHA256())


def dev_ca() -> x509.Certificate:
    """The development CA's certificate (created on first use): what a test or a
    development reader trusts to validate documents signed here."""
    cert, _ = _dev_ca()
    return cert


def _dev_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    path = _config.keys_dir / DEV_CA
    if not path.is_file():
        _config.keys_dir.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert("Lianbao development CA", key, None)
        _write(path, _pem_key(key) + cert.public_bytes(serialization.Encoding.PEM))
    data = path.read_bytes()
    loaded = serialization.load_pem_private_key(data, None)
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)
    return x509.load_pem_x509_certificate(data), loaded


def _generate(who: Signatory) -> Path:
    ca_cert, ca_key = _dev_ca()
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _cert(who.name, key, (ca_cert.subject, ca_key))
    path = _config.keys_dir / who.file_names[1]
    _write(
        path,
        _pem_key(key)
        + cert.public_bytes(serialization.Encoding.PEM)
        + ca_cert.public_bytes(serialization.Encoding.PEM),
    )
    return path


def _write(path: Path, data: bytes) -> None:
    """Written whole under a temporary name, then linked into place only if no file is
    there yet: two processes generating the same key at once both end up using the one that
    landed first, and nobody reads a torn file."""
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o600)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
