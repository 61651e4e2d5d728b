/* Printing arrays as numpy.array2string does with its default options:
 * precision 8 (floatmode 'maxprec'), threshold 1000, edgeitems 3, linewidth 75.
 * GPU arrays are copied to the host first; symbolic arrays cannot be printed. */
#include "ndarray_impl.h"
#include "strbuf_impl.h"

#include <math.h>

enum {
    PRINT_PRECISION = 8,    /* digits after the point, at most */
    PRINT_THRESHOLD = 1000, /* more elements than this are summarised */
    PRINT_EDGEITEMS = 3,    /* items kept at each end of a summarised axis */
    PRINT_LINEWIDTH = 75,   /* rows wrap before this column */
    PRINT_WORD = 64,        /* longest formatted element, with padding */
    FIXED_MAX = 400,        /* room for any double in fixed notation */
};

#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* ---- a growing string ------------------------------------------------------- */

typedef struct sbuf {
    am_strbuf str;
    size_t line;  /* where the current line starts */
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n) { am_sb_put(&b->str, s, n); }

static void sb_puts(sbuf *b, const char *s) { am_sb_puts(&b->str, s); }

static void sb_spaces(sbuf *b, int n)
{
    for (int i = 0; i < n; i++) sb_putn(b, " ", 1);
}

static void sb_newlines(sbuf *b, int n)
{
    for (int i = 0; i < n; i++) sb_putn(b, "\n", 1);
    if (!b->str.oom) b->line = b->str.n;
}

/* ---- float digits ------------------------------------------------------------ */

/* x rounded to dtype t (a float dtype), as double. */
static double round_to(double x, am_dtype t)
{
    switch (t) {
    case AM_DTYPE_FLOAT32: return (float)x;
    case AM_DTYPE_FLOAT16: return am_half_to_float(am_float_to_half((float)x));
    case AM_DTYPE_BFLOAT16: return am_bfloat16_to_float(am_float_to_bfloat16((float)x));
    default: return x;
    }
}

/* The shortest decimal digits that read back as x in its own type t (float32
 * values get float32's shortest digits, float16 float16's, as NumPy's Dragon4
 * gives): digits without sign or point, and the decimal exponent of the
 * first one. */
static void shortest_digits(double x, am_dtype t, char *digits, int *exp10)
{
    char buf[48];
    int p;
    for (p = 1; p < 17; p++) {
        snprintf(buf, sizeof(buf), "%.*e", p - 1, x);
        if (t == AM_DTYPE_FLOAT32 ? strtof(buf, NULL) == (float)x
                                  : round_to(strtod(buf, NULL), t) == x)
            break;
    }
    if (p == 17) snprintf(buf, sizeof(buf), "%.16e", x);
    int n = 0;
    const char *s = buf + (buf[0] == '-');
    for (; *s && *s != 'e'; s++)
        if (*s != '.') digits[n++] = *s;
    digits[n] = '\0';
    *exp10 = atoi(s + 1);
}

static void trim_zeros(char *frac)
{
    size_t n = strlen(frac);
    while (n > 0 && frac[n - 1] == '0') frac[--n] = '\0';
}

/* A finite value split as Dragon4 prints it in 'unique' mode with at most
 * PRINT_PRECISION fraction digits: ip holds the sign and integer part, fp the
 * fraction without trailing zeros; exp is used in scientific mode only. */
typedef struct fparts {
    char ip[FIXED_MAX];
    char fp[FIXED_MAX];
    int exp;
} fparts;

static void split_fixed(const char *s, fparts *o, bool neg)
{
    const char *dot = strchr(s, '.');
    size_t ni = dot ? (size_t)(dot - s) : strlen(s);
    snprintf(o->ip, sizeof(o->ip), "%s%.*s", neg ? "-" : "", (int)ni, s);
    snprintf(o->fp, sizeof(o->fp), "%s", dot ? dot + 1 : "");
    trim_zeros(o->fp);
}

/* Writes digits d with the first at decimal exponent e in fixed notation. */
static void digits_fixed(const char *d, int e, char *s, size_t cap)
{
    int n = (int)strlen(d);
    size_t k = 0;
    if (e < 0) {
        s[k++] = '0';
        s[k++] = '.';
        for (int i = 0; i < -e - 1 && k + 1 < cap; i++) s[k++] = '0';
        for (int i = 0; i < n && k + 1 < cap; i++) s[k++] = d[i];
    } else {
        for (int i = 0; i <= e && k + 2 < cap; i++) s[k++] = i < n ? d[i] : '0';
        s[k++] = '.';
        for (int i = e + 1; i < n && k + 1 < cap; i++) s[k++] = d[i];
    }
    s[k] = '\0';
}

static void parts_positional(double x, am_dtype ft, fparts *o)
{
    char d[24], s[FIXED_MAX];
    int e;
    shortest_digits(x, ft, d, &e);
    if ((int)strlen(d) - 1 - e > PRINT_PRECISION) {
        /* Too many digits: round the exact value at the cutoff (ties to even,
         * as Dragon4 does). */
        snprintf(s, sizeof(s), "%.*f", PRINT_PRECISION, fabs(x));
    } else {
        digits_fixed(d, e, s, sizeof(s));
    }
    split_fixed(s, o, signbit(x));
}

static void parts_scientific(double x, am_dtype ft, fparts *o)
{
    char d[24], s[48];
    int e;
    bool neg = signbit(x);
    shortest_digits(x, ft, d, &e);
    if ((int)strlen(d) - 1 > PRINT_PRECISION) {
        snprintf(s, sizeof(s), "%.*e", PRINT_PRECISION, fabs(x));
        char *ep = strchr(s, 'e');
        e = atoi(ep + 1);
        *ep = '\0';
        split_fixed(s, o, neg);
    } else {
        snprintf(o->ip, sizeof(o->ip), "%s%c", neg ? "-" : "", d[0]);
        snprintf(o->fp, sizeof(o->fp), "%s", d + 1);
    }
    o->exp = e;
}

/* ---- the format of one array -------------------------------------------------- */

typedef struct pfmt {
    am_dtype dtype;
    bool exp;          /* floats in scientific notation */
    int pad_left;      /* floats: width of sign and integer part */
    int pad_right;     /* floats: width of the fraction (and exponent) */
    int prec;          /* scientific: fraction digits, zero-padded */
    int exp_size;      /* scientific: exponent digits, at least 2 */
    int width;         /* integers: common width */
} pfmt;

static double get_f(const void *data, am_dtype t, int64_t i)
{
    switch (t) {
    case AM_DTYPE_FLOAT32: return ((const float *)data)[i];
    case AM_DTYPE_FLOAT16: return am_half_to_float(((const uint16_t *)data)[i]);
    case AM_DTYPE_BFLOAT16: return am_bfloat16_to_float(((const uint16_t *)data)[i]);
    default: return ((const double *)data)[i];
    }
}

static int64_t get_i(const void *data, am_dtype t, int64_t i)
{
    switch (t) {
    case AM_DTYPE_INT32: return ((const int32_t *)data)[i];
    case AM_DTYPE_INT64: return ((const int64_t *)data)[i];
    case AM_DTYPE_INT8: return ((const int8_t *)data)[i];
    case AM_DTYPE_BOOL: return ((const uint8_t *)data)[i] != 0;
    default: return ((const uint8_t *)data)[i];
    }
}

/* NumPy chooses scientific notation from the non-zero finite magnitudes; the
 * comparisons run in the array's own type (NumPy 2's promotion rules), and
 * since NumPy 2.3 the upper switch is 10 ** min(8, the type's reliable
 * digits): float32 at 1e6, float16 at 1e3, bfloat16 (ml_dtypes) at 1e2. */
static bool wants_exp(double mn, double mx, am_dtype t)
{
    bool ft = t == AM_DTYPE_FLOAT32;
    if (mx == 0) return false;
    if (t == AM_DTYPE_FLOAT16 || t == AM_DTYPE_BFLOAT16) {
        double cut = t == AM_DTYPE_FLOAT16 ? 1e3 : 1e2;
        return mx >= cut || mn < round_to(1e-4, t) || round_to(mx / mn, t) > 1000.0;
    }
    if (ft) {
        float a = (float)mn, b = (float)mx;
        return b >= 1e6f || a < 1e-4f || b / a > 1000.0f;
    }
    return mx >= 1e8 || mn < 1e-4 || mx / mn > 1000.0;
}

static int exp_digits(int e)
{
    int n = 0;
    for (e = abs(e); e > 0; e /= 10) n++;
    return n < 2 ? 2 : n;
}

/* Flat indices of the elements shown (all, or the edges of summarised axes). */
typedef struct shown {
    int64_t *idx;
    int64_t n;
} shown;

static int64_t axis_shown(int64_t dim, bool summarize)
{
    return summarize && dim > 2 * PRINT_EDGEITEMS ? 2 * PRINT_EDGEITEMS : dim;
}

static bool collect_shown(const am_shape *s, bool summarize, shown *out)
{
    int64_t count = 1, stride[AM_MAX_NDIM], k[AM_MAX_NDIM] = {0};
    for (int a = s->ndim; a-- > 0;) {
        stride[a] = a == s->ndim - 1 ? 1 : stride[a + 1] * s->dim[a + 1];
        count *= axis_shown(s->dim[a], summarize);
    }
    out->n = count;
    out->idx = malloc((size_t)(count ? count : 1) * sizeof(int64_t));
    if (!out->idx) return false;
    for (int64_t j = 0; j < count; j++) {
        int64_t flat = 0;
        for (int a = 0; a < s->ndim; a++) {
            int64_t m = axis_shown(s->dim[a], summarize), i = k[a];
            if (m < s->dim[a] && i >= PRINT_EDGEITEMS) i += s->dim[a] - m;
            flat += i * stride[a];
        }
        out->idx[j] = flat;
        for (int a = s->ndim; a-- > 0;) /* odometer */
            if (++k[a] < axis_shown(s->dim[a], summarize)) break;
            else k[a] = 0;
    }
    return true;
}

static void float_format(const void *data, const shown *sh, pfmt *f)
{
    am_dtype ft = f->dtype;
    bool any_finite = false, nonfinite = false;
    bool neginf = false;
    double mn = INFINITY, mx = 0;
    for (int64_t j = 0; j < sh->n; j++) {
        double v = get_f(data, f->dtype, sh->idx[j]), a = fabs(v);
        if (!isfinite(v)) {
            nonfinite = true;
            neginf |= v < 0;
            continue;
        }
        any_finite = true;
        if (a != 0 && a < mn) mn = a;
        if (a > mx) mx = a;
    }
    f->exp = wants_exp(mn, mx, ft);
    for (int64_t j = 0; j < sh->n && any_finite; j++) {
        double v = get_f(data, f->dtype, sh->idx[j]);
        if (!isfinite(v)) continue;
        fparts p;
        if (f->exp) {
            parts_scientific(v, ft, &p);
            f->prec = MAX(f->prec, (int)strlen(p.fp));
            f->exp_size = MAX(f->exp_size, exp_digits(p.exp));
        } else {
            parts_positional(v, ft, &p);
            f->pad_right = MAX(f->pad_right, (int)strlen(p.fp));
        }
        f->pad_left = MAX(f->pad_left, (int)strlen(p.ip));
    }
    if (f->exp && any_finite) f->pad_right = f->exp_size + 2 + f->prec;
    if (nonfinite) { /* room for "nan", "inf", "-inf" */
        int offset = f->pad_right + 1;
        f->pad_left = MAX(f->pad_left, 3 - offset);
        f->pad_left = MAX(f->pad_left, 3 + (int)neginf - offset);
    }
}

static bool make_format(const void *data, const am_shape *s, bool summarize, pfmt *f)
{
    shown sh;
    if (!collect_shown(s, summarize, &sh)) return false;
    if (am_dtype_is_float(f->dtype)) {
        float_format(data, &sh, f);
    } else if (f->dtype == AM_DTYPE_BOOL) {
        f->width = s->ndim > 0 ? 5 : 0; /* NumPy: " True" and "False" in arrays */
    } else {
        for (int64_t j = 0; j < sh.n; j++) {
            char w[32];
            int n = snprintf(w, sizeof(w), "%lld", (long long)get_i(data, f->dtype, sh.idx[j]));
            f->width = MAX(f->width, n);
        }
    }
    free(sh.idx);
    return true;
}

/* ---- formatting elements and rows ------------------------------------------------ */

/* One formatted element; padding never overruns PRINT_WORD. */
typedef struct word {
    char s[PRINT_WORD];
    int n;
} word;

static void w_pad(word *w, char c, int n)
{
    for (; n > 0 && w->n + 1 < PRINT_WORD; n--) w->s[w->n++] = c;
    w->s[w->n] = '\0';
}

static void w_put(word *w, const char *s)
{
    for (; *s && w->n + 1 < PRINT_WORD; s++) w->s[w->n++] = *s;
    w->s[w->n] = '\0';
}

static void format_float(const pfmt *f, double v, word *w)
{
    am_dtype ft = f->dtype;
    fparts p;
    if (!isfinite(v)) {
        const char *s = isnan(v) ? "nan" : v < 0 ? "-inf" : "inf";
        w_pad(w, ' ', f->pad_left + f->pad_right + 1 - (int)strlen(s));
        w_put(w, s);
        return;
    }
    if (f->exp) {
        char e[16];
        parts_scientific(v, ft, &p);
        if ((int)strlen(p.fp) < f->prec) {
            /* NumPy's min_digits: the shorter values get more digits of their
             * exact binary value (float32 0.1 is "1.00000001e-01"). */
            char s[48];
            snprintf(s, sizeof(s), "%.*e", f->prec, fabs(v));
            char *ep = strchr(s, 'e');
            p.exp = atoi(ep + 1);
            *ep = '\0';
            split_fixed(s, &p, signbit(v));
        }
        snprintf(e, sizeof(e), "%d", abs(p.exp));
        w_pad(w, ' ', f->pad_left - (int)strlen(p.ip));
        w_put(w, p.ip);
        w_put(w, ".");
        w_put(w, p.fp);
        w_pad(w, '0', f->prec - (int)strlen(p.fp));
        w_put(w, p.exp < 0 ? "e-" : "e+");
        w_pad(w, '0', f->exp_size - (int)strlen(e));
        w_put(w, e);
    } else {
        parts_positional(v, ft, &p);
        w_pad(w, ' ', f->pad_left - (int)strlen(p.ip));
        w_put(w, p.ip);
        w_put(w, ".");
        w_put(w, p.fp);
        w_pad(w, ' ', f->pad_right - (int)strlen(p.fp));
    }
}

typedef struct pctx {
    const void *data;
    const am_shape *shape;
    int64_t stride[AM_MAX_NDIM];
    bool summarize;
    pfmt f;
    sbuf *out;
} pctx;

static const char *format_elem(const pctx *c, int64_t flat, word *w)
{
    w->n = 0;
    w->s[0] = '\0';
    if (am_dtype_is_float(c->f.dtype)) {
        format_float(&c->f, get_f(c->data, c->f.dtype, flat), w);
    } else {
        char s[32];
        if (c->f.dtype == AM_DTYPE_BOOL)
            snprintf(s, sizeof(s), "%s", get_i(c->data, c->f.dtype, flat) ? "True" : "False");
        else
            snprintf(s, sizeof(s), "%lld", (long long)get_i(c->data, c->f.dtype, flat));
        w_pad(w, ' ', c->f.width - (int)strlen(s));
        w_put(w, s);
    }
    return w->s;
}

/* Adds a word to a row at depth axis, wrapping first when it would pass the
 * line width (numpy's _extendLine: a line holding only its indent never wraps). */
static void put_word(sbuf *b, const char *w, int axis)
{
    size_t col = b->str.n - b->line, indent = (size_t)axis + 1;
    size_t limit = (size_t)(PRINT_LINEWIDTH - 1 - axis);
    if (col > indent && col + strlen(w) > limit && !b->str.oom) {
        while (b->str.n > b->line && b->str.s[b->str.n - 1] == ' ') b->str.n--;
        sb_newlines(b, 1);
        sb_spaces(b, (int)indent);
    }
    sb_puts(b, w);
}

static void format_axis(const pctx *c, int axis, int64_t offset);

static void format_row(const pctx *c, int axis, int64_t offset, int64_t n, bool summ)
{
    word w;
    for (int64_t i = 0; i < n; i++) {
        if (summ && i == PRINT_EDGEITEMS) {
            put_word(c->out, "...", axis);
            sb_puts(c->out, " ");
            i = n - PRINT_EDGEITEMS;
        }
        put_word(c->out, format_elem(c, offset + i * c->stride[axis], &w), axis);
        if (i + 1 < n) sb_puts(c->out, " ");
    }
}

static void format_axis(const pctx *c, int axis, int64_t offset)
{
    int ndim = c->shape->ndim;
    int64_t n = c->shape->dim[axis];
    bool summ = c->summarize && n > 2 * PRINT_EDGEITEMS;
    sb_puts(c->out, "[");
    if (axis == ndim - 1) {
        format_row(c, axis, offset, n, summ);
    } else {
        for (int64_t i = 0; i < n; i++) {
            if (summ && i == PRINT_EDGEITEMS) {
                sb_spaces(c->out, axis + 1);
                sb_puts(c->out, "...");
                sb_newlines(c->out, ndim - axis - 1);
                i = n - PRINT_EDGEITEMS;
            }
            if (i > 0) sb_spaces(c->out, axis + 1);
            format_axis(c, axis + 1, offset + i * c->stride[axis]);
            if (i + 1 < n) sb_newlines(c->out, ndim - axis - 1);
        }
    }
    sb_puts(c->out, "]");
}

static char *format_host(const void *data, am_dtype dtype, const am_shape *s)
{
    sbuf out = {0};
    int64_t size = am_shape_size(s);
    pctx c = {.data = data, .shape = s, .summarize = size > PRINT_THRESHOLD,
              .f = {.dtype = dtype}, .out = &out};
    for (int a = s->ndim; a-- > 0;)
        c.stride[a] = a == s->ndim - 1 ? 1 : c.stride[a + 1] * s->dim[a + 1];
    if (size == 0) {
        sb_puts(&out, "[]");
    } else if (!make_format(data, s, c.summarize, &c.f)) {
        out.str.oom = true;
    } else if (s->ndim == 0) {
        word w;
        sb_puts(&out, format_elem(&c, 0, &w));
    } else {
        format_axis(&c, 0, 0);
    }
    if (out.str.oom) {
        free(out.str.s);
        am_fail(AM_ERR_OOM, "out of memory while formatting");
        return NULL;
    }
    return out.str.s;
}

/* ---- public ------------------------------------------------------------------------ */

/* The host bytes of x: its own storage on the CPU, else a malloc'd copy
 * (*copy is set and the caller frees it). */
static const void *host_bytes(am_array *x, void **copy)
{
    am_device dev = x->storage->device;
    *copy = NULL;
    if (dev.type == AM_DEVICE_CPU) return am_array_ptr(x);
    size_t nbytes = (size_t)am_shape_size(&x->shape) * am_dtype_size(x->dtype);
    *copy = malloc(nbytes ? nbytes : 1);
    if (!*copy) {
        am_fail(AM_ERR_OOM, "cannot allocate %zu bytes to copy the array to the host", nbytes);
        return NULL;
    }
    if (am_device_ops_for(dev.type)->to_host(dev.id, *copy, am_array_ptr(x), nbytes) != AM_OK) {
        free(*copy);
        *copy = NULL;
        return NULL;
    }
    return *copy;
}

char *am_to_string(am_array *x)
{
    if (!x) {
        am_fail_null_input("am_to_string", 0, (am_site){NULL, 0});
        return NULL;
    }
    am_err_ctx c;
    char *s = NULL;
    void *copy;
    am_err_push(&c, "am_to_string", (am_site){NULL, 0});
    if (!x->storage) {
        am_fail(AM_ERR_SYMBOLIC, "cannot print the values of a symbolic array while tracing; "
                "this block cannot be hybridized as written, keep it eager");
    } else {
        const void *data = host_bytes(x, &copy);
        if (data) s = format_host(data, x->dtype, &x->shape);
        free(copy);
    }
    am_err_pop(&c);
    return s;
}

/* NULL prints "NULL"; when a failure is pending (the usual reason for a NULL
 * result) its message goes to stderr so that am_print(am_op(...)) explains
 * itself.  A failure to format is reported on stderr and stays set. */
void am_print(am_array *x)
{
    if (!x) {
        puts("NULL");
        if (am_last_status() != AM_OK) fprintf(stderr, "amber: %s\n", am_last_error());
        fflush(stdout);
        return;
    }
    char *s = am_to_string(x);
    if (!s) {
        fflush(stdout);
        fprintf(stderr, "amber: %s\n", am_last_error());
        return;
    }
    puts(s);
    free(s);
}
