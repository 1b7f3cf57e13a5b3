#include "dashboard.h"

#include "dashboard_files.h"

#include <string.h>

const weft_dashboard_file *weft_dashboard_find(const char *name)
{
    for (size_t i = 0; i < weft_dashboard_nfiles; i++)
        if (strcmp(weft_dashboard_files[i].name, name) == 0)
            return &weft_dashboard_files[i];
    return NULL;
}
