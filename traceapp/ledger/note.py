"""C2SP signed notes with Ed25519, verifier keys, and tlog checkpoints.

Formats:
- signed note: https://c2sp.org/signed-note (the text, a blank line, then one line per
  signature: U+2014 EM DASH, space, key name, space, base64(key ID || signature));
- verifier key: ``<name>+<hex key ID>+<base64(0x01 || Ed25519 public key)>``, where the
  key ID is SHA-256(name || 0x0A || 0x01 || public key)[:4] (signed-note, "Signatures");
- checkpoint: https://c2sp.org/tlog-checkpoint (origin line, decimal tree size, base64
  root hash, optional extension lines, each ending in a newline).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALG_ED25519 = 0x01
_SIG_PREFIX = "\u2014 "
_MAX_SIGNATURES = 100  # the limit golang.org/x/mod/sumdb/note applies


class NoteError(ValueError):
    """Raised for a malformed note, key or checkpoint, or a signature that does not verify."""


def valid_key_name(name: str) -> bool:
    """Return whether ``name`` can name a key: non-empty, no '+', no whitespace (signed-note)."""
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def key_id(name: str, public_key: bytes) -> bytes:
    """Return the 4-byte key ID of an Ed25519 key: SHA-256(name || 0x0A || 0x01 || key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    """An Ed25519 note verifier key with its name."""

    name: str
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    def encode(self) -> str:
        """Return the key in verifier-key text form ``name+hexid+base64(0x01||key)``."""
        blob = base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{blob}"

    @classmethod
    def parse(cls, text: str) -> Verifier:
        """Parse verifier-key text; raises NoteError when it is malformed or not Ed25519."""
        parts = text.strip().split("+", 2)  # base64 may itself contain '+'
        if len(parts) != 3:
            raise NoteError("malformed verifier key: want name+keyid+key")
        name, id_hex, blob = parts
        if not valid_key_name(name) or len(id_hex) != 8:
            raise NoteError("malformed verifier key: bad name or key ID")
        try:
            raw = base64.b64decode(blob, validate=True)
            kid = bytes.fromhex(id_hex)
        except (binascii.Error, ValueError) as exc:
            raise NoteError("malformed verifier key: bad encoding") from exc
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteError("verifier key is not an Ed25519 key")
        verifier = cls(name, raw[1:])
        if verifier.key_id != kid:
            raise NoteError("verifier key ID does not match its name and key")
        return verifier

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Return whether ``signature`` is this key's Ed25519 signature of ``message``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


class Signer:
    """An Ed25519 note signer: a private key and the name it signs under."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey):
        if not valid_key_name(name):
            raise NoteError(f"invalid key name {name!r}: no '+' or whitespace allowed")
        self.name = name
        self._key = private_key
        public = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.verifier = Verifier(name, public)

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> Signer:
        """Return the signer whose Ed25519 private key has the 32-byte ``seed``."""
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed))

    def renamed(self, name: str) -> Signer:
        """Return a signer with the same private key that signs under ``name``."""
        return Signer(name, self._key)

    def sign(self, text: str) -> str:
        """Return the signed note of ``text`` (which must end in a newline)."""
        check_text(text)
        sig = self._key.sign(text.encode())
        line = base64.b64encode(self.verifier.key_id + sig).decode()
        return f"{text}\n{_SIG_PREFIX}{self.name} {line}\n"


def check_text(text: str) -> None:
    """Raise NoteError unless ``text`` is valid note text (signed-note, "Note text")."""
    if not text.endswith("\n"):
        raise NoteError("note text must end in a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("note text must not contain control characters")


@dataclass(frozen=True)
class Signature:
    """One signature line of a note."""

    name: str
    key_id: bytes
    signature: bytes


def parse_note(note: str) -> tuple[str, list[Signature]]:
    """Split a signed note into its text and signature lines; raises NoteError if malformed."""
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise NoteError("malformed note: control characters")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("malformed note: no blank line before the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        raise NoteError("malformed note: signatures must end in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise NoteError("malformed note: too many signatures")
    signatures = []
    for line in lines:
        if not line.startswith(_SIG_PREFIX):
            raise NoteError("malformed note: signature line must start with an em dash")
        name, space, blob = line[len(_SIG_PREFIX) :].partition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise NoteError("malformed note: signature is not base64") from exc
        if not space or not valid_key_name(name) or len(raw) < 5:
            raise NoteError("malformed note: bad signature line")
        signatures.append(Signature(name, raw[:4], raw[4:]))
    return text, signatures


def open_note(note: str, verifiers: list[Verifier]) -> tuple[str, list[Verifier]]:
    """Return the note's text and the known verifiers whose signatures on it are valid.

    Signatures by unknown keys are ignored, like Go's note.Open. Raises NoteError when the
    note is malformed, when a known key's signature is invalid, or when no known key signed.
    """
    text, signatures = parse_note(note)
    known = {(v.name, v.key_id): v for v in verifiers}
    verified: list[Verifier] = []
    for sig in signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        if not verifier.verify(text.encode(), sig.signature):
            raise NoteError(f"invalid signature by key {sig.name}+{sig.key_id.hex()}")
        if verifier not in verified:
            verified.append(verifier)
    if not verified:
        raise NoteError("note has no signature by a known key")
    return text, verified


@dataclass(frozen=True)
class Checkpoint:
    """A tlog checkpoint: origin, tree size and root hash (plus any extension lines)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        """Return the checkpoint body as note text."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse checkpoint text; raises NoteError when it is malformed."""
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError("malformed checkpoint: want origin, size and root hash lines")
        origin, size, root_b64, *ext = lines[:-1]
        if not origin:
            raise NoteError("malformed checkpoint: empty origin")
        if not size.isascii() or not size.isdigit() or (size != "0" and size.startswith("0")):
            raise NoteError("malformed checkpoint: tree size is not a decimal number")
        try:
            root = base64.b64decode(root_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise NoteError("malformed checkpoint: root hash is not base64") from exc
        if len(root) != 32:
            raise NoteError("malformed checkpoint: root hash is not 32 bytes")
        if any(line == "" for line in ext):
            raise NoteError("malformed checkpoint: empty extension line")
        return cls(origin, int(size), root, tuple(ext))


def sign_checkpoint(signer: Signer, size: int, root: bytes) -> str:
    """Return the signed note of the checkpoint (signer's name as origin, size, root)."""
    return signer.sign(Checkpoint(signer.name, size, root).text())


def open_checkpoint(note: str, verifier: Verifier) -> Checkpoint:
    """Verify a signed checkpoint note with ``verifier`` and return the checkpoint.

    Raises NoteError when the note is malformed, not signed by the key, or its origin is
    not the key's name.
    """
    text, _ = open_note(note, [verifier])
    checkpoint = Checkpoint.parse(text)
    if checkpoint.origin != verifier.name:
        raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not the key name {verifier.name!r}")
    return checkpoint
