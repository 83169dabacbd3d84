"""``flask --app traceapp personal-data erase SUBJECT --reason TEXT``."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from traceapp import db
from traceapp.errors import DomainError
from traceapp.personal.services import erase, scrub_files


class _Operator:
    """Whoever runs the command on the server: an admin, named in the entry as a system job."""

    role = "admin"

    @staticmethod
    def actor() -> dict:
        return {"user": "system:cli", "org": None}


@click.group("personal-data", cls=AppGroup, help="Personal data kept off the ledger: erase it.")
def personal_data_cli():
    pass


@personal_data_cli.command("erase")
@click.argument("subject")
@click.option("--reason", required=True, help="why (goes into the erasure entry; never the values)")
def erase_command(subject: str, reason: str):
    """Erase the personal data of a record (SUBJECT: org:<id> or compliance_certificate:<code>)."""
    try:
        with db.write_session() as session:
            seq, rows = erase(session, {"subject": subject, "reason": reason}, user=_Operator())
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    scrub_files(db.database().engine)
    fields = ", ".join(sorted({row.path for row in rows}))
    click.echo(f"erased {fields} of {subject} ({len(rows)} fields) in entry {seq}")
