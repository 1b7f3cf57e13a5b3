"""A web endpoint on 127.0.0.1 for the http task tests (standard library only).

Usage: http_task_fixture.py SECRET_FILE. Prints the port it listens on as its first line,
then serves until killed. Every POST must carry Content-Type: application/json and
X-Weft-Signature: sha256=HEX(HMAC-SHA256(secret, body)) over the body as received (the
secret is SECRET_FILE's bytes less one trailing newline, as weft reads it); a request that
does not is answered 401 "bad signature" (or 415). Then, by path:
  /echo       200, a result object: {"sum": a + b} of the input, and what the request said
  /plain      200, a plain object (taken as the data): {"doubled": 2 * input sum}
  /reject     422 "missing field 'who'"
  /fail       200, a PERMANENT_ERROR result
  /notjson    200 "ok" (not JSON)
  /flaky      503 on the first request of an activity, then as /echo
  /slow       answers /echo after 3 s
  /slowonce   the first request of an activity after 3 s, later ones at once; as /echo
  /hold       answers /echo once the file named by the input's while_file is gone (30 s at most)
"""
import hashlib
import hmac
import http.server
import json
import os
import sys
import threading
import time

with open(sys.argv[1], "rb") as f:
    SECRET = f.read()
if SECRET.endswith(b"\n"):
    SECRET = SECRET[:-1]

seen = set()
seen_lock = threading.Lock()


def first_time(kind, req):
    """True for the first request of this kind for its activity."""
    key = (kind, req.get("activity_uid"))
    with seen_lock:
        first = key not in seen
        seen.add(key)
    return first


def echo(req):
    inp = req["input"]
    return {
        "id": req["id"],
        "status": "success",
        "data": {
            "sum": inp["a"] + inp["b"],
            "task": req["task"],
            "activity": req["activity"],
            "attempt": req["attempt"],
            "upstream": sorted(req["upstream"]),
        },
    }


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body):
        if isinstance(body, (dict, list)):
            body, ctype = json.dumps(body).encode(), "application/json"
        else:
            body, ctype = body.encode(), "text/plain; charset=utf-8"
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        try:
            self.answer()
        except (BrokenPipeError, ConnectionResetError):
            pass  # weft gave up on the attempt (its timeout, a shutdown)

    def answer(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        want = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(self.headers.get("X-Weft-Signature", ""), want):
            return self.reply(401, "bad signature")
        if self.headers.get("Content-Type") != "application/json":
            return self.reply(415, "not JSON")
        req = json.loads(body)
        path = self.path
        if path == "/echo":
            return self.reply(200, echo(req))
        if path == "/plain":
            return self.reply(200, {"doubled": 2 * req["input"]["sum"]})
        if path == "/reject":
            return self.reply(422, "missing field 'who'")
        if path == "/fail":
            return self.reply(200, {"status": "failure", "error": {
                "code": "PERMANENT_ERROR", "message": "no such user"}})
        if path == "/notjson":
            return self.reply(200, "ok")
        if path == "/flaky":
            if first_time("flaky", req):
                return self.reply(503, "try later")
            return self.reply(200, echo(req))
        if path == "/slow" or (path == "/slowonce" and first_time("slowonce", req)):
            time.sleep(3)
            return self.reply(200, echo(req))
        if path == "/slowonce":
            return self.reply(200, echo(req))
        if path == "/hold":
            end = time.time() + 30
            while os.path.exists(req["input"]["while_file"]) and time.time() < end:
                time.sleep(0.1)
            return self.reply(200, echo(req))
        self.reply(404, "not found")


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
