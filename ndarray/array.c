/* Arrays: reference counting, scopes, views, properties and element access. */
#include "ndarray_impl.h"

#include <math.h>

static atomic_llong live_arrays;

/* ---- scopes -------------------------------------------------------------- */

typedef struct scope {
    am_array **items;
    size_t n, cap;
} scope;

static _Thread_local scope *scopes;
static _Thread_local int n_scopes, cap_scopes;

static bool scope_push(scope *s, am_array *x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        am_array **items = realloc(s->items, cap * sizeof(*items));
        if (!items) return false;
        s->items = items;
        s->cap = cap;
    }
    s->items[s->n++] = x;
    return true;
}

void am_scope_begin(void)
{
    if (n_scopes == cap_scopes) {
        int cap = cap_scopes ? cap_scopes * 2 : 8;
        scope *s = realloc(scopes, (size_t)cap * sizeof(*s));
        AM_ASSERT(s != NULL);
        scopes = s;
        cap_scopes = cap;
    }
    scopes[n_scopes++] = (scope){0};
}

am_status am_scope_end(void)
{
    if (n_scopes == 0) return am_fail(AM_ERR_ARG, "am_scope_end: no scope is open");
    scope *s = &scopes[--n_scopes];
    for (size_t i = s->n; i-- > 0;) am_release(s->items[i]);
    free(s->items);
    if (n_scopes == 0) {
        free(scopes);
        scopes = NULL;
        cap_scopes = 0;
    }
    return AM_OK;
}

am_array *am_scope_own(am_array *x)
{
    if (x && n_scopes > 0 && !scope_push(&scopes[n_scopes - 1], x)) {
        am_release(x);
        am_fail(AM_ERR_OOM, "cannot grow the scope");
        return NULL;
    }
    return x;
}

am_array *am_keep(am_array *x)
{
    if (!x || n_scopes == 0) return x;
    scope *top = &scopes[n_scopes - 1];
    bool found = false;
    for (size_t i = top->n; i-- > 0;)
        if (top->items[i] == x) {
            top->items[i] = top->items[--top->n];
            found = true;
            break;
        }
    if (!found) am_retain(x);
    if (n_scopes >= 2 && !scope_push(&scopes[n_scopes - 2], x)) {
        am_release(x);
        am_fail(AM_ERR_OOM, "am_keep: cannot grow the enclosing scope");
        return NULL;
    }
    return x;
}

/* ---- lifetime ----------------------------------------------------------- */

am_array *am_retain(am_array *x)
{
    if (!x) return NULL;
    AM_ASSERT(atomic_load(&x->refcount) > 0);
    atomic_fetch_add(&x->refcount, 1);
    return x;
}

void am_release(am_array *x)
{
    if (!x) return;
    int prev = atomic_fetch_sub(&x->refcount, 1);
    AM_ASSERT(prev > 0);
    if (prev != 1) return;
    if (x->grad_fn) am_tape_node_release(x->grad_fn);
    am_release(x->grad);
    if (x->node) am_symbol_hooks_get()->node_release(x->node);
    am_storage_release(x->storage);
    free(x);
    atomic_fetch_sub(&live_arrays, 1);
}

int64_t am_debug_live_arrays(void) { return atomic_load(&live_arrays); }
void am_debug_count_array(int delta) { atomic_fetch_add(&live_arrays, delta); }

static bool shape_ok(am_shape s, am_dtype dtype, size_t *nbytes)
{
    if (s.ndim < 0 || s.ndim > AM_MAX_NDIM) {
        am_fail(AM_ERR_SHAPE, "ndim %d is outside [0, %d]", s.ndim, AM_MAX_NDIM);
        return false;
    }
    if ((unsigned)dtype >= AM_DTYPE_COUNT) {
        am_fail(AM_ERR_DTYPE, "unknown dtype %d", (int)dtype);
        return false;
    }
    uint64_t n = 0;
    if (!am_shape_check(&s, am_dtype_size(dtype), NULL, &n)) {
        char buf[AM_MAX_NDIM * 24 + 4];
        am_shape_format(&s, buf, sizeof(buf));
        for (int i = 0; i < s.ndim; i++)
            if (s.dim[i] < 0) {
                am_fail(AM_ERR_SHAPE, "invalid shape %s: dimension %d is negative", buf, i);
                return false;
            }
        am_fail(AM_ERR_SHAPE, "shape %s of %s is too large (its nonzero dimensions need 2^62 "
                "bytes or more)", buf, am_dtype_name(dtype));
        return false;
    }
    *nbytes = (size_t)n;
    return true;
}

static am_array *array_new(am_shape shape, am_dtype dtype)
{
    am_array *x = calloc(1, sizeof(*x));
    if (!x) {
        am_fail(AM_ERR_OOM, "cannot allocate an array");
        return NULL;
    }
    atomic_init(&x->refcount, 1);
    x->dtype = dtype;
    x->shape = shape;
    atomic_fetch_add(&live_arrays, 1);
    return x;
}

am_array *am_array_alloc(am_shape shape, am_dtype dtype, am_device dev)
{
    size_t nbytes;
    if (!shape_ok(shape, dtype, &nbytes)) return NULL;
    if (dev.type == AM_DEVICE_CPU && am_memory_check_array("array", &shape, dtype) != AM_OK)
        return NULL;
    am_storage *st = am_storage_create(nbytes, dev);
    if (!st) return NULL;
    am_array *x = array_new(shape, dtype);
    if (!x) {
        am_storage_release(st);
        return NULL;
    }
    x->storage = st;
    return x;
}

am_array *am_array_new_view(am_array *base, am_shape shape, am_dtype dtype, size_t offset)
{
    AM_ASSERT(base->storage != NULL);
    am_array *x = array_new(shape, dtype);
    if (!x) return NULL;
    am_storage_retain(base->storage);
    x->storage = base->storage;
    x->offset = base->offset + offset;
    return x;
}

/* ---- views for kernels --------------------------------------------------- */

am_view am_view_make(void *data, am_dtype dtype, const am_shape *shape, am_device dev)
{
    am_view v = {.data = data, .dtype = dtype, .ndim = shape->ndim, .device = dev};
    int64_t stride = 1;
    for (int i = shape->ndim; i-- > 0;) {
        v.dim[i] = shape->dim[i];
        v.strides[i] = stride;
        /* Arrays pass am_shape_check, so this cannot overflow; a shape that
         * slipped past it gets a saturated stride, never undefined behaviour. */
        if (__builtin_mul_overflow(stride, shape->dim[i], &stride))
            stride = INT64_MAX;
    }
    return v;
}

am_view am_array_view(const am_array *x)
{
    return am_view_make(x->storage ? am_array_ptr(x) : NULL, x->dtype, &x->shape,
                        x->storage ? x->storage->device : am_cpu());
}

int64_t am_view_size(const am_view *v)
{
    int64_t n = 1;
    for (int i = 0; i < v->ndim; i++)
        if (v->dim[i] == 0) return 0;
    for (int i = 0; i < v->ndim; i++)
        if (__builtin_mul_overflow(n, v->dim[i], &n)) return -1; /* see am_view_make */
    return n;
}

double am_view_get(const am_view *v, int64_t i)
{
    switch (v->dtype) {
    case AM_DTYPE_FLOAT32: return ((const float *)v->data)[i];
    case AM_DTYPE_FLOAT64: return ((const double *)v->data)[i];
    case AM_DTYPE_INT32: return ((const int32_t *)v->data)[i];
    case AM_DTYPE_INT64: return (double)((const int64_t *)v->data)[i];
    case AM_DTYPE_UINT8: return ((const uint8_t *)v->data)[i];
    case AM_DTYPE_INT8: return ((const int8_t *)v->data)[i];
    case AM_DTYPE_BOOL: return ((const uint8_t *)v->data)[i] != 0;
    case AM_DTYPE_FLOAT16: return am_half_to_float(((const uint16_t *)v->data)[i]);
    case AM_DTYPE_BFLOAT16: return am_bfloat16_to_float(((const uint16_t *)v->data)[i]);
    default: return NAN;
    }
}

void am_view_set(const am_view *v, int64_t i, double x)
{
    switch (v->dtype) {
    case AM_DTYPE_FLOAT32: ((float *)v->data)[i] = (float)x; break;
    case AM_DTYPE_FLOAT64: ((double *)v->data)[i] = x; break;
    case AM_DTYPE_INT32: ((int32_t *)v->data)[i] = am_float_to_i32(x); break;
    case AM_DTYPE_INT64: ((int64_t *)v->data)[i] = am_float_to_i64(x); break;
    case AM_DTYPE_UINT8: ((uint8_t *)v->data)[i] = am_float_to_u8(x); break;
    case AM_DTYPE_INT8: ((int8_t *)v->data)[i] = am_float_to_i8(x); break;
    case AM_DTYPE_BOOL: ((uint8_t *)v->data)[i] = x != 0; break;
    case AM_DTYPE_FLOAT16: ((uint16_t *)v->data)[i] = am_float_to_half((float)x); break;
    case AM_DTYPE_BFLOAT16: ((uint16_t *)v->data)[i] = am_float_to_bfloat16((float)x); break;
    default: break;
    }
}

/* ---- properties ---------------------------------------------------------- */

am_shape am_array_shape(const am_array *x)
{
    return x ? x->shape : (am_shape){.ndim = -1};
}
int am_array_ndim(const am_array *x) { return x ? x->shape.ndim : -1; }
int64_t am_array_size(const am_array *x) { return x ? am_shape_size(&x->shape) : -1; }
am_dtype am_array_dtype(const am_array *x) { return x ? x->dtype : AM_DTYPE_COUNT; }

int64_t am_array_dim(const am_array *x, int i)
{
    int axis;
    if (!x || !am_axis_norm(i, x->shape.ndim, &axis)) return -1;
    return x->shape.dim[axis];
}

am_device am_array_device(const am_array *x)
{
    return x && x->storage ? x->storage->device : am_cpu();
}

bool am_array_is_view(const am_array *x)
{
    return x && x->storage && atomic_load(&x->storage->refcount) > 1;
}

bool am_array_is_symbolic(const am_array *x) { return x && !x->storage && x->node; }

/* Common checks before reading values on the host. */
static bool readable(const am_array *x, const char *what)
{
    if (!x) {
        if (am_last_status() == AM_OK) am_fail(AM_ERR_ARG, "%s: array is NULL", what);
        return false;
    }
    if (!x->storage) {
        am_fail(AM_ERR_SYMBOLIC, "%s: cannot read the values of a symbolic array while "
                "tracing; this block cannot be hybridized as written, keep it eager", what);
        return false;
    }
    return true;
}

void *am_array_data(am_array *x)
{
    if (!readable(x, "am_array_data")) return NULL;
    if (x->storage->device.type != AM_DEVICE_CPU) {
        am_fail(AM_ERR_DEVICE, "am_array_data: array is on the GPU; copy it with am_to_device first");
        return NULL;
    }
    return am_array_ptr(x);
}

double am_item_at(am_array *x, int64_t i, am_site at)
{
    am_err_ctx c;
    double v = NAN;
    am_err_push(&c, NULL, at); /* readable() names am_item */
    if (!readable(x, "am_item")) goto out;
    int64_t n = am_shape_size(&x->shape);
    if (i < 0 || i >= n) {
        am_fail(AM_ERR_ARG, "am_item: index %lld is out of range for %lld elements", (long long)i,
                (long long)n);
        goto out;
    }
    size_t esize = am_dtype_size(x->dtype);
    uint64_t tmp;
    const am_device_ops *ops = am_device_ops_for(x->storage->device.type);
    if (ops->to_host(x->storage->device.id, &tmp, (char *)am_array_ptr(x) + (size_t)i * esize,
                     esize) != AM_OK)
        goto out;
    am_view one = {.data = &tmp, .dtype = x->dtype, .ndim = 1, .dim = {1}, .strides = {1}};
    v = am_view_get(&one, 0);
out:
    am_err_pop(&c);
    return v;
}

am_status am_array_fill(am_array *x, double value)
{
    if (!readable(x, "am_array_fill")) return am_last_status();
    int64_t n = am_shape_size(&x->shape);
    if (x->storage->device.type != AM_DEVICE_CPU) {
        /* Fill on the host and copy: simple, and fill is not a hot path. */
        size_t nbytes = (size_t)n * am_dtype_size(x->dtype);
        void *tmp = am_host_alloc(nbytes);
        if (!tmp) return am_fail(AM_ERR_OOM, "am_array_fill: cannot allocate %zu bytes", nbytes);
        am_view v = am_view_make(tmp, x->dtype, &x->shape, am_cpu());
        for (int64_t i = 0; i < n; i++) am_view_set(&v, i, value);
        am_status st = am_device_ops_for(x->storage->device.type)
                           ->from_host(x->storage->device.id, am_array_ptr(x), tmp, nbytes);
        am_host_free(tmp);
        return st;
    }
    if (am_dtype_compute(x->dtype) != x->dtype) { /* float16, bfloat16, bool */
        am_view v = am_view_make(am_array_ptr(x), x->dtype, &x->shape, am_cpu());
        for (int64_t i = 0; i < n; i++) am_view_set(&v, i, value);
        return AM_OK;
    }
    AM_DTYPE_SWITCH(x->dtype, T, {
        T *p = am_array_ptr(x);
        T val = (T)value;
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) p[i] = val;
    });
    return AM_OK;
}

am_array *am_from_buffer(const void *data, am_shape shape, am_dtype dtype)
{
    am_array *x = am_array_alloc(shape, dtype, am_cpu());
    if (!x) return NULL;
    size_t nbytes = (size_t)am_shape_size(&shape) * am_dtype_size(dtype);
    if (nbytes && !data) {
        am_release(x);
        am_fail(AM_ERR_ARG, "am_from_buffer: data is NULL");
        return NULL;
    }
    if (nbytes) memcpy(am_array_ptr(x), data, nbytes);
    return am_scope_own(x);
}

am_array *am_empty(am_shape shape, am_dtype dtype)
{
    return am_scope_own(am_array_alloc(shape, dtype, am_cpu()));
}

am_array *am_to_device_at(am_array *x, am_device dev, am_site at)
{
    am_err_ctx c;
    am_array *y = NULL;
    am_err_push(&c, "am_to_device", at);
    if (!x) {
        am_err_pop(&c);
        am_fail_null_input("am_to_device", 0, at);
        return NULL;
    }
    if (!readable(x, "am_to_device")) goto out;
    y = am_array_alloc(x->shape, x->dtype, dev);
    if (!y) goto out;
    size_t nbytes = (size_t)am_shape_size(&x->shape) * am_dtype_size(x->dtype);
    am_device src = x->storage->device;
    am_status st;
    if (src.type == AM_DEVICE_CPU)
        st = am_device_ops_for(dev.type)->from_host(dev.id, am_array_ptr(y), am_array_ptr(x), nbytes);
    else if (dev.type == AM_DEVICE_CPU)
        st = am_device_ops_for(src.type)->to_host(src.id, am_array_ptr(y), am_array_ptr(x), nbytes);
    else
        st = am_device_ops_for(src.type)->copy(src.id, am_array_ptr(y), am_array_ptr(x), nbytes);
    if (st != AM_OK) {
        am_release(y);
        y = NULL;
    }
    y = am_scope_own(y);
out:
    am_err_pop(&c);
    return y;
}

/* ---- the hooks symbol/ installs ------------------------------------------------------ */

static _Atomic(const am_symbol_hooks *) symbol_hooks;

void am_symbol_hooks_install(const am_symbol_hooks *h)
{
    atomic_store_explicit(&symbol_hooks, h, memory_order_release);
}

const am_symbol_hooks *am_symbol_hooks_get(void)
{
    const am_symbol_hooks *h = atomic_load_explicit(&symbol_hooks, memory_order_acquire);
    AM_ASSERT(h != NULL);
    return h;
}
