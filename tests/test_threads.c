/* The threads suite: what Amber promises threads (docs/threading.md), run
 * by `make tsan` under ThreadSanitizer as well: each thread's random stream
 * (unseeded threads never share one, seeded ones repeat), and threads each
 * building, planning and running a graph at once get what one thread gets. */
#include "test_util.h"

#include <pthread.h>

#define N_THREADS 4
#define N_DRAWS 16

typedef struct draw_job {
    bool seed;            /* call am_seed(7) first */
    double v[N_DRAWS];
    bool ok;
} draw_job;

static void *draw(void *arg)
{
    draw_job *j = arg;
    am_scope_begin();
    if (j->seed) am_seed(7);
    am_array *x = am_random_uniform(0, 1, AM_SHAPE(N_DRAWS), AM_DTYPE_FLOAT64);
    j->ok = x != NULL;
    for (int i = 0; x && i < N_DRAWS; i++) j->v[i] = am_array_data_f64(x)[i];
    am_scope_end();
    return NULL;
}

static void run_draws(draw_job *jobs, int n)
{
    pthread_t t[N_THREADS];
    for (int i = 0; i < n; i++) CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, draw, &jobs[i]), 0);
    for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < n; i++) CU_ASSERT(jobs[i].ok);
}

/* Threads that never seed draw from streams of their own. */
static void test_unseeded_threads_differ(void)
{
    draw_job jobs[N_THREADS] = {0};
    run_draws(jobs, N_THREADS);
    for (int a = 0; a < N_THREADS; a++)
        for (int b = a + 1; b < N_THREADS; b++) {
            int same = 0;
            for (int i = 0; i < N_DRAWS; i++)
                for (int k = 0; k < N_DRAWS; k++) same += jobs[a].v[i] == jobs[b].v[k];
            CU_ASSERT_EQUAL(same, 0);
        }
}

/* A seed gives the same numbers on every thread, as on this one. */
static void test_seeded_threads_repeat(void)
{
    draw_job jobs[N_THREADS] = {{.seed = true}, {.seed = true}, {.seed = true}, {.seed = true}};
    run_draws(jobs, N_THREADS);
    draw_job here = {.seed = true};
    draw(&here);
    for (int a = 0; a < N_THREADS; a++)
        CU_ASSERT(memcmp(jobs[a].v, here.v, sizeof(here.v)) == 0);
}

/* ---- graphs ------------------------------------------------------------------------------------- */

typedef struct plan_job {
    const float *x;       /* the input, 8 x 16 */
    float out[8 * 4];
    bool ok;
} plan_job;

/* A small MLP traced, planned and run 20 times on this thread. */
static void *plan_mlp(void *arg)
{
    plan_job *j = arg;
    am_scope_begin();
    am_seed(3);
    am_array *x = am_var("data", AM_SHAPE(8, 16), AM_DTYPE_FLOAT32);
    am_array *w1 = am_random_normal(0, 0.5, AM_SHAPE(32, 16), AM_DTYPE_FLOAT32);
    am_array *w2 = am_random_normal(0, 0.5, AM_SHAPE(4, 32), AM_DTYPE_FLOAT32);
    am_array *y = am_softmax(am_fully_connected(am_relu(am_fully_connected(x, w1, NULL, 32, true, true)),
                                                w2, NULL, 4, true, true), -1);
    am_graph *g = y ? am_graph_create(&y, 1) : NULL;
    am_plan *p = g ? am_plan_create(g, NULL) : NULL;
    am_array *in = am_zeros(AM_SHAPE(8, 16), AM_DTYPE_FLOAT32);
    if (in) memcpy(am_array_data(in), j->x, sizeof(float) * 8 * 16);
    j->ok = p && in && am_plan_bind(p, "data", in) == AM_OK;
    for (int r = 0; j->ok && r < 20; r++) j->ok = am_plan_run(p) == AM_OK;
    am_array *out = j->ok ? am_plan_output(p, 0) : NULL;
    if (out) memcpy(j->out, am_array_data(out), sizeof(j->out));
    j->ok = j->ok && out;
    if (!j->ok) printf("\n  %s\n", am_last_error());
    am_plan_release(p);
    am_graph_release(g);
    am_scope_end();
    return NULL;
}

static void test_threads_plan_alike(void)
{
    float x[8 * 16];
    for (int i = 0; i < 8 * 16; i++) x[i] = (float)((i * 37) % 19) / 19.0f - 0.5f;
    plan_job one = {.x = x}, jobs[N_THREADS];
    plan_mlp(&one);
    CU_ASSERT_FATAL(one.ok);
    pthread_t t[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        jobs[i] = (plan_job){.x = x};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, plan_mlp, &jobs[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < N_THREADS; i++) {
        CU_ASSERT(jobs[i].ok);
        CU_ASSERT(memcmp(jobs[i].out, one.out, sizeof(one.out)) == 0);
    }
}

CU_TestInfo am_tests_threads[] = {
    {"unseeded threads draw from distinct streams", test_unseeded_threads_differ},
    {"a seed repeats its numbers on any thread", test_seeded_threads_repeat},
    {"threads tracing, planning and running at once match one thread", test_threads_plan_alike},
    CU_TEST_INFO_NULL,
};
