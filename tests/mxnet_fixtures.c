/* Checks ops against values and gradients MXNet 1.9.1 computed (tests/mxnet_fixtures.h). */
#include "mxnet_fixtures.h"
#include "test_util.h"

#include <stdio.h>
#include <string.h>

static am_array *load(const char *dir, const char *name, const char *what, am_dtype dt)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s_%s.npy", dir, name, what);
    am_array *x = am_npy_load(path);
    if (!x) printf("\n  cannot load %s: %s\n", path, am_last_error());
    return x ? am_astype(x, dt) : NULL;
}

/* One case in one dtype. */
static void check_case(const char *dir, const char *name, const char *op, int n_in,
                       const char *keys, const char *vals, am_dtype dt, double tol)
{
    char what[32];
    am_array *in[8] = {0}, *y = NULL;
    am_scope_begin();
    for (int i = 0; i < n_in; i++) {
        snprintf(what, sizeof(what), "in%d", i);
        in[i] = load(dir, name, what, dt);
        CU_ASSERT_PTR_NOT_NULL_FATAL(in[i]);
        am_attach_grad(in[i], AM_GRAD_WRITE);
    }
    am_autograd_record_begin(true);
    am_status st = tu_invoke(op, in, n_in, keys, vals, &y, 1);
    am_autograd_end();
    if (st != AM_OK) printf("\n  %s: %s\n", name, am_last_error());
    CU_ASSERT_EQUAL_FATAL(st, AM_OK);
    if (!tu_allclose(y, load(dir, name, "out", dt), tol)) {
        printf("\n  %s (%s): output differs from MXNet's\n", name, am_dtype_name(dt));
        CU_FAIL("output");
    }
    CU_ASSERT_EQUAL_FATAL(am_backward_at(y, load(dir, name, "og", dt), false, AM_HERE), AM_OK);
    for (int i = 0; i < n_in; i++) {
        snprintf(what, sizeof(what), "grad%d", i);
        if (!tu_allclose(am_grad(in[i]), load(dir, name, what, dt), tol)) {
            printf("\n  %s (%s): gradient of input %d differs from MXNet's\n", name,
                   am_dtype_name(dt), i);
            CU_FAIL("gradient");
        }
    }
    am_scope_end();
}

int tu_check_mxnet_fixtures(const char *dir, const char *op, double tol32, double tol64)
{
    char path[256], line[512];
    int run = 0;
    snprintf(path, sizeof(path), "%s/manifest.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) printf("\n  cannot open %s\n", path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    while (fgets(line, sizeof(line), f)) {
        char *save = NULL, *name = strtok_r(line, "\t\n", &save);
        char *cop = strtok_r(NULL, "\t\n", &save), *n = strtok_r(NULL, "\t\n", &save);
        char *keys = strtok_r(NULL, "\t\n", &save), *vals = strtok_r(NULL, "\t\n", &save);
        if (!name || !cop || !n || !keys || !vals) continue;
        if (op && strcmp(op, cop) != 0) continue;
        int n_in = atoi(n);
        CU_ASSERT_FATAL(n_in >= 1 && n_in <= 8);
        check_case(dir, name, cop, n_in, keys, vals, AM_DTYPE_FLOAT32, tol32);
        check_case(dir, name, cop, n_in, keys, vals, AM_DTYPE_FLOAT64, tol64);
        run++;
    }
    fclose(f);
    return run;
}
