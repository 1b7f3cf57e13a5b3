"""Turns the JSON lines run.sh collected into the benchmark's markdown report.

    report.py RESULTS.jsonl MODE ELAPSED_S ACTIVITY_CONCURRENCY CELERY_CONCURRENCY

Each line is one object with "system" (weft|celery|host) and "workload"; see README.md. The
targets are reported, never asserted: run.sh fails only when something did not complete.
"""

import datetime
import json
import math
import os
import platform
import sys

PROCESSES = ["weft-entry", "weft-activity", "weft-handoff"]
# the Python-task workloads' task: weft's exec task and Celery's task of that name
PY_TASK = "py_echo"
# cpu.py's names: weft-activity's Python descendants are its exec tasks' processes
CPU_COLUMNS = ["weft-entry", "weft-activity", "weft-activity python", "weft-handoff", "celery",
               "rabbitmq", "postgres", "redis"]


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def ok(r):
    return r is not None and r.get("ok", True)


def find_all(results, system, workload, **match):
    """The results of one system and workload that match; those of the topology runs
    (run.sh: "topology") only when asked for by topology=."""
    match.setdefault("topology", None)
    return [r for r in results if r.get("system") == system and r.get("workload") == workload
            and all(r.get(k) == v for k, v in match.items())]


def find(results, system, workload, **match):
    found = find_all(results, system, workload, **match)
    return found[0] if found else None


def median_run(results, system, workload, key, **match):
    """The run with the median figure among repeats; a failed run wins, so it shows."""
    runs = find_all(results, system, workload, **match)
    if not runs or not all(ok(r) for r in runs):
        return next((r for r in runs if not ok(r)), None)
    return sorted(runs, key=lambda r: r[key])[len(runs) // 2]


def num(r, key, fmt="{:,.0f}"):
    """The figure, "FAILED" when the workload did not complete, "-" when it did not run."""
    if r is None:
        return "-"
    if not ok(r):
        return "FAILED"
    v = r.get(key)
    return "-" if v is None else fmt.format(v)


def mib(r):
    return num(r, "kib", "{:.0f}") if not ok(r) else f"{r['kib'] / 1024:.1f}"


def value(r, key):
    return r.get(key) if ok(r) else None


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def times(x, suffix=""):
    return f"{x:.2f}×{suffix}" if x is not None else ""


def verdict(x, limit, higher_is_better):
    if x is None:
        return ""
    met = x >= limit if higher_is_better else x <= limit
    return "met" if met else "NOT met"


def machine():
    model, mem_kib = "unknown", 0
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return (f"{os.cpu_count()} CPUs ({model}), {mem_kib / 1048576:.1f} GiB RAM, "
            f"Linux {platform.release()}")


class Table:
    def __init__(self, header):
        self.lines = ["| " + " | ".join(header) + " |",
                      "|" + "|".join("---" for _ in header) + "|"]

    def row(self, *cells):
        self.lines.append("| " + " | ".join(c or "" for c in cells) + " |")


def throughput_row(t, results, workload, label, target, **match):
    w = median_run(results, "weft", workload, "steps_per_s", **match)
    c = median_run(results, "celery", workload, "steps_per_s", **match)
    n = len(find_all(results, "weft", workload, **match))
    x = ratio(value(w, "steps_per_s"), value(c, "steps_per_s"))
    t.row(label.format(r=w or c or {}) + (f" (median of {n})" if n > 1 else ""),
          num(w, "steps_per_s"), num(c, "steps_per_s"), times(x),
          f"≥ {target}×: {verdict(x, target, True)}")


def percentile(sorted_values, p):
    """Nearest rank, as the drivers compute it."""
    rank = math.ceil(p / 100.0 * len(sorted_values))
    return sorted_values[max(rank, 1) - 1]


def pooled_latency(results, system, task):
    """The latency rounds of one system and task as one run: their samples pooled, their CPU
    summed; a failed round, when there is one, so that it shows; None when none ran."""
    rounds = find_all(results, system, "latency", task=task)
    if not rounds or not all(ok(r) for r in rounds):
        return next((r for r in rounds if not ok(r)), None)
    ms = sorted(x for r in rounds for x in r["ms"])
    cpu = {}
    for r in rounds:
        for k, v in r.get("cpu_s", {}).items():
            cpu[k] = cpu.get(k, 0.0) + v
    return {"system": system, "workload": "latency", "task": task, "runs": len(ms),
            "rounds": len(rounds), "steps": rounds[0]["steps"], "p50_ms": percentile(ms, 50),
            "p99_ms": percentile(ms, 99), "cpu_s": cpu}


def latency_rows(t, results, label, task):
    w, c = pooled_latency(results, "weft", task), pooled_latency(results, "celery", task)
    if w is None and c is None:
        return
    runs = (w or c or {}).get("runs", "?")
    rounds = (w or c or {}).get("rounds", 1)
    how = f"{runs} in {rounds} rounds" if rounds > 1 else f"{runs} in a row"
    for key, pct in (("p50_ms", "p50"), ("p99_ms", "p99")):
        x = ratio(value(w, key), value(c, key))
        t.row(f"{label} × {how}, {pct} ms", num(w, key, "{:.1f}"),
              num(c, key, "{:.1f}"), times(x),
              f"≤ 1× (≤ Celery's): {verdict(x, 1, False)}" if key == "p50_ms" else "")


def steps_of(r):
    """The steps a workload ran: a latency run's chains one after another, a scale run's
    activities."""
    if r.get("workload") == "latency":
        return r.get("runs", 0) * r.get("steps", 0)
    return r.get("steps", r.get("activities"))


def topologies(results):
    """The topologies run.sh ran the chains on beside the main run's, in its order."""
    seen = []
    for r in results:
        if r.get("topology") and r["topology"] not in seen:
            seen.append(r["topology"])
    return seen


def topology_label(topo):
    if topo is None:
        return "1 handoff shard, one RabbitMQ node, the run above"
    if topo.startswith("shards="):
        return f"{topo[len('shards='):]} handoff shards, one RabbitMQ node"
    if topo.startswith("slots="):
        n = topo[len("slots="):]
        return f"1 handoff shard, one node, {n} worker slots on both sides (--concurrency {n}, -c {n})"
    if topo == "cluster":
        return "1 handoff shard, a RabbitMQ cluster of 3 nodes (quorum queues)"
    return topo


def batches(results, topo):
    """The share of the handoff's messages (over that process's life) that went in batches,
    and their mean size."""
    b = find(results, "weft", "handoff_batches", topology=topo)
    h = find(results, "weft", "handoff", topology=topo)
    n, m = value(b, "batches") if b else None, value(b, "batched") if b else None
    total = value(h, "messages") if h else None
    if not total or n is None:
        return "-"
    return f"{100.0 * m / total:.0f}%, {m / n:.1f}" if n else "0%"


def topology_table(results):
    """The no-op chains on each topology, with the handoff's busy time per message there."""
    t = Table(["topology", "weft steps/s", "Celery steps/s", "weft ÷ Celery",
               "handoff busy µs/message", "handoffs in batches, mean batch",
               "target (reported, not asserted)"])
    for topo in [None] + topologies(results):
        w = median_run(results, "weft", "chains", "steps_per_s", task="noop", topology=topo)
        c = median_run(results, "celery", "chains", "steps_per_s", task="noop", topology=topo)
        h = find(results, "weft", "handoff", topology=topo)
        x = ratio(value(w, "steps_per_s"), value(c, "steps_per_s"))
        target = 1.5 if topo and topo.startswith("shards=") else 1
        t.row(topology_label(topo), num(w, "steps_per_s"), num(c, "steps_per_s"), times(x),
              num(h, "us_per_message"), batches(results, topo),
              f"≥ {target}×: {verdict(x, target, True)}")
    return t


def cpu_table(results):
    """µs of CPU per step of each process over each workload (cpu.py; the median run of
    repeats, the run the main table shows)."""
    t = Table(["workload", "system", *CPU_COLUMNS, "all"])
    shapes = [("chains", "noop", "chains, no-op", None), ("fanin", None, "fan-in", None),
              ("latency", "noop", "latency, no-op", None),
              ("chains", PY_TASK, "python chains", None),
              ("latency", PY_TASK, "python latency", None)]
    shapes += [("chains", "noop", f"chains, no-op, {topo}", topo) for topo in topologies(results)]
    for workload, task, label, topo in shapes:
        match = {"task": task} if task else {}
        match["topology"] = topo
        for system in ("weft", "celery"):
            if workload == "latency":
                r = pooled_latency(results, system, task)
            else:
                r = median_run(results, system, workload, "steps_per_s", **match)
            cpu = r.get("cpu_s") if ok(r) else None
            if not cpu or not steps_of(r):
                continue
            per = {k: v * 1e6 / steps_of(r) for k, v in cpu.items()}
            cells = [f"{per[k]:,.0f}" if per.get(k) else "-" for k in CPU_COLUMNS]
            t.row(label, system, *cells, f"{sum(per.values()):,.0f}")
    return t


def main_table(results):
    t = Table(["measure", "weft", "Celery", "weft ÷ Celery", "target (reported, not asserted)"])
    throughput_row(t, results, "chains",
                   "chains: {r[workflows]} × 4 no-op steps at once, steps/s", 1.5, task="noop")
    throughput_row(t, results, "fanin", "fan-in: 1 → {r[width]} → 1 join, steps/s", 3)
    latency_rows(t, results, "latency: 4-step chain", "noop")
    throughput_row(t, results, "chains",
                   "python chains: {r[workflows]} × 4 Python steps at once, steps/s", 1,
                   task=PY_TASK)
    latency_rows(t, results, "python latency: 4-step chain of Python steps", PY_TASK)

    for shape in ("wide", "chain"):
        sizes = sorted(r["activities"] for r in results
                       if r.get("workload") == "scale" and r.get("shape") == shape)
        base = value(find(results, "weft", "scale", shape=shape, activities=sizes[0]),
                     "us_per_activity") if sizes else None
        for n in sizes:
            r = find(results, "weft", "scale", shape=shape, activities=n)
            x = ratio(value(r, "us_per_activity"), base) if n != sizes[0] else None
            what = f"root → {n - 2:,} → join" if shape == "wide" else "a chain"
            t.row(f"scale: one workflow of {n:,} activities ({what}), µs/activity",
                  num(r, "us_per_activity"), "-", times(x, f" the {sizes[0]:,} cost"),
                  f"≤ 1.5× at 10,000: {verdict(x, 1.5, False)}" if n == 10000 else "")

    f = find(results, "weft", "floor")
    ops = (f or {}).get("ops", "?")
    t.row(f"floor: fsynced Postgres commit ({ops} in a row), mean µs",
          num(f, "pg_commit_us"), "-", "", "")
    t.row(f"floor: confirmed persistent publish ({ops} in a row), mean µs",
          num(f, "publish_confirm_us"), "-", "", "")
    t.row("floor: commit + confirmed publish, µs", num(f, "floor_us"), "-", "", "")
    h = find(results, "weft", "handoff")
    x = ratio(value(h, "us_per_message"), value(f, "floor_us"))
    t.row(f"handoff: busy time per message over the run ({num(h, 'messages')} messages), µs",
          num(h, "us_per_message"), "-", times(x, " the floor"),
          f"≤ 1.5× the floor: {verdict(x, 1.5, False)}")
    t.row("handoff: messages handled in batches (one commit each), share, mean batch",
          batches(results, None), "-", "", "")
    # an attempt commits twice (claim, result) and publishes once (its handoff)
    a = find(results, "weft", "activity")
    pg, pub = value(f, "pg_commit_us"), value(f, "publish_confirm_us")
    x = ratio(value(a, "us_per_message"), 2 * pg + pub if pg and pub else None)
    t.row(f"activity: busy time per attempt, per worker thread ({num(a, 'messages')} attempts), "
          "µs", num(a, "us_per_message"), "-", times(x, " 2 commits + 1 publish"), "")
    # what Postgres wrote per step of the no-op chains (weft_bench: exact counters)
    c = median_run(results, "weft", "chains", "steps_per_s", task="noop")
    t.row("Postgres per step of the no-op chains: writing transactions",
          num(c, "pg_xacts_per_step", "{:.2f}"), "-", "", "")
    t.row("Postgres per step of the no-op chains: WAL bytes", num(c, "pg_wal_bytes_per_step"),
          "-", "", "")

    for p in PROCESSES:
        idle = find(results, "weft", "rss", process=p, phase="idle")
        kib = value(idle, "kib")
        t.row(f"RSS {p}: idle after start (VmRSS), MiB", mib(idle), "-", "",
              f"≤ 20 MiB: {verdict(kib / 1024 if kib else None, 20, False)}")
    for p in PROCESSES:
        t.row(f"RSS {p}: peak over the run (VmHWM), MiB",
              mib(find(results, "weft", "rss", process=p, phase="peak")), "-", "", "")
    return t


def long_tables(results):
    phases = ("before", "after_1", "after_2", "peak")
    t = Table(["process", "after the warm-up (VmRSS)", "after 1st 100k (VmRSS)",
               "after 2nd 100k (VmRSS)", "peak (VmHWM)", "growth 1st → 2nd"])
    for p in PROCESSES:
        rs = {ph: find(results, "weft", "rss", process=p, phase=ph) for ph in phases}
        a, b = value(rs["after_1"], "kib"), value(rs["after_2"], "kib")
        t.row(p, *(mib(rs[ph]) + " MiB" if rs[ph] else "-" for ph in phases),
              f"{(b - a) / 1024:+.1f} MiB" if a is not None and b is not None else "-")
    runs = Table(["run", "seconds", "µs/activity"])
    for label, r in zip(("warm-up", "1st", "2nd"), find_all(results, "weft", "scale")):
        runs.row(f"{label}: wide, {r.get('activities', 0):,} activities",
                 num(r, "seconds", "{:.1f}"), num(r, "us_per_activity"))
    return t.lines + [""] + runs.lines


def checkout_relative(path):
    """A path inside the checkout as the checkout names it: the report is committed, and the
    folder it was made in is nobody else's."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    rel = os.path.relpath(path, repo) if os.path.isabs(path) else path
    return path if rel.startswith("..") else rel


def main(argv):
    if len(argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    path, mode, elapsed, act_conc, celery_conc = argv[1:]
    results = load(path)
    loads = {r.get("phase"): r.get("loadavg", "?") for r in find_all(results, "host", "load")}
    build = find(results, "host", "build") or {}
    peer = ("" if mode == "long" else
            f"; Celery 5.2 worker -P prefork -c {celery_conc} on the same services")
    out = [f"# weft benchmark ({mode})", "",
           f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
           f"- machine: {machine()}",
           f"- load average (1/5/15 min) at the start: {loads.get('start', '?')}, "
           f"at the end: {loads.get('end', '?')} (the figures share the CPUs with it)",
           f"- weft at {build.get('commit', '?')} (the checkout; binaries from "
           f"{checkout_relative(build.get('dir', '?'))})",
           f"- weft-entry, weft-activity --concurrency {act_conc}, weft-handoff{peer}; "
           f"RabbitMQ, Redis, Postgres on loopback",
           f"- the whole run took {float(elapsed):.0f} s", ""]
    if mode == "long":
        out += long_tables(results)
    else:
        out += main_table(results).lines
        if topologies(results):
            c = median_run(results, "weft", "chains", "steps_per_s", task="noop") or {}
            out += ["", f"Chains ({c.get('workflows', '?')} × 4 no-op steps at once) by "
                    "topology: weft's three consumers restarted on each, Celery on the single "
                    "node beside it, runs interleaved as above:", ""]
            out += topology_table(results).lines
        out += ["", "CPU per step, µs (user + system from /proc over each workload, each process"
                " with its children; the services serve both sides; the drivers not counted):",
                ""] + cpu_table(results).lines
    failures = [r for r in results if not ok(r)]
    if failures:
        out += ["", "Did not complete:", ""]
        out += [f"- {r.get('system')} {r.get('workload')}: {r.get('error', 'failed')}"
                for r in failures]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
