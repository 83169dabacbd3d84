"""Does this app's signer continue the stored ledger? Its newest checkpoint must verify with the
app's key.

The origin (the key's name) is not a setting that can disagree with the database: it is chosen once,
when the first checkpoint is signed (``TRACEAPP_LEDGER_ORIGIN``, by default the public URL's host +
``/ledger``), and read from the stored checkpoints afterwards (``Ledger.adopt_stored_origin``). So
serving an instance under another host or port changes its links and QR codes, not its origin, and
earlier checkpoints keep verifying. Only another key cannot continue the ledger: the CLI and the WSGI
entry point (``db.check_app_signer``) refuse it, saying which instance folder to use. No Flask here:
the ledger package stays pure.
"""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from traceapp.ledger.note import NoteError, open_checkpoint
from traceapp.ledger.store import Ledger


class SignerMismatch(RuntimeError):
    """The app would sign checkpoints that do not continue the stored ledger's."""


def check_signer(ledger: Ledger, conn: Connection | Session) -> None:
    """Take the stored ledger's origin for ``ledger``'s signer; raise SignerMismatch, saying why and
    what to use, when the newest stored checkpoint does not verify with its key. Return quietly for a
    ledger without checkpoints."""
    if ledger.adopt_stored_origin(conn) is None:
        return
    size, note = ledger.latest_checkpoint(conn)
    try:
        open_checkpoint(note, ledger.verifier)
    except NoteError:
        raise SignerMismatch(
            f"the ledger's newest checkpoint (size {size:,}) is not signed by this instance's key "
            f"({ledger.verifier.encode()}): the instance folder's ledger key is not the one that signed this database. "
            "Use the instance folder that belongs to this database (TRACEAPP_INSTANCE_PATH).") from None
