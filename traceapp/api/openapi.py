"""The OpenAPI 3 document, built from the API's routes and the marshmallow schemas that
each view declares with ``@operation``."""

from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask

from traceapp.api.idempotency import MAX_KEY
from traceapp.api.schemas import Error

ERROR_STATUSES = {400: "invalid input (names each field and its rule)", 401: "missing or unknown API token",
                  403: "the user's role or organization may not do this", 404: "no such record",
                  409: "conflict: duplicate, or Idempotency-Key reused with another body",
                  422: "refused by a domain rule", 429: "too many requests; Retry-After says when to try again"}
# What any operation can answer, whatever its view declares: every request may carry query
# parameters (one holding a NUL byte is refused) and must carry a bearer token.
ALWAYS = {400, 401}
_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


# Query text: any string but one holding a NUL byte (refused before any view runs: traceapp.params).
TEXT = {"type": "string", "pattern": "^[^\\u0000]*$"}


def integer(minimum: int, maximum: int) -> dict:
    """Return the schema of an integer query parameter read with ``params.int_arg`` and these bounds."""
    return {"type": "integer", "minimum": minimum, "maximum": maximum}


def operation(*, summary: str, response, status: int = 200, request=None, errors=(400, 401, 403),
              query: tuple[tuple, ...] = ()):
    """Describe a view for the OpenAPI document. ``query`` lists (name, schema, description[, required]):
    the schema a dict, or "string" (TEXT) or "integer"; parameters are optional unless required is True."""

    def mark(view):
        view.openapi = {"summary": summary, "response": response, "status": status, "request": request,
                        "errors": errors, "query": query}
        return view

    return mark


def _parameters(rule, doc) -> list[dict]:
    params = []
    for converter, name in _CONVERTER.findall(rule.rule):
        params.append({"name": name, "in": "path", "required": True,
                       "schema": {"type": "integer" if converter == "int" else "string"}})
    for name, kind, description, *required in doc["query"]:
        schema = TEXT if kind == "string" else {"type": kind} if isinstance(kind, str) else kind
        params.append({"name": name, "in": "query", "required": bool(required and required[0]),
                       "description": description, "schema": schema})
    return params


def build(app: Flask) -> dict:
    """Return the OpenAPI document of every documented route under /api/v1."""
    spec = APISpec(title="traceapp API", version="1", openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": "Producers, batches, inspections, certificates and 合格证. Every write is "
                                        "a ledger entry; see /ledger/ for proofs. Send Accept-Language: en for "
                                        "English messages. POST and PATCH requests may carry an "
                                        "Idempotency-Key header."},
                   servers=[{"url": "/api/v1"}])
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=Error)
    paths: dict[str, dict] = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        doc = getattr(view, "openapi", None)
        if doc is None or not rule.rule.startswith("/api/v1/"):
            continue
        path = _CONVERTER.sub(lambda m: "{" + m.group(2) + "}", rule.rule.removeprefix("/api/v1"))
        method = next(m for m in ("POST", "PATCH", "GET") if m in rule.methods).lower()
        op = {"summary": doc["summary"], "operationId": rule.endpoint.replace(".", "_"),
              "security": [{"bearer": []}], "parameters": _parameters(rule, doc),
              "responses": {str(doc["status"]): {"description": "OK",
                                                 "content": {"application/json": {"schema": doc["response"]}}}}}
        if doc["request"] is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": doc["request"]}}}
            op["parameters"].append({"name": "Idempotency-Key", "in": "header", "required": False,
                                     "description": "a retry with the same key and body gets the first answer",
                                     "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY,
                                                "pattern": "^[\\x20-\\x7e]+$"}})
        statuses = ALWAYS | set(doc["errors"]) | ({404} if "<" in rule.rule else set())
        if doc["request"] is not None:
            statuses.add(409)  # Idempotency-Key reused with another body
        for status in sorted(statuses):
            op["responses"][str(status)] = {"description": ERROR_STATUSES[status],
                                            "content": {"application/json": {"schema": "Error"}}}
        paths.setdefault(path, {})[method] = op
    for path in sorted(paths):
        spec.path(path=path, operations=paths[path])
    return spec.to_dict()



def document(app: Flask) -> dict:
    """Return the document, built once per app."""
    if "traceapp.openapi" not in app.extensions:
        app.extensions["traceapp.openapi"] = build(app)
    return app.extensions["traceapp.openapi"]
