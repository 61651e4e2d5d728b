/* NumPy .npy files: reading format versions 1.0, 2.0 and 3.0 and writing
 * version 1.0 byte for byte as numpy.save does.  docs/formats/npy.md
 * describes the layout. */
#include "ndarray_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "npy.c reads and writes little-endian data in place");

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN 64          /* numpy pads the header to this many bytes */
#define NPY_MAX_HEADER 65536  /* longer headers are refused as garbled */
#define NPY_GROWTH_DIGITS 21  /* numpy leaves room to grow shape[0] to this many digits */

/* ---- the header: a Python dict literal ----------------------------------- */

typedef struct npy_header {
    char descr[32];
    bool fortran;
    am_shape shape;
    bool has_descr, has_fortran, has_shape;
} npy_header;

typedef struct lexer {
    const char *p, *start, *end;
    const char *name;
} lexer;

static void skip_ws(lexer *l)
{
    while (l->p < l->end && (*l->p == ' ' || *l->p == '\t' || *l->p == '\n' || *l->p == '\r'))
        l->p++;
}

/* Reports a syntax error with the position and the header text. */
static am_status garbled(const lexer *l, const char *what)
{
    char text[96];
    size_t k = 0;
    for (const char *q = l->start; q < l->end && k + 5 < sizeof(text); q++) {
        unsigned char ch = (unsigned char)*q;
        if (ch >= 32 && ch < 127) text[k++] = (char)ch;
        else k += (size_t)snprintf(text + k, sizeof(text) - k, "\\x%02x", ch);
    }
    text[k] = '\0';
    return am_fail(AM_ERR_FORMAT, "%s: garbled header at byte %d: %s in \"%s%s\"", l->name,
                   (int)(l->p - l->start), what, text, k + 5 >= sizeof(text) ? "..." : "");
}

static bool accept(lexer *l, char c)
{
    skip_ws(l);
    if (l->p < l->end && *l->p == c) {
        l->p++;
        return true;
    }
    return false;
}

static am_status lex_string(lexer *l, char *out, size_t cap)
{
    skip_ws(l);
    if (l->p >= l->end || (*l->p != '\'' && *l->p != '"')) return garbled(l, "expected a string");
    char q = *l->p++;
    size_t n = 0;
    for (; l->p < l->end && *l->p != q; l->p++) {
        if (*l->p == '\\' || *l->p == '\n') return garbled(l, "unsupported character in a string");
        if (n + 1 >= cap) return garbled(l, "string too long");
        out[n++] = *l->p;
    }
    if (l->p >= l->end) return garbled(l, "unterminated string");
    l->p++;
    out[n] = '\0';
    return AM_OK;
}

static am_status lex_bool(lexer *l, bool *out)
{
    skip_ws(l);
    size_t left = (size_t)(l->end - l->p);
    if (left >= 4 && memcmp(l->p, "True", 4) == 0) *out = true, l->p += 4;
    else if (left >= 5 && memcmp(l->p, "False", 5) == 0) *out = false, l->p += 5;
    else return garbled(l, "expected True or False");
    return AM_OK;
}

static am_status lex_dim(lexer *l, int64_t *out)
{
    skip_ws(l);
    if (l->p >= l->end || *l->p < '0' || *l->p > '9') return garbled(l, "expected a dimension");
    int64_t v = 0;
    for (; l->p < l->end && *l->p >= '0' && *l->p <= '9'; l->p++) {
        if (v > (INT64_MAX - 9) / 10) return garbled(l, "dimension too large");
        v = v * 10 + (*l->p - '0');
    }
    if (l->p < l->end && (*l->p == 'L' || *l->p == 'l')) l->p++; /* Python 2 long */
    *out = v;
    return AM_OK;
}

/* "()", "(3,)", "(2, 3)"; a missing trailing comma on one item is tolerated. */
static am_status lex_shape(lexer *l, am_shape *out)
{
    int64_t dims[AM_MAX_NDIM];
    int n = 0;
    if (!accept(l, '(')) return garbled(l, "expected a shape tuple");
    while (!accept(l, ')')) {
        int64_t v = 0;
        am_status st = lex_dim(l, &v);
        if (st != AM_OK) return st;
        if (n == AM_MAX_NDIM)
            return am_fail(AM_ERR_FORMAT, "%s: shape has more than %d dimensions (Amber's limit)",
                           l->name, AM_MAX_NDIM);
        dims[n++] = v;
        if (!accept(l, ',')) {
            if (!accept(l, ')')) return garbled(l, "expected ',' or ')' in the shape");
            break;
        }
    }
    *out = am_shape_make(n, dims);
    return AM_OK;
}

static am_status lex_entry(lexer *l, npy_header *h)
{
    char key[32];
    am_status st = lex_string(l, key, sizeof(key));
    if (st != AM_OK) return st;
    if (!accept(l, ':')) return garbled(l, "expected ':'");
    bool *seen = strcmp(key, "descr") == 0          ? &h->has_descr
                 : strcmp(key, "fortran_order") == 0 ? &h->has_fortran
                 : strcmp(key, "shape") == 0         ? &h->has_shape
                                                     : NULL;
    if (!seen) return am_fail(AM_ERR_FORMAT, "%s: unexpected key '%s' in the header", l->name, key);
    if (*seen)
        return am_fail(AM_ERR_FORMAT, "%s: key '%s' appears twice in the header", l->name, key);
    *seen = true;
    if (seen == &h->has_shape) return lex_shape(l, &h->shape);
    if (seen == &h->has_fortran) return lex_bool(l, &h->fortran);
    skip_ws(l);
    if (l->p < l->end && *l->p == '[')
        return am_fail(AM_ERR_FORMAT, "%s: structured dtypes are not supported", l->name);
    return lex_string(l, h->descr, sizeof(h->descr));
}

static am_status parse_header(const char *text, size_t n, const char *name, npy_header *h)
{
    lexer l = {.p = text, .start = text, .end = text + n, .name = name};
    memset(h, 0, sizeof(*h));
    if (!accept(&l, '{')) return garbled(&l, "expected '{'");
    while (!accept(&l, '}')) {
        am_status st = lex_entry(&l, h);
        if (st != AM_OK) return st;
        if (!accept(&l, ',')) {
            if (!accept(&l, '}')) return garbled(&l, "expected ',' or '}'");
            break;
        }
    }
    skip_ws(&l);
    if (l.p != l.end) return garbled(&l, "unexpected text after '}'");
    const char *missing = !h->has_descr ? "descr" : !h->has_fortran ? "fortran_order"
                          : !h->has_shape ? "shape" : NULL;
    if (missing) return am_fail(AM_ERR_FORMAT, "%s: the header lacks '%s'", name, missing);
    return AM_OK;
}

/* ---- dtypes ------------------------------------------------------------------- */

static const struct {
    const char *code;
    am_dtype dtype;
    const char *descr; /* as numpy writes it */
} npy_types[] = {
    {"f4", AM_DTYPE_FLOAT32, "<f4"}, {"f8", AM_DTYPE_FLOAT64, "<f8"},
    {"i4", AM_DTYPE_INT32, "<i4"},   {"i8", AM_DTYPE_INT64, "<i8"},
    {"u1", AM_DTYPE_UINT8, "|u1"},   {"b1", AM_DTYPE_BOOL, "|b1"},
    {"f2", AM_DTYPE_FLOAT16, "<f2"}, {"i1", AM_DTYPE_INT8, "|i1"},
};

static am_status dtype_from_descr(const char *raw, const char *name, am_dtype *out)
{
    char descr[64];
    const char *code = am_escape_text(raw, descr, sizeof(descr));
    char order = '=';
    if (*code == '<' || *code == '>' || *code == '=' || *code == '|') order = *code++;
    for (size_t i = 0; i < sizeof(npy_types) / sizeof(npy_types[0]); i++) {
        if (strcmp(code, npy_types[i].code) != 0) continue;
        if (order == '>' && am_dtype_size(npy_types[i].dtype) > 1)
            return am_fail(AM_ERR_FORMAT, "%s: big-endian dtype '%s' is not supported (save it "
                           "little-endian, e.g. a.astype('<%s'))", name, descr, code);
        *out = npy_types[i].dtype;
        return AM_OK;
    }
    return am_fail(AM_ERR_FORMAT, "%s: unsupported dtype '%s' (Amber reads <f4 <f8 <f2 <i4 <i8 "
                   "|u1 |i1 and |b1)", name, descr);
}

/* ---- loading ------------------------------------------------------------------ */

/* Reads the magic, version and header length; leaves s at the header. */
static am_status read_prefix(am_byte_src *s, uint32_t *hlen)
{
    uint8_t p[12];
    if (s->size < 10)
        return am_fail(AM_ERR_FORMAT, "%s: not a .npy file (only %llu bytes)", s->name,
                       (unsigned long long)s->size);
    am_status st = am_byte_src_read(s, p, 8);
    if (st != AM_OK) return st;
    if (memcmp(p, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return am_fail(AM_ERR_FORMAT, "%s: not a .npy file (bad magic %02x %02x %02x %02x %02x "
                       "%02x, expected 93 4e 55 4d 50 59 \"\\x93NUMPY\")%s", s->name, p[0], p[1],
                       p[2], p[3], p[4], p[5],
                       p[0] == 'P' && p[1] == 'K' ? "; it looks like a zip (.npz) archive" : "");
    int major = p[6], minor = p[7];
    if ((major < 1 || major > 3) || minor != 0)
        return am_fail(AM_ERR_FORMAT, "%s: unsupported .npy format version %d.%d (Amber reads "
                       "1.0, 2.0 and 3.0)", s->name, major, minor);
    int nlen = major == 1 ? 2 : 4;
    if (s->size - s->pos < (uint64_t)nlen)
        return am_fail(AM_ERR_FORMAT, "%s: truncated in the header length", s->name);
    if ((st = am_byte_src_read(s, p, (uint64_t)nlen)) != AM_OK) return st;
    *hlen = nlen == 2 ? (uint32_t)(p[0] | p[1] << 8)
                      : (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                            (uint32_t)p[3] << 24;
    if (*hlen > NPY_MAX_HEADER)
        return am_fail(AM_ERR_FORMAT, "%s: header of %u bytes is too long (at most %d)", s->name,
                       *hlen, NPY_MAX_HEADER);
    if (*hlen > s->size - s->pos)
        return am_fail(AM_ERR_FORMAT, "%s: truncated: the header says %u bytes but only %llu "
                       "follow", s->name, *hlen, (unsigned long long)(s->size - s->pos));
    return AM_OK;
}

static am_status read_header(am_byte_src *s, npy_header *h, am_dtype *dtype)
{
    uint32_t hlen = 0;
    am_status st = read_prefix(s, &hlen);
    if (st != AM_OK) return st;
    char *text = malloc(hlen + 1u);
    if (!text) return am_fail(AM_ERR_OOM, "%s: cannot allocate the header", s->name);
    if ((st = am_byte_src_read(s, text, hlen)) == AM_OK) {
        text[hlen] = '\0';
        if (memchr(text, '\0', hlen))
            st = am_fail(AM_ERR_FORMAT, "%s: garbled header: it holds a NUL byte", s->name);
        else
            st = parse_header(text, hlen, s->name, h);
    }
    free(text);
    if (st != AM_OK) return st;
    if ((st = dtype_from_descr(h->descr, s->name, dtype)) != AM_OK) return st;
    if (h->fortran)
        return am_fail(AM_ERR_FORMAT, "%s: fortran_order True is not supported (save a C-ordered "
                       "array, e.g. numpy.ascontiguousarray(a))", s->name);
    return AM_OK;
}

/* Checks that the data fits in what follows the header before allocating. */
static am_status check_size(const am_byte_src *s, const npy_header *h, am_dtype dtype,
                            uint64_t *nbytes)
{
    char buf[160];
    uint64_t n = 0;
    if (!am_shape_check(&h->shape, am_dtype_size(dtype), NULL, &n))
        return am_fail(AM_ERR_FORMAT, "%s: shape %s of %s is too large (its nonzero dimensions "
                       "need 2^62 bytes or more)", s->name,
                       am_shape_format(&h->shape, buf, sizeof(buf)), h->descr);
    if (n > s->size - s->pos)
        return am_fail(AM_ERR_FORMAT, "%s: truncated: shape %s of %s needs %llu bytes of data "
                       "but only %llu follow the header", s->name,
                       am_shape_format(&h->shape, buf, sizeof(buf)), h->descr,
                       (unsigned long long)n, (unsigned long long)(s->size - s->pos));
    *nbytes = n;
    return AM_OK;
}

static void *load(am_byte_src *s, void *ctx)
{
    AM_UNUSED(ctx);
    npy_header h;
    am_dtype dtype = AM_DTYPE_FLOAT32;
    uint64_t nbytes = 0;
    if (read_header(s, &h, &dtype) != AM_OK) return NULL;
    if (check_size(s, &h, dtype, &nbytes) != AM_OK) return NULL;
    am_array *x = am_array_alloc(h.shape, dtype, am_cpu());
    if (!x) return NULL;
    if (am_byte_src_read(s, am_array_ptr(x), nbytes) != AM_OK) {
        am_release(x);
        return NULL;
    }
    return am_scope_own(x);
}

am_array *am_npy_load(const char *path)
{
    return am_byte_src_load_file("am_npy_load", path, load, NULL);
}

am_array *am_npy_load_buffer(const void *data, size_t size)
{
    return am_byte_src_load_buffer("am_npy_load_buffer", data, size, load, NULL);
}

/* ---- saving ---------------------------------------------------------------------- */

/* numpy.save's version 1.0 header: the dict with keys in sorted order, room
 * for shape[0] to grow, then spaces and a newline up to a multiple of 64. */
static size_t format_header(const am_array *x, char *buf, size_t cap)
{
    char shape[AM_MAX_NDIM * 24 + 4];
    am_shape_format(&x->shape, shape, sizeof(shape));
    const char *descr = NULL;
    for (size_t i = 0; i < sizeof(npy_types) / sizeof(npy_types[0]) && !descr; i++)
        if (npy_types[i].dtype == x->dtype) descr = npy_types[i].descr;
    int n = snprintf(buf + 10, cap - 10, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     descr, shape);
    if (x->shape.ndim > 0) {
        int digits = snprintf(NULL, 0, "%lld", (long long)x->shape.dim[0]);
        n += snprintf(buf + 10 + n, cap - 10 - (size_t)n, "%*s", NPY_GROWTH_DIGITS - digits, "");
    }
    size_t total = 10 + (size_t)n + 1, pad = NPY_ALIGN - total % NPY_ALIGN;
    memset(buf + 10 + n, ' ', pad);
    buf[10 + n + pad] = '\n';
    total += pad;
    memcpy(buf, NPY_MAGIC "\x01\x00", 8);
    buf[8] = (char)((total - 10) & 0xff);
    buf[9] = (char)((total - 10) >> 8);
    return total;
}

typedef struct npy_out {
    const char *head;
    size_t hlen;
    const void *data;
    size_t nbytes;
} npy_out;

static am_status write_npy(FILE *f, void *ctx)
{
    const npy_out *o = ctx;
    bool ok = fwrite(o->head, 1, o->hlen, f) == o->hlen &&
              (o->nbytes == 0 || fwrite(o->data, 1, o->nbytes, f) == o->nbytes);
    return ok ? AM_OK : AM_ERR_IO;
}

/* am_npy_save, or with stage the same into a staged temporary (*stage). */
static am_status save(const char *path, am_array *x, am_file_stage **stage)
{
    if (!x) return am_fail_null_input("am_npy_save", 1, (am_site){NULL, 0});
    am_err_ctx c;
    am_status st = AM_OK;
    char head[2 * NPY_ALIGN + AM_MAX_NDIM * 24 + 128];
    void *copy = NULL;
    am_err_push(&c, "am_npy_save", (am_site){NULL, 0});
    if (!path) {
        st = am_fail(AM_ERR_ARG, "path is NULL");
        goto out;
    }
    if (!x->storage) {
        st = am_fail(AM_ERR_SYMBOLIC, "cannot save the values of a symbolic array while tracing; "
                     "this block cannot be hybridized as written, keep it eager");
        goto out;
    }
    if (x->dtype == AM_DTYPE_BFLOAT16) {
        /* NumPy has no bfloat16; ml_dtypes would write '<V2', which reads back
         * as raw bytes anywhere else, so refuse rather than write that. */
        st = am_fail(AM_ERR_DTYPE, "%s: bfloat16 has no NumPy dtype; save it as .params, or "
                     "am_astype it to float32 first", path);
        goto out;
    }
    size_t nbytes = (size_t)am_shape_size(&x->shape) * am_dtype_size(x->dtype);
    const void *data = am_array_ptr(x);
    am_device dev = x->storage->device;
    if (dev.type != AM_DEVICE_CPU) { /* copy to the host first */
        if (!(copy = malloc(nbytes ? nbytes : 1))) {
            st = am_fail(AM_ERR_OOM, "cannot allocate %zu bytes to copy the array to the host",
                         nbytes);
            goto out;
        }
        st = am_device_ops_for(dev.type)->to_host(dev.id, copy, data, nbytes);
        if (st != AM_OK) goto out;
        data = copy;
    }
    size_t hlen = format_header(x, head, sizeof(head));
    npy_out o = {head, hlen, data, nbytes};
    st = stage ? am_file_stage_write(path, write_npy, &o, stage)
               : am_file_write_atomic(path, write_npy, &o);
out:
    free(copy);
    am_err_pop(&c);
    return st;
}

am_status am_npy_save(const char *path, am_array *x)
{
    return save(path, x, NULL);
}

am_status am_npy_stage(const char *path, am_array *x, am_file_stage **stage)
{
    *stage = NULL;
    return save(path, x, stage);
}
