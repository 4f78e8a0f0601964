"""Who may call the service: bearer tokens, each with a role (`read` < `write` < `admin`).

Tokens come from a file (`bwc serve --tokens FILE`, JSON or YAML: `{"tokens": [{"name": "records",
"role": "write", "token": "..."}]}`) or from the environment (`BWC_TOKENS="read:TOKEN,write:TOKEN"`).
A token is compared in constant time; the service never prints one. A role includes the roles below it.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from policy.values import quoted, quoted_path

Role = Literal["read", "write", "admin"]
ROLES: tuple[Role, ...] = ("read", "write", "admin")
MIN_LENGTH = 16  # a shorter token is guessable: refused when the service starts
ENV = "BWC_TOKENS"


class TokenError(Exception):
    """The tokens given cannot be used: the message says where and why."""


@dataclass(frozen=True, slots=True)
class Token:
    name: str
    role: Role
    secret: str


class Tokens:
    """The tokens the service accepts."""

    def __init__(self, tokens: list[Token], where: list[str] | None = None) -> None:
        """`where`: where each token was given, for messages (default: its name)."""
        if not tokens:
            raise TokenError("no token is configured: the service would refuse every call (give --tokens FILE "
                             f"or set {ENV})")
        # A token has one role: given twice (with two roles, say), which one a caller gets would depend
        # on the order of the list. Refused at start, naming the entries, never the token itself.
        named = where if where is not None else [repr(t.name) for t in tokens]
        first: dict[str, int] = {}
        for k, t in enumerate(tokens):
            seen = first.setdefault(t.secret, k)
            if seen != k:
                raise TokenError(f"{named[k]}: the same token as {named[seen]}: give each token once, with one "
                                 "role (a token may call what its role and the roles below it may)")
        self.tokens = tokens

    def role_of(self, secret: str) -> Token | None:
        """The token matching `secret`, compared in constant time with every token (no early exit)."""
        found: Token | None = None
        given = secret.encode()
        for t in self.tokens:
            if hmac.compare_digest(given, t.secret.encode()):
                found = t
        return found

    @classmethod
    def from_file(cls, path: Path) -> Tokens:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TokenError(f"cannot read the tokens file `{quoted_path(path)}`: {exc}") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise TokenError(f"`{quoted_path(path)}` is not JSON or YAML: {quoted(str(exc), 200)}") from None
        entries = data.get("tokens") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise TokenError(f"`{quoted_path(path)}`: expected {{\"tokens\": [{{\"name\": ..., \"role\": ..., "
                             "\"token\": ...}, ...]}")
        where = [f"{quoted_path(path)}: tokens[{k}]" for k in range(len(entries))]
        return cls([_token(e, w) for e, w in zip(entries, where, strict=True)], where)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Tokens | None:
        text = environ.get(ENV)
        if text is None:
            return None
        out, where = [], []
        for k, part in enumerate(p for p in text.split(",") if p.strip()):
            role, sep, secret = part.strip().partition(":")
            where.append(f"{ENV} entry {k + 1}")
            out.append(_token({"name": f"{ENV}[{k}]", "role": role, "token": secret if sep else ""}, where[-1]))
        return cls(out, where)


def _token(entry: object, where: str) -> Token:
    if not isinstance(entry, dict):
        raise TokenError(f"{where}: expected an object with name, role and token")
    role, secret, name = entry.get("role"), entry.get("token"), entry.get("name", "")
    if role not in ROLES:
        raise TokenError(f"{where}: role must be one of {', '.join(ROLES)}, not {quoted(str(role))}")
    if not isinstance(secret, str) or len(secret) < MIN_LENGTH or not secret.isprintable() or " " in secret:
        raise TokenError(f"{where}: a token is text of at least {MIN_LENGTH} printable characters without spaces")
    if not isinstance(name, str):
        raise TokenError(f"{where}: name must be text")
    return Token(name, role, secret)


def allows(role: Role, needed: Role) -> bool:
    """Whether a token of `role` may call an endpoint that needs `needed`."""
    return ROLES.index(role) >= ROLES.index(needed)
