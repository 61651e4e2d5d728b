/* `amber bench ops [--quick]`: GEMM, elementwise and reduction throughput next
 * to their ceilings (cblas_sgemm, memcpy), the float32 transcendental kernels against
 * glibc, and a check that alternating small BLAS and OpenMP work does not collapse
 * (docs/threading.md, docs/benchmarks.md). */
#include "../ndarray/ndarray_impl.h"
#include "bench.h"

#include <cblas.h>
#include <math.h>
#include <time.h>

/* Weak, so that an OPENMP=0 build still links; NULL then. */
extern int omp_get_max_threads(void) __attribute__((weak));

#define MAX_REPS 15

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_time_median(const bench_cfg *cfg, bench_fn fn, void *arg)
{
    return bench_time_stats(cfg, fn, arg).median;
}

bench_stats bench_time_stats(const bench_cfg *cfg, bench_fn fn, void *arg)
{
    fn(arg);
    double t0 = now_s();
    fn(arg);
    double one = now_s() - t0;
    int inner = one >= cfg->min_s ? 1 : (int)(cfg->min_s / (one > 1e-9 ? one : 1e-9)) + 1;
    double s[MAX_REPS];
    for (int r = 0; r < cfg->reps; r++) {
        t0 = now_s();
        for (int i = 0; i < inner; i++) fn(arg);
        s[r] = (now_s() - t0) / inner;
    }
    qsort(s, (size_t)cfg->reps, sizeof(double), cmp_double);
    return (bench_stats){.median = s[cfg->reps / 2], .min = s[0], .max = s[cfg->reps - 1]};
}

/* ---- (a) threads ------------------------------------------------------------------ */

void bench_print_threads(void)
{
    static const char *const parallel[] = {"sequential", "pthreads", "OpenMP"};
    int p = openblas_get_parallel();
    printf("threads: OpenBLAS %d (openblas_get_num_threads), OpenMP max %d "
           "(omp_get_max_threads)\n", openblas_get_num_threads(),
           omp_get_max_threads ? omp_get_max_threads() : 1);
    printf("OpenBLAS: %s; threading: %s\n", openblas_get_config(),
           p >= 0 && p <= 2 ? parallel[p] : "unknown");
    /* OpenBLAS 0.3.21 falls back to Prescott on CPU models it does not know. */
    if (strcmp(openblas_get_corename(), "Prescott") == 0 && __builtin_cpu_supports("avx2")) {
        const char *core = __builtin_cpu_supports("avx512f") ? "SkylakeX" : "Haswell";
        printf("warning: OpenBLAS did not recognise this CPU and runs its SSE3 (Prescott) "
               "kernels on a CPU with AVX2;\n         export OPENBLAS_CORETYPE=%s "
               "(docs/benchmarks.md)\n", core);
    }
    const char *w = getenv("OMP_WAIT_POLICY");
    printf("OMP_NUM_THREADS=%s OMP_WAIT_POLICY=%s; elementwise kernels go parallel above %d "
           "elements (AM_OMP_MIN)\n\n", getenv("OMP_NUM_THREADS") ? getenv("OMP_NUM_THREADS")
           : "(unset)", w ? w : "(unset)", AM_OMP_MIN);
}

/* ---- (b) GEMM ------------------------------------------------------------------------ */

typedef struct gemm_arg {
    am_array *a, *b, *c;
    int n;
} gemm_arg;

static void run_am_dot(void *p)
{
    gemm_arg *g = p;
    am_scope_begin();
    if (!am_dot(g->a, g->b)) fprintf(stderr, "am_dot: %s\n", am_last_error());
    am_scope_end();
}

static void run_sgemm(void *p)
{
    gemm_arg *g = p;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->n, g->n, g->n, 1.0f,
                am_array_data_f32(g->a), g->n, am_array_data_f32(g->b), g->n, 0.0f,
                am_array_data_f32(g->c), g->n);
}

static void bench_gemm(const bench_cfg *cfg)
{
    static const int full[] = {256, 1024, 2048}, quick[] = {32, 64};
    const int *sizes = cfg->quick ? quick : full;
    int count = cfg->quick ? 2 : 3;
    printf("%-30s %14s %20s %6s\n", "GEMM float32, n x n x n", "am_dot GFLOP/s",
           "cblas_sgemm GFLOP/s", "ratio");
    for (int i = 0; i < count; i++) {
        int n = sizes[i];
        am_scope_begin();
        gemm_arg g = {.n = n};
        g.a = am_random_uniform(-1, 1, AM_SHAPE(n, n), AM_DTYPE_FLOAT32);
        g.b = am_random_uniform(-1, 1, AM_SHAPE(n, n), AM_DTYPE_FLOAT32);
        g.c = am_zeros(AM_SHAPE(n, n), AM_DTYPE_FLOAT32);
        double flop = 2.0 * n * n * n;
        double t_am = bench_time_median(cfg, run_am_dot, &g), t_bl = bench_time_median(cfg, run_sgemm, &g);
        printf("  %-28d %14.1f %20.1f %6.2f\n", n, flop / t_am * 1e-9, flop / t_bl * 1e-9,
               t_bl / t_am);
        am_scope_end();
    }
    printf("\n");
}

/* ---- (c) bandwidth ----------------------------------------------------------------- */

/* An op run eagerly (allocating its output) or as a bare kernel into a
 * preallocated output, both by registry name. */
typedef struct op_arg {
    const am_op_def *op;
    const char *name;
    void *attrs;
    am_array *in[2], *out;
    int n_in;
    void *ws;
    size_t ws_bytes;
} op_arg;

static void run_eager(void *p)
{
    op_arg *o = p;
    am_array *y = NULL;
    am_scope_begin();
    if (am_invoke(o->name, o->in, o->n_in, NULL, NULL, 0, &y, 1) != AM_OK)
        fprintf(stderr, "%s: %s\n", o->name, am_last_error());
    am_scope_end();
}

static am_view view_of(am_array *x)
{
    am_view v = {.data = am_array_data(x), .dtype = am_array_dtype(x), .ndim = am_array_ndim(x),
                 .device = am_cpu()};
    int64_t stride = 1;
    for (int i = v.ndim - 1; i >= 0; i--) {
        v.dim[i] = am_array_dim(x, i);
        v.strides[i] = stride;
        stride *= v.dim[i];
    }
    return v;
}

static void run_kernel(void *p)
{
    op_arg *o = p;
    am_view in[2], out = view_of(o->out);
    for (int i = 0; i < o->n_in; i++) in[i] = view_of(o->in[i]);
    am_kernel_ctx ctx = {.device = am_cpu(), .workspace = o->ws, .workspace_bytes = o->ws_bytes};
    am_req req = AM_REQ_WRITE;
    o->op->cpu(&ctx, o->attrs, in, o->n_in, &out, 1, &req);
}

/* Sets up o for op `name` on inputs; false (after printing a skip line) when
 * the op is not registered or fails. */
static bool op_setup(op_arg *o, const char *name, am_array **in, int n_in)
{
    memset(o, 0, sizeof(*o));
    o->name = name;
    o->n_in = n_in;
    for (int i = 0; i < n_in; i++) o->in[i] = in[i];
    o->op = am_op_find(name);
    if (!o->op) {
        printf("  %-28s skipped: op not registered in this build\n", name);
        am_clear_error();
        return false;
    }
    o->attrs = am_attrs_parse(o->op, NULL, NULL, 0);
    if (!o->attrs || am_invoke(name, in, n_in, NULL, NULL, 0, &o->out, 1) != AM_OK) {
        printf("  %-28s skipped: %s\n", name, am_last_error());
        am_clear_error();
        free(o->attrs);
        return false;
    }
    if (o->op->temp_bytes) {
        am_shape sh[2];
        for (int i = 0; i < n_in; i++) sh[i] = am_array_shape(in[i]);
        o->ws_bytes = o->op->temp_bytes(o->attrs, sh, n_in);
        o->ws = o->ws_bytes ? am_host_alloc(o->ws_bytes) : NULL;
    }
    return true;
}

static void op_teardown(op_arg *o)
{
    free(o->attrs);
    am_host_free(o->ws);
}

typedef struct copy_arg {
    void *dst;
    const void *src;
    size_t bytes;
} copy_arg;

static void run_memcpy(void *p)
{
    copy_arg *c = p;
    memcpy(c->dst, c->src, c->bytes);
}

/* Prints eager and bare-kernel GB/s of op `name`, moving `bytes` per call. */
static void bench_op_bw(const bench_cfg *cfg, const char *name, am_array **in, int n_in,
                        double bytes, double memcpy_gbs)
{
    op_arg o;
    if (!op_setup(&o, name, in, n_in)) return;
    double te = bench_time_median(cfg, run_eager, &o), tk = bench_time_median(cfg, run_kernel, &o);
    printf("  %-28s %10.2f %8.2f %12.2f %8.2f\n", name, bytes / te * 1e-9,
           bytes / te * 1e-9 / memcpy_gbs, bytes / tk * 1e-9, bytes / tk * 1e-9 / memcpy_gbs);
    op_teardown(&o);
}

static void bench_bandwidth(const bench_cfg *cfg)
{
    int64_t n = cfg->quick ? 65536 : 16 << 20;
    am_scope_begin();
    am_array *x = am_random_uniform(-1, 1, AM_SHAPE(n), AM_DTYPE_FLOAT32);
    am_array *y = am_random_uniform(-1, 1, AM_SHAPE(n), AM_DTYPE_FLOAT32);
    am_array *z = am_zeros(AM_SHAPE(n), AM_DTYPE_FLOAT32);
    double fb = 4.0 * (double)n;
    copy_arg c = {am_array_data(z), am_array_data(x), (size_t)fb};
    double memcpy_gbs = 2 * fb / bench_time_median(cfg, run_memcpy, &c) * 1e-9;
    char title[64];
    snprintf(title, sizeof(title), "bandwidth, %lld float32", (long long)n);
    printf("%-30s %10s %8s %12s %8s\n", title, "eager GB/s", "/memcpy", "kernel GB/s", "/memcpy");
    printf("  %-28s %10.2f %8.2f\n", "memcpy (read + write)", memcpy_gbs, 1.0);
    am_array *xy[2] = {x, y};
    bench_op_bw(cfg, "broadcast_add", xy, 2, 3 * fb, memcpy_gbs);
    bench_op_bw(cfg, "elemwise_add", xy, 2, 3 * fb, memcpy_gbs);
    bench_op_bw(cfg, "sum", xy, 1, fb, memcpy_gbs);
    printf("  (eager allocates a fresh output each call; kernel writes a preallocated one)\n\n");
    am_scope_end();
}

/* ---- (d) alternating small ops --------------------------------------------------------- */

typedef struct alt_arg {
    gemm_arg g;        /* GEMM through am_dot, or raw cblas_sgemm when raw */
    op_arg e;          /* elementwise op by name */
    float *u, *v, *w;  /* raw OpenMP loop operands */
    int64_t n;
    bool raw;
} alt_arg;

static void alt_gemm(void *p)
{
    alt_arg *a = p;
    if (a->raw)
        run_sgemm(&a->g);
    else
        run_am_dot(&a->g);
}

static void alt_elem(void *p)
{
    alt_arg *a = p;
    if (!a->raw) {
        run_eager(&a->e);
        return;
    }
    const int64_t n = a->n;
    float *restrict w = a->w;
    const float *restrict u = a->u, *restrict v = a->v;
    AM_OMP_FOR_N
    for (int64_t i = 0; i < n; i++) w[i] = u[i] + v[i];
}

static void alt_both(void *p)
{
    alt_gemm(p);
    alt_elem(p);
}

/* Times GEMM alone, the elementwise step alone and the two alternating. */
static void alt_report(const bench_cfg *cfg, const char *label, alt_arg *a)
{
    double tg = bench_time_median(cfg, alt_gemm, a), te = bench_time_median(cfg, alt_elem, a);
    double tb = bench_time_median(cfg, alt_both, a);
    double ratio = tb / (tg + te);
    printf("  %-48s %9.1f %9.1f %11.1f %6.2f %s\n", label, tg * 1e6, te * 1e6, tb * 1e6, ratio,
           ratio <= 1.5 ? "ok" : "COLLAPSE");
}

static void alt_arrays(alt_arg *a, int gn, int64_t n)
{
    a->g.n = gn;
    a->g.a = am_random_uniform(-1, 1, AM_SHAPE(gn, gn), AM_DTYPE_FLOAT32);
    a->g.b = am_random_uniform(-1, 1, AM_SHAPE(gn, gn), AM_DTYPE_FLOAT32);
    a->g.c = am_zeros(AM_SHAPE(gn, gn), AM_DTYPE_FLOAT32);
    am_array *u = am_random_uniform(-1, 1, AM_SHAPE(n), AM_DTYPE_FLOAT32);
    am_array *v = am_random_uniform(-1, 1, AM_SHAPE(n), AM_DTYPE_FLOAT32);
    am_array *w = am_zeros(AM_SHAPE(n), AM_DTYPE_FLOAT32);
    a->u = am_array_data_f32(u), a->v = am_array_data_f32(v), a->w = am_array_data_f32(w);
    a->n = n;
    a->e.in[0] = u, a->e.in[1] = v;
}

static void bench_alternating(const bench_cfg *cfg)
{
    printf("%-50s %9s %9s %11s %6s\n", "alternating ops, us/iter (median)", "GEMM", "elem",
           "alternating", "ratio");
    am_scope_begin();
    alt_arg a = {0};
    alt_arrays(&a, 64, 4096);
    /* The eager elementwise op: the first registered of these. */
    static const char *const names[] = {"broadcast_add", "elemwise_add", "_copy"};
    am_array *uv[2] = {a.e.in[0], a.e.in[1]};
    bool have = false;
    for (int i = 0; i < 3 && !have; i++) {
        bool present = am_op_find(names[i]) != NULL;
        am_clear_error();
        if (present) have = op_setup(&a.e, names[i], uv, i == 2 ? 1 : 2);
    }
    char label[96];
    if (have) {
        snprintf(label, sizeof(label), "am_dot 64x64 + %s on 4096 (eager)", a.e.name);
        alt_report(cfg, label, &a);
        op_teardown(&a.e);
    }
    a.raw = true;
    alt_report(cfg, "sgemm 64x64 + OpenMP loop on 4096 (serial)", &a);
    int64_t big = cfg->quick ? 2 * AM_OMP_MIN : 1 << 20;
    alt_arrays(&a, 64, big);
    snprintf(label, sizeof(label), "sgemm 64x64 + OpenMP loop on %lld", (long long)big);
    alt_report(cfg, label, &a);
    alt_arrays(&a, cfg->quick ? 96 : 256, big);
    snprintf(label, sizeof(label), "sgemm %dx%d (threaded) + OpenMP loop on %lld", a.g.n, a.g.n,
             (long long)big);
    alt_report(cfg, label, &a);
    printf("  (ratio = alternating / (GEMM alone + elem alone); above 1.5 the thread pools "
           "fight)\n");
    am_scope_end();
}

/* ---- (e) transcendental functions ------------------------------------------------------ */

static float libm_sigmoid(float v) { return 1.0f / (1.0f + expf(-v)); }

/* A float32 function applied by a plain loop: glibc's scalar calls, as the kernels made them
 * before ndarray/ops/fastmath.h. */
typedef struct libm_arg {
    float (*f)(float);
    const float *x;
    float *y;
    int64_t n;
} libm_arg;

static void run_libm(void *p)
{
    libm_arg *a = p;
    for (int64_t i = 0; i < a->n; i++) a->y[i] = a->f(a->x[i]);
}

/* ns per element of the float32 kernels over rows of 1024, next to glibc's scalar loop. */
static void bench_transcendental(const bench_cfg *cfg)
{
    static const struct {
        const char *op;
        float (*f)(float);
    } rows[] = {{"exp", expf}, {"expm1", expm1f}, {"log", logf}, {"tanh", tanhf},
                {"sigmoid", libm_sigmoid}, {"erf", erff}, {"softmax", NULL},
                {"log_softmax", NULL}};
    const int64_t n = cfg->quick ? 65536 : 1 << 20;
    printf("%-30s %12s %12s\n", "float32 ns/element", "kernel", "glibc loop");
    am_scope_begin();
    am_array *x = am_random_uniform(0.01, 4, AM_SHAPE(n / 1024, 1024), AM_DTYPE_FLOAT32);
    am_array *y = am_zeros(AM_SHAPE(n / 1024, 1024), AM_DTYPE_FLOAT32);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        op_arg o;
        if (!op_setup(&o, rows[i].op, &x, 1)) continue;
        double tk = bench_time_median(cfg, run_kernel, &o) / (double)n * 1e9;
        op_teardown(&o);
        printf("  %-28s %12.3f", rows[i].op, tk);
        if (rows[i].f) {
            libm_arg l = {rows[i].f, am_array_data_f32(x), am_array_data_f32(y), n};
            printf(" %12.3f", bench_time_median(cfg, run_libm, &l) / (double)n * 1e9);
        }
        printf("\n");
    }
    printf("  (inputs in [0.01, 4); kernels threaded as usual, the glibc loop serial)\n\n");
    am_scope_end();
}

int am_cmd_bench(int argc, char **argv)
{
    bench_cfg cfg = {.quick = false, .reps = 7, .min_s = 0.05};
    int i = 0;
    if (argc > 0 && strcmp(argv[0], "conv") == 0) return am_cmd_bench_conv(argc - 1, argv + 1);
    if (argc > 0 && strcmp(argv[0], "graph") == 0) return am_cmd_bench_graph(argc - 1, argv + 1);
    if (argc > 0 && strcmp(argv[0], "blocks") == 0) return am_cmd_bench_blocks(argc - 1, argv + 1);
    if (argc > 0 && strcmp(argv[0], "models") == 0) return am_cmd_bench_models(argc - 1, argv + 1);
    if (argc > 0 && strcmp(argv[0], "loader") == 0) return am_cmd_bench_loader(argc - 1, argv + 1);
    if (argc > 0 && strcmp(argv[0], "load") == 0) return am_cmd_bench_load(argc - 1, argv + 1);
    if (i < argc && strcmp(argv[i], "ops") == 0) i++;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            cfg = (bench_cfg){.quick = true, .reps = 3, .min_s = 0.002};
        } else {
            fprintf(stderr, "usage: amber bench ops|conv|graph|blocks|loader|load [--quick]\n");
            return 2;
        }
    }
    if (argc < 1 || strcmp(argv[0], "ops") != 0) {
        fprintf(stderr, "usage: amber bench ops|conv|graph|blocks|loader|load [--quick]\n");
        return 2;
    }
    printf("amber bench ops%s (median of %d runs after a warm-up)\n", cfg.quick ? " --quick" : "",
           cfg.reps);
    bench_print_threads();
    bench_gemm(&cfg);
    bench_bandwidth(&cfg);
    bench_transcendental(&cfg);
    bench_alternating(&cfg);
    return 0;
}
