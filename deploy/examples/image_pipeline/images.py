"""The image pipeline's two task types, served to weft-activity through the Python SDK.

Stand-ins for real image work, kept pure Python so the example runs anywhere: like the
worker they replace, they transform the image's URL and say what a real resize or filter
would have produced. The handlers return results in the worker's own shape
({"status": "success", "data": ...}), which the SDK passes through unchanged.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "..", "activity", "sdk", "python"))

from weft_worker import PermanentError, Worker  # noqa: E402

worker = Worker()


def _required(params, key, kind):
    value = params.get(key)
    if not isinstance(value, kind):
        raise PermanentError("%s: needs '%s' (%s), got %r"
                             % (key, key, kind.__name__, value))
    return value


@worker.task("resize_image")
def resize_image(params, ctx):
    """params: the workflow's input {"url", "width"?, "height"?} and the activity's params."""
    url = _required(params, "url", str)
    width = params.get("width", 800)
    height = params.get("height", 600)
    for name, value in (("width", width), ("height", height)):
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 20000:
            raise PermanentError("%s must be a whole number in 1..20000, got %r"
                                 % (name, value))
    ctx.send_progress(50, "resizing to %dx%d" % (width, height))
    return {"status": "success", "data": {"resized_url": "%s?w=%d&h=%d" % (url, width, height)}}


@worker.task("apply_filters")
def apply_filters(params, ctx):
    """params: resize_image's output {"resized_url"} merged with {"filters": [...]}."""
    url = _required(params, "resized_url", str)
    filters = _required(params, "filters", list)
    if not filters or not all(isinstance(f, str) and f for f in filters):
        raise PermanentError("filters must be a non-empty list of names, got %r" % (filters,))
    for i, name in enumerate(filters, 1):
        ctx.send_progress(100 * i // len(filters), "filter %s" % name)
    return {"status": "success", "data": {"final_url": "%s?filters=%s" % (url, ",".join(filters))}}


if __name__ == "__main__":
    worker.run()
