"""Characters in, characters out: the vocabulary, the toy tasks and their datasets.

Tasks map an input string to the string the model must produce:
- ``copy``: the same string (cross-attention learns a diagonal);
- ``reverse``: the string reversed (an anti-diagonal);
- ``sort``: the characters in vocabulary order (each output character looks up where it came from);
- ``shift``: each output character is the input character ``SHIFT`` positions back, ``-`` before
  the start (``abcdef`` → ``--abcd``: a diagonal moved ``SHIFT`` keys to the left);
- ``swap``: adjacent characters swapped in pairs, an odd last character kept (``abcde`` →
  ``badce``): a zig-zag, each output looks at its pair partner (position ``t ^ 1``);

Language-model tasks (for the decoder-only model) have no input → output pair: the model reads
one sequence and predicts each next token.
- ``induction``: random characters in which a random segment appears twice in a row
  (``…xq·kfmwa·kfmwa·pz…``); from the second copy's first character on, the model can predict the
  rest by finding the earlier occurrence of the current character and reading the character after
  it: the induction head (Olsson et al., 2022).

A training pair is encoded as ``src = text + <eos>``, ``tgt_in = <bos> + target`` and
``tgt_out = target + <eos>`` (teacher forcing: position t of ``tgt_in`` predicts position t of
``tgt_out``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
SPECIALS = (PAD, BOS, EOS)
DEFAULT_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789 .,!?'-:;()"


class UnknownCharactersError(ValueError):
    """Text holds characters outside the vocabulary; ``characters`` lists ``(position, char)``."""

    def __init__(self, characters: list[tuple[int, str]]) -> None:
        self.characters = characters
        listed = ", ".join(f"{ch!r} at position {pos}" for pos, ch in characters)
        n = len(characters)
        super().__init__(f"{n} character{'s' if n != 1 else ''} outside the vocabulary: {listed}")


class Vocab:
    """A character vocabulary: the specials <pad>=0, <bos>=1, <eos>=2, then one id per character."""

    def __init__(self, tokens: Sequence[str]) -> None:
        if tuple(tokens[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a vocabulary must start with {SPECIALS}")
        if len(set(tokens)) != len(tokens):
            raise ValueError("vocabulary tokens must be unique")
        self.itos: list[str] = list(tokens)
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        self.pad_id, self.bos_id, self.eos_id = (self.stoi[s] for s in SPECIALS)

    @classmethod
    def default(cls) -> Vocab:
        return cls([*SPECIALS, *DEFAULT_CHARS])

    @property
    def chars(self) -> str:
        """The ordinary (non-special) characters, in id order."""
        return "".join(t for t in self.itos if t not in SPECIALS)

    def __len__(self) -> int:
        return len(self.itos)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.itos == other.itos

    def unknown_characters(self, text: str) -> list[tuple[int, str]]:
        """``(position, char)`` of every character of ``text`` that has no id (specials included)."""
        return [(i, ch) for i, ch in enumerate(text) if ch not in self.stoi or ch in SPECIALS]

    def encode(self, text: str, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """Ids of ``text``; raises :class:`UnknownCharactersError` naming every bad character."""
        bad = self.unknown_characters(text)
        if bad:
            raise UnknownCharactersError(bad)
        ids = [self.stoi[ch] for ch in text]
        return ([self.bos_id] if add_bos else []) + ids + ([self.eos_id] if add_eos else [])

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``: stops at the first <eos>, skips <bos> and <pad>."""
        out = []
        for i in ids:
            i = int(i)
            if i == self.eos_id:
                break
            if i in (self.bos_id, self.pad_id):
                continue
            out.append(self.itos[i])
        return "".join(out)

    def tokens(self, ids: Iterable[int]) -> list[str]:
        """The token string of each id (specials as ``<eos>`` etc.)."""
        return [self.itos[int(i)] for i in ids]


# --------------------------------------------------------------------------------------------
# Tasks
# --------------------------------------------------------------------------------------------


def _sort_key(vocab: Vocab) -> Callable[[str], int]:
    return lambda ch: vocab.stoi[ch]


SHIFT = 2  # how far back the shift task looks
SHIFT_FILL = "-"


def shift_text(text: str) -> str:
    return (SHIFT_FILL * SHIFT + text)[: len(text)]


def swap_pairs(text: str) -> str:
    """Characters 0-1, 2-3, ... swapped; an odd last character stays where it is."""
    odd_tail = text[-1] if len(text) % 2 else ""
    return "".join(text[i + 1] + text[i] for i in range(0, len(text) - 1, 2)) + odd_tail


ToyTask = Literal["copy", "reverse", "sort", "shift", "swap"]
"""The input → output tasks of the encoder-decoder: the one list (the API's schema, and through it
the front end's types, take it from here)."""
LmTask = Literal["induction"]
TaskName = Literal[ToyTask, LmTask]

TASKS: dict[ToyTask, Callable[[str, Vocab], str]] = {
    "copy": lambda text, vocab: text,
    "reverse": lambda text, vocab: text[::-1],
    "sort": lambda text, vocab: "".join(sorted(text, key=_sort_key(vocab))),
    "shift": lambda text, vocab: shift_text(text),
    "swap": lambda text, vocab: swap_pairs(text),
}
TASK_NAMES: tuple[ToyTask, ...] = get_args(ToyTask)
assert tuple(TASKS) == TASK_NAMES, "every task in ToyTask has its targets in TASKS"

SAMPLE_INPUTS = {
    "copy": "hello world",
    "reverse": "attention",
    "sort": "transformer",
    "shift": "look back",
    "swap": "zig zag",
}


LM_TASKS: tuple[LmTask, ...] = get_args(LmTask)
"""Tasks of the decoder-only model (``--arch decoder``); every other task is input → output."""
ALL_TASKS: tuple[TaskName, ...] = (*TASK_NAMES, *LM_TASKS)
SAMPLE_INPUTS["induction"] = "pjdkfmwaxqzkfmwa"  # "kfmwaxqz" again from its start: the model continues it
INDUCTION_CHARS = "abcdefghijklmnopqrstuvwxyz"  # the random characters of induction sequences


@dataclass(frozen=True)
class InductionBatch:
    ids: Tensor  # (B, 1 + T) <bos> + characters
    seg_start: Tensor  # (B,) position in ``ids`` of the first copy's first character
    seg_len: Tensor  # (B,) the segment's length k; the second copy starts at seg_start + k
    target_mask: Tensor  # (B, T) True where position t of ``ids[:, :-1]`` predicts a predictable token


def induction_text(
    rng: random.Random, seq_len: int = 32, min_seg: int = 5, max_seg: int = 15, alphabet: str = INDUCTION_CHARS
) -> tuple[str, int, int]:
    """One induction sequence: ``seq_len`` random characters in which a segment s of length
    k in [min_seg, max_seg] at a random offset p is followed at once by s again. Returns
    ``(text, p, k)``; the second copy is ``text[p + k : p + 2k]``."""
    k = rng.randint(min_seg, min(max_seg, seq_len // 2))
    p = rng.randint(0, seq_len - 2 * k)
    chars = [rng.choice(alphabet) for _ in range(seq_len)]
    chars[p + k : p + 2 * k] = chars[p : p + k]
    return "".join(chars), p, k


def induction_batch(
    n: int,
    vocab: Vocab,
    rng: random.Random,
    seq_len: int = 32,
    min_seg: int = 5,
    max_seg: int = 15,
    alphabet: str = INDUCTION_CHARS,
) -> InductionBatch:
    """``n`` induction sequences, ``<bos>`` first. The predictable tokens are the second copy's
    characters after its first (the first could be anything): position t predicts ``ids[t + 1]``,
    so the mask is True at t = p + k + 1 .. p + 2k - 1 in ``ids`` (bos-shifted) minus one."""
    rows, starts, lens = [], [], []
    for _ in range(n):
        text, p, k = induction_text(rng, seq_len, min_seg, max_seg, alphabet)
        rows.append(vocab.encode(text, add_bos=True))
        starts.append(p + 1)  # + 1: <bos> comes first
        lens.append(k)
    ids = torch.tensor(rows, dtype=torch.long)  # (B, 1 + T)
    seg_start = torch.tensor(starts)
    seg_len = torch.tensor(lens)
    t = torch.arange(seq_len)[None, :]  # predicting ids[t + 1]
    second = (seg_start + seg_len)[:, None]  # (B, 1) first character of the second copy, in ids
    target_mask = (t + 1 > second) & (t + 1 < second + seg_len[:, None])  # (B, T)
    return InductionBatch(ids, seg_start, seg_len, target_mask)


def expected_origins(task: str, text: str, vocab: Vocab) -> list[int]:
    """For each output character, the input position the task copies it from (-1: none). The same
    rule as the front end's ``lib/alignment.ts`` (the overlay); tests score trained heads with it."""
    target = target_for(task, text, vocab)
    n = len(text)
    if task == "copy":
        return list(range(n))
    if task == "reverse":
        return [n - 1 - t for t in range(n)]
    if task == "shift":
        return [t - SHIFT if t >= SHIFT else -1 for t in range(n)]
    if task == "swap":  # the pair partner; an odd last character is its own
        return [t ^ 1 if t ^ 1 < n else t for t in range(n)]
    used: dict[str, int] = {}
    out = []
    for ch in target:  # sort: the k-th occurrence in the output <-> the k-th in the input
        k = used.get(ch, 0)
        places = [i for i, c in enumerate(text) if c == ch]
        out.append(places[k] if k < len(places) else -1)
        used[ch] = k + 1
    return out


def target_for(task: str, text: str, vocab: Vocab) -> str:
    """The output the ``task`` asks for ``text``."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASK_NAMES)}")
    return TASKS[task](text, vocab)


# --------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    src: str
    tgt: str


def distinct_draws(n: int, draw: Callable[[], str], what: str) -> list[str]:
    """``n`` distinct results of ``draw()``, in the order drawn; ValueError naming ``what`` when the
    space is too small to find them."""
    seen: set[str] = set()
    out: list[str] = []
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 50 * n + 1000:
            raise ValueError(f"cannot draw {n} distinct {what}")
        s = draw()
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def random_strings(n: int, min_text_len: int, max_text_len: int, alphabet: str, rng: random.Random) -> list[str]:
    """``n`` distinct random strings with lengths uniform in ``[min_text_len, max_text_len]``."""
    return distinct_draws(
        n,
        lambda: "".join(rng.choice(alphabet) for _ in range(rng.randint(min_text_len, max_text_len))),
        f"strings of length {min_text_len}..{max_text_len}",
    )


def make_splits(
    task: str,
    vocab: Vocab,
    n_train: int,
    n_eval: int,
    min_text_len: int = 1,
    max_text_len: int = 16,
    seed: int = 0,
) -> tuple[list[Example], list[Example]]:
    """Seeded train and held-out evaluation sets that share no input string."""
    rng = random.Random(seed)
    texts = random_strings(n_train + n_eval, min_text_len, max_text_len, vocab.chars, rng)
    examples = [Example(t, target_for(task, t, vocab)) for t in texts]
    return examples[:n_train], examples[n_train:]


class TaskDataset(Dataset[tuple[list[int], list[int]]]):
    """Examples as ``(src ids with <eos>, target ids)``."""

    def __init__(self, examples: Sequence[Example], vocab: Vocab) -> None:
        self.items = [(vocab.encode(e.src, add_eos=True), vocab.encode(e.tgt)) for e in examples]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[list[int], list[int]]:
        return self.items[i]


@dataclass
class Batch:
    src: Tensor  # (B, T_s) source ids ending in <eos>, right-padded
    tgt_in: Tensor  # (B, T_t) <bos> + target, right-padded
    tgt_out: Tensor  # (B, T_t) target + <eos>, right-padded


def collate(items: Sequence[tuple[list[int], list[int]]], vocab: Vocab) -> Batch:
    def pad(rows: list[list[int]]) -> Tensor:
        width = max(len(r) for r in rows)
        return torch.tensor([r + [vocab.pad_id] * (width - len(r)) for r in rows], dtype=torch.long)

    return Batch(
        src=pad([s for s, _ in items]),
        tgt_in=pad([[vocab.bos_id, *t] for _, t in items]),
        tgt_out=pad([[*t, vocab.eos_id] for _, t in items]),
    )


def make_loader(examples: Sequence[Example], vocab: Vocab, batch_size: int, shuffle: bool, seed: int = 0) -> DataLoader[Batch]:
    """A ``DataLoader`` of :class:`Batch`; shuffling is seeded so runs repeat exactly."""
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        TaskDataset(examples, vocab),  # type: ignore[arg-type]
        batch_size=batch_size,
        shuffle=shuffle,
        generator=generator,
        collate_fn=lambda items: collate(items, vocab),
    )
