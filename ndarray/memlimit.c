/* The process-wide memory limit on host memory: its default (a fraction of
 * physical memory or of the cgroup's limit), AM_MEMORY_LIMIT, and the check
 * that eager arrays, plan arenas and workspaces pass before they allocate
 * (docs/memory.md).  ndarray/alloc.c counts the bytes. */
#include "ndarray_impl.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <unistd.h>

#define DEFAULT_PERCENT 80

/* What decides the limit until am_set_memory_limit does: read once. */
static pthread_once_t defaults_once = PTHREAD_ONCE_INIT;
static int64_t default_limit;      /* bytes; -1 when AM_MEMORY_LIMIT is no size */
static char default_source[96];    /* "AM_MEMORY_LIMIT", "80% of physical memory" ... */
static char env_error[256];        /* why AM_MEMORY_LIMIT was refused */

/* 0: the default above; otherwise the bytes am_set_memory_limit gave. */
static atomic_llong set_limit;

/* The first number in a file (cgroup limits), 0 when there is none ("max"). */
static uint64_t read_number(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    unsigned long long v = 0;
    if (fscanf(f, "%llu", &v) != 1) v = 0;
    fclose(f);
    return v;
}

/* The memory.max of this process's cgroup (v2), else the v1 memory
 * controller's limit; 0 when none is set or none can be read. */
static uint64_t cgroup_limit(void)
{
    uint64_t v = 0;
    FILE *f = fopen("/proc/self/cgroup", "r");
    char line[512], path[600];
    while (f && !v && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "0::", 3) != 0) continue;
        line[strcspn(line, "\n")] = '\0';
        snprintf(path, sizeof(path), "/sys/fs/cgroup%s/memory.max", line + 3);
        v = read_number(path);
    }
    if (f) fclose(f);
    if (!v) v = read_number("/sys/fs/cgroup/memory.max");
    if (!v) v = read_number("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    return v;
}

/* The memory a percentage refers to: physical memory, or the cgroup's limit
 * when that is lower.  *what names it. */
static uint64_t memory_base(const char **what)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    uint64_t phys = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
    uint64_t cg = cgroup_limit();
    *what = "physical memory";
    if (cg && (!phys || cg < phys)) {
        *what = "the cgroup's memory limit";
        return cg;
    }
    return phys ? phys : (uint64_t)1 << 34; /* unknown: assume 16 GiB */
}

static int64_t percent_of(double percent, uint64_t base)
{
    double v = floor((double)base * percent / 100.0);
    return v < 1 ? 1 : v >= 9.2e18 ? INT64_MAX : (int64_t)v;
}

int64_t am_memory_parse_limit(const char *s, char *err, size_t errlen)
{
    const char *base_what;
    uint64_t base = memory_base(&base_what);
    static const char units[] = "KMGTPE";
    if (strcasecmp(s, "none") == 0 || strcasecmp(s, "unlimited") == 0) return INT64_MAX;
    errno = 0;
    char *end;
    long double v = strtold(s, &end);
    bool ok = end != s && errno == 0 && isdigit((unsigned char)s[0]) &&
              strspn(s, "0123456789.") == (size_t)(end - s); /* no sign, hex or exponent */
    while (ok && *end == ' ') end++;
    if (ok && *end == '%') {
        ok = end[1] == '\0' && v > 0 && v <= 100;
        if (ok) return percent_of((double)v, base);
    }
    const char *u = ok && *end ? strchr(units, toupper((unsigned char)*end)) : NULL;
    if (u && *u) {
        v *= powl(1024.0L, (long double)(u - units + 1));
        end++;
        if (*end == 'i' || *end == 'I') end++;
        if (*end == 'b' || *end == 'B') end++;
    } else if (ok && (*end == 'b' || *end == 'B')) {
        end++;
    }
    ok = ok && *end == '\0' && v >= 1;
    if (ok && v < 9.2e18L) return (int64_t)v;
    snprintf(err, errlen,
             ok ? "AM_MEMORY_LIMIT='%.64s' is more than the 8 EiB a limit can be"
                : "AM_MEMORY_LIMIT='%.64s' is not a memory size: give bytes, a number with "
                  "K, M, G, T or P (1K = 1024), a percentage of %s, or 'none'",
             s, base_what);
    return -1;
}

static void read_defaults(void)
{
    const char *what;
    uint64_t base = memory_base(&what);
    const char *env = getenv("AM_MEMORY_LIMIT");
    if (env && env[0]) {
        default_limit = am_memory_parse_limit(env, env_error, sizeof(env_error));
        snprintf(default_source, sizeof(default_source), "AM_MEMORY_LIMIT");
    } else {
        default_limit = percent_of(DEFAULT_PERCENT, base);
        snprintf(default_source, sizeof(default_source),
                 "%d%% of %s; AM_MEMORY_LIMIT changes it", DEFAULT_PERCENT, what);
    }
}

/* The limit in bytes and what set it; -1 (and AM_ERR_ARG set) when
 * AM_MEMORY_LIMIT holds no size. */
static int64_t current_limit(const char **source)
{
    int64_t v = atomic_load(&set_limit);
    if (v > 0) {
        if (source) *source = "am_set_memory_limit";
        return v;
    }
    pthread_once(&defaults_once, read_defaults);
    if (source) *source = default_source;
    if (default_limit < 0) am_fail(AM_ERR_ARG, "%s", env_error);
    return default_limit;
}

int64_t am_memory_limit_bytes(void)
{
    int64_t v = atomic_load(&set_limit);
    if (v > 0) return v;
    pthread_once(&defaults_once, read_defaults);
    return default_limit;
}

am_status am_set_memory_limit(int64_t bytes)
{
    if (bytes < 0)
        return am_fail(AM_ERR_ARG, "am_set_memory_limit: %lld bytes is no limit (0 restores "
                       "the default, INT64_MAX lifts it)", (long long)bytes);
    atomic_store(&set_limit, bytes);
    return AM_OK;
}

int64_t am_get_memory_limit(void)
{
    am_err_ctx c;
    am_err_push(&c, "am_get_memory_limit", (am_site){0});
    int64_t v = current_limit(NULL);
    am_err_pop(&c);
    return v;
}

/* ---- the check ------------------------------------------------------------ */

char *am_format_bytes(uint64_t n, char *buf, size_t len)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (n < 1024) {
        snprintf(buf, len, "%llu B", (unsigned long long)n);
        return buf;
    }
    double v = (double)n / 1024;
    int u = 0;
    while (v >= 1023.95 && u < 5) v /= 1024, u++;
    snprintf(buf, len, "%.1f %s", v, units[u]);
    return buf;
}

am_status am_memory_check(uint64_t nbytes, const char *what, const char *detail)
{
    const char *source;
    int64_t limit = current_limit(&source);
    if (limit < 0) return AM_ERR_ARG;
    if (limit == INT64_MAX) return AM_OK;
    uint64_t block = am_host_block_size((size_t)nbytes); /* as the allocator counts it */
    uint64_t used = (uint64_t)am_host_reserved_bytes();
    if (block <= (uint64_t)limit && used <= (uint64_t)limit - block) return AM_OK;
    am_host_trim(); /* cached blocks count, but give way */
    used = (uint64_t)am_host_reserved_bytes();
    if (block <= (uint64_t)limit && used <= (uint64_t)limit - block) return AM_OK;
    char need[32], lim[32], busy[32], in_use[64] = "";
    if (block <= (uint64_t)limit)
        snprintf(in_use, sizeof(in_use), " with %s in use",
                 am_format_bytes(used, busy, sizeof(busy)));
    return am_fail(AM_ERR_OOM, "%s needs %s%s%s%s%s; the memory limit is %s (%s)", what,
                   am_format_bytes(nbytes, need, sizeof(need)), detail ? " (" : "",
                   detail ? detail : "", detail ? ")" : "", in_use,
                   am_format_bytes((uint64_t)limit, lim, sizeof(lim)), source);
}

am_status am_memory_check_array(const char *what, const am_shape *shape, am_dtype dtype)
{
    if (shape->ndim < 0 || shape->ndim > AM_MAX_NDIM || (unsigned)dtype >= AM_DTYPE_COUNT)
        return AM_OK; /* the array's own checks say what is wrong */
    uint64_t n = am_dtype_size(dtype);
    for (int i = 0; i < shape->ndim; i++) {
        if (shape->dim[i] < 0) return AM_OK;
        if (shape->dim[i] == 0) n = 0;
        if (n && __builtin_mul_overflow(n, (uint64_t)shape->dim[i], &n)) return AM_OK;
    }
    char s[96], detail[128];
    snprintf(detail, sizeof(detail), "shape %s, %s", am_shape_format(shape, s, sizeof(s)),
             am_dtype_name(dtype));
    return am_memory_check(n, what, detail);
}

am_status am_memory_check_outputs(const am_shape *shapes, const am_dtype *dtypes, int first, int n)
{
    for (int i = first; i < n; i++) {
        char what[32] = "output";
        if (n > 1) snprintf(what, sizeof(what), "output %d", i);
        am_status st = am_memory_check_array(what, &shapes[i], dtypes[i]);
        if (st != AM_OK) return st;
    }
    return AM_OK;
}
