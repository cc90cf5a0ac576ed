"""Webhooks in Dagster: the ``webhook_events`` asset (a month's alert events, computed from its
stored results and the month before's, written into the outbox) and the
``webhook_delivery_sensor`` (delivers what is pending and due; on by default). Delivery is never
part of a scoring run. Why an outbox: docs/architecture.md, "Webhooks"."""

import datetime as dt
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import polars as pl
from sqlalchemy.engine import make_url

from orchestration.delivery import deliver_due
from orchestration.months import span
from orchestration.partitions import BACKFILL_POLICY, MONTHLY, months_of_window
from orchestration.resources import DataFolder, ResultsDatabase
from orchestration.specs import DESIGNATIONS
from scoring import events, forecast, ingest
from scoring.calendar import add_months, month_range
from scoring.frames import MissingSnapshotError
from scoring.rulebook import load_rulebooks
from storage import results as store
from storage import webhooks

WEBHOOK_EVENTS = dg.AssetKey("webhook_events")
POOL = "results_db"
SENSOR_BUDGET_S = 40.0
"""A sensor tick stops sending after this long (Dagster gives a sensor evaluation 60 s)."""


def projected_lapses(
    engine, *, month: dt.date, directory: Path, certifications: pl.DataFrame, rulebooks
) -> pl.DataFrame | None:
    """Each partner qualified in ``month`` (an attained month among it and the five before): its
    projected lapse month from ``month``
    (``events.LAPSE_SCHEMA``: the first of the ``AT_RISK_MONTHS`` projected months whose
    six-month window holds no attained month, null if none), for ``qualification.at_risk``.
    The projection is ``scoring.forecast`` (``month``'s snapshot copied forward, every partner
    at once, the real snapshots read one at a time); the window's real months are the stored
    designations. None (no at_risk events) when ``month`` is not scored or its snapshots are
    not all there."""
    first = add_months(month, 1 - forecast.WINDOW)
    history = store.read_frame(engine, "designations", months=month_range(first, month))
    if history.filter(pl.col("month") == month).is_empty():
        return None
    # only partners qualified now (an attained month in the window) have a qualification to lose
    partner_ids = history.filter(pl.col("attained"))["partner_id"].unique().sort()
    if partner_ids.is_empty():
        return pl.DataFrame(schema=events.LAPSE_SCHEMA)

    def load(n: dt.date):
        snap = next(snapshots)
        return snap.usage, snap.associations

    try:
        snapshots = ingest.iter_snapshots(directory, forecast.snapshots_needed(month), rulebooks=rulebooks)
        projected = forecast.forecast_streamed(
            rulebooks=rulebooks,
            load=load,
            certifications=certifications,
            partner_ids=partner_ids,
            from_month=month,
            months=events.AT_RISK_MONTHS,
        )
    except MissingSnapshotError:
        return None
    return forecast.lapse_months(history, projected.designations, month, partner_ids=partner_ids)


def compute_month(
    engine, *, month: dt.date, directory: Path, certifications: pl.DataFrame, rulebooks, lapses=None
) -> pl.DataFrame | None:
    """The events of stored ``month`` (None: it is not scored). ``lapses(month)``: the projected
    lapses from a month (default ``projected_lapses``; ``queue_events`` passes one that keeps
    each month's, so consecutive months project each month once)."""
    before = add_months(month, -1)
    designations = store.read_frame(engine, "designations", months=[before, month])
    if designations.filter(pl.col("month") == month).is_empty():
        return None
    points = store.read_frame(engine, "metric_points", months=[before, month])
    scored_before = not designations.filter(pl.col("month") == before).is_empty()
    if lapses is None:
        lapses = lapses_of(engine, directory=directory, certifications=certifications, rulebooks=rulebooks)
    # at_risk only for the folder's latest month: a projection of an earlier month assumes later
    # snapshots that the folder contradicts, and a backfill would pay one projection per month
    # (docs/architecture.md, "Webhooks")
    forecasting = month == max(ingest.list_months(directory), default=None)
    return events.month_events(
        month=month,
        designations=designations,
        metric_points=points,
        certifications=certifications,
        rulebook=rulebooks.for_month(month),
        designations_before=designations if scored_before else None,
        metric_points_before=points if scored_before else None,
        rulebook_before=rulebooks.for_month(before) if scored_before else None,
        lapse=lapses(month) if forecasting else None,
        lapse_before=lapses(before) if scored_before and forecasting else None,
    )


def lapses_of(engine, *, directory: Path, certifications: pl.DataFrame, rulebooks):
    """``month -> projected_lapses(month)``, each month projected once."""
    kept: dict[dt.date, pl.DataFrame | None] = {}

    def lapses(month: dt.date) -> pl.DataFrame | None:
        if month not in kept:
            kept[month] = projected_lapses(
                engine, month=month, directory=directory, certifications=certifications, rulebooks=rulebooks
            )
        return kept[month]

    return lapses


@dataclass
class Queued:
    """What ``queue_events`` did over a range of months."""

    computed: Counter = field(default_factory=Counter)  # events per type
    new: Counter = field(default_factory=Counter)  # of which new in the outbox
    deliveries: int = 0
    not_scored: list[dt.date] = field(default_factory=list)

    def metadata(self, months: list[dt.date]) -> dict:
        """The ``webhook_events`` materialization metadata: events by type, new and in all."""
        return {
            "months": span(months),
            "not scored": span(self.not_scored) if self.not_scored else "none",
            "events": sum(self.computed.values()),
            "new events": sum(self.new.values()),
            "deliveries created": self.deliveries,
            **{f"events ({t})": self.computed.get(t, 0) for t in events.EVENT_TYPES},
            **{f"new events ({t})": self.new.get(t, 0) for t in events.EVENT_TYPES},
        }


def queue_events(engine, *, months: list[dt.date], directory: Path, log) -> Queued:
    """Compute the events of stored ``months`` (in order) and put them into the outbox, with a
    delivery for each subscription that exists now and wants them (``webhooks.record_events``:
    events already there are not added again)."""
    certifications = ingest.read_certifications(directory)
    rulebooks = load_rulebooks()
    queued = Queued()
    lapses = lapses_of(engine, directory=directory, certifications=certifications, rulebooks=rulebooks)
    for month in sorted(months):
        frame = compute_month(
            engine,
            month=month,
            directory=directory,
            certifications=certifications,
            rulebooks=rulebooks,
            lapses=lapses,
        )
        if frame is None:
            queued.not_scored.append(month)
            log.warning(f"{month:%Y-%m} is not scored: no events")
            continue
        queued.computed.update(dict(frame.group_by("type").len().rows()))
        recorded = webhooks.record_events(engine, events=frame)
        queued.new.update(recorded.by_type)
        queued.deliveries += recorded.deliveries
        log.info(f"{month:%Y-%m}: {frame.height} events, {recorded.events} new, {recorded.deliveries} deliveries")
    return queued


def _webhook_events(
    context: dg.AssetExecutionContext, data_folder: DataFolder, results_db: ResultsDatabase
) -> dg.MaterializeResult:
    months = months_of_window(context.partition_time_window)
    queued = queue_events(results_db.engine(), months=months, directory=data_folder.resolved(), log=context.log)
    return dg.MaterializeResult(metadata=queued.metadata(months))


with warnings.catch_warnings():  # backfill_policy is a beta parameter of @asset
    warnings.simplefilter("ignore", dg.BetaWarning)
    webhook_events = dg.asset(
        key=WEBHOOK_EVENTS,
        deps=[DESIGNATIONS],
        partitions_def=MONTHLY,
        backfill_policy=BACKFILL_POLICY,
        pool=POOL,
        group_name="alerts",
        kinds={"polars", "sql"},
        description=(
            "The month's alert events (month.scored, designation.gained/lost, metric.below_minimum, "
            "certification.expiring, qualification.at_risk), from its stored results and the month "
            "before's, written into the outbox (table `webhook_event`) with a delivery for each "
            "subscription that exists now. Events already there are not added again. "
            "The webhook_delivery_sensor sends them."
        ),
        metadata={"dagster/table_name": "webhook_event"},
    )(_webhook_events)


def _no_database(url: str) -> bool:
    """A SQLite results file that does not exist yet (the sensor does not create it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return False
    return not Path(parsed.database).exists()


@dg.sensor(
    name="webhook_delivery_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Delivers the webhook events that are pending and due (pcs webhook deliver does the same "
        "once). Starts no run: a failing receiver never touches scoring."
    ),
)
def webhook_delivery_sensor(context: dg.SensorEvaluationContext, results_db: ResultsDatabase):
    if _no_database(results_db.resolved_url()):
        return dg.SkipReason("no results database yet")
    outcome = deliver_due(results_db.engine(), limit=100, budget_s=SENSOR_BUDGET_S)
    context.log.info(f"webhooks: {outcome}")
    return dg.SkipReason(f"webhooks: {outcome}")
