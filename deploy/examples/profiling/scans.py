"""The download and profiling workflows' own task types, served through the Python SDK.

The S3 work is weft's built-in s3.list and s3.get; these tasks are what the workflows
decide: where a scan's raw artifacts live, which of them to take (validated, with errors
that name the scan and the kind instead of a KeyError), the {kind: local_path} result,
and the profiling steps over the point cloud. Artifacts are stored as
    raw/<scan_id>/<kind>/<file name>
so an artifact's kind is the folder it is in (for example raw.point_cloud).
"""
import hashlib
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "..", "activity", "sdk", "python"))

from weft_worker import PermanentError, Worker  # noqa: E402

worker = Worker()

SCAN_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
DEFAULT_BUCKET = "weft-scans"
POINT_CLOUD = "raw.point_cloud"


def _scan_id(params):
    scan_id = params.get("scan_id")
    if not isinstance(scan_id, str) or not SCAN_ID.match(scan_id):
        raise PermanentError("scan_id must be a name of 1..128 characters A-Z a-z 0-9 _ . -,"
                             " got %r" % (scan_id,))
    return scan_id


@worker.task("find_raw_artifacts")
def find_raw_artifacts(params, ctx):
    """The workflow's inputs {scan_id, kinds?, bucket?} checked; where to list them. The
    bucket is an input (default weft-scans), never a constant of the code."""
    scan_id = _scan_id(params)
    kinds = params.get("kinds")
    if kinds is not None and (not isinstance(kinds, list) or not kinds
                              or not all(isinstance(k, str) and k for k in kinds)):
        raise PermanentError("scan %s: kinds must be a non-empty list of kind names, got %r"
                             % (scan_id, kinds))
    bucket = params.get("bucket", DEFAULT_BUCKET)
    if not isinstance(bucket, str) or not bucket:
        raise PermanentError("scan %s: bucket must be a bucket name, got %r" % (scan_id, bucket))
    ctx.send_progress(100, "looking for raw artifacts of scan %s" % scan_id)
    return {"scan_id": scan_id, "bucket": bucket, "prefix": "raw/%s/" % scan_id,
            "kinds": kinds}


@worker.task("select_artifacts")
def select_artifacts(params, ctx):
    """s3.list's objects under the scan's prefix, filtered by kinds: one per kind, each with
    the local path s3.get saves it to. Empty or a repeated kind fails for good."""
    scan_id = _scan_id(params)
    prefix = params["prefix"]
    kinds = params.get("kinds")
    chosen, seen = [], {}
    for obj in params.get("objects", []):
        rest = obj["key"][len(prefix):]
        if "/" not in rest:
            continue  # not in a kind's folder
        kind, name = rest.split("/", 1)
        if kinds is not None and kind not in kinds:
            continue
        if kind in seen:
            raise PermanentError("scan %s: kind %s appears twice (%s and %s): one artifact"
                                 " per kind" % (scan_id, kind, seen[kind], obj["key"]))
        seen[kind] = obj["key"]
        chosen.append({"key": obj["key"], "kind": kind, "size": obj.get("size"),
                       "path": "%s/%s/%s" % (scan_id, kind, os.path.basename(name))})
    if not chosen:
        wanted = ", ".join(kinds) if kinds else "any kind"
        raise PermanentError("scan %s: no raw artifacts of %s under s3://%s/%s"
                             % (scan_id, wanted, params["bucket"], prefix))
    missing = [k for k in (kinds or []) if k not in seen]
    if missing:
        raise PermanentError("scan %s: no raw artifact of kind %s"
                             % (scan_id, ", ".join(missing)))
    return {"bucket": params["bucket"], "artifacts": chosen}


@worker.task("collect_downloads")
def collect_downloads(params, ctx):
    """{kind: local_path}: the map's outputs are in the artifacts' order."""
    artifacts, items = params["artifacts"], params["items"]
    if len(artifacts) != len(items):
        raise PermanentError("%d artifacts but %d downloads" % (len(artifacts), len(items)))
    return {a["kind"]: got["path"] for a, got in zip(artifacts, items)}


@worker.task("require_point_cloud")
def require_point_cloud(params, ctx):
    """The download child's {kind: path} must hold the point cloud: a clear error if not."""
    files = params.get("files")
    scan_id = params.get("scan_id", "?")
    if not isinstance(files, dict) or POINT_CLOUD not in files:
        raise PermanentError("scan %s: the download gave no %s (it gave: %s)"
                             % (scan_id, POINT_CLOUD,
                                ", ".join(sorted(files)) if isinstance(files, dict) else "nothing"))
    return {"point_cloud": files[POINT_CLOUD]}


def _points(path):
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                x, y, z = (float(v) for v in line.split()[:3])
            except ValueError:
                raise PermanentError("%s line %d: not an 'x y z' point: %r" % (path, n, line))
            yield x, y, z


@worker.task("profile_point_cloud")
def profile_point_cloud(params, ctx):
    """Point count, bounding box and height profile of the point cloud; written next to it
    as profile.json for the upload step."""
    path = params["point_cloud"]
    count, lo, hi, zsum = 0, [float("inf")] * 3, [float("-inf")] * 3, 0.0
    for p in _points(path):
        count += 1
        zsum += p[2]
        lo = [min(a, b) for a, b in zip(lo, p)]
        hi = [max(a, b) for a, b in zip(hi, p)]
        if count % 1000 == 0:
            ctx.send_progress(50, "%d points read" % count)
    if count == 0:
        raise PermanentError("%s holds no points" % path)
    profile = {"points": count, "min": lo, "max": hi, "mean_z": zsum / count}
    out = os.path.join(os.path.dirname(path), "profile.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(profile, f, sort_keys=True)
    # what s3.put, next, reads: where the profile goes and the file to send
    return {"profile": profile, "bucket": params.get("bucket", DEFAULT_BUCKET),
            "key": "profiles/%s/profile.json" % _scan_id(params), "path": out}


@worker.task("build_manifest")
def build_manifest(params, ctx):
    """The profiling workflow's result: what was downloaded, measured and uploaded."""
    files = params["files"]
    digests = {}
    for kind, path in sorted(files.items()):
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 16), b""):
                h.update(chunk)
        digests[kind] = h.hexdigest()
    return {"scan_id": params["scan_id"], "files": files, "sha256": digests,
            "profile": params["profile"],
            "uploaded": {"bucket": params["bucket"], "key": params["key"],
                         "etag": params["etag"], "bytes": params["bytes"]}}


if __name__ == "__main__":
    worker.run()
