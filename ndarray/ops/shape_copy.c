/* The strided-copy engine behind the data-moving ops: collapses axes, then
 * copies contiguous runs, or blocks of 32 columns when the copy transposes the
 * innermost axis, with OpenMP over chunks of runs or blocks. */
#include "shape_impl.h"

#include <stdarg.h>

#define TILE 32
#define ROW_CHUNK 512
#define MAX_CHUNKS 1024

/* ---- typed inner loops ------------------------------------------------------ */

typedef void (*run_fn)(char *dst, const char *src, int64_t n, int64_t ds, int64_t ss);
typedef void (*tile_fn)(char *dst, const char *src, int64_t rows, int64_t cols, int64_t drow,
                        int64_t scol);

#define STORE_SET(a, b) ((a) = (b))
#define STORE_ADD(a, b) ((a) += (b))

/* run: n elements along one axis; the common strides get their own loops so
 * that the compiler vectorizes them.  tile: d[r * drow + c] = s[r + c * scol]
 * for r < rows and a block of cols <= TILE: each row writes one contiguous
 * piece while the TILE source lines it reads stay in L1 for the next rows. */
#define DEFINE_LOOPS(sfx, T, STORE)                                                       \
    static void run_##sfx(char *dst_, const char *src_, int64_t n, int64_t ds, int64_t ss) \
    {                                                                                     \
        T *restrict d = (T *)dst_;                                                        \
        const T *restrict s = (const T *)src_;                                            \
        if (ds == 1 && ss == 1) {                                                         \
            for (int64_t i = 0; i < n; i++) STORE(d[i], s[i]);                            \
        } else if (ds == 1 && ss == 0) {                                                  \
            const T v = s[0];                                                             \
            for (int64_t i = 0; i < n; i++) STORE(d[i], v);                               \
        } else if (ds == 1) {                                                             \
            for (int64_t i = 0; i < n; i++) STORE(d[i], s[i * ss]);                       \
        } else {                                                                          \
            for (int64_t i = 0; i < n; i++) STORE(d[i * ds], s[i * ss]);                  \
        }                                                                                 \
    }                                                                                     \
    static void tile_##sfx(char *dst_, const char *src_, int64_t rows, int64_t cols,      \
                           int64_t drow, int64_t scol)                                    \
    {                                                                                     \
        T *restrict d = (T *)dst_;                                                        \
        const T *restrict s = (const T *)src_;                                            \
        for (int64_t r = 0; r < rows; r++)                                                \
            for (int64_t c = 0; c < cols; c++) STORE(d[r * drow + c], s[r + c * scol]);   \
    }

DEFINE_LOOPS(set_f32, float, STORE_SET)
DEFINE_LOOPS(set_f64, double, STORE_SET)
DEFINE_LOOPS(set_i32, int32_t, STORE_SET)
DEFINE_LOOPS(set_i64, int64_t, STORE_SET)
DEFINE_LOOPS(set_u8, uint8_t, STORE_SET)
DEFINE_LOOPS(add_f32, float, STORE_ADD)
DEFINE_LOOPS(add_f64, double, STORE_ADD)
DEFINE_LOOPS(add_i32, int32_t, STORE_ADD)
DEFINE_LOOPS(add_i64, int64_t, STORE_ADD)
DEFINE_LOOPS(add_u8, uint8_t, STORE_ADD)

typedef struct loops {
    run_fn run;
    tile_fn tile;
} loops;

/* [dtype][0: overwrite, 1: add], in am_dtype order. */
static const loops loop_table[][2] = {
    {{run_set_f32, tile_set_f32}, {run_add_f32, tile_add_f32}},
    {{run_set_f64, tile_set_f64}, {run_add_f64, tile_add_f64}},
    {{run_set_i32, tile_set_i32}, {run_add_i32, tile_add_i32}},
    {{run_set_i64, tile_set_i64}, {run_add_i64, tile_add_i64}},
    {{run_set_u8, tile_set_u8}, {run_add_u8, tile_add_u8}},
};
_Static_assert(sizeof(loop_table) / sizeof(loop_table[0]) == AM_DTYPE_KERNEL_COUNT,
               "loop_table must list every am_dtype");

/* ---- planning ------------------------------------------------------------------ */

/* Drops size-1 axes and merges neighbours that are contiguous in both layouts. */
static void simplify(am_copy_plan *p)
{
    int k = 0;
    for (int i = 0; i < p->ndim; i++) {
        if (p->dim[i] == 1) continue;
        if (k > 0 && p->dst_stride[k - 1] == p->dst_stride[i] * p->dim[i] &&
            p->src_stride[k - 1] == p->src_stride[i] * p->dim[i]) {
            p->dim[k - 1] *= p->dim[i];
            p->dst_stride[k - 1] = p->dst_stride[i];
            p->src_stride[k - 1] = p->src_stride[i];
            continue;
        }
        p->dim[k] = p->dim[i];
        p->dst_stride[k] = p->dst_stride[i];
        p->src_stride[k] = p->src_stride[i];
        k++;
    }
    p->ndim = k;
    if (k == 0) am_copy_plan_axis(p, 1, 1, 1);
}

/* How the copy is walked: units over the outer axes, each a run along the
 * inner axis or, when tiled, up to ROW_CHUNK rows of the axis that is
 * contiguous in src against a block of up to TILE inner elements.  The last
 * two outer axes then count the blocks and the row chunks. */
typedef struct walk {
    int n_outer;
    int64_t dim[AM_COPY_MAX_DIMS + 1], ds[AM_COPY_MAX_DIMS + 1], ss[AM_COPY_MAX_DIMS + 1];
    int64_t len, ids, iss; /* inner axis: length, dst and src strides */
    bool tiled;
    int64_t rows, drow;    /* tiled: length and dst stride of the row axis */
} walk;

/* The axis to tile against the inner one: contiguous in src, not in dst. */
static int tile_axis(const am_copy_plan *p)
{
    int k = p->ndim - 1;
    if (p->dst_stride[k] != 1 || p->src_stride[k] == 1 || p->src_stride[k] == 0 ||
        p->dim[k] < 8)
        return -1;
    for (int r = k - 1; r >= 0; r--)
        if (p->src_stride[r] == 1 && p->dim[r] >= 8) return r;
    return -1;
}

static void plan_walk(const am_copy_plan *p, walk *w)
{
    int k = p->ndim - 1, r = tile_axis(p);
    memset(w, 0, sizeof(*w));
    w->len = p->dim[k], w->ids = p->dst_stride[k], w->iss = p->src_stride[k];
    for (int i = 0; i < k; i++) {
        if (i == r) continue;
        w->dim[w->n_outer] = p->dim[i];
        w->ds[w->n_outer] = p->dst_stride[i];
        w->ss[w->n_outer++] = p->src_stride[i];
    }
    w->tiled = r >= 0;
    if (w->tiled) {
        w->rows = p->dim[r], w->drow = p->dst_stride[r];
        w->dim[w->n_outer] = (w->len + TILE - 1) / TILE;
        w->ds[w->n_outer] = TILE * w->ids;
        w->ss[w->n_outer++] = TILE * w->iss;
        w->dim[w->n_outer] = (w->rows + ROW_CHUNK - 1) / ROW_CHUNK;
        w->ds[w->n_outer] = ROW_CHUNK * w->drow;
        w->ss[w->n_outer++] = ROW_CHUNK;
    }
}

/* ---- execution ------------------------------------------------------------------ */

/* Copies units [lo, hi): finds the first by division, then counts up. */
static void run_units(const walk *w, const loops *f, char *dst, const char *src, size_t es,
                      int64_t lo, int64_t hi)
{
    int64_t idx[AM_COPY_MAX_DIMS + 1], doff = 0, soff = 0, u = lo;
    for (int a = w->n_outer - 1; a >= 0; a--) {
        idx[a] = u % w->dim[a];
        u /= w->dim[a];
        doff += idx[a] * w->ds[a];
        soff += idx[a] * w->ss[a];
    }
    int last = w->n_outer - 1;
    for (int64_t n = lo; n < hi; n++) {
        char *d = dst + doff * (ptrdiff_t)es; /* strides may be negative (reverse) */
        const char *s = src + soff * (ptrdiff_t)es;
        if (w->tiled) {
            int64_t cols = w->len - idx[last - 1] * TILE, rows = w->rows - idx[last] * ROW_CHUNK;
            f->tile(d, s, rows < ROW_CHUNK ? rows : ROW_CHUNK, cols < TILE ? cols : TILE, w->drow,
                    w->iss);
        } else {
            f->run(d, s, w->len, w->ids, w->iss);
        }
        for (int a = last; a >= 0; a--) {
            doff += w->ds[a], soff += w->ss[a];
            if (++idx[a] < w->dim[a]) break;
            doff -= w->ds[a] * w->dim[a], soff -= w->ss[a] * w->dim[a];
            idx[a] = 0;
        }
    }
}

am_status am_strided_copy(void *dst, const void *src, const am_copy_plan *plan, am_dtype dtype,
                          am_req req)
{
    if (req == AM_REQ_NULL) return AM_OK;
    if ((unsigned)dtype >= AM_DTYPE_KERNEL_COUNT)
        return am_fail(AM_ERR_DTYPE, "unsupported dtype %s", am_dtype_name(dtype));
    am_copy_plan p = *plan;
    int64_t n = 1;
    for (int i = 0; i < p.ndim; i++) n *= p.dim[i];
    if (n == 0) return AM_OK;
    simplify(&p);
    bool add = req == AM_REQ_ADD;
    if (!add && dst == src && p.ndim == 1 && p.dst_stride[0] == 1 && p.src_stride[0] == 1)
        return AM_OK; /* in place onto the same layout */
    walk w;
    plan_walk(&p, &w);
    int64_t units = 1;
    for (int a = 0; a < w.n_outer; a++) units *= w.dim[a];
    const loops *f = &loop_table[dtype][add];
    size_t es = am_dtype_size(dtype);
    int64_t chunks = n > AM_OMP_MIN ? (units < MAX_CHUNKS ? units : MAX_CHUNKS) : 1;
    #pragma omp parallel for schedule(static) if (chunks > 1)
    for (int64_t c = 0; c < chunks; c++)
        run_units(&w, f, dst, src, es, units * c / chunks, units * (c + 1) / chunks);
    return AM_OK;
}

