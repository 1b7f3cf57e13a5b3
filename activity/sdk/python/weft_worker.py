"""Serve weft exec tasks from Python (standard library only, Python >= 3.9).

weft-activity starts this program from its task file and speaks JSON Lines with it
(README: "Write your own tasks"): one request per line on stdin, progress lines and one
result per request on stdout. The worker keeps the process for the next attempt
(mode "persistent"), so what a handler loads once stays loaded.

    from weft_worker import Worker, PermanentError, TransientError

    worker = Worker()

    @worker.task("resize_image")
    def resize(params, ctx):      # params: the merged input, as built-in tasks see it
        ctx.send_progress(50, "half way")
        return {"resized_url": "..."}

    worker.run()

An activity with "heartbeat_s": N is failed (TRANSIENT, so retried) when its handler sends
nothing for N seconds, and the process is replaced: a handler that works long between
progress reports calls ctx.heartbeat() now and then.

A handler returns the data dict, or a result in the shape of the seed's workers,
{"status": "success", "data": {...}} or {"status": "failure", "error": {"code":
"TRANSIENT_ERROR" | "PERMANENT_ERROR", "message": "..."}}, passed on verbatim.
PermanentError fails the activity at once; TransientError and any other exception are
retried while its retries remain.

While a handler runs, sys.stdout is weft's log (it goes to stderr, which the worker logs
with the workflow and activity), so a stray print() cannot break the protocol.
"""

import json
import os
import queue
import sys
import threading
import traceback

__all__ = ["Worker", "Context", "PermanentError", "TransientError"]


class TransientError(Exception):
    """A failure a retry may cure: the attempt is retried while retries remain."""


class PermanentError(Exception):
    """A failure no retry cures: the activity fails at once."""


class Context:
    """What an attempt knows about itself, and its way to report progress."""

    def __init__(self, request, emit):
        self.id = request["id"]
        self.task = request.get("task")
        self.workflow_uid = request.get("workflow_uid")
        self.activity_uid = request.get("activity_uid")
        self.activity = request.get("activity")
        self.attempt = request.get("attempt")
        self.params = request.get("params") or {}
        self.upstream = request.get("upstream") or {}
        self._emit = emit
        # set by the reader thread; a plain flag, since an Event per attempt (a Condition
        # and its lock) costs as much as the rest of a trivial attempt
        self._cancelled = False

    @property
    def cancelled(self):
        """True once weft asked this attempt to stop (a timeout or a shutdown)."""
        return self._cancelled

    def send_progress(self, progress, message=None):
        """Reports progress (a number 0..100) and an optional message; also a heartbeat."""
        if not isinstance(progress, (int, float)) or isinstance(progress, bool):
            raise TypeError("progress must be a number in 0..100")
        line = {"id": self.id, "progress": min(100, max(0, progress))}
        if message is not None:
            line["message"] = str(message)
        self._emit(line)

    def heartbeat(self):
        """Tells weft the attempt is alive without a figure (for the activity's heartbeat_s)."""
        self._emit({"id": self.id, "heartbeat": True})


def _encode(line):
    return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


def _not_json(request_id, error):
    return _failure(request_id, "PERMANENT_ERROR",
                    "handler returned data that is not JSON: %s" % error)


def _failure(request_id, code, message):
    return {"id": request_id, "status": "failure",
            "error": {"code": code, "message": message}}


def result_line(request_id, returned):
    """The result line for what a handler returned (a data dict or a seed-shaped result)."""
    if isinstance(returned, dict) and returned.get("status") in ("success", "failure"):
        line = dict(returned)
        line["id"] = request_id
        if line["status"] == "success":
            data = line.get("data", {})
            if not isinstance(data, dict):
                return _failure(request_id, "PERMANENT_ERROR",
                                "handler returned success with data that is not a dict")
            line["data"] = data
            return line
        error = line.get("error")
        if not isinstance(error, dict) or error.get("code") not in (
                "TRANSIENT_ERROR", "PERMANENT_ERROR"):
            return _failure(request_id, "TRANSIENT_ERROR",
                            "handler returned failure without an error code "
                            "TRANSIENT_ERROR or PERMANENT_ERROR: %r" % (error,))
        return line
    if returned is None:
        returned = {}
    if not isinstance(returned, dict):
        return _failure(request_id, "PERMANENT_ERROR",
                        "handler returned %s, not a dict" % type(returned).__name__)
    return {"id": request_id, "status": "success", "data": returned}


class Worker:
    """Registers handlers by task type and serves the requests of weft-activity."""

    def __init__(self, stdin=None, stdout=None):
        self._handlers = {}
        self._in = stdin
        self._out = stdout
        self._lock = threading.Lock()
        self._current = None

    def task(self, name):
        """Decorator: the function handles task type `name` as handler(params, ctx)."""
        def register(fn):
            if name in self._handlers:
                raise ValueError("task %r is registered twice" % name)
            self._handlers[name] = fn
            return fn
        return register

    def _emit(self, line):
        self._write(_encode(line))

    def _write(self, text):
        with self._lock:
            self._out.write(text + "\n")
            self._out.flush()

    def handle(self, request):
        """Runs one request (a dict) and returns its result line (a dict)."""
        line = self._run_handler(request)
        try:
            _encode(line)
            return line
        except (TypeError, ValueError) as e:
            return _not_json(line["id"], e)

    def _answer(self, request):
        """The result line of one request as text: handle(), serialized once."""
        line = self._run_handler(request)
        try:
            return _encode(line)
        except (TypeError, ValueError) as e:
            return _encode(_not_json(line["id"], e))

    def _run_handler(self, request):
        """The result line (a dict) of one request, its data not yet known to be JSON."""
        request_id = request.get("id")
        handler = self._handlers.get(request.get("task"))
        if handler is None:
            return _failure(request_id, "PERMANENT_ERROR",
                            "task %r is not served by this program (it serves %s)"
                            % (request.get("task"), ", ".join(sorted(self._handlers)) or "none"))
        ctx = Context(request, self._emit)
        self._current = ctx
        try:
            returned = handler(request.get("input") or {}, ctx)
        except PermanentError as e:
            return _failure(request_id, "PERMANENT_ERROR", str(e) or "PermanentError")
        except TransientError as e:
            return _failure(request_id, "TRANSIENT_ERROR", str(e) or "TransientError")
        except Exception as e:  # an unexpected exception is TRANSIENT, as in the seed
            traceback.print_exc(file=sys.stderr)
            return _failure(request_id, "TRANSIENT_ERROR", "%s: %s" % (type(e).__name__, e))
        finally:
            self._current = None
        return result_line(request_id, returned)

    def _read(self, stream, requests):
        """Reader thread: requests go to the queue, cancel lines flag their attempt."""
        for raw in stream:
            raw = raw.strip()
            if not raw:
                continue
            try:
                msg = json.loads(raw)
            except ValueError:
                print("weft_worker: ignoring a line that is not JSON", file=sys.stderr)
                continue
            if isinstance(msg, dict) and msg.get("cancel"):
                current = self._current
                if current is not None and current.id == msg.get("id"):
                    current._cancelled = True
                continue
            requests.put(msg)
        requests.put(None)

    def run(self):
        """Serves requests until stdin closes (the worker is done with this process)."""
        if self._out is None:
            # the protocol keeps the real stdout; print() in a handler goes to stderr
            self._out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
            sys.stdout = sys.stderr
        stream = self._in or open(sys.stdin.fileno(), "r", encoding="utf-8",
                                  errors="replace", closefd=False)
        # SimpleQueue: the C queue; queue.Queue's Python-level locking is a measurable
        # part of a trivial attempt
        requests = queue.SimpleQueue()
        threading.Thread(target=self._read, args=(stream, requests), daemon=True).start()
        while True:
            request = requests.get()
            if request is None:
                return
            if not isinstance(request, dict) or "id" not in request:
                print("weft_worker: ignoring a request without an id", file=sys.stderr)
                continue
            self._write(self._answer(request))
