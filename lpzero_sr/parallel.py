"""Where per-architecture work runs: in this process, or as Ray tasks on a local or remote cluster.

:func:`map_archs` is the one entry point: ``map_archs(fn, items, runner)`` yields ``(item, fn(item))`` as each
result arrives, so a caller can write it at once (extraction appends one line per architecture; a killed worker
or driver then loses only unfinished items, and a rerun resumes from what was written). The scheduling is Ray's:
one ``ray.remote`` task per item with ``num_cpus=1``, ``num_gpus=runner.gpus_per_task`` and Ray's
``max_retries`` for a worker process that dies; an item whose task still fails goes to ``on_error``. Scoring or
NAS loops can reuse it as is::

    runner = Runner(ray="auto", workers=4)
    for arch, score in map_archs(score_one, archs, runner):
        ...

``fn`` must be picklable by cloudpickle when Ray runs it (closures and lambdas are; functions of a module that the
workers cannot import are not). Ray is an optional dependency (``pip install 'lpzero-sr[ray]'``), imported only
when a runner uses it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from lpzero_sr.errors import LpzeroError

T = TypeVar("T")
R = TypeVar("R")


class ParallelError(LpzeroError):
    """A runner that cannot start (Ray missing, bad worker count, unreachable cluster)."""


@dataclass(frozen=True)
class Runner:
    """Where work runs. ``ray=None``: in this process, one item after the other. ``ray="auto"``: a local Ray
    cluster of ``workers`` CPUs (all cores when ``workers`` is ``None``) started for the call, or the cluster
    this process is already connected to. Any other ``ray`` is a cluster address (``ray://host:10001``,
    ``host:6379``) and ``workers`` is not used: the cluster's resources bound the parallelism."""

    ray: str | None = None
    workers: int | None = None
    gpus_per_task: float = 0.0
    max_retries: int = 3

    @property
    def uses_ray(self) -> bool:
        return self.ray is not None


def runner_from_options(workers: int | None, ray: str | None, gpus_per_task: float = 0.0) -> Runner:
    """The runner of the CLI options ``--workers``, ``--ray`` and ``--gpus-per-task``: ``--workers N > 1``
    without ``--ray`` is a local Ray cluster of N workers; neither is the in-process runner."""
    if workers is not None and workers < 1:
        raise ParallelError(f"--workers must be at least 1, got {workers}")
    if gpus_per_task < 0:
        raise ParallelError(f"--gpus-per-task must be non-negative, got {gpus_per_task}")
    if ray is None and workers is not None and workers > 1:
        ray = "auto"
    if ray is None and gpus_per_task > 0:
        raise ParallelError("--gpus-per-task needs --ray or --workers N > 1")
    return Runner(ray=ray, workers=workers, gpus_per_task=gpus_per_task)


def map_archs(
    fn: Callable[[T], R],
    items: Sequence[T],
    runner: Runner | None = None,
    on_error: Callable[[T, BaseException], R] | None = None,
) -> Iterator[tuple[T, R]]:
    """``(item, fn(item))`` for every item, in completion order (input order in-process).

    A task whose worker dies is retried ``runner.max_retries`` times by Ray; when it still fails (or ``fn``
    raises) the pair is ``(item, on_error(item, exc))``, or the exception propagates without ``on_error``.
    """
    runner = runner or Runner()
    if not runner.uses_ray:
        for item in items:
            try:
                result = fn(item)
            except Exception as exc:
                if on_error is None:
                    raise
                result = on_error(item, exc)
            yield item, result
        return
    yield from _ray_map(fn, items, runner, on_error)


@contextmanager
def session(runner: Runner | None) -> Iterator[None]:
    """Keeps ``runner``'s Ray cluster up across several :func:`map_archs` calls (the cycles of a NAS search):
    connects once, and shuts down on exit what this call started. Nothing for the in-process runner."""
    if runner is None or not runner.uses_ray:
        yield
        return
    ray = import_ray()
    started = _connect(ray, runner)
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def _ray_map(
    fn: Callable[[T], R],
    items: Sequence[T],
    runner: Runner,
    on_error: Callable[[T, BaseException], R] | None,
) -> Iterator[tuple[T, R]]:
    ray = import_ray()
    started = _connect(ray, runner)
    try:
        task = ray.remote(_apply).options(
            num_cpus=1, num_gpus=runner.gpus_per_task, max_retries=runner.max_retries, retry_exceptions=False
        )
        fn_ref = ray.put(fn)
        pending = {task.remote(fn_ref, item): item for item in items}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            item = pending.pop(ready[0])
            try:
                result = ray.get(ready[0])
            except Exception as exc:  # a crashed worker (after retries) or the task's own error
                if on_error is None:
                    raise
                result = on_error(item, _cause(exc))
            yield item, result
    finally:
        if started:
            ray.shutdown()


def _apply(fn: Callable[[Any], Any], item: Any) -> Any:
    """The body of every Ray task (module level, so workers import it instead of unpickling it)."""
    return fn(item)


def _cause(exc: BaseException) -> BaseException:
    """The user's exception inside a Ray task error, else the Ray error itself (e.g. a crashed worker)."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc


def import_ray() -> Any:
    """The ``ray`` module, or :class:`ParallelError` telling how to install it."""
    try:
        import ray
    except ImportError:
        raise ParallelError("Ray is not installed; install it with: pip install 'lpzero-sr[ray]'") from None
    return ray


def _connect(ray: Any, runner: Runner) -> bool:
    """Connects to or starts the cluster; True when this call started it (and so shuts it down)."""
    if ray.is_initialized():
        return False
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    if runner.ray == "auto":
        options["num_cpus"] = runner.workers or os.cpu_count()
    else:
        options["address"] = runner.ray
        options.pop("include_dashboard")
    try:
        ray.init(**options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ParallelError(f"cannot start or reach the Ray cluster {runner.ray!r}: {exc}") from None
    return True
