/* The scale suite: long chains load, plan and run in time linear in their
 * length, and no walk over a graph recurses once per node (the work runs on
 * a thread with a small stack, which a recursive walk would overflow). */
#include "test_util.h"

#include <pthread.h>
#include <time.h>

#include "../symbol/symbol_impl.h"

/* data -> relu0 -> ... -> relu<n-1>, named as MXNet names them; unnamed
 * leaves the op nodes' names empty, for the graph to choose. */
static char *chain_json(int n, bool unnamed, size_t *len)
{
    size_t cap = 256 + (size_t)n * 96, k = 0;
    char *s = malloc(cap);
    if (!s) return NULL;
    k += (size_t)sprintf(s, "{\"nodes\": [{\"op\": \"null\", \"name\": \"data\", \"inputs\": []}");
    for (int i = 0; i < n; i++) {
        char name[32] = "";
        if (!unnamed) snprintf(name, sizeof(name), "relu%d", i);
        k += (size_t)sprintf(s + k, ", {\"op\": \"relu\", \"name\": \"%s\", \"inputs\": [[%d, 0, 0]]}",
                             name, i);
    }
    k += (size_t)sprintf(s + k, "], \"arg_nodes\": [0], \"heads\": [[%d, 0, 0]]}", n);
    *len = k;
    return s;
}

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct chain_job {
    int n;
    bool unnamed;
    bool ok;            /* every step passed */
    double load_s;      /* thread CPU seconds to read the JSON into a graph */
    char error[256];
} chain_job;

static void *run_chain(void *arg)
{
    chain_job *j = arg;
    size_t len;
    char *text = chain_json(j->n, j->unnamed, &len);
    const char *names[] = {"data"};
    am_shape shape = AM_SHAPE(5);
    am_dtype dtype = AM_DTYPE_FLOAT32;
    am_graph *g = NULL, *back = NULL, *grad = NULL;
    am_plan *p = NULL;
    char *json = NULL;
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(5), -2, -1, 0, 1, 2), *y = NULL;
    double t0 = cpu_s();
    g = text ? am_graph_from_json_buffer(text, len, "chain") : NULL;
    j->load_s = cpu_s() - t0;
    am_plan_opts o = {.names = names, .shapes = &shape, .dtypes = &dtype, .n = 1};
    char last[32];
    snprintf(last, sizeof(last), "relu%d", j->n - 1);
    j->ok = g && am_graph_num_nodes(g) == j->n + 1 && strcmp(g->names[j->n], last) == 0 &&
            am_graph_infer(g, names, &shape, &dtype, 1) == AM_OK &&
            (p = am_plan_create(g, &o)) != NULL && am_plan_bind(p, "data", x) == AM_OK &&
            am_plan_run(p) == AM_OK && tu_values_are(am_plan_output(p, 0), shape,
                                                     (const double[]){0, 0, 0, 1, 2}, 5, 0) &&
            am_graph_eval(g, names, &x, 1, false, &y, 1) == AM_OK &&
            tu_values_are(y, shape, (const double[]){0, 0, 0, 1, 2}, 5, 0) &&
            (json = am_graph_to_json(g)) != NULL &&
            (back = am_graph_from_json(json)) != NULL && am_graph_num_nodes(back) == j->n + 1 &&
            (grad = am_graph_gradient(g, names, 1)) != NULL && am_graph_num_nodes(grad) > j->n;
    if (g && !j->ok && am_graph_num_nodes(g) == j->n + 1 && strcmp(g->names[j->n], last) != 0)
        snprintf(j->error, sizeof(j->error), "the last node is named '%s'", g->names[j->n]);
    if (!j->ok && !j->error[0]) snprintf(j->error, sizeof(j->error), "%s", am_last_error());
    free(json);
    am_graph_release(back);
    am_graph_release(grad);
    am_plan_release(p);
    am_graph_release(g);
    am_scope_end();
    free(text);
    return NULL;
}

/* Runs the job on a thread with a 256 KiB stack: a walk that recursed once
 * per node would need far more for these chains. */
static void run_small_stack(chain_job *j)
{
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, &attr, run_chain, j), 0);
    pthread_join(t, NULL);
    pthread_attr_destroy(&attr);
    if (!j->ok) printf("\n  chain of %d: %s\n", j->n, j->error);
    CU_ASSERT(j->ok);
}

/* Loading a chain of 200k named nodes took minutes while naming searched a
 * list of names; linear, it takes a fraction of a second (a few under the
 * sanitizers), so 20 s of CPU is a generous bound that quadratic work
 * cannot meet. */
static void test_long_named_chain(void)
{
    chain_job j = {.n = 200000};
    run_small_stack(&j);
    if (j.load_s > 20) printf("\n  loading took %.1f s of CPU\n", j.load_s);
    CU_ASSERT(j.load_s < 20);
}

/* Unnamed nodes are named relu0, relu1, ... by one counter. */
static void test_long_unnamed_chain(void)
{
    chain_job j = {.n = 100000, .unnamed = true};
    run_small_stack(&j);
}

/* data + b0 + b1 + ... + b<n-1>: a variable per node, each bound by name
 * (inference, node-by-node evaluation, freezing, a plan's signature and
 * binding, listing and differentiating look each name up once, not by a
 * search over the graph). */
static void test_many_variables(void)
{
    enum { N = 50000 };
    am_scope_begin();
    char (*names)[16] = malloc(sizeof(*names) * (N + 1));
    const char **name_ptrs = malloc(sizeof(*name_ptrs) * (N + 1));
    am_shape *shapes = malloc(sizeof(*shapes) * (N + 1));
    am_dtype *dtypes = malloc(sizeof(*dtypes) * (N + 1));
    am_array **values = malloc(sizeof(*values) * (N + 1));
    CU_ASSERT_FATAL(names && name_ptrs && shapes && dtypes && values);
    am_array *one = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 1, 1);
    am_array *y = am_var("data", AM_SHAPE(2), AM_DTYPE_FLOAT32);
    values[0] = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 0.5, -3);
    snprintf(names[0], sizeof(names[0]), "data");
    for (int i = 1; i <= N; i++) {
        snprintf(names[i], sizeof(names[i]), "b%d", i - 1);
        y = am_add(y, am_var(names[i], AM_SHAPE(2), AM_DTYPE_FLOAT32));
        values[i] = one;
    }
    for (int i = 0; i <= N; i++) {
        name_ptrs[i] = names[i];
        shapes[i] = AM_SHAPE(2);
        dtypes[i] = AM_DTYPE_FLOAT32;
    }
    am_graph *g = y ? am_graph_create(&y, 1) : NULL, *frozen = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    double t0 = cpu_s();
    CU_ASSERT_EQUAL(am_graph_infer(g, name_ptrs, shapes, dtypes, N + 1), AM_OK);
    am_array *out = NULL;
    CU_ASSERT_EQUAL(am_graph_eval(g, name_ptrs, values, N + 1, false, &out, 1), AM_OK);
    if (out) TU_ASSERT_VALUES(out, AM_SHAPE(2), 0, N + 0.5, N - 3.0);
    frozen = am_graph_freeze(g, name_ptrs + 1, values + 1, N);
    CU_ASSERT_PTR_NOT_NULL(frozen);
    am_plan_opts o = {.training = true, .names = name_ptrs, .shapes = shapes, .dtypes = dtypes,
                      .n = N + 1};
    am_plan *p = am_plan_create(g, &o);
    CU_ASSERT_PTR_NOT_NULL(p);
    for (int i = 0; p && i <= N; i++)
        if (am_plan_bind(p, names[i], values[i]) != AM_OK) {
            CU_FAIL("am_plan_bind");
            break;
        }
    if (p && am_plan_run(p) == AM_OK)
        TU_ASSERT_VALUES(am_plan_output(p, 0), AM_SHAPE(2), 0, N + 0.5, N - 3.0);
    CU_ASSERT_EQUAL(am_graph_list_arguments(g, name_ptrs, N + 1), N + 1);
    CU_ASSERT_EQUAL(am_graph_list_auxiliary_states(g, NULL, 0), 0);
    am_graph *grad = am_graph_gradient(g, name_ptrs + 1, N);
    CU_ASSERT(grad && am_graph_num_outputs(grad) == N + 1);
    am_graph_release(grad);
    double t = cpu_s() - t0;
    if (t > 20) printf("\n  %.1f s of CPU for %d variables\n", t, N);
    CU_ASSERT(t < 20);
    am_plan_release(p);
    am_graph_release(frozen);
    am_graph_release(g);
    free(names), free(name_ptrs), free(shapes), free(dtypes), free(values);
    am_scope_end();
}

CU_TestInfo am_tests_scale[] = {
    {"a chain of 200k named nodes loads in linear time, no recursion", test_long_named_chain},
    {"a chain of 100k unnamed nodes is named and runs, no recursion", test_long_unnamed_chain},
    {"50k variables are bound by name in linear time", test_many_variables},
    CU_TEST_INFO_NULL,
};
