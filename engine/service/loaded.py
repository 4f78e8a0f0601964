"""Ruleset versions loaded through the service (`PUT /v1/rulesets/{id}/versions/{version}`): checked as
`bwc check` checks files, kept in the store with their text, and restored at every start, so a
version the service has decided under is there after a restart.

A loaded version never changes: the store refuses another text for the same id and version, and a
folder that later holds that id and version with other content stops the service from starting.
"""

from __future__ import annotations

from engine.api import Library
from engine.service.models import LoadedVersion
from engine.service.store import Store
from policy.values import quoted


class WrongVersion(ValueError):
    """The text loaded is another ruleset or version than the one it was sent as."""


BODY = "request body"
"""The name a loaded text's problems are located in (line and column within the body)."""


def compiled(library: Library) -> Library:
    """`library` with every version compiled: the first request does not pay for it."""
    for rid in library.repository.ids():
        library.versions_of(rid)
    return library


def restored(library: Library, store: Store) -> Library:
    """`library` with the versions loaded through the service before, in the order they were loaded.
    Raises RulesetError when one no longer fits the rulesets given (its problems named `store: ID@VERSION`)."""
    return adding(library, store.rulesets())


def adding(library: Library, rows: list[tuple[int, str, str, str]]) -> Library:
    """`library` with the stored versions `rows` (seq, id, version, text) added, in their order (not
    compiled: `compiled` does that). Raises RulesetError as `restored` does."""
    repo = library.repository
    for _, rid, version, text in rows:
        repo, _ = repo.adding(text, f"store: {rid}@{version}")
    return library if repo is library.repository else Library(repo, library.backend)


def load(library: Library, known: int, store: Store, text: str, now: str, *,
         expected: tuple[str, str] | None = None) -> tuple[Library, LoadedVersion, int]:
    """A library that holds `library`'s versions, those loaded into the store after number `known`
    (by another worker process or server) and the one in `text`, compiled, the text kept in the store;
    with the number of the last version loaded. Raises RulesetError with every problem, and WrongVersion
    when the text is not the `expected` (id, version).

    The check, against every version held, and the write are one transaction that no other load runs
    beside, so two loads at once (in two processes) never both pass checks that together they fail."""
    with store.loading() as tx:
        newer = tx.after(known)
        current = adding(library, newer)
        repo, entry = current.repository.adding(text, BODY)
        if expected is not None and (entry.id, entry.version) != expected:
            raise WrongVersion(f"the body is `{quoted(entry.ref)}`, not `{quoted(expected[0])}@{quoted(expected[1])}` "
                               "as the path says")
        loaded = LoadedVersion(id=entry.id, version=entry.version, digest=entry.digest,
                               loaded=repo is not current.repository)
        last = newer[-1][0] if newer else known
        if loaded.loaded:
            seq = tx.add(entry.id, entry.version, entry.digest, text, now)
            if seq is not None:
                last = seq
            current = Library(repo, library.backend)
    # compiled after the commit: the next load, in any process, does not wait for it
    return (current if current is library else compiled(current)), loaded, last
