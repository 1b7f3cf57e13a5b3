-- weft_handoff notifies this channel with the workflow's uid when a workflow finishes.
LISTEN weft_workflow
