/* `amber bench conv [--quick]`: Convolution forward GFLOP/s per algorithm (the timed choice,
 * im2col + GEMM, Winograd F(2x2, 3x3) and F(4x4, 3x3) forced) and backward GFLOP/s on LeNet's layers,
 * the small ResNet's 3x3 stages, ResNet-18's 3x3 layers (batch 1 and 32) and a depthwise layer,
 * next to the machine's FMA peak and SGEMM rate measured in the same run. */
#include "../ndarray/ndarray_impl.h"
#include "../ndarray/ops/conv_algo.h"

#include <cblas.h>
#include <math.h>
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* Weak, so that an OPENMP=0 build still links; NULL then. */
extern int omp_get_max_threads(void) __attribute__((weak));

#define BC_REPS 15

typedef struct bc_layer {
    const char *name;
    int64_t n, c, hw, f, k, pad, groups;
} bc_layer;

static const bc_layer bc_layers[] = {
    {"LeNet 1->20 5x5, 28x28, N 32", 32, 1, 28, 20, 5, 0, 1},
    {"LeNet 20->50 5x5, 12x12, N 32", 32, 20, 12, 50, 5, 0, 1},
    {"small ResNet 16 3x3 p1, 32x32, N 32", 32, 16, 32, 16, 3, 1, 1},
    {"small ResNet 32 3x3 p1, 16x16, N 32", 32, 32, 16, 32, 3, 1, 1},
    {"small ResNet 64 3x3 p1, 8x8, N 32", 32, 64, 8, 64, 3, 1, 1},
    {"ResNet-18 64 3x3 p1, 56x56, N 32", 32, 64, 56, 64, 3, 1, 1},
    {"ResNet-18 64 3x3 p1, 28x28, N 32", 32, 64, 28, 64, 3, 1, 1},
    {"ResNet-18 64 3x3 p1, 56x56, N 1", 1, 64, 56, 64, 3, 1, 1},
    {"ResNet-18 128 3x3 p1, 28x28, N 1", 1, 128, 28, 128, 3, 1, 1},
    {"ResNet-18 256 3x3 p1, 14x14, N 1", 1, 256, 14, 256, 3, 1, 1},
    {"ResNet-18 512 3x3 p1, 7x7, N 1", 1, 512, 7, 512, 3, 1, 1},
    {"depthwise 64 3x3 p1, 56x56, N 32", 32, 64, 56, 64, 3, 1, 64},
};

typedef void (*bc_fn)(void *arg);

/* CLOCK_MONOTONIC, or with --cpu the process's CPU time: on a busy machine, with one thread
 * (OMP_NUM_THREADS=1), that counts only the time the benchmark ran. */
static clockid_t bc_clock = CLOCK_MONOTONIC;

static double bc_now(void)
{
    struct timespec t;
    clock_gettime(bc_clock, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int bc_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Best seconds per call over reps samples of at least min_s each, after a warm-up: on a
 * shared machine the fastest sample is the one least disturbed by other processes. */
static double bc_time(bc_fn fn, void *arg, int reps, double min_s)
{
    fn(arg);
    double t0 = bc_now();
    fn(arg);
    double one = bc_now() - t0, s[BC_REPS];
    int inner = one >= min_s ? 1 : (int)(min_s / (one > 1e-9 ? one : 1e-9)) + 1;
    for (int r = 0; r < reps; r++) {
        t0 = bc_now();
        for (int i = 0; i < inner; i++) fn(arg);
        s[r] = (bc_now() - t0) / inner;
    }
    qsort(s, (size_t)reps, sizeof(double), bc_cmp);
    return s[0];
}

/* ---- an op's kernel on preallocated outputs and workspace, as a plan runs it --------- */

typedef struct bc_op {
    const am_op_def *op;
    void *attrs;
    const char *keys[8], *vals[8];
    int n_attrs, n_in, n_vis;
    am_array *in[4], *out[3];
    am_view vin[4], vout[3];
    am_req req[3];
    am_kernel_ctx ctx;
} bc_op;

static void bc_kernel(void *p)
{
    bc_op *o = p;
    if (o->op->cpu(&o->ctx, o->attrs, o->vin, o->n_in, o->vout, o->op->num_outputs, o->req))
        fprintf(stderr, "%s: %s\n", o->op->name, am_last_error());
}

/* Parses attributes, infers and allocates outputs and the workspace. */
static bool bc_setup(bc_op *o, const char *name, am_array **in, int n_in)
{
    am_shape ish[4], osh[3];
    o->op = am_op_find(name);
    o->attrs = o->op ? am_attrs_parse(o->op, o->keys, o->vals, o->n_attrs) : NULL;
    if (!o->attrs) return false;
    o->n_in = n_in, o->n_vis = am_op_num_visible(o->op, o->attrs);
    for (int i = 0; i < n_in; i++) {
        o->in[i] = in[i], o->vin[i] = am_array_view(in[i]), ish[i] = am_array_shape(in[i]);
    }
    for (int i = 0; i < o->op->num_outputs; i++) osh[i].ndim = -1;
    if (o->op->infer_shape(o->attrs, ish, n_in, osh, o->op->num_outputs) != AM_OK) return false;
    for (int i = 0; i < o->op->num_outputs; i++) {
        o->out[i] = am_zeros(osh[i], AM_DTYPE_FLOAT32);
        o->vout[i] = am_array_view(o->out[i]);
        o->req[i] = AM_REQ_WRITE;
    }
    o->ctx = (am_kernel_ctx){.device = am_cpu()};
    o->ctx.workspace_bytes = o->op->temp_bytes(o->attrs, ish, n_in);
    o->ctx.workspace = o->ctx.workspace_bytes ? am_host_alloc(o->ctx.workspace_bytes) : NULL;
    return true;
}

static void bc_free(bc_op *o)
{
    am_host_free(o->ctx.workspace);
    free(o->attrs);
}

/* ---- FMA peak --------------------------------------------------------------------------- */

/* GFLOP/s of one thread running independent FMAs on 12 vector registers (enough to cover the
 * FMA latency on two pipes), for the widest vectors the CPU has: picked at run time. */
#if defined(__x86_64__)
#define BC_FMA_ITERS 4000000
__attribute__((target("avx512f"))) static double bc_fma512(void)
{
    __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    __m512 a0 = _mm512_set1_ps(0), a1 = _mm512_set1_ps(1), a2 = _mm512_set1_ps(2), a3 = _mm512_set1_ps(3);
    __m512 a4 = _mm512_set1_ps(4), a5 = _mm512_set1_ps(5), a6 = _mm512_set1_ps(6), a7 = _mm512_set1_ps(7);
    __m512 a8 = _mm512_set1_ps(8), a9 = _mm512_set1_ps(9), a10 = _mm512_set1_ps(10), a11 = _mm512_set1_ps(11);
    for (long it = 0; it < BC_FMA_ITERS; it++) {
        a0 = _mm512_fmadd_ps(a0, m, c), a1 = _mm512_fmadd_ps(a1, m, c), a2 = _mm512_fmadd_ps(a2, m, c);
        a3 = _mm512_fmadd_ps(a3, m, c), a4 = _mm512_fmadd_ps(a4, m, c), a5 = _mm512_fmadd_ps(a5, m, c);
        a6 = _mm512_fmadd_ps(a6, m, c), a7 = _mm512_fmadd_ps(a7, m, c), a8 = _mm512_fmadd_ps(a8, m, c);
        a9 = _mm512_fmadd_ps(a9, m, c), a10 = _mm512_fmadd_ps(a10, m, c), a11 = _mm512_fmadd_ps(a11, m, c);
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)), _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    float out[16];
    _mm512_storeu_ps(out, s);
    return out[0] + 2.0 * BC_FMA_ITERS * 12 * 16;
}

__attribute__((target("avx2,fma"))) static double bc_fma256(void)
{
    __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    __m256 a0 = _mm256_set1_ps(0), a1 = _mm256_set1_ps(1), a2 = _mm256_set1_ps(2), a3 = _mm256_set1_ps(3);
    __m256 a4 = _mm256_set1_ps(4), a5 = _mm256_set1_ps(5), a6 = _mm256_set1_ps(6), a7 = _mm256_set1_ps(7);
    __m256 a8 = _mm256_set1_ps(8), a9 = _mm256_set1_ps(9), a10 = _mm256_set1_ps(10), a11 = _mm256_set1_ps(11);
    for (long it = 0; it < BC_FMA_ITERS; it++) {
        a0 = _mm256_fmadd_ps(a0, m, c), a1 = _mm256_fmadd_ps(a1, m, c), a2 = _mm256_fmadd_ps(a2, m, c);
        a3 = _mm256_fmadd_ps(a3, m, c), a4 = _mm256_fmadd_ps(a4, m, c), a5 = _mm256_fmadd_ps(a5, m, c);
        a6 = _mm256_fmadd_ps(a6, m, c), a7 = _mm256_fmadd_ps(a7, m, c), a8 = _mm256_fmadd_ps(a8, m, c);
        a9 = _mm256_fmadd_ps(a9, m, c), a10 = _mm256_fmadd_ps(a10, m, c), a11 = _mm256_fmadd_ps(a11, m, c);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)), _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + 2.0 * BC_FMA_ITERS * 12 * 8;
}
#endif

/* Flops of one call to the widest FMA loop (the result's fraction keeps the loop alive); 0
 * without one.  *isa names it. */
static double bc_fma_once(const char **isa)
{
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) return *isa = "AVX-512", floor(bc_fma512());
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return *isa = "AVX2", floor(bc_fma256());
#endif
    *isa = "none";
    return 0;
}

/* Best of reps runs: one thread, and all threads at once (total). */
static void bc_fma_peak(int reps, double *one, double *all, const char **isa)
{
    *one = *all = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = bc_now(), fl = bc_fma_once(isa), t = bc_now() - t0;
        if (fl / t * 1e-9 > *one) *one = fl / t * 1e-9;
        double sum = 0;
        t0 = bc_now();
        _Pragma("omp parallel reduction(+:sum)")
        {
            const char *unused;
            sum += bc_fma_once(&unused);
        }
        t = bc_now() - t0;
        if (sum / t * 1e-9 > *all) *all = sum / t * 1e-9;
    }
}

/* ---- GEMM references ----------------------------------------------------------------- */

typedef struct bc_gemm {
    int m, n, k, batch;
    float *a, *b, *c;
} bc_gemm;

/* One threaded n x n x n SGEMM. */
static void bc_sgemm(void *p)
{
    bc_gemm *g = p;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->m, g->n, g->k, 1.0f, g->a, g->k,
                g->b, g->n, 0.0f, g->c, g->n);
}

/* The convolution's own GEMMs without im2col: one per image, one image per thread. */
static void bc_sgemm_batch(void *p)
{
    bc_gemm *g = p;
    _Pragma("omp parallel for schedule(static)")
    for (int i = 0; i < g->batch; i++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->m, g->n, g->k, 1.0f, g->a,
                    g->k, g->b + (size_t)i * g->k * g->n, g->n, 0.0f,
                    g->c + (size_t)i * g->m * g->n, g->n);
}

static double bc_gemm_rate(int m, int n, int k, int batch, int reps, double min_s)
{
    bc_gemm g = {m, n, k, batch, NULL, NULL, NULL};
    size_t nb = (size_t)(batch ? batch : 1);
    g.a = am_host_alloc((size_t)m * k * sizeof(float));
    g.b = am_host_alloc(nb * k * n * sizeof(float));
    g.c = am_host_alloc(nb * m * n * sizeof(float));
    for (size_t i = 0; i < (size_t)m * k; i++) g.a[i] = (float)((i * 7919 % 1000) / 1000.0 - 0.5);
    for (size_t i = 0; i < nb * k * n; i++) g.b[i] = (float)((i * 104729 % 1000) / 1000.0 - 0.5);
    double t = bc_time(batch ? bc_sgemm_batch : bc_sgemm, &g, reps, min_s);
    am_host_free(g.a), am_host_free(g.b), am_host_free(g.c);
    return 2.0 * m * n * k * (double)nb / t * 1e-9;
}

/* ---- one layer ----------------------------------------------------------------------- */

static void bc_attrs(bc_op *o, const bc_layer *l, char bufs[4][32], const char *workspace)
{
    snprintf(bufs[0], 32, "(%lld, %lld)", (long long)l->k, (long long)l->k);
    snprintf(bufs[1], 32, "(%lld, %lld)", (long long)l->pad, (long long)l->pad);
    snprintf(bufs[2], 32, "%lld", (long long)l->f);
    snprintf(bufs[3], 32, "%lld", (long long)l->groups);
    static const char *const keys[] = {"kernel", "pad", "num_filter", "num_group", "workspace"};
    const char *vals[] = {bufs[0], bufs[1], bufs[2], bufs[3], workspace};
    for (int i = 0; i < 5; i++) o->keys[i] = keys[i], o->vals[i] = vals[i];
    o->n_attrs = 5;
}

/* The forward kernel's best seconds per call with AM_CONV_ALGO=algo (NULL: the timed
 * choice, made afresh by the first call); 0 when the layer falls back from algo. */
static double bc_fwd_algo(bc_op *o, const char *algo, int reps, double min_s)
{
    if (algo) setenv("AM_CONV_ALGO", algo, 1);
    else unsetenv("AM_CONV_ALGO"), am_conv_algo_reset();
    am_shape data = am_array_shape(o->in[0]);
    const char *runs = am_conv_algo(o->attrs, &data, AM_DTYPE_FLOAT32);
    if (algo && (!runs || strcmp(runs, algo))) {
        unsetenv("AM_CONV_ALGO");
        return 0;
    }
    double t = bc_time(bc_kernel, o, reps, min_s);
    unsetenv("AM_CONV_ALGO");
    return t;
}

static void bc_layer_run(const bc_layer *l, int reps, double min_s, double peak)
{
    char bufs[4][32];
    int64_t oh = l->hw + 2 * l->pad - l->k + 1, kk = l->c / l->groups * l->k * l->k;
    double flops = 2.0 * (double)(l->n * l->f * oh * oh) * (double)kk;
    am_scope_begin();
    am_array *x = am_random_uniform(-1, 1, AM_SHAPE(l->n, l->c, l->hw, l->hw), AM_DTYPE_FLOAT32);
    am_array *w = am_random_uniform(-1, 1, AM_SHAPE(l->f, l->c / l->groups, l->k, l->k),
                                    AM_DTYPE_FLOAT32);
    am_array *b = am_random_uniform(-1, 1, AM_SHAPE(l->f), AM_DTYPE_FLOAT32);
    am_array *dy = am_random_uniform(-1, 1, AM_SHAPE(l->n, l->f, oh, oh), AM_DTYPE_FLOAT32);
    bc_op fwd = {0}, bwd = {0};
    bc_attrs(&fwd, l, bufs, "1024"), bc_attrs(&bwd, l, bufs, "1024");
    if (!bc_setup(&fwd, "Convolution", (am_array *[]){x, w, b}, 3) ||
        !bc_setup(&bwd, "_backward_Convolution", (am_array *[]){dy, x, w, b}, 4)) {
        fprintf(stderr, "bench conv: %s\n", am_last_error());
        am_scope_end();
        return;
    }
    am_shape data = am_array_shape(x);
    bool wino = l->k == 3 && l->groups == 1;
    double t_auto = bc_fwd_algo(&fwd, NULL, reps, min_s);
    const char *pick = am_conv_algo(fwd.attrs, &data, AM_DTYPE_FLOAT32);
    double t_im2col = bc_fwd_algo(&fwd, "im2col", reps, min_s);
    double t_wino = wino ? bc_fwd_algo(&fwd, "winograd", reps, min_s) : 0;
    double t_wino4 = wino ? bc_fwd_algo(&fwd, "winograd4", reps, min_s) : 0;
    double t_bwd = bc_time(bc_kernel, &bwd, reps, min_s);
    int threads = omp_get_max_threads ? omp_get_max_threads() : 1;
    int sq = (int)(lround(cbrt(flops / 2.0) / 64.0) * 64);
    sq = sq < 256 ? 256 : sq > 2048 ? 2048 : sq;
    double g_sq = bc_gemm_rate(sq, sq, sq, 0, reps, min_s);
    double g_conv = bc_gemm_rate((int)(l->f / l->groups), (int)(oh * oh), (int)kk,
                                 (int)(l->n < threads ? l->n : threads), reps, min_s);
    double r_auto = flops / t_auto * 1e-9;
    char ibuf[16] = "      -", wbuf[16] = "      -", w4buf[16] = "      -";
    if (t_im2col > 0) snprintf(ibuf, sizeof(ibuf), "%7.1f", flops / t_im2col * 1e-9);
    if (t_wino > 0) snprintf(wbuf, sizeof(wbuf), "%7.1f", flops / t_wino * 1e-9);
    if (t_wino4 > 0) snprintf(w4buf, sizeof(w4buf), "%7.1f", flops / t_wino4 * 1e-9);
    printf("%-37s %-9s %7.1f %s %s %s %7.1f | %5d %7.1f %7.1f | %5.0f%% %5.0f%%\n", l->name,
           pick ? pick : "?", r_auto, ibuf, wbuf, w4buf,
           2 * flops / t_bwd * 1e-9,
           sq, g_sq, g_conv, 100 * r_auto / g_sq, peak > 0 ? 100 * r_auto / peak : 0.0);
    bc_free(&fwd), bc_free(&bwd);
    am_scope_end();
}

int am_cmd_bench_conv(int argc, char **argv)
{
    bool quick = false;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = true;
        else if (!strcmp(argv[i], "--cpu")) bc_clock = CLOCK_PROCESS_CPUTIME_ID;
        else {
            fprintf(stderr, "bench conv: unknown option %s (--quick, --cpu)\n", argv[i]);
            return 2;
        }
    }
    int reps = quick ? 3 : BC_REPS;
    double min_s = quick ? 0.02 : 0.05, one, all;
    const char *isa;
    int threads = omp_get_max_threads ? omp_get_max_threads() : 1;
    bc_fma_peak(quick ? 2 : 5, &one, &all, &isa);
    printf("Convolution float32, GFLOP/s (2 N F OH OW C kh kw per forward, twice that "
           "per backward);\nbest of %d samples (%s); OpenBLAS %s, %d threads, core %s\n"
           "FMA peak (%s, float32): %.1f GFLOP/s per thread, %.1f on %d threads\n\n", reps,
           bc_clock == CLOCK_MONOTONIC ? "wall time" : "process CPU time",
           openblas_get_config(), threads, openblas_get_corename(), isa, one, all, threads);
    printf("%-37s %-9s %7s %7s %7s %7s %7s | %5s %7s %7s | %6s %6s\n", "layer", "choice", "fwd",
           "im2col", "wino", "wino4", "bwd", "n", "sgemm", "convmm", "/sgemm", "/peak");
    size_t count = sizeof(bc_layers) / sizeof(bc_layers[0]);
    for (size_t i = 0; i < count; i++) {
        if (quick && bc_layers[i].hw == 56 && bc_layers[i].n > 1) continue;
        bc_layer_run(&bc_layers[i], reps, min_s, all);
    }
    printf("\nchoice: the algorithm the forward picked by timing its candidates at the first "
           "call;\nfwd: that choice, the kernel on preallocated output and workspace (as a plan "
           "runs it);\nim2col, wino, wino4: AM_CONV_ALGO forcing im2col + GEMM, Winograd F(2x2, 3x3) "
           "or F(4x4, 3x3)\n(- where it does not apply); bwd: _backward_Convolution (data, weight and bias "
           "gradients); sgemm: a\nthreaded n x n x n SGEMM; convmm: im2col's GEMMs alone "
           "(F x OH*OW x C*kh*kw per image and\ngroup, one per thread); /sgemm, /peak: fwd over "
           "sgemm and over the FMA peak of all threads.\n");
    return 0;
}
