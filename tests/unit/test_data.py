"""Vocabulary, tasks and seeded splits."""

from __future__ import annotations

import pytest

from attnviz.data import BOS, EOS, PAD, UnknownCharactersError, Vocab, collate, make_splits, target_for


def test_vocab_round_trip_and_specials() -> None:
    vocab = Vocab.default()
    assert vocab.itos[:3] == [PAD, BOS, EOS] and (vocab.pad_id, vocab.bos_id, vocab.eos_id) == (0, 1, 2)
    ids = vocab.encode("hello, world!", add_bos=True, add_eos=True)
    assert ids[0] == vocab.bos_id and ids[-1] == vocab.eos_id
    assert vocab.decode(ids) == "hello, world!"
    assert vocab.decode([*vocab.encode("ab"), vocab.eos_id, *vocab.encode("cd")]) == "ab"  # stops at <eos>
    assert vocab.tokens(vocab.encode("a b", add_eos=True)) == ["a", " ", "b", EOS]


def test_unknown_characters_are_named_with_positions() -> None:
    vocab = Vocab.default()
    with pytest.raises(UnknownCharactersError) as info:
        vocab.encode("héllo€")
    assert info.value.characters == [(1, "é"), (5, "€")]
    assert "'é' at position 1" in str(info.value) and "'€' at position 5" in str(info.value)
    assert vocab.unknown_characters("<eos>") == [(0, "<"), (4, ">")]  # specials cannot be typed
    assert vocab.unknown_characters("ABC") == [(0, "A"), (1, "B"), (2, "C")]


def test_tasks() -> None:
    vocab = Vocab.default()
    assert target_for("copy", "abc", vocab) == "abc"
    assert target_for("reverse", "abc", vocab) == "cba"
    assert target_for("sort", "cab1", vocab) == "abc1"  # vocabulary order: letters, then digits
    assert target_for("swap", "abcdef", vocab) == "badcfe"
    assert target_for("swap", "abc", vocab) == "bac"  # an odd last character stays
    with pytest.raises(ValueError, match="unknown task"):
        target_for("shuffle", "abc", vocab)


def test_splits_are_seeded_and_disjoint() -> None:
    vocab = Vocab.default()
    train, held_out = make_splits("reverse", vocab, 2000, 300, 1, 4, seed=3)
    assert len(train) == 2000 and len(held_out) == 300
    assert not {e.src for e in train} & {e.src for e in held_out}
    assert all(1 <= len(e.src) <= 4 and e.tgt == e.src[::-1] for e in train + held_out)
    assert make_splits("reverse", vocab, 2000, 300, 1, 4, seed=3) == (train, held_out)
    assert make_splits("reverse", vocab, 2000, 300, 1, 4, seed=4)[0] != train


def test_collate_pads_and_shifts() -> None:
    vocab = Vocab.default()
    items = [(vocab.encode("ab", add_eos=True), vocab.encode("ab")), (vocab.encode("c", add_eos=True), vocab.encode("c"))]
    batch = collate(items, vocab)
    a, b, c = vocab.encode("abc")
    assert batch.src.tolist() == [[a, b, 2], [c, 2, 0]]
    assert batch.tgt_in.tolist() == [[1, a, b], [1, c, 0]]
    assert batch.tgt_out.tolist() == [[a, b, 2], [c, 2, 0]]
