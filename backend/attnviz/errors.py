"""What can go wrong with a request to the model, as Python exceptions that know nothing of HTTP.

The service, the checkpoint registry and the training jobs raise these; the notebook layer and the
command line catch them; the web service maps each type to one HTTP status in one place
(:mod:`attnviz.server.errors`). Each error has a stable ``code`` (one per type, all listed in the API's
error schema), a ``detail`` sentence a person can act on, and extra fields
that go into the error body as they are.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

DomainCode = Literal[
    "unknown_checkpoint",
    "unknown_run",
    "unknown_handle",
    "unknown_job",
    "empty_text",
    "text_too_long",
    "unknown_characters",
    "out_of_range",
    "out_of_bounds",
    "invalid_model_size",
    "invalid_name",
    "not_supported",
    "checkpoint_unusable",
    "response_too_large",
    "training_disabled",
    "training_busy",
    "run_exists",
    "training_dir_unwritable",
]
"""Every code a domain error can carry (the web service adds its own: see ``ErrorResponse.code``)."""


class AttnvizError(Exception):
    """A request that cannot be served as asked; ``detail`` says why and what to do."""

    code: ClassVar[DomainCode]
    """Set on each concrete type; a new code is a new type, so the API's error schema lists it."""

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(AttnvizError):
    """A name or handle that points at nothing (or anywhere outside the checkpoint directory)."""


class UnknownCheckpoint(NotFound):
    code = "unknown_checkpoint"


class UnknownRun(NotFound):
    code = "unknown_run"


class UnknownHandle(NotFound):
    """A long run's handle that is unknown or expired: ask for the attention document again."""

    code = "unknown_handle"


class UnknownJob(NotFound):
    code = "unknown_job"


class InvalidInput(AttnvizError):
    """A text, head or setting the model cannot take as it is."""


class EmptyText(InvalidInput):
    code = "empty_text"


class TextTooLong(InvalidInput):
    """Past the checkpoint's length or the model's context (``max_length``)."""

    code = "text_too_long"


class TextNotInVocabulary(InvalidInput):
    """Characters a toy checkpoint's vocabulary does not have (``invalid_characters`` lists them)."""

    code = "unknown_characters"


class OutOfRange(InvalidInput):
    """A layer, head, tile region or token count the model or the server does not have."""

    code = "out_of_range"


class OutOfBounds(InvalidInput):
    """A training setting past what this server allows (``field``, ``maximum``, ``setting``)."""

    code = "out_of_bounds"


class InvalidModelSize(InvalidInput):
    code = "invalid_model_size"


class InvalidName(InvalidInput):
    code = "invalid_name"


class NotSupported(AttnvizError):
    """Something this model (its family or kind) does not offer; ``supports`` says what it does."""

    code = "not_supported"


class Unusable(AttnvizError):
    """A checkpoint or model that exists but cannot be loaded."""

    code = "checkpoint_unusable"


class TooLarge(AttnvizError):
    """A result past the configured response budget (ask for less: an overview, a compact encoding)."""

    code = "response_too_large"


class NotAllowed(AttnvizError):
    """Something this server was set up not to do (``setting`` names the switch)."""

    code = "training_disabled"


class Conflict(AttnvizError):
    """A request that clashes with what is already there."""


class TrainingBusy(Conflict):
    code = "training_busy"


class RunExists(Conflict):
    code = "run_exists"


class TrainingDirUnwritable(Conflict):
    code = "training_dir_unwritable"


def error_types() -> list[type[AttnvizError]]:
    """Every error type that can be raised (the ones with a ``code``), for the HTTP mapping and its tests."""
    out: list[type[AttnvizError]] = []
    todo: list[type[AttnvizError]] = [AttnvizError]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if "code" in vars(cls):
            out.append(cls)
    return out
