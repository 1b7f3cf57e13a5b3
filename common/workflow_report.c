#include "workflow_report.h"

json_t *weft_workflow_report(const weft_workflow_info *w, json_t *activities, json_t *progress)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:O?, s:s?, s:i, s:i, s:f, s:O, s:O}", "uid", w->uid,
                          "name", w->name, "status", weft_workflow_status_name(w->status), "output",
                          w->output, "error", w->error, "total", w->total, "remaining",
                          w->remaining, "duration_s", w->run_s, "progress", progress, "activities",
                          activities);
    if (w->parent_uid[0])
        json_object_set_new(o, "parent",
                            json_pack("{s:s, s:s}", "uid", w->parent_uid, "activity",
                                      w->parent_activity));
    return o;
}
