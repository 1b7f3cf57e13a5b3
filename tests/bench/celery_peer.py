"""The Celery peer of weft's benchmark (tests/bench/run.sh).

The same no-op work as weft's side, written the way a Celery user would: late acks, prefetch
multiplier 1, JSON, a Redis result backend, on the same RabbitMQ as weft. Its queue is
`weft_bench.celery`, so the worker never consumes one of weft's queues.

As a module it is the app the worker runs:

    python3 -m celery -A celery_peer worker -P prefork -c 2 -Q weft_bench.celery

As a script it drives one workload and prints one JSON object on stdout, the same shape as
weft_bench's (exit 0 when the workload completed, 1 when not, 2 on bad usage):

    celery_peer.py [--timeout S] ready | chains N STEPS [TASK] | fanin WIDTH
                                 | latency RUNS STEPS [TASK]

TASK names the chain's task: noop (the default) or py_echo, the handler of weft's
Python-task workloads (py_handler.echo, the same function weft's exec task runs).

BENCH_CELERY_BROKER and BENCH_CELERY_BACKEND name the broker and the result backend.
"""

import json
import math
import os
import sys
import time

from celery import Celery, chain, chord
from celery.exceptions import TimeoutError as ResultTimeout

from py_handler import echo

QUEUE = "weft_bench.celery"

app = Celery(
    "celery_peer",
    broker=os.environ.get("BENCH_CELERY_BROKER", "amqp://guest:guest@127.0.0.1:5692//"),
    backend=os.environ.get("BENCH_CELERY_BACKEND", "redis://127.0.0.1:6399/1"),
)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    task_default_queue=QUEUE,
    task_default_exchange=QUEUE,
    task_default_routing_key=QUEUE,
)


@app.task(acks_late=True)
def noop(data=None, params=None):
    """weft's noop: the input (the upstream result) merged with the task's own params."""
    out = dict(data or {})
    out.update(params or {})
    return out


@app.task(acks_late=True)
def py_echo(data=None):
    """The Python-task workloads' handler, as weft's exec task py_echo runs it."""
    return echo(data or {})


TASKS = {"noop": noop, "py_echo": py_echo}


@app.task(acks_late=True)
def join(results):
    """The fan-in: the header's results merged in order, like weft's merge of depends_on."""
    out = {}
    for r in results:
        out.update(r)
    return out


def _chain(steps, i, task="noop"):
    t = TASKS[task]
    return chain(t.s({"i": i}), *[t.s() for _ in range(steps - 1)])


def _wait(result, timeout, what):
    """result.get(), with a timeout that says whether the work or only its notice was lost:
    the stored state is read straight from the backend, not through the pub/sub channel
    get() waits on."""
    try:
        return result.get(timeout=max(timeout, 0.001))
    except ResultTimeout:
        state = app.backend.get_task_meta(result.id).get("status")
        raise TimeoutError(f"{what}: no result after {timeout:.0f} s; the backend holds"
                           f" task {result.id} as {state}") from None


def _percentile(sorted_values, p):
    """Nearest rank, as weft_bench computes it."""
    rank = math.ceil(p / 100.0 * len(sorted_values))
    return sorted_values[max(rank, 1) - 1]


def ready(timeout):
    t0 = time.monotonic()
    while not app.control.ping(timeout=0.5):
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"no Celery worker answered a ping within {timeout:.0f} s")
    return {"seconds": time.monotonic() - t0}


def chains(timeout, n, steps, task="noop"):
    t0 = time.monotonic()
    results = [_chain(steps, i, task).apply_async() for i in range(n)]
    for i, r in enumerate(results):
        _wait(r, timeout - (time.monotonic() - t0), f"chain {i + 1} of {n}")
    seconds = time.monotonic() - t0
    return {"task": task, "workflows": n, "steps": n * steps, "seconds": seconds,
            "steps_per_s": n * steps / seconds}


def fanin(timeout, width):
    t0 = time.monotonic()
    flow = noop.s({"i": 0}) | chord([noop.s() for _ in range(width)], join.s())
    _wait(flow.apply_async(), timeout, "the chord")
    seconds = time.monotonic() - t0
    return {"width": width, "steps": width + 2, "seconds": seconds,
            "steps_per_s": (width + 2) / seconds}


def latency(timeout, runs, steps, task="noop"):
    ms = []
    for i in range(runs):
        t0 = time.monotonic()
        _wait(_chain(steps, i, task).apply_async(), timeout, f"run {i + 1} of {runs}")
        ms.append((time.monotonic() - t0) * 1000.0)
    each = list(ms)
    ms.sort()
    return {"task": task, "runs": runs, "steps": steps, "p50_ms": _percentile(ms, 50),
            "p99_ms": _percentile(ms, 99), "mean_ms": sum(ms) / len(ms), "ms": each}


# each command: its function and the counts it takes, then an optional task name
COMMANDS = {"ready": (ready, 0, False), "chains": (chains, 2, True), "fanin": (fanin, 1, False),
            "latency": (latency, 2, True)}


def main(argv):
    # The driver submits as weft's does: each apply_async returns once the broker confirmed
    # the message (py-amqp's confirm_publish). Set here, in the driver only: the worker
    # imports this module and keeps Celery's defaults, so its own publishes (a chain's next
    # step) go out unconfirmed, as in a Celery user's deployment.
    app.conf.broker_transport_options = {"confirm_publish": True}
    timeout = 900.0
    if len(argv) > 2 and argv[1] == "--timeout":
        timeout = float(argv[2])
        argv = argv[2:]
    fn, counts, named = COMMANDS.get(argv[1] if len(argv) > 1 else None, (None, 0, False))
    task = argv[2 + counts] if named and len(argv) == 3 + counts else "noop"
    if fn is None or len(argv) - 2 not in (counts, counts + named) or task not in TASKS:
        print(__doc__, file=sys.stderr)
        return 2
    result = {"system": "celery", "workload": argv[1]}
    try:
        args = [int(a) for a in argv[2:2 + counts]] + ([task] if named else [])
        result.update(fn(timeout, *args))
        result["ok"] = True
    except Exception as e:  # any failure is the workload's: report it, do not crash
        result.update(ok=False, error=f"{type(e).__name__}: {e}")
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
