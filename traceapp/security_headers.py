"""The security headers every response carries, and the rule that a signed-in viewer's response is
never stored by a shared cache.

- ``Content-Security-Policy``: scripts, styles, images, fonts and connections from the app's own
  origin only (W3C CSP Level 3); no inline script anywhere, so the pages load their scripts from
  ``static/``, and no one may frame a page (``frame-ancestors 'none'``, with ``X-Frame-Options: DENY``
  for browsers that predate it). A page whose styles are computed per request (a label sheet's
  millimetre geometry, a 合格证's paper size) puts them in a ``<style nonce="{{ style_nonce() }}">``;
  the nonce then joins ``style-src`` for that response only. A page that is kept rendered (the
  consumer page, the page cache's brand pages) must not use it: a stored nonce would be stale.
- ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: strict-origin-when-cross-origin``.
- ``Cache-Control``: a response to a signed-in viewer that says ``public`` (a brand page carries the
  viewer's name and a CSRF token) becomes ``private, no-store``; images and static files, the same for
  everyone, keep theirs.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, g, request
from flask_login import current_user

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
CONTENT_SECURITY_POLICY = "; ".join(f"{name} {sources}" for name, sources in POLICY.items())
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
_NONCE = "traceapp_style_nonce"


def style_nonce() -> str:
    """Return this response's nonce for ``<style>`` elements (made on first use), which the response's
    ``style-src`` then allows."""
    nonce = g.get(_NONCE)
    if nonce is None:
        nonce = secrets.token_urlsafe(18)
        setattr(g, _NONCE, nonce)
    return nonce


def _policy_with(nonce: str) -> str:
    return CONTENT_SECURITY_POLICY.replace("style-src 'self'", f"style-src 'self' 'nonce-{nonce}'", 1)


def _same_for_everyone(response: Response) -> bool:
    return request.endpoint == "static" or response.mimetype.startswith("image/")


def secure(response: Response) -> Response:
    """Add the security headers to ``response``; make a public response to a signed-in viewer private."""
    headers = response.headers
    headers.update(HEADERS)
    nonce = g.get(_NONCE)
    if nonce is not None:
        headers["Content-Security-Policy"] = _policy_with(nonce)
    # current_user is read only for public responses: most are not, and this keeps a cookie-less scan
    # from loading a session it does not have.
    if ("public" in headers.get("Cache-Control", "") and response.cache_control.public
            and not _same_for_everyone(response) and current_user.is_authenticated):
        cache = response.cache_control
        cache.public = False
        cache.max_age = None
        cache.private = True
        cache.no_store = True
    return response


def init_app(app: Flask) -> None:
    """Register ``secure`` after every request and ``style_nonce`` for templates. Call it before any other
    ``init_app``: Flask runs after-request hooks last-registered first, so ``secure`` sees the final
    response."""
    app.after_request(secure)
    app.jinja_env.globals["style_nonce"] = style_nonce
