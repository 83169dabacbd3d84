"""``flask --app traceapp ledger …``: verify, export, consistency."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from traceapp import db
from traceapp.ledger import tree
from traceapp.ledger.bundle import write_bundle
from traceapp.ledger.note import NoteError, open_checkpoint
from traceapp.ledger.store import begin_snapshot, stream_checkpoints, stream_entries
from traceapp.ledger.verify import VerificationError


@click.group("ledger", cls=AppGroup, help="Audit the ledger: verify, export, consistency.")
def ledger_cli():
    pass


@ledger_cli.command("verify")
def verify_command():
    """Verify every entry, chain hash, tree root and checkpoint signature."""
    from traceapp.brands.projections import CHECKS as BRAND_CHECKS
    from traceapp.records.projections import differences

    with db.database().sessions() as session:
        begin_snapshot(session)
        try:
            summary = db.ledger().verify(session)
        except VerificationError as exc:
            click.echo(f"FAILED: {exc}", err=True)
            sys.exit(1)
        problems = differences(session) + [line for check in BRAND_CHECKS for line in check(session)]
    if problems:
        for line in problems:
            click.echo(f"FAILED: projection: {line}", err=True)
        sys.exit(1)
    click.echo(f"OK: {summary.line()}; projection tables match the entries")


@ledger_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def export_command(path: str):
    """Write the audit bundle (JSON lines; gzip when PATH ends in .gz)."""
    ledger = db.ledger()
    with db.database().sessions() as session:
        conn = begin_snapshot(session)
        latest = ledger.latest_checkpoint(conn)
        size = latest[0] if latest else 0
        checkpoints = list(stream_checkpoints(conn))
        entries = (row for row in stream_entries(conn) if row[0] < size)
        count = write_bundle(path, ledger.verifier, checkpoints, entries, size)
    click.echo(f"wrote {path}: {count} entries, {len(checkpoints)} checkpoints")


@ledger_cli.command("consistency")
@click.argument("old_checkpoint", type=click.File("r", encoding="utf-8"))
def consistency_command(old_checkpoint):
    """Prove a saved checkpoint consistent with the current one (RFC 6962)."""
    ledger = db.ledger()
    with db.database().sessions() as session:
        try:
            old = open_checkpoint(old_checkpoint.read(), ledger.verifier)
        except NoteError as exc:
            _fail(f"the saved checkpoint does not verify with this ledger's key: {exc}")
        latest = ledger.latest_checkpoint(session)
        new = open_checkpoint(latest[1], ledger.verifier) if latest else None
        if new is None or old.size > new.size:
            _fail(f"the saved checkpoint has size {old.size}, larger than the current tree "
                  f"({new.size if new else 0}): the log was truncated or the checkpoint is not from this log")
        if old.size == 0:
            proof_ok = old.root == tree.EMPTY_ROOT
        else:
            proof = ledger.consistency_proof(session, old.size, new.size)
            proof_ok = tree.verify_consistency(old.size, new.size, old.root, new.root, proof)
        if not proof_ok:
            _fail(f"SECURITY ALARM: the log was rewritten. Saved checkpoint size {old.size} root "
                  f"{old.root.hex()} is not a prefix of the current size {new.size} root {new.root.hex()}")
    click.echo(f"OK: checkpoint of size {old.size} is consistent with the current checkpoint of size {new.size}")


def _fail(message: str):
    click.echo(f"FAILED: {message}", err=True)
    sys.exit(1)
