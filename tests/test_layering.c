/* The layering suite: ndarray/ includes nothing of symbol/ or executor/ (it
 * reaches them through am_symbol_hooks), a node keeps its call site as a
 * file and a line that passes read back unchanged, composition rebuilds
 * through the shared rewriter, and the attribute structs CUDA code reads
 * have the layout of their op's schema (docs/design.md, "Layering"). */
#include "test_util.h"

#include <dirent.h>

#include "../ndarray/ops/init_attrs.h"
#include "../symbol/symbol_impl.h"

/* The #include lines of path that name a symbol/ or executor/ header; each is
 * printed. */
static int upward_includes(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("\n  cannot read %s\n", path);
        return 1;
    }
    char line[512];
    int bad = 0;
    while (fgets(line, sizeof(line), f)) {
        const char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (strncmp(p, "#include", 8) != 0) continue;
        if (strstr(p, "symbol/") || strstr(p, "executor/") || strstr(p, "hybrid/") ||
            strstr(p, "symbol_impl.h") || strstr(p, "executor_impl.h")) {
            printf("\n  %s: %s", path, line);
            bad++;
        }
    }
    fclose(f);
    return bad;
}

static void test_ndarray_includes_no_upper_layer(void)
{
    const char *dirs[] = {"ndarray", "ndarray/ops"};
    int files = 0, bad = 0;
    for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
        DIR *dir = opendir(dirs[d]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
        struct dirent *e;
        while ((e = readdir(dir))) {
            size_t n = strlen(e->d_name);
            if (n < 3 || e->d_name[n - 2] != '.' || (e->d_name[n - 1] != 'c' && e->d_name[n - 1] != 'h'))
                continue;
            char path[512];
            snprintf(path, sizeof(path), "%s/%s", dirs[d], e->d_name);
            bad += upward_includes(path);
            files++;
        }
        closedir(dir);
    }
    CU_ASSERT(files > 50);
    CU_ASSERT_EQUAL(bad, 0);
}

/* A traced node records the line of the call; am_node_site hands back the
 * file's base name and that line, and the rewriter's copy keeps both. */
static void test_node_site_is_structured(void)
{
    am_scope_begin();
    int var_line = __LINE__ + 1;
    am_array *x = am_var("x", AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
    int line = __LINE__ + 1;
    am_array *y = am_relu(x);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    const am_node *n = y->node;
    char buf[64];
    am_site at = am_node_site(n, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(at.file, "test_layering.c");
    CU_ASSERT_EQUAL(at.line, line);
    CU_ASSERT_PTR_EQUAL(at.file, buf);
    char want[64];
    snprintf(want, sizeof(want), "test_layering.c:%d", line);
    CU_ASSERT_STRING_EQUAL(n->origin, want);
    /* A buffer too small truncates the name, never the line. */
    char small[5];
    at = am_node_site(n, small, sizeof(small));
    CU_ASSERT_STRING_EQUAL(at.file, "test");
    CU_ASSERT_EQUAL(at.line, line);
    /* The variable's own site. */
    at = am_node_site(x->node, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(at.file, "test_layering.c");
    CU_ASSERT_EQUAL(at.line, var_line);

    /* Composition replaces x: relu is rebuilt by the rewriter and keeps its site. */
    am_graph *g = am_graph_create(&y, 1);
    am_array *z = am_var("z", AM_SHAPE(4, 5), AM_DTYPE_FLOAT32);
    am_graph *zg = am_graph_create(&z, 1);
    const char *names[] = {"x"};
    am_graph *c = am_graph_compose(g, names, &zg, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    const am_node *r = c->heads[0].node;
    CU_ASSERT_PTR_NOT_EQUAL(r, n);
    CU_ASSERT_EQUAL(r->shapes[0].ndim, 2);
    CU_ASSERT_EQUAL(r->shapes[0].dim[0], 4);
    at = am_node_site(r, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(at.file, "test_layering.c");
    CU_ASSERT_EQUAL(at.line, line);
    CU_ASSERT_STRING_EQUAL(r->origin, want);
    am_graph_release(c), am_graph_release(zg), am_graph_release(g);
    am_scope_end();
}

/* am_rw_build makes the node that replaces another: inferred, with the old
 * node's name and call site. */
static void test_rw_build_names_and_places(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2, 3), AM_DTYPE_FLOAT64);
    int line = __LINE__ + 1;
    am_array *y = am_relu(x);
    am_graph *g = am_graph_create(&y, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    am_rewriter rw;
    CU_ASSERT_EQUAL_FATAL(am_rw_init(&rw, g), AM_OK);
    int relu = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        if (!g->nodes[i]->op) {
            CU_ASSERT_PTR_NOT_NULL(am_rw_keep(&rw, i));
            continue;
        }
        relu = i;
        am_entry in = am_rw_get(&rw, g->nodes[i]->inputs[0]);
        am_node *n = am_rw_build(&rw, i, am_op_find("sigmoid"), NULL, &in, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(n);
        am_rw_set(&rw, i, 0, (am_entry){n, 0});
        am_node_release(n);
    }
    am_graph *h = am_rw_finish(&rw);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const am_node *n = h->heads[0].node;
    CU_ASSERT_STRING_EQUAL(n->op->name, "sigmoid");
    CU_ASSERT_STRING_EQUAL(n->name, g->names[relu]);
    CU_ASSERT_EQUAL(n->dtypes[0], AM_DTYPE_FLOAT64);
    CU_ASSERT_EQUAL(n->shapes[0].ndim, 2);
    char buf[64];
    am_site at = am_node_site(n, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(at.file, "test_layering.c");
    CU_ASSERT_EQUAL(at.line, line);
    /* An op that cannot take the inputs fails with its own error: dot of
     * two (2, 3) matrices. */
    CU_ASSERT_EQUAL_FATAL(am_rw_init(&rw, g), AM_OK);
    const am_op_def *dot = am_op_find("dot");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dot);
    void *dot_attrs = am_attrs_parse(dot, NULL, NULL, 0);
    am_entry two[2] = {g->heads[0], g->heads[0]};
    am_node *bad = am_rw_build(&rw, relu, dot, dot_attrs, two, 2);
    CU_ASSERT_PTR_NULL(bad);
    CU_ASSERT_EQUAL(am_last_status(), AM_ERR_SHAPE);
    am_node_release(bad);
    free(dot_attrs);
    am_rw_fail(&rw);
    am_clear_error();
    am_graph_release(h), am_graph_release(g);
    am_scope_end();
}

/* A node made without a call site has none. */
static void test_node_without_site(void)
{
    am_node *n = am_node_create(NULL, NULL, NULL, 0, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    char buf[32];
    am_site at = am_node_site(n, buf, sizeof(buf));
    CU_ASSERT_PTR_NULL(at.file);
    CU_ASSERT_EQUAL(at.line, 0);
    CU_ASSERT_EQUAL(am_node_set_site(n, (am_site){"/a/b/model.c", 7}), AM_OK);
    at = am_node_site(n, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(at.file, "model.c");
    CU_ASSERT_EQUAL(at.line, 7);
    CU_ASSERT_STRING_EQUAL(n->origin, "model.c:7");
    CU_ASSERT_EQUAL(am_node_set_site(n, (am_site){0}), AM_OK);
    CU_ASSERT_PTR_NULL(n->origin);
    CU_ASSERT_PTR_NULL(am_node_site(n, buf, sizeof(buf)).file);
    am_node_release(n);
}

/* fill_attrs as gpu/init.cu sees it (init_attrs.h) has the offsets and size
 * the _full op's schema was built with (ndarray/ops/init.c). */
static void test_fill_attrs_match_schema(void)
{
    const am_op_def *op = am_op_find("_full");
    CU_ASSERT_PTR_NOT_NULL_FATAL(op);
    CU_ASSERT_EQUAL(op->attrs_size, sizeof(fill_attrs));
    struct {
        const char *name;
        size_t offset;
    } want[] = {{"shape", offsetof(fill_attrs, shape)},
                {"ctx", offsetof(fill_attrs, ctx)},
                {"dtype", offsetof(fill_attrs, dtype)},
                {"value", offsetof(fill_attrs, value)}};
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
        const am_attr_field *f = NULL;
        for (int i = 0; op->attrs && op->attrs[i].name && !f; i++)
            if (strcmp(op->attrs[i].name, want[k].name) == 0) f = &op->attrs[i];
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(f->offset, want[k].offset);
    }
    /* And the value the CUDA kernel reads is the one the schema parsed. */
    const char *keys[] = {"shape", "value"}, *vals[] = {"(2,)", "2.5"};
    void *attrs = am_attrs_parse(op, keys, vals, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(attrs);
    CU_ASSERT_DOUBLE_EQUAL(((const fill_attrs *)attrs)->value, 2.5, 0);
    free(attrs);
}

CU_TestInfo am_tests_layering[] = {
    {"ndarray/ includes no symbol/ or executor/ header", test_ndarray_includes_no_upper_layer},
    {"a node's call site is a file and a line", test_node_site_is_structured},
    {"a node without a call site", test_node_without_site},
    {"am_rw_build names and places the node it makes", test_rw_build_names_and_places},
    {"fill_attrs in init_attrs.h matches _full's schema", test_fill_attrs_match_schema},
    CU_TEST_INFO_NULL,
};
