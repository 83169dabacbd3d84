"""Domain errors and the one handler that answers them: JSON under /api/ and /ledger/,
an HTML page elsewhere. Nothing here lets an exception become a bare 500 page with a
traceback; unexpected errors are logged and answered with a generic message."""

from __future__ import annotations

import re

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from traceapp.i18n import lazy_gettext as _l

JSON_PREFIXES = ("/api/", "/ledger/")
# A value of ``fields`` that is a machine code ("over_cap", "duplicate") rather than a sentence: clients
# branch on it, people read the error's message instead.
FIELD_CODE = re.compile(r"[a-z][a-z0-9_]*")


class DomainError(Exception):
    """A request the domain refuses; ``status`` is its HTTP status."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}

    def field_messages(self) -> dict[str, str]:
        """Return what a person reads beside each field: its sentence, or the error's message where
        ``fields`` holds a code for clients."""
        return field_messages(self.message, self.fields)


def field_messages(message: str, fields: dict) -> dict[str, str]:
    """Return ``fields`` with every machine code replaced by ``message``, for a page."""
    return {name: (str(message) if FIELD_CODE.fullmatch(str(text)) else text) for name, text in fields.items()}


class InvalidField(DomainError):
    """One field breaks a rule; the message names the field and the rule."""

    code = "invalid_field"

    def __init__(self, field: str, message: str):
        super().__init__(message, {field: message})


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Rejected(DomainError):
    status = 422
    code = "rejected"


def wants_json() -> bool:
    return request.path.startswith(JSON_PREFIXES) or request.path.endswith(".json")


def error_response(status: int, code: str, message: str, fields: dict | None = None):
    if wants_json():
        body = {"error": {"code": code, "message": str(message), "fields": fields or {}}}
        return jsonify(body), status
    shown = [text for text in dict.fromkeys(field_messages(message, fields or {}).values()) if text != str(message)]
    return render_template("error.html", status=status, message=message, details=shown), status


HTTP_MESSAGES = {
    404: ("not_found", _l("没有找到这个地址。")),
    405: ("method_not_allowed", _l("这个地址不接受这种请求方法。")),
    400: ("bad_request", _l("请求有误。")),
}
# What a scanned code that matches nothing gets: never a hint about codes that do exist.
TRACE_NOT_FOUND = _l("没有找到这个追溯码。请核对包装上的码是否完整，或向销售者咨询。")


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        return *error_response(exc.status, exc.code, exc.message, exc.fields), getattr(exc, "headers", {})

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        return error_response(400, "csrf_failed", str(_l("表单已过期或缺少安全令牌（CSRF），请刷新页面后重新提交。")),
                              {"csrf_token": exc.description})

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        code, message = HTTP_MESSAGES.get(exc.code or 500, ("http_error", exc.description))
        if exc.code == 404 and request.path.startswith("/t/"):
            message = TRACE_NOT_FOUND
        # The exception's own headers are part of its meaning: a 405 must say what is allowed (RFC 9110
        # 15.5.6), a 401 how to authenticate. Only the body (and so its type) is ours.
        headers = [(name, value) for name, value in exc.get_headers() if name.lower() != "content-type"]
        return *error_response(exc.code or 500, code, str(message)), headers

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("unhandled error on %s", request.path)
        return error_response(500, "internal_error", str(_l("服务器内部错误，请稍后再试。")))


class TooManyRequests(DomainError):
    """Too many requests from one client; ``retry_after`` seconds until it may try again (RFC 6585)."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}
