"""The store's first schema: incidents, their events, the decision log and the ruleset versions loaded
through the service, with triggers that refuse to update or delete events, log entries and loaded
versions (on PostgreSQL, truncating them too)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Ids and times compare byte by byte on both databases (SQLite's default BINARY collation, "C" on
# PostgreSQL, whatever the database's locale), so incidents and log entries come back in the same
# order from either store, and time text (fixed width, UTC) sorts as time.
KEY = sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")

# table: what the trigger says to whoever tries to change a row of it.
APPEND_ONLY = {
    "events": "events are append-only",
    "decisions": "the decision log is append-only",
    "rulesets": "a loaded ruleset version never changes",
}


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("incident_id", KEY, primary_key=True),
        sa.Column("policy", sa.Text, nullable=False),
        sa.Column("timezone", sa.Text, nullable=False),
        sa.Column("facts", sa.Text, nullable=False),  # canonical JSON
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("first_event_at", KEY, nullable=True),  # its earliest event's time, UTC text, for replays
    )
    op.create_index("incidents_by_time", "incidents", ["first_event_at"])
    op.create_table(
        "events",
        sa.Column("incident_id", KEY, sa.ForeignKey("incidents.incident_id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False, autoincrement=False),  # 1, 2, ... within the incident
        sa.Column("event_id", KEY, nullable=False),
        sa.Column("event", sa.Text, nullable=False),  # canonical JSON
        sa.Column("received_at", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "seq"),
        sa.UniqueConstraint("incident_id", "event_id"),
    )
    op.create_table(
        "decisions",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),  # no gap: verify checks
        sa.Column("decision_id", KEY, nullable=False),
        sa.Column("incident_id", sa.Text, nullable=False),
        sa.Column("ruleset", sa.Text, nullable=False),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("digest", sa.Text, nullable=False),
        sa.Column("input_digest", sa.Text, nullable=False),
        sa.Column("as_of", sa.Text, nullable=False),
        sa.Column("recorded_at", KEY, nullable=False),
        sa.Column("decision", sa.Text, nullable=False),  # the decision's JSON, as returned
        sa.Column("prev", sa.Text, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
    )
    op.create_index("decisions_by_id", "decisions", ["decision_id"])
    op.create_index("decisions_by_time", "decisions", ["recorded_at"])
    op.create_table(
        "rulesets",
        sa.Column("ruleset", KEY, nullable=False),
        sa.Column("version", KEY, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False, unique=True),  # the order they were loaded in
        sa.Column("digest", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),  # the YAML, as sent
        sa.Column("loaded_at", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("ruleset", "version"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # One function for every table; the trigger passes the message. TRUNCATE skips row triggers,
        # so it has a statement trigger of its own.
        op.execute("CREATE FUNCTION bwc_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN RAISE EXCEPTION USING MESSAGE = TG_ARGV[0], ERRCODE = 'restrict_violation'; END $$")
        kinds = (("u", "UPDATE", "ROW"), ("d", "DELETE", "ROW"), ("t", "TRUNCATE", "STATEMENT"))
        for table, message in APPEND_ONLY.items():
            for suffix, action, each in kinds:
                op.execute(f"CREATE TRIGGER {table}_append_only_{suffix} BEFORE {action} ON {table} "
                           f"FOR EACH {each} EXECUTE FUNCTION bwc_append_only('{message}')")
    else:
        for table, message in APPEND_ONLY.items():
            for suffix, action in (("u", "UPDATE"), ("d", "DELETE")):
                op.execute(f"CREATE TRIGGER {table}_append_only_{suffix} BEFORE {action} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{message}'); END")


def downgrade() -> None:
    for table in ("rulesets", "decisions", "events", "incidents"):  # their triggers go with them
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION bwc_append_only()")
