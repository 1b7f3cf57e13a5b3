"""Calls weft's entry the way the seed's services do: Celery's send_task of
workflow.schedule_workflow_entry on queue workflow_entry, with the queue declared as
README says (its arguments equal weft's, or RabbitMQ refuses the declaration with 406).

usage: celery_send.py KWARGS_JSON [TASK_NAME]
Prints the task id. The broker URL comes from WEFT_AMQP_URL.
"""
import json
import os
import sys

from celery import Celery
from kombu import Queue

app = Celery("seed_service", broker=os.environ["WEFT_AMQP_URL"])
app.conf.task_queues = [
    Queue("workflow_entry", routing_key="workflow_entry",
          queue_arguments={"x-dead-letter-exchange": "",
                           "x-dead-letter-routing-key": "weft.dead"}),
]
app.conf.task_serializer = "json"

kwargs = json.loads(sys.argv[1])
task = sys.argv[2] if len(sys.argv) > 2 else "workflow.schedule_workflow_entry"
result = app.send_task(task, kwargs=kwargs, queue="workflow_entry")
print(result.id)
