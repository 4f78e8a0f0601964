"""The store's schema, kept by Alembic: `upgrade(connection)` brings a database, SQLite or PostgreSQL,
to the newest revision in `versions/`, and refuses one at a revision this bwc does not know (made by a
newer bwc), which it could only damage.

A new revision is a new file in `versions/` (`vN_what.py`, `revision = "000N"`, `down_revision` the one
before), written by hand as `v0001_schema.py` is, with its dialect-specific parts (triggers) for both
databases; the store runs it the next time it is opened.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy import Connection

HERE = Path(__file__).resolve().parent


class UnknownRevision(Exception):
    """The database is at a schema revision this bwc does not have: a newer bwc upgraded it."""

    def __init__(self, found: str, newest: str) -> None:
        super().__init__(found, newest)
        self.found, self.newest = found, newest


def scripts() -> tuple[Config, ScriptDirectory]:
    """Alembic's configuration of bwc's migrations, and their scripts (what `upgrade` runs, and what a
    store opened read-only is compared with)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(HERE).replace("%", "%%"))  # the option is interpolated
    return config, ScriptDirectory.from_config(config)


def upgrade(connection: Connection) -> None:
    """Run every migration the database has not had, on `connection`, inside the transaction the
    caller opened (and commits). Raises UnknownRevision when the database is ahead of this bwc."""
    # Alembic is imported here, not at the top: only opening a store needs it, and `bwc` commands
    # that never open one should not pay for importing it.
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    config, script = scripts()
    known = {rev.revision for rev in script.walk_revisions()}
    for found in MigrationContext.configure(connection).get_current_heads():
        if found not in known:
            raise UnknownRevision(found, script.get_current_head() or "(none)")
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
