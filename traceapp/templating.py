"""The Flask class of traceapp, whose templates read dict keys before attributes and call plain
functions directly, and which keeps the relative URLs it builds in requests.

Pages get their facts as plain dicts (the same dicts the JSON API returns), and ``{{ batch.product }}``
on a dict makes Jinja's default lookup try ``getattr`` first and raise AttributeError before it
reads the key: on the consumer page that was a fifth of the rendering time. And Jinja inspects
every function a template calls (does it want the context?) on every call; ``{{ _() }}`` and
``url_for`` are called dozens of times a page and never do. Building a URL costs as much as
rendering a table row, and a page builds a dozen, mostly the same ones (the navigation, the
stylesheet, a brand's page).
"""

from __future__ import annotations

import functools

from flask import Flask, has_request_context, request
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
    url_memo_size = 4096  # relative URLs kept (per app)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._relative_url = functools.lru_cache(maxsize=self.url_memo_size)(self._build_relative_url)

    def url_for(self, endpoint: str, /, *, _anchor: str | None = None, _method: str | None = None,
                _scheme: str | None = None, _external: bool | None = None, **values) -> str:
        """Flask's ``url_for``; a relative URL built in a request (no ``_`` options, an absolute endpoint)
        is kept, by the request's root path, endpoint and values. Nothing here changes URLs per request
        (no URL defaults, subdomains or host matching), so a kept URL is the one Flask would build."""
        if (_anchor is None and _method is None and _scheme is None and not _external and endpoint[:1] != "."
                and has_request_context()):
            key = (request.script_root, endpoint, *sorted(values.items()))
            try:
                return self._relative_url(key)
            except TypeError:  # an unhashable value (a list of query arguments): build it each time
                pass
        return super().url_for(endpoint, _anchor=_anchor, _method=_method, _scheme=_scheme, _external=_external,
                               **values)

    def _build_relative_url(self, key: tuple) -> str:
        _root, endpoint, *items = key
        return super().url_for(endpoint, **dict(items))

    def create_jinja_environment(self):
        environment = super().create_jinja_environment()
        environment.plain_calls.add(self.url_for)
        return environment
