#!/usr/bin/python3
"""prom_scrape.py URL - scrapes a weft /metrics endpoint and parses it with the Prometheus
client's own text-format parser (Debian python3-prometheus-client), so what weft writes is
what a Prometheus server reads. Checks every family has a HELP text and a TYPE, and every
histogram series ends in a +Inf bucket equal to its _count. Prints one JSON object:
{"name{k=v,...}": value} with labels sorted (no braces without labels). Exit 1 on a parse
or check failure, 2 when the parser is missing: the test fails, never skips."""
import json
import sys
import urllib.request

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    sys.exit("prom_scrape.py: python3-prometheus-client is missing (deploy/setup.sh installs it)")


def main():
    with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
        ctype = r.headers.get("Content-Type", "")
        text = r.read().decode("utf-8")
    if not ctype.startswith("text/plain"):
        sys.exit(f"prom_scrape.py: content type {ctype!r}")
    out, problems = {}, []
    for fam in text_string_to_metric_families(text):
        if not fam.documentation:
            problems.append(f"{fam.name}: no HELP")
        if fam.type not in ("counter", "gauge", "histogram"):
            problems.append(f"{fam.name}: TYPE {fam.type}")
        inf, count = {}, {}
        for s in fam.samples:
            labels = {k: v for k, v in s.labels.items() if k != "le"}
            key = s.name + ("{" + ",".join(f"{k}={v}" for k, v in sorted(s.labels.items())) + "}"
                            if s.labels else "")
            out[key] = s.value
            series = tuple(sorted(labels.items()))
            if s.name.endswith("_bucket") and s.labels.get("le") == "+Inf":
                inf[series] = s.value
            if fam.type == "histogram" and s.name.endswith("_count"):
                count[series] = s.value
        for series, c in count.items():
            if inf.get(series) != c:
                problems.append(f"{fam.name}{dict(series)}: +Inf bucket {inf.get(series)} != count {c}")
    if problems:
        sys.exit("prom_scrape.py: " + "; ".join(problems))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
