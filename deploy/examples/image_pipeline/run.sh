#!/usr/bin/env bash
# The image pipeline of the example, end to end with one command: deploy/run.sh with this
# folder's task file (resize_image and apply_filters, Python tasks on the SDK), definition
# and inputs. Prints the workflow's output: {"filters": {"final_url": "..."}}.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../../run.sh" --tasks "$here/tasks.json" "$here/image_pipeline.json" "@$here/inputs.json"
