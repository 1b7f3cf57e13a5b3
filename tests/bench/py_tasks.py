"""weft's side of the Python-task workloads: py_handler.echo as the exec task py_echo,
written with the SDK (activity/sdk/python/weft_worker.py) as a user would, and served by
weft-activity --tasks py_tasks.json as one persistent process per worker slot."""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "activity", "sdk", "python"))

from py_handler import echo  # noqa: E402
from weft_worker import Worker  # noqa: E402

worker = Worker()


@worker.task("py_echo")
def py_echo(params, ctx):
    return echo(params)


if __name__ == "__main__":
    worker.run()
