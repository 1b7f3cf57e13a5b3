"""Unit tests of weft_worker: the protocol lines a handler's outcomes become."""

import io
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from weft_worker import PermanentError, TransientError, Worker  # noqa: E402

REQUEST = {"id": "A/1", "task": "t", "workflow_uid": "W", "activity_uid": "A",
           "activity": "act", "attempt": 1, "params": {"p": 1},
           "input": {"x": 2, "p": 1}, "upstream": {"up": {"y": 3}}}


def request(**changes):
    r = dict(REQUEST)
    r.update(changes)
    return r


class HandlerOutcomes(unittest.TestCase):
    def worker(self, fn, name="t"):
        w = Worker(stdout=io.StringIO())
        w.task(name)(fn)
        return w

    def test_returned_dict_is_the_data_of_a_success(self):
        line = self.worker(lambda p, c: {"sum": p["x"] + p["p"]}).handle(request())
        self.assertEqual(line, {"id": "A/1", "status": "success", "data": {"sum": 3}})

    def test_none_is_an_empty_success(self):
        line = self.worker(lambda p, c: None).handle(request())
        self.assertEqual(line["data"], {})

    def test_seed_success_shape_passes_verbatim(self):
        w = self.worker(lambda p, c: {"status": "success", "data": {"ok": True}})
        self.assertEqual(w.handle(request()),
                         {"id": "A/1", "status": "success", "data": {"ok": True}})

    def test_seed_failure_shape_passes_verbatim(self):
        failure = {"status": "failure",
                   "error": {"code": "PERMANENT_ERROR", "message": "bad input"}}
        line = self.worker(lambda p, c: failure).handle(request())
        self.assertEqual(line["error"], failure["error"])
        self.assertEqual(line["id"], "A/1")

    def test_seed_failure_without_a_known_code_is_transient(self):
        line = self.worker(lambda p, c: {"status": "failure", "error": {"code": "X"}}) \
            .handle(request())
        self.assertEqual(line["error"]["code"], "TRANSIENT_ERROR")

    def test_permanent_error_fails_at_once(self):
        def fn(p, c):
            raise PermanentError("no such user")
        line = self.worker(fn).handle(request())
        self.assertEqual(line["error"], {"code": "PERMANENT_ERROR", "message": "no such user"})

    def test_transient_error_is_retried(self):
        def fn(p, c):
            raise TransientError("API timeout")
        line = self.worker(fn).handle(request())
        self.assertEqual(line["error"], {"code": "TRANSIENT_ERROR", "message": "API timeout"})

    def test_any_other_exception_is_transient(self):
        def fn(p, c):
            return {}["missing"]
        sys.stderr, saved = io.StringIO(), sys.stderr
        try:
            line = self.worker(fn).handle(request())
        finally:
            sys.stderr = saved
        self.assertEqual(line["error"]["code"], "TRANSIENT_ERROR")
        self.assertIn("KeyError", line["error"]["message"])

    def test_non_dict_return_is_permanent(self):
        line = self.worker(lambda p, c: [1, 2]).handle(request())
        self.assertEqual(line["error"]["code"], "PERMANENT_ERROR")

    def test_unserializable_data_is_permanent(self):
        line = self.worker(lambda p, c: {"s": {1, 2}}).handle(request())
        self.assertEqual(line["error"]["code"], "PERMANENT_ERROR")

    def test_unknown_task_is_permanent_and_names_what_is_served(self):
        line = self.worker(lambda p, c: {}, name="other").handle(request())
        self.assertEqual(line["error"]["code"], "PERMANENT_ERROR")
        self.assertIn("other", line["error"]["message"])

    def test_context_carries_the_attempt(self):
        seen = {}

        def fn(p, c):
            seen.update(attempt=c.attempt, wf=c.workflow_uid, act=c.activity_uid,
                        name=c.activity, upstream=c.upstream, params=c.params)
            return {}
        self.worker(fn).handle(request())
        self.assertEqual(seen, {"attempt": 1, "wf": "W", "act": "A", "name": "act",
                                "upstream": {"up": {"y": 3}}, "params": {"p": 1}})

    def test_progress_lines_carry_the_attempt_id(self):
        out = io.StringIO()
        w = Worker(stdout=out)

        @w.task("t")
        def fn(p, c):
            c.send_progress(50, "half way")
            return {}
        w.handle(request())
        self.assertEqual(json.loads(out.getvalue()),
                         {"id": "A/1", "progress": 50, "message": "half way"})

    def test_heartbeat_lines_carry_the_attempt_id(self):
        out = io.StringIO()
        w = Worker(stdout=out)

        @w.task("t")
        def fn(p, c):
            c.heartbeat()
            c.heartbeat()
            return {"done": True}
        w.handle(request())
        self.assertEqual([json.loads(x) for x in out.getvalue().splitlines()],
                         [{"id": "A/1", "heartbeat": True}] * 2)


class Serving(unittest.TestCase):
    def test_run_answers_each_request_in_order_until_stdin_closes(self):
        script = ("import sys; sys.path.insert(0, %r)\n"
                  "from weft_worker import Worker\n"
                  "w = Worker()\n"
                  "@w.task('t')\n"
                  "def t(p, c):\n"
                  "    print('a stray print goes to stderr')\n"
                  "    return {'n': p['n']}\n"
                  "w.run()\n") % os.path.dirname(os.path.abspath(__file__))
        lines = "".join(json.dumps(request(id="A/%d" % i, input={"n": i})) + "\n"
                        for i in (1, 2))
        done = subprocess.run([sys.executable, "-c", script], input=lines, text=True,
                              capture_output=True, timeout=30)
        self.assertEqual(done.returncode, 0, done.stderr)
        answers = [json.loads(x) for x in done.stdout.splitlines()]
        self.assertEqual(answers, [{"id": "A/1", "status": "success", "data": {"n": 1}},
                                   {"id": "A/2", "status": "success", "data": {"n": 2}}])
        self.assertIn("a stray print goes to stderr", done.stderr)

    def test_a_cancel_line_sets_cancelled_while_the_handler_runs(self):
        script = ("import sys, time; sys.path.insert(0, %r)\n"
                  "from weft_worker import Worker\n"
                  "w = Worker()\n"
                  "@w.task('t')\n"
                  "def t(p, c):\n"
                  "    c.send_progress(1, 'started')\n"
                  "    end = time.monotonic() + 20\n"
                  "    while not c.cancelled and time.monotonic() < end:\n"
                  "        time.sleep(0.01)\n"
                  "    return {'cancelled': c.cancelled}\n"
                  "w.run()\n") % os.path.dirname(os.path.abspath(__file__))
        p = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        try:
            p.stdin.write(json.dumps(request()) + "\n")
            p.stdin.flush()
            self.assertEqual(json.loads(p.stdout.readline())["progress"], 1)
            p.stdin.write(json.dumps({"id": "A/1", "cancel": True}) + "\n")
            p.stdin.close()
            self.assertEqual(json.loads(p.stdout.readline()),
                             {"id": "A/1", "status": "success", "data": {"cancelled": True}})
            self.assertEqual(p.wait(timeout=30), 0)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()



if __name__ == "__main__":
    unittest.main()
