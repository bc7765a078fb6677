"""Client ids and comment tags: unique, short, ASCII, and parsed back from broker comments."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading_engine.execution.client_ids import (
    COMMENT_LIMIT,
    ClientIdFactory,
    parse_client_id,
    parse_tag,
    seq_from_tag,
    tag_for,
)


def test_client_ids_have_the_prefix_and_a_zero_padded_sequence() -> None:
    factory = ClientIdFactory("te1", start_seq=123)
    cid = factory.next()
    assert cid.client_id == "te1-000123"
    assert cid.seq == 123
    assert cid.tag.startswith("te:3f-")
    assert factory.next().client_id == "te1-000124"
    assert parse_client_id("te1-000123") == ("te1", 123)


def test_client_ids_are_unique_over_many_orders() -> None:
    factory = ClientIdFactory("te1")
    ids = [factory.next() for _ in range(5000)]
    assert len({c.client_id for c in ids}) == 5000
    assert len({c.tag for c in ids}) == 5000


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=36**13 - 1))
def test_every_tag_parses_back_to_its_sequence(seq: int) -> None:
    tag = tag_for(seq)
    assert tag.isascii()
    assert len(tag) <= 18
    assert parse_tag(tag) == tag
    assert seq_from_tag(tag) == seq


def test_tags_are_found_in_comments_rewritten_by_brokers() -> None:
    tag = tag_for(123)
    assert parse_tag(f"{tag} [sl 1.08450]") == tag
    assert parse_tag(f"[tp 1.1]{tag}") == tag
    assert parse_tag(f"{tag} ema_cross") == tag
    assert parse_tag(tag.upper()) == tag


@settings(max_examples=100)
@given(st.integers(min_value=0, max_value=10**9))
def test_a_truncated_tag_is_not_taken_for_another_order(seq: int) -> None:
    tag = tag_for(seq)
    for cut in range(1, len(tag)):
        assert parse_tag(tag[:cut]) is None


def test_a_tag_with_a_wrong_check_character_is_rejected() -> None:
    tag = tag_for(4242)
    wrong = tag[:-1] + ("a" if tag[-1] != "a" else "b")
    assert parse_tag(wrong) is None
    assert parse_tag("te:3fx-") is None
    assert parse_tag("") is None
    assert parse_tag(None) is None
    assert parse_tag("xte:3f-" + tag[-1]) is None  # glued to other text: not a tag
    with pytest.raises(ValueError, match="not a valid tag"):
        seq_from_tag(wrong)


def test_comment_keeps_the_tag_and_fits_the_broker_limit() -> None:
    factory = ClientIdFactory("te1")
    cid = factory.next()
    comment = factory.comment(cid, "ema_cross [long] entry with a very long explanation é")
    assert comment.startswith(cid.tag + " ")
    assert len(comment) <= COMMENT_LIMIT
    assert comment.isascii()
    assert "[" not in comment
    assert factory.parse(comment) == cid.tag
    assert factory.comment(cid) == cid.tag


def test_factory_restarts_above_observed_sequences() -> None:
    factory = ClientIdFactory("te1", start_seq=5)
    factory.observe(41)
    assert factory.next().seq == 42
    factory.observe(3)
    assert factory.next_seq == 43
    assert factory.make(7).client_id == "te1-000007"


def test_a_custom_tag_prefix_is_not_confused_with_the_default() -> None:
    other = ClientIdFactory("bot", tag_prefix="xb:")
    cid = other.next()
    assert other.parse(cid.tag) == cid.tag
    assert parse_tag(cid.tag) is None


@pytest.mark.parametrize(
    ("prefix", "tag_prefix"), [("", "te:"), ("1te", "te:"), ("te-1", "te:"), ("te1", "te")]
)
def test_bad_prefixes_are_refused(prefix: str, tag_prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        ClientIdFactory(prefix, tag_prefix=tag_prefix)
