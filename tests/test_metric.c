/* The metric suite: every metric of include/amber/metric.h against MXNet
 * 1.9.1's mxnet.metric on the same updates (tests/fixtures/metrics/make.py
 * wrote cases.h), accumulation, reset, the composite and bad input. */
#include "test_util.h"

#include <amber/metric.h>

#define F32 AM_DTYPE_FLOAT32

/* The shapes of tests/fixtures/metrics/cases.h. */
typedef struct mx_arr {
    int ndim;
    int64_t dim[3];
    const double *v;
} mx_arr;
typedef struct mx_pair {
    mx_arr label, pred;
} mx_pair;
typedef struct mx_update {
    int n;
    mx_pair pairs[2];
} mx_update;
typedef struct mx_case {
    const char *id, *name;
    int n_updates;
    mx_update updates[3];
    double want[3];
} mx_case;

#include "fixtures/metrics/cases.h"

#define N_CASES ((int)(sizeof(mx_cases) / sizeof(mx_cases[0])))

/* ---- helpers -------------------------------------------------------------------------------- */

/* The metric a case id names, with that case's options. */
static am_metric *make_metric(const char *id)
{
    static const struct {
        const char *id;
        am_metric *(*make)(void);
    } plain[] = {{"mae", am_metric_mae}, {"mse", am_metric_mse}, {"rmse", am_metric_rmse}};
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        if (strcmp(id, plain[i].id) == 0) return plain[i].make();
    if (strcmp(id, "accuracy") == 0 || strcmp(id, "accuracy_same_shape") == 0)
        return am_metric_accuracy(1);
    if (strcmp(id, "accuracy_axis0") == 0) return am_metric_accuracy(0);
    if (strcmp(id, "top_k_2") == 0) return am_metric_top_k_accuracy(2);
    if (strcmp(id, "top_k_3") == 0) return am_metric_top_k_accuracy(3);
    if (strcmp(id, "f1_macro") == 0) return am_metric_f1(AM_METRIC_AVERAGE_MACRO);
    if (strcmp(id, "f1_micro") == 0) return am_metric_f1(AM_METRIC_AVERAGE_MICRO);
    if (strcmp(id, "ce") == 0) return am_metric_cross_entropy(1e-12);
    if (strcmp(id, "ce_eps") == 0) return am_metric_cross_entropy(0.1);
    if (strcmp(id, "perplexity") == 0) return am_metric_perplexity(NULL);
    if (strcmp(id, "perplexity_ignore") == 0)
        return am_metric_perplexity(&(am_perplexity_opts){.ignore = true, .ignore_label = 2});
    if (strcmp(id, "pearson") == 0) return am_metric_pearson_correlation(AM_METRIC_AVERAGE_MACRO);
    if (strcmp(id, "pearson_micro") == 0)
        return am_metric_pearson_correlation(AM_METRIC_AVERAGE_MICRO);
    return NULL;
}

/* A float32 array (owned by the current scope) from a fixture array. */
static am_array *arr(const mx_arr *a)
{
    am_shape s = am_shape_make(a->ndim, a->dim);
    return tu_array_from(F32, s, a->v, am_shape_size(&s));
}

/* Runs update u of case c on m. */
static am_status run_update(am_metric *m, const mx_update *u)
{
    am_array *labels[2], *preds[2];
    for (int i = 0; i < u->n; i++) {
        labels[i] = arr(&u->pairs[i].label);
        preds[i] = arr(&u->pairs[i].pred);
    }
    return am_metric_update(m, labels, preds, u->n);
}

static bool close_to(double got, double want, double tol)
{
    if (fabs(got - want) <= tol * (1 + fabs(want))) return true;
    printf("\n  got %.10g, MXNet %.10g\n", got, want);
    return false;
}

/* Metric m's value after each update of c is MXNet's. */
static void check_against_mxnet(am_metric *m, const mx_case *c)
{
    const char *name;
    double v;
    for (int u = 0; u < c->n_updates; u++) {
        CU_ASSERT_EQUAL(run_update(m, &c->updates[u]), AM_OK);
        CU_ASSERT_EQUAL(am_metric_get(m, &name, &v), AM_OK);
        CU_ASSERT_STRING_EQUAL(name, c->name);
        if (!close_to(v, c->want[u], 1e-5)) printf("  case %s, update %d\n", c->id, u);
        CU_ASSERT(close_to(v, c->want[u], 1e-5));
    }
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* Every case: values accumulate over updates as MXNet's; after a reset the
 * metric is NaN, then gives the same values again. */
static void test_against_mxnet(void)
{
    am_scope_begin();
    for (int i = 0; i < N_CASES; i++) {
        am_metric *m = make_metric(mx_cases[i].id);
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        check_against_mxnet(m, &mx_cases[i]);
        am_metric_reset(m);
        double v = 0;
        CU_ASSERT_EQUAL(am_metric_get(m, NULL, &v), AM_OK);
        CU_ASSERT(isnan(v));
        check_against_mxnet(m, &mx_cases[i]);
        am_metric_free(m);
    }
    am_scope_end();
}

static const mx_case *find_case(const char *id)
{
    for (int i = 0; i < N_CASES; i++)
        if (strcmp(mx_cases[i].id, id) == 0) return &mx_cases[i];
    return NULL;
}

/* A composite holds the values its children would have alone, in order. */
static void test_composite(void)
{
    am_scope_begin();
    const mx_case *c = find_case("accuracy");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    am_metric *comp = am_metric_composite();
    CU_ASSERT_EQUAL(am_metric_composite_add(comp, am_metric_accuracy(1)), AM_OK);
    CU_ASSERT_EQUAL(am_metric_composite_add(comp, am_metric_top_k_accuracy(2)), AM_OK);
    am_metric *inner = am_metric_composite();
    CU_ASSERT_EQUAL(am_metric_composite_add(inner, am_metric_cross_entropy(1e-12)), AM_OK);
    CU_ASSERT_EQUAL(am_metric_composite_add(comp, inner), AM_OK);
    am_metric *alone[3] = {am_metric_accuracy(1), am_metric_top_k_accuracy(2),
                           am_metric_cross_entropy(1e-12)};
    for (int u = 0; u < c->n_updates; u++) {
        CU_ASSERT_EQUAL(run_update(comp, &c->updates[u]), AM_OK);
        for (int k = 0; k < 3; k++) CU_ASSERT_EQUAL(run_update(alone[k], &c->updates[u]), AM_OK);
    }
    const char *names[4];
    double values[4];
    CU_ASSERT_EQUAL(am_metric_get_all(comp, names, values, 4), 3);
    for (int k = 0; k < 3; k++) {
        const char *name;
        double v;
        am_metric_get(alone[k], &name, &v);
        CU_ASSERT_STRING_EQUAL(names[k], name);
        CU_ASSERT_DOUBLE_EQUAL(values[k], v, 1e-12);
        am_metric_free(alone[k]);
    }
    CU_ASSERT_STRING_EQUAL(names[1], "top_k_accuracy_2");
    TU_ASSERT_STATUS(am_metric_get(comp, NULL, NULL), AM_ERR_ARG,
                        "composite holds 3 values");
    am_metric_reset(comp);
    CU_ASSERT_EQUAL(am_metric_get_all(comp, NULL, values, 4), 3);
    CU_ASSERT(isnan(values[0]) && isnan(values[1]) && isnan(values[2]));
    am_metric_free(comp);
    am_scope_end();
}

static void test_errors(void)
{
    am_scope_begin();
    TU_ASSERT_FAILS(am_metric_top_k_accuracy(1), AM_ERR_ARG, "top_k must be at least 2");
    TU_ASSERT_FAILS(am_metric_f1((am_metric_average)7), AM_ERR_ARG, "am_metric_f1: average 7");
    TU_ASSERT_FAILS(am_metric_cross_entropy(-1), AM_ERR_ARG, "am_metric_cross_entropy: eps");
    am_metric *acc = am_metric_accuracy(1);
    am_array *pred = tu_array(F32, AM_SHAPE(2, 3), .1, .5, .4, .7, .2, .1);
    am_array *bad = tu_array(F32, AM_SHAPE(3), 0, 1, 2);
    TU_ASSERT_STATUS(am_metric_update(acc, &bad, &pred, 1), AM_ERR_SHAPE,
                    "accuracy: labels[0] (3,) and preds[0] (2, 3)");
    am_array *sym = am_var("x", AM_SHAPE(2, 3), F32);
    TU_ASSERT_STATUS(am_metric_update(acc, &bad, &sym, 1), AM_ERR_SYMBOLIC,
                    "accuracy: preds[0] is symbolic");
    TU_ASSERT_STATUS(am_metric_update(acc, &bad, &pred, 0), AM_ERR_ARG, "am_metric_update");
    /* A failed update leaves the metric as it was: still no updates. */
    double v = 0;
    CU_ASSERT_EQUAL(am_metric_get(acc, NULL, &v), AM_OK);
    CU_ASSERT(isnan(v));
    am_metric *f1 = am_metric_f1(AM_METRIC_AVERAGE_MACRO);
    am_array *three = tu_array(F32, AM_SHAPE(2), 0, 2);
    am_array *p3 = tu_array(F32, AM_SHAPE(2, 2), .1, .9, .8, .2);
    am_array *l3 = tu_array(F32, AM_SHAPE(3), 0, 1, 2);
    am_array *p33 = tu_array(F32, AM_SHAPE(3, 2), .1, .9, .8, .2, .5, .5);
    CU_ASSERT_EQUAL(am_metric_update(f1, &three, &p3, 1), AM_OK); /* two classes: fine */
    TU_ASSERT_STATUS(am_metric_update(f1, &l3, &p33, 1), AM_ERR_ARG,
                        "f1: labels[0] hold more");
    am_metric *ce = am_metric_cross_entropy(1e-12);
    TU_ASSERT_STATUS(am_metric_update(ce, &l3, &p33, 1), AM_ERR_ARG,
                    "cross-entropy: labels[0] holds class 2, outside [0, 2)");
    am_metric *mse = am_metric_mse();
    TU_ASSERT_STATUS(am_metric_update(mse, &bad, &pred, 1), AM_ERR_SHAPE,
                        "do not broadcast");
    am_metric *pr = am_metric_pearson_correlation(AM_METRIC_AVERAGE_MACRO);
    TU_ASSERT_STATUS(am_metric_update(pr, &bad, &pred, 1), AM_ERR_SHAPE,
                        "pearsonr: labels[0]");
    TU_ASSERT_STATUS(am_metric_composite_add(acc, am_metric_mae()), AM_ERR_ARG,
                    "not a composite");
    am_metric_free(acc);
    am_metric_free(f1);
    am_metric_free(ce);
    am_metric_free(mse);
    am_metric_free(pr);
    am_metric_free(NULL);
    am_metric_reset(NULL);
    am_scope_end();
}

/* Labels and preds of other dtypes are read as values. */
static void test_dtypes(void)
{
    am_scope_begin();
    am_metric *acc = am_metric_accuracy(1);
    am_array *label = tu_array(AM_DTYPE_INT32, AM_SHAPE(3), 1, 0, 2);
    am_array *pred = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3, 3), 0, 1, 0, 1, 0, 0, 0, 1, 0);
    CU_ASSERT_EQUAL(am_metric_update(acc, &label, &pred, 1), AM_OK);
    double v = 0;
    CU_ASSERT_EQUAL(am_metric_get(acc, NULL, &v), AM_OK);
    CU_ASSERT_DOUBLE_EQUAL(v, 2.0 / 3, 1e-12);
    am_metric_free(acc);
    am_scope_end();
}

/* The metric example of docs/losses-metrics.md, as written there. */
static void test_docs_example(void)
{
    am_scope_begin();
    am_array *x = tu_random(AM_SHAPE(8, 4), F32, -1, 1);
    am_array *y = tu_array(F32, AM_SHAPE(8), 0, 1, 2, 0, 1, 2, 0, 1);
    am_block *net = am_dense(3, NULL);
    am_block_initialize(net, NULL);
    /* --- docs example begins --- */
    am_metric *metrics = am_metric_composite();
    am_metric_composite_add(metrics, am_metric_accuracy(1));
    am_metric_composite_add(metrics, am_metric_top_k_accuracy(2));
    for (int batch = 0; batch < 3; batch++) {
        am_array *out = am_block_call(net, x);
        am_metric_update(metrics, &y, &out, 1);
    }
    const char *names[2];
    double values[2];
    int n = am_metric_get_all(metrics, names, values, 2);
    for (int i = 0; i < n; i++) printf("%s=%.3f ", names[i], values[i]);
    am_metric_free(metrics);
    /* --- docs example ends --- */
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT(values[0] >= 0 && values[0] <= 1 && values[1] >= values[0]);
    am_block_release(net);
    am_scope_end();
}

CU_TestInfo am_tests_metric[] = {
    {"every metric against MXNet's, accumulated and reset", test_against_mxnet},
    {"composite metrics hold their children's values", test_composite},
    {"metrics: bad options and inputs", test_errors},
    {"metrics read labels and preds of any dtype", test_dtypes},
    {"the docs/losses-metrics.md metric example", test_docs_example},
    CU_TEST_INFO_NULL,
};
