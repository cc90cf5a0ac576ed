"""Webhooks in Dagster: the ``webhook_events`` asset (a month's alert events, computed from its
stored results and the month before's, written into the outbox) and the
``webhook_delivery_sensor`` (delivers what is pending and due; on by default). Delivery is never
part of a scoring run. Why an outbox: docs/architecture.md, "Webhooks"."""

import datetime as dt
import logging
import time
import warnings
from collections import Counter
from collections.abc import Callable
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
from scoring.ingest.slices import SnapshotCache
from scoring.rulebook import load_rulebooks
from storage import results as store
from storage import webhooks

WEBHOOK_EVENTS = dg.AssetKey("webhook_events")
LOGGER = logging.getLogger("pcs.pipeline")
"""Progress lines also go here, beside the run's log (``pcs backfill`` shows them)."""
Say = Callable[[str], None]
POOL = "results_db"
SENSOR_BUDGET_S = 40.0
"""A sensor tick stops sending after this long (Dagster gives a sensor evaluation 60 s)."""


SLICE_SHARE = 0.1
"""A projection reads the partners' slices of the snapshots when they are at most this share of
the partners scored in the month, else the whole snapshots one at a time (docs/architecture.md,
"Webhooks")."""
CACHED_MONTHS = 13
"""M-12..M: the snapshots of the projections from M and from M-1."""


def projected_lapses(
    engine,
    *,
    month: dt.date,
    directory: Path,
    certifications: pl.DataFrame,
    rulebooks,
    partner_ids: pl.Series | None = None,
    cache: Callable[[pl.Series], SnapshotCache] | None = None,
    say: Say | None = None,
) -> pl.DataFrame | None:
    """Each partner qualified in ``month`` (an attained month among it and the five before; of
    ``partner_ids`` only, when given): its projected lapse month from ``month``
    (``events.LAPSE_SCHEMA``: the first of the ``AT_RISK_MONTHS`` projected months whose
    six-month window holds no attained month, null if none), for ``qualification.at_risk``.
    The projection is ``scoring.forecast`` (``month``'s snapshot copied forward); the window's
    real months are the stored designations. None (no at_risk events) when ``month`` is not
    scored or its snapshots are not all there.

    A partner's projection depends on its own rows only, so when the partners are few
    (``SLICE_SHARE``) they are projected from their slice of the snapshots
    (``SnapshotCache.partner_snapshots``, as the API projects one partner; ``cache(partners)``:
    the cache to read them from, shared by the projections of a run, which read the same
    months), else from the whole snapshots read one at a time."""
    first = add_months(month, 1 - forecast.WINDOW)
    history = store.read_frame(engine, "designations", months=month_range(first, month))
    scored = history.filter(pl.col("month") == month).height
    if not scored:
        return None
    # only partners qualified now (an attained month in the window) have a qualification to lose
    qualified = history.filter(pl.col("attained"))["partner_id"].unique().sort()
    if qualified.is_empty():
        return pl.DataFrame(schema=events.LAPSE_SCHEMA)
    needed = forecast.snapshots_needed(month)
    wanted = qualified if partner_ids is None else qualified.filter(qualified.is_in(partner_ids.implode()))
    t0 = time.perf_counter()
    try:
        if wanted.is_empty():  # nobody to project: None exactly when projecting the others would be
            if missing := sorted(set(needed) - set(ingest.list_months(directory))):
                raise MissingSnapshotError(missing, needed_by=f"projecting from {month:%Y-%m}")
            return pl.DataFrame(schema=events.LAPSE_SCHEMA)
        sliced = wanted.len() <= SLICE_SHARE * scored
        if say is not None:
            how = "their snapshot slices" if sliced else "the whole snapshots"
            say(f"webhook events: projecting {wanted.len()} of {scored} partners from {month:%Y-%m} ({how})")
        if sliced:
            snapshots = cache(wanted) if cache is not None else SnapshotCache(max_months=len(needed), partners=wanted)
            projected = forecast.forecast(
                rulebooks=rulebooks,
                snapshots=snapshots.partner_snapshots(
                    directory, wanted, needed, needed_by=f"projecting from {month:%Y-%m}", rulebooks=rulebooks
                ),
                certifications=certifications.filter(pl.col("partner_id").is_in(wanted.implode())),
                partner_ids=wanted,
                from_month=month,
                months=events.AT_RISK_MONTHS,
            )
        else:
            projected = _project_streamed(month, directory, certifications, rulebooks, wanted)
    except MissingSnapshotError:
        if say is not None:
            say(f"webhook events: no projection from {month:%Y-%m}, snapshots missing: no at_risk events")
        return None
    lapses = forecast.lapse_months(history, projected.designations, month, partner_ids=wanted)
    if say is not None:
        lapsing = lapses["lapse_month"].is_not_null().sum()
        say(
            f"webhook events: projected {wanted.len()} partners from {month:%Y-%m} in "
            f"{time.perf_counter() - t0:.1f}s, {lapsing} lapsing within {events.AT_RISK_MONTHS} months"
        )
    return lapses


def _project_streamed(month: dt.date, directory: Path, certifications: pl.DataFrame, rulebooks, partner_ids):
    """Every partner of ``partner_ids`` projected from ``month``, holding one real snapshot at a time."""

    def load(n: dt.date):
        snap = next(snapshots)
        return snap.usage, snap.associations

    snapshots = ingest.iter_snapshots(directory, forecast.snapshots_needed(month), rulebooks=rulebooks)
    return forecast.forecast_streamed(
        rulebooks=rulebooks,
        load=load,
        certifications=certifications,
        partner_ids=partner_ids,
        from_month=month,
        months=events.AT_RISK_MONTHS,
    )


def compute_month(
    engine,
    *,
    month: dt.date,
    directory: Path,
    certifications: pl.DataFrame,
    rulebooks,
    lapses=None,
    stored=None,
    say: Say | None = None,
) -> pl.DataFrame | None:
    """The events of stored ``month`` (None: it is not scored). ``lapses(month, partner_ids)``:
    the projected lapses from a month, of every qualified partner (``partner_ids`` None) or of
    those given (default: ``lapses_of``, over ``projected_lapses``). ``stored(months)``: the
    stored designations and metric points of the months (default: ``stored_results``)."""
    before = add_months(month, -1)
    designations, points = (stored or stored_results(engine))([before, month])
    if designations.filter(pl.col("month") == month).is_empty():
        return None
    scored_before = not designations.filter(pl.col("month") == before).is_empty()
    if lapses is None:
        lapses = lapses_of(engine, directory=directory, certifications=certifications, rulebooks=rulebooks, say=say)
    # at_risk only for the folder's latest month: a projection of an earlier month assumes later
    # snapshots that the folder contradicts, and a backfill would pay one projection per month
    # (docs/architecture.md, "Webhooks")
    forecasting = month == max(ingest.list_months(directory), default=None)
    lapse = lapses(month, None) if forecasting else None
    lapse_before = None
    if lapse is not None and scored_before:
        # the lapses from M-1 matter only for the partners whose lapse from M can be reported
        now = designations.filter(pl.col("month") == month)
        lapsing = events.lapsing(month, now, lapse)["partner_id"]
        lapse_before = lapses(before, lapsing) if lapsing.len() else pl.DataFrame(schema=events.LAPSE_SCHEMA)
    return events.month_events(
        month=month,
        designations=designations,
        metric_points=points,
        certifications=certifications,
        rulebook=rulebooks.for_month(month),
        designations_before=designations if scored_before else None,
        metric_points_before=points if scored_before else None,
        rulebook_before=rulebooks.for_month(before) if scored_before else None,
        lapse=lapse,
        lapse_before=lapse_before,
    )


def stored_results(engine):
    """``months -> (designations, metric_points)`` of those stored months, each month read once
    while asked for in consecutive calls (``queue_events`` asks for M-1 and M, then M and M+1)."""
    kept: dict[dt.date, tuple[pl.DataFrame, pl.DataFrame]] = {}

    def stored(months: list[dt.date]) -> tuple[pl.DataFrame, pl.DataFrame]:
        wanted = sorted(set(months))
        for m in [k for k in kept if k not in wanted]:
            del kept[m]
        for m in wanted:
            if m not in kept:
                kept[m] = (
                    store.read_frame(engine, "designations", months=[m]),
                    store.read_frame(engine, "metric_points", months=[m]),
                )
        return pl.concat([kept[m][0] for m in wanted]), pl.concat([kept[m][1] for m in wanted])

    return stored


def lapses_of(engine, *, directory: Path, certifications: pl.DataFrame, rulebooks, say: Say | None = None):
    """``(month, partner_ids) -> projected_lapses(month, partner_ids)``, each asked once; the
    projections share one snapshot cache (M's and M-1's read M-12..M: each month read once),
    holding only the associations of the partners projected from M (M-1's projection is of
    partners lapsing from M, a subset of them)."""
    kept: dict[tuple[dt.date, tuple[str, ...] | None], pl.DataFrame | None] = {}
    held: list[SnapshotCache] = []

    def cache(partners: pl.Series) -> SnapshotCache:
        if not (held and held[0].keeps(partners)):
            held[:] = [SnapshotCache(max_months=CACHED_MONTHS, partners=partners)]
        return held[0]

    def lapses(month: dt.date, partner_ids: pl.Series | None = None) -> pl.DataFrame | None:
        key = (month, None if partner_ids is None else tuple(partner_ids.to_list()))
        if key not in kept:
            kept[key] = projected_lapses(
                engine,
                month=month,
                directory=directory,
                certifications=certifications,
                rulebooks=rulebooks,
                partner_ids=partner_ids,
                cache=cache,
                say=say,
            )
        return kept[key]

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

    def say(message: str) -> None:
        log.info(message)
        LOGGER.info(message)

    lapses = lapses_of(engine, directory=directory, certifications=certifications, rulebooks=rulebooks, say=say)
    stored = stored_results(engine)
    for month in sorted(months):
        t0 = time.perf_counter()
        frame = compute_month(
            engine,
            month=month,
            directory=directory,
            certifications=certifications,
            rulebooks=rulebooks,
            lapses=lapses,
            stored=stored,
        )
        if frame is None:
            queued.not_scored.append(month)
            log.warning(f"{month:%Y-%m} is not scored: no events")
            LOGGER.warning(f"webhook events {month:%Y-%m}: not scored, no events")
            continue
        queued.computed.update(dict(frame.group_by("type").len().rows()))
        recorded = webhooks.record_events(engine, events=frame)
        queued.new.update(recorded.by_type)
        queued.deliveries += recorded.deliveries
        say(
            f"webhook events {month:%Y-%m}: {frame.height} events, {recorded.events} new, "
            f"{recorded.deliveries} deliveries in {time.perf_counter() - t0:.1f}s"
        )
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
