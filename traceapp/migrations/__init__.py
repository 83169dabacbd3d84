"""Alembic migrations, run with ``flask --app traceapp db upgrade``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

HERE = Path(__file__).parent


def alembic_config(engine: Engine) -> Config:
    """Return an Alembic config that migrates the database behind ``engine``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(HERE / "versions"))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema to ``revision``."""
    command.upgrade(alembic_config(engine), revision)


def current(engine: Engine) -> None:
    """Print the database's current revision."""
    command.current(alembic_config(engine))
