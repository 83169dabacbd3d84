"""Does this app's signer continue the stored ledger? Its newest checkpoint must verify with the
app's key under the app's origin (the key's name).

The origin defaults to the public URL's host, so serving an instance under another host or port
(``make run PORT=8080``, a move to https://) would otherwise sign new checkpoints under a new key
name, and every earlier checkpoint would stop verifying for anyone who holds the new key. The CLI
and the WSGI entry point (``db.check_app_signer``) refuse to go on instead, saying how to keep the
ledger's origin. No Flask here: the ledger package stays pure.
"""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from traceapp.ledger.note import NoteError, open_checkpoint
from traceapp.ledger.store import Ledger, parse_checkpoint


class SignerMismatch(RuntimeError):
    """The app would sign checkpoints that do not continue the stored ledger's."""


def check_signer(ledger: Ledger, conn: Connection | Session) -> None:
    """Raise SignerMismatch, saying why and what to set, when the newest stored checkpoint does not
    verify with ``ledger``'s key and origin; return quietly for a ledger without checkpoints."""
    latest = ledger.latest_checkpoint(conn)
    if latest is None:
        return
    size, note = latest
    try:
        open_checkpoint(note, ledger.verifier)
    except NoteError:
        pass
    else:
        return
    stored = parse_checkpoint(note).origin
    configured = ledger.signer.name
    if stored != configured:
        raise SignerMismatch(
            f"the ledger's checkpoints are signed under the origin {stored!r}, but this configuration gives "
            f"{configured!r} (TRACEAPP_LEDGER_ORIGIN, by default the host of TRACEAPP_PUBLIC_URL + /ledger). "
            f"A new origin is a new key name: the {size:,} entries' checkpoints would no longer verify. "
            f"Set TRACEAPP_LEDGER_ORIGIN={stored} to keep the ledger's origin (TRACEAPP_PUBLIC_URL may still change).")
    raise SignerMismatch(
        f"the ledger's newest checkpoint (size {size:,}) is not signed by this instance's key "
        f"({ledger.verifier.encode()}): the instance folder's ledger key is not the one that signed this database. "
        "Use the instance folder that belongs to this database (TRACEAPP_INSTANCE_PATH).")
