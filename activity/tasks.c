#include "tasks.h"

#include "log.h"
#include "task_impl.h"

#include <curl/curl.h>

void weft_tasks_global_init(void)
{
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        WEFT_LOG(WEFT_LOG_ERROR, NULL, NULL,
                 "libcurl init failed: %s; http.fetch and s3.* will fail", curl_easy_strerror(rc));
}

void weft_tasks_register_builtin(weft_task_registry *r)
{
    static const struct {
        const char *name;
        weft_task_fn fn;
    } builtin[] = {
        {"noop", weft_task_noop},
        {"sleep", weft_task_sleep},
        {"fail", weft_task_fail},
        {"http.fetch", weft_task_http_fetch},
        {"file.load", weft_task_file_load},
        {"s3.list", weft_task_s3_list},
        {"s3.get", weft_task_s3_get},
        {"s3.put", weft_task_s3_put},
        {"text.replace", weft_task_text_replace},
        {"text.summary", weft_task_text_summary},
    };
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
        if (!weft_task_register(r, builtin[i].name, builtin[i].fn))
            WEFT_LOG(WEFT_LOG_WARN, NULL, NULL, "task '%s' was already registered",
                     builtin[i].name);
}
