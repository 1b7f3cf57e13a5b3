"""An S3-compatible server on 127.0.0.1 that checks AWS Signature V4, for test_s3.c.

moto (pip install 'moto[server]' boto3) serves S3, IAM and STS in this process. Set up
while its authentication is off: an IAM user with an access key, a role assumed for
session credentials (a session token), a bucket and its objects. Then authentication
is turned on, and from there every request must carry a valid signature of a known key
(moto recomputes it with botocore's SigV4 code): the fixture checks that a wrong secret
is refused before it reports ready.

In front of moto a relay passes the bytes of each connection through unchanged (the
signature covers the Host header, which the relay leaves alone), except the first GET of
a path containing /flaky/: that one is answered 503 SlowDown, as S3 does under load.

Prints one JSON line when ready, then serves until killed or until stdin closes:
  {"endpoint", "bucket", "region", "access_key_id", "secret_access_key",
   "session": {"access_key_id", "secret_access_key", "session_token"},
   "small": {KEY: SHA256}, "many": N}
"""
import hashlib
import json
import logging
import socket
import sys
import threading
import urllib.request

try:
    import boto3
    from botocore.exceptions import ClientError
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.s3.models import s3_backends
    from moto.s3.responses import S3Response
except ImportError as e:
    sys.exit(
        "s3_fixture: %s: the S3 tests need moto's server and boto3 for %s "
        "(pip install 'moto[server]' boto3, or set WEFT_TEST_S3_PYTHON to a python3 "
        "that has them)" % (e, sys.executable)
    )

BUCKET = "weft-test"
REGION = "us-east-1"
MANY = 1100  # more than one page of 1000
SMALL = 8
SMALL_BYTES = 5 * 1024 * 1024
ODD_KEY = "odd/\u00fc + ~(1)!*'.txt"


def check_raw_uri():
    """moto checks a signature against the URL as werkzeug re-quotes it ('+', '!', '*',
    non-ASCII come back unescaped), where AWS takes the path and query as sent (S3 does
    not normalize them). Hand moto the raw request URI so that it checks what AWS checks;
    a key that is wrongly encoded still fails, as it would against S3."""
    setup = S3Response.setup_class
    check = S3Response._authenticate_and_authorize_s3_action

    def setup_class(self, request, full_url, headers, *args, **kwargs):
        environ = getattr(request, "environ", {})
        self._weft_raw_uri = environ.get("RAW_URI")
        return setup(self, request, full_url, headers, *args, **kwargs)

    def authenticate(self, *args, **kwargs):
        raw = getattr(self, "_weft_raw_uri", None)
        if not raw:
            return check(self, *args, **kwargs)
        shown = self.uri
        self.uri = "http://%s%s" % (self.headers.get("host", "localhost"), raw)
        try:
            return check(self, *args, **kwargs)
        finally:
            self.uri = shown

    S3Response.setup_class = setup_class
    S3Response._authenticate_and_authorize_s3_action = authenticate


def seed(moto_url):
    anon = dict(endpoint_url=moto_url, region_name=REGION, aws_access_key_id="setup",
                aws_secret_access_key="setup")
    iam = boto3.client("iam", **anon)
    allow = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:*", "sts:*"], "Resource": "*"}]})
    iam.create_user(UserName="weft")
    key = iam.create_access_key(UserName="weft")["AccessKey"]
    iam.put_user_policy(UserName="weft", PolicyName="s3", PolicyDocument=allow)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
    role = iam.create_role(RoleName="weft-s3", AssumeRolePolicyDocument=trust)["Role"]
    iam.put_role_policy(RoleName="weft-s3", PolicyName="s3", PolicyDocument=allow)
    session = boto3.client("sts", **anon).assume_role(
        RoleArn=role["Arn"], RoleSessionName="weft-test")["Credentials"]

    # the objects go straight into moto's store: over HTTP a put costs moto about 20 ms,
    # and the requests that matter are weft's, later, signed
    boto3.client("s3", **anon).create_bucket(Bucket=BUCKET)
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for i in range(MANY):
        backend.put_object(BUCKET, "many/%04d" % i, b"%d" % i)
    small = {}
    for i in range(SMALL):
        body = hashlib.sha256(b"%d" % i).digest() * (SMALL_BYTES // 32)
        small["small/%d.bin" % i] = hashlib.sha256(body).hexdigest()
        backend.put_object(BUCKET, "small/%d.bin" % i, body)
    backend.put_object(BUCKET, ODD_KEY, b"odd\n")
    backend.put_object(BUCKET, "flaky/once.txt", b"recovered\n")
    return key, session, small


def enable_auth(moto_url, key):
    req = urllib.request.Request(moto_url + "/moto-api/reset-auth", data=b"0", method="POST",
                                 headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(req).read()
    creds = dict(endpoint_url=moto_url, region_name=REGION,
                 aws_access_key_id=key["AccessKeyId"])
    wrong = boto3.client("s3", aws_secret_access_key="not-" + key["SecretAccessKey"], **creds)
    try:
        wrong.list_objects_v2(Bucket=BUCKET, MaxKeys=1)
        sys.exit("s3_fixture: moto accepted a wrong secret: it does not check signatures")
    except ClientError as e:
        if e.response["Error"]["Code"] != "SignatureDoesNotMatch":
            raise
    right = boto3.client("s3", aws_secret_access_key=key["SecretAccessKey"], **creds)
    right.get_object(Bucket=BUCKET, Key=ODD_KEY)["Body"].read()


FLAKY_SEEN = set()
FLAKY_LOCK = threading.Lock()
SLOW_DOWN = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>"
             b"<Message>Please reduce your request rate.</Message></Error>")


def pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (dst, src):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def relay(client, moto_port):
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 65536:
        data = client.recv(65536)
        if not data:
            client.close()
            return
        head += data
    method, _, rest = head.partition(b" ")
    path = rest.partition(b" ")[0]
    if method == b"GET" and b"/flaky/" in path:
        with FLAKY_LOCK:
            first = path not in FLAKY_SEEN
            FLAKY_SEEN.add(path)
        if first:
            client.sendall(b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n"
                           b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                           % (len(SLOW_DOWN), SLOW_DOWN))
            client.close()
            return
    upstream = socket.create_connection(("127.0.0.1", moto_port))
    upstream.sendall(head)
    back = threading.Thread(target=pipe, args=(upstream, client), daemon=True)
    back.start()
    pipe(client, upstream)
    back.join()
    client.close()
    upstream.close()


def serve_relay(listener, moto_port):
    while True:
        client, _ = listener.accept()
        threading.Thread(target=relay, args=(client, moto_port), daemon=True).start()


def main():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    check_raw_uri()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    moto_port = server.get_host_and_port()[1]
    moto_url = "http://127.0.0.1:%d" % moto_port
    key, session, small = seed(moto_url)
    enable_auth(moto_url, key)

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    threading.Thread(target=serve_relay, args=(listener, moto_port), daemon=True).start()
    print(json.dumps({
        "endpoint": "http://127.0.0.1:%d" % listener.getsockname()[1],
        "bucket": BUCKET,
        "region": REGION,
        "access_key_id": key["AccessKeyId"],
        "secret_access_key": key["SecretAccessKey"],
        "session": {"access_key_id": session["AccessKeyId"],
                    "secret_access_key": session["SecretAccessKey"],
                    "session_token": session["SessionToken"]},
        "small": small,
        "many": MANY,
        "odd_key": ODD_KEY,
    }), flush=True)
    sys.stdin.read()  # until the test closes its end or kills us


if __name__ == "__main__":
    main()
