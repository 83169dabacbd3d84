"""Translations: Chinese source strings, an English catalog, and the locale chosen per
request from ``?lang=``, then the ``lang`` cookie, then Accept-Language; Chinese by default.

The English catalog is compiled from its .po file when the .mo is missing or older, so a
fresh checkout needs no separate build step."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, current_app, g, has_app_context, has_request_context, request
from flask_babel import Babel, get_locale, get_translations, lazy_gettext, ngettext
from markupsafe import Markup

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
    # What Jinja's new-style gettext does (the translation is safe markup, its variables are escaped
    # into it), without its two context calls, and with each translation kept as markup: Flask-Babel
    # looks the catalog up on every {{ _() }}, and a page has dozens. Each rendering gets its
    # language's own ``_`` in its context; the global serves macros imported without one.
    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext, ngettext=template_ngettext)
    app.context_processor(lambda: {"_": language_gettext()})


def gettext(string: str, **variables) -> str:
    """Flask-Babel's ``gettext`` (the request's translation of ``string``, its ``%(name)s`` filled
    from ``variables``), with each translation looked up once per language and app (see
    ``_translation``)."""
    translated = _translation(string) if has_app_context() else string
    return translated % variables if variables else translated


def _translation(string: str) -> str:
    """Return ``string`` in the request's language, kept per language and app: Flask-Babel finds the
    request's catalog again on every call."""
    language = current_language()
    made = current_app.extensions.setdefault(_PLAIN, {}).get(language)
    if made is None:
        made = current_app.extensions[_PLAIN][language] = {}
    translated = made.get(string)
    if translated is None:
        translated = made[string] = get_translations().ugettext(string)
    return translated


_PLAIN = "traceapp.i18n.plain"


def template_gettext(string: str, **variables) -> Markup:
    return language_gettext()(string, **variables)


_GETTEXTS = "traceapp.i18n.gettexts"


def language_gettext() -> Callable[..., Markup]:
    """Return ``template_gettext`` for the request's language, with each translation made once as
    markup (one per language and app)."""
    language = current_language()
    gettexts = current_app.extensions.setdefault(_GETTEXTS, {})
    gettext_markup = gettexts.get(language)
    if gettext_markup is None:
        made: dict[str, Markup] = {}

        def gettext_markup(string: str, **variables) -> Markup:
            translated = made.get(string)
            if translated is None:
                translated = made[string] = Markup(_translation(string))
            return translated % variables if variables else translated

        gettexts[language] = gettext_markup
    return gettext_markup


def template_ngettext(singular: str, plural: str, n: int, **variables) -> Markup:
    translated = Markup(_request_translations().ungettext(singular, plural, n))
    return translated % {"num": n, **variables}


def _request_translations():
    try:
        return g.translations
    except AttributeError:
        g.translations = get_translations()
        return g.translations
