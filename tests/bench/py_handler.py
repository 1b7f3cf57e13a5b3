"""The trivial handler both sides of the Python-task workloads run (tests/bench/run.sh):
its input plus one key. weft serves it as an exec task (py_tasks.py, through the SDK),
Celery as the task py_echo (celery_peer.py); one function, so both do the same work."""


def echo(data):
    out = dict(data)
    out["echoed"] = True
    return out
