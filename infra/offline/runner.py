"""Running a stack program under the Pulumi SDK's mock runtime.

Each run gets a fresh ``contextvars`` context and event loop, so runs in one process
(tests, benchmarks) cannot see each other's settings, config or root stack.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import logging
import threading
from collections.abc import Callable, Iterator

from pulumi.runtime import mocks
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.config import set_all_config
from pulumi.runtime.settings import SETTINGS
from pulumi.runtime.stack import run_pulumi_func

from mlplane.infra.offline.memory import gc_paused
from mlplane.infra.offline.plan import Plan
from mlplane.infra.offline.recorder import RecordingMonitor

PROJECT = "mlplane"

_log = logging.getLogger("mlplane.engine")


class _InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs the SDK's monitor calls on the calling thread.

    The SDK hands every registration to a thread pool because a real monitor is a
    gRPC server; the recording monitor answers in microseconds, so the thread hand-off
    (and GIL contention on a 2-core machine) would cost more than the work itself.
    """

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
            future.set_exception(exc)
        return future


@contextlib.contextmanager
def _without_source_positions() -> Iterator[None]:
    """Skip the SDK's per-registration stack walk (its source positions go unused here).

    The walk formats the whole Python stack for every resource, a fifth of a render's
    time. The plan records no source positions, so offline runs leave it out.
    """
    original = getattr(sdk_resource, "_get_stack_trace", None)
    if original is None:  # a future SDK may not have it; then nothing to skip
        yield
        return
    sdk_resource._get_stack_trace = source_pb2.StackTrace  # type: ignore[attr-defined]
    try:
        yield
    finally:
        sdk_resource._get_stack_trace = original  # type: ignore[attr-defined]


def run_offline(program: Callable[[], None], *, stack: str, project: str = PROJECT) -> Plan:
    """Run ``program`` as the stack program of ``project``/``stack`` and record it.

    Args:
        program: Registers resources (e.g. ``lambda: build(config)``).
        stack: The stack name, as it appears in URNs.
        project: The project name, as it appears in URNs.

    Returns:
        Every registration, as a plan.

    Raises:
        Whatever the program raises (bad input surfaces as ``InputError``).
    """
    monitor = RecordingMonitor()

    def body() -> None:
        loop = asyncio.new_event_loop()
        loop.set_default_executor(_InlineExecutor(max_workers=1))
        asyncio.set_event_loop(loop)
        try:
            set_all_config({}, [])
            mocks.set_mocks(monitor.mocks, project=project, stack=stack,
                            preview=True, logger=_log, monitor=monitor)
            # The SDK's mock settings leave these to module-wide defaults, which would
            # carry tasks of an earlier run (and its closed loop) into this one.
            SETTINGS.outputs = set()
            SETTINGS.lock = threading.Lock()
            loop.run_until_complete(run_pulumi_func(program))
        finally:
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()
            asyncio.set_event_loop(None)

    with gc_paused(), _without_source_positions():
        contextvars.Context().run(body)
    return Plan(project=project, stack=stack, resources=tuple(monitor.recorded.values()),
                transforms=dict(monitor.transforms))
