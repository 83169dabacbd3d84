"""The ledger's Ed25519 signing key, kept in the instance folder (PKCS#8 PEM, mode 0600)."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from traceapp.instance_files import read_or_create
from traceapp.ledger.note import Signer

KEY_FILE = "ledger-signing-key.pem"


def _new_key_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def load_signer(instance_path: str, origin: str) -> Signer:
    """Return the ledger signer named ``origin``, creating its key file if missing."""
    pem = read_or_create(Path(instance_path) / KEY_FILE, _new_key_pem)
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise RuntimeError(f"{KEY_FILE} does not hold an Ed25519 private key")
    return Signer(origin, key)
