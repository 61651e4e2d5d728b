/* `amber bench conv [--quick]`: Convolution forward and backward GFLOP/s on LeNet's layers
 * and a ResNet-18 stage (batch 32, and batch 1 for inference), next to the SGEMM rate of the
 * same machine measured in the same run. */
#include "../ndarray/ndarray_impl.h"

#include <cblas.h>
#include <math.h>
#include <time.h>

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
    {"ResNet 64->64 3x3 p1, 56x56, N 32", 32, 64, 56, 64, 3, 1, 1},
    {"ResNet 64->64 3x3 p1, 28x28, N 32", 32, 64, 28, 64, 3, 1, 1},
    {"ResNet 64->64 3x3 p1, 56x56, N 1", 1, 64, 56, 64, 3, 1, 1},
    {"depthwise 64 3x3 p1, 56x56, N 32", 32, 64, 56, 64, 3, 1, 64},
};

typedef void (*bc_fn)(void *arg);

static double bc_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
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

static void bc_eager(void *p)
{
    bc_op *o = p;
    am_array *y[3];
    am_scope_begin();
    if (am_invoke(o->op->name, o->in, o->n_in, o->keys, o->vals, o->n_attrs, y, o->n_vis))
        fprintf(stderr, "%s: %s\n", o->op->name, am_last_error());
    am_scope_end();
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

static void bc_layer_run(const bc_layer *l, int reps, double min_s)
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
    bc_op fwd = {0}, ser = {0}, bwd = {0};
    bc_attrs(&fwd, l, bufs, "1024"), bc_attrs(&ser, l, bufs, "0"), bc_attrs(&bwd, l, bufs, "1024");
    if (!bc_setup(&fwd, "Convolution", (am_array *[]){x, w, b}, 3) ||
        !bc_setup(&ser, "Convolution", (am_array *[]){x, w, b}, 3) ||
        !bc_setup(&bwd, "_backward_Convolution", (am_array *[]){dy, x, w, b}, 4)) {
        fprintf(stderr, "bench conv: %s\n", am_last_error());
        am_scope_end();
        return;
    }
    double t_fwd = bc_time(bc_kernel, &fwd, reps, min_s);
    double t_eager = bc_time(bc_eager, &fwd, reps, min_s);
    double t_ser = bc_time(bc_kernel, &ser, reps, min_s);
    double t_bwd = bc_time(bc_kernel, &bwd, reps, min_s);
    int threads = omp_get_max_threads ? omp_get_max_threads() : 1;
    int sq = (int)(lround(cbrt(flops / 2.0) / 64.0) * 64);
    sq = sq < 256 ? 256 : sq > 2048 ? 2048 : sq;
    double g_sq = bc_gemm_rate(sq, sq, sq, 0, reps, min_s);
    double g_conv = bc_gemm_rate((int)(l->f / l->groups), (int)(oh * oh), (int)kk,
                                 (int)(l->n < threads ? l->n : threads), reps, min_s);
    printf("%-34s %7.1f %7.1f %7.1f %7.1f | %5d %7.1f %7.1f | %5.0f%%\n", l->name,
           flops / t_fwd * 1e-9, flops / t_eager * 1e-9, flops / t_ser * 1e-9,
           2 * flops / t_bwd * 1e-9, sq, g_sq, g_conv, 100 * (flops / t_fwd * 1e-9) / g_sq);
    bc_free(&fwd), bc_free(&ser), bc_free(&bwd);
    am_scope_end();
}

int am_cmd_bench_conv(int argc, char **argv)
{
    bool quick = argc > 0 && strcmp(argv[0], "--quick") == 0;
    int reps = quick ? 3 : BC_REPS;
    double min_s = quick ? 0.02 : 0.05;
    printf("Convolution float32, GFLOP/s (2 N F OH OW C kh kw per forward, twice that "
           "per backward);\nbest of %d samples; OpenBLAS %s, %d threads, core %s\n\n", reps,
           openblas_get_config(), omp_get_max_threads ? omp_get_max_threads() : 1,
           openblas_get_corename());
    printf("%-34s %7s %7s %7s %7s | %5s %7s %7s | %6s\n", "layer", "fwd", "eager", "serial",
           "bwd", "n", "sgemm", "convmm", "fwd/mm");
    size_t count = sizeof(bc_layers) / sizeof(bc_layers[0]);
    for (size_t i = 0; i < count; i++) {
        if (quick && bc_layers[i].hw == 56 && bc_layers[i].n > 1) continue;
        bc_layer_run(&bc_layers[i], reps, min_s);
    }
    printf("\nfwd: the kernel on preallocated output and workspace (as a plan runs it), batch "
           "split over threads;\neager: am_invoke, allocating both; serial: workspace=0, one "
           "image at a time with threaded GEMMs;\nbwd: _backward_Convolution (data, weight and "
           "bias gradients); sgemm: a threaded n x n x n\nSGEMM; convmm: the forward's GEMMs alone "
           "(F x OH*OW x C*kh*kw per image and group,\none per thread; depthwise convolution "
           "runs direct loops, not these GEMMs).\n");
    return 0;
}
