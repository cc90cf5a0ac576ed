"""Webhook storage (storage/webhooks.py, migration 0003) on a real SQLite file and PostgreSQL:
subscriptions and their checks, the outbox taking each event once, deliveries only for the
subscriptions that exist and want the event, retries with back-off, failure after the last
attempt, claims that two deliverers cannot share, and the migration over an existing database."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import sqlalchemy as sa

from scoring import events as E
from storage import migrate
from storage import models as M
from storage import results as R
from storage import webhooks as W
from storage.engines import get_engine
from tests.support.old_revisions import read_old, write_old
from tests.support.synthetic import synthetic_partners, synthetic_results

JUN = dt.date(2024, 6, 1)
T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def event_frame(month: dt.date, *rows: tuple[str, str | None, str]) -> pl.DataFrame:
    """(type, partner, subject) rows as an events frame."""
    return pl.DataFrame(
        [(E.event_id(t, p, month, s), t, month, p, s, '{"k": 1}') for t, p, s in rows],
        schema=E.EVENTS_SCHEMA,
        orient="row",
    )


EVENTS = event_frame(
    JUN,
    (E.MONTH_SCORED, None, ""),
    (E.DESIGNATION_GAINED, "P1", "designation"),
    (E.DESIGNATION_LOST, "P2", "designation"),
    (E.METRIC_BELOW_MINIMUM, "P1", "SMB/USAGE_GROWTH"),
)


def deliveries(engine) -> list[tuple[str, int, str]]:
    """(event type, subscription id, status), sorted."""
    return sorted((d.event_type, d.subscription_id, d.status) for d in W.list_deliveries(engine))


# ---- subscriptions -----------------------------------------------------------------------------


def test_subscriptions_are_added_listed_and_removed(engine):
    a = W.add_subscription(engine, url="https://example.test/hook", secret="s", now=T0)
    p = W.add_subscription(
        engine,
        url="http://127.0.0.1:9/x",
        secret="t",
        partner_id=" P1 ",
        event_types=["designation.lost", "designation.gained", "designation.lost"],
        allow_unknown=True,
    )
    subs = W.list_subscriptions(engine)
    assert [(s.id, s.partner_id, s.event_types, s.active) for s in subs] == [
        (a, None, None, True),
        (p, "P1", ("designation.lost", "designation.gained"), True),
    ]
    assert subs[0].created_at == T0
    assert W.remove_subscription(engine, a) is True
    assert W.remove_subscription(engine, a) is False  # already removed
    assert W.remove_subscription(engine, 999) is False
    assert [s.id for s in W.list_subscriptions(engine, active_only=True)] == [p]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": "ftp://example.test/x"}, "bad URL"),
        ({"url": "http:///nohost"}, "bad URL"),
        ({"url": "example.test/hook"}, "bad URL"),
        ({"secret": ""}, "secret"),
        ({"event_types": ["designation.gained", "designation.won"]}, "unknown event type(s) designation.won"),
        ({"partner_id": "P404"}, "unknown partner 'P404'"),
        ({"partner_id": "P1", "allow_unknown": True, "event_types": ["month.scored"]}, "admin subscriptions only"),
    ],
)
def test_bad_subscriptions_are_refused_with_a_clear_error(engine, kwargs, message):
    args = {"url": "https://example.test/hook", "secret": "s", **kwargs}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        W.add_subscription(engine, **args)
    assert W.list_subscriptions(engine) == []


def test_a_known_partner_can_subscribe(engine):
    frames = synthetic_results([JUN], partners=3, tenants=5)
    R.write_results(engine, months=[JUN], frames=frames, partners=synthetic_partners(frames))
    partner = frames["designations"]["partner_id"][0]
    sub = W.add_subscription(engine, url="https://example.test/hook", secret="s", partner_id=partner)
    assert W.list_subscriptions(engine)[0].id == sub


# ---- the outbox --------------------------------------------------------------------------------


def test_events_go_in_once_and_reach_the_subscriptions_that_want_them(engine):
    admin = W.add_subscription(engine, url="https://example.test/admin", secret="s")
    p1 = W.add_subscription(engine, url="https://example.test/p1", secret="s", partner_id="P1", allow_unknown=True)
    lost = W.add_subscription(engine, url="https://example.test/l", secret="s", event_types=["designation.lost"])
    gone = W.add_subscription(engine, url="https://example.test/gone", secret="s")
    W.remove_subscription(engine, gone)

    first = W.record_events(engine, events=EVENTS, now=T0)
    assert (first.events, first.deliveries) == (4, 4 + 2 + 1)
    assert first.by_type == dict.fromkeys(EVENTS["type"], 1)
    assert deliveries(engine) == sorted(
        [(t, admin, "pending") for t in EVENTS["type"]]
        + [(E.DESIGNATION_GAINED, p1, "pending"), (E.METRIC_BELOW_MINIMUM, p1, "pending")]
        + [(E.DESIGNATION_LOST, lost, "pending")]
    )
    stored = W.read_events(engine)
    assert stored.equals(EVENTS.sort("month", "type", "partner_id", "subject", nulls_last=False))

    # the same month again, with a subscription added since: nothing new, nobody gets them again
    late = W.add_subscription(engine, url="https://example.test/late", secret="s")
    again = W.record_events(engine, events=EVENTS, now=T0 + dt.timedelta(days=1))
    assert (again.events, again.deliveries, again.by_type) == (0, 0, {})
    assert len(deliveries(engine)) == 7
    # a new event of that month reaches the subscriptions that exist now, the late one included
    more = event_frame(JUN, (E.DESIGNATION_GAINED, "P3", "designation"))
    added = W.record_events(engine, events=pl.concat([EVENTS, more]), now=T0)
    assert (added.events, added.deliveries) == (1, 2)
    assert {(d.subscription_id, d.partner_id) for d in W.list_deliveries(engine) if d.partner_id == "P3"} == {
        (admin, "P3"),
        (late, "P3"),
    }


def test_due_deliveries_retry_with_backoff_then_fail(engine):
    W.add_subscription(engine, url="https://example.test/admin", secret="s")
    W.record_events(engine, events=EVENTS.head(1), now=T0)
    assert W.claim_due(engine, now=T0 - dt.timedelta(seconds=1)) == []  # not due yet
    now = T0
    waits = []
    for attempt in range(1, W.MAX_ATTEMPTS + 1):
        (due,) = W.claim_due(engine, now=now)
        assert due.attempts == attempt - 1
        assert W.claim_due(engine, now=now) == []  # claimed: a second deliverer gets nothing
        status = W.finish_delivery(engine, due.id, ok=False, now=now, status_code=500, error="HTTP 500")
        (info,) = W.list_deliveries(engine)
        assert (info.attempts, info.last_status, info.last_error) == (attempt, 500, "HTTP 500")
        if attempt < W.MAX_ATTEMPTS:
            assert status == W.PENDING
            waits.append(info.next_attempt_at - now)
            assert W.claim_due(engine, now=info.next_attempt_at - dt.timedelta(seconds=1)) == []
            now = info.next_attempt_at
        else:
            assert status == W.FAILED and info.next_attempt_at is None
    assert waits == [dt.timedelta(seconds=30 * 2**i) for i in range(W.MAX_ATTEMPTS - 1)]
    assert W.backoff(20) == W.MAX_RETRY
    assert W.claim_due(engine, now=now + dt.timedelta(days=1)) == []  # failed: never again
    assert [d.status for d in W.list_deliveries(engine, status=W.FAILED)] == [W.FAILED]


def test_a_claim_lapses_after_its_lease_and_a_delivered_one_is_done(engine):
    W.add_subscription(engine, url="https://example.test/admin", secret="s")
    W.record_events(engine, events=EVENTS.head(1), now=T0)
    (due,) = W.claim_due(engine, now=T0)  # its deliverer dies without finishing
    assert W.claim_due(engine, now=T0 + W.LEASE - dt.timedelta(seconds=1)) == []
    (again,) = W.claim_due(engine, now=T0 + W.LEASE)
    assert again.id == due.id
    assert W.finish_delivery(engine, again.id, ok=True, now=T0 + W.LEASE, status_code=204) == W.DELIVERED
    (info,) = W.list_deliveries(engine)
    assert (info.status, info.delivered_at, info.last_status) == (W.DELIVERED, T0 + W.LEASE, 204)
    assert W.claim_due(engine, now=T0 + dt.timedelta(days=30)) == []


def test_a_removed_subscription_gets_nothing_more(engine):
    sub = W.add_subscription(engine, url="https://example.test/admin", secret="s")
    W.record_events(engine, events=EVENTS, now=T0)
    W.remove_subscription(engine, sub)
    assert W.claim_due(engine, now=T0 + dt.timedelta(hours=1)) == []
    assert {d.status for d in W.list_deliveries(engine)} == {W.PENDING}  # on record, not attempted


def test_event_body_has_the_documented_fields(engine):
    W.add_subscription(engine, url="https://example.test/admin", secret="s")
    W.record_events(engine, events=EVENTS.filter(pl.col("partner_id") == "P2"), now=T0)
    (due,) = W.claim_due(engine, now=T0)
    assert W.event_body(due) == {
        "id": E.event_id(E.DESIGNATION_LOST, "P2", JUN, "designation"),
        "type": E.DESIGNATION_LOST,
        "createdAt": "2026-01-01T12:00:00Z",
        "month": "2024-06",
        "partnerId": "P2",
        "data": {"k": 1},
    }


# ---- migration ---------------------------------------------------------------------------------


def test_migration_0003_upgrades_an_existing_database_and_back(empty_db_url):
    migrate.upgrade(empty_db_url, "0002")
    engine = get_engine(empty_db_url)
    frames = synthetic_results([JUN], partners=5, tenants=10)
    write_old(engine, frames)
    before = {**read_old(engine), "partners": R.read_frame(engine, "partners")}
    assert "webhook_event" not in sa.inspect(engine).get_table_names()

    migrate.upgrade(empty_db_url, "0003")
    assert migrate.current(empty_db_url) == "0003"
    for name, frame in {**read_old(engine), "partners": R.read_frame(engine, "partners")}.items():
        assert frame.equals(before[name]), name
    W.add_subscription(engine, url="https://example.test/admin", secret="s")
    assert W.record_events(engine, events=EVENTS, now=T0).deliveries == 4

    migrate.downgrade(empty_db_url, "0002")
    names = set(sa.inspect(engine).get_table_names())
    assert not names & {M.WebhookEvent.__tablename__, M.WebhookDelivery.__tablename__, "webhook_subscription"}
    assert read_old(engine)["designations"].equals(before["designations"])
    migrate.upgrade(empty_db_url)
    assert W.list_subscriptions(engine) == []
    assert R.read_frame(engine, "holdings").equals(before["holdings"])
