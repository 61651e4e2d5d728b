/* The gradcheck suite: every differentiable op, every case of its table, in
 * float64, against central differences.  AM_GRADCHECK_OPS=Convolution,Pooling
 * limits the check to those ops while developing them.
 *
 * Tolerances: eps = 1e-6 on float64 inputs; an analytic entry g passes when
 * |g - n| <= 1e-6 + 1e-5 * |n| for the numerical n.  Central differences in
 * float64 are accurate to about eps^2 * |f'''| + 1e-16 / eps, far inside
 * that.  Inputs are the case's random values; points where an op has a kink
 * (relu at 0, ties in max) have probability zero.  Cases whose inputs or
 * outputs are not floating point are skipped (Cast to int, integer dtypes):
 * there is nothing to differentiate; so are float16 and bfloat16 outputs
 * (Cast to them), which round away differences of eps, and ops flagged
 * AM_OP_SURROGATE_GRAD, whose gradient is not the derivative of their forward
 * by design. */
#include "test_util.h"

extern const am_op_case *const am_case_tables[];

#define GC_EPS 1e-6
#define GC_ATOL 1e-6
#define GC_RTOL 1e-5
#define GC_MAX_PROBES 24 /* elements probed per input */
#define GC_SEED 4242     /* reseeded before each forward: random ops repeat */

typedef struct gc {
    const am_op_def *op;
    tu_parsed_case p;
    am_array *in[16], *w[16];
    int n_vis;
    bool value_input[16];
} gc;

/* loss = sum_k sum(out_k * w_k), with fixed random weights w_k. */
static am_array *loss_of(gc *g, bool make_weights)
{
    am_array *out[16] = {0};
    am_seed(GC_SEED);
    if (am_invoke(g->op->name, g->in, g->p.n_in, (const char *const *)g->p.keys,
                  (const char *const *)g->p.vals, g->p.n_attrs, out, g->n_vis) != AM_OK)
        return NULL;
    am_array *loss = NULL;
    for (int k = 0; k < g->n_vis; k++) {
        am_dtype ot = am_array_dtype(out[k]);
        /* float16/bfloat16 outputs (a Cast) move in steps eps cannot see */
        if (!am_dtype_is_float(ot) || am_dtype_compute(ot) != ot) return NULL;
        if (make_weights)
            g->w[k] = tu_random(am_array_shape(out[k]), am_array_dtype(out[k]), -1, 1);
        am_array *t = am_sum(am_broadcast_mul(out[k], g->w[k]), NULL, 0, false);
        loss = loss ? am_broadcast_add(loss, t) : t;
    }
    return loss;
}

static double probe(gc *g, int i, int64_t j, double delta)
{
    am_view v = am_array_view(g->in[i]);
    double x0 = am_view_get(&v, j);
    am_view_set(&v, j, x0 + delta);
    am_scope_begin();
    am_array *l = loss_of(g, false);
    double f = l ? am_item(l, 0) : NAN;
    am_scope_end();
    am_view_set(&v, j, x0);
    return f;
}

/* Returns false when the case does not apply (nothing differentiable). */
static bool selected(const char *op)
{
    const char *only = getenv("AM_GRADCHECK_OPS");
    if (!only || !*only) return true;
    size_t n = strlen(op);
    for (const char *p = only; (p = strstr(p, op)); p += n)
        if ((p == only || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return true;
    return false;
}

static bool setup_case(gc *g, const am_op_case *c)
{
    memset(g, 0, sizeof(*g));
    g->op = am_op_find(c->op);
    /* Ops without a gradient are reported by the test below, not here.  A loss
     * output's gradient is not its forward's derivative: test_ops_output.c
     * differentiates the loss it stands for instead. */
    if (!g->op || (g->op->flags & (AM_OP_NO_GRAD | AM_OP_LOSS | AM_OP_SURROGATE_GRAD)) ||
        !g->op->gradient ||
        !selected(c->op))
        return false;
    am_dtype t = c->dtype ? c->dtype : AM_DTYPE_FLOAT32;
    if (!am_dtype_is_float(t)) return false;
    tu_parse_case(c, &g->p);
    if (g->p.n_in == 0) return false;
    void *attrs = am_attrs_parse(g->op, (const char *const *)g->p.keys,
                                 (const char *const *)g->p.vals, g->p.n_attrs);
    if (!attrs) return false;
    g->n_vis = am_op_num_visible(g->op, attrs);
    free(attrs);
    am_seed(7);
    bool any = false;
    for (int i = 0; i < g->p.n_in; i++) {
        g->in[i] = tu_case_input(c, &g->p, i);
        g->value_input[i] = !(c->index_mask & (1u << i));
        if (g->value_input[i]) {
            g->in[i] = am_astype(g->in[i], AM_DTYPE_FLOAT64);
            any = true;
        }
    }
    return any;
}

static int check_case(const am_op_case *c)
{
    gc g;
    int bad = 0;
    am_scope_begin();
    if (!setup_case(&g, c)) goto out;
    for (int i = 0; i < g.p.n_in; i++)
        if (g.value_input[i]) am_attach_grad(g.in[i], AM_GRAD_WRITE);
    am_autograd_record_begin(false);
    am_array *loss = loss_of(&g, true);
    am_autograd_end();
    if (!loss) goto out; /* integer outputs: nothing to check */
    if (am_backward(loss) != AM_OK) {
        printf("\n  %s{%s}: backward failed: %s\n", c->op, c->attrs ? c->attrs : "", am_last_error());
        bad++;
        goto out;
    }
    for (int i = 0; i < g.p.n_in; i++) {
        if (!g.value_input[i]) continue;
        int64_t n = am_array_size(g.in[i]), step = n > GC_MAX_PROBES ? n / GC_MAX_PROBES : 1;
        am_view gv = am_array_view(am_grad(g.in[i]));
        for (int64_t j = 0; j < n; j += step) {
            double num = (probe(&g, i, j, GC_EPS) - probe(&g, i, j, -GC_EPS)) / (2 * GC_EPS);
            double ana = am_view_get(&gv, j);
            if (!(fabs(ana - num) <= GC_ATOL + GC_RTOL * fabs(num))) {
                if (bad++ < 3)
                    printf("\n  %s{%s}[%s] input %d element %lld: analytic %.9g, numerical %.9g",
                           c->op, c->attrs ? c->attrs : "", c->shapes, i, (long long)j, ana, num);
            }
        }
    }
out:
    am_scope_end();
    am_clear_error();
    return bad;
}

/* Every differentiable op in every case table. */
static void test_gradcheck_all(void)
{
    int checked = 0, failed = 0;
    for (int t = 0; am_case_tables[t]; t++)
        for (const am_op_case *c = am_case_tables[t]; c->op; c++) {
            int bad = check_case(c);
            failed += bad > 0;
            checked++;
        }
    if (failed) printf("\n  %d of %d cases have wrong gradients\n", failed, checked);
    CU_ASSERT_EQUAL(failed, 0);
}

/* Every op is differentiable (has .gradient) or says it is not (NO_GRAD). */
static void test_every_op_has_gradient(void)
{
    for (int i = 0; i < am_registry_builtin_count(); i++) {
        const am_op_def *op = am_op_at(i);
        bool ok = op->gradient || (op->flags & AM_OP_NO_GRAD);
        if (!ok) printf("\n  %s has neither a gradient nor AM_OP_NO_GRAD", op->name);
        CU_ASSERT(ok);
    }
}

CU_TestInfo am_tests_gradcheck[] = {
    {"every op has a gradient or says it has none", test_every_op_has_gradient},
    {"numerical gradient check of every op case", test_gradcheck_all},
    CU_TEST_INFO_NULL,
};
