"""Turning submitted HTML forms into the dicts the services take, and running a form page:
on a domain error the form comes back with the message beside each field and nothing is written;
after a write the next page says what was done; an irreversible or public write asks first."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import flash, redirect, render_template, request

from traceapp import db
from traceapp.errors import Conflict, DomainError, Rejected
from traceapp.validation import InvalidInput

# The hidden field of a confirmation page. Without it such a write only shows what it would do.
CONFIRM_FIELD = "confirm"


def rows(form: dict, prefix: str, names: tuple[str, ...], count: int) -> list[dict]:
    """Return the non-empty rows ``prefix-N-name`` of a form as dicts."""
    return [row for _n, row in numbered_rows(form, prefix, names, count)]


def numbered_rows(form: dict, prefix: str, names: tuple[str, ...], count: int) -> list[tuple[int, dict]]:
    """Return the non-empty rows ``prefix-N-name`` of a form, each with its row number N on the form."""
    found = []
    for n in range(count):
        row = {name: form.get(f"{prefix}-{n}-{name}", "").strip() for name in names}
        if any(row.values()):
            found.append((n, row))
    return found


@contextmanager
def rows_on_form(prefix: str, numbers: list[int], whole: str) -> Iterator[None]:
    """Name the errors of the service's list ``prefix`` by the form's inputs: ``prefix[i].name`` becomes
    ``prefix-N-name`` (N the form row the i-th list item came from, empty rows being skipped), and an error
    about a whole item goes beside its ``whole`` input, so each message stands beside what it is about."""
    try:
        yield
    except DomainError as exc:
        path = re.compile(rf"{re.escape(prefix)}\[([0-9]+)\](?:\.(.+))?")
        renamed = {}
        for key, text in exc.fields.items():
            found = path.fullmatch(key)
            if found and int(found.group(1)) < len(numbers):
                key = f"{prefix}-{numbers[int(found.group(1))]}-{found.group(2) or whole}"
            renamed.setdefault(key, text)
        exc.fields = renamed
        raise


def done(message: str) -> None:
    """Show ``message`` (already in the user's language) as a notice on the next page shown."""
    flash(message, "success")


def form_page(template: str, save: Callable[[dict], str], *, defaults: dict | None = None,
              saved: str | Callable[[], str] | None = None,
              confirm: Confirmation | Callable[[dict], Confirmation] | None = None, **context):
    """Show ``template``; on POST call ``save(form values)`` which writes through a service and
    returns where to go next. Invalid input re-renders the form (400) with inline errors.

    ``saved`` is the notice the next page shows (a callable is called after the save). With
    ``confirm``, a POST without the confirmation field runs ``save`` and rolls it back, so the
    same checks answer, and shows a page that says what will happen; only its form writes. A callable
    ``confirm`` is given the form's values once they passed those checks, to name what they will do."""
    values = dict(defaults or {})
    errors: dict[str, str] = {}
    message = None
    status = 200
    if request.method == "POST":
        values = request.form.to_dict()
        confirmed = confirm is None or values.pop(CONFIRM_FIELD, "") == "1"
        db.writing()
        try:
            target = save(values)
            if not confirmed:
                db.session().rollback()
                return _confirmation_page(confirm(values) if callable(confirm) else confirm, values)
            db.session().commit()
            if saved is not None:
                done(saved() if callable(saved) else saved)
            return redirect(target, code=303)
        except (InvalidInput, Conflict, Rejected) as exc:  # Forbidden and NotFound get the error page
            errors, message, status = exc.field_messages(), exc.message, exc.status
        db.session().rollback()
    return render_template(template, values=values, errors=errors, message=message, **context), status


class Confirmation:
    """What a confirmation page says: a title, the consequence in a sentence, the button's words, and
    where "cancel" goes back to."""

    def __init__(self, title: str, consequence: str, button: str, back: str):
        self.title, self.consequence, self.button, self.back = title, consequence, button, back


def _confirmation_page(confirm: Confirmation, values: dict):
    kept = {k: v for k, v in values.items() if k != "csrf_token"}
    return render_template("confirm.html", confirm=confirm, values=kept, confirm_field=CONFIRM_FIELD)
