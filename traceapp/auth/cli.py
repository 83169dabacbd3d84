"""``flask --app traceapp users create NAME --role ROLE [--org ID] [--password-stdin]`` and
``users token NAME`` and ``users password NAME [--password-stdin]``."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from traceapp import db
from traceapp.auth import services
from traceapp.auth.models import ROLES
from traceapp.errors import DomainError


@click.group("users", cls=AppGroup, help="Create users and API tokens.")
def users_cli():
    pass


@users_cli.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--org", "org_id", type=int, help="the organization id the user belongs to")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def create_command(name: str, role: str, org_id: int | None, password_stdin: bool):
    """Create a user. Without --password-stdin, asks for a password on a terminal; a user
    created without one can only use API tokens."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        password = None
    try:
        with db.write_session() as session:
            user = services.create_user(session, name, role, org_id, password)
    except DomainError as exc:
        detail = " ".join(dict.fromkeys(exc.field_messages().values())) or exc.message
        click.echo(f"error: {detail}", err=True)
        sys.exit(1)
    click.echo(f"created user {user.username} (role {user.role}, org {user.organization_id or '-'})"
               + ("" if password else "; no password: API tokens only"))


@users_cli.command("token")
@click.argument("name")
def token_command(name: str):
    """Print a new API token for the user (shown once; only its hash is stored)."""
    try:
        with db.write_session() as session:
            token = services.issue_token(session, name)
    except DomainError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
    click.echo(token)


@users_cli.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="read the new password from standard input")
def password_command(name: str, password_stdin: bool):
    """Set a user's password (asked on a terminal without --password-stdin). Ends every session
    the user has signed in; their API tokens keep working."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("new password", hide_input=True, confirmation_prompt=True)
    try:
        with db.write_session() as session:
            user = services.set_password(session, name, password)
    except DomainError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"password of {user.username} set; their sessions are ended")
