"""A small HTTP server on 127.0.0.1 for the file pipeline tests.

Prints the port it listens on as its first line, then serves until killed:
  /text/NAME        a text file from the folder given as the first argument
  /missing          404
  /flaky/KEY        503 on the first request for KEY, then the text "recovered KEY\n"
  /big/N            N bytes of 'x'
"""
import http.server
import os
import sys
import threading

ROOT = sys.argv[1]
seen = set()
seen_lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body, ctype="text/plain; charset=utf-8"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if parts[0] == "text" and len(parts) == 2:
            path = os.path.join(ROOT, os.path.basename(parts[1]))
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    return self.reply(200, f.read())
        elif parts[0] == "flaky" and len(parts) == 2:
            with seen_lock:
                first = parts[1] not in seen
                seen.add(parts[1])
            if first:
                return self.reply(503, b"try later\n")
            return self.reply(200, ("recovered %s\n" % parts[1]).encode())
        elif parts[0] == "big" and len(parts) == 2 and parts[1].isdigit():
            return self.reply(200, b"x" * int(parts[1]))
        self.reply(404, b"not found\n")


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
