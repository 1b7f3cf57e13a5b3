#include "state.h"

#include <stddef.h>
#include <string.h>

static const char *const workflow_names[] = {
    [WEFT_WORKFLOW_PENDING] = "pending",     [WEFT_WORKFLOW_RUNNING] = "running",
    [WEFT_WORKFLOW_COMPLETED] = "completed", [WEFT_WORKFLOW_FAILED] = "failed",
    [WEFT_WORKFLOW_CANCELED] = "canceled",
};

static const char *const activity_names[] = {
    [WEFT_ACTIVITY_PENDING] = "pending",     [WEFT_ACTIVITY_QUEUED] = "queued",
    [WEFT_ACTIVITY_RUNNING] = "running",     [WEFT_ACTIVITY_RETRYING] = "retrying",
    [WEFT_ACTIVITY_COMPLETED] = "completed", [WEFT_ACTIVITY_FAILED] = "failed",
    [WEFT_ACTIVITY_CANCELED] = "canceled",
};

#define N_WORKFLOW (sizeof workflow_names / sizeof workflow_names[0])
#define N_ACTIVITY (sizeof activity_names / sizeof activity_names[0])

/* Index of name in names, or -1. */
static int find(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(names[i], name) == 0)
            return (int)i;
    return -1;
}

const char *weft_workflow_status_name(weft_workflow_status s)
{
    return (unsigned)s < N_WORKFLOW ? workflow_names[s] : "unknown";
}

const char *weft_activity_status_name(weft_activity_status s)
{
    return (unsigned)s < N_ACTIVITY ? activity_names[s] : "unknown";
}

bool weft_workflow_status_parse(const char *name, weft_workflow_status *out)
{
    int i = find(workflow_names, N_WORKFLOW, name);
    if (i < 0)
        return false;
    *out = (weft_workflow_status)i;
    return true;
}

bool weft_activity_status_parse(const char *name, weft_activity_status *out)
{
    int i = find(activity_names, N_ACTIVITY, name);
    if (i < 0)
        return false;
    *out = (weft_activity_status)i;
    return true;
}

bool weft_workflow_status_terminal(weft_workflow_status s)
{
    return s == WEFT_WORKFLOW_COMPLETED || s == WEFT_WORKFLOW_FAILED || s == WEFT_WORKFLOW_CANCELED;
}

bool weft_activity_status_terminal(weft_activity_status s)
{
    return s == WEFT_ACTIVITY_COMPLETED || s == WEFT_ACTIVITY_FAILED || s == WEFT_ACTIVITY_CANCELED;
}
