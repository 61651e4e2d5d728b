/* The thread-local error state: status, message and the op/API context that
 * decorates messages with a name and the caller's file:line. */
#include "ndarray_impl.h"

#include <stdarg.h>

static const char *const status_names[] = {
    "AM_OK", "AM_ERR_ARG", "AM_ERR_SHAPE", "AM_ERR_DTYPE", "AM_ERR_DEVICE",
    "AM_ERR_OOM", "AM_ERR_IO", "AM_ERR_FORMAT", "AM_ERR_UNKNOWN_OP", "AM_ERR_SYMBOLIC",
    "AM_ERR_UNSUPPORTED", "AM_ERR_CUDA", "AM_ERR_INTERNAL",
};
_Static_assert(sizeof(status_names) / sizeof(status_names[0]) == AM_STATUS_COUNT,
               "status_names must list every am_status");

static _Thread_local am_status last_status;
static _Thread_local char last_msg[1024];
static _Thread_local const am_err_ctx *err_top;

const char *am_status_name(am_status s)
{
    return (unsigned)s < AM_STATUS_COUNT ? status_names[s] : "AM_ERR_?";
}

const char *am_last_error(void) { return last_msg; }
am_status am_last_status(void) { return last_status; }

void am_clear_error(void)
{
    last_status = AM_OK;
    last_msg[0] = '\0';
}

void am_assert_fail(const char *file, int line, const char *cond)
{
    fprintf(stderr, "amber: internal error at %s:%d: assertion '%s' failed\n", file, line, cond);
    abort();
}

void am_err_push(am_err_ctx *c, const char *what, am_site at)
{
    c->what = what;
    c->at = at;
    c->prev = err_top;
    err_top = c;
}

void am_err_pop(am_err_ctx *c)
{
    AM_ASSERT(err_top == c);
    err_top = c->prev;
}

/* The user's site is the outermost context that has one: an op called from
 * inside another op's wrapper still names the user's line. */
static const am_err_ctx *user_site(void)
{
    const am_err_ctx *site = NULL;
    for (const am_err_ctx *c = err_top; c; c = c->prev)
        if (c->at.file) site = c;
    return site;
}

static _Thread_local int speculative;

bool am_set_speculative(bool on)
{
    bool prev = speculative > 0;
    speculative = on;
    return prev;
}

/* Read at each failure (failures are rare), so a debugger session can set it
 * late.  Failures while speculating (graph inference retries later) never
 * abort. */
static void maybe_abort(void)
{
    if (speculative) return;
    const char *e = getenv("AM_ABORT_ON_ERROR");
    if (e && e[0] && strcmp(e, "0") != 0) {
        fprintf(stderr, "amber: %s (AM_ABORT_ON_ERROR)\n", last_msg);
        abort();
    }
}

am_status am_fail(am_status code, const char *fmt, ...)
{
    char body[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);

    const am_err_ctx *site = user_site();
    const char *what = err_top ? err_top->what : NULL;
    int n = 0;
    if (what) n = snprintf(last_msg, sizeof(last_msg), "%s: ", what);
    n += snprintf(last_msg + n, sizeof(last_msg) - (size_t)n, "%s", body);
    if (site && (size_t)n < sizeof(last_msg)) {
        const char *file = strrchr(site->at.file, '/');
        snprintf(last_msg + n, sizeof(last_msg) - (size_t)n, " at %s:%d",
                 file ? file + 1 : site->at.file, site->at.line);
    }
    last_status = code == AM_OK ? AM_ERR_INTERNAL : code;
    maybe_abort();
    return last_status;
}

bool am_err_has_site(void) { return user_site() != NULL; }

void am_error_append(const char *fmt, ...)
{
    size_t n = strlen(last_msg);
    va_list ap;
    va_start(ap, fmt);
    if (n < sizeof(last_msg)) vsnprintf(last_msg + n, sizeof(last_msg) - n, fmt, ap);
    va_end(ap);
}

am_status am_fail_null_input(const char *what, int index, am_site at)
{
    if (last_status != AM_OK) return last_status; /* keep the first failure */
    am_err_ctx c;
    am_err_push(&c, what, at);
    am_fail(AM_ERR_ARG, "input %d is NULL", index);
    am_err_pop(&c);
    return AM_ERR_ARG;
}

am_status am_fail_at(const char *what, am_site at, am_status code, const char *fmt, ...)
{
    char body[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    am_err_ctx c;
    am_err_push(&c, what, at);
    am_status st = am_fail(code, "%s", body);
    am_err_pop(&c);
    return st;
}
