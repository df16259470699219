"""The partners' TLS listener: a CA of the deployment and the broker's certificate, made with `cryptography`.

Files written (`cercle-ops tls init --out DIR`):
- ca.crt        the CA certificate: give it to partners (their client verifies the broker with it)
- ca.key        the CA's private key (0600): keep it offline; it signs the next broker certificate
- broker.pem    the broker's keystore in PEM (ssl.keystore.type=PEM): PKCS#8 key, then certificate and CA (0600)
- broker.crt    the broker's certificate alone, to read its names and dates
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
BROKER_DAYS = 825  # what browsers and most TLS stacks still accept for a leaf


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    ca_key: Path
    keystore: Path
    broker_cert: Path


def files_in(directory: Path) -> TlsFiles:
    return TlsFiles(directory / "ca.crt", directory / "ca.key", directory / "broker.pem", directory / "broker.crt")


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Cercle"), x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    )


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(path, flags, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.IGNORECASE)


def subject_alternative_names(names: list[str]) -> list[x509.GeneralName]:
    """DNS names and IP addresses, each as what it is; ValueError for a name no client could match (a typo would
    otherwise give a certificate every partner's client refuses)."""
    result: list[x509.GeneralName] = []
    for name in names:
        try:
            result.append(x509.IPAddress(ipaddress.ip_address(name)))
            continue
        except ValueError:
            pass
        labels = name.rstrip(".").split(".")
        valid = len(name) <= 253 and all(_LABEL.fullmatch(label) for label in labels)
        if not valid or labels[-1].isdigit():  # 999.1.1.1 is neither an address nor a host name
            raise ValueError(f"--name {name!r}: neither a host name (letters, digits, '-', '.') nor an IP address")
        result.append(x509.DNSName(name))
    return result


def init(directory: Path, names: list[str], *, force: bool = False, now: datetime | None = None) -> TlsFiles:
    """A new CA and a broker certificate for `names` (host names and IPs partners connect to)."""
    if not names:
        raise ValueError("name at least one host name or IP address of the broker's TLS listener")
    alternative_names = subject_alternative_names(names)  # before anything is written
    files = files_in(directory)
    if files.ca_key.exists() and not force:
        raise FileExistsError(f"{files.ca_key} exists: a new CA would invalidate what partners trust (use --force)")
    now = now or datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Cercle Kafka CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    broker_key = ec.generate_private_key(ec.SECP256R1())
    broker_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(ca_name)
        .public_key(broker_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=BROKER_DAYS))
        .add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    _write(files.ca_cert, ca_cert.public_bytes(pem))
    _write(
        files.ca_key,
        ca_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        private=True,
    )
    # Kafka's PEM keystore: an unencrypted PKCS#8 key (no ssl.key.password), then the chain, leaf first.
    _write(
        files.keystore,
        broker_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + broker_cert.public_bytes(pem)
        + ca_cert.public_bytes(pem),
        private=True,
    )
    _write(files.broker_cert, broker_cert.public_bytes(pem))
    return files


def describe(files: TlsFiles) -> dict[str, str]:
    cert = x509.load_pem_x509_certificate(files.broker_cert.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {
        "subject": cert.subject.rfc4514_string(),
        "names": ", ".join(str(n.value) for n in names),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "sha256": cert.fingerprint(hashes.SHA256()).hex(":"),
    }
