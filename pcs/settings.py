"""The one settings object of pcs: every ``PCS_*`` variable is read here, and only here.

``get_settings()`` reads the environment each time it is called (cheap), so a test or a
command that changes a variable sees the change; nothing is read at import.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from scoring.calendar import format_month, parse_month

PROJECT_ROOT = Path(__file__).resolve().parents[1]
VAR_DIR = PROJECT_ROOT / "var"
DEMO_DATA_DIR = VAR_DIR / "demo-data"
DEFAULT_SQLITE_PATH = VAR_DIR / "pcs.sqlite"
DEFAULT_DATABASE_URL = f"sqlite:///{DEFAULT_SQLITE_PATH}"
DEFAULT_START_MONTH = dt.date(2024, 1, 1)
DEFAULT_CELERY_BROKER = "amqp://guest:guest@127.0.0.1:5672//"

# field -> environment variable (interfaces.md fixes the first three)
ENV = {
    "database_url": "PCS_DATABASE_URL",
    "data_dir": "PCS_DATA_DIR",
    "admin_token": "PCS_ADMIN_TOKEN",
    "start_month": "PCS_START_MONTH",
    "api_cache_mb": "PCS_API_CACHE_MB",
    "graphql_ide": "PCS_GRAPHQL_IDE",
    "api_warm": "PCS_API_WARM",
    "celery_broker": "PCS_CELERY_BROKER",
}
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    database_url: str  # SQLAlchemy URL of the results database
    data_dir: Path  # the input data folder (input-data.md)
    admin_token: str | None  # None: no admin access
    start_month: dt.date  # the first monthly partition
    api_cache_mb: float  # the API's response cache per worker process, MiB (0: off)
    graphql_ide: bool  # GraphiQL on GET /graphql
    api_warm: bool = True  # each API worker reads the data folder's latest months into memory at start
    celery_broker: str = DEFAULT_CELERY_BROKER  # the Celery broker of the step executor and `pcs worker`

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings the environment gives (``os.environ`` by default); a malformed value
        raises ``ValueError`` naming its variable."""
        env = os.environ if environ is None else environ

        def read(field: str) -> str:
            return env.get(ENV[field], "").strip()

        cache = read("api_cache_mb")
        try:
            cache_mb = float(cache) if cache else 64.0
        except ValueError:
            raise ValueError(f"{ENV['api_cache_mb']} must be a number of MiB (0: no cache), not {cache!r}") from None
        start = read("start_month")
        return cls(
            database_url=read("database_url") or DEFAULT_DATABASE_URL,
            data_dir=Path(read("data_dir") or DEMO_DATA_DIR),
            admin_token=read("admin_token") or None,
            start_month=parse_month(start, what=ENV["start_month"]) if start else DEFAULT_START_MONTH,
            api_cache_mb=cache_mb,
            graphql_ide=(read("graphql_ide") or "1").lower() not in _FALSE,
            api_warm=(read("api_warm") or "1").lower() not in _FALSE,
            celery_broker=read("celery_broker") or DEFAULT_CELERY_BROKER,
        )

    def with_overrides(self, **values: object) -> Settings:
        """These settings with the given fields replaced (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})  # type: ignore[arg-type]

    def to_env(self) -> dict[str, str]:
        """The environment that gives these settings: for child processes (server workers)."""
        env = {
            ENV["database_url"]: self.database_url,
            ENV["data_dir"]: str(self.data_dir),
            ENV["start_month"]: format_month(self.start_month),
            ENV["api_cache_mb"]: repr(self.api_cache_mb),
            ENV["graphql_ide"]: "1" if self.graphql_ide else "0",
            ENV["api_warm"]: "1" if self.api_warm else "0",
            ENV["celery_broker"]: self.celery_broker,
        }
        if self.admin_token:
            env[ENV["admin_token"]] = self.admin_token
        return env


def get_settings() -> Settings:
    """The settings of the current environment."""
    return Settings.from_env()
