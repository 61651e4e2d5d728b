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

/* Length of the valid UTF-8 sequence at s (1 to 4 bytes, no overlong forms,
 * no surrogates, at most U+10FFFF), or 0. */
static int utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    int n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (c >= 0xf5 || n == 0) return 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    if (n == 3 && ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0))) return 0;
    if (n == 4 && ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))) return 0;
    return n;
}

const char *am_escape_text(const char *s, char *buf, size_t len)
{
    size_t k = 0;
    if (!len) return buf;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int n = *p >= 0x20 && *p < 0x7f ? 1 : *p >= 0x80 ? utf8_len(p) : 0;
        size_t need = n ? (size_t)n : 4;
        if (k + need + 4 > len) {  /* room for "..." and the terminator */
            if (k + 4 <= len) memcpy(buf + k, "...", 3), k += 3;
            break;
        }
        if (n) memcpy(buf + k, p, (size_t)n), k += (size_t)n, p += n;
        else k += (size_t)snprintf(buf + k, len - k, "\\x%02x", *p++);
    }
    buf[k < len ? k : len - 1] = '\0';
    return buf;
}
