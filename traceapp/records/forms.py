"""Turning submitted HTML forms into the dicts the services take, and running a form page:
on a domain error the form comes back with the message beside each field and nothing is written."""

from __future__ import annotations

from collections.abc import Callable

from flask import redirect, render_template, request

from traceapp import db
from traceapp.errors import Conflict, Rejected
from traceapp.validation import InvalidInput


def rows(form: dict, prefix: str, names: tuple[str, ...], count: int) -> list[dict]:
    """Return the non-empty rows ``prefix-N-name`` of a form as dicts."""
    found = []
    for n in range(count):
        row = {name: form.get(f"{prefix}-{n}-{name}", "").strip() for name in names}
        if any(row.values()):
            found.append(row)
    return found


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
            errors, message, status = exc.fields, exc.message, exc.status
        db.session().rollback()
    return render_template(template, values=values, errors=errors, message=message, **context), status
