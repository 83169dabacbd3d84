"""Pickers instead of codes: a cascading 省 → 市 → 县 region picker with type-ahead by name or pinyin,
an organization picker (name or 统一社会信用代码), and a brand picker listing the brands a producer may
claim today. The macros are in ``templates/_pickers.html``, the script in ``static/pickers.js``; they post
the stored value (a region code, an organization id, a brand slug), so services and the API are unchanged,
and :mod:`traceapp.pickers.resolve` accepts what a person types when the script does not run."""

from flask import Flask


def init_app(app: Flask) -> None:
    from traceapp.pickers import views
    from traceapp.records.models import PRODUCER_KINDS

    app.register_blueprint(views.bp)
    app.jinja_env.globals["picker_data"] = views.picker_data
    app.jinja_env.globals["producer_kinds"] = PRODUCER_KINDS
