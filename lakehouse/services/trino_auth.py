"""Per-installation credentials of the local Trino: TLS certificate, users' passwords, shared secret.

Generated at first use under `<trino.state_dir>/auth/` (owner-only), never in the repository:

    tls.pem          private key + self-signed certificate for 127.0.0.1/localhost (Trino's keystore)
    ca.pem           the certificate alone: what clients verify the server against
    password.db      `user:bcrypt-hash` lines for Trino's file password authenticator
    credentials.json user → password, for the local CLI, tests and Superset's connections;
                     `LAKEHOUSE_TRINO_PASSWORD_<USER>` in the environment wins (production)
    shared_secret    Trino's internal-communication secret (required with authentication)

Users come from conf/access.yaml; a user added there gets a password at the next start,
existing passwords are kept.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import secrets
import warnings
from pathlib import Path

from lakehouse.access import Access

BCRYPT_COST = 10  # Trino requires >= 8


def auth_dir(state_dir: Path) -> Path:
    folder = state_dir / "auth"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    return folder


def _write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """Write `text` to a file only the owner can read (created 600, then replaced atomically)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)


def ensure_tls(state_dir: Path, host: str) -> tuple[Path, Path]:
    """(keystore PEM, CA PEM): a self-signed certificate for `host`, created once."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = auth_dir(state_dir)
    keystore, ca = folder / "tls.pem", folder / "ca.pem"
    if keystore.exists() and ca.exists():
        return keystore, ca
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lakehouse-trino")])
    alt: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    try:
        if ipaddress.ip_address(host) != ipaddress.ip_address("127.0.0.1"):
            alt.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        if host != "localhost":
            alt.append(x509.DNSName(host))
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    _write_private(keystore, key_pem + cert_pem)
    _write_private(ca, cert_pem, mode=0o640)  # the public half: group-readable for clients
    return keystore, ca


def bcrypt_hash(password: str) -> str:
    """A `$2y$` bcrypt hash as Trino's password file wants it.

    Python 3.11's crypt module (libxcrypt) computes bcrypt without another dependency; it is
    deprecated (gone in 3.13), when the project moves on, the `bcrypt` package replaces it.
    $2b$ and $2y$ are the same algorithm; Trino accepts the latter prefix only.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=2**BCRYPT_COST))
    if not hashed or not hashed.startswith("$2b$"):
        raise RuntimeError("this system's crypt() cannot compute bcrypt hashes")
    return "$2y$" + hashed[4:]


def _env_name(user: str) -> str:
    return "LAKEHOUSE_TRINO_PASSWORD_" + user.upper()


def ensure_passwords(state_dir: Path, access: Access) -> Path:
    """Create missing users' passwords and (re)write password.db; returns password.db."""
    folder = auth_dir(state_dir)
    creds_file, db = folder / "credentials.json", folder / "password.db"
    creds: dict[str, str] = json.loads(creds_file.read_text()) if creds_file.exists() else {}
    hashes: dict[str, str] = {}
    if db.exists():
        hashes = dict(line.split(":", 1) for line in db.read_text().splitlines() if ":" in line)
    users = access.users()
    changed = False
    for user in users:
        wanted = os.environ.get(_env_name(user)) or creds.get(user) or secrets.token_urlsafe(24)
        if creds.get(user) != wanted or user not in hashes:
            creds[user] = wanted
            hashes[user] = bcrypt_hash(wanted)
            changed = True
    stale = set(hashes) - set(users)  # a user removed from conf/access.yaml can no longer log in
    changed = changed or bool(stale) or not db.exists()
    if changed:
        _write_private(creds_file, json.dumps({u: creds[u] for u in users}, indent=1))
        _write_private(db, "".join(f"{u}:{hashes[u]}\n" for u in users))
    return db


def password(state_dir: Path, user: str) -> str:
    """The password of `user`: the environment's LAKEHOUSE_TRINO_PASSWORD_<USER>, else the local file."""
    if os.environ.get(_env_name(user)):
        return os.environ[_env_name(user)]
    creds_file = state_dir / "auth" / "credentials.json"
    if not creds_file.exists():
        raise RuntimeError(f"no Trino credentials in {creds_file}: `lakehouse trino start` creates them")
    creds = json.loads(creds_file.read_text())
    if user not in creds:
        raise RuntimeError(f"Trino user {user!r} is not in conf/access.yaml")
    return str(creds[user])


def shared_secret(state_dir: Path) -> str:
    """Trino's internal-communication secret (required once authentication is on), created once."""
    path = auth_dir(state_dir) / "shared_secret"
    if not path.exists():
        _write_private(path, secrets.token_urlsafe(48))
    return path.read_text().strip()
