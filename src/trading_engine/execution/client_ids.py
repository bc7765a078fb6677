"""Client ids: how the engine recognises its own orders, deals and positions on the terminal.

Every order gets a sequence number. From it come

- the **client id**, the journal's key: ``f"{prefix}-{seq:06d}"`` (``"te1-000123"``);
- the **tag** carried in the MT5 ``comment`` field: ``"te:" + base36(seq) + "-" + check``
  (``"te:3f-k"``), short ASCII (≤ 18 characters, well under the 26 a broker safely keeps),
  without ``[`` or ``]``.

An order is ours when its ``magic`` is the engine's AND its comment holds a valid tag. The check
character (a weighted sum of the digits, base 36) makes a truncated or rewritten tag fail to parse
instead of naming another order, and :func:`parse_tag` finds the tag anywhere in the comment, so
the suffixes brokers append (``"te:3f-k [sl 1.08450]"``) or prefixes do not hide it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "COMMENT_LIMIT",
    "TAG_PREFIX",
    "ClientId",
    "ClientIdFactory",
    "parse_client_id",
    "parse_tag",
    "seq_from_tag",
    "tag_for",
]

TAG_PREFIX = "te:"
COMMENT_LIMIT = 26
"""Longest comment the engine sends (brokers are known to cut or refuse from 27 to 31)."""

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_PREFIX_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,7}")
_TAG_PREFIX_RE = re.compile(r"[A-Za-z]{1,4}:")


def _base36(n: int) -> str:
    if n == 0:
        return "0"
    out = []
    while n:
        n, r = divmod(n, 36)
        out.append(_DIGITS[r])
    return "".join(reversed(out))


_VALUE = {ch: i for i, ch in enumerate(_DIGITS)}


def _check(body: str) -> str:
    value = _VALUE
    total = sum((i + 1) * value[ch] for i, ch in enumerate(body))
    return _DIGITS[(total + len(body)) % 36]


def tag_for(seq: int, prefix: str = TAG_PREFIX) -> str:
    """The comment tag of sequence number ``seq`` (``tag_for(123) == "te:3f-…"``)."""
    if seq < 0:
        raise ValueError(f"sequence numbers are >= 0, got {seq}")
    body = _base36(seq)
    return f"{prefix}{body}-{_check(body)}"


_TAG_CACHE: dict[str, re.Pattern[str]] = {}


def _tag_re(prefix: str) -> re.Pattern[str]:
    pattern = _TAG_CACHE.get(prefix)
    if pattern is None:
        pattern = re.compile(
            rf"(?<![0-9A-Za-z]){re.escape(prefix)}([0-9a-z]{{1,13}})-([0-9a-z])(?![0-9A-Za-z])",
            re.IGNORECASE,
        )
        _TAG_CACHE[prefix] = pattern
    return pattern


def parse_tag(comment: str | None, prefix: str = TAG_PREFIX) -> str | None:
    """The engine's tag found in ``comment`` (canonical lower case), or ``None``.

    Robust to text before or after the tag and to case changes; a truncated or altered tag (its
    check character no longer matches) is not recognised.
    """
    if not comment:
        return None
    for match in _tag_re(prefix).finditer(comment):
        body, check = match.group(1).lower(), match.group(2).lower()
        if _check(body) == check:
            return f"{prefix}{body}-{check}"
    return None


def seq_from_tag(tag: str, prefix: str = TAG_PREFIX) -> int:
    """The sequence number of a tag produced by :func:`tag_for` (``ValueError`` otherwise)."""
    parsed = parse_tag(tag, prefix)
    if parsed is None or parsed != tag.lower():
        raise ValueError(f"not a valid tag: {tag!r}")
    return int(parsed[len(prefix) : -2], 36)


def parse_client_id(client_id: str) -> tuple[str, int]:
    """``(prefix, seq)`` of a client id such as ``"te1-000123"`` (``ValueError`` otherwise)."""
    prefix, sep, digits = client_id.rpartition("-")
    if not sep or not prefix or not digits.isdigit():
        raise ValueError(f"not a client id: {client_id!r}")
    return prefix, int(digits)


@dataclass(frozen=True, slots=True)
class ClientId:
    """One order's identity: its sequence number, journal key and comment tag."""

    seq: int
    client_id: str
    tag: str


class ClientIdFactory:
    """Makes unique client ids for one engine; restart it from the journal's next sequence.

    ``prefix`` names the engine instance in client ids (letters, digits and ``_``, at most 8,
    starting with a letter); ``tag_prefix`` starts every comment tag (1–4 letters and ``:``).
    """

    __slots__ = ("_next", "prefix", "tag_prefix")

    def __init__(self, prefix: str = "te1", start_seq: int = 1, *, tag_prefix: str = TAG_PREFIX):
        if not _PREFIX_RE.fullmatch(prefix):
            raise ValueError(f"client id prefix must match {_PREFIX_RE.pattern}, got {prefix!r}")
        if not _TAG_PREFIX_RE.fullmatch(tag_prefix):
            raise ValueError(f"tag prefix must match {_TAG_PREFIX_RE.pattern}, got {tag_prefix!r}")
        if start_seq < 0:
            raise ValueError(f"start_seq must be >= 0, got {start_seq}")
        self.prefix = prefix
        self.tag_prefix = tag_prefix
        self._next = start_seq

    @property
    def next_seq(self) -> int:
        """The sequence number the next id will get (persist it, or recompute from the journal)."""
        return self._next

    def next(self) -> ClientId:
        """A new, never-issued client id and its tag."""
        seq = self._next
        self._next += 1
        return self.make(seq)

    def make(self, seq: int) -> ClientId:
        """The client id and tag of sequence number ``seq`` (no side effect)."""
        return ClientId(seq, f"{self.prefix}-{seq:06d}", tag_for(seq, self.tag_prefix))

    def observe(self, seq: int) -> None:
        """Make sure later ids are above ``seq`` (e.g. a tag seen on the terminal at start)."""
        self._next = max(self._next, seq + 1)

    def parse(self, comment: str | None) -> str | None:
        """The tag in ``comment`` with this factory's prefix, or ``None``."""
        return parse_tag(comment, self.tag_prefix)

    def comment(self, client: ClientId, note: str = "") -> str:
        """The MT5 comment: the tag, then ``note`` cut to fit in ``COMMENT_LIMIT`` ASCII chars.

        Characters brokers are known to refuse or rewrite (non-ASCII, ``[``, ``]``) are dropped.
        """
        clean = "".join(ch for ch in note if 32 <= ord(ch) < 127 and ch not in "[]").strip()
        text = f"{client.tag} {clean}" if clean else client.tag
        return text[:COMMENT_LIMIT].rstrip()
