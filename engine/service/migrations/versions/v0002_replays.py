"""Replays kept in the store: a job's request, state, progress and report survive a restart, and any
worker process (or any server on the same database) answers for a job another one runs.

A job is claimed by the process that runs it (`runner`, `host`, `pid`) and that process renews `heartbeat_at`
while it runs, so a job whose process died is found and reported as interrupted, never left running.
Unlike the log, a job's row changes as it runs: no append-only trigger here."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

# As in 0001: ids, states and times compare byte by byte on both databases.
KEY = sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "replays",
        sa.Column("id", KEY, primary_key=True),
        sa.Column("candidate", sa.Text, nullable=False),  # as asked: id@version
        sa.Column("baseline", sa.Text, nullable=True),  # as asked: None for the default
        sa.Column("baseline_ref", sa.Text, nullable=False),  # the baseline the default resolved to when asked
        sa.Column("since", sa.Text, nullable=True),
        sa.Column("until", sa.Text, nullable=True),
        sa.Column("as_of", sa.Text, nullable=True),
        sa.Column("requested_at", KEY, nullable=False),
        sa.Column("state", KEY, nullable=False),  # queued, running, done, failed
        sa.Column("total", sa.Integer, nullable=False),  # incidents of the period when asked
        sa.Column("scanned", sa.Integer, nullable=False),
        sa.Column("decided", sa.Integer, nullable=False),
        sa.Column("started_at", sa.Text, nullable=True),
        sa.Column("finished_at", KEY, nullable=True),
        sa.Column("runner", sa.Text, nullable=True),  # a token of the process running it, new at every start
        sa.Column("host", sa.Text, nullable=True),  # the machine and process running it
        sa.Column("pid", sa.Integer, nullable=True),
        sa.Column("heartbeat_at", sa.Text, nullable=True),  # UTC text, renewed while it runs
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("report", sa.Text, nullable=True),  # the report's JSON, when done
    )
    op.create_index("replays_by_state", "replays", ["state", "requested_at"])


def downgrade() -> None:
    op.drop_table("replays")
