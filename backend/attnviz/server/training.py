"""Training from the page: one job at a time, run by the real trainer (:func:`attnviz.train.train`)
in a spawned worker process, so neither the forward passes nor the GIL slow the request threads.

The worker writes an ordinary run (``ckpt_epoch{N}.pt`` and ``snapshots/step{S}.pt``, each file
atomically) into the live-runs folder and reports over a queue; a reader thread in the server
turns the reports into numbered events that any number of event streams replay and follow. A
client that goes away changes nothing; a cancelled, timed-out or killed worker leaves every file
already written intact (the trainer removes a killed save's temporary file on its next start).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import multiprocessing as mp
import os
import queue
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..data import ALL_TASKS, LM_TASKS
from ..errors import (
    InvalidModelSize,
    InvalidName,
    NotAllowed,
    OutOfBounds,
    RunExists,
    TrainingBusy,
    TrainingDirUnwritable,
    UnknownJob,
)
from ..live_worker import worker_main
from .schemas import TrainSpecOut
from .settings import Settings, is_loopback

if TYPE_CHECKING:
    from ..train import TrainConfig

log = logging.getLogger("attnviz.server")

State = Literal["queued", "running", "done", "cancelled", "failed"]
TERMINAL: frozenset[str] = frozenset({"done", "cancelled", "failed"})
SETTING = "ATTNVIZ_TRAINING"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
CANCEL_GRACE = 5.0  # seconds a cancelled worker gets to stop before it is terminated
JOBS_KEPT = 20  # finished jobs whose status and events stay available


def training_permission(settings: Settings) -> tuple[bool, str | None]:
    """Whether POST /api/train is allowed, and if not, a sentence naming the setting."""
    if settings.training is True:
        return True, None
    if settings.training is False:
        return False, f"Training from the page is switched off on this server ({SETTING}=0)."
    if is_loopback(settings.host):
        return True, None
    return False, (
        f"Training from the page is off because the server listens on {settings.host}, not only on this machine; "
        f"whoever runs it can allow it with {SETTING}=1."
    )


@dataclass
class Worker:
    """A spawned worker process waiting for (or running) one job."""

    process: SpawnProcess
    jobs: Any  # multiprocessing queue: the job's config
    reports: Any  # multiprocessing queue: what the worker reports
    cancel: MpEvent
    ready: MpEvent  # set once torch is imported and warmed up

    def close(self) -> None:
        """Close its queues (the process has ended). Their semaphores are named, to be opened by the
        spawned child, and unlinked only when collected: a server ended by SIGTERM never collects
        them, and the resource tracker logs "leaked semaphore objects" (16 per job) at exit."""
        for q in (self.jobs, self.reports):
            q.cancel_join_thread()  # what the child never read is dropped, not waited for
            q.close()


@dataclass(frozen=True)
class Limits:
    max_layers: int
    max_heads: int
    max_d_model: int
    max_epochs: int
    max_seconds: float
    snapshot_every: int
    examples: int


def check_spec(spec: TrainSpecOut, limits: Limits) -> None:
    """422 with a code per bound the spec breaks (types and fixed ranges are checked by pydantic)."""
    bounds = (
        ("n_layers", spec.n_layers, limits.max_layers, "layers", "ATTNVIZ_TRAINING_MAX_LAYERS"),
        ("n_heads", spec.n_heads, limits.max_heads, "heads", "ATTNVIZ_TRAINING_MAX_HEADS"),
        ("d_model", spec.d_model, limits.max_d_model, "as d_model", "ATTNVIZ_TRAINING_MAX_D_MODEL"),
        ("epochs", spec.epochs, limits.max_epochs, "epochs", "ATTNVIZ_TRAINING_MAX_EPOCHS"),
    )
    for name, value, most, what, setting in bounds:
        if value > most:
            raise OutOfBounds(
                f"{name} is {value}; this server trains at most {most} {what} (setting {setting}).",
                field=name,
                maximum=most,
                setting=setting,
            )
    try:  # the model's own check of its shape
        job_config(spec, limits, Path(spec.name))
    except ValueError as exc:
        raise InvalidModelSize(f"{exc}.", field="d_model") from None
    if not NAME_PATTERN.match(spec.name) or spec.name == "snapshots":  # snapshots/ folders are not listed as runs
        raise InvalidName(
            f"The run name {spec.name!r} is not allowed: use 1-64 lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit.",
            field="name",
        )


LM_SNAPSHOT_EVERY = 50  # the induction task's snapshots: ~20 in a run, each with its held-out scores


def job_config(spec: TrainSpecOut, limits: Limits, run_dir: Path) -> TrainConfig:
    """A job's training config. The toy tasks train on the server's ``examples`` per epoch; the
    induction task keeps its own recipe (fresh sequences, its epoch length) and snapshots less
    often, each snapshot carrying its held-out scores. The page chooses the size and length (its
    form proposes the recipe's heads); the rest is the task's. Raises ``ValueError`` for a model
    shape that cannot be built."""
    from ..train import TrainConfig

    values: dict[str, Any] = {
        "epochs": spec.epochs,
        "n_layers": spec.n_layers,
        "n_heads": spec.n_heads,
        "d_model": spec.d_model,
        "d_ff": 2 * spec.d_model,
        "lr": spec.lr,
        "seed": spec.seed,
        "save_dir": str(run_dir),
        "snapshot_every": limits.snapshot_every,
        "threads": 1,
    }
    if spec.task in LM_TASKS:
        values["snapshot_every"] = max(limits.snapshot_every, LM_SNAPSHOT_EVERY)
    else:
        values |= {"n_train": limits.examples, "n_eval": min(500, max(50, limits.examples // 10))}
    return TrainConfig.for_task(spec.task, **values)


def default_lr(task: str) -> float:
    """The learning rate a page's job gets when it names none: the task's recipe."""
    from ..train import TrainConfig

    return TrainConfig.for_task(task).lr


@dataclass
class TrainingJob:
    id: str
    spec: TrainSpecOut
    run: str
    dir: Path
    created_at: str
    state: State = "queued"
    epoch: int = 0
    step: int = 0
    total_steps: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    detail: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    process: SpawnProcess | None = field(default=None, repr=False)
    cancel: MpEvent | None = field(default=None, repr=False)
    # kept for the job's life: a queue collected while the child still unpickles it breaks the child
    worker: Worker | None = field(default=None, repr=False)
    cancel_reason: str | None = None

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL

    def status(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "run": self.run,
            "state": self.state,
            "epoch": self.epoch,
            "step": self.step,
            "total_steps": self.total_steps,
            "metrics": self.metrics,
            "detail": self.detail,
            "spec": self.spec.model_dump(),
            "created_at": self.created_at,
            "events": len(self.events),
            "worker_pid": self.process.pid if self.process is not None and not self.finished else None,
        }


def _finite(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, int | float) and math.isfinite(v)}


class TrainingManager:
    """The one training slot of a server, its jobs and their event histories."""

    def __init__(self, settings: Settings, checkpoint_root: Path) -> None:
        self.settings = settings
        self.root = checkpoint_root
        self.live_dir = (settings.training_dir or checkpoint_root / "live").expanduser().resolve()
        self.limits = Limits(
            max_layers=settings.training_max_layers,
            max_heads=settings.training_max_heads,
            max_d_model=settings.training_max_d_model,
            max_epochs=settings.training_max_epochs,
            max_seconds=settings.training_max_seconds,
            snapshot_every=settings.training_snapshot_every,
            examples=settings.training_examples,
        )
        allowed, reason = training_permission(settings)
        if allowed and not self.live_dir.is_relative_to(checkpoint_root):
            allowed, reason = (
                False,
                (
                    f"Training is off: the live-runs folder {self.live_dir} is not inside the checkpoint directory "
                    f"{checkpoint_root}, so its runs could not be listed (set ATTNVIZ_TRAINING_DIR inside it)."
                ),
            )
        self.allowed, self.reason = allowed, reason
        self.prefix = self.live_dir.relative_to(checkpoint_root).as_posix() if allowed else "live"
        self.jobs: dict[str, TrainingJob] = {}
        self.current: TrainingJob | None = None
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._ctx = mp.get_context("spawn")
        self._spare: Worker | None = None
        self._closed = False  # shutdown() ran: no new worker
        # the threads reading jobs' reports: shutdown waits for them, since a thread that drops the
        # last reference to a queue as the process exits may unlink a semaphore it never unregisters
        self._followers: list[threading.Thread] = []

    def _spawn(self) -> Worker:
        jobs, reports, cancel, ready = self._ctx.Queue(), self._ctx.Queue(), self._ctx.Event(), self._ctx.Event()
        process = self._ctx.Process(
            target=worker_main, args=(jobs, reports, cancel, ready, os.getpid()), daemon=True, name="attnviz-train"
        )
        process.start()
        return Worker(process, jobs, reports, cancel, ready)

    def warm(self) -> None:
        """Start a worker that waits for the next job (so Train does not wait for torch to import)."""
        with self._lock:
            if self._closed:  # a job that ends as the server stops must not start a worker it never ends
                return
            if self.allowed and (self._spare is None or not self._spare.process.is_alive()):
                self._spare = self._spawn()

    # ---- lifecycle ------------------------------------------------------------------------------

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._wake = asyncio.Event()

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            spare, self._spare = self._spare, None
        if spare is not None and spare.process.is_alive():
            spare.jobs.put(None)
            spare.process.join(2)
            if spare.process.is_alive():  # still importing torch: it reads no queue yet
                spare.process.terminate()
                spare.process.join(2)
        job = self.current
        if job is not None and job.process is not None and job.process.is_alive():
            if job.cancel is not None:
                job.cancel.set()
            job.process.join(CANCEL_GRACE)
            if job.process.is_alive():
                job.process.terminate()
                job.process.join(2)
        for follower in self._followers:
            follower.join(CANCEL_GRACE + 2)
        self._release(spare)
        del job, spare
        mp.active_children()  # forgets ended children (their Process objects hold the queues)
        gc.collect()  # the queues and events, unreachable now, unlink their semaphores

    def _release(self, spare: Worker | None) -> None:
        """Close every worker's queues (Worker.close) and drop the references the jobs kept for
        their status: a function of its own, so no local variable outlives it to hold one."""
        for w in (spare, *(j.worker for j in self.jobs.values())):
            if w is not None:
                w.close()
        for j in self.jobs.values():
            j.worker = j.cancel = j.process = None

    def _notify(self) -> None:
        def wake() -> None:
            self._wake.set()
            self._wake = asyncio.Event()

        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(wake)

    # ---- requests -------------------------------------------------------------------------------

    def require_allowed(self) -> None:
        if not self.allowed:
            raise NotAllowed(self.reason or "Training is off.", setting=SETTING)

    def get(self, job_id: str) -> TrainingJob:
        job = self.jobs.get(job_id)
        if job is None:
            raise UnknownJob(f"There is no training job {job_id!r} (jobs are forgotten when the server restarts).")
        return job

    def describe(self) -> dict[str, Any]:
        latest = self.current or (list(self.jobs.values())[-1] if self.jobs else None)
        return {
            "allowed": self.allowed,
            "reason": self.reason,
            "setting": SETTING,
            "tasks": list(ALL_TASKS),
            "default_lr": {task: default_lr(task) for task in ALL_TASKS},
            "max_layers": self.limits.max_layers,
            "max_heads": self.limits.max_heads,
            "max_d_model": self.limits.max_d_model,
            "max_epochs": self.limits.max_epochs,
            "max_seconds": self.limits.max_seconds,
            "snapshot_every": self.limits.snapshot_every,
            "run_prefix": self.prefix,
            "worker_ready": self._spare is not None and self._spare.ready.is_set() and self._spare.process.is_alive(),
            "current": latest.status() if latest is not None else None,
        }

    def start(self, spec: TrainSpecOut) -> TrainingJob:
        """Called from the event loop (a route): events are announced on that loop."""
        self.require_allowed()
        if self._loop is None:
            self.attach(asyncio.get_running_loop())
        check_spec(spec, self.limits)
        with self._lock:
            running = self.current
            if running is not None and not running.finished:
                raise TrainingBusy(
                    f"Job {running.id} is still training {running.run} (state {running.state}); "
                    f"wait for it or cancel it (DELETE /api/train/{running.id}).",
                    job=running.id,
                    run=running.run,
                )
            run_dir = self.live_dir / spec.name
            if run_dir.exists() and any(run_dir.glob("*.pt")):
                raise RunExists(
                    f"A run named {self.prefix}/{spec.name} already exists; choose another name.",
                    run=f"{self.prefix}/{spec.name}",
                )
            job = TrainingJob(
                id=uuid.uuid4().hex[:12],
                spec=spec,
                run=f"{self.prefix}/{spec.name}",
                dir=run_dir,
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
            cfg = job_config(spec, self.limits, run_dir)
            try:
                run_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise TrainingDirUnwritable(
                    f"The live-runs folder {self.live_dir} cannot be written ({exc.strerror}); give training a writable volume.",
                ) from None
            worker, self._spare = self._spare, None
            if worker is None or not worker.process.is_alive():
                worker = self._spawn()
            worker.jobs.put(cfg)
            job.worker = worker
            job.cancel = worker.cancel
            job.process = worker.process
            reports = worker.reports
            job.state = "running"
            self.jobs[job.id] = job
            while len(self.jobs) > JOBS_KEPT:
                oldest = next(iter(self.jobs))
                if self.jobs[oldest] is job:
                    break
                del self.jobs[oldest]
            self.current = job
        steps_per_epoch = -(-cfg.n_train // cfg.batch_size)
        job.total_steps = steps_per_epoch * spec.epochs
        follower = threading.Thread(target=self._follow, args=(job, reports), daemon=True, name=f"train-follow-{job.id}")
        self._followers = [t for t in self._followers if t.is_alive()] + [follower]
        follower.start()
        log.info("training job %s: %s into %s", job.id, spec, run_dir)
        return job

    def cancel(self, job_id: str) -> TrainingJob:
        job = self.get(job_id)
        if not job.finished and job.cancel is not None:
            job.cancel_reason = job.cancel_reason or "cancelled"
            job.cancel.set()
        return job

    # ---- the reader thread ----------------------------------------------------------------------

    def _emit(self, job: TrainingJob, kind: str, data: dict[str, Any]) -> None:
        with self._lock:
            job.events.append({"id": len(job.events), "event": kind, "data": data})
        self._notify()

    def _follow(self, job: TrainingJob, reports: Any) -> None:
        """Turn the worker's reports into events; enforce the wall time; notice a dead worker."""
        proc = job.process
        assert proc is not None and job.cancel is not None
        cancel_sent: float | None = None
        while True:
            try:
                kind, data = reports.get(timeout=0.25)
            except queue.Empty:
                kind, data = "", {}
            except (EOFError, OSError, ValueError):  # the worker died mid-report
                kind, data = "", {}
            if kind:
                self._handle(job, kind, data)
                if job.finished:
                    break
                continue
            elapsed = time.monotonic() - job.started
            if elapsed > self.limits.max_seconds and not job.cancel.is_set():
                job.cancel_reason = "time_limit"
                job.cancel.set()
            if job.cancel.is_set():
                cancel_sent = cancel_sent or time.monotonic()
                if time.monotonic() - cancel_sent > CANCEL_GRACE and proc.is_alive():
                    proc.terminate()
            if not proc.is_alive():
                # a last report may still be in the pipe
                try:
                    kind, data = reports.get(timeout=0.5)
                    self._handle(job, kind, data)
                    if job.finished:
                        break
                    continue
                except (queue.Empty, EOFError, OSError, ValueError):
                    pass
                if job.cancel.is_set():
                    self._handle(job, "cancelled", {"epochs_done": job.epoch})
                else:
                    self._handle(
                        job,
                        "failed",
                        {
                            "detail": f"the training process exited unexpectedly (exit code {proc.exitcode})",
                            "epochs_done": job.epoch,
                        },
                    )
                break
        proc.join(CANCEL_GRACE)
        if proc.is_alive():
            proc.terminate()
        reports.close()
        self.warm()  # ready for the next job

    def _handle(self, job: TrainingJob, kind: str, data: dict[str, Any]) -> None:
        if kind == "progress":
            job.step = int(data["step"])
            data = {**data, "total_steps": job.total_steps}
        elif kind == "snapshot":
            job.step = max(job.step, int(data["step"]))
            data = {
                "step": data["step"],
                "epoch": data["epoch"],
                "checkpoint": f"{job.run}/snapshots/{data['file']}",
                **({"metrics": _finite(data["metrics"])} if "metrics" in data else {}),
            }
        elif kind == "epoch":
            job.epoch = int(data["epoch"])
            job.step = max(job.step, int(data["step"]))
            job.metrics = _finite(data["metrics"])
            data = {"epoch": job.epoch, "checkpoint": f"{job.run}/{data['file']}", "metrics": job.metrics, "step": job.step}
        elif kind in TERMINAL:
            done = int(data.get("epochs_done", job.epoch))
            data = {
                "run": job.run,
                "epochs_done": done,
                "checkpoints": [f"{job.run}/ckpt_epoch{e}.pt" for e in range(1, done + 1)],
                **({"metrics": _finite(data["metrics"])} if kind == "done" else {}),
                **({"reason": job.cancel_reason or "cancelled"} if kind == "cancelled" else {}),
                **({"detail": data.get("detail")} if kind == "failed" else {}),
            }
            job.detail = data.get("detail") or data.get("reason")
            job.state = kind  # type: ignore[assignment]
            log.info("training job %s: %s after %d epochs", job.id, kind, done)
        else:
            return
        self._emit(job, kind, data)

    # ---- event streams --------------------------------------------------------------------------

    async def events(self, job: TrainingJob, after: int = -1) -> AsyncIterator[dict[str, Any]]:
        """Every event of ``job`` with an id above ``after`` (its history first), until the last."""
        sent = after
        while True:
            wake = self._wake
            pending = job.events[sent + 1 :]
            for event in pending:
                yield event
                sent = event["id"]
            if pending and pending[-1]["event"] in TERMINAL:
                return
            if job.finished and sent >= len(job.events) - 1:
                return
            await wake.wait()
