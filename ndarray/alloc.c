/* Host memory and storage: every array's data comes from here (or from the
 * GPU pool, or a registered backend, through the same device-ops table). */
#include "ndarray_impl.h"
#include "device_impl.h"
#include "profiler_impl.h"

#include <pthread.h>

static atomic_llong alloc_count;
static atomic_llong live_bytes, peak_bytes; /* host bytes handed out; the most at once */

/*
 * Blocks are kept for reuse.  glibc serves large ones with mmap, so a fresh
 * one costs a page fault and a zeroed page per 4 KiB the first time it is
 * written, which made an eager add of 16M floats three times slower than its
 * kernel (docs/benchmarks.md), and an eager LSTM step spend 15% of its time
 * faulting in its 0.5 MiB gradient buffers.  Every request of CACHE_MIN bytes
 * or more is rounded to a size class (1/8 steps of its power of two), and a
 * freed block joins its class's free list, up to CACHE_BYTES parked in all;
 * a request of the same class takes it back.  Each block carries its size in
 * a header of AM_ALIGN bytes so that free needs no size; a parked block links
 * to the next one of its class through the header's second word.
 */
#define CACHE_MIN ((size_t)64 << 10)
#define CACHE_BYTES ((size_t)512 << 20)
#define CACHE_CLASSES ((64 - 16) * 8)

_Static_assert(AM_ALIGN >= 2 * sizeof(void *), "the header holds the size and a link");
_Static_assert(CACHE_MIN == (size_t)1 << 16, "class_of counts classes from 2^16");

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static char *free_list[CACHE_CLASSES];
static atomic_llong cache_bytes; /* changed under cache_lock; read without it */

/* Sizes of CACHE_MIN and more round up to 1/8 of their power of two, so
 * that arrays of nearby sizes share blocks. */
static size_t round_size(size_t nbytes)
{
    size_t r = (nbytes + AM_ALIGN - 1) / AM_ALIGN * AM_ALIGN;
    if (r < CACHE_MIN) return r ? r : AM_ALIGN;
    size_t step = (size_t)1 << (63 - __builtin_clzll(r) - 3);
    return (r + step - 1) / step * step;
}

/* The class of a rounded size of CACHE_MIN or more: 8 per power of two. */
static int class_of(size_t size)
{
    int e = 63 - __builtin_clzll(size);
    return (e - 16) * 8 + (int)((size >> (e - 3)) & 7);
}

static char **link_of(char *base) { return (char **)(base + sizeof(size_t)); }

static char *cache_take(size_t size)
{
    int c = class_of(size);
    pthread_mutex_lock(&cache_lock);
    char *base = free_list[c];
    if (base) {
        free_list[c] = *link_of(base);
        atomic_fetch_sub(&cache_bytes, (long long)size);
    }
    pthread_mutex_unlock(&cache_lock);
    return base;
}

static bool cache_put(char *base, size_t size)
{
    int c = class_of(size);
    pthread_mutex_lock(&cache_lock);
    bool room = (size_t)atomic_load(&cache_bytes) + size <= CACHE_BYTES;
    if (room) {
        *link_of(base) = free_list[c];
        free_list[c] = base;
        atomic_fetch_add(&cache_bytes, (long long)size);
    }
    pthread_mutex_unlock(&cache_lock);
    return room;
}

/*
 * The memory limit (ndarray/memlimit.c) bounds live and cached bytes
 * together.  A new block is counted as live before it is allocated, so that
 * threads allocating at once cannot pass the limit together; cached blocks
 * are freed when that makes room.  Taking a cached block moves bytes from
 * cached to live and needs no check.
 */
static bool reserve(size_t size)
{
    int64_t limit = am_memory_limit_bytes();
    if (limit < 0 || size > (uint64_t)limit) return false;
    long long live = atomic_fetch_add(&live_bytes, (long long)size) + (long long)size;
    if (limit == INT64_MAX || live <= limit - atomic_load(&cache_bytes)) return true;
    am_host_trim();
    if (atomic_load(&live_bytes) <= limit) return true;
    atomic_fetch_sub(&live_bytes, (long long)size);
    return false;
}

void *am_host_alloc(size_t nbytes)
{
    if (nbytes > (SIZE_MAX >> 2)) return NULL; /* more than any machine has */
    size_t size = round_size(nbytes);
    char *base = AM_HOST_CACHE && size >= CACHE_MIN ? cache_take(size) : NULL;
    if (base) {
        atomic_fetch_add(&live_bytes, (long long)size);
    } else {
        void *p = NULL;
        if (!reserve(size)) return NULL;
        if (posix_memalign(&p, AM_ALIGN, size + AM_ALIGN) != 0) {
            atomic_fetch_sub(&live_bytes, (long long)size);
            return NULL;
        }
        base = p;
        *(size_t *)base = size;
    }
    atomic_fetch_add(&alloc_count, 1);
    long long live = atomic_load(&live_bytes);
    long long peak = atomic_load(&peak_bytes);
    while (live > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, live)) {}
    if (am_prof_on()) am_prof_counter("host memory", "live bytes", live);
    return base + AM_ALIGN;
}

void am_host_free(void *p)
{
    if (!p) return;
    char *base = (char *)p - AM_ALIGN;
    size_t size = *(size_t *)base;
    long long live = atomic_fetch_sub(&live_bytes, (long long)size) - (long long)size;
    if (am_prof_on()) am_prof_counter("host memory", "live bytes", live);
    if (!AM_HOST_CACHE || size < CACHE_MIN || !cache_put(base, size)) free(base);
}

void am_host_trim(void)
{
    pthread_mutex_lock(&cache_lock);
    for (int c = 0; c < CACHE_CLASSES; c++)
        while (free_list[c]) {
            char *base = free_list[c];
            free_list[c] = *link_of(base);
            free(base);
        }
    atomic_store(&cache_bytes, 0);
    pthread_mutex_unlock(&cache_lock);
}

size_t am_host_block_size(size_t nbytes)
{
    return nbytes > (SIZE_MAX >> 2) ? nbytes : round_size(nbytes);
}

int64_t am_debug_alloc_count(void) { return atomic_load(&alloc_count); }
int64_t am_debug_live_bytes(void) { return atomic_load(&live_bytes); }
int64_t am_host_reserved_bytes(void)
{
    return atomic_load(&live_bytes) + atomic_load(&cache_bytes);
}
int64_t am_debug_peak_bytes(void) { return atomic_load(&peak_bytes); }
void am_debug_peak_reset(void) { atomic_store(&peak_bytes, atomic_load(&live_bytes)); }

static void *cpu_alloc(int id, size_t n) { AM_UNUSED(id); return am_host_alloc(n); }
static void cpu_free(int id, void *p) { AM_UNUSED(id); am_host_free(p); }
static am_status cpu_copy(int id, void *dst, const void *src, size_t n)
{
    AM_UNUSED(id);
    if (n) memcpy(dst, src, n);
    return AM_OK;
}
static am_status cpu_memset0(int id, void *p, size_t n)
{
    AM_UNUSED(id);
    if (n) memset(p, 0, n);
    return AM_OK;
}
static int cpu_count(void) { return 1; }

static const am_device_ops cpu_ops = {
    .alloc = cpu_alloc, .free = cpu_free, .to_host = cpu_copy, .from_host = cpu_copy,
    .copy = cpu_copy, .memset0 = cpu_memset0, .count = cpu_count,
};

/* Registered backends (device_impl.h): type AM_DEVICE_TYPE_COUNT + k is
 * backends[k].  Entries are written once, under backend_lock, before
 * n_backends counts them, so lookups need no lock. */
static pthread_mutex_t backend_lock = PTHREAD_MUTEX_INITIALIZER;
static const am_device_backend *backends[AM_MAX_DEVICE_BACKENDS];
static atomic_int n_backends;

am_status am_device_register(const am_device_backend *b, am_device_type *type)
{
    if (!b || !type || !b->name || !b->kernel || !b->ops || !b->ops->alloc || !b->ops->free ||
        !b->ops->to_host || !b->ops->from_host || !b->ops->copy || !b->ops->memset0 ||
        !b->ops->count)
        return am_fail(AM_ERR_ARG, "am_device_register: %s", !b || !type ? "an argument is NULL"
                       : "the backend needs a name, a kernel table and every memory op");
    am_status st = AM_OK;
    pthread_mutex_lock(&backend_lock);
    int n = atomic_load(&n_backends), k = 0;
    while (k < n && backends[k] != b) k++;
    if (k == n && n == AM_MAX_DEVICE_BACKENDS) {
        st = am_fail(AM_ERR_ARG, "am_device_register: %d backends are registered already; "
                     "'%s' is one too many", n, b->name);
    } else if (k == n) {
        backends[n] = b;
        atomic_store(&n_backends, n + 1);
    }
    pthread_mutex_unlock(&backend_lock);
    if (st == AM_OK) *type = (am_device_type)(AM_DEVICE_TYPE_COUNT + k);
    return st;
}

const am_device_backend *am_device_backend_for(am_device_type t)
{
    int k = (int)t - AM_DEVICE_TYPE_COUNT;
    return k >= 0 && k < atomic_load(&n_backends) ? backends[k] : NULL;
}

const char *am_device_type_name(am_device_type t)
{
    const am_device_backend *b = am_device_backend_for(t);
    return t == AM_DEVICE_CPU ? "cpu" : t == AM_DEVICE_GPU ? "gpu" : b ? b->name : "unknown";
}

bool am_device_supports_op(am_device dev, const am_op_def *op)
{
    return op && am_op_kernel(op, dev) != NULL;
}

const am_device_ops *am_device_ops_for(am_device_type t)
{
    switch (t) {
    case AM_DEVICE_CPU: return &cpu_ops;
    case AM_DEVICE_GPU: return am_gpu_device_ops();
    default: {
        const am_device_backend *b = am_device_backend_for(t);
        return b ? b->ops : NULL;
    }
    }
}

am_storage *am_storage_create(size_t nbytes, am_device dev)
{
    const am_device_ops *ops = am_device_ops_for(dev.type);
    char name[32];
    if (!ops || dev.id < 0 || dev.id >= ops->count()) {
        am_fail(AM_ERR_DEVICE, "device %s is not available", am_device_format(dev, name, sizeof(name)));
        return NULL;
    }
    if (dev.type == AM_DEVICE_CPU && am_memory_check(nbytes, "allocation", NULL) != AM_OK)
        return NULL;
    am_storage *s = calloc(1, sizeof(*s));
    if (!s) goto out_oom;
    s->data = ops->alloc(dev.id, nbytes);
    if (!s->data) goto out_free;
    s->nbytes = nbytes;
    s->device = dev;
    atomic_init(&s->refcount, 1);
    return s;

out_free:
    free(s);
out_oom:
    am_fail(AM_ERR_OOM, "cannot allocate %zu bytes on %s", nbytes,
            am_device_format(dev, name, sizeof(name)));
    return NULL;
}

void am_storage_retain(am_storage *s)
{
    AM_ASSERT(atomic_load(&s->refcount) > 0);
    atomic_fetch_add(&s->refcount, 1);
}

void am_storage_release(am_storage *s)
{
    if (!s) return;
    int prev = atomic_fetch_sub(&s->refcount, 1);
    AM_ASSERT(prev > 0);
    if (prev == 1) {
        am_device_ops_for(s->device.type)->free(s->device.id, s->data);
        free(s);
    }
}
