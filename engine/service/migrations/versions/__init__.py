"""The store's schema revisions, oldest first, each a file Alembic reads (see the package above)."""
