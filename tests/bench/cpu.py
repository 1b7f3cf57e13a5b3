"""CPU time of the benchmark's processes, from /proc (tests/bench/run.sh).

    cpu.py snap NAME=PID...      prints {"NAME": seconds, ...}: CPU (user + system) of each
                                 process and all its descendants, the reaped ones included
    cpu.py add SNAP NAME=PID...  reads one result object on stdin and prints it with
                                 "cpu_s": what each NAME used since SNAP (a snap's output)

A descendant running Python under a root that is not Python (weft-activity's exec tasks)
counts as "NAME python", so the task program's cost shows apart from weft's own. A PID that
is empty or gone counts nothing: the figures are a report, never a reason to fail.
"""

import json
import os
import sys

TICK = os.sysconf("SC_CLK_TCK")


def processes():
    """pid -> (ppid, comm, own ticks + reaped children's ticks) of every process now."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # gone meanwhile
        # comm may hold spaces and parentheses: the fields start after the last ')'
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        # fields[1] is ppid; utime, stime, cutime, cstime are stat fields 14..17
        out[int(entry)] = (int(fields[1]), comm, sum(int(x) for x in fields[11:15]))
    return out


def snap(specs):
    procs = processes()
    children = {}
    for pid, (ppid, _, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    seconds = {}
    for spec in specs:
        name, _, pid = spec.partition("=")
        seconds.setdefault(name, 0.0)
        if not pid.isdigit() or int(pid) not in procs:
            continue
        root_python = procs[int(pid)][1].startswith("python")
        todo = [int(pid)]
        while todo:
            p = todo.pop()
            _, comm, ticks = procs[p]
            key = name if root_python or not comm.startswith("python") else f"{name} python"
            seconds[key] = seconds.get(key, 0.0) + ticks / TICK
            todo.extend(children.get(p, []))
    return seconds


def main(argv):
    if len(argv) >= 2 and argv[1] == "snap":
        print(json.dumps(snap(argv[2:])))
        return 0
    if len(argv) >= 3 and argv[1] == "add":
        before = json.loads(argv[2])
        after = snap(argv[3:])
        result = json.loads(sys.stdin.read())
        result["cpu_s"] = {k: round(v - before.get(k, 0.0), 3) for k, v in after.items()}
        print(json.dumps(result))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
