"""Configuration: defaults, then ``instance/config.py``, then the environment, then the
test config. The secret key is generated into the instance folder on first run."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask

from traceapp import clock
from traceapp.instance_files import read_or_create

ENV_KEYS = ("DATABASE_URL", "TRACEAPP_PUBLIC_URL", "TRACEAPP_LEDGER_ORIGIN", "SECRET_KEY",
            "TRACEAPP_ENV", "TRACEAPP_TIMEZONE", "TRACEAPP_COMPLIANCE_RETENTION_YEARS", "TRACEAPP_BEHIND_PROXY")
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
DEV_SECRET_KEYS = {"dev", "development", "changeme", "secret"}


def instance_path(test_config: dict | None = None) -> str:
    """Return the absolute instance folder: the test config's or the environment's
    ``TRACEAPP_INSTANCE_PATH``, else ``./instance``."""
    chosen = (test_config or {}).get("TRACEAPP_INSTANCE_PATH") or os.environ.get("TRACEAPP_INSTANCE_PATH")
    return str(Path(chosen or "instance").resolve())


def load(app: Flask, test_config: dict | None) -> None:
    """Fill ``app.config`` from defaults, instance/config.py, environment and test config."""
    app.config.from_mapping(
        DATABASE_URL=None,
        TRACEAPP_PUBLIC_URL=DEFAULT_PUBLIC_URL,
        TRACEAPP_LEDGER_ORIGIN=None,
        SECRET_KEY=None,
        TRACEAPP_ENV="development",
        TRACEAPP_TIMEZONE=clock.DEFAULT_TIMEZONE,  # whose "today" bounds the dates people enter
        LANGUAGES=("zh", "en"),
        BABEL_DEFAULT_LOCALE="zh",
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        # Scans of consumer pages (traceapp/public/scans.py). Behind a reverse proxy, set
        # TRACEAPP_BEHIND_PROXY so the client is the last X-Forwarded-For hop.
        TRACEAPP_BEHIND_PROXY=False,
        # "存在异常查询记录" (traceapp/public/scan_rules.py): this many distinct clients ...
        SCAN_ALERT_CLIENTS=10,
        SCAN_ALERT_REGIONS=5,  # ... or distinct regions (as the proxy names them in this header) ...
        SCAN_ALERT_REGION_HEADER=None,
        SCAN_ALERT_WINDOW=3600,  # ... within this many seconds; a client's scans count once per window
        SCAN_ALERT_CLIENT_CODES=20,  # a client looking up more codes than this in a window is a script
        SCAN_RATE_LIMIT=120,  # requests per client ...
        SCAN_RATE_WINDOW=60,  # ... per this many seconds, per worker
        QR_CACHE_SECONDS=300,  # a worker reuses a code's QR image this long without asking the database
        PAGE_CACHE=True,  # keep anonymous public pages rendered while the ledger is unchanged
        PAGE_VERSION_SECONDS=1.0,  # how often a worker asks the database whether the ledger grew
        # 合格证 contacts may not be erased sooner (the record-keeping period of 农业农村部令2025年第4号)
        TRACEAPP_COMPLIANCE_RETENTION_YEARS=2,
        RISK_COUNTS_SECONDS=60,  # the desk's risk counts are kept this long while the ledger is unchanged
    )
    app.config.from_pyfile("config.py", silent=True)
    for key in ENV_KEYS:
        if os.environ.get(key):
            app.config[key] = os.environ[key]
    if test_config:
        app.config.update(test_config)

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'traceapp.db'}"
    app.config["TRACEAPP_PUBLIC_URL"] = app.config["TRACEAPP_PUBLIC_URL"].rstrip("/")
    if app.config["TRACEAPP_PUBLIC_URL"].startswith("https:"):
        app.config["SESSION_COOKIE_SECURE"] = True
    # The origin only names a ledger without checkpoints; a stored ledger keeps its own (traceapp.db).
    app.config["TRACEAPP_LEDGER_ORIGIN_SET"] = bool(app.config["TRACEAPP_LEDGER_ORIGIN"])
    if not app.config["TRACEAPP_LEDGER_ORIGIN"]:
        app.config["TRACEAPP_LEDGER_ORIGIN"] = default_origin(app.config["TRACEAPP_PUBLIC_URL"])
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = read_or_create(
            Path(app.instance_path) / "secret_key", lambda: secrets.token_hex(32).encode()).decode()
    try:
        clock.zone_named(app.config["TRACEAPP_TIMEZONE"])
    except ValueError as exc:
        raise RuntimeError(str(exc)) from None
    if app.config["TRACEAPP_ENV"] == "production" and (
            app.config["SECRET_KEY"] in DEV_SECRET_KEYS or len(app.config["SECRET_KEY"]) < 16):
        raise RuntimeError("refusing to start in production with a development SECRET_KEY")


def default_origin(public_url: str) -> str:
    """Return the ledger origin for a public URL: its host (and port) + ``/ledger``."""
    return f"{urlsplit(public_url).netloc}/ledger"
