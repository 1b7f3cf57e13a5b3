#include "progress.h"

#include "state.h"

#include <stdio.h>
#include <string.h>

json_t *weft_progress_summary(const json_t *activities)
{
    json_t *stage = json_array();
    json_int_t done = 0;
    size_t i;
    const json_t *act;
    json_array_foreach(activities, i, act)
    {
        weft_activity_status st;
        if (!weft_activity_status_parse(json_string_value(json_object_get(act, "status")), &st))
            continue;
        if (weft_activity_status_terminal(st))
            done++;
        else if (st == WEFT_ACTIVITY_RUNNING && !json_is_string(json_object_get(act, "instance_of"))) {
            /* a running instance is its map's stage, and the map is listed running */
            const char *name = json_string_value(json_object_get(act, "name"));
            if (name)
                json_array_append_new(stage, json_string(name));
        }
    }
    return json_pack("{s:I, s:I, s:o}", "done", done, "total",
                     (json_int_t)json_array_size(activities), "stage", stage);
}

char *weft_progress_format(const json_t *summary, char *buf, size_t size)
{
    if (size == 0)
        return buf;
    size_t used = 0;
    int n = snprintf(buf, size, "%lld/%lld",
                     (long long)json_integer_value(json_object_get(summary, "done")),
                     (long long)json_integer_value(json_object_get(summary, "total")));
    used = n < 0 ? 0 : (size_t)n;
    const json_t *stage = json_object_get(summary, "stage");
    size_t i;
    const json_t *name;
    json_array_foreach(stage, i, name)
    {
        if (used >= size)
            break;
        n = snprintf(buf + used, size - used, "%s%s", i == 0 ? " (stage: " : ", ",
                     json_string_value(name));
        used += n < 0 ? 0 : (size_t)n;
    }
    if (json_array_size(stage) > 0 && used < size)
        snprintf(buf + used, size - used, ")");
    return buf;
}

char *weft_progress_instances_format(const json_t *instances, char *buf, size_t size)
{
    static const char *const others[] = {"running", "queued", "retrying", "pending", "failed",
                                         "canceled"};
    if (size == 0)
        return buf;
    int n = snprintf(buf, size, "%lld/%lld completed",
                     (long long)json_integer_value(json_object_get(instances, "completed")),
                     (long long)json_integer_value(json_object_get(instances, "total")));
    size_t used = n < 0 ? 0 : (size_t)n;
    for (size_t i = 0; i < sizeof others / sizeof others[0] && used < size; i++) {
        json_int_t k = json_integer_value(json_object_get(instances, others[i]));
        if (k <= 0)
            continue;
        n = snprintf(buf + used, size - used, ", %lld %s", (long long)k, others[i]);
        used += n < 0 ? 0 : (size_t)n;
    }
    return buf;
}
