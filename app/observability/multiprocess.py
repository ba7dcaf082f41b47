"""Metrics of several worker processes: the shared directory, and each worker's own figures.

With more than one worker, prometheus-client keeps every counter and histogram in files of
a directory the workers share (`PROMETHEUS_MULTIPROC_DIR`, prepared by the launcher), and
`/metrics` adds them up, whichever worker answers the scrape. Process and GC figures (memory,
CPU, file descriptors, collections) cannot be added up; they are kept per worker instead:
each worker copies its own into gauges labelled with its `pid` when it starts, every
`REFRESH_SECONDS`, and before it answers a scrape. A worker that has died is forgotten at
the next scrape (its counts stay in the totals, its process figures go).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, multiprocess
from prometheus_client.gc_collector import GCCollector
from prometheus_client.process_collector import ProcessCollector

REFRESH_SECONDS = 5.0
WORKERS_FOLDER = "workers"  # one empty file per live worker, named by its pid


def prepare_directory(folder: Path) -> None:
    """Make `folder` ready for a new server: created if missing, emptied of the files an
    earlier run left (prometheus-client requires it: stale files would add old counts)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for entry in folder.iterdir():
        if entry.is_dir() and entry.name == WORKERS_FOLDER:
            shutil.rmtree(entry)
        elif entry.is_file() or entry.is_symlink():
            entry.unlink()


class WorkerFigures:
    """This process's process and GC figures, copied into `liveall` gauges (one series per
    live worker, with a `pid` label, in the multiprocess exposition)."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)
        self.pid = os.getpid()
        self._sources = CollectorRegistry()
        ProcessCollector(registry=self._sources)
        GCCollector(registry=self._sources)
        self._gauges: dict[str, Gauge] = {}

    def register(self) -> None:
        marker = self.directory / WORKERS_FOLDER / str(self.pid)
        marker.parent.mkdir(exist_ok=True)
        marker.touch()
        self.refresh()

    def refresh(self) -> None:
        for family in self._sources.collect():
            for sample in family.samples:
                gauge = self._gauges.get(sample.name)
                if gauge is None:
                    gauge = Gauge(
                        sample.name,
                        f"{family.documentation} (per worker process)",
                        labelnames=sorted(sample.labels),
                        multiprocess_mode="liveall",
                        registry=None,
                    )
                    self._gauges[sample.name] = gauge
                (gauge.labels(**sample.labels) if sample.labels else gauge).set(sample.value)

    def unregister(self) -> None:
        (self.directory / WORKERS_FOLDER / str(self.pid)).unlink(missing_ok=True)
        multiprocess.mark_process_dead(self.pid, str(self.directory))


def forget_dead_workers(directory: str) -> None:
    """Drop the process figures of workers that are gone (killed, or restarted by uvicorn)."""
    folder = Path(directory) / WORKERS_FOLDER
    if not folder.is_dir():
        return
    for marker in folder.iterdir():
        if marker.name.isdigit() and not _alive(int(marker.name)):
            multiprocess.mark_process_dead(int(marker.name), directory)
            marker.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_current: WorkerFigures | None = None


def refresh_own_figures() -> None:
    """Called before a scrape is answered, so the answering worker's figures are fresh."""
    if _current is not None:
        _current.refresh()


@contextlib.asynccontextmanager
async def worker_figures(directory: str) -> AsyncIterator[None]:
    """For the app's lifespan: keep this worker's figures in the shared directory while it
    runs (nothing to do with a single process, whose collectors report directly)."""
    global _current
    if not directory:
        yield
        return
    figures = WorkerFigures(directory)
    figures.register()
    _current = figures

    async def keep_fresh() -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            figures.refresh()

    task = asyncio.create_task(keep_fresh())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        figures.unregister()
        _current = None
