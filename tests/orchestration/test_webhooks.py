"""Webhooks end to end, on a real SQLite file and PostgreSQL: ``score_months_job`` (the job
``pcs backfill`` runs) scores the example months and puts their events into the outbox; a test
receiver on 127.0.0.1 gets them from ``deliver_due`` and from the ``webhook_delivery_sensor``,
signed; a partner subscription gets only its partner's events; a receiver answering 500 gets the
event again later; a rescored month sends nothing twice; a failing receiver never fails or holds
back scoring."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from orchestration import definitions, parallel
from orchestration import partitions as P
from orchestration import webhooks as OW
from orchestration.delivery import deliver_due
from orchestration.resources import ResultsDatabase, resource_config
from pcs.generate import generate
from scoring import events as E
from scoring import forecast, ingest
from scoring.calendar import add_months, month_range
from scoring.rulebook import load_rulebooks
from storage import results as R
from storage import webhooks as W
from storage.engines import get_engine
from tests.support.inputs import EXAMPLE
from tests.support.ports import free_port
from tests.support.webhook_receiver import receiver

pytestmark = pytest.mark.skipif(not EXAMPLE.exists(), reason="shared/examples/small is missing")

MONTHS = [dt.date(2024, 2, 1), dt.date(2024, 3, 1), dt.date(2024, 4, 1)]
PARTNER = "P000003"  # has a certification.expiring event in 2024-03


def score(db_url: str, months: list[dt.date] = MONTHS, data: Path = EXAMPLE) -> dg.ExecuteInProcessResult:
    """``score_months_job`` over ``months`` into ``db_url`` (as ``pcs backfill`` runs it)."""
    key, tags = P.run_target(months)
    return definitions.asset_job().execute_in_process(
        partition_key=key,
        tags=tags,
        run_config={"resources": resource_config(data=str(data), database=db_url)},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def soon() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)


def events_metadata(result: dg.ExecuteInProcessResult) -> dict:
    (first, *_) = [
        e.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.asset_key == OW.WEBHOOK_EVENTS
    ]
    return {k: v.value for k, v in first.items()}


def test_every_event_reaches_its_subscribers_signed_and_partners_only_their_own(db_url):
    engine = get_engine(db_url)
    with receiver() as rx:
        admin = W.add_subscription(engine, url=rx.at("/admin"), secret="admin-secret")
        W.add_subscription(engine, url=rx.at("/partner"), secret="p-secret", partner_id=PARTNER, allow_unknown=True)
        W.add_subscription(
            engine, url=rx.at("/lost"), secret="l", event_types=[E.DESIGNATION_LOST, E.DESIGNATION_GAINED]
        )
        result = score(db_url)
        assert result.success
        assert rx.received == []  # scoring delivers nothing itself
        outbox = W.read_events(engine)
        meta = events_metadata(result)
        assert meta["events"] == meta["new events"] == outbox.height > 0
        assert meta[f"events ({E.MONTH_SCORED})"] == len(MONTHS)
        for t in E.EVENT_TYPES:
            assert meta[f"events ({t})"] == outbox.filter(pl.col("type") == t).height

        outcome = deliver_due(engine, now=soon())
        assert outcome.statuses == {W.DELIVERED: outcome.attempted}

        # the admin subscription: every event once, signed with its secret, headers as the body says
        got = rx.to("/admin")
        assert sorted(r.json["id"] for r in got) == sorted(outbox["id"].to_list())
        for r in got:
            assert r.signed_with("admin-secret") and not r.signed_with("p-secret")
            body = r.json
            assert set(body) == {"id", "type", "createdAt", "month", "partnerId", "data"}
            assert r.headers["X-PCS-Event-Id"] == body["id"] and r.headers["X-PCS-Event-Type"] == body["type"]
            assert r.headers["Content-Type"] == "application/json"
            assert abs(int(r.headers["X-PCS-Timestamp"]) - dt.datetime.now(dt.UTC).timestamp()) < 120
            row = outbox.filter(pl.col("id") == body["id"]).row(0, named=True)
            assert (body["type"], body["month"], body["partnerId"]) == (
                row["type"],
                f"{row['month']:%Y-%m}",
                row["partner_id"],
            )
            assert body["data"] == json.loads(row["data"])
        # the partner subscription: its partner's events only, and never month.scored
        mine = outbox.filter(pl.col("partner_id") == PARTNER)
        assert mine.height > 0
        assert sorted(r.json["id"] for r in rx.to("/partner")) == sorted(mine["id"].to_list())
        assert all(r.signed_with("p-secret") for r in rx.to("/partner"))
        # the typed subscription: its types only
        typed = outbox.filter(pl.col("type").is_in([E.DESIGNATION_LOST, E.DESIGNATION_GAINED]))
        assert sorted(r.json["id"] for r in rx.to("/lost")) == sorted(typed["id"].to_list())
        assert {d.status for d in W.list_deliveries(engine) if d.subscription_id == admin} == {W.DELIVERED}

        # rescoring months: no new event, nothing sent again
        count = len(rx.received)
        again = score(db_url, MONTHS[1:])
        assert again.success
        assert events_metadata(again)["new events"] == 0
        assert deliver_due(engine, now=soon()).attempted == 0
        assert len(rx.received) == count
        assert W.read_events(engine).equals(outbox)


def test_a_receiver_answering_500_gets_the_event_again_later(db_url):
    engine = get_engine(db_url)
    with receiver() as rx:
        answers = iter([500])
        rx.answer = lambda r: next(answers, 200)
        W.add_subscription(engine, url=rx.at("/hook"), secret="s", event_types=[E.MONTH_SCORED])
        assert score(db_url, MONTHS[:1]).success
        t = soon()
        first = deliver_due(engine, now=t)
        assert first.statuses == {W.PENDING: 1}
        (info,) = W.list_deliveries(engine)
        assert (info.attempts, info.last_status, info.last_error) == (1, 500, "HTTP 500")
        assert deliver_due(engine, now=t + dt.timedelta(seconds=29)).attempted == 0  # not due yet
        assert len(rx.received) == 1
        later = deliver_due(engine, now=t + W.backoff(1))
        assert later.statuses == {W.DELIVERED: 1}
        assert len(rx.received) == 2 and rx.received[0].body == rx.received[1].body
        (info,) = W.list_deliveries(engine)
        assert (info.status, info.attempts, info.last_status) == (W.DELIVERED, 2, 200)


def test_a_failing_receiver_never_fails_or_blocks_scoring(db_url):
    engine = get_engine(db_url)
    with receiver() as rx:
        rx.answer = lambda r: 500
        W.add_subscription(engine, url=rx.at("/down"), secret="s")
        W.add_subscription(engine, url=f"http://127.0.0.1:{free_port()}/refused", secret="s")  # nobody listens
        assert score(db_url, MONTHS[:2]).success
        t = soon()
        for _ in range(500):  # a URL that does not answer gets one attempt per call
            if not W.list_deliveries(engine, status=W.PENDING):
                break
            deliver_due(engine, now=t)
            t += W.MAX_RETRY
        failed = W.list_deliveries(engine, status=W.FAILED)
        assert len(failed) == len(W.list_deliveries(engine)) > 0
        assert any(d.last_status is None and d.last_error for d in failed)  # the refused connection
        # scoring goes on: a new month and a rescored one are written, and their events queued
        result = score(db_url, MONTHS[1:])
        assert result.success
        assert R.months_scored(engine) == MONTHS
        pending = W.list_deliveries(engine, status=W.PENDING)
        assert {d.month for d in pending} == {MONTHS[2]}


def test_the_sensor_delivers_and_is_on_by_default(db_url):
    sensor = definitions.defs.get_sensor_def("webhook_delivery_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert not sensor.targets  # it starts no run
    engine = get_engine(db_url)
    with receiver() as rx:
        W.add_subscription(engine, url=rx.at("/hook"), secret="s", event_types=[E.MONTH_SCORED])
        assert score(db_url, MONTHS[:2]).success
        with dg.build_sensor_context(resources={"results_db": ResultsDatabase(url=db_url)}) as context:
            data = sensor.evaluate_tick(context)
        assert not data.run_requests
        assert "2 delivered" in data.skip_message
        assert sorted(r.json["month"] for r in rx.received) == ["2024-02", "2024-03"]
        with dg.build_sensor_context(resources={"results_db": ResultsDatabase(url=db_url)}) as context:
            assert "no delivery due" in sensor.evaluate_tick(context).skip_message


def test_the_sensor_creates_no_database(tmp_path):
    sensor = definitions.defs.get_sensor_def("webhook_delivery_sensor")
    url = f"sqlite:///{tmp_path / 'none.sqlite'}"
    with dg.build_sensor_context(resources={"results_db": ResultsDatabase(url=url)}) as context:
        assert sensor.evaluate_tick(context).skip_message == "no results database yet"
    assert not (tmp_path / "none.sqlite").exists()


def test_the_scoring_job_runs_the_events_asset_after_the_results():
    job = definitions.asset_job()
    assert set(job.graph.node_names()) == {"score_months", "webhook_events"}
    assert OW.webhook_events.op.pool == "results_db"
    deps = definitions.defs.resolve_asset_graph().get(OW.WEBHOOK_EVENTS).parent_keys
    assert deps == {dg.AssetKey("designations")}


def test_the_parallel_job_queues_the_same_events(db_url, tmp_path):
    """``pcs backfill --parallel`` (``score_months_parallel_job``) queues what the asset job does."""
    engine = get_engine(db_url)
    with receiver() as rx:
        W.add_subscription(engine, url=rx.at("/admin"), secret="s")
        assert score(db_url).success
        want = W.read_events(engine)
        # a fresh database through the parallel job (in-process executor, as test_idempotence runs it)
        other = f"sqlite:///{tmp_path / 'parallel.sqlite'}"
        job = definitions.defs.resolve_job_def(parallel.JOB_NAME)
        config = parallel.run_config(first=MONTHS[0], last=MONTHS[-1], data=str(EXAMPLE), database=other)
        config.pop("execution", None)
        with dg.DagsterInstance.ephemeral() as instance:
            result = job.execute_in_process(run_config=config, instance=instance, raise_on_error=False)
        assert result.success
        materialized = {
            e.partition for e in result.get_asset_materialization_events() if e.asset_key == OW.WEBHOOK_EVENTS
        }
        assert materialized == {P.partition_key(m) for m in MONTHS}
        got = W.read_events(get_engine(other))
        assert got.drop("data").equals(want.drop("data"))
        assert got["data"].to_list() == want["data"].to_list()


def folder_until(last: dt.date, tmp_path: Path) -> Path:
    """The example folder as it was when ``last`` was its latest month (month folders linked)."""
    data = tmp_path / "data"
    (data / "months").mkdir(parents=True)
    for item in EXAMPLE.iterdir():
        if item.name != "months":
            (data / item.name).symlink_to(item)
    for folder in (EXAMPLE / "months").iterdir():
        if folder.name <= f"{last:%Y-%m}":
            (data / "months" / folder.name).symlink_to(folder)
    return data


def test_projected_lapses_become_at_risk_events(db_url, monkeypatch, tmp_path):
    """Where the projection is wired in: ``orchestration.webhooks.projected_lapses``."""
    feb, mar = MONTHS[:2]
    data = folder_until(mar, tmp_path)

    def lapses(engine, *, month, directory, certifications, rulebooks, partner_ids, cache, say):
        assert directory == data and not certifications.is_empty()
        # every partner from March; from February only those lapsing from March
        assert partner_ids is None if month == mar else partner_ids.to_list() == [PARTNER]
        at = {mar: dt.date(2024, 9, 1)}.get(month)  # from March: lapses in September (M + 6)
        return pl.DataFrame({"partner_id": [PARTNER], "lapse_month": [at]}, schema=E.LAPSE_SCHEMA)

    monkeypatch.setattr(OW, "projected_lapses", lapses)
    assert score(db_url, [feb, mar], data).success
    outbox = W.read_events(get_engine(db_url))
    at_risk = outbox.filter(pl.col("type") == E.QUALIFICATION_AT_RISK)
    assert at_risk.select("month", "partner_id", "subject").rows() == [(mar, PARTNER, "2024-09")]
    assert json.loads(at_risk["data"][0]) == {"lapseMonth": "2024-09", "previousLapseMonth": None, "monthsLeft": 6}


def test_a_silent_url_is_tried_once_per_call_and_holds_back_no_other(db_url):
    engine = get_engine(db_url)
    with receiver() as rx:
        W.add_subscription(engine, url=f"http://127.0.0.1:{free_port()}/refused", secret="s")
        W.add_subscription(engine, url=rx.at("/up"), secret="s")
        assert score(db_url, MONTHS[:1]).success
        per_subscription = len(W.list_deliveries(engine)) // 2
        assert per_subscription > 1
        t = soon()
        assert deliver_due(engine, now=t, budget_s=0).attempted == 0  # no time: nothing sent
        outcome = deliver_due(engine, now=t)
        assert outcome.statuses == {W.DELIVERED: per_subscription, W.PENDING: 1}
        assert len(rx.to("/up")) == per_subscription
        # the refused URL's other deliveries were claimed and wait for the lease, unattempted
        refused = [d for d in W.list_deliveries(engine) if d.status == W.PENDING]
        assert sorted(d.attempts for d in refused) == [0] * (per_subscription - 1) + [1]
        assert deliver_due(engine, now=t + W.LEASE).statuses == {W.PENDING: 1}


@pytest.mark.parametrize("latest", [dt.date(2024, 5, 1), dt.date(2024, 6, 1)])
def test_at_risk_events_follow_the_projection_in_the_latest_month(db_url, tmp_path, latest):
    """The real projection (scoring.forecast from each month's snapshot, the partners qualified
    then): an event exactly where the lapse from M is within M+6 and the lapse from M-1 was not
    within M+5, for the data folder's latest month M only (earlier months have real later
    snapshots: no projection, no at_risk)."""
    spring = [dt.date(2024, 4, 1), dt.date(2024, 5, 1), dt.date(2024, 6, 1)]  # P000003: at risk in May
    spring = [m for m in spring if m <= latest]
    assert score(db_url, spring, folder_until(latest, tmp_path)).success
    at_risk = W.read_events(get_engine(db_url)).filter(pl.col("type") == E.QUALIFICATION_AT_RISK)
    books = load_rulebooks()
    certs = ingest.read_certifications(EXAMPLE)
    stored = R.read_frame(get_engine(db_url), "designations")
    history = stored  # the window's real months: those stored (others count as not attained)
    snaps = ingest.read_snapshots(EXAMPLE, month_range(dt.date(2023, 1, 1), spring[-1]))

    def lapse(m: dt.date) -> dict[str, dt.date | None]:
        window = stored.filter(pl.col("month").is_between(add_months(m, -5), m))
        ids = window.filter(pl.col("attained"))["partner_id"].unique().sort()  # qualified in m
        projected = forecast.forecast(
            rulebooks=books, snapshots=snaps, certifications=certs, partner_ids=ids, from_month=m, months=6
        )
        return dict(forecast.lapse_months(history, projected.designations, m, partner_ids=ids).rows())

    want = []
    for m in [latest]:  # its month before is scored
        now, before = lapse(m), lapse(add_months(m, -1))
        for pid, at in sorted(now.items()):
            soon = at is not None and at <= add_months(m, 6)
            was = before.get(pid) is not None and before[pid] <= add_months(m, 5)
            if soon and not was:
                want.append((m, pid, f"{at:%Y-%m}"))
    assert want or latest != dt.date(2024, 5, 1)  # the example reaches it in May
    assert at_risk.select("month", "partner_id", "subject").sort("month", "partner_id").rows() == want


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A generated folder of 1,500 partners, 2023-11..2024-12 (what 2024-11 and 2024-12 need)."""
    data = tmp_path_factory.mktemp("generated") / "data"
    generate(data, partners=1500, months=14, start="2023-11", seed=3)
    return data


@pytest.mark.parametrize("share", [0.0, 1.0], ids=["whole-snapshots", "partner-slices"])
def test_the_events_are_those_of_projecting_every_qualified_partner_both_months(
    db_url, generated, monkeypatch, caplog, share
):
    """``compute_month`` projects M-1 only for the partners lapsing from M, and reads partner
    slices when they are few (``SLICE_SHARE``): its events equal, byte for byte, those of the
    plain computation (every partner qualified in M and in M-1 projected from the whole
    snapshots, both lapse frames in full). The webhook step says what it projects."""
    monkeypatch.setattr(OW, "SLICE_SHARE", share)
    latest, data = dt.date(2024, 12, 1), generated
    before = add_months(latest, -1)
    with caplog.at_level("INFO", logger="pcs.pipeline"):
        assert score(db_url, [before, latest], data).success
    engine = get_engine(db_url)
    books = load_rulebooks()
    certs = ingest.read_certifications(data)
    stored = R.read_frame(engine, "designations")
    points = R.read_frame(engine, "metric_points")
    snaps = ingest.read_snapshots(data, month_range(add_months(before, -11), latest))

    def lapse(m: dt.date) -> pl.DataFrame:
        window = stored.filter(pl.col("month").is_between(add_months(m, -5), m))
        ids = window.filter(pl.col("attained"))["partner_id"].unique().sort()
        projected = forecast.forecast(
            rulebooks=books, snapshots=snaps, certifications=certs, partner_ids=ids, from_month=m, months=6
        )
        return forecast.lapse_months(window, projected.designations, m, partner_ids=ids)

    now, was = lapse(latest), lapse(before)
    want = E.month_events(
        month=latest,
        designations=stored,
        metric_points=points,
        certifications=certs,
        rulebook=books.for_month(latest),
        designations_before=stored,
        metric_points_before=points,
        rulebook_before=books.for_month(before),
        lapse=now,
        lapse_before=was,
    )
    # the folder has both: partners at risk, and partners lapsing from M that already were from
    # M-1; and partners qualified in M-1 that do not lapse from M (not projected from M-1 now)
    lapsing = now.drop_nulls("lapse_month")
    assert want.filter(pl.col("type") == E.QUALIFICATION_AT_RISK).height > 0
    assert lapsing.join(was.drop_nulls("lapse_month"), on="partner_id", how="semi").height > 0
    assert was.join(lapsing, on="partner_id", how="anti").height > 0
    got = OW.compute_month(engine, month=latest, directory=data, certifications=certs, rulebooks=books)
    assert got is not None and got.equals(want)
    assert got.write_ipc(None).getvalue() == want.write_ipc(None).getvalue()
    outbox = W.read_events(engine).filter(pl.col("month") == latest).sort("id")
    assert outbox.select("id", "data").equals(want.select("id", "data").sort("id"))
    lines = [r.getMessage() for r in caplog.records if r.name == "pcs.pipeline" and "webhook events" in r.getMessage()]
    how = "their snapshot slices" if share else "the whole snapshots"
    assert any(f"from {latest:%Y-%m} ({how})" in line for line in lines)
    assert any(f"from {before:%Y-%m} ({how})" in line for line in lines)
    assert any(line.startswith(f"webhook events {latest:%Y-%m}: {want.height} events") for line in lines)
