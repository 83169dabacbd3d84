"""Organizations, batches, inspections, certifications: models, services, views."""

from flask import Flask

from traceapp import clock
from traceapp.numbers import format_quantity


def init_app(app: Flask) -> None:
    from traceapp.records import guard, labels, views

    guard.install(app.extensions["traceapp.db"].sessions)
    app.register_blueprint(views.bp)
    from traceapp.records.code_state_views import bp as code_states_bp
    app.register_blueprint(code_states_bp)
    from traceapp.records.label_views import bp as label_sheets_bp
    app.register_blueprint(label_sheets_bp)
    from traceapp.records.recall_views import bp as recalls_bp
    app.register_blueprint(recalls_bp)
    from traceapp.records.transfer_views import bp as transfers_bp
    app.register_blueprint(transfers_bp)
    app.context_processor(lambda: {"labels": labels.translated_labels()})
    app.jinja_env.globals["region_name"] = _region_name
    app.jinja_env.filters["pair"] = _pair
    app.jinja_env.filters["local_date"] = clock.local_date
    app.jinja_env.filters["local_time"] = clock.local_time
    app.jinja_env.filters["quantity"] = format_quantity
    app.jinja_env.filters["org_option"] = lambda org: (str(org.id), org.name)
    app.jinja_env.filters["inspection_option"] = lambda i: (
        str(i.id), f"{i.report_no} · {i.inspected_on} · {labels.VERDICT[i.verdict]}")


def _pair(value: str, table: dict | None = None) -> tuple[str, str]:
    """Return (value, its label) for a <select> option."""
    return value, (table or {}).get(value, value)


def _region_name(code: str) -> str:
    from traceapp.records import regions

    return regions.full_name(code)
