"""The decoder-only model (the paper's decoder stack alone, section 3.1, as GPT-style language
models use it; family ``toy-decoder``): what it adds to or refuses of :class:`ToyAdapter`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...anywhere import Detail
from ...data import LM_TASKS
from ...errors import NotSupported
from ...induction import heldout_summary
from ...inference import parse_head_masks
from ...model import SmallDecoder
from .base import RunRequest
from .toy import ToyAdapter


@dataclass
class ToyDecoderAdapter(ToyAdapter):
    """A decoder-only checkpoint: one kind (``decoder_self``), a number of tokens to generate,
    always a whole document (its context is a few dozen characters), and on induction checkpoints
    the held-out accuracy with the request's heads switched off."""

    def check_head(self, kind: str, layer: int, head: int, what: str = "") -> None:
        """``NotSupported`` for a kind it lacks, ``OutOfRange`` past the heads."""
        if kind != "decoder_self":
            raise NotSupported(
                f"{what}This decoder-only model has no {kind} attention; it has decoder_self only.",
                family=self.family,
            )
        super().check_head(kind, layer, head, what)

    def new_tokens(self, requested: int | None) -> int | None:
        """The default when absent, ``OutOfRange`` past the bound."""
        return self.limits.new_tokens(requested)

    def sizes(self, text: str, detail: Detail) -> tuple[int, int]:
        if detail == "overview":
            raise NotSupported(
                f"{self.name} is a toy decoder whose longest text is {self.loaded.ckpt.config.max_len - 1} "
                "characters: its document always comes whole; ask for detail 'full' or 'auto'.",
            )
        return 0, 0

    def document(self, req: RunRequest) -> dict[str, Any]:
        doc = super().document(req)
        model, ckpt = self.loaded.model, self.loaded.ckpt
        if ckpt.task in LM_TASKS:
            assert isinstance(model, SmallDecoder)  # the checkpoint's arch chose this adapter
            # what switching heads off does to the task, measured on held-out sequences (not only this text)
            masks = parse_head_masks(model, list(req.ablate) or None)
            doc["heldout"] = heldout_summary(model, ckpt.vocab, masks, ckpt.train)
        return doc
