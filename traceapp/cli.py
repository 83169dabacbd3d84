"""``flask --app traceapp db upgrade`` (or ``init-db``) and ``seed-demo``."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from traceapp import db, migrations
from traceapp.ledger.continuity import SignerMismatch, check_signer
from traceapp.public import stored_pages


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


@db_cli.command("consumer-pages")
@click.option("--check", is_flag=True, help="Only list the stored pages that differ from a page rendered now "
                                            "(exit status 1 when there are any).")
@click.option("--rebuild", is_flag=True, help="Render every page again, not only those without a servable one.")
@click.option("--lang", "languages", multiple=True, type=click.Choice(stored_pages.LANGUAGES),
              help="Only this language (repeatable; default: all).")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes rendering pages; more than 1 takes the app the environment configures.")
def consumer_pages_command(check: bool, rebuild: bool, languages: tuple[str, ...], jobs: int):
    """Build ahead the consumer pages served from storage (those not built yet, or stale by date or
    by release), after a bulk import or an upgrade; with --check, find the stored pages that
    differ from their rows (rows changed outside the services)."""
    app = current_app._get_current_object()
    if check:
        found = stored_pages.stale(app)
        if found:
            shown = ", ".join(f"{code} ({lang})" for code, lang in found[:20]) + (", …" if len(found) > 20 else "")
            raise click.ClickException(f"{len(found)} stored consumer pages differ from their rows: {shown}; "
                                       "run `flask db consumer-pages --rebuild` to render them again")
        click.echo("every stored consumer page matches its rows")
        return
    languages = languages or stored_pages.LANGUAGES
    if jobs > 1:
        count = stored_pages.build_in_processes(jobs, languages, rebuild)
    else:
        count = stored_pages.build(app, languages, rebuild=rebuild)
    click.echo(f"stored {count} consumer pages")


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
