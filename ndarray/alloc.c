/* Host memory and storage: every array's data comes from here (or from the
 * GPU pool through the same device-ops table). */
#include "ndarray_impl.h"
#include "device_impl.h"

static atomic_llong alloc_count;

void *am_host_alloc(size_t nbytes)
{
    void *p = NULL;
    size_t rounded = (nbytes + AM_ALIGN - 1) / AM_ALIGN * AM_ALIGN;
    if (posix_memalign(&p, AM_ALIGN, rounded ? rounded : AM_ALIGN) != 0) return NULL;
    atomic_fetch_add(&alloc_count, 1);
    return p;
}

void am_host_free(void *p) { free(p); }

int64_t am_debug_alloc_count(void) { return atomic_load(&alloc_count); }

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

const am_device_ops *am_device_ops_for(am_device_type t)
{
    switch (t) {
    case AM_DEVICE_CPU: return &cpu_ops;
    case AM_DEVICE_GPU: return am_gpu_device_ops();
    default: return NULL;
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
