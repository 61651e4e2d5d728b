/* The cli suite: the built `amber` program's run, viz, inspect and convert commands,
 * end to end on the MLP and LeNet fixtures (tests/fixtures/make_run_fixtures.py
 * wrote their parameters, inputs and numpy's outputs), and their errors. */
#include "test_util.h"

#include <jansson.h>

#include <amber/io.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FIX "tests/fixtures/"

/* A scratch directory, the program and what its last run printed. */
typedef struct cli {
    char dir[64];
    char amber[4096];
    char *out, *err;     /* stdout and stderr of the last run (malloc'd) */
} cli;

/* The amber program beside this test binary, so `make test` and `make asan`
 * each run their own build. */
static bool find_amber(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 16);
    if (n <= 0) return false;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    strcpy(slash ? slash + 1 : buf, "amber");
    if (access(buf, X_OK) == 0) return true;
    printf("\n  %s is missing: build it first (make, or for ASan make BUILD=build-asan "
           "SANITIZE=1 build-asan/amber)\n", buf);
    return false;
}

static bool cli_begin(cli *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->dir, sizeof(c->dir), "/tmp/amber-cli-XXXXXX");
    if (!mkdtemp(c->dir)) {
        CU_FAIL("mkdtemp");
        return false;
    }
    bool ok = find_amber(c->amber, sizeof(c->amber));
    CU_ASSERT(ok);
    return ok;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void cli_end(cli *c)
{
    nftw(c->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(c->out);
    free(c->err);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = calloc((size_t)n + 1, 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) s[0] = '\0';
    fclose(f);
    return s;
}

/* c->dir/name, in a rotating buffer (a few may be live in one call). */
static const char *tmp_path(const cli *c, const char *name)
{
    static char bufs[8][256];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof(bufs[0]), "%s/%s", c->dir, name);
    return b;
}

/* Runs `amber ARGS` (ARGS as the shell reads them); returns its exit status
 * and keeps what it printed in c->out and c->err. */
static int run(cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(cli *c, const char *fmt, ...)
{
    char args[4096], cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "'%s' %s >%s/stdout 2>%s/stderr", c->amber, args, c->dir, c->dir);
    int status = system(cmd);
    free(c->out);
    free(c->err);
    c->out = read_all(tmp_path(c, "stdout"));
    c->err = read_all(tmp_path(c, "stderr"));
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool contains(const char *text, const char *what)
{
    if (text && strstr(text, what)) return true;
    printf("\n  output lacks '%s':\n%s\n", what, text ? text : "(null)");
    return false;
}

/* True when file a holds the values of file b within tol. */
static bool same_npy(const char *a, const char *b, double tol)
{
    am_scope_begin();
    am_array *x = am_npy_load(a), *y = am_npy_load(b);
    bool ok = x && y && tu_allclose(x, y, tol);
    if (!x || !y) printf("\n  %s\n", am_last_error());
    am_clear_error();
    am_scope_end();
    return ok;
}

/* ---- amber run ------------------------------------------------------------------------ */

/* The model's output through a plan and node by node equals numpy's. */
static void check_model(cli *c, const char *model)
{
    char expected[256];
    snprintf(expected, sizeof(expected), FIX "%s-output.npy", model);
    for (int planned = 0; planned < 2; planned++) {
        const char *out = tmp_path(c, planned ? "plan.npy" : "eval.npy");
        int rc = run(c, "run " FIX "%s-symbol.json " FIX "%s-0000.params "
                     "-i data=" FIX "%s-input.npy -o %s%s", model, model, model, out,
                     planned ? "" : " --no-optimize");
        CU_ASSERT_EQUAL(rc, 0);
        if (rc != 0) printf("\n  %s %s: %s", model, planned ? "plan" : "node by node", c->err);
        CU_ASSERT(same_npy(out, expected, 1e-4));
        CU_ASSERT_STRING_EQUAL(c->out, "");
        CU_ASSERT_STRING_EQUAL(c->err, "");
    }
}

static void test_run_mlp(void)
{
    cli c;
    if (cli_begin(&c)) check_model(&c, "mlp");
    cli_end(&c);
}

static void test_run_lenet(void)
{
    cli c;
    if (cli_begin(&c)) check_model(&c, "lenet");
    cli_end(&c);
}

/* A Module checkpoint MXNet wrote: softmax_label stays unbound, as Module.predict leaves it. */
static void test_run_module(void)
{
    cli c;
    if (cli_begin(&c)) check_model(&c, "module_mlp");
    cli_end(&c);
}

static void test_run_repeat(void)
{
    cli c;
    if (!cli_begin(&c)) return cli_end(&c);
    const char *model = "run " FIX "mlp-symbol.json " FIX "mlp-0000.params "
                        "-i data=" FIX "mlp-input.npy";
    CU_ASSERT_EQUAL(run(&c, "%s --repeat 3 --no-optimize", model), 0);
    CU_ASSERT(contains(c.out, "run: 3 runs node by node, median "));
    CU_ASSERT(contains(c.out, " ms, min "));
    CU_ASSERT_EQUAL(run(&c, "%s --repeat 4", model), 0);
    CU_ASSERT(contains(c.out, "run: 4 runs of the plan, median "));
    /* No -o: nothing written, nothing printed without --repeat. */
    CU_ASSERT_EQUAL(run(&c, "%s", model), 0);
    CU_ASSERT_STRING_EQUAL(c.out, "");
    cli_end(&c);
}

/* Files for the error cases, written through Amber's own writers. */
static void make_bad_files(cli *c)
{
    am_scope_begin();
    CU_ASSERT_EQUAL(am_npy_save(tmp_path(c, "wide.npy"), am_zeros(AM_SHAPE(4, 100),
                                                                   AM_DTYPE_FLOAT32)), AM_OK);
    CU_ASSERT_EQUAL(am_npy_save(tmp_path(c, "double.npy"), am_zeros(AM_SHAPE(4, 784),
                                                                     AM_DTYPE_FLOAT64)), AM_OK);
    am_ndlist *l = am_ndlist_load(FIX "mlp-0000.params");
    am_ndlist *extra = am_ndlist_create(), *missing = am_ndlist_create();
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    for (int i = 0; i < am_ndlist_size(l); i++) {
        am_ndlist_add(extra, am_ndlist_name(l, i), am_ndlist_get(l, i));
        if (strcmp(am_ndlist_name(l, i), "arg:dense1_bias") != 0)
            am_ndlist_add(missing, am_ndlist_name(l, i), am_ndlist_get(l, i));
    }
    am_ndlist_add(extra, "arg:extra", am_ones(AM_SHAPE(3), AM_DTYPE_FLOAT32));
    CU_ASSERT_EQUAL(am_ndlist_save(extra, tmp_path(c, "extra.params")), AM_OK);
    CU_ASSERT_EQUAL(am_ndlist_save(missing, tmp_path(c, "missing.params")), AM_OK);
    am_ndlist_free(l);
    am_ndlist_free(extra);
    am_ndlist_free(missing);
    am_scope_end();
    char *json = read_all(FIX "mlp-symbol.json");
    char *act = strstr(json, "\"Activation\"");
    CU_ASSERT_PTR_NOT_NULL_FATAL(act);
    FILE *f = fopen(tmp_path(c, "badop-symbol.json"), "w");
    fprintf(f, "%.*s\"FancyAct\"%s", (int)(act - json), json, act + strlen("\"Activation\""));
    fclose(f);
    free(json);
    f = fopen(tmp_path(c, "text.npy"), "w");
    fputs("not an array\n", f);
    fclose(f);
}

/* `amber run ARGS -o OUT` fails with one line holding what, writing nothing. */
static void check_run_error(cli *c, const char *args, int code, const char *what)
{
    const char *out = tmp_path(c, "out.npy");
    int rc = run(c, "run %s -o %s", args, out);
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT(contains(c->err, "amber run: "));
    CU_ASSERT(contains(c->err, what));
    const char *nl = strchr(c->err, '\n');
    CU_ASSERT(nl && nl[1] == '\0');  /* one line */
    CU_ASSERT(access(out, F_OK) != 0);
    if (rc != code) printf("\n  for '%s'\n", args);
}

#define MLP FIX "mlp-symbol.json "
#define MLP_P FIX "mlp-symbol.json " FIX "mlp-0000.params "

static void test_run_errors(void)
{
    cli c;
    if (!cli_begin(&c)) return cli_end(&c);
    make_bad_files(&c);
    char a[1024];
    const char *in = "-i data=" FIX "mlp-input.npy";
    check_run_error(&c, "/nonexistent-symbol.json", 1, "cannot open /nonexistent-symbol.json");
    check_run_error(&c, MLP "/nonexistent.params", 1, "cannot open /nonexistent.params");
    check_run_error(&c, MLP_P "-i data=/nonexistent.npy", 1, "cannot open /nonexistent.npy");
    snprintf(a, sizeof(a), MLP_P "-i data=%s", tmp_path(&c, "text.npy"));
    check_run_error(&c, a, 1, "text.npy");
    check_run_error(&c, MLP_P, 1, "the graph input 'data' has no value");
    snprintf(a, sizeof(a), MLP "%s %s", tmp_path(&c, "missing.params"), in);
    check_run_error(&c, a, 1, "the graph input 'dense1_bias' has no value");
    check_run_error(&c, MLP, 1, "the graph input 'data' has no value: give it with -i");
    snprintf(a, sizeof(a), MLP_P "%s -i foo=" FIX "mlp-input.npy", in);
    check_run_error(&c, a, 1, "-i names 'foo', which is no input of the graph");
    snprintf(a, sizeof(a), MLP_P "%s %s", in, in);
    check_run_error(&c, a, 1, "-i gives 'data' twice");
    snprintf(a, sizeof(a), MLP_P "%s -i dense0_bias=" FIX "mlp-input.npy", in);
    check_run_error(&c, a, 1, "-i gives 'dense0_bias', which " FIX "mlp-0000.params holds already");
    snprintf(a, sizeof(a), MLP "%s %s", tmp_path(&c, "extra.params"), in);
    check_run_error(&c, a, 1, "holds 'arg:extra', which is no input of the graph");
    check_run_error(&c, MLP FIX "lenet-0000.params --ignore-extra -i data=" FIX "mlp-input.npy", 1,
                    "'dense0_weight' has shape (64, ?) in the graph but " FIX "lenet-0000.params "
                    "holds (120, 256)");
    snprintf(a, sizeof(a), MLP_P "-i data=%s", tmp_path(&c, "wide.npy"));
    check_run_error(&c, a, 1, "'dense0_fwd'): data (4, 100) does not match weight (64, 784)");
    snprintf(a, sizeof(a), MLP_P "-i data=%s --no-optimize", tmp_path(&c, "double.npy"));
    check_run_error(&c, a, 1, "float64");
    snprintf(a, sizeof(a), MLP_P "%s -o %s", in, tmp_path(&c, "first.npy"));
    check_run_error(&c, a, 1, "2 -o files for a graph of 1 output");
    CU_ASSERT(access(tmp_path(&c, "first.npy"), F_OK) != 0);
    snprintf(a, sizeof(a), "%s " FIX "mlp-0000.params %s", tmp_path(&c, "badop-symbol.json"), in);
    check_run_error(&c, a, 1, "unknown op 'FancyAct'");
    check_run_error(&c, MLP_P "--bogus", 2, "unknown option or missing value '--bogus'");
    check_run_error(&c, MLP_P "--repeat 0", 2, "--repeat takes a count from 1");
    check_run_error(&c, MLP_P "-i data", 2, "-i takes NAME=FILE.npy");
    /* Extra parameters are skipped when asked. */
    snprintf(a, sizeof(a), MLP "%s %s -o %s --ignore-extra", tmp_path(&c, "extra.params"), in,
             tmp_path(&c, "y.npy"));
    CU_ASSERT_EQUAL(run(&c, "run %s", a), 0);
    CU_ASSERT(same_npy(tmp_path(&c, "y.npy"), FIX "mlp-output.npy", 1e-4));
    cli_end(&c);
}

/* ---- amber viz ------------------------------------------------------------------------ */

static void test_viz_mlp(void)
{
    cli c;
    if (!cli_begin(&c)) return cli_end(&c);
    CU_ASSERT_EQUAL(run(&c, "viz " FIX "mlp-symbol.json"), 0);
    CU_ASSERT(contains(c.out, "digraph \"mlp\" {\n"));
    CU_ASSERT(contains(c.out, "  n0 [label=\"data\", shape=ellipse, fillcolor=white];\n"));
    CU_ASSERT(contains(c.out, "  n1 [label=\"dense0_weight\", shape=ellipse, "
                              "fillcolor=\"#d9d9d9\"];"));
    CU_ASSERT(contains(c.out, "  n2 [label=\"dense0_bias\\n(64,)\", shape=ellipse"));
    CU_ASSERT(contains(c.out, "  n3 [label=\"dense0_fwd\\nFullyConnected\\nnum_hidden=64\"];"));
    CU_ASSERT(contains(c.out, "  n4 [label=\"dense0_relu_fwd\\nActivation\\nact_type=relu\"];"));
    CU_ASSERT(contains(c.out, "  n7 [label=\"dense1_fwd\\nFullyConnected\\nnum_hidden=10\", "
                              "peripheries=2];"));
    CU_ASSERT(contains(c.out, "  n0 -> n3;\n  n1 -> n3;\n  n2 -> n3;\n  n3 -> n4;\n  n4 -> n7;\n"));
    CU_ASSERT(contains(c.out, "}\n"));
    /* data has no __shape__: the shapes it decides are left out, with a note. */
    CU_ASSERT(contains(c.err, "amber viz: note: unknown shapes are left out"));
    cli_end(&c);
}

static void test_viz_shapes_and_file(void)
{
    cli c;
    if (!cli_begin(&c)) return cli_end(&c);
    const char *dot = tmp_path(&c, "lenet.dot");
    CU_ASSERT_EQUAL(run(&c, "viz " FIX "lenet-symbol.json -i data=2x1x28x28 -o %s", dot), 0);
    CU_ASSERT_STRING_EQUAL(c.out, "");
    CU_ASSERT_STRING_EQUAL(c.err, "");
    char *text = read_all(dot);
    CU_ASSERT(contains(text, "  n0 [label=\"data\\n(2, 1, 28, 28)\""));
    CU_ASSERT(contains(text, "  n1 [label=\"conv0_weight\\n(6, 1, 5, 5)\""));
    CU_ASSERT(contains(text, "\\nnum_filter=16\\nlayout=NCHW\\n(2, 16, 8, 8)\"];"));
    CU_ASSERT(contains(text, "pool1_fwd\\nPooling\\nkernel=(2, 2)\\nstride=(2, 2)\\npad=(0, 0)"
                             "\\n(2, 16, 4, 4)\"];"));
    CU_ASSERT(contains(text, "  n22 [label=\"dense2_fwd\\nFullyConnected\\nnum_hidden=10"
                             "\\n(2, 10)\", peripheries=2];"));
    CU_ASSERT(contains(text, "  n10 -> n11;\n  n11 -> n14;\n"));
    free(text);
    /* The optimized graph (inference passes) draws too. */
    CU_ASSERT_EQUAL(run(&c, "viz --optimized " FIX "lenet-symbol.json "
                            "-i 'data=(2, 1, 28, 28)'"), 0);
    CU_ASSERT(contains(c.out, "digraph \"lenet\""));
    CU_ASSERT(contains(c.out, "\\n(2, 10)\", peripheries=2];"));
    cli_end(&c);
}

/* Names that would break DOT are escaped; edges from a node of several
 * outputs carry the output index. */
static void test_viz_escapes_and_outputs(void)
{
    cli c;
    if (!cli_begin(&c)) return cli_end(&c);
    const char *json = tmp_path(&c, "odd-symbol.json");
    FILE *f = fopen(json, "w");
    fputs("{\"nodes\": [{\"op\": \"null\", \"name\": \"in\\\"put\\\\x\", \"attrs\": "
          "{\"__shape__\": \"(2, 4)\", \"__dtype__\": \"0\"}, \"inputs\": []},\n"
          "{\"op\": \"SliceChannel\", \"name\": \"split0\", \"attrs\": {\"num_outputs\": \"2\"}, "
          "\"inputs\": [[0, 0, 0]]},\n"
          "{\"op\": \"elemwise_add\", \"name\": \"add0\", \"inputs\": [[1, 1, 0], [1, 0, 0]]}],\n"
          "\"arg_nodes\": [0], \"heads\": [[2, 0, 0]], "
          "\"attrs\": {\"mxnet_version\": [\"int\", 10901]}}\n", f);
    fclose(f);
    CU_ASSERT_EQUAL(run(&c, "viz %s", json), 0);
    CU_ASSERT(contains(c.out, "digraph \"odd\""));
    CU_ASSERT(contains(c.out, "  n0 [label=\"in\\\"put\\\\x\\n(2, 4)\", shape=ellipse, "
                              "fillcolor=white];"));
    CU_ASSERT(contains(c.out, "  n1 [label=\"split0\\nSliceChannel\\nnum_outputs=2"
                              "\\n(2, 2) (2, 2)\"];"));
    CU_ASSERT(contains(c.out, "  n1 -> n2 [label=\"1\"];\n  n1 -> n2 [label=\"0\"];\n"));
    CU_ASSERT_STRING_EQUAL(c.err, "");
    cli_end(&c);
}

static void test_viz_errors(void)
{
    cli c;
    if (!cli_begin(&c)) return cli_end(&c);
    CU_ASSERT_EQUAL(run(&c, "viz " FIX "mlp-symbol.json -i foo=2x3"), 1);
    CU_ASSERT(contains(c.err, "amber viz: -i names 'foo', which is no input of the graph\n"));
    CU_ASSERT_EQUAL(run(&c, "viz " FIX "mlp-symbol.json -i data=2xx3"), 2);
    CU_ASSERT(contains(c.err, "'2xx3' is not a shape like 1x3x224x224"));
    CU_ASSERT_EQUAL(run(&c, "viz " FIX "mlp-symbol.json -i data=4x"), 2);
    CU_ASSERT(contains(c.err, "'4x' is not a shape"));
    CU_ASSERT_EQUAL(run(&c, "viz " FIX "mlp-symbol.json -i data=4x0"), 2);
    CU_ASSERT_EQUAL(run(&c, "viz " FIX "mlp-symbol.json -i 'data=[4, 784]'"), 0);
    CU_ASSERT(contains(c.out, "(4, 784)"));
    CU_ASSERT_EQUAL(run(&c, "viz /nonexistent.json"), 1);
    CU_ASSERT(contains(c.err, "amber viz: am_graph_load: cannot open /nonexistent.json"));
    CU_ASSERT_EQUAL(run(&c, "viz"), 2);
    cli_end(&c);
}

/* Sets PATH to dir (NULL: restores the saved one). */
static void set_path(const char *dir, char **saved)
{
    if (dir) {
        const char *path = getenv("PATH");
        *saved = strdup(path ? path : "/usr/bin:/bin");
        setenv("PATH", dir, 1);
    } else {
        setenv("PATH", *saved, 1);
        free(*saved);
    }
}

/* --svg pipes the DOT text through `dot -Tsvg`: a stand-in dot that echoes
 * its arguments and input checks the plumbing; without dot it says so. */
static void test_viz_svg(void)
{
    cli c;
    char *saved;
    if (!cli_begin(&c)) return cli_end(&c);
    set_path("/nonexistent", &saved);
    CU_ASSERT_EQUAL(run(&c, "viz --svg " FIX "mlp-symbol.json"), 1);
    set_path(NULL, &saved);
    CU_ASSERT(contains(c.err, "amber viz: --svg needs Graphviz's dot, which is not on PATH"));
    if (system("command -v dot >/dev/null 2>&1") == 0) {
        CU_ASSERT_EQUAL(run(&c, "viz --svg " FIX "mlp-symbol.json -i data=1x784"), 0);
        CU_ASSERT(contains(c.out, "<svg"));
        CU_ASSERT(contains(c.out, "dense0_fwd"));
    }
    FILE *f = fopen(tmp_path(&c, "dot"), "w");
    fputs("#!/bin/sh\nif [ \"$2\" = -o ]; then exec >\"$3\"; fi\n"
          "[ -e \"$FAIL_DOT\" ] && exit 3\necho \"<svg $*>\"; exec /bin/cat\n", f);
    fclose(f);
    chmod(tmp_path(&c, "dot"), 0755);
    set_path(c.dir, &saved);
    int rc = run(&c, "viz --svg " FIX "mlp-symbol.json");
    set_path(NULL, &saved);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(contains(c.out, "<svg -Tsvg>\ndigraph \"mlp\" {\n"));
    set_path(c.dir, &saved);
    rc = run(&c, "viz --svg " FIX "mlp-symbol.json -o %s", tmp_path(&c, "mlp.svg"));
    set_path(NULL, &saved);
    CU_ASSERT_EQUAL(rc, 0);
    char *text = read_all(tmp_path(&c, "mlp.svg"));
    CU_ASSERT(contains(text, "<svg -Tsvg -o "));
    CU_ASSERT(contains(text, "  n0 -> n3;\n"));
    free(text);
    setenv("FAIL_DOT", c.dir, 1);
    set_path(c.dir, &saved);
    rc = run(&c, "viz --svg " FIX "mlp-symbol.json");
    set_path(NULL, &saved);
    unsetenv("FAIL_DOT");
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT(contains(c.err, "amber viz: dot -Tsvg failed (exit status 3)\n"));
    cli_end(&c);
}

/* ---- amber inspect -------------------------------------------------------------------- */

static void test_inspect(void)
{
    cli c;
    if (!cli_begin(&c)) return cli_end(&c);
    CU_ASSERT_EQUAL(run(&c, "inspect " FIX "lenet-symbol.json " FIX "lenet-0000.params "
                            "-i data=2x1x28x28"), 0);
    CU_ASSERT(contains(c.out, "graph: " FIX "lenet-symbol.json, 23 nodes (12 ops), inference\n"));
    CU_ASSERT(contains(c.out, "nodes: 23 before the passes (12 ops), "));
    CU_ASSERT(contains(c.out, "\nsteps: "));
    CU_ASSERT(contains(c.out, "\nmemory: arena "));
    CU_ASSERT(contains(c.out, " with a buffer for each ("));
    CU_ASSERT(contains(c.out, "\nworkspace: "));
    CU_ASSERT(contains(c.out, "\nin-place: "));
    CU_ASSERT(contains(c.out, "\nviews: "));
    CU_ASSERT(contains(c.out, "pool1_fwd"));
    CU_ASSERT_STRING_EQUAL(c.err, "");
    CU_ASSERT_EQUAL(run(&c, "inspect --training " FIX "mlp-symbol.json -i 'data=(4, 784)'"), 0);
    CU_ASSERT(contains(c.out, "graph: " FIX "mlp-symbol.json, 8 nodes (3 ops), training\n"));
    CU_ASSERT(contains(c.out, "nodes: 8 before the passes (3 ops), "));
    CU_ASSERT_EQUAL(run(&c, "inspect " FIX "mlp-symbol.json -i nothere=2"), 1);
    CU_ASSERT(contains(c.err, "amber inspect: -i names 'nothere', which is no input of the graph"));
    CU_ASSERT_EQUAL(run(&c, "inspect " FIX "mlp-symbol.json " FIX "mlp-0000.params"), 1);
    CU_ASSERT(contains(c.err, "amber inspect: "));
    CU_ASSERT(contains(c.err, "data"));
    cli_end(&c);
}

/* `amber bench models --quick --json` on the smallest workload: every field is there,
 * and a peer that cannot run is skipped with its reason. */
static void test_bench_models_json(void)
{
    cli c;
    if (!cli_begin(&c)) return cli_end(&c);
    const char *json = tmp_path(&c, "bench.json");
    CU_ASSERT_EQUAL(run(&c, "bench models --quick --json %s --torch-python /nonexistent/python "
                        "--mxnet-python /nonexistent/python mlp_b1", json), 0);
    CU_ASSERT(contains(c.out, "| MLP 784-256-256-10, b1 | training |"));
    CU_ASSERT(contains(c.out, "pytorch: skipped, its Python is missing (/nonexistent/python)"));
    json_error_t err;
    json_t *doc = json_load_file(json, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    json_t *m = json_object_get(doc, "machine");
    CU_ASSERT(json_is_string(json_object_get(m, "cpu")));
    CU_ASSERT(json_integer_value(json_object_get(m, "threads")) >= 1);
    CU_ASSERT(json_integer_value(json_object_get(m, "peak_rss_kb")) > 0);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(m, "load_average_before")), 3);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(m, "load_average_after")), 3);
    CU_ASSERT(json_is_object(json_object_get(doc, "amber_call_us")));
    CU_ASSERT(json_is_string(json_object_get(json_object_get(json_object_get(doc, "peers"),
                                                             "mxnet"), "skipped")));
    json_t *res = json_object_get(doc, "results"), *r;
    size_t i;
    CU_ASSERT_EQUAL(json_array_size(res), 5); /* eager, hybridized x 2 phases, one plan */
    json_array_foreach(res, i, r) {
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "workload")), "mlp_b1");
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "peer")), "amber");
        CU_ASSERT(json_is_string(json_object_get(r, "mode")));
        CU_ASSERT(json_is_string(json_object_get(r, "phase")));
        double med = json_real_value(json_object_get(r, "median_ms"));
        CU_ASSERT(med > 0);
        CU_ASSERT(json_real_value(json_object_get(r, "min_ms")) <= med);
        CU_ASSERT(json_real_value(json_object_get(r, "max_ms")) >= med);
    }
    json_t *mem = json_array_get(json_object_get(doc, "memory"), 0);
    CU_ASSERT(json_integer_value(json_object_get(mem, "eager_training_bytes")) > 0);
    CU_ASSERT(json_integer_value(json_object_get(mem, "hybridized_training_bytes")) > 0);
    json_decref(doc);
    CU_ASSERT_EQUAL(run(&c, "bench models --quick nosuchmodel"), 2);
    CU_ASSERT(contains(c.err, "workloads: mlp_b1"));
    cli_end(&c);
}

/* ---- amber convert ------------------------------------------------------------------- */

/* A file read and written back is the same file; errors are one line. */
static void test_convert(void)
{
    cli c;
    if (!cli_begin(&c)) return cli_end(&c);
    const char *in = FIX "json/mxnet191_spellings-symbol.json";
    CU_ASSERT_EQUAL(run(&c, "convert %s %s", in, tmp_path(&c, "out-symbol.json")), 0);
    char *a = read_all(in), *b = read_all(tmp_path(&c, "out-symbol.json"));
    CU_ASSERT(a[0] != '\0');
    CU_ASSERT_STRING_EQUAL(a, b);
    free(a), free(b);
    CU_ASSERT_EQUAL(run(&c, "convert %s", in), 2);
    CU_ASSERT(contains(c.err, "amber convert: too few arguments (usage: amber convert"));
    CU_ASSERT_EQUAL(run(&c, "convert /nonexistent.json %s", tmp_path(&c, "x.json")), 1);
    CU_ASSERT(contains(c.err, "amber convert: am_graph_load: cannot open /nonexistent.json"));
    CU_ASSERT_EQUAL(run(&c, "convert %s /nonexistent/x.json", in), 1);
    CU_ASSERT(contains(c.err, "amber convert: am_graph_save: cannot create a file beside"));
    cli_end(&c);
}

/* `amber run` with several -o writes them all or none: when one cannot be
 * written the others keep their old contents; an input that is a FIFO is
 * refused at once (issue 12). */
static void test_run_outputs_all_or_none(void)
{
    cli c;
    if (!cli_begin(&c)) return cli_end(&c);
    char json[256];
    snprintf(json, sizeof(json), "%s", tmp_path(&c, "split-symbol.json"));
    FILE *f = fopen(json, "w");
    fputs("{\"nodes\": [{\"op\": \"null\", \"name\": \"data\", \"inputs\": []},\n"
          "{\"op\": \"SliceChannel\", \"name\": \"split0\", \"attrs\": {\"num_outputs\": \"2\"}, "
          "\"inputs\": [[0, 0, 0]]}],\n"
          "\"arg_nodes\": [0], \"heads\": [[1, 0, 0], [1, 1, 0]], "
          "\"attrs\": {\"mxnet_version\": [\"int\", 10901]}}\n", f);
    fclose(f);
    am_scope_begin();
    CU_ASSERT_EQUAL(am_npy_save(tmp_path(&c, "in.npy"),
                                tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 2), 1, 2, 3, 4)), AM_OK);
    CU_ASSERT_EQUAL(am_npy_save(tmp_path(&c, "a.npy"), am_zeros(AM_SHAPE(1), AM_DTYPE_FLOAT32)),
                    AM_OK);
    CU_ASSERT_EQUAL(mkdir(tmp_path(&c, "dir.npy"), 0700), 0);
    /* the second output is a directory: a.npy keeps its old value, no new file */
    CU_ASSERT_EQUAL(run(&c, "run %s -i data=%s -o %s -o %s", json, tmp_path(&c, "in.npy"),
                        tmp_path(&c, "a.npy"), tmp_path(&c, "dir.npy")), 1);
    CU_ASSERT(contains(c.err, "dir.npy: Is a directory"));
    TU_ASSERT_VALUES(am_npy_load(tmp_path(&c, "a.npy")), AM_SHAPE(1), 0, 0);
    CU_ASSERT_EQUAL(run(&c, "run %s -i data=%s -o %s -o %s", json, tmp_path(&c, "in.npy"),
                        tmp_path(&c, "b.npy"), tmp_path(&c, "dir.npy")), 1);
    CU_ASSERT(access(tmp_path(&c, "b.npy"), F_OK) != 0);
    /* both writable: both written */
    CU_ASSERT_EQUAL(run(&c, "run %s -i data=%s -o %s -o %s", json, tmp_path(&c, "in.npy"),
                        tmp_path(&c, "a.npy"), tmp_path(&c, "b.npy")), 0);
    TU_ASSERT_VALUES(am_npy_load(tmp_path(&c, "a.npy")), AM_SHAPE(2, 1), 0, 1, 3);
    TU_ASSERT_VALUES(am_npy_load(tmp_path(&c, "b.npy")), AM_SHAPE(2, 1), 0, 2, 4);
    am_scope_end();
    /* a FIFO as input, graph or parameters fails at once, naming it */
    CU_ASSERT_EQUAL(mkfifo(tmp_path(&c, "fifo"), 0600), 0);
    CU_ASSERT_EQUAL(run(&c, "run %s -i data=%s -o %s", json, tmp_path(&c, "fifo"),
                        tmp_path(&c, "x.npy")), 1);
    CU_ASSERT(contains(c.err, "fifo: not a regular file (a FIFO)"));
    CU_ASSERT_EQUAL(run(&c, "run %s -i data=%s", tmp_path(&c, "fifo"), tmp_path(&c, "in.npy")), 1);
    CU_ASSERT(contains(c.err, "(a FIFO)"));
    CU_ASSERT_EQUAL(run(&c, "run %s %s -i data=%s", json, tmp_path(&c, "fifo"),
                        tmp_path(&c, "in.npy")), 1);
    CU_ASSERT(contains(c.err, "(a FIFO)"));
    cli_end(&c);
}

CU_TestInfo am_tests_cli[] = {
    {"bench models --quick --json", test_bench_models_json},
    {"run: MLP equals numpy, planned and node by node", test_run_mlp},
    {"run: LeNet equals numpy, planned and node by node", test_run_lenet},
    {"run: --repeat prints median and min", test_run_repeat},
    {"run: a Module checkpoint with only data bound", test_run_module},
    {"run: each error is one line and writes nothing", test_run_errors},
    {"viz: nodes, parameters, edges", test_viz_mlp},
    {"viz: inferred shapes, -o, --optimized", test_viz_shapes_and_file},
    {"viz: escaped names, output indices on edges", test_viz_escapes_and_outputs},
    {"viz: errors", test_viz_errors},
    {"viz: --svg through dot", test_viz_svg},
    {"inspect: passes, steps and memory", test_inspect},
    {"convert: a file comes back byte for byte", test_convert},
    {"run: several -o are written all or none; FIFO inputs refused", test_run_outputs_all_or_none},
    CU_TEST_INFO_NULL,
};
