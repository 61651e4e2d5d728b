/* `amber viz FILE.json [-i NAME=SHAPE ...] [--optimized] [--svg] [-o OUT]`:
 * a graph as Graphviz DOT (or SVG through `dot`), each node labelled with
 * its name, op, non-default attributes and inferred output shapes. */
#include "commands.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const usage_line =
    "usage: amber viz MODEL-symbol.json [-i NAME=SHAPE ...] [--optimized] [--svg] [-o OUT]";

#define USAGE(...) am_cmd_usage_error("viz", usage_line, __VA_ARGS__)

typedef struct viz_args {
    const char *json, *out;
    bool optimized, svg;
    am_cmd_values inputs;    /* -i NAME=SHAPE */
} viz_args;

static int parse_args(int argc, char **argv, viz_args *a)
{
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if (strcmp(s, "--optimized") == 0) {
            a->optimized = true;
        } else if (strcmp(s, "--svg") == 0) {
            a->svg = true;
        } else if (value && strcmp(s, "-o") == 0) {
            a->out = argv[++i];
        } else if (value && strcmp(s, "-i") == 0) {
            rc = am_cmd_add_shape_arg("viz", usage_line, argv[++i], &a->inputs);
        } else if (s[0] == '-' && s[1]) {
            rc = USAGE("unknown option or missing value '%s'", s);
        } else if (!a->json) {
            a->json = s;
        } else {
            rc = USAGE("unexpected argument '%s'", s);
        }
        if (rc) return rc;
    }
    return a->json ? 0 : USAGE("no graph given");
}

/* ---- DOT -------------------------------------------------------------------------- */

/* Writes s for a double-quoted DOT string: quotes and backslashes escaped
 * (so names cannot end the string or start an escape), controls as '?'. */
static void put_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fputc('\\', f);
        fputc(c < 0x20 || c == 0x7f ? '?' : c, f);
    }
}

/* True when input k of op is a learned input of a layer: an input after the
 * op's "data" (FullyConnected's weight and bias, BatchNorm's gamma). */
static bool weight_slot(const am_op_def *op, int k)
{
    const char *const *in = op->input_names;
    if (k == 0 || !in || !in[0] || strcmp(in[0], "data") != 0) return false;
    for (int j = 1; j <= k; j++)
        if (!in[j]) return false;
    return strcmp(in[k], "data") != 0;
}

/* Which variables are parameters (drawn grey): constants, auxiliary states
 * and learned inputs of layers, unless -i names them as inputs. */
static void mark_parameters(const am_graph *g, const viz_args *a, bool *param)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const am_node *n = g->nodes[i];
        param[i] = !n->op && n->value;
        for (int k = 0; n->op && k < n->n_in; k++) {
            const am_node *v = n->inputs[k].node;
            if (!v->op && (am_op_input_is_aux(n->op, n->attrs, k) || weight_slot(n->op, k)))
                param[am_graph_index(g, v)] = true;
        }
    }
    for (int k = 0; k < a->inputs.n; k++) {
        int i = am_cmd_find_variable(g, a->inputs.names[k]);
        if (i >= 0) param[i] = false;
    }
}

static void put_shapes(FILE *f, const am_node *n)
{
    int vis = n->op ? am_op_num_visible(n->op, n->attrs) : 1;
    char buf[128];
    for (int k = 0; k < vis; k++) {
        if (!am_shape_known(&n->shapes[k])) continue;
        fputs(k ? " " : "\\n", f);
        put_escaped(f, am_shape_format(&n->shapes[k], buf, sizeof(buf)));
    }
}

static void put_node(FILE *f, const am_graph *g, int i, bool param, bool head)
{
    const am_node *n = g->nodes[i];
    char buf[512];
    fprintf(f, "  n%d [label=\"", i);
    put_escaped(f, g->names[i]);
    if (n->op) {
        fputs("\\n", f);
        put_escaped(f, n->op->name);
        for (const am_attr_field *a = n->op->attrs; a && a->name; a++) {
            if (am_attr_is_default(a, n->attrs)) continue;
            fprintf(f, "\\n%s=", a->name);
            put_escaped(f, am_attr_format(a, n->attrs, buf, sizeof(buf)));
        }
    } else if (n->value) {
        fputs("\\nconstant", f);
    }
    put_shapes(f, n);
    fputs("\"", f);
    if (!n->op) fputs(param ? ", shape=ellipse, fillcolor=\"#d9d9d9\"" : ", shape=ellipse, "
                      "fillcolor=white", f);
    if (head) fputs(", peripheries=2", f);
    fputs("];\n", f);
}

static bool is_head(const am_graph *g, const am_node *n)
{
    for (int h = 0; h < g->n_heads; h++)
        if (g->heads[h].node == n) return true;
    return false;
}

typedef struct dot_ctx {
    const am_graph *g;
    const char *title;
    const bool *param;       /* per node: a parameter */
} dot_ctx;

static am_status write_dot(FILE *f, void *arg)
{
    const dot_ctx *c = arg;
    const am_graph *g = c->g;
    fputs("digraph \"", f);
    put_escaped(f, c->title);
    fputs("\" {\n  rankdir=TB;\n"
          "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#dbe8f7\", "
          "fontname=\"Helvetica\", fontsize=10];\n"
          "  edge [fontname=\"Helvetica\", fontsize=9];\n", f);
    for (int i = 0; i < g->n_nodes; i++) put_node(f, g, i, c->param[i], is_head(g, g->nodes[i]));
    for (int i = 0; i < g->n_nodes; i++) {
        const am_node *n = g->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            am_entry e = n->inputs[k];
            fprintf(f, "  n%d -> n%d", am_graph_index(g, e.node), i);
            if (e.node->op && am_op_num_visible(e.node->op, e.node->attrs) > 1)
                fprintf(f, " [label=\"%d\"]", e.index);
            fputs(";\n", f);
        }
    }
    fputs("}\n", f);
    return ferror(f) ? AM_ERR_IO : AM_OK;
}

/* ---- output ------------------------------------------------------------------------ */

/* True when prog is an executable file in a directory of $PATH. */
static bool on_path(const char *prog)
{
    const char *path = getenv("PATH");
    char buf[4096];
    for (const char *p = path; p && *p;) {
        size_t len = strcspn(p, ":");
        snprintf(buf, sizeof(buf), "%.*s/%s", (int)(len ? len : 1), len ? p : ".", prog);
        if (access(buf, X_OK) == 0) return true;
        p += len + (p[len] == ':');
    }
    return false;
}

/* Pipes the DOT text through `dot -Tsvg` (to out, or to stdout). */
static int write_svg(dot_ctx *c, const char *out)
{
    if (!on_path("dot"))
        return am_cmd_fail("viz", "--svg needs Graphviz's dot, which is not on PATH (install "
                           "graphviz, or drop --svg for the DOT text)");
    int fd[2];
    fflush(stdout);
    if (pipe(fd) != 0) return am_cmd_fail("viz", "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return am_cmd_fail("viz", "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        dup2(fd[0], STDIN_FILENO);
        close(fd[0]);
        close(fd[1]);
        char *const argv_svg[] = {"dot", "-Tsvg", out ? "-o" : NULL, (char *)out, NULL};
        execvp("dot", argv_svg);
        _exit(127);
    }
    close(fd[0]);
    signal(SIGPIPE, SIG_IGN);  /* dot failing early is an error below, not a signal */
    FILE *f = fdopen(fd[1], "w");
    am_status st = f ? write_dot(f, c) : AM_ERR_IO;
    if (f) fclose(f);
    else close(fd[1]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (st != AM_OK || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return am_cmd_fail("viz", "dot -Tsvg failed (exit status %d)",
                           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}

static int write_output(dot_ctx *c, const viz_args *a)
{
    if (a->svg) return write_svg(c, a->out);
    if (!a->out) {
        if (write_dot(stdout, c) != AM_OK || fflush(stdout) != 0)
            return am_cmd_fail("viz", "cannot write the standard output");
        return 0;
    }
    if (am_file_write_atomic(a->out, write_dot, c) != AM_OK) return am_cmd_fail_last("viz");
    return 0;
}

/* "mlp" for "models/mlp-symbol.json". */
static void graph_title(const char *path, char *buf, size_t len)
{
    const char *base = strrchr(path, '/');
    snprintf(buf, len, "%s", base ? base + 1 : path);
    char *end = strstr(buf, ".json");
    if (end) *end = '\0';
    size_t n = strlen(buf);
    if (n > 7 && strcmp(buf + n - 7, "-symbol") == 0) buf[n - 7] = '\0';
}

/* ---- the command ------------------------------------------------------------------- */

/* Infers what the given shapes (float32 inputs) and the graph's own
 * __shape__ attributes allow.  Unknown shapes are left out of the drawing,
 * with a note on stderr. */
static int infer_shapes(am_graph *g, const viz_args *a)
{
    const am_cmd_values *in = &a->inputs;
    for (int k = 0; k < in->n; k++)
        if (am_cmd_find_variable(g, in->names[k]) < 0)
            return am_cmd_fail("viz", "-i names '%s', which is no input of the graph",
                               in->names[k]);
    if (am_graph_infer(g, am_cmd_names(in), in->shapes, in->dtypes, in->n) != AM_OK) {
        /* "... give their shapes" asks for -i; an op's own error does not. */
        const char *msg = am_last_error(), *ask = "give their shapes";
        size_t len = strlen(msg), n = strlen(ask);
        bool asks = len >= n && strcmp(msg + len - n, ask) == 0;
        fprintf(stderr, "amber viz: note: unknown shapes are left out (%s%s)\n", msg,
                asks ? " with -i NAME=SHAPE" : "");
        am_clear_error();
    }
    return 0;
}

static int viz(const viz_args *a)
{
    am_graph *g = am_graph_load(a->json), *shown = NULL;
    if (!g) return am_cmd_fail_last("viz");
    int rc = infer_shapes(g, a);
    if (rc == 0 && a->optimized) {
        shown = am_graph_optimize(g, &(am_optimize_opts){.training = false});
        if (!shown) rc = am_cmd_fail_last("viz");
    } else if (rc == 0) {
        shown = am_graph_retain(g);
    }
    bool *param = rc == 0 ? calloc((size_t)shown->n_nodes + 1, sizeof(*param)) : NULL;
    if (rc == 0 && !param) rc = am_cmd_fail("viz", "out of memory");
    if (rc == 0) {
        char title[256];
        graph_title(a->json, title, sizeof(title));
        mark_parameters(shown, a, param);
        rc = write_output(&(dot_ctx){shown, title, param}, a);
    }
    free(param);
    am_graph_release(shown);
    am_graph_release(g);
    return rc;
}

int am_cmd_viz(int argc, char **argv)
{
    viz_args a = {0};
    am_scope_begin();
    int rc = parse_args(argc, argv, &a);
    if (rc == 0) rc = viz(&a);
    am_cmd_values_free(&a.inputs);
    am_scope_end();
    return rc;
}
