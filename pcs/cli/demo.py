"""`make demo`: generate a realistic data set, score its last 12 months through the Dagster job
into the embedded SQLite database, print what came out, and say how to look further.
"""

from __future__ import annotations

import logging
import secrets
import sys

import polars as pl

from orchestration.tables import markdown
from pcs import cli
from pcs.cli import logs
from pcs.cli.backfill import DEFAULT_DAGSTER_HOME
from pcs.generate import generate
from pcs.settings import VAR_DIR, get_settings
from scoring import calendar, ingest
from storage import results
from storage.engines import database_url, get_engine

DEMO_PARTNERS = 300
ADMIN_TOKEN_FILE = VAR_DIR / "admin-token"
LOG = logging.getLogger("pcs.cli.demo")  # not __name__: `python -m` runs it as __main__


def _table(df: pl.DataFrame) -> str:
    return markdown(df, rows=20, text_width=40)


def summary_tables(url: str, month) -> dict[str, pl.DataFrame]:
    """Partners attaining per track, closest misses and biggest movers of ``month``."""
    eng = get_engine(url)
    prev = calendar.add_months(month, -1)
    des = results.read_frame(eng, "designations", months=[prev, month])
    paths = results.read_frame(eng, "path_scores", months=[month])
    partners = results.read_frame(eng, "partners")
    now = des.filter(pl.col("month") == month)
    per_track = (
        paths.group_by("track")
        .agg(pl.col("qualifies").sum().alias("qualifying partners"))
        .sort("track")
        .vstack(
            pl.DataFrame(
                {"track": ["attained (any track)"], "qualifying partners": [now["attained"].sum()]},
                schema={"track": pl.String, "qualifying partners": pl.UInt32},
            ).cast({"qualifying partners": pl.UInt32})
        )
    )
    misses = (
        paths.filter(~pl.col("qualifies"))
        .join(now.filter(~pl.col("attained")).select("partner_id"), on="partner_id")
        .sort(["total", "partner_id"], descending=[True, False])
        .unique("partner_id", keep="first", maintain_order=True)
        .head(5)
        .join(partners.select("partner_id", "partner_name"), on="partner_id", how="left")
        .select(
            "partner_id",
            "partner_name",
            "track",
            pl.col("total").round(2),
            (5 - pl.col("metrics_at_minimum")).alias("metrics below 1 point"),
        )
    )
    movers = (
        now.join(
            des.filter(pl.col("month") == prev).select("partner_id", pl.col("score").alias("before")),
            on="partner_id",
            how="inner",
        )
        .with_columns((pl.col("score") - pl.col("before")).alias("change"))
        .sort([pl.col("change").abs(), "partner_id"], descending=[True, False])
        .head(5)
        .join(partners.select("partner_id", "partner_name"), on="partner_id", how="left")
        .select(
            "partner_id",
            "partner_name",
            pl.col("before").round(2),
            pl.col("score").round(2),
            pl.col("change").round(2),
            "attained",
        )
    )
    return {"per_track": per_track, "closest_misses": misses, "movers": movers}


def main() -> int:
    with logs.progress(sys.stdout):
        return _demo()


def _demo() -> int:
    settings = get_settings()
    data = settings.data_dir
    if not (data / "months").exists():
        LOG.info(f"Generating {DEMO_PARTNERS} partners x 24 months into {data} ...")
        s = generate(data, partners=DEMO_PARTNERS, months=24, start="2023-01", seed=7, progress=LOG.info)
        LOG.info(f"{s.tenants} tenants, {s.usage_rows} usage rows, {s.association_rows} association rows")
    months = ingest.list_months(data)
    last = months[-1]
    first = calendar.add_months(last, -11)
    LOG.info(f"Scoring {first:%Y-%m}..{last:%Y-%m} with the Dagster job into {database_url()} ...")
    rc = cli.main(["backfill", "--from", f"{first:%Y-%m}", "--to", f"{last:%Y-%m}", "--data", str(data)])
    if rc != 0:
        print("The backfill failed; see the message above.")
        return rc

    tables = summary_tables(database_url(), last)
    print(f"\n## {last:%Y-%m}: partners qualifying per track\n" + _table(tables["per_track"]))
    print("\n## Closest misses (not attained, highest path total)\n" + _table(tables["closest_misses"]))
    print(f"\n## Biggest movers since {calendar.add_months(last, -1):%Y-%m}\n" + _table(tables["movers"]))

    admin = settings.admin_token
    if not admin:
        ADMIN_TOKEN_FILE.parent.mkdir(parents=True, exist_ok=True)
        if not ADMIN_TOKEN_FILE.exists():
            ADMIN_TOKEN_FILE.write_text(secrets.token_urlsafe(24) + "\n")
            ADMIN_TOKEN_FILE.chmod(0o600)
        admin = ADMIN_TOKEN_FILE.read_text().strip()
    partner = tables["movers"]["partner_id"][0] if tables["movers"].height else None
    print("\n## Look further")
    print("Dagster UI (runs, partitions, checks, schedule, sensors):")
    print(
        f"  DAGSTER_HOME={DEFAULT_DAGSTER_HOME} PCS_DATA_DIR={data} "
        "uv run dagster dev -w workspace.yaml   # then http://127.0.0.1:3000"
    )
    print("Scorecard page at http://127.0.0.1:8000/ (sign in with the admin token, or a partner token),")
    print("GraphQL API with GraphiQL at http://127.0.0.1:8000/graphql:")
    print(f"  PCS_ADMIN_TOKEN={admin} PCS_DATA_DIR={data} uv run pcs serve")
    print(
        f"  curl -s http://127.0.0.1:8000/graphql -H 'Authorization: Bearer {admin}' "
        "-H 'Content-Type: application/json' -d '{\"query\":\"{ months }\"}'"
    )
    if partner:
        print(f"A token for partner {partner} only:  uv run pcs token create --partner {partner}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
