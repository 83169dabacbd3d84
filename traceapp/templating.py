"""The Flask class of traceapp, whose templates read dict keys before attributes and call plain
functions directly.

Pages get their facts as plain dicts (the same dicts the JSON API returns), and ``{{ batch.product }}``
on a dict makes Jinja's default lookup try ``getattr`` first and raise AttributeError before it
reads the key: on the consumer page that was a fifth of the rendering time. And Jinja inspects
every function a template calls (does it want the context?) on every call; ``{{ _() }}`` and
``url_for`` are called dozens of times a page and never do.
"""

from __future__ import annotations

from flask import Flask
from flask.templating import Environment
from jinja2.runtime import Context


class PlainCallContext(Context):
    def call(__self, __obj, *args, **kwargs):  # noqa: N805 - Jinja's own signature, so no keyword clashes
        try:
            plain = __obj in __self.environment.plain_calls
        except TypeError:  # unhashable
            plain = False
        if plain:
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
            return __obj(*args, **kwargs)
        return Context.call(__self, __obj, *args, **kwargs)


class DictFirstEnvironment(Environment):
    """``obj.name`` on a plain dict reads the key ``name`` first, then the attribute (a dict's own
    methods, e.g. ``.items()``, still resolve when there is no such key)."""

    context_class = PlainCallContext

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.plain_calls: set = set()  # functions that take no Jinja context: called without inspection

    def getattr(self, obj, attribute):
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


class TraceFlask(Flask):
    jinja_environment = DictFirstEnvironment

    def create_jinja_environment(self):
        environment = super().create_jinja_environment()
        environment.plain_calls.add(self.url_for)
        return environment
