"""Turning submitted HTML forms into the dicts the services take, and running a form page:
on a domain error the form comes back with the message beside each field and nothing is written."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import redirect, render_template, request

from traceapp import db
from traceapp.errors import Conflict, DomainError, Rejected
from traceapp.validation import InvalidInput


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


def form_page(template: str, save: Callable[[dict], str], *, defaults: dict | None = None, **context):
    """Show ``template``; on POST call ``save(form values)`` which writes through a service and
    returns where to go next. Invalid input re-renders the form (400) with inline errors."""
    values = dict(defaults or {})
    errors: dict[str, str] = {}
    message = None
    status = 200
    if request.method == "POST":
        values = request.form.to_dict()
        db.writing()
        try:
            target = save(values)
            db.session().commit()
            return redirect(target, code=303)
        except (InvalidInput, Conflict, Rejected) as exc:  # Forbidden and NotFound get the error page
            errors, message, status = exc.field_messages(), exc.message, exc.status
        db.session().rollback()
    return render_template(template, values=values, errors=errors, message=message, **context), status
