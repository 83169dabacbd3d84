"""The Flask class of traceapp, whose templates read dict keys before attributes.

Pages get their facts as plain dicts (the same dicts the JSON API returns), and ``{{ batch.product }}``
on a dict makes Jinja's default lookup try ``getattr`` first and raise AttributeError before it
reads the key. Reading the key first also keeps a fact named like a dict method (``items``,
``values``) from resolving to the method. ``Environment.getattr`` is Jinja's documented hook for this.
"""

from __future__ import annotations

from flask import Flask
from flask.templating import Environment


class DictFirstEnvironment(Environment):
    """``obj.name`` on a plain dict reads the key ``name`` first, then the attribute (a dict's own
    methods, e.g. ``.items()``, still resolve when there is no such key)."""

    def getattr(self, obj, attribute):
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


class TraceFlask(Flask):
    jinja_environment = DictFirstEnvironment
