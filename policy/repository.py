"""A repository of rulesets: every version of every ruleset under one or more folders.

    repo = Repository.load("rulesets/")
    repo.ids()                                   # ['boston-bpcat-draft', ...]
    repo.versions("illinois-50-ilcs-706-10-20")  # ['2016.1.0', '2021.1.0'] (semver order)
    repo.get("illinois-50-ilcs-706-10-20")       # the newest version
    repo.in_effect("illinois-50-ilcs-706-10-20", date(2021, 6, 30))  # 2016.1.0
    repo.resolve("illinois-50-ilcs-706-10-20@2016.1.0")

Loading checks each file (as `bwc check` does) and then the files against each other; every problem
found in any file is reported at once, in one `RulesetError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from policy import versions as semver_
from policy.canonical import digest as canonical_digest
from policy.diagnostics import Diagnostic, RulesetError, closest, did_you_mean, hint_budget
from policy.files import RULESET_SUFFIXES, ruleset_files
from policy.in_force import judging, version_in_force
from policy.loader import CheckResult, load_document, load_ruleset
from policy.model import Ruleset
from policy.source import SourceDocument, read_yaml_file, read_yaml_text
from policy.values import quoted

SHOWN_REF = 200  # characters of a ruleset id or version a message shows (a reference may be of any length)


class RulesetLookupError(LookupError):
    """A ruleset, version or file that is not in the repository. The message says what is."""


class UnknownRuleset(RulesetLookupError):
    pass


class UnknownVersion(RulesetLookupError):
    pass


class UnknownFile(RulesetLookupError):
    pass


class BadReference(RulesetLookupError):
    """`id@` or `@version`: a reference that names no ruleset or no version."""


def split_ref(ref: str) -> tuple[str, str | None]:
    """A ruleset reference, `id` or `id@version`, as (id, version or None). `id@` is refused, not read
    as `id`: whoever wrote the `@` meant to pin a version, and deciding by the incident's date instead
    would answer another question without saying so."""
    rid, at, version = ref.partition("@")
    if at and not (rid.strip() and version.strip()):
        missing = "ruleset id before" if not rid.strip() else "version after"
        raise BadReference(f"`{quoted(ref)}` has no {missing} `@`: write ID, or ID@VERSION to pin a version")
    return rid, version or None


@dataclass(frozen=True)
class Entry:
    """One version of one ruleset, and the file it was read from."""

    ruleset: Ruleset
    file: Path
    digest: str
    doc: SourceDocument = field(repr=False, compare=False)

    @property
    def id(self) -> str:
        return self.ruleset.ruleset

    @property
    def version(self) -> str:
        return self.ruleset.version

    @property
    def ref(self) -> str:
        return self.ruleset.ref


def _version_key(version: str) -> tuple[Any, str]:
    return (semver_.parse(version), version)


def _overlaps(a: Ruleset, b: Ruleset) -> bool:
    ea, eb = a.effective, b.effective
    return (eb.until is None or ea.from_ <= eb.until) and (ea.until is None or eb.from_ <= ea.until)


def _range(r: Ruleset) -> str:
    if r.effective.until is None:
        return f"from {r.effective.from_.isoformat()} with no end"
    return f"{r.effective.from_.isoformat()} to {r.effective.until.isoformat()}"


class Repository:
    """Every version of every ruleset found under some folders, checked against each other."""

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self._by_id: dict[str, dict[str, Entry]] = {}
        # Orders and indexes made once and kept until an entry is added (`_add`): a command asks for them
        # once per file or rule, and remaking them each time cost O(files) per question, O(files²) in all
        # (`bwc check` of 2,000 files took over two minutes, of 1,000 versions of one ruleset 108 s).
        self._ids: list[str] | None = None  # sorted
        self._sorted: dict[str, tuple[Entry, ...]] = {}  # each ruleset's versions, oldest first
        self._files: dict[Path, Entry] | None = None  # by resolved path: the first entry of each file
        self._matching: dict[tuple[str, str], list[str]] = {}  # (ruleset, range): versions it accepts
        for e in entries:
            self._add(e)

    def _add(self, entry: Entry) -> Entry:
        """Add `entry` unless its version is there already; returns the entry the repository holds."""
        versions = self._by_id.setdefault(entry.id, {})
        first = versions.get(entry.version)
        if first is not None:
            return first
        versions[entry.version] = entry
        self._ids, self._files = None, None
        self._sorted.pop(entry.id, None)
        self._matching.clear()
        return entry

    # --- loading --------------------------------------------------------------------------------------

    @classmethod
    def load(cls, *paths: Path | str) -> Repository:
        """Load every ruleset file named or found under the folders named (scenario `tests/` folders
        are skipped). Raises RulesetError carrying every problem of every file, and every problem
        between files: overlapping enacted versions (BWC301), `supersedes` naming a missing version
        (BWC302), one id and version with two different contents (BWC303), `extends` naming a missing
        ruleset (BWC304), a range no version satisfies (BWC305), or rulesets extending each other in a
        circle (BWC306), `corrects` naming a missing version (BWC307), or a correction whose dates
        differ from those of the version it corrects (BWC308)."""
        results, repo = cls._gather(ruleset_files(paths))
        diagnostics = [d for r in results for d in r.diagnostics]
        if diagnostics:
            raise RulesetError(diagnostics)
        return repo

    @classmethod
    def check(cls, files: Iterable[Path | str]) -> list[CheckResult]:
        """Check each file on its own and then all of them against each other (as `load` does); each
        problem between files is attached to the result of the file that has to change."""
        return cls._gather(files)[0]

    @classmethod
    def _gather(cls, files: Iterable[Path | str]) -> tuple[list[CheckResult], Repository]:
        results: dict[str, CheckResult] = {}
        entries: list[Entry] = []
        broken: set[tuple[str, str | None]] = set()  # (id, version) of files that did not load
        for path in map(Path, files):
            if str(path) in results:  # the same file named twice is checked once
                continue
            doc: SourceDocument | None = None
            try:
                doc = read_yaml_file(path, partial=True)
                ruleset = load_document(doc)
            except RulesetError as exc:
                results.setdefault(str(path), CheckResult(str(path), None, []))
                results[str(path)].diagnostics.extend(exc.diagnostics)
                raw = doc.data if doc is not None and isinstance(doc.data, dict) else {}
                if isinstance(raw.get("ruleset"), str):
                    version = raw.get("version")
                    broken.add((raw["ruleset"], version if isinstance(version, str) else None))
                continue
            results.setdefault(str(path), CheckResult(str(path), ruleset, []))
            entries.append(Entry(ruleset, path, canonical_digest(ruleset), doc))
        repo = cls()
        between: list[Diagnostic] = []
        for e in entries:
            first = repo._add(e)
            if first is not e and first.digest != e.digest:
                between.append(_at(
                    e, ("version",), "BWC303",
                    f"`{e.ref}` is also in {first.file}, with different content",
                    "two files may hold the same version only if they say the same thing: give this one "
                    "a new `version`, or delete the copy that is out of date"))
        between += repo._check(broken)
        for d in between:
            results[d.file].diagnostics.append(d)
        return list(results.values()), repo

    def adding(self, text: str, name: str) -> tuple[Repository, Entry]:
        """This repository with one more version, read from `text` (its problems located as in a file
        called `name`) and checked as `load` checks files: alone, then against every version here.
        Returns the new repository (this one is never changed) and the version's entry; or this very
        repository and the entry it holds, when it holds that version with the same content already.
        Raises RulesetError with every problem found."""
        doc = read_yaml_text(text, name, partial=True)
        ruleset = load_document(doc)
        new = Entry(ruleset, Path(name), canonical_digest(ruleset), doc)
        first = self._by_id.get(new.id, {}).get(new.version)
        if first is not None:
            if first.digest == new.digest:
                return self, first
            raise RulesetError([_at(
                new, ("version",), "BWC303", f"`{new.ref}` is already loaded (from {first.file}), with different "
                "content", "a version, once published, never changes: give this one a new `version`")])
        repo = Repository([*self._all(), new])
        problems = repo._check(set())
        if problems:
            raise RulesetError(problems)
        return repo, new

    def _check(self, broken: set[tuple[str, str | None]]) -> list[Diagnostic]:
        with hint_budget():  # one budget of guesses for the problems between files
            return self._check_all(broken)

    def _check_all(self, broken: set[tuple[str, str | None]]) -> list[Diagnostic]:
        out: list[Diagnostic] = []
        broken_ids = {i for i, _ in broken}
        for rid in self.ids():
            entries = self._ordered(rid)
            # A version corrected by an enacted correction is replaced by it on every day: not counted.
            judges = {r.version for r in judging(e.ruleset for e in entries)}
            enacted = sorted((e for e in entries if e.version in judges),
                             key=lambda e: (e.ruleset.effective.from_, _version_key(e.version)))
            for i, a in enumerate(enacted):
                until = a.ruleset.effective.until
                for b in enacted[i + 1:]:
                    # In order of `from`: once one starts after `a` ends, none of the rest overlaps `a`
                    # (comparing every pair took O(versions²) for versions in force one after another).
                    if until is not None and b.ruleset.effective.from_ > until:
                        break
                    if _overlaps(a.ruleset, b.ruleset):
                        out.append(_at(
                            b, ("effective",), "BWC301",
                            f"`{b.ref}` ({b.ruleset.status}, in force {_range(b.ruleset)}) overlaps "
                            f"`{a.ref}` ({a.ruleset.status}, in force {_range(a.ruleset)}; {a.file})",
                            "enacted versions of one ruleset are in force one after another: end the "
                            f"earlier one with `until:` the day before {b.ruleset.effective.from_}, or "
                            "mark a version that was never in force `draft` or `proposed`"))
            for e in entries:
                sup = e.ruleset.supersedes
                if sup is not None and sup not in self._by_id[rid] and (rid, sup) not in broken:
                    others = [o.version for o in entries if o is not e]
                    best = closest(sup, others)
                    out.append(_at(
                        e, ("supersedes",), "BWC302",
                        f"`supersedes: {sup}` names a version of `{rid}` that is not in the repository",
                        f"did you mean `{best}`?" if best else
                        f"add the file of `{rid}@{sup}`, or remove `supersedes` if no version came before"))
                elif sup is not None and sup in self._by_id[rid] and _version_key(sup) >= _version_key(e.version):
                    # a version replaces one that came before it: this catches a version superseding itself,
                    # and every circle (1.0.0 -> 2.0.0 -> 1.0.0), which has a step back somewhere
                    out.append(_at(
                        e, ("supersedes",), "BWC309",
                        f"`supersedes: {sup}` names {'this very version' if sup == e.version else 'a later version'}"
                        f" of `{rid}`: a version supersedes one that came before it",
                        "name the version this one replaces (an earlier number), or remove `supersedes`"))
                out += self._check_correction(e, broken)
                ext = e.ruleset.extends
                if ext is None or ext.ruleset in broken_ids:
                    continue
                if ext.ruleset not in self._by_id:
                    out.append(_at(
                        e, ("extends", "ruleset"), "BWC304",
                        f"`extends` names the ruleset `{ext.ruleset}`, which is not in the repository",
                        _suggest(ext.ruleset, [i for i in self.ids() if i != rid])))
                elif not self._satisfying(ext.ruleset, ext.version):
                    out.append(_at(
                        e, ("extends", "version"), "BWC305",
                        f"no version of `{ext.ruleset}` satisfies `{ext.version}` "
                        f"(versions: {', '.join(self.versions(ext.ruleset))})",
                        "widen the range, or add the version it needs"))
        out += self._cycles()
        return out

    def _check_correction(self, e: Entry, broken: set[tuple[str, str | None]]) -> list[Diagnostic]:
        """BWC307 when `corrects` names no version there, this very one, or one that corrects this one;
        BWC308 when the correction's `effective` dates are not those of the version it corrects."""
        rid, fixed = e.id, e.ruleset.corrects
        if fixed is None or (rid, fixed) in broken:
            return []
        old = self._by_id[rid].get(fixed)
        if old is None or fixed == e.version:
            others = [v for v in self.versions(rid) if v != e.version]
            best = closest(fixed, others)
            what = ("names this very version" if fixed == e.version
                    else f"names a version of `{rid}` that is not in the repository")
            return [_at(e, ("corrects",), "BWC307", f"`corrects: {fixed}` {what}",
                        f"did you mean `{best}`?" if best else
                        f"add the file of `{rid}@{fixed}`, or remove `corrects`: a version that replaces another "
                        "from a later date says `supersedes`")]
        if old.ruleset.corrects == e.version:
            return [_at(e, ("corrects",), "BWC307",
                        f"`corrects: {fixed}` names a version that itself corrects `{e.ref}`",
                        "two versions cannot correct each other: keep `corrects` only in the later reading")]
        if old.ruleset.effective != e.ruleset.effective:
            return [_at(e, ("effective",), "BWC308",
                        f"`{e.ref}` corrects `{old.ref}` but is in force {_range(e.ruleset)}, not "
                        f"{_range(old.ruleset)} as the version it corrects is",
                        "a correction is a better reading of the same law, so it has the same `effective` dates; "
                        "a change of the law from a later date is a new version that `supersedes` the old one")]
        return []

    def _bases(self, ruleset: Ruleset) -> list[Entry]:
        """Every version `ruleset` extends, with its file (see `bases`)."""
        ext = ruleset.extends
        if ext is None or ext.ruleset not in self._by_id:
            return []
        return [self._by_id[ext.ruleset][v] for v in self._satisfying(ext.ruleset, ext.version)]

    def _cycles(self) -> list[Diagnostic]:
        """BWC306 for each version from which following `extends` comes back to it: layering it would
        never end. Reported at the `extends` of each version on a circle, once."""
        out: list[Diagnostic] = []
        done: set[str] = set()  # refs whose every chain of bases has been followed to its end
        reported: set[str] = set()
        for start in self._all():
            if start.ref in done:
                continue
            stack: list[tuple[Entry, Iterator[Entry]]] = [(start, iter(self._bases(start.ruleset)))]
            on_path = {start.ref: 0}
            while stack:
                entry, bases = stack[-1]
                base = next(bases, None)
                if base is None:
                    stack.pop()
                    del on_path[entry.ref]
                    done.add(entry.ref)
                elif base.ref in on_path:
                    out += self._circle([e for e, _ in stack[on_path[base.ref]:]], reported)
                elif base.ref not in done:
                    on_path[base.ref] = len(stack)
                    stack.append((base, iter(self._bases(base.ruleset))))
        return out

    @staticmethod
    def _circle(cycle: list[Entry], reported: set[str]) -> Iterator[Diagnostic]:
        for i, e in enumerate(cycle):
            if e.ref in reported:
                continue
            reported.add(e.ref)
            if len(cycle) == 1:
                yield _at(e, ("extends",), "BWC306",
                          f"`{e.ref}` extends itself: `extends` accepts this very version",
                          "a ruleset builds on another one: change `extends`, or its version range so that it "
                          "does not include this version")
                continue
            chain = " → ".join(f"`{c.ref}`" for c in [*cycle[i:], *cycle[:i], e])
            yield _at(e, ("extends",), "BWC306", f"`extends` goes round in a circle: {chain}",
                      "a ruleset builds on another one that does not build on it: change `extends` in one of "
                      "these files")

    # --- queries --------------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Ruleset]:
        for e in self._all():
            yield e.ruleset

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_id.values())

    def __contains__(self, ruleset_id: object) -> bool:
        return isinstance(ruleset_id, str) and ruleset_id in self._by_id  # a list is in no repository

    def ids(self) -> list[str]:
        """Every ruleset id, sorted."""
        if self._ids is None:
            self._ids = sorted(self._by_id)
        return list(self._ids)  # a copy: the caller may change it

    def versions(self, ruleset_id: str) -> list[str]:
        """Every version of a ruleset, oldest first (semantic-version order)."""
        return [e.version for e in self._ordered(ruleset_id)]

    def entries(self, ruleset_id: str) -> list[Entry]:
        """Every version of a ruleset with its file, oldest first."""
        return list(self._ordered(ruleset_id))

    def entry(self, ruleset_id: str, version: str) -> Entry | None:
        """One version of a ruleset with its file; None if the ruleset has no such version. Raises
        UnknownRuleset if the repository has no ruleset `ruleset_id`."""
        return self._versions_of(ruleset_id).get(version)

    def get(self, ruleset_id: str, version: str | None = None) -> Ruleset:
        """One version of a ruleset; the newest when `version` is None."""
        return self._entry(ruleset_id, version).ruleset

    def in_effect(self, ruleset_id: str, day: date) -> Ruleset | None:
        """The enacted version (adopted, superseded or repealed) in force on `day`, or None.
        Draft and proposed versions are never in effect; a corrected version gives way to its correction."""
        return version_in_force([e.ruleset for e in self.entries(ruleset_id)], lambda _: day)

    def resolve(self, ref: str | Path) -> Ruleset:
        """`id` (the newest version), `id@version`, or the path of a ruleset file.

        A file that is not in the repository is loaded on its own (and may raise RulesetError)."""
        text = str(ref)
        if isinstance(ref, Path) or text.endswith(RULESET_SUFFIXES) or "/" in text or "\\" in text:
            path = Path(text)
            found = self._file_entry(path)
            if found is not None:
                return found.ruleset
            if path.is_file():
                return load_ruleset(path)
            if not isinstance(ref, Path) and "/" not in text and "\\" not in text and text in self._by_id:
                return self.get(text)  # an id that ends as a file name does (`city.yml`), and no such file
            if path.exists():  # not reading it: a pipe would wait for a writer, a device never ends
                raise UnknownFile(f"`{quoted(text)}` is not a ruleset file: it is a folder, a device or a pipe; "
                                  "name a ruleset file, an id, or ID@VERSION")
            raise UnknownFile(f"no ruleset file `{quoted(text)}`")
        return self.get(*split_ref(text))

    def file_of(self, ruleset: Ruleset) -> Path:
        """The file a ruleset of this repository was read from (the first one, for identical copies)."""
        return self._entry(ruleset.ruleset, ruleset.version).file

    def digest(self, ruleset: Ruleset) -> str:
        """The content digest (`sha256:...`) of a ruleset."""
        entry = self._by_id.get(ruleset.ruleset, {}).get(ruleset.version)
        if entry is not None and entry.ruleset is ruleset:
            return entry.digest
        return canonical_digest(ruleset)

    def bases(self, ruleset: Ruleset) -> list[Ruleset]:
        """Every version `ruleset` extends: each one its range accepts, oldest first (the engine layers
        them all, judging an incident by the one in force on its date); [] when it extends nothing or a
        ruleset this repository does not hold."""
        return [e.ruleset for e in self._bases(ruleset)]

    def base_of(self, ruleset: Ruleset) -> Ruleset | None:
        """The ruleset that `ruleset` extends: the newest version satisfying its range; None when it
        extends nothing. Raises UnknownRuleset or UnknownVersion when the repository has no match."""
        ext = ruleset.extends
        if ext is None:
            return None
        whose = f"`{quoted(ruleset.ref)}` extends `{quoted(ext.ruleset)}` (its `extends:`), but"
        try:
            self._versions_of(ext.ruleset)
        except UnknownRuleset as exc:  # said as the extending ruleset's problem, not as a REF not found
            raise UnknownRuleset(f"{whose} {exc}") from None
        matching = self._satisfying(ext.ruleset, ext.version)
        if not matching:
            raise UnknownVersion(
                f"{whose} no version of it satisfies `{quoted(ext.version)}` "
                f"(versions: {', '.join(self.versions(ext.ruleset))})")
        return self.get(ext.ruleset, matching[-1])

    # --- helpers --------------------------------------------------------------------------------------

    def _all(self) -> Iterator[Entry]:
        for rid in self.ids():
            yield from self._ordered(rid)

    def _ordered(self, ruleset_id: str) -> tuple[Entry, ...]:
        """Every version of a ruleset, oldest first: sorted once (semantic versions are slow to compare)."""
        if not isinstance(ruleset_id, str):  # before any lookup: a list cannot even be looked up
            raise UnknownRuleset(_not_text(ruleset_id))
        ordered = self._sorted.get(ruleset_id)
        if ordered is None:
            versions = self._versions_of(ruleset_id)
            ordered = tuple(versions[v] for v in sorted(versions, key=_version_key))
            self._sorted[ruleset_id] = ordered
        return ordered

    def _file_entry(self, path: Path) -> Entry | None:
        """The first entry (in `_all` order) read from the file `path` names, by resolved path; None if none.

        Each entry's file is resolved once, when the index is made, not once per question."""
        if self._files is None:
            files: dict[Path, Entry] = {}
            for e in self._all():
                real = _resolved(e.file)
                if real is not None:
                    files.setdefault(real, e)
            self._files = files
        real = _resolved(path)
        return None if real is None else self._files.get(real)

    def _versions_of(self, ruleset_id: str) -> dict[str, Entry]:
        if not isinstance(ruleset_id, str):  # before any lookup: a list cannot even be looked up
            raise UnknownRuleset(_not_text(ruleset_id))
        versions = self._by_id.get(ruleset_id)
        if versions is None:
            partial = [i for i in self.ids() if ruleset_id and ruleset_id in i]
            hint = (f"did you mean `{partial[0]}`?" if len(partial) == 1
                    else "it holds no ruleset at all" if not self.ids()
                    else did_you_mean(ruleset_id, self.ids(), "rulesets", see="the folder of rulesets"))
            raise UnknownRuleset(f"no ruleset `{quoted(ruleset_id, SHOWN_REF)}` in the repository; {hint}")
        return versions

    def _entry(self, ruleset_id: str, version: str | None) -> Entry:
        versions = self._versions_of(ruleset_id)
        if version is None:
            return self._ordered(ruleset_id)[-1]  # the newest
        if not isinstance(version, str):
            raise UnknownVersion(f"a version is text such as 2021.1.0, not a value of type {type(version).__name__}")
        entry = versions.get(version.strip())
        if entry is None:
            ordered = self.versions(ruleset_id)
            best = closest(version, ordered)
            hint = f"did you mean `{best}`?" if best else "versions: " + ", ".join(ordered)
            raise UnknownVersion(f"`{ruleset_id}` has no version `{quoted(version, SHOWN_REF)}`; {hint}")
        return entry

    def _satisfying(self, ruleset_id: str, spec: str) -> list[str]:
        # Many versions (or files) may extend one ruleset with the same range: matched once.
        key = (ruleset_id, spec)
        found = self._matching.get(key)
        if found is None:
            found = [v for v in self.versions(ruleset_id) if semver_.matches(spec, v)]
            self._matching[key] = found
        return list(found)


def check_paths(paths: Iterable[Path | str]) -> list[CheckResult]:
    """Check every ruleset file named or found under the folders named: each on its own, then all of
    them against each other (overlapping versions, `extends` that nothing satisfies or that goes round
    in a circle: BWC301-306), each problem attached to the file that has to change."""
    return Repository.check(ruleset_files(paths))


def _not_text(ruleset_id: object) -> str:
    """Why a ruleset id that is not text names no ruleset (its value is not shown: it may be anything)."""
    return f"a ruleset id is text, not a value of type {type(ruleset_id).__name__}"


def _suggest(ruleset_id: str, ids: list[str]) -> str:
    best = closest(ruleset_id, ids)
    if best is not None:
        return f"did you mean `{best}`? If not, load the folder that holds `{ruleset_id}` too"
    return f"load the folder that holds `{ruleset_id}` too"


def _resolved(path: Path) -> Path | None:
    """The path with symbolic links and `..` resolved; None if that fails (two such paths name no same file)."""
    try:
        return path.resolve()
    except OSError:
        return None


def _at(entry: Entry, path: tuple[str | int, ...], code: str, message: str, hint: str | None) -> Diagnostic:
    line, col = entry.doc.position(path, key=True) or (None, None)
    return Diagnostic(code, message, str(entry.file), line, col, hint, path=path)
