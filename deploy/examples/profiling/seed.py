"""Seeds a local S3-compatible server with sample raw artifacts for the profiling example.

seed.py ENDPOINT [BUCKET] - creates BUCKET (default weft-scans) and, under
raw/<scan_id>/<kind>/, the artifacts of three scans:
  scan-001  raw.point_cloud (an 'x y z' text point cloud), raw.trajectory, raw.images
  scan-002  raw.trajectory and raw.images only: no point cloud
  scan-003  two files of kind raw.point_cloud: a duplicate kind
Credentials and region come from the environment (AWS_ACCESS_KEY_ID, ...), as the workers'
do. Uses boto3, which the S3 server's Python (moto) brings.
"""
import math
import sys

import boto3


def point_cloud(n, seed):
    """n points of a gently rolling surface, deterministic."""
    lines = ["# x y z"]
    for i in range(n):
        x, y = (i % 200) * 0.5, (i // 200) * 0.5
        z = 10 + math.sin(x / 7 + seed) * 2 + math.cos(y / 5) * 1.5
        lines.append("%.3f %.3f %.3f" % (x, y, z))
    return ("\n".join(lines) + "\n").encode()


def main():
    endpoint = sys.argv[1]
    bucket = sys.argv[2] if len(sys.argv) > 2 else "weft-scans"
    s3 = boto3.client("s3", endpoint_url=endpoint)
    existing = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)
    trajectory = "".join("%d,%.2f,%.2f\n" % (t, t * 0.5, t * 0.25) for t in range(500)).encode()
    objects = {
        "raw/scan-001/raw.point_cloud/cloud.xyz": point_cloud(20000, 1),
        "raw/scan-001/raw.trajectory/trajectory.csv": trajectory,
        "raw/scan-001/raw.images/frames.txt": b"frame-0001.jpg\nframe-0002.jpg\n",
        "raw/scan-002/raw.trajectory/trajectory.csv": trajectory,
        "raw/scan-002/raw.images/frames.txt": b"frame-0001.jpg\n",
        "raw/scan-003/raw.point_cloud/cloud-a.xyz": point_cloud(100, 2),
        "raw/scan-003/raw.point_cloud/cloud-b.xyz": point_cloud(100, 3),
        "raw/scan-003/raw.trajectory/trajectory.csv": trajectory,
    }
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    print("seed.py: %d objects in s3://%s/ at %s" % (len(objects), bucket, endpoint),
          file=sys.stderr)


if __name__ == "__main__":
    main()
