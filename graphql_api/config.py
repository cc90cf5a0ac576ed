"""The API's settings: where the data is, who the admin is, and the request limits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pcs.settings import get_settings


@dataclass(frozen=True)
class ApiSettings:
    database_url: str
    admin_token: str | None  # None: no admin access
    data_dir: Path  # the input folder (the skilling report reads its certifications file)
    graphql_ide: bool = True  # GraphiQL on GET /graphql (the page itself needs no token)
    max_page_size: int = 100  # largest `first` of a connection
    max_scorecards: int = 2_500  # scorecards one request may return, all fields together
    max_customers: int = 5_000  # customer rows one request may return
    max_depth: int = 10
    max_aliases: int = 15
    max_tokens: int = 2_000
    # run the driver calls in worker threads (None: yes, except on SQLite, whose local queries
    # are quicker in the event loop; docs/architecture.md, "Worker threads")
    db_threads: bool | None = None
    # the response cache of each worker process, in MiB (0: no cache)
    cache_mb: float = 64
    # read the data folder's latest months into the snapshot cache in a background thread at
    # start, so the first what-if, projection or attribution does not pay for it
    warm_snapshots: bool = False

    @classmethod
    def from_env(cls, **overrides) -> ApiSettings:
        """The API's part of ``pcs.settings`` (each field overridable)."""
        s = get_settings()
        values = {
            "database_url": s.database_url,
            "admin_token": s.admin_token,
            "data_dir": s.data_dir,
            "graphql_ide": s.graphql_ide,
            "cache_mb": s.api_cache_mb,
            "warm_snapshots": s.api_warm,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
