"""``flask --app traceapp ledger …``: verify, export, consistency."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from traceapp import db
from traceapp.audit.consistency import MAX_NOTE, check_consistency
from traceapp.audit.verification import verify_everything
from traceapp.ledger.bundle import write_bundle
from traceapp.ledger.commitments import write_reveals
from traceapp.ledger.store import begin_snapshot, stream_checkpoints, stream_entries
from traceapp.personal.services import all_reveals


@click.group("ledger", cls=AppGroup, help="Audit the ledger: verify, export, consistency.")
def ledger_cli():
    pass


@ledger_cli.command("verify")
def verify_command():
    """Verify every entry, chain hash, tree root and checkpoint signature, every stored tree hash
    (recomputed from the entries: proofs are served from them), then the projection tables."""
    with db.database().sessions() as session:
        begin_snapshot(session)
        report = verify_everything(session, db.ledger())
    if not report.ok:
        for line in report.problems:
            click.echo(f"FAILED: {line}", err=True)
        sys.exit(1)
    click.echo(f"OK: {report.summary.line()}; every personal data commitment matches its reveal or its erasure; "
               "projection tables match the entries")
    click.echo(f"personal data in clear text: {report.clear_text} entries (written before personal data became "
               "commitments; the log keeps them)")


@ledger_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.option("--personal-data", "reveals_path", type=click.Path(dir_okay=False, writable=True),
              help="also write the reveals of the personal data (salts and clear values) to this file; "
                   "it holds personal data: give it only to whom the law allows")
def export_command(path: str, reveals_path: str | None):
    """Write the audit bundle (JSON lines; gzip when PATH ends in .gz). It carries personal data as
    commitments only; --personal-data writes their reveals to a separate file."""
    ledger = db.ledger()
    with db.database().sessions() as session:
        conn = begin_snapshot(session)
        latest = ledger.latest_checkpoint(conn)
        size = latest[0] if latest else 0
        checkpoints = list(stream_checkpoints(conn))
        entries = (row for row in stream_entries(conn) if row[0] < size)
        count = write_bundle(path, ledger.verifier, checkpoints, entries, size)
        if reveals_path:
            fields = write_reveals(reveals_path, ledger.verifier.name, size, all_reveals(session, upto=size))
    click.echo(f"wrote {path}: {count} entries, {len(checkpoints)} checkpoints")
    if reveals_path:
        click.echo(f"wrote {reveals_path}: the reveals of {fields} personal data fields")


@ledger_cli.command("consistency")
@click.argument("old_checkpoint", type=click.File("r", encoding="utf-8"))
def consistency_command(old_checkpoint):
    """Prove a saved checkpoint consistent with the current one (RFC 6962)."""
    with db.database().sessions() as session:
        try:
            found = check_consistency(session, db.ledger(), old_checkpoint.read(MAX_NOTE + 1))
        except LookupError as exc:
            _fail(str(exc))
        except UnicodeDecodeError:
            _fail("the saved checkpoint is not UTF-8 text")
    if not found.consistent:
        _fail(found.describe())
    click.echo(f"OK: {found.describe()}")


def _fail(message: str):
    click.echo(f"FAILED: {message}", err=True)
    sys.exit(1)
