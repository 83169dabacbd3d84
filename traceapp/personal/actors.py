"""Entries name a user by ``user:<id>``; the staff-facing projection rows keep the login name
(``registered_by`` and the like). The projection checks translate one into the other."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session


def actor_names(session: Session) -> Callable[[str | None], str | None]:
    """Return a function giving the login name that a projection row records for an entry's ``actor.user``:
    the user's name for ``user:<id>``, and the value itself for entries written before pseudonyms."""
    from traceapp.auth.models import User

    names: dict[str, str] = {}

    def name_of(actor_user: str | None) -> str | None:
        if not isinstance(actor_user, str) or not actor_user.startswith("user:"):
            return actor_user
        if not names:
            names.update((f"user:{i}", n) for i, n in session.execute(select(User.id, User.username)))
        return names.get(actor_user, actor_user)

    return name_of
