"""Webhooks: subscriptions, the event outbox and deliveries (storage/webhooks.py).

Plain tables on both backends (not partitioned): a month's events are few next to its results.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, *, nullable: bool) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "webhook_subscription",
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("secret", sa.String(), nullable=False),
        sa.Column("partner_id", sa.String(), nullable=True),
        sa.Column("event_types", sa.String(), nullable=True),
        _time("created_at", nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_subscription"),
    )
    op.create_table(
        "webhook_event",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("partner_id", sa.String(), nullable=True),
        sa.Column("subject", sa.String(), nullable=False),
        _time("created_at", nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_event"),
    )
    op.create_index("ix_webhook_event_month", "webhook_event", ["month"])
    op.create_table(
        "webhook_delivery",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("next_attempt_at", nullable=True),
        _time("last_attempt_at", nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        _time("delivered_at", nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["webhook_event.id"], name="fk_webhook_delivery_event_id_webhook_event"),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscription.id"],
            name="fk_webhook_delivery_subscription_id_webhook_subscription",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_delivery"),
        sa.UniqueConstraint("event_id", "subscription_id", name="uq_webhook_delivery_event_id_subscription_id"),
    )
    op.create_index("ix_webhook_delivery_status_next_attempt_at", "webhook_delivery", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_delivery_status_next_attempt_at", table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_index("ix_webhook_event_month", table_name="webhook_event")
    op.drop_table("webhook_event")
    op.drop_table("webhook_subscription")
