"""The asset job ``score_months_job``, its monthly schedule (the 20th, 06:00 UTC: the previous
month) and two sensors: a new month folder, and a changed certifications file. All off by
default; docs/architecture.md, "Orchestration", says why and how they pick their months."""

import datetime as dt
from pathlib import Path

import dagster as dg

from orchestration.assets import score_months
from orchestration.months import chunks, span
from orchestration.partitions import partition_key, partition_months, run_target
from orchestration.resources import DataFolder, ResultsDatabase
from orchestration.specs import CERTIFICATIONS
from orchestration.webhooks import webhook_events
from scoring import ingest
from scoring.calendar import add_months, parse_month
from storage import results as store

JOB_NAME = "score_months_job"

score_job = dg.define_asset_job(
    JOB_NAME,
    # partitioned like its assets (MONTHLY); the month's webhook events after its results
    selection=dg.AssetSelection.assets(score_months, webhook_events),
    description=(
        "Read, validate and score months, and store the results (one transaction per month); "
        "then put their webhook events into the outbox (delivery is the webhook_delivery_sensor's)."
    ),
)


@dg.schedule(
    cron_schedule="0 6 20 * *",
    execution_timezone="UTC",
    job=score_job,
    name="monthly_score_schedule",
    description="On the 20th at 06:00 UTC: score the previous month.",
)
def monthly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """The previous calendar month (partitions may reach further when the data does: not those)."""
    now = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    key = partition_key(add_months(now.date(), -1))
    return dg.RunRequest(run_key=key, partition_key=key)


def _tables(folder: Path) -> list[Path] | None:
    """The usage and associations files of a month folder, or None when one is missing."""
    found = []
    for stem in (ingest.USAGE, ingest.ASSOCIATIONS):
        files = [folder / f"{stem}.{ext}" for ext in ("csv", "parquet")]
        files = [f for f in files if f.is_file()]
        if not files:
            return None
        found.extend(files)
    return found


def month_folders(directory: Path) -> dict[dt.date, int]:
    """Month folders that hold both tables -> newest modification time (ns) of folder and files.

    Folders whose name is not ``YYYY-MM`` and hidden entries are ignored here (ingestion reports
    badly named folders when a run reads the data folder).
    """
    root = directory / ingest.MONTHS_DIR
    out: dict[dt.date, int] = {}
    if not root.is_dir():
        return out
    for entry in root.iterdir():
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        try:
            month = parse_month(entry.name)
        except ValueError:
            continue
        files = _tables(entry)
        if files is None:
            continue
        out[month] = max(p.stat().st_mtime_ns for p in (entry, *files))
    return out


@dg.sensor(
    name="new_month_sensor",
    job=score_job,
    minimum_interval_seconds=60,
    description="Scores a month when its months/YYYY-MM folder appears in the data folder.",
)
def new_month_sensor(context: dg.SensorEvaluationContext, data_folder: DataFolder):
    high = parse_month(context.cursor) if context.cursor else None
    folders = month_folders(data_folder.resolved())
    partitions = set(partition_months())
    new = sorted(m for m in folders if (high is None or m > high) and m in partitions)
    if not new:
        return dg.SkipReason(
            f"no new month folder after {high:%Y-%m}" if high else "no month folder that is a partition"
        )
    requests = []
    for chunk in chunks(new):
        key, tags = run_target(chunk)
        mtime = max(folders[m] for m in chunk)
        requests.append(
            dg.RunRequest(
                run_key=f"months/{span(chunk)}@{mtime}",
                partition_key=key,
                tags={**tags, "pcs/trigger": "new month folder"},
            )
        )
    return dg.SensorResult(run_requests=requests, cursor=f"{new[-1]:%Y-%m}")


def _certifications_file(directory: Path) -> Path | None:
    for ext in ("csv", "parquet"):
        path = directory / f"{ingest.CERTIFICATIONS}.{ext}"
        if path.is_file():
            return path
    return None


@dg.sensor(
    name="certifications_sensor",
    job=score_job,
    minimum_interval_seconds=60,
    description="Rescores the latest scored month when certifications.(csv|parquet) changes.",
)
def certifications_sensor(context: dg.SensorEvaluationContext, data_folder: DataFolder, results_db: ResultsDatabase):
    path = _certifications_file(data_folder.resolved())
    if path is None:
        return dg.SkipReason("no certifications file in the data folder")
    mtime_ns = path.stat().st_mtime_ns
    stamp = f"{path.name}@{mtime_ns}"
    if context.cursor == stamp:
        return dg.SkipReason(f"{path.name} unchanged")

    scored = store.read_frame(results_db.engine(), "scored_months").sort("month")
    if scored.is_empty():
        return dg.SensorResult(skip_reason="no month scored yet", cursor=stamp)
    latest = scored.row(-1, named=True)
    month: dt.date = latest["month"]
    modified = dt.datetime.fromtimestamp(mtime_ns / 1e9, dt.UTC)
    if context.cursor is None and latest["materialized_at"] >= modified:
        return dg.SensorResult(skip_reason=f"{month:%Y-%m} was scored after {path.name} last changed", cursor=stamp)
    if month not in set(partition_months()):
        return dg.SensorResult(skip_reason=f"latest scored month {month:%Y-%m} is not a partition", cursor=stamp)
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"{stamp}:{month:%Y-%m}",
                partition_key=partition_key(month),
                tags={"pcs/trigger": f"{path.name} changed"},
            )
        ],
        asset_events=[
            dg.AssetObservation(
                CERTIFICATIONS,
                metadata={"path": str(path), "modified": modified.isoformat(timespec="seconds")},
            )
        ],
        cursor=stamp,
    )


SCHEDULES = [monthly_schedule]
SENSORS = [new_month_sensor, certifications_sensor]
