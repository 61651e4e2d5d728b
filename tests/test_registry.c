/* The registry suite: lookup, custom ops, attribute parsing and printing, and
 * checks that walk every registered op through its case table. */
#include "test_util.h"

extern const am_op_case *const am_case_tables[];

/* ---- case plumbing ------------------------------------------------------------ */

static const char *case_name(const am_op_case *c, char *buf, size_t n)
{
    snprintf(buf, n, "%s{%s}[%s]", c->op, c->attrs ? c->attrs : "", c->shapes ? c->shapes : "");
    return buf;
}

/* Calls the kernel directly with every output request set to req; through
 * am_op_run_into (which converts them) when a dtype computes through another
 * (float16 & co., docs/dtypes.md). */
static am_status call_kernel(const am_op_def *op, const void *attrs, am_array **in, int n_in,
                             am_array **out, am_req req)
{
    am_view vin[64], vout[64];
    am_req reqs[64];
    int n_out = am_op_num_outputs(op, attrs);
    bool convert = false;
    for (int i = 0; i < n_in + n_out; i++) {
        am_dtype t = am_array_dtype(i < n_in ? in[i] : out[i - n_in]);
        convert |= am_dtype_compute(t) != t && !(op->dtypes & (1u << t));
    }
    if (convert) {
        for (int i = 0; i < n_out; i++) reqs[i] = req;
        return am_op_run_into(op, attrs, in, n_in, out, reqs);
    }
    for (int i = 0; i < n_in; i++) vin[i] = am_array_view(in[i]);
    for (int i = 0; i < n_out; i++) vout[i] = am_array_view(out[i]), reqs[i] = req;
    am_kernel_ctx ctx = {.device = am_cpu(), .rng = am_rng_state()};
    am_shape ish[64];
    for (int i = 0; i < n_in; i++) ish[i] = am_array_shape(in[i]);
    void *ws = NULL;
    if (op->temp_bytes && (ctx.workspace_bytes = op->temp_bytes(attrs, ish, n_in)))
        ctx.workspace = ws = am_host_alloc(ctx.workspace_bytes);
    am_status st = op->cpu(&ctx, attrs, vin, n_in, vout, n_out, reqs);
    am_host_free(ws);
    return st;
}

/* Runs one case: string and parsed attribute paths agree, reruns agree, and
 * AM_REQ_ADD adds the WRITE result onto what the output held. */
static void run_case(const am_op_case *c)
{
    char name[256];
    tu_parsed_case p;
    tu_parse_case(c, &p);
    const am_op_def *op = am_op_find(c->op);
    CU_ASSERT_PTR_NOT_NULL_FATAL(op);
    am_scope_begin();
    am_array *in[64] = {0}, *out[64] = {0}, *again[64] = {0};
    for (int i = 0; i < p.n_in; i++) in[i] = tu_case_input(c, &p, i);
    if (c->prepare) CU_ASSERT_EQUAL_FATAL(c->prepare(in, p.n_in), AM_OK);
    void *attrs = am_attrs_parse(op, (const char *const *)p.keys, (const char *const *)p.vals, p.n_attrs);
    if (!attrs) printf("\n  %s: %s\n", case_name(c, name, sizeof(name)), am_last_error());
    CU_ASSERT_PTR_NOT_NULL_FATAL(attrs);
    int nvis = am_op_num_visible(op, attrs), n_all = am_op_num_outputs(op, attrs);
    am_status st = am_invoke(c->op, in, p.n_in, (const char *const *)p.keys,
                             (const char *const *)p.vals, p.n_attrs, out, nvis);
    if (st != AM_OK) printf("\n  %s: %s\n", case_name(c, name, sizeof(name)), am_last_error());
    CU_ASSERT_EQUAL_FATAL(st, AM_OK);

    if (!(op->flags & AM_OP_RANDOM)) {
        CU_ASSERT_EQUAL(am_op_call(op, attrs, in, p.n_in, again, nvis, AM_HERE), AM_OK);
        for (int i = 0; i < nvis; i++) CU_ASSERT(tu_allclose(again[i], out[i], 0));

        /* AM_REQ_ADD on every output (hidden ones included). */
        am_array *all_w[64], *all_a[64];
        am_shape osh[64], ish[64];
        am_dtype oty[64], ity[64];
        for (int i = 0; i < p.n_in; i++) ish[i] = am_array_shape(in[i]), ity[i] = am_array_dtype(in[i]);
        CU_ASSERT_EQUAL_FATAL(am_op_infer_dtype(op, attrs, ity, p.n_in, oty, n_all), AM_OK);
        for (int i = 0; i < n_all; i++) osh[i].ndim = -1;
        if (op->value_shape) { /* output shapes from the input values */
            am_view iv[64];
            for (int i = 0; i < p.n_in; i++) iv[i] = am_array_view(in[i]);
            CU_ASSERT_EQUAL_FATAL(op->value_shape(attrs, iv, p.n_in, osh, n_all), AM_OK);
        } else {
            CU_ASSERT_EQUAL_FATAL(op->infer_shape(attrs, ish, p.n_in, osh, n_all), AM_OK);
        }
        for (int i = 0; i < n_all; i++) {
            all_w[i] = am_zeros(osh[i], oty[i]);
            all_a[i] = am_dtype_is_float(oty[i]) ? tu_random(osh[i], oty[i], -1, 1)
                                                  : am_ones(osh[i], oty[i]);
        }
        am_array *base[64];
        for (int i = 0; i < n_all; i++) base[i] = am_copy(all_a[i]);
        CU_ASSERT_EQUAL(call_kernel(op, attrs, in, p.n_in, all_w, AM_REQ_WRITE), AM_OK);
        CU_ASSERT_EQUAL(call_kernel(op, attrs, in, p.n_in, all_a, AM_REQ_ADD), AM_OK);
        for (int i = 0; i < n_all; i++) {
            am_array *expect = am_copy(base[i]);
            am_view e = am_array_view(expect), w = am_array_view(all_w[i]);
            for (int64_t k = 0; k < am_view_size(&e); k++)
                am_view_set(&e, k, am_view_get(&e, k) + am_view_get(&w, k));
            /* float16 (bfloat16) adds the unrounded result: one rounding less */
            double tol = oty[i] == AM_DTYPE_FLOAT16 ? 2e-3 : oty[i] == AM_DTYPE_BFLOAT16 ? 1e-2 : 1e-5;
            if (!tu_allclose(all_a[i], expect, tol))
                printf("  (AM_REQ_ADD, output %d of %s)\n", i, case_name(c, name, sizeof(name)));
            CU_ASSERT(tu_allclose(all_a[i], expect, tol));
        }
        /* The eager result equals the WRITE kernel result for visible outputs. */
        for (int i = 0; i < nvis; i++) CU_ASSERT(tu_allclose(out[i], all_w[i], 0));
    }
    free(attrs);
    am_scope_end();
}

static void test_every_case_runs(void)
{
    for (int t = 0; am_case_tables[t]; t++)
        for (const am_op_case *c = am_case_tables[t]; c->op; c++) run_case(c);
}

static void test_every_op_has_a_case(void)
{
    for (int i = 0; i < am_registry_builtin_count(); i++) {
        const am_op_def *op = am_op_at(i);
        bool found = false;
        /* Control flow runs subgraphs, which attribute strings cannot give:
         * tests/test_ops_control_flow.c runs those ops from symbol JSON. */
        if (op->num_subgraphs > 0) continue;
        for (int t = 0; !found && am_case_tables[t]; t++)
            for (const am_op_case *c = am_case_tables[t]; !found && c->op; c++)
                found = strcmp(c->op, op->name) == 0;
        if (!found) printf("\n  %s has no case in tests/cases_*.c\n", op->name);
        CU_ASSERT(found);
    }
}

/* Parsing then printing every attribute of every case gives the same text,
 * and parsing that text again gives the same struct. */
static void test_attribute_round_trip(void)
{
    for (int t = 0; am_case_tables[t]; t++)
        for (const am_op_case *c = am_case_tables[t]; c->op; c++) {
            tu_parsed_case p;
            tu_parse_case(c, &p);
            const am_op_def *op = am_op_find(c->op);
            void *a = am_attrs_parse(op, (const char *const *)p.keys, (const char *const *)p.vals, p.n_attrs);
            CU_ASSERT_PTR_NOT_NULL_FATAL(a);
            const char *keys[64];
            char vals[64][256];
            const char *vptr[64];
            int n = 0;
            for (const am_attr_field *f = op->attrs; f && f->name; f++, n++) {
                keys[n] = f->name;
                am_attr_format(f, a, vals[n], sizeof(vals[n]));
                vptr[n] = vals[n];
            }
            void *b = am_attrs_parse(op, keys, vptr, n);
            CU_ASSERT_PTR_NOT_NULL_FATAL(b);
            for (int i = 0; i < n; i++) {
                char again[256];
                am_attr_format(&op->attrs[i], b, again, sizeof(again));
                if (strcmp(again, vals[i]) != 0)
                    printf("\n  %s.%s: '%s' printed back as '%s'\n", op->name, keys[i], vals[i], again);
                CU_ASSERT_STRING_EQUAL(again, vals[i]);
            }
            free(a);
            free(b);
        }
}

/* ---- attribute syntax --------------------------------------------------------- */

static void test_attribute_syntax(void)
{
    const am_op_def *op = am_op_find("_zeros");
    CU_ASSERT_PTR_NOT_NULL_FATAL(op);
    static const char *const spellings[][2] = {
        {"(3, 3)", "(3, 3)"}, {"[3,3]", "(3, 3)"}, {"(64,)", "(64,)"}, {"64", "(64,)"},
        {"()", "()"}, {"(2L, 5L)", "(2, 5)"}, {" ( 1 ,2 ) ", "(1, 2)"},
    };
    for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
        const char *k = "shape";
        void *a = am_attrs_parse(op, &k, &spellings[i][0], 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        char buf[64];
        CU_ASSERT_STRING_EQUAL(am_attr_format(&op->attrs[0], a, buf, sizeof(buf)), spellings[i][1]);
        free(a);
    }
    const char *k = "shape", *bad[] = {"(3, x)", "(3, 3", "3 4", "(1,2,3,4,5,6,7,8,9,10,11,12,13)"};
    for (size_t i = 0; i < 4; i++)
        TU_ASSERT_FAILS(am_attrs_parse(op, &k, &bad[i], 1), AM_ERR_FORMAT, "shape");

    const am_op_def *ar = am_op_find("_arange");
    const char *keys[] = {"start", "infer_range", "stop", "__hidden__"};
    const char *vals[] = {"1e-05", "true", "None", "ignored"};
    void *a = am_attrs_parse(ar, keys, vals, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    char buf[64];
    CU_ASSERT_STRING_EQUAL(am_attr_format(&ar->attrs[0], a, buf, sizeof(buf)), "1e-05");
    CU_ASSERT_STRING_EQUAL(am_attr_format(&ar->attrs[1], a, buf, sizeof(buf)), "None");
    CU_ASSERT_STRING_EQUAL(am_attr_format(&ar->attrs[4], a, buf, sizeof(buf)), "True");
    CU_ASSERT(am_attr_is_default(&ar->attrs[2], a));  /* step 1.0 */
    CU_ASSERT(!am_attr_is_default(&ar->attrs[4], a)); /* infer_range */
    free(a);

    TU_ASSERT_FAILS(am_attrs_parse(ar, (const char *[]){"stop"}, (const char *[]){"3"}, 1),
                    AM_ERR_ARG, "required attribute 'start'");
    TU_ASSERT_FAILS(am_attrs_parse(ar, (const char *[]){"start", "bogus"},
                                   (const char *[]){"0", "1"}, 2), AM_ERR_ARG, "unknown attribute 'bogus'");
    TU_ASSERT_FAILS(am_attrs_parse(ar, (const char *[]){"start", "infer_range"},
                                   (const char *[]){"0", "maybe"}, 2), AM_ERR_FORMAT, "infer_range");
    TU_ASSERT_FAILS(am_attrs_parse(ar, (const char *[]){"start", "dtype"},
                                   (const char *[]){"0", "int16"}, 2), AM_ERR_FORMAT, "dtype");
}

static void test_format_double(void)
{
    static const struct { double v; const char *s; } cases[] = {
        {1.0, "1.0"}, {0.5, "0.5"}, {1e-5, "1e-05"}, {0.0001, "0.0001"}, {0.1, "0.1"},
        {1e16, "1e+16"}, {123456789.0, "123456789.0"}, {-2.5, "-2.5"}, {0.9, "0.9"},
        {1.5e-7, "1.5e-07"}, {0.0, "0.0"}, {1.0 / 3.0, "0.3333333333333333"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[64];
        CU_ASSERT_STRING_EQUAL(am_format_double(cases[i].v, buf, sizeof(buf)), cases[i].s);
    }
}

/* ---- lookup and custom ops ------------------------------------------------------ */

static void test_lookup(void)
{
    CU_ASSERT_PTR_NOT_NULL(am_op_find("Cast"));
    CU_ASSERT_PTR_EQUAL(am_op_find("cast"), am_op_find("Cast"));
    TU_ASSERT_FAILS(am_op_find("NoSuchOp"), AM_ERR_UNKNOWN_OP, "NoSuchOp");
    am_array *y = NULL;
    am_clear_error();
    CU_ASSERT_EQUAL(am_invoke("NoSuchOp", NULL, 0, NULL, NULL, 0, &y, 1), AM_ERR_UNKNOWN_OP);
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "test_registry.c"));
    am_clear_error();
}

typedef struct scale_attrs {
    double alpha;
} scale_attrs;

static am_status scale_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                           int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (in[0].dtype != AM_DTYPE_FLOAT32) return am_fail(AM_ERR_DTYPE, "float32 only");
    double a = ((const scale_attrs *)attrs)->alpha;
    const float *x = in[0].data;
    float *y = out[0].data;
    for (int64_t i = 0; i < am_view_size(&in[0]); i++)
        y[i] = (req[0] == AM_REQ_ADD ? y[i] : 0.0f) + (float)(a * x[i]);
    return AM_OK;
}

static const am_attr_field scale_fields[] = {
    AM_ATTR_FIELD(scale_attrs, alpha, AM_ATTR_FLOAT, "1.0", "factor"), {0}};
static const am_op_def scale_op = {
    .name = "test_scale", .input_names = (const char *const[]){"data", NULL}, .num_outputs = 1,
    .attrs = scale_fields, .attrs_size = sizeof(scale_attrs), .infer_shape = am_infer_shape_same,
    .infer_dtype = am_infer_dtype_same, .cpu = scale_cpu, .fuse = AM_FUSE_ELEMWISE};

static void test_custom_op(void)
{
    static bool registered;
    if (!registered) {
        CU_ASSERT_EQUAL(am_op_register(&scale_op), AM_OK);
        registered = true;
    }
    TU_ASSERT_FAILS(am_op_register(&scale_op) == AM_OK, AM_ERR_ARG, "already registered");
    static const am_op_def bad = {.name = "test_bad", .num_outputs = 1};
    TU_ASSERT_FAILS(am_op_register(&bad) == AM_OK, AM_ERR_ARG, "infer_shape");
    CU_ASSERT_PTR_EQUAL(am_op_find("test_scale"), &scale_op);

    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 1, 2, 3), *y = NULL;
    CU_ASSERT_EQUAL(am_invoke("test_scale", &x, 1, (const char *[]){"alpha"},
                              (const char *[]){"2"}, 1, &y, 1), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(3), 0, 2, 4, 6);
    am_array *i = am_astype(x, AM_DTYPE_INT32);
    am_clear_error();
    CU_ASSERT_EQUAL(am_invoke("test_scale", &i, 1, NULL, NULL, 0, &y, 1), AM_ERR_DTYPE);
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "test_scale: float32 only at test_registry.c"));
    am_clear_error();
    am_scope_end();
}

/* docs/ops.md is generated from the registry; it must be current. */
static void test_ops_doc_is_current(void)
{
    char *now = NULL, *committed = NULL;
    size_t now_len = 0, n = 0;
    FILE *mem = open_memstream(&now, &now_len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
    am_ops_print(mem, true);
    fclose(mem);
    FILE *f = fopen("docs/ops.md", "rb");
    if (f) {
        committed = malloc(now_len + 2);
        n = fread(committed, 1, now_len + 1, f);
        fclose(f);
    }
    bool same = committed && n == now_len && memcmp(committed, now, now_len) == 0;
    if (!same) printf("\n  docs/ops.md is missing or stale: run `make docs`\n");
    CU_ASSERT(same);
    free(now);
    free(committed);
}

CU_TestInfo am_tests_registry[] = {
    {"lookup by name and alias", test_lookup},
    {"attribute syntax", test_attribute_syntax},
    {"floats print as Python does", test_format_double},
    {"custom op from user code", test_custom_op},
    {"every op has a case", test_every_op_has_a_case},
    {"every case runs (WRITE, ADD, rerun)", test_every_case_runs},
    {"attributes print back as parsed", test_attribute_round_trip},
    {"docs/ops.md is current", test_ops_doc_is_current},
    CU_TEST_INFO_NULL,
};
