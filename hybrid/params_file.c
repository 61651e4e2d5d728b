/* MXNet .params files (NDArray lists): reading records V1, V2, V3 and the
 * older ones without a magic number, writing V2 (V3 when a 0-d array needs
 * it).  docs/formats/params.md gives the layout byte by byte. */
#include "../ndarray/ndarray_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "params_file.c reads and writes little-endian data in place");

#define LIST_MAGIC UINT64_C(0x112) /* kMXAPINDArrayListMagic */
#define REC_V1 0xF993FAC8u         /* int64 dims */
#define REC_V2 0xF993FAC9u         /* + storage type */
#define REC_V3 0xF993FACAu         /* V2 under numpy shape semantics */
#define MIN_RECORD 4               /* no record is shorter than its first uint32 */

/* ---- the list and its name index ------------------------------------------------ */

struct am_ndlist {
    int n, cap;
    am_array **arrays; /* owned references */
    char **names;      /* cap entries; NULL in an unnamed list */
    bool named;
    int *slots;        /* open-addressing index of the names: array index or -1 */
    int nslots;        /* a power of two, at least twice n; 0 before the first name */
};

am_ndlist *am_ndlist_create(void)
{
    am_ndlist *l = calloc(1, sizeof(*l));
    if (!l) am_fail(AM_ERR_OOM, "am_ndlist_create: cannot allocate a list");
    return l;
}

void am_ndlist_free(am_ndlist *l)
{
    if (!l) return;
    for (int i = 0; i < l->n; i++) {
        am_release(l->arrays[i]);
        free(l->names[i]);
    }
    free(l->arrays);
    free(l->names);
    free(l->slots);
    free(l);
}

static uint64_t hash_name(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return h;
}

/* The slot holding name, or the empty slot where it would go. */
static int *find_slot(const am_ndlist *l, const char *name)
{
    unsigned mask = (unsigned)l->nslots - 1;
    for (unsigned k = (unsigned)hash_name(name) & mask;; k = (k + 1) & mask) {
        int *s = &l->slots[k];
        if (*s < 0 || strcmp(l->names[*s], name) == 0) return s;
    }
}

/* Rebuilds the index with room for n names; false when out of memory. */
static bool index_reserve(am_ndlist *l, int n)
{
    if (l->nslots >= 2 * n && l->nslots > 0) return true;
    int ns = 16;
    while (ns < 2 * n) ns *= 2;
    int *slots = malloc((size_t)ns * sizeof(*slots));
    if (!slots) return false;
    free(l->slots);
    l->slots = slots;
    l->nslots = ns;
    for (int i = 0; i < ns; i++) slots[i] = -1;
    for (int i = 0; i < l->n; i++)
        if (l->names[i]) *find_slot(l, l->names[i]) = i;
    return true;
}

/* Gives entry i the name (owned by the list from now on, freed on failure).
 * Returns -1 on success, the index of an entry of that name, or -2 when out
 * of memory. */
static int set_name(am_ndlist *l, int i, char *name)
{
    if (!index_reserve(l, i + 1)) {
        free(name);
        return -2;
    }
    int *s = find_slot(l, name);
    if (*s >= 0) {
        free(name);
        return *s;
    }
    l->names[i] = name;
    *s = i;
    return -1;
}

/* Appends a reference the list now owns; false (x not taken) when out of memory. */
static bool append(am_ndlist *l, am_array *x)
{
    if (l->n == l->cap) {
        if (l->cap > INT_MAX / 2) return false;
        int cap = l->cap ? 2 * l->cap : 8;
        am_array **a = realloc(l->arrays, (size_t)cap * sizeof(*a));
        if (!a) return false;
        l->arrays = a;
        char **nm = realloc(l->names, (size_t)cap * sizeof(*nm));
        if (!nm) return false;
        l->names = nm;
        l->cap = cap;
    }
    l->names[l->n] = NULL;
    l->arrays[l->n++] = x;
    return true;
}

/* ---- accessors ------------------------------------------------------------------------ */

am_status am_ndlist_add(am_ndlist *l, const char *name, am_array *x)
{
    if (!l) return am_fail(AM_ERR_ARG, "am_ndlist_add: the list is NULL");
    if (!x) return am_fail_null_input("am_ndlist_add", 3, (am_site){NULL, 0});
    if (!x->storage)
        return am_fail(AM_ERR_SYMBOLIC, "am_ndlist_add: %s%s%s is a symbolic array (it has no "
                       "values to save)", name ? "'" : "", name ? name : "the array",
                       name ? "'" : "");
    if (l->n > 0 && l->named != (name != NULL))
        return am_fail(AM_ERR_ARG, "am_ndlist_add: the list is %s, so %s", l->named ? "named" :
                       "unnamed", l->named ? "every array needs a name" : "no array may have one");
    char *copy = name ? strdup(name) : NULL;
    if ((name && !copy) || !append(l, x)) {
        free(copy);
        return am_fail(AM_ERR_OOM, "am_ndlist_add: out of memory");
    }
    int other = copy ? set_name(l, l->n - 1, copy) : -1;
    if (other != -1) {
        l->n--;
        return other == -2 ? am_fail(AM_ERR_OOM, "am_ndlist_add: out of memory")
                           : am_fail(AM_ERR_ARG, "am_ndlist_add: the list already has an array "
                                     "named '%s' (entry %d)", name, other);
    }
    l->named = name != NULL;
    am_retain(x);
    return AM_OK;
}

int am_ndlist_size(const am_ndlist *l) { return l ? l->n : 0; }

bool am_ndlist_is_named(const am_ndlist *l) { return l && l->named; }

static bool check_index(const am_ndlist *l, int i, const char *fn)
{
    if (!l) am_fail(AM_ERR_ARG, "%s: the list is NULL", fn);
    else if (i < 0 || i >= l->n)
        am_fail(AM_ERR_ARG, "%s: index %d is out of range for a list of %d arrays", fn, i, l->n);
    else return true;
    return false;
}

const char *am_ndlist_name(const am_ndlist *l, int i)
{
    return check_index(l, i, "am_ndlist_name") ? l->names[i] : NULL;
}

am_array *am_ndlist_get(const am_ndlist *l, int i)
{
    return check_index(l, i, "am_ndlist_get") ? l->arrays[i] : NULL;
}

am_array *am_ndlist_find(const am_ndlist *l, const char *name)
{
    if (!l || !name) {
        am_fail(AM_ERR_ARG, "am_ndlist_find: the %s is NULL", l ? "name" : "list");
        return NULL;
    }
    if (!l->named || l->nslots == 0) return NULL;
    int i = *find_slot(l, name);
    return i >= 0 ? l->arrays[i] : NULL;
}

/* ---- reading: where the bytes come from ------------------------------------------------- */

typedef struct src {
    am_byte_src in;      /* the bytes */
    const char *unit;    /* "record" or "name" while reading one, else NULL */
    int index;           /* ... and which */
} src;

/* Fails with "<file>: record 2, shape at byte 40: <what>". */
static am_status bad(const src *s, am_status code, const char *field, uint64_t at,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static am_status bad(const src *s, am_status code, const char *field, uint64_t at,
                     const char *fmt, ...)
{
    char body[400], where[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    if (s->unit) snprintf(where, sizeof(where), "%s %d, %s", s->unit, s->index, field);
    else snprintf(where, sizeof(where), "%s", field);
    return am_fail(code, "%s: %s at byte %llu: %s", s->in.name, where, (unsigned long long)at, body);
}

static uint64_t left(const src *s) { return s->in.size - s->in.pos; }

/* Reads n bytes of field into dst, or fails naming the field when fewer are left. */
static am_status take(src *s, void *dst, uint64_t n, const char *field)
{
    if (n > left(s))
        return bad(s, AM_ERR_FORMAT, field, s->in.pos, "truncated: %llu bytes needed, %llu left",
                   (unsigned long long)n, (unsigned long long)left(s));
    return am_byte_src_read(&s->in, dst, n);
}

static am_status take_i32(src *s, int32_t *v, const char *field) { return take(s, v, 4, field); }
static am_status take_u64(src *s, uint64_t *v, const char *field) { return take(s, v, 8, field); }

/* ---- reading: one array record ------------------------------------------------------------ */

/* What each record version calls a "none" array (an NDArray() handle
 * without shape or values); MXNet ends such a record after the shape. */
static am_status none_array(const src *s, const char *field, uint64_t at, const char *why)
{
    return bad(s, AM_ERR_UNSUPPORTED, field, at, "%s: a \"none\" array (an empty NDArray "
               "handle with no shape or values), which Amber cannot load", why);
}

static am_status read_stype(src *s, uint32_t magic)
{
    uint64_t at = s->in.pos;
    int32_t stype = 0;
    am_status st = take_i32(s, &stype, "storage type");
    if (st != AM_OK || stype == 0) return st;
    if (magic == REC_V3)
        return bad(s, AM_ERR_FORMAT, "storage type", at, "%d in a V3 record (V3 records are "
                   "always dense, type 0)", (int)stype);
    if (stype == -1) return none_array(s, "storage type", at, "-1 (undefined)");
    if (stype == 1 || stype == 2)
        return bad(s, AM_ERR_UNSUPPORTED, "storage type", at, "%s arrays are not supported "
                   "(save the array dense: x.tostype('default'))", stype == 1 ? "row_sparse" :
                   "csr");
    return bad(s, AM_ERR_FORMAT, "storage type", at, "unknown storage type %d (0 dense, "
               "1 row_sparse, 2 csr)", (int)stype);
}

/* Pre-V1 shapes: the record's first uint32 was ndim; uint32 dims follow
 * (from byte *dims_at). */
static am_status read_legacy_shape(src *s, uint32_t ndim, am_shape *shape, uint64_t *dims_at)
{
    uint64_t at = s->in.pos - 4;
    if (ndim == 0) return none_array(s, "magic", at, "0 (a record without a magic and ndim 0)");
    if (ndim > AM_MAX_NDIM)
        return bad(s, AM_ERR_FORMAT, "magic", at, "0x%08X is not a record magic (V1 0xF993FAC8, "
                   "V2 0xF993FAC9, V3 0xF993FACA), nor, as in records older than V1, an ndim "
                   "within Amber's limit of %d", (unsigned)ndim, AM_MAX_NDIM);
    uint32_t dims[AM_MAX_NDIM];
    *dims_at = s->in.pos;
    am_status st = take(s, dims, 4 * (uint64_t)ndim, "dims");
    if (st != AM_OK) return st;
    shape->ndim = (int)ndim;
    for (uint32_t i = 0; i < ndim; i++) shape->dim[i] = dims[i];
    return AM_OK;
}

/* V1, V2 and V3 shapes: int32 ndim, then ndim int64 dims (from byte *dims_at). */
static am_status read_shape(src *s, uint32_t magic, am_shape *shape, uint64_t *dims_at)
{
    uint64_t at = s->in.pos;
    int32_t ndim = 0;
    am_status st = take_i32(s, &ndim, "shape");
    if (st != AM_OK) return st;
    if (ndim == -1 && magic != REC_V1) return none_array(s, "shape", at, "ndim -1 (unknown)");
    if (ndim == 0 && magic != REC_V3)
        return none_array(s, "shape", at, "ndim 0 (before numpy shape semantics, which V3 "
                          "records mark, ndim 0 meant no shape)");
    if (ndim < 0) return bad(s, AM_ERR_FORMAT, "shape", at, "ndim %d is negative", (int)ndim);
    if (ndim > AM_MAX_NDIM)
        return bad(s, AM_ERR_FORMAT, "shape", at, "ndim %d is more than Amber's limit of %d",
                   (int)ndim, AM_MAX_NDIM);
    *dims_at = s->in.pos;
    if ((st = take(s, shape->dim, 8 * (uint64_t)ndim, "dims")) != AM_OK) return st;
    shape->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        at = *dims_at + 8 * (uint64_t)i;
        if (shape->dim[i] == -1 && magic == REC_V3)
            return none_array(s, "dims", at, "a dimension of -1 (unknown)");
        if (shape->dim[i] < 0)
            return bad(s, AM_ERR_FORMAT, "dims", at, "dimension %d is %lld, negative", i,
                       (long long)shape->dim[i]);
    }
    return AM_OK;
}

static am_status read_context(src *s)
{
    uint64_t at = s->in.pos;
    int32_t ctx[2]; /* dev_type, dev_id */
    am_status st = take(s, ctx, sizeof(ctx), "context");
    if (st != AM_OK) return st;
    if (ctx[0] != 1 && ctx[0] != 2 && ctx[0] != 3 && ctx[0] != 5)
        return bad(s, AM_ERR_FORMAT, "context", at, "unknown device type %d (MXNet writes 1 cpu, "
                   "2 gpu, 3 cpu_pinned, 5 cpu_shared)", (int)ctx[0]);
    return AM_OK;
}

static const char *const mxnet_type_names[] = {
    "float32", "float64", "float16", "uint8", "int32", "int8", "int64",
    "bool", "int16", "uint16", "uint32", "uint64", "bfloat16",
};

static am_status read_dtype(src *s, am_dtype *dtype)
{
    uint64_t at = s->in.pos;
    int32_t flag = 0;
    am_status st = take_i32(s, &flag, "dtype");
    if (st != AM_OK || am_dtype_from_mxnet(flag, dtype)) return st;
    if (flag >= 0 && flag < (int32_t)(sizeof(mxnet_type_names) / sizeof(mxnet_type_names[0])))
        return bad(s, AM_ERR_FORMAT, "dtype", at, "%s (MXNet type flag %d) is not supported; "
                   "Amber reads float32, float64, float16, bfloat16, uint8, int8, int32, int64 "
                   "and bool (cast with astype before saving)", mxnet_type_names[flag], (int)flag);
    return bad(s, AM_ERR_FORMAT, "dtype", at, "unknown MXNet type flag %d", (int)flag);
}

/* Bytes of data the shape needs, checked against what is left before any
 * allocation.  A shape with a zero dimension has no data, but its other
 * dimensions must still be sane so that strides never overflow. */
static am_status data_size(const src *s, const am_shape *shape, am_dtype dtype, uint64_t dims_at,
                           uint64_t *out)
{
    char buf[AM_MAX_NDIM * 24 + 4];
    uint64_t n = 0;
    if (!am_shape_check(shape, am_dtype_size(dtype), NULL, &n))
        return bad(s, AM_ERR_FORMAT, "dims", dims_at, "shape %s of %s is too large",
                   am_shape_format(shape, buf, sizeof(buf)), am_dtype_name(dtype));
    if (n > left(s))
        return bad(s, AM_ERR_FORMAT, "data", s->in.pos, "truncated: shape %s of %s needs %llu bytes "
                   "but only %llu are left", am_shape_format(shape, buf, sizeof(buf)),
                   am_dtype_name(dtype), (unsigned long long)n, (unsigned long long)left(s));
    *out = n;
    return AM_OK;
}

/* Reads record s->index into a new array that the caller owns. */
static am_status read_record(src *s, am_array **out)
{
    uint64_t at = s->in.pos, dims_at = 0;
    uint32_t magic = 0;
    am_shape shape = {0};
    am_dtype dtype = AM_DTYPE_FLOAT32;
    uint64_t nbytes = 0;
    am_status st = take(s, &magic, 4, "magic");
    if (st != AM_OK) return st;
    if (magic == REC_V2 || magic == REC_V3) st = read_stype(s, magic);
    if (st == AM_OK) {
        bool legacy = magic != REC_V1 && magic != REC_V2 && magic != REC_V3;
        st = legacy ? read_legacy_shape(s, magic, &shape, &dims_at)
                    : read_shape(s, magic, &shape, &dims_at);
    }
    if (st == AM_OK) st = read_context(s);
    if (st == AM_OK) st = read_dtype(s, &dtype);
    if (st == AM_OK) st = data_size(s, &shape, dtype, dims_at, &nbytes);
    if (st != AM_OK) return st;
    am_array *x = am_array_alloc(shape, dtype, am_cpu());
    if (!x) { /* the allocation's reason (the memory limit) without its "am_...: " prefix */
        const char *why = am_last_error(), *colon = strstr(why, ": ");
        if (colon && !memchr(why, ' ', (size_t)(colon - why))) why = colon + 2;
        return bad(s, AM_ERR_OOM, "data", s->in.pos, "cannot allocate %llu bytes for the record "
                   "that starts at byte %llu (%s)", (unsigned long long)nbytes,
                   (unsigned long long)at, why);
    }
    if ((st = take(s, am_array_ptr(x), nbytes, "data")) != AM_OK) {
        am_release(x);
        return st;
    }
    *out = x;
    return AM_OK;
}

/* ---- reading: the list ------------------------------------------------------------------ */

/* What a file that is not a .params file looks like, for the message. */
static const char *guess_kind(const uint8_t *p)
{
    if (!memcmp(p, "PK\x03\x04", 4) || !memcmp(p, "PK\x05\x06", 4))
        return "; it looks like a zip (.npz) archive, as MXNet 2.x saves parameters";
    if (!memcmp(p, "\x93NUMPY", 6)) return "; it looks like a .npy file (am_npy_load reads it)";
    if (p[0] == '{') return "; it looks like JSON (a symbol file?)";
    return "";
}

static am_status read_header(src *s, uint64_t *count)
{
    uint8_t head[24];
    if (left(s) < 24)
        return bad(s, AM_ERR_FORMAT, "list header", 0, "not a .params file: only %llu bytes "
                   "(the header takes 24)", (unsigned long long)left(s));
    am_status st = take(s, head, 24, "list header");
    if (st != AM_OK) return st;
    uint64_t magic;
    memcpy(&magic, head, 8);
    memcpy(count, head + 16, 8); /* head + 8 is reserved: MXNet writes 0 and ignores it */
    if (magic != LIST_MAGIC)
        return bad(s, AM_ERR_FORMAT, "list header", 0, "not a .params file: magic 0x%llX, "
                   "expected 0x112%s", (unsigned long long)magic, guess_kind(head));
    if (*count > left(s) / MIN_RECORD || *count > INT_MAX)
        return bad(s, AM_ERR_FORMAT, "array count", 16, "%llu arrays cannot fit in the %llu "
                   "bytes that follow", (unsigned long long)*count, (unsigned long long)left(s));
    return AM_OK;
}

/* Reads name s->index into a malloc'd string. */
static am_status read_name(src *s, char **out)
{
    uint64_t at = s->in.pos, len = 0;
    am_status st = take_u64(s, &len, "length");
    if (st != AM_OK) return st;
    if (len > left(s))
        return bad(s, AM_ERR_FORMAT, "length", at, "truncated: %llu bytes of name, %llu left",
                   (unsigned long long)len, (unsigned long long)left(s));
    char *name = malloc((size_t)len + 1);
    if (!name) return am_fail(AM_ERR_OOM, "%s: cannot allocate a name", s->in.name);
    if ((st = take(s, name, len, "text")) == AM_OK && memchr(name, '\0', (size_t)len))
        st = bad(s, AM_ERR_FORMAT, "text", at + 8, "the name holds a NUL byte");
    if (st != AM_OK) {
        free(name);
        return st;
    }
    name[len] = '\0';
    *out = name;
    return AM_OK;
}

static am_status read_names(src *s, am_ndlist *l)
{
    uint64_t at = s->in.pos, count = 0;
    am_status st = take_u64(s, &count, "name count");
    if (st != AM_OK) return st;
    if (count != 0 && count != (uint64_t)l->n)
        return bad(s, AM_ERR_FORMAT, "name count", at, "%llu names for %d arrays (a list has "
                   "no names or one per array)", (unsigned long long)count, l->n);
    s->unit = "name";
    for (int i = 0; i < (int)count && st == AM_OK; i++) {
        char *name = NULL;
        s->index = i;
        at = s->in.pos;
        if ((st = read_name(s, &name)) != AM_OK) break;
        int other = set_name(l, i, name);
        if (other == -2) st = am_fail(AM_ERR_OOM, "%s: cannot index the names", s->in.name);
        else if (other >= 0)
            st = bad(s, AM_ERR_FORMAT, "text", at + 8, "duplicate name '%s' (name %d has it too)",
                     l->names[other], other);
    }
    s->unit = NULL;
    l->named = count > 0;
    if (st == AM_OK && left(s) > 0)
        st = bad(s, AM_ERR_FORMAT, "end", s->in.pos, "%llu bytes follow the names (a .params file "
                 "ends with them)", (unsigned long long)left(s));
    return st;
}

static void *load(am_byte_src *in, void *ctx)
{
    AM_UNUSED(ctx);
    src r = {.in = *in}, *s = &r;
    uint64_t count = 0;
    am_ndlist *l = NULL;
    am_status st = read_header(s, &count);
    if (st == AM_OK && !(l = am_ndlist_create())) return NULL;
    s->unit = "record";
    for (int i = 0; i < (int)count && st == AM_OK; i++) {
        am_array *x = NULL;
        s->index = i;
        if ((st = read_record(s, &x)) == AM_OK && !append(l, x)) {
            am_release(x);
            st = am_fail(AM_ERR_OOM, "%s: cannot grow the list", s->in.name);
        }
    }
    s->unit = NULL;
    if (st == AM_OK) st = read_names(s, l);
    if (st != AM_OK) {
        am_ndlist_free(l);
        return NULL;
    }
    return l;
}

am_ndlist *am_ndlist_load(const char *path)
{
    return am_byte_src_load_file("am_ndlist_load", path, load, NULL);
}

am_ndlist *am_ndlist_load_buffer(const void *data, size_t size)
{
    return am_byte_src_load_buffer("am_ndlist_load_buffer", data, size, load, NULL);
}

/* ---- writing ------------------------------------------------------------------------------ */

static bool put(FILE *f, const void *p, size_t n) { return fwrite(p, 1, n, f) == n; }
static bool put_u32(FILE *f, uint32_t v) { return put(f, &v, 4); }
static bool put_u64(FILE *f, uint64_t v) { return put(f, &v, 8); }

/* A record's data on the host: the array's own memory, or a copy in *copy
 * (freed by the caller) for GPU arrays. */
static am_status host_data(am_array *x, size_t nbytes, const void **data, void **copy)
{
    am_device dev = x->storage->device;
    *data = am_array_ptr(x);
    if (dev.type == AM_DEVICE_CPU) return AM_OK;
    if (!(*copy = malloc(nbytes ? nbytes : 1)))
        return am_fail(AM_ERR_OOM, "cannot allocate %zu bytes to copy an array to the host",
                       nbytes);
    *data = *copy;
    return am_device_ops_for(dev.type)->to_host(dev.id, *copy, am_array_ptr(x), nbytes);
}

/* One record: magic, storage type 0, shape, cpu context, type flag, data.
 * Returns AM_ERR_IO when the stream fails (the caller words the message). */
static am_status write_record(FILE *f, am_array *x, uint32_t magic)
{
    size_t nbytes = (size_t)am_shape_size(&x->shape) * am_dtype_size(x->dtype);
    const void *data = NULL;
    void *copy = NULL;
    am_status st = host_data(x, nbytes, &data, &copy);
    if (st == AM_OK) {
        bool ok = put_u32(f, magic) && put_u32(f, 0) && put_u32(f, (uint32_t)x->shape.ndim) &&
                  put(f, x->shape.dim, 8 * (size_t)x->shape.ndim) && put_u32(f, 1) &&
                  put_u32(f, 0) && put_u32(f, (uint32_t)am_dtype_to_mxnet(x->dtype)) &&
                  put(f, data, nbytes);
        st = ok ? AM_OK : AM_ERR_IO;
    }
    free(copy);
    return st;
}

/* The whole list.  AM_ERR_IO means the stream failed; other codes come with
 * their message. */
static am_status write_list(FILE *f, const am_ndlist *l)
{
    uint32_t magic = REC_V2;
    for (int i = 0; i < l->n; i++)
        if (l->arrays[i]->shape.ndim == 0) magic = REC_V3; /* V2 cannot say "0-d" */
    if (!(put_u64(f, LIST_MAGIC) && put_u64(f, 0) && put_u64(f, (uint64_t)l->n)))
        return AM_ERR_IO;
    for (int i = 0; i < l->n; i++) {
        am_status st = write_record(f, l->arrays[i], magic);
        if (st != AM_OK) return st;
    }
    if (!put_u64(f, l->named ? (uint64_t)l->n : 0)) return AM_ERR_IO;
    for (int i = 0; i < l->n && l->named; i++) {
        size_t len = strlen(l->names[i]);
        if (!(put_u64(f, len) && put(f, l->names[i], len))) return AM_ERR_IO;
    }
    return AM_OK;
}

static am_status write_list_cb(FILE *f, void *ctx)
{
    return write_list(f, ctx);
}

am_status am_ndlist_save(const am_ndlist *l, const char *path)
{
    am_err_ctx c;
    am_status st = AM_OK;
    am_err_push(&c, "am_ndlist_save", (am_site){NULL, 0});
    if (!l || !path) {
        st = am_fail(AM_ERR_ARG, "the %s is NULL", l ? "path" : "list");
        goto out;
    }
    st = am_file_write_atomic(path, write_list_cb, (void *)l);
out:
    am_err_pop(&c);
    return st;
}

am_status am_ndlist_save_buffer(const am_ndlist *l, void **data, size_t *size)
{
    am_err_ctx c;
    am_status st = AM_OK;
    char *buf = NULL;
    size_t len = 0;
    am_err_push(&c, "am_ndlist_save_buffer", (am_site){NULL, 0});
    if (data) *data = NULL;
    if (size) *size = 0;
    if (!l || !data || !size) {
        st = am_fail(AM_ERR_ARG, "the %s is NULL", !l ? "list" : !data ? "data pointer" :
                     "size pointer");
        goto out;
    }
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        st = am_fail(AM_ERR_OOM, "cannot open a memory stream");
        goto out;
    }
    st = write_list(f, l);
    if (fclose(f) != 0 && st == AM_OK) st = AM_ERR_IO;
    if (st == AM_ERR_IO) st = am_fail(AM_ERR_OOM, "out of memory while writing to memory");
    if (st != AM_OK) {
        free(buf);
        goto out;
    }
    *data = buf;
    *size = len;
out:
    am_err_pop(&c);
    return st;
}
