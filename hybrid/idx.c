/* IDX files (MNIST, Fashion-MNIST): plain or gzip'd, every IDX type, the
 * big-endian values converted on load.  docs/data.md gives the layout byte
 * by byte and the checks made here. */
#include "../ndarray/ndarray_impl.h"

#include <amber/data.h>
#include <errno.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_GZIP_RATIO 1100 /* deflate expands at most 1032:1; anything more is a lie */
#define IDX_CHUNK (1u << 20)

/* ---- where the bytes come from --------------------------------------------- */

typedef struct idx_src {
    const char *name;    /* the path or "<buffer>" */
    FILE *f;             /* plain file */
    gzFile gz;           /* gzip'd file */
    const uint8_t *mem;  /* buffer */
    uint64_t size;       /* plain: exact byte count; gzip: an upper bound */
    uint64_t pos;        /* bytes read so far (decompressed for gzip) */
} idx_src;

/* zlib's message without the "<fd:N>: " that gzdopen streams put first. */
static const char *zlib_text(const char *msg)
{
    const char *p = msg && strncmp(msg, "<fd:", 4) == 0 ? strstr(msg, ">: ") : NULL;
    return p ? p + 3 : msg ? msg : "unknown zlib error";
}

/* Reads up to n bytes; *got tells how many (fewer only at the end). */
static am_status src_read(idx_src *s, void *dst, uint64_t n, uint64_t *got)
{
    *got = 0;
    if (s->mem) {
        uint64_t k = n < s->size - s->pos ? n : s->size - s->pos;
        if (k) memcpy(dst, s->mem + s->pos, (size_t)k);
        *got = k;
    } else if (s->f) {
        *got = fread(dst, 1, (size_t)n, s->f);
        if (*got < n && ferror(s->f))
            return am_fail(AM_ERR_IO, "%s: read failed at byte %llu: %s", s->name,
                           (unsigned long long)(s->pos + *got), strerror(errno));
    } else {
        while (*got < n) { /* gzread takes an unsigned count: read in chunks */
            uint64_t want = n - *got < IDX_CHUNK ? n - *got : IDX_CHUNK;
            int r = gzread(s->gz, (uint8_t *)dst + *got, (unsigned)want);
            int zerr = Z_OK;
            const char *msg = r < 0 ? gzerror(s->gz, &zerr) : NULL;
            if (r < 0)
                return am_fail(zerr == Z_ERRNO ? AM_ERR_IO : AM_ERR_FORMAT,
                               "%s: corrupt gzip stream (reading byte %llu of the decompressed "
                               "data): %s", s->name, (unsigned long long)(s->pos + *got),
                               zerr == Z_ERRNO ? strerror(errno) : zlib_text(msg));
            if (r == 0) {
                gzerror(s->gz, &zerr);
                if (zerr == Z_BUF_ERROR)
                    return am_fail(AM_ERR_FORMAT, "%s: truncated gzip stream: it ends at byte "
                                   "%llu of the decompressed data", s->name,
                                   (unsigned long long)(s->pos + *got));
                break;
            }
            *got += (uint64_t)r;
        }
    }
    s->pos += *got;
    return AM_OK;
}

/* Reads exactly n bytes of field what, or fails naming it as truncated. */
static am_status src_need(idx_src *s, void *dst, uint64_t n, const char *what)
{
    uint64_t at = s->pos, got = 0;
    am_status st = src_read(s, dst, n, &got);
    if (st != AM_OK) return st;
    if (got < n)
        return am_fail(AM_ERR_FORMAT, "%s: truncated in %s at byte %llu: %llu bytes needed, "
                       "%llu found", s->name, what, (unsigned long long)at,
                       (unsigned long long)n, (unsigned long long)got);
    return AM_OK;
}

/* ---- the header ----------------------------------------------------------------- */

static const struct {
    uint8_t code;
    const char *name;
    int size;       /* bytes per value in the file */
    am_dtype dtype; /* what it loads as */
} idx_types[] = {
    {0x08, "uint8", 1, AM_DTYPE_UINT8},   {0x09, "int8", 1, AM_DTYPE_INT32},
    {0x0B, "int16", 2, AM_DTYPE_INT32},   {0x0C, "int32", 4, AM_DTYPE_INT32},
    {0x0D, "float32", 4, AM_DTYPE_FLOAT32}, {0x0E, "float64", 8, AM_DTYPE_FLOAT64},
};
#define IDX_NTYPES (int)(sizeof(idx_types) / sizeof(idx_types[0]))

typedef struct idx_header {
    int type;       /* index into idx_types */
    am_shape shape;
    uint64_t count; /* values */
} idx_header;

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static am_status read_magic(idx_src *s, idx_header *h)
{
    uint8_t m[4];
    am_status st = src_need(s, m, 4, "the magic number");
    if (st != AM_OK) return st;
    if (m[0] != 0 || m[1] != 0)
        return am_fail(AM_ERR_FORMAT, "%s: bad magic at byte 0: %02x %02x %02x %02x, expected "
                       "00 00 <type> <ndim> (not an IDX file)", s->name, m[0], m[1], m[2], m[3]);
    h->type = -1;
    for (int i = 0; i < IDX_NTYPES; i++)
        if (idx_types[i].code == m[2]) h->type = i;
    if (h->type < 0)
        return am_fail(AM_ERR_FORMAT, "%s: unknown type code 0x%02x at byte 2 (IDX has 08 09 0b "
                       "0c 0d 0e)", s->name, m[2]);
    if (m[3] == 0 || m[3] > AM_MAX_NDIM)
        return am_fail(AM_ERR_FORMAT, "%s: number of dimensions %d at byte 3 is outside [1, %d]",
                       s->name, m[3], AM_MAX_NDIM);
    h->shape.ndim = m[3];
    return AM_OK;
}

/* Reads the dimensions and checks that the values fit in what follows. */
static am_status read_header(idx_src *s, idx_header *h)
{
    uint8_t d[4 * AM_MAX_NDIM];
    am_status st = read_magic(s, h);
    if (st != AM_OK) return st;
    int nd = h->shape.ndim;
    if ((st = src_need(s, d, 4 * (uint64_t)nd, "the dimensions")) != AM_OK) return st;
    uint64_t count = 1, esize = (uint64_t)idx_types[h->type].size;
    bool empty = false;
    for (int i = 0; i < nd; i++) {
        uint64_t v = be32(d + 4 * i);
        h->shape.dim[i] = (int64_t)v;
        if (v == 0) empty = true;
        else if (count > (UINT64_MAX >> 8) / v)
            return am_fail(AM_ERR_FORMAT, "%s: dimension %d (%llu) at byte %d makes the product "
                           "of the dimensions overflow", s->name, i, (unsigned long long)v,
                           4 + 4 * i);
        else count *= v;
    }
    h->count = empty ? 0 : count;
    uint64_t left = s->size - s->pos, need = h->count * esize;
    if (need > left) {
        char buf[128];
        return am_fail(AM_ERR_FORMAT, "%s: dimensions %s of %s at byte 4 need %llu bytes of data "
                       "at byte %d but the file %s %llu", s->name,
                       am_shape_format(&h->shape, buf, sizeof(buf)), idx_types[h->type].name,
                       (unsigned long long)need, 4 + 4 * nd,
                       s->gz ? "can decompress to at most" : "holds only",
                       (unsigned long long)left);
    }
    return AM_OK;
}

/* ---- the values -------------------------------------------------------------------- */

/* Converts n big-endian values of IDX type t, in place, to the loaded dtype
 * (widening int8 and int16 to int32 from the back so nothing is overwritten
 * before it is read). */
static void convert(void *p, uint64_t n, uint8_t code)
{
    uint8_t *b = p;
    switch (code) {
    case 0x09:
        for (uint64_t i = n; i-- > 0;) ((int32_t *)p)[i] = (int8_t)b[i];
        break;
    case 0x0B:
        for (uint64_t i = n; i-- > 0;)
            ((int32_t *)p)[i] = (int16_t)(uint16_t)(b[2 * i] << 8 | b[2 * i + 1]);
        break;
    case 0x0C: case 0x0D:
        for (uint64_t i = 0; i < n; i++) {
            uint32_t v = be32(b + 4 * i);
            memcpy(b + 4 * i, &v, 4);
        }
        break;
    case 0x0E:
        for (uint64_t i = 0; i < n; i++) {
            uint64_t v = (uint64_t)be32(b + 8 * i) << 32 | be32(b + 8 * i + 4);
            memcpy(b + 8 * i, &v, 8);
        }
        break;
    default: break; /* uint8 needs nothing */
    }
}

static am_status check_end(idx_src *s)
{
    uint8_t extra[64];
    uint64_t at = s->pos, got = 0;
    am_status st = src_read(s, extra, sizeof(extra), &got);
    if (st != AM_OK) return st;
    if (got == 0) return AM_OK;
    return am_fail(AM_ERR_FORMAT, "%s: trailing bytes at byte %llu after the data that the "
                   "header describes (the dimensions may be wrong)", s->name,
                   (unsigned long long)at);
}

static am_array *load(idx_src *s)
{
    idx_header h;
    if (read_header(s, &h) != AM_OK) return NULL;
    am_array *x = am_array_alloc(h.shape, idx_types[h.type].dtype, am_cpu());
    if (!x) return NULL;
    uint64_t nbytes = h.count * (uint64_t)idx_types[h.type].size;
    char what[32];
    snprintf(what, sizeof(what), "the %s data", idx_types[h.type].name);
    if (src_need(s, am_array_ptr(x), nbytes, what) != AM_OK || check_end(s) != AM_OK) {
        am_release(x);
        return NULL;
    }
    convert(am_array_ptr(x), h.count, idx_types[h.type].code);
    return am_scope_own(x);
}

/* ---- entry points ---------------------------------------------------------------- */

/* Sniffs the gzip magic, then reads through zlib or stdio. */
static am_array *load_file(const char *path, FILE *f, uint64_t size)
{
    uint8_t m[2] = {0, 0};
    size_t k = fread(m, 1, 2, f);
    rewind(f);
    idx_src s = {.name = path, .f = f, .size = size};
    if (k < 2 || m[0] != 0x1f || m[1] != 0x8b) return load(&s);
    int fd = dup(fileno(f));
    if (fd < 0 || !(s.gz = gzdopen(fd, "rb"))) {
        if (fd >= 0) close(fd);
        am_fail(AM_ERR_IO, "%s: cannot open the gzip stream: %s", path, strerror(errno));
        return NULL;
    }
    gzbuffer(s.gz, 128 * 1024);
    s.f = NULL;
    s.size = size > UINT64_MAX / IDX_GZIP_RATIO ? UINT64_MAX : size * IDX_GZIP_RATIO;
    am_array *x = load(&s);
    gzclose(s.gz);
    return x;
}

am_array *am_idx_load(const char *path)
{
    am_err_ctx c;
    am_array *x = NULL;
    FILE *f = NULL;
    uint64_t size = 0;
    am_err_push(&c, "am_idx_load", (am_site){NULL, 0});
    if (am_file_open_read(path, &f, &size) == AM_OK) {
        x = load_file(path, f, size);
        fclose(f);
    }
    am_err_pop(&c);
    return x;
}

am_array *am_idx_load_buffer(const void *data, size_t size)
{
    am_err_ctx c;
    am_array *x = NULL;
    am_err_push(&c, "am_idx_load_buffer", (am_site){NULL, 0});
    if (!data && size) {
        am_fail(AM_ERR_ARG, "data is NULL");
    } else {
        idx_src s = {.name = "<buffer>", .mem = data ? data : (const uint8_t *)"", .size = size};
        x = load(&s);
    }
    am_err_pop(&c);
    return x;
}
