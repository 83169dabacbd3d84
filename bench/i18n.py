"""Is the app's own template translation worth keeping? An A/B in one process.

    .venv/bin/python bench/i18n.py              # demo data, 8 interleaved rounds
    .venv/bin/python bench/i18n.py --quick      # a smoke run (figures mean nothing)

``traceapp.i18n`` gives templates a ``_`` that keeps each translation as ready markup per language,
where Flask-Babel's own (Jinja's ``i18n`` extension, new style) looks the request's catalog up and
wraps the string on every ``{{ _() }}``. Both render the same HTML. This builds two apps on one
SQLite file of demo data: A as shipped, B with Flask-Babel's callables installed instead, and renders
the consumer page, the front door and the brand list with each, alternating A and B in every round,
in Chinese and English. Prints a table and, last, one JSON line: per page and language the medians
and B / A (above 1: the app's layer is faster). Keep the layer only where B / A ≥ 1.10 on a page.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from benchlib import QUICK_HELP, ROOT, app_env, apply_quick, log, migrate, sqlite_database

if str(ROOT) not in sys.path:  # run as a script: make ``traceapp`` importable from the checkout
    sys.path.insert(0, str(ROOT))

PATHS = {"consumer": "/t/{code}", "front_door": "/", "brands": "/brands/"}
LANGUAGES = ("zh", "en")


def flask_babel_templates(app) -> None:
    """Give ``app``'s templates Flask-Babel's own gettext instead of the app's (what B measures)."""
    import flask_babel

    app.jinja_env.install_gettext_callables(
        gettext=lambda s: flask_babel.get_translations().ugettext(s),
        ngettext=lambda s, p, n: flask_babel.get_translations().ungettext(s, p, n), newstyle=True)
    processors = app.template_context_processors[None]
    processors[:] = [p for p in processors if p.__module__ != "traceapp.i18n"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds of A and B (default 10)")
    parser.add_argument("--renders", type=int, default=60, help="renders of each page per app and round (default 60)")
    parser.add_argument("--quick", action="store_true", help=QUICK_HELP)
    args = apply_quick(parser, parser.parse_args(argv), rounds=1, renders=2)
    from sqlalchemy import create_engine, text

    from traceapp import create_app

    with sqlite_database("i18n") as (url, instance):
        env = app_env(url, instance)
        migrate(env)
        subprocess.run([sys.executable, "-m", "flask", "--app", "traceapp", "seed-demo"], cwd=ROOT, env=env,
                       check=True, capture_output=True)
        engine = create_engine(url)
        with engine.connect() as conn:
            codes = list(conn.scalars(text("SELECT code FROM batches ORDER BY id")))
        engine.dispose()
        config = {"DATABASE_URL": url, "TRACEAPP_INSTANCE_PATH": str(instance), "SCAN_RATE_LIMIT": 10**9,
                  "TRACEAPP_PUBLIC_URL": env["TRACEAPP_PUBLIC_URL"], "TRACEAPP_LEDGER_ORIGIN": env.get(
                      "TRACEAPP_LEDGER_ORIGIN", os.environ.get("TRACEAPP_LEDGER_ORIGIN", ""))}
        config = {k: v for k, v in config.items() if v != ""}
        apps = {"A": create_app(config), "B": create_app(config)}
        flask_babel_templates(apps["B"])
        clients = {name: app.test_client() for name, app in apps.items()}
        for language in LANGUAGES:  # the same HTML, or the comparison would mean nothing
            path = PATHS["consumer"].format(code=codes[0]) + f"?lang={language}"
            same = clients["A"].get(path).data == clients["B"].get(path).data
            if not same:
                raise SystemExit(f"A and B render {path} differently")
        results = {}
        for page, pattern in PATHS.items():
            every = sorted({pattern.format(code=code) for code in codes})
            paths = [every[i % len(every)] for i in range(args.renders)]
            for language in LANGUAGES:
                times = {"A": [], "B": []}
                for _round in range(args.rounds):
                    for name, client in clients.items():
                        for path in paths:
                            start = time.perf_counter()
                            client.get(f"{path}?lang={language}")
                            times[name].append(time.perf_counter() - start)
                a, b = (statistics.median(times[n]) * 1000 for n in ("A", "B"))
                results[f"{page}.{language}"] = {"app_ms": round(a, 3), "flask_babel_ms": round(b, 3),
                                                 "ratio": round(b / a, 3), "renders": len(times["A"])}
                log(f"{page:<11} {language}  app {a:6.3f} ms  flask-babel {b:6.3f} ms  B/A {b / a:5.3f}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
