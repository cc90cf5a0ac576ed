"""Webhook delivery (no Dagster): POST each pending, due delivery of the outbox
(``storage.webhooks``) to its subscription's URL, signed, and record the outcome. Used by the
``webhook_delivery_sensor`` and ``pcs webhook deliver``; never by a scoring run. The request:
docs/architecture.md, "Webhooks"."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
from sqlalchemy import Engine

from storage import webhooks

TIMEOUT_S = 5.0
LOGGER = logging.getLogger("pcs.webhooks")


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of body with secret>``: the ``X-PCS-Signature`` header."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def request_of(due: webhooks.Due, now: dt.datetime) -> tuple[bytes, dict[str, str]]:
    """The raw body and the headers of a delivery attempt at ``now``."""
    body = json.dumps(webhooks.event_body(due), separators=(",", ":"), sort_keys=True).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "pcs-webhooks/1",
        "X-PCS-Event-Id": due.event_id,
        "X-PCS-Event-Type": due.event_type,
        "X-PCS-Timestamp": str(int(now.timestamp())),
        "X-PCS-Signature": signature(due.secret, body),
    }
    return body, headers


@dataclass
class Outcome:
    """What one ``deliver_due`` call did: deliveries per resulting status."""

    statuses: Counter = field(default_factory=Counter)

    @property
    def attempted(self) -> int:
        return sum(self.statuses.values())

    def __str__(self) -> str:
        if not self.attempted:
            return "no delivery due"
        parts = ", ".join(f"{n} {s}" for s, n in sorted(self.statuses.items()))
        return f"{self.attempted} attempted: {parts}"


def deliver_due(
    engine: Engine,
    *,
    now: dt.datetime | None = None,
    client: httpx.Client | None = None,
    limit: int = 500,
    rounds: int | None = None,
    budget_s: float | None = None,
) -> Outcome:
    """Attempt every pending delivery due at ``now`` (default: the current time), ``limit`` per
    round, until none is due (or ``rounds`` rounds, or ``budget_s`` seconds). A 2xx answer
    delivers; anything else (other status, timeout, refused connection) schedules a retry
    (``webhooks.backoff``) or, after ``webhooks.MAX_ATTEMPTS``, fails the delivery. A URL that
    did not answer (timeout, refused) is not tried again in this call: its other claimed
    deliveries wait for their lease to end (``webhooks.LEASE``), as do those left when the
    budget runs out. Never raises for a receiver's fault."""
    outcome = Outcome()
    own = client is None
    client = client or httpx.Client(timeout=TIMEOUT_S, follow_redirects=False)
    start = time.monotonic()
    down: set[str] = set()

    def out_of_time() -> bool:
        return budget_s is not None and time.monotonic() - start >= budget_s

    try:
        done = 0
        while (rounds is None or done < rounds) and not out_of_time():
            done += 1
            batch = webhooks.claim_due(engine, now=now or dt.datetime.now(dt.UTC), limit=limit)
            if not batch:
                break
            for due in batch:  # claimed rows of a silent URL wait for their lease
                if due.url in down:
                    continue
                if out_of_time():
                    break
                status, answered = _attempt(engine, client, due, now)
                outcome.statuses[status] += 1
                if not answered:
                    down.add(due.url)
    finally:
        if own:
            client.close()
    return outcome


def _attempt(engine: Engine, client: httpx.Client, due: webhooks.Due, now: dt.datetime | None) -> tuple[str, bool]:
    """One POST and its outcome recorded: (the delivery's new status, whether the URL answered)."""
    at = now or dt.datetime.now(dt.UTC)
    body, headers = request_of(due, at)
    code: int | None = None
    error: str | None = None
    try:
        response = client.post(due.url, content=body, headers=headers, timeout=TIMEOUT_S)
        code = response.status_code
        ok = 200 <= code < 300
        if not ok:
            error = f"HTTP {code}"
    except httpx.HTTPError as exc:
        ok = False
        error = f"{exc.__class__.__name__}: {exc}"[:500]
    status = webhooks.finish_delivery(
        engine, due.id, ok=ok, now=now or dt.datetime.now(dt.UTC), status_code=code, error=error
    )
    if not ok:
        LOGGER.warning("webhook delivery %s of event %s to %s: %s (%s)", due.id, due.event_id, due.url, error, status)
    return status, code is not None
