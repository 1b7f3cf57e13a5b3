#include "plugin.h"

#include <dlfcn.h>

weft_status weft_plugin_load(const char *path, weft_task_registry *r, weft_err *err)
{
    /* RTLD_NOW: an unresolved symbol is an error at start, not a crash at the first attempt;
     * RTLD_LOCAL: two plugins' own symbols never meet */
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return weft_err_set(err, WEFT_EINVAL, "plugin '%s' cannot be loaded: %s", path, dlerror());
    dlerror();
    void *sym = dlsym(h, WEFT_PLUGIN_INIT);
    const char *why = dlerror();
    if (why || !sym) {
        /* the message goes first: dlclose may free the text dlerror returned */
        weft_err_set(err, WEFT_EINVAL, "plugin '%s' exports no %s: %s", path, WEFT_PLUGIN_INIT,
                     why ? why : "the symbol is NULL");
        dlclose(h);
        return WEFT_EINVAL;
    }
    weft_plugin_init_fn *init;
    /* POSIX's way from a data pointer to a function pointer */
    *(void **)&init = sym;
    if (!init(r)) {
        dlclose(h);
        return weft_err_set(err, WEFT_EINVAL, "plugin '%s': its %s refused to load", path,
                            WEFT_PLUGIN_INIT);
    }
    return WEFT_OK;
}
