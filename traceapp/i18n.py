"""Translations: Chinese source strings, an English catalog, and the locale chosen per
request from ``?lang=``, then the ``lang`` cookie, then Accept-Language; Chinese by default.

The English catalog is compiled from its .po file when the .mo is missing or older, so a
fresh checkout needs no separate build step."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import urlencode

import flask_babel
from flask import Flask, has_app_context, has_request_context, request
from flask_babel import Babel, get_locale, lazy_gettext

__all__ = ["gettext", "lazy_gettext", "ngettext", "get_locale", "init_app", "current_language"]

TRANSLATIONS = Path(__file__).parent / "translations"


def select_locale() -> str:
    languages = ("zh", "en")
    if not has_request_context():  # CLI commands speak Chinese, like the default UI
        return "zh"
    chosen = request.args.get("lang") or request.cookies.get("lang")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or "zh"


def current_language() -> str:
    """Return "zh" or "en": the language of this request (kept with it: a page asks several times).
    Chosen by ``select_locale`` itself: Flask-Babel's ``get_locale`` would parse it into a babel
    Locale, which looks for its data files on disk (two ``stat`` calls) on every request."""
    if not has_request_context():
        return _locale_language()
    environ = request.environ
    language = environ.get(_LANGUAGE_KEY)
    if language is None:
        language = environ[_LANGUAGE_KEY] = select_locale()
    return language


def _locale_language() -> str:
    return str(get_locale() or "zh").split("_")[0]


_LANGUAGE_KEY = "traceapp.language"


def language_query(language: str) -> str:
    """Return the query string of this page in ``language``: ``lang`` set, the page's other
    parameters (a search, the risk desk's filters, a page number) kept."""
    args = request.args if has_request_context() else None
    if not args:
        return f"?lang={language}"
    return "?" + urlencode([*((k, v) for k, v in args.items(multi=True) if k != "lang"), ("lang", language)])


def compile_catalogs() -> None:
    """Compile every translations/*/LC_MESSAGES/messages.po whose .mo is stale."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f)
        fd, tmp = tempfile.mkstemp(dir=po.parent, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as f:
            write_mo(f, catalog)
        os.replace(tmp, mo)


def init_app(app: Flask) -> None:
    compile_catalogs()
    Babel(app, locale_selector=select_locale, default_translation_directories=str(TRANSLATIONS))

    @app.after_request
    def _remember_language(response):
        lang = request.args.get("lang")
        if lang in ("zh", "en"):
            response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
        response.headers.setdefault("Content-Language", "zh-CN" if current_language() == "zh" else "en")
        return response

    app.jinja_env.globals.update(current_language=current_language, language_query=language_query)


def gettext(string: str, **variables) -> str:
    """Flask-Babel's ``gettext`` (the request's translation of ``string``, its ``%(name)s`` filled from
    ``variables``); outside an app, as CLI helpers and module constants are, the string itself."""
    if not has_app_context():
        return string % variables if variables else string
    return flask_babel.gettext(string, **variables)


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    """Flask-Babel's ``ngettext``: the form of the request's translation that fits ``num`` (English says
    "1 batch", "2 batches"; Chinese has one form), with ``%(num)d`` and ``variables`` filled in."""
    if not has_app_context():
        return (singular if num == 1 else plural) % {"num": num, **variables}
    return flask_babel.ngettext(singular, plural, num, **variables)
