"""Alembic's environment for the store's migrations: they run on the connection the store hands over
when it is opened (`engine.service.migrations.upgrade`), inside its transaction, under its lock, with
its durability settings; never on a connection of their own."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("the store's migrations run when bwc opens the store (bwc serve, bwc log verify), "
                       "not from the alembic command")
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
