"""Is the app's own template translation worth keeping? An A/B in one process.

    .venv/bin/python bench/i18n.py              # demo data, 8 interleaved rounds
    .venv/bin/python bench/i18n.py --quick      # a smoke run (figures mean nothing)

``traceapp.i18n`` gives templates a ``_`` that keeps each translation as ready markup per language,
where Flask-Babel's own (Jinja's ``i18n`` extension, new style) looks the request's catalog up and
wraps the string on every ``{{ _() }}``; its Python ``gettext`` keeps a table per language where
Flask-Babel's finds the request's catalog again on every call. Both render the same HTML. This builds two apps on one
SQLite file of demo data: A as shipped, B with Flask-Babel's callables installed instead, and renders
the consumer page, the front door, the brand list, a brand's console (signed in as its manager) and
the regulator's batch search with each, alternating A and B in every round,
in Chinese and English. Prints a table and, last, one JSON line: per page and language the medians
and B / A (above 1: the app's layer is faster). Keep the layer only where B / A ≥ 1.10 on a page.
With ``--batches N`` it measures ``bench/pages.py``'s signed-in pages (lists, console, dashboards) on
that benchmark's registry instead, where a page shows 20 rows of translated words.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager

from benchlib import QUICK_HELP, ROOT, app_env, apply_quick, log, migrate, sqlite_database

if str(ROOT) not in sys.path:  # run as a script: make ``traceapp`` importable from the checkout
    sys.path.insert(0, str(ROOT))

# page: (path, demo user signed in or None); {code} is each demo batch's, {slug} the brand user's brand
PATHS = {"consumer": ("/t/{code}", None), "front_door": ("/", None), "brands": ("/brands/", None),
         "console": ("/console/{slug}/", "brand"), "batch_search": ("/batches/", "regulator")}
LANGUAGES = ("zh", "en")
CSRF = re.compile(rb'value="[^"]*"(?=[^>]*name="csrf_token")|(?<=name="csrf_token") value="[^"]*"|'
                  rb'(?<=name="csrf_token" type="hidden") value="[^"]*"|<meta name="csrf-token" content="[^"]*"')


def flask_babel_templates(app) -> None:
    """Give ``app``'s templates Flask-Babel's own gettext instead of the app's (what B measures)."""
    import flask_babel

    app.jinja_env.install_gettext_callables(
        gettext=lambda s: flask_babel.get_translations().ugettext(s),
        ngettext=lambda s, p, n: flask_babel.get_translations().ungettext(s, p, n), newstyle=True)
    processors = app.template_context_processors[None]
    processors[:] = [p for p in processors if p.__module__ != "traceapp.i18n"]


@contextmanager
def python_gettext(flask_babels_own: bool):
    """While B renders, the Python side's ``gettext`` (views, labels, messages) asks Flask-Babel on every
    call too, instead of the app's per-language table of translations."""
    if not flask_babels_own:
        yield
        return
    import flask_babel

    from traceapp import i18n

    kept = i18n._translation
    i18n._translation = flask_babel.gettext
    try:
        yield
    finally:
        i18n._translation = kept


def sign_in(app, username: str, password: str):
    """Return a test client of ``app`` signed in as ``username``."""
    client = app.test_client()
    token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    answer = client.post("/login", data={"csrf_token": token, "username": username, "password": password})
    if answer.status_code != 302:
        raise SystemExit(f"{username} could not sign in: {answer.status_code}")
    return client


def demo_pages(url: str, instance, env: dict) -> tuple[dict, dict[str, tuple[list[str], str | None]], str]:
    """Seed the demo data; return the app's config, {page: (paths, user)} and the users' password."""
    from sqlalchemy import create_engine, text

    from traceapp.demo import DEMO_PASSWORD

    subprocess.run([sys.executable, "-m", "flask", "--app", "traceapp", "seed-demo"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    engine = create_engine(url)
    with engine.connect() as conn:
        codes = list(conn.scalars(text("SELECT code FROM batches ORDER BY id")))
        slug = conn.scalar(text("SELECT slug FROM brands WHERE owner_id = (SELECT organization_id FROM users "
                                "WHERE username = 'brand') ORDER BY id"))
    engine.dispose()
    config = {"DATABASE_URL": url, "TRACEAPP_INSTANCE_PATH": str(instance), "SCAN_RATE_LIMIT": 10**9,
              "TRACEAPP_PUBLIC_URL": env["TRACEAPP_PUBLIC_URL"],
              "TRACEAPP_LEDGER_ORIGIN": env["TRACEAPP_LEDGER_ORIGIN"]}
    pages = {page: (sorted({pattern.format(code=code, slug=slug) for code in codes}), user)
             for page, (pattern, user) in PATHS.items()}
    return config, pages, DEMO_PASSWORD


def registry_pages(url: str, instance, env: dict, batches: int) -> tuple[dict, dict, str]:
    """Build ``bench/pages.py``'s registry of ``batches`` batches and its users; return the config, its
    signed-in pages (each with its bench user) and the users' password."""
    import pages as signed_in_pages  # bench/pages.py
    from registry import build

    registry = build(url, signed_in_pages.parse_args(["--batches", str(batches), "--producers",
                                                      str(min(2000, max(50, batches // 100)))]))
    ctx = signed_in_pages.context(url, registry)
    signed_in_pages.create_users(url, instance, ctx)
    config = {**signed_in_pages._config(url, instance), "SCAN_RATE_LIMIT": 10**9}
    return config, {p.name: ([p.path(ctx)], f"bench-{p.user}") for p in signed_in_pages.PAGES}, \
        signed_in_pages.PASSWORD


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=0,
                        help="measure bench/pages.py's signed-in pages on its registry of this many batches "
                             "instead of the demo data's pages")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds of A and B (default 10)")
    parser.add_argument("--renders", type=int, default=60, help="renders of each page per app and round (default 60)")
    parser.add_argument("--quick", action="store_true", help=QUICK_HELP)
    args = apply_quick(parser, parser.parse_args(argv), rounds=1, renders=2)
    from traceapp import create_app

    with sqlite_database("i18n") as (url, instance):
        env = app_env(url, instance)
        migrate(env)
        if args.batches:
            config, pages, password = registry_pages(url, instance, env, args.batches)
        else:
            config, pages, password = demo_pages(url, instance, env)
        apps = {"A": create_app(config), "B": create_app(config)}
        flask_babel_templates(apps["B"])
        clients = {(name, user): sign_in(app, user, password) if user else app.test_client()
                   for name, app in apps.items() for user in {user for _paths, user in pages.values()}}
        results = {}
        for page, (every, user) in pages.items():
            paths = [every[i % len(every)] for i in range(args.renders)]
            for language in LANGUAGES:
                shown = {}
                for name in apps:
                    with python_gettext(name == "B"):
                        shown[name] = CSRF.sub(b"", clients[name, user].get(f"{paths[0]}?lang={language}").data)
                if shown["A"] != shown["B"]:  # the same HTML, or the comparison would mean nothing
                    raise SystemExit(f"A and B render {paths[0]} differently")
                times = {"A": [], "B": []}
                for _round in range(args.rounds):
                    for name in apps:
                        client = clients[name, user]
                        with python_gettext(name == "B"):
                            for path in paths:
                                start = time.perf_counter()
                                client.get(f"{path}{'&' if '?' in path else '?'}lang={language}")
                                times[name].append(time.perf_counter() - start)
                a, b = (statistics.median(times[n]) * 1000 for n in ("A", "B"))
                results[f"{page}.{language}"] = {"app_ms": round(a, 3), "flask_babel_ms": round(b, 3),
                                                 "ratio": round(b / a, 3), "renders": len(times["A"])}
                log(f"{page:<28} {language}  app {a:6.3f} ms  flask-babel {b:6.3f} ms  B/A {b / a:5.3f}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
