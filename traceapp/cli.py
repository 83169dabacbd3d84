"""``flask --app traceapp db upgrade`` (or ``init-db``) and ``seed-demo``."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from traceapp import db, migrations
from traceapp.ledger.continuity import SignerMismatch, check_signer


@click.group("db", cls=AppGroup, help="Create and migrate the database schema.")
def db_cli():
    pass


def _upgrade() -> None:
    migrations.upgrade(db.database().engine)
    _check_signer()
    with db.write_session() as session:
        note = db.ledger().sign_empty(session)
    click.echo(f"database at {_display_url()} is up to date")
    if note:
        click.echo("signed the empty ledger's first checkpoint")
    click.echo(f"ledger origin: {db.ledger().signer.name} (fixed by the first checkpoint)")
    click.echo(f"ledger key: {db.ledger().verifier.encode()}")


def _check_signer() -> None:
    """Take the stored ledger's origin; stop (exit 1) when this instance's key does not continue its
    checkpoints."""
    try:
        check_signer(db.ledger(), db.session())
    except SignerMismatch as exc:
        raise click.ClickException(str(exc)) from None


def _display_url() -> str:
    return db.database().engine.url.render_as_string(hide_password=True)


@db_cli.command("upgrade")
def upgrade_command():
    """Create or upgrade the schema; create the secret and ledger signing keys if missing."""
    _upgrade()


@db_cli.command("current")
def current_command():
    """Print the schema revision of the database."""
    migrations.current(db.database().engine)


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Same as ``db upgrade``."""
    _upgrade()


@click.command("seed-demo")
@with_appcontext
@click.option("--force", is_flag=True, help="load the demo data even if the ledger has entries")
def seed_demo_command(force: bool):
    """Load the demo data set when the ledger is empty."""
    from traceapp.demo import seed_demo

    _check_signer()
    with db.write_session() as session:
        count = seed_demo(session, db.ledger(), force=force)
    if count:
        click.echo(f"loaded the demo data set: {count} ledger entries")
    else:
        click.echo("the ledger already has entries; demo data not loaded (use --force to add it anyway)")
    click.echo(f"public URL: {current_app.config['TRACEAPP_PUBLIC_URL']}")
    from traceapp.demo import DEMO_PASSWORD, DEMO_USERS

    login = current_app.config["TRACEAPP_PUBLIC_URL"] + "/login"
    click.echo(f"demo accounts (password {DEMO_PASSWORD}), log in at {login}:")
    for username, role, _org in DEMO_USERS:
        click.echo(f"  {username:<10} {role}")


def init_app(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(init_db_command)
    app.cli.add_command(seed_demo_command)
