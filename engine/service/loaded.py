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
    repo = library.repository
    for rid, version, text in store.rulesets():
        repo, _ = repo.adding(text, f"store: {rid}@{version}")
    return library if repo is library.repository else Library(repo, library.backend)


def load(library: Library, store: Store, text: str, now: str, *,
         expected: tuple[str, str] | None = None) -> tuple[Library, LoadedVersion]:
    """A library that holds `library`'s versions and the one in `text`, compiled, the text kept in the
    store; or `library` itself when it holds that very version. Raises RulesetError with every problem,
    and WrongVersion when the text is not the `expected` (id, version)."""
    repo, entry = library.repository.adding(text, BODY)
    if expected is not None and (entry.id, entry.version) != expected:
        raise WrongVersion(f"the body is `{quoted(entry.ref)}`, not `{quoted(expected[0])}@{quoted(expected[1])}` "
                           "as the path says")
    loaded = LoadedVersion(id=entry.id, version=entry.version, digest=entry.digest,
                           loaded=repo is not library.repository)
    if not loaded.loaded:
        return library, loaded
    bigger = compiled(Library(repo, library.backend))
    store.add_ruleset(entry.id, entry.version, entry.digest, text, now)
    return bigger, loaded
