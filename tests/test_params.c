/* The params suite: MXNet .params files (am_ndlist_*): hand-built fixtures of
 * every record version, round trips, the list API, and every error. */
#include "test_util.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- bytes from the documented layout (docs/formats/params.md) ---------------------- */

#define U32(v) (uint8_t)((uint32_t)(v)), (uint8_t)((uint32_t)(v) >> 8), \
               (uint8_t)((uint32_t)(v) >> 16), (uint8_t)((uint32_t)(v) >> 24)
#define U64(v) U32((uint64_t)(v)), U32((uint64_t)(v) >> 32)
#define HEAD(n) U64(0x112), U64(0), U64(n)    /* list magic, reserved, array count */
#define V1 U32(0xF993FAC8)
#define V2 U32(0xF993FAC9), U32(0)            /* magic, dense storage */
#define V3 U32(0xF993FACA), U32(0)
#define CPU U32(1), U32(0)                    /* dev_type, dev_id */
#define NONAMES U64(0)

/* A float32 (2,3) array [[1, 2, 0.5], [-1, 3, -0.125]] named "arg:w", as the
 * example in reference/mxnet.md section 2.2, byte by byte. */
static const uint8_t fix_v2[] = {
    0x12, 0x01, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 0,  1, 0, 0, 0, 0, 0, 0, 0,
    0xC9, 0xFA, 0x93, 0xF9,  0, 0, 0, 0,  2, 0, 0, 0,          /* V2, dense, ndim 2 */
    2, 0, 0, 0, 0, 0, 0, 0,  3, 0, 0, 0, 0, 0, 0, 0,           /* dims (2, 3) */
    1, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,                      /* cpu(0), float32 */
    0, 0, 0x80, 0x3F,  0, 0, 0, 0x40,  0, 0, 0, 0x3F,          /* 1, 2, 0.5 */
    0, 0, 0x80, 0xBF,  0, 0, 0x40, 0x40,  0, 0, 0, 0xBE,       /* -1, 3, -0.125 */
    1, 0, 0, 0, 0, 0, 0, 0,  5, 0, 0, 0, 0, 0, 0, 0,  'a', 'r', 'g', ':', 'w',
};

/* V1 (int64 dims, no storage type): float64 [1, -2, 0.25] saved from gpu(1),
 * unnamed. */
static const uint8_t fix_v1[] = {
    HEAD(1), V1, U32(1), U64(3), U32(2), U32(1), U32(1),
    U64(0x3FF0000000000000), U64(0xC000000000000000), U64(0x3FD0000000000000), NONAMES,
};

/* V3 (numpy shape semantics): an int64 0-d array -5 named "aux:s" and an
 * int32 (2, 0) array named "arg:e". */
static const uint8_t fix_v3[] = {
    HEAD(2), V3, U32(0), CPU, U32(6), U64(-5),
    V3, U32(2), U64(2), U64(0), CPU, U32(4),
    U64(2), U64(5), 'a', 'u', 'x', ':', 's', U64(5), 'a', 'r', 'g', ':', 'e',
};

/* Records older than V1: no magic, uint32 ndim and dims.  uint8 (2, 2)
 * [[0, 1], [254, 255]] and int32 [2147483647], unnamed. */
static const uint8_t fix_pre_v1[] = {
    HEAD(2), U32(2), U32(2), U32(2), CPU, U32(3), 0, 1, 254, 255,
    U32(1), U32(1), CPU, U32(4), U32(0x7FFFFFFF), NONAMES,
};

/* One record of each version in one file, the first saved from cpu_pinned. */
static const uint8_t fix_mixed[] = {
    HEAD(4), U32(1), U32(2), U32(3), U32(0), U32(3), 7, 8,
    V1, U32(1), U64(1), U32(5), U32(0), U32(4), U32(-3),
    V2, U32(1), U64(1), CPU, U32(6), U64(1) ,
    V3, U32(0), CPU, U32(0), U32(0x3F800000),
    U64(4), U64(1), 'a', U64(1), 'b', U64(1), 'c', U64(2), 'd', 'd',
};

#define LOAD(fix) am_ndlist_load_buffer((fix), sizeof(fix))

static void test_load_v2(void)
{
    am_scope_begin();
    am_ndlist *l = LOAD(fix_v2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_EQUAL(am_ndlist_size(l), 1);
    CU_ASSERT(am_ndlist_is_named(l));
    CU_ASSERT_STRING_EQUAL(am_ndlist_name(l, 0), "arg:w");
    am_array *w = am_ndlist_get(l, 0);
    CU_ASSERT_EQUAL(am_array_dtype(w), AM_DTYPE_FLOAT32);
    CU_ASSERT(am_device_equal(am_array_device(w), am_cpu()));
    TU_ASSERT_VALUES(w, AM_SHAPE(2, 3), 0, 1, 2, 0.5, -1, 3, -0.125);
    CU_ASSERT_PTR_EQUAL(am_ndlist_find(l, "arg:w"), w);
    CU_ASSERT_PTR_NULL(am_ndlist_find(l, "w")); /* the prefix is part of the name */
    CU_ASSERT_EQUAL(am_last_status(), AM_OK);
    am_ndlist_free(l);
    am_scope_end();
}

static void test_load_v1_v3_pre_v1(void)
{
    am_scope_begin();
    am_ndlist *l = LOAD(fix_v1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT(!am_ndlist_is_named(l));
    CU_ASSERT_PTR_NULL(am_ndlist_name(l, 0));
    CU_ASSERT_PTR_NULL(am_ndlist_find(l, "x"));
    CU_ASSERT_EQUAL(am_last_status(), AM_OK);
    am_array *x = am_ndlist_get(l, 0);
    CU_ASSERT(am_device_equal(am_array_device(x), am_cpu())); /* gpu(1) in the file */
    CU_ASSERT_EQUAL(am_array_dtype(x), AM_DTYPE_FLOAT64);
    TU_ASSERT_VALUES(x, AM_SHAPE(3), 0, 1, -2, 0.25);
    am_ndlist_free(l);

    CU_ASSERT_PTR_NOT_NULL_FATAL(l = LOAD(fix_v3));
    CU_ASSERT_EQUAL(am_ndlist_size(l), 2);
    x = am_ndlist_find(l, "aux:s");
    CU_ASSERT_EQUAL(am_array_dtype(x), AM_DTYPE_INT64);
    TU_ASSERT_VALUES(x, AM_SHAPE(), 0, -5);
    x = am_ndlist_find(l, "arg:e");
    CU_ASSERT_PTR_EQUAL(x, am_ndlist_get(l, 1));
    CU_ASSERT_EQUAL(am_array_dtype(x), AM_DTYPE_INT32);
    CU_ASSERT_EQUAL(am_array_ndim(x), 2);
    CU_ASSERT_EQUAL(am_array_dim(x, 0), 2);
    CU_ASSERT_EQUAL(am_array_size(x), 0);
    am_ndlist_free(l);

    CU_ASSERT_PTR_NOT_NULL_FATAL(l = LOAD(fix_pre_v1));
    CU_ASSERT_EQUAL(am_ndlist_size(l), 2);
    TU_ASSERT_VALUES(am_ndlist_get(l, 0), AM_SHAPE(2, 2), 0, 0, 1, 254, 255);
    CU_ASSERT_EQUAL(am_array_dtype(am_ndlist_get(l, 0)), AM_DTYPE_UINT8);
    TU_ASSERT_VALUES(am_ndlist_get(l, 1), AM_SHAPE(1), 0, 2147483647);
    CU_ASSERT_EQUAL(am_array_dtype(am_ndlist_get(l, 1)), AM_DTYPE_INT32);
    am_ndlist_free(l);

    CU_ASSERT_PTR_NOT_NULL_FATAL(l = LOAD(fix_mixed));
    CU_ASSERT_EQUAL(am_ndlist_size(l), 4);
    TU_ASSERT_VALUES(am_ndlist_find(l, "a"), AM_SHAPE(2), 0, 7, 8);
    TU_ASSERT_VALUES(am_ndlist_find(l, "b"), AM_SHAPE(1), 0, -3);
    TU_ASSERT_VALUES(am_ndlist_find(l, "c"), AM_SHAPE(1), 0, 1);
    CU_ASSERT_EQUAL(am_array_dtype(am_ndlist_find(l, "c")), AM_DTYPE_INT64);
    TU_ASSERT_VALUES(am_ndlist_find(l, "dd"), AM_SHAPE(), 0, 1);
    CU_ASSERT_STRING_EQUAL(am_ndlist_name(l, 3), "dd");
    am_ndlist_free(l);
    am_scope_end();
}

/* ---- saving and round trips -------------------------------------------------------------- */

/* Saves l to memory and compares with want. */
static void assert_saves_as(const am_ndlist *l, const uint8_t *want, size_t n, int line)
{
    void *got = NULL;
    size_t k = 0;
    CU_ASSERT_EQUAL_FATAL(am_ndlist_save_buffer(l, &got, &k), AM_OK);
    if (k != n || memcmp(got, want, n) != 0) {
        printf("\n  line %d: saved %zu bytes, expected %zu", line, k, n);
        for (size_t i = 0; i < k && i < n; i++)
            if (((uint8_t *)got)[i] != want[i]) {
                printf(", first difference at byte %zu", i);
                break;
            }
        CU_FAIL("saved bytes");
    }
    free(got);
}
#define ASSERT_SAVES_AS(l, fix) assert_saves_as((l), (fix), sizeof(fix), __LINE__)

static void test_save_layout(void)
{
    am_scope_begin();
    /* the writer's bytes are the documented example's */
    am_ndlist *l = am_ndlist_create();
    CU_ASSERT_EQUAL(am_ndlist_add(l, "arg:w", tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 3), 1, 2,
                                                       0.5, -1, 3, -0.125)), AM_OK);
    ASSERT_SAVES_AS(l, fix_v2);
    am_ndlist_free(l);
    /* reading V1 and writing gives V2 records on the cpu */
    static const uint8_t v1_as_v2[] = {
        HEAD(1), V2, U32(1), U64(3), CPU, U32(1),
        U64(0x3FF0000000000000), U64(0xC000000000000000), U64(0x3FD0000000000000), NONAMES,
    };
    l = LOAD(fix_v1);
    ASSERT_SAVES_AS(l, v1_as_v2);
    am_ndlist_free(l);
    /* a 0-d array makes every record V3: V2 has no way to say "0-d" */
    l = LOAD(fix_v3);
    ASSERT_SAVES_AS(l, fix_v3);
    am_ndlist_free(l);
    /* an empty list */
    static const uint8_t empty[] = {HEAD(0), NONAMES};
    l = am_ndlist_create();
    ASSERT_SAVES_AS(l, empty);
    am_ndlist_free(l);
    am_scope_end();
}

static bool same_array(am_array *a, am_array *b)
{
    if (!a || !b || am_array_dtype(a) != am_array_dtype(b) || am_array_ndim(a) != am_array_ndim(b))
        return false;
    for (int i = 0; i < am_array_ndim(a); i++)
        if (am_array_dim(a, i) != am_array_dim(b, i)) return false;
    size_t n = (size_t)am_array_size(a) * am_dtype_size(am_array_dtype(a));
    return n == 0 || memcmp(am_array_data(a), am_array_data(b), n) == 0;
}

static bool same_list(const am_ndlist *a, const am_ndlist *b)
{
    if (!a || !b || am_ndlist_size(a) != am_ndlist_size(b)) return false;
    if (am_ndlist_is_named(a) != am_ndlist_is_named(b)) return false;
    for (int i = 0; i < am_ndlist_size(a); i++) {
        const char *na = am_ndlist_name(a, i), *nb = am_ndlist_name(b, i);
        if ((na || nb) && (!na || !nb || strcmp(na, nb) != 0)) return false;
        if (!same_array(am_ndlist_get(a, i), am_ndlist_get(b, i))) return false;
    }
    return true;
}

static char tmpdir[64];

static const char *tmp_path(const char *name)
{
    static char buf[sizeof(tmpdir) + 256 + 2];
    snprintf(buf, sizeof(buf), "%s/%s", tmpdir, name);
    return buf;
}

static int tmp_count(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

static void tmp_begin(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/amber-params-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmpdir));
}

static void tmp_end(void)
{
    DIR *d = opendir(tmpdir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        const char *p = tmp_path(e->d_name);
        if (rmdir(p) != 0) unlink(p);
    }
    if (d) closedir(d);
    rmdir(tmpdir);
}

/* Saves l to a file and to memory, loads both, and compares with l. */
static void assert_round_trips(const am_ndlist *l, int line)
{
    void *buf = NULL;
    size_t n = 0;
    CU_ASSERT_EQUAL_FATAL(am_ndlist_save_buffer(l, &buf, &n), AM_OK);
    am_ndlist *m = am_ndlist_load_buffer(buf, n);
    CU_ASSERT_EQUAL_FATAL(am_ndlist_save(l, tmp_path("x.params")), AM_OK);
    am_ndlist *f = am_ndlist_load(tmp_path("x.params"));
    if (!same_list(l, m) || !same_list(l, f)) {
        printf("\n  line %d: the list does not round-trip (%s)", line, am_last_error());
        CU_FAIL("round trip");
    }
    CU_ASSERT_EQUAL(tmp_count(), 1); /* no temporary file left behind */
    am_ndlist_free(m);
    am_ndlist_free(f);
    free(buf);
}
#define ASSERT_ROUND_TRIPS(l) assert_round_trips((l), __LINE__)

static void test_round_trips(void)
{
    static const am_shape shapes[] = {{2, {3, 4}}, {0, {0}}, {1, {0}}, {3, {2, 0, 5}},
                                      {6, {1, 2, 1, 3, 1, 2}}, {1, {1000}}};
    int ns = (int)(sizeof(shapes) / sizeof(shapes[0]));
    am_scope_begin();
    tmp_begin();
    am_ndlist *named = am_ndlist_create();
    for (int t = 0; t < AM_DTYPE_COUNT; t++) {
        am_ndlist *unnamed = am_ndlist_create();
        for (int i = 0; i < ns; i++) {
            am_array *x = tu_random(shapes[i], (am_dtype)t, -100, 100);
            char name[64];
            snprintf(name, sizeof(name), "%s:%s_%d", i % 2 ? "aux" : "arg", am_dtype_name(t), i);
            CU_ASSERT_EQUAL(am_ndlist_add(named, name, x), AM_OK);
            CU_ASSERT_EQUAL(am_ndlist_add(unnamed, NULL, x), AM_OK);
            am_ndlist *one = am_ndlist_create(); /* each alone: V2 or V3 alone */
            CU_ASSERT_EQUAL(am_ndlist_add(one, "x", x), AM_OK);
            ASSERT_ROUND_TRIPS(one);
            am_ndlist_free(one);
        }
        ASSERT_ROUND_TRIPS(unnamed);
        am_ndlist_free(unnamed);
    }
    ASSERT_ROUND_TRIPS(named);
    CU_ASSERT_EQUAL(am_ndlist_size(named), AM_DTYPE_COUNT * ns);
    am_ndlist_free(named);
    am_ndlist *empty = am_ndlist_create();
    ASSERT_ROUND_TRIPS(empty);
    am_ndlist_free(empty);
    /* a view saves its own elements only */
    am_array *base = am_arange(0, 12, 1, AM_DTYPE_FLOAT32);
    am_ndlist *l = am_ndlist_create();
    CU_ASSERT_EQUAL(am_ndlist_add(l, "row", am_slice_axis(am_reshape(base, AM_SHAPE(3, 4)), 0, 1,
                                                          AM_NONE)), AM_OK);
    CU_ASSERT_EQUAL(am_ndlist_save(l, tmp_path("x.params")), AM_OK);
    am_ndlist *r = am_ndlist_load(tmp_path("x.params"));
    TU_ASSERT_VALUES(am_ndlist_get(r, 0), AM_SHAPE(2, 4), 0, 4, 5, 6, 7, 8, 9, 10, 11);
    am_ndlist_free(r);
    am_ndlist_free(l);
    tmp_end();
    am_scope_end();
}

/* "arg:"/"aux:" prefixes, empty names and odd bytes are kept verbatim. */
static void test_names_verbatim(void)
{
    static const char *names[] = {"arg:dense0_weight", "aux:bn_moving_mean", "", "0.weight",
                                  "arg:", "\xc3\xa9t\xc3\xa9 \x01 tab\t"};
    am_scope_begin();
    tmp_begin();
    am_ndlist *l = am_ndlist_create();
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(am_ndlist_add(l, names[i], am_full(AM_SHAPE(1), AM_DTYPE_INT32, i)), AM_OK);
    CU_ASSERT_EQUAL(am_ndlist_save(l, tmp_path("n.params")), AM_OK);
    am_ndlist *r = am_ndlist_load(tmp_path("n.params"));
    CU_ASSERT_FATAL(same_list(l, r));
    for (int i = 0; i < 6; i++) {
        CU_ASSERT_STRING_EQUAL(am_ndlist_name(r, i), names[i]);
        TU_ASSERT_VALUES(am_ndlist_find(r, names[i]), AM_SHAPE(1), 0, i);
    }
    CU_ASSERT_PTR_NULL(am_ndlist_find(r, "dense0_weight"));
    am_ndlist_free(r);
    am_ndlist_free(l);
    tmp_end();
    am_scope_end();
}

/* ---- ownership and the list API ----------------------------------------------------------- */

static void test_ownership(void)
{
    int64_t live = am_debug_live_arrays();
    am_scope_begin();
    am_ndlist *l = LOAD(fix_v3);
    am_scope_end();
    /* loaded arrays belong to the list, not to the scope */
    CU_ASSERT_EQUAL(am_debug_live_arrays(), live + 2);
    am_array *kept = am_retain(am_ndlist_get(l, 0));
    am_ndlist_free(l);
    CU_ASSERT_EQUAL(am_debug_live_arrays(), live + 1);
    TU_ASSERT_VALUES(kept, AM_SHAPE(), 0, -5);
    am_release(kept);
    CU_ASSERT_EQUAL(am_debug_live_arrays(), live);

    /* add takes its own reference */
    am_array *x = am_ones(AM_SHAPE(2), AM_DTYPE_FLOAT32); /* no scope: the caller's */
    l = am_ndlist_create();
    CU_ASSERT_EQUAL(am_ndlist_add(l, "x", x), AM_OK);
    am_release(x);
    TU_ASSERT_VALUES(am_ndlist_find(l, "x"), AM_SHAPE(2), 0, 1, 1);
    am_ndlist_free(l);
    CU_ASSERT_EQUAL(am_debug_live_arrays(), live);
    am_ndlist_free(NULL); /* a no-op */
}

static void test_list_api(void)
{
    am_scope_begin();
    am_ndlist *l = am_ndlist_create();
    CU_ASSERT_EQUAL(am_ndlist_size(l), 0);
    CU_ASSERT(!am_ndlist_is_named(l));
    CU_ASSERT_EQUAL(am_ndlist_size(NULL), 0);
    CU_ASSERT(!am_ndlist_is_named(NULL));
    /* many names: the index grows and finds each */
    char name[32];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        CU_ASSERT_EQUAL(am_ndlist_add(l, name, am_full(AM_SHAPE(), AM_DTYPE_INT64, i)), AM_OK);
    }
    bool all = true;
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        am_array *x = am_ndlist_find(l, name);
        all &= x == am_ndlist_get(l, i) && am_item(x, 0) == i;
        all &= strcmp(am_ndlist_name(l, i), name) == 0;
    }
    CU_ASSERT(all);
    CU_ASSERT_PTR_NULL(am_ndlist_find(l, "p300"));
    CU_ASSERT_EQUAL(am_last_status(), AM_OK);
    am_ndlist_free(l);
    am_scope_end();
}

static void test_list_api_errors(void)
{
    am_scope_begin();
    am_array *x = am_ones(AM_SHAPE(2), AM_DTYPE_FLOAT32);
    am_ndlist *l = am_ndlist_create();
    TU_ASSERT_STATUS(am_ndlist_add(NULL, "x", x), AM_ERR_ARG, "am_ndlist_add: the list is NULL");
    TU_ASSERT_STATUS(am_ndlist_add(l, "x", NULL), AM_ERR_ARG, "am_ndlist_add: input 3 is NULL");
    am_array sym;
    memset(&sym, 0, sizeof(sym));
    atomic_init(&sym.refcount, 1);
    sym.shape = AM_SHAPE(2);
    sym.node = (struct am_node *)&sym;
    TU_ASSERT_STATUS(am_ndlist_add(l, "s", &sym), AM_ERR_SYMBOLIC,
                    "am_ndlist_add: 's' is a symbolic array (it has no values to save)");
    CU_ASSERT_EQUAL(am_ndlist_add(l, "x", x), AM_OK);
    TU_ASSERT_STATUS(am_ndlist_add(l, "x", x), AM_ERR_ARG,
                    "the list already has an array named 'x' (entry 0)");
    TU_ASSERT_STATUS(am_ndlist_add(l, NULL, x), AM_ERR_ARG,
                    "the list is named, so every array needs a name");
    CU_ASSERT_EQUAL(am_ndlist_size(l), 1);
    am_ndlist *u = am_ndlist_create();
    CU_ASSERT_EQUAL(am_ndlist_add(u, NULL, x), AM_OK);
    TU_ASSERT_STATUS(am_ndlist_add(u, "y", x), AM_ERR_ARG,
                    "the list is unnamed, so no array may have one");
    TU_ASSERT_FAILS(am_ndlist_get(l, 1), AM_ERR_ARG,
                    "am_ndlist_get: index 1 is out of range for a list of 1 arrays");
    TU_ASSERT_FAILS(am_ndlist_get(l, -1), AM_ERR_ARG, "index -1 is out of range");
    TU_ASSERT_FAILS(am_ndlist_get(NULL, 0), AM_ERR_ARG, "am_ndlist_get: the list is NULL");
    TU_ASSERT_FAILS(am_ndlist_name(l, 2), AM_ERR_ARG, "am_ndlist_name: index 2 is out of range");
    TU_ASSERT_FAILS(am_ndlist_name(NULL, 0), AM_ERR_ARG, "am_ndlist_name: the list is NULL");
    TU_ASSERT_FAILS(am_ndlist_find(l, NULL), AM_ERR_ARG, "am_ndlist_find: the name is NULL");
    TU_ASSERT_FAILS(am_ndlist_find(NULL, "x"), AM_ERR_ARG, "am_ndlist_find: the list is NULL");
    void *buf = (void *)1;
    size_t n = 1;
    TU_ASSERT_STATUS(am_ndlist_save_buffer(NULL, &buf, &n), AM_ERR_ARG,
                    "am_ndlist_save_buffer: the list is NULL");
    CU_ASSERT(buf == NULL && n == 0);
    TU_ASSERT_STATUS(am_ndlist_save_buffer(l, NULL, &n), AM_ERR_ARG, "the data pointer is NULL");
    TU_ASSERT_STATUS(am_ndlist_save_buffer(l, &buf, NULL), AM_ERR_ARG, "the size pointer is NULL");
    TU_ASSERT_STATUS(am_ndlist_save(NULL, "x.params"), AM_ERR_ARG,
                    "am_ndlist_save: the list is NULL");
    TU_ASSERT_STATUS(am_ndlist_save(l, NULL), AM_ERR_ARG, "am_ndlist_save: the path is NULL");
    am_ndlist_free(u);
    am_ndlist_free(l);
    am_scope_end();
}

/* ---- errors: files ---------------------------------------------------------------------- */

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT(fwrite(p, 1, n, f) == n);
    fclose(f);
}

static void test_file_errors(void)
{
    am_scope_begin();
    tmp_begin();
    TU_ASSERT_FAILS(am_ndlist_load(tmp_path("missing.params")), AM_ERR_IO,
                    "am_ndlist_load: cannot open /tmp/amber-params-");
    TU_ASSERT_FAILS(am_ndlist_load(tmpdir), AM_ERR_IO, "not a regular file");
    TU_ASSERT_FAILS(am_ndlist_load(NULL), AM_ERR_ARG, "am_ndlist_load: path is NULL");
    TU_ASSERT_FAILS(am_ndlist_load_buffer(NULL, 3), AM_ERR_ARG,
                    "am_ndlist_load_buffer: data is NULL");
    /* messages name the file, the record, the field and the byte */
    write_bytes(tmp_path("short.params"), fix_v2, sizeof(fix_v2) - 30);
    char want[600];
    snprintf(want, sizeof(want), "am_ndlist_load: %s: record 0, data at byte 64: truncated: "
             "shape (2, 3) of float32 needs 24 bytes but only 15 are left",
             tmp_path("short.params"));
    TU_ASSERT_FAILS(am_ndlist_load(tmp_path("short.params")), AM_ERR_FORMAT, want);
    write_bytes(tmp_path("good.params"), fix_mixed, sizeof(fix_mixed));
    am_ndlist *l = am_ndlist_load(tmp_path("good.params"));
    am_ndlist *m = LOAD(fix_mixed);
    CU_ASSERT(same_list(l, m));
    am_ndlist_free(m);
    /* save: failures leave no file behind */
    TU_ASSERT_STATUS(am_ndlist_save(l, "/nonexistent-dir/x.params"), AM_ERR_IO,
                    "am_ndlist_save: cannot create a file beside /nonexistent-dir/x.params");
    CU_ASSERT_EQUAL(mkdir(tmp_path("dir.params"), 0700), 0);
    int before = tmp_count();
    TU_ASSERT_STATUS(am_ndlist_save(l, tmp_path("dir.params")), AM_ERR_IO,
                    "dir.params: Is a directory");
    CU_ASSERT_EQUAL(tmp_count(), before);
    /* an existing file is replaced whole */
    CU_ASSERT_EQUAL(am_ndlist_save(l, tmp_path("short.params")), AM_OK);
    m = am_ndlist_load(tmp_path("short.params"));
    CU_ASSERT(same_list(l, m));
    CU_ASSERT_EQUAL(tmp_count(), before);
    am_ndlist_free(m);
    am_ndlist_free(l);
    tmp_end();
    am_scope_end();
}

/* ---- errors: bytes ------------------------------------------------------------------------ */

#define LOAD_FAILS(code, substr, ...)                                                        \
    do {                                                                                     \
        static const uint8_t b_[] = {__VA_ARGS__};                                           \
        TU_ASSERT_FAILS(am_ndlist_load_buffer(b_, sizeof(b_)), (code), (substr));            \
    } while (0)
#define FORMAT_FAILS(substr, ...) LOAD_FAILS(AM_ERR_FORMAT, substr, __VA_ARGS__)

static void test_header_errors(void)
{
    am_scope_begin();
    TU_ASSERT_FAILS(am_ndlist_load_buffer(NULL, 0), AM_ERR_FORMAT,
                    "am_ndlist_load_buffer: <buffer>: list header at byte 0: not a .params file: "
                    "only 0 bytes (the header takes 24)");
    FORMAT_FAILS("not a .params file: magic 0x113, expected 0x112", U64(0x113), U64(0), U64(0),
                 NONAMES);
    FORMAT_FAILS("magic 0x4034B50, expected 0x112; it looks like a zip (.npz) archive",
                 'P', 'K', 3, 4, U32(0), U64(0), U64(0));
    FORMAT_FAILS("it looks like a .npy file", 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, U64(0),
                 U64(0));
    FORMAT_FAILS("array count at byte 16: 3 arrays cannot fit in the 8 bytes that follow",
                 HEAD(3), NONAMES);
    FORMAT_FAILS("array count at byte 16: 18446744073709551615 arrays cannot fit", HEAD(-1),
                 NONAMES);
    FORMAT_FAILS("name count at byte 24: truncated: 8 bytes needed, 0 left", HEAD(0));
    /* the reserved word is ignored, as MXNet does */
    static const uint8_t reserved[] = {U64(0x112), U64(7), U64(0), NONAMES};
    am_ndlist *l = LOAD(reserved);
    CU_ASSERT(l && am_ndlist_size(l) == 0);
    am_ndlist_free(l);
    am_scope_end();
}

/* Every strict prefix of a valid file fails cleanly, naming where. */
static void test_truncated_everywhere(void)
{
    const struct {
        const uint8_t *p;
        size_t n;
    } fixes[] = {{fix_v2, sizeof(fix_v2)}, {fix_v1, sizeof(fix_v1)}, {fix_v3, sizeof(fix_v3)},
                 {fix_pre_v1, sizeof(fix_pre_v1)}, {fix_mixed, sizeof(fix_mixed)}};
    am_scope_begin();
    for (size_t f = 0; f < sizeof(fixes) / sizeof(fixes[0]); f++)
        for (size_t n = 0; n < fixes[f].n; n++) {
            /* a fresh copy of exactly n bytes, so ASan sees any read past the end */
            uint8_t *b = malloc(n ? n : 1);
            memcpy(b, fixes[f].p, n);
            am_clear_error();
            am_ndlist *l = am_ndlist_load_buffer(b, n);
            const char *e = am_last_error();
            bool ok = !l && am_last_status() == AM_ERR_FORMAT &&
                      (strstr(e, "truncated") || strstr(e, "cannot fit") ||
                       (n < 24 && strstr(e, "only")));
            if (!ok) printf("\n  fixture %zu cut to %zu bytes: '%s'", f, n, e);
            CU_ASSERT(ok);
            am_ndlist_free(l);
            free(b);
        }
    am_clear_error();
    am_scope_end();
}

static void test_record_errors(void)
{
    am_scope_begin();
    FORMAT_FAILS("record 0, magic at byte 24: 0x12345678 is not a record magic (V1 0xF993FAC8, "
                 "V2 0xF993FAC9, V3 0xF993FACA), nor, as in records older than V1, an ndim "
                 "within Amber's limit of 6", HEAD(1), U32(0x12345678), U64(0), NONAMES);
    FORMAT_FAILS("magic at byte 24: 0x00000007 is not a record magic", HEAD(1), U32(7),
                 U64(0), U64(0), NONAMES);
    FORMAT_FAILS("record 0, shape at byte 32: ndim 7 is more than Amber's limit of 6",
                 HEAD(1), V2, U32(7), U64(1), NONAMES);
    FORMAT_FAILS("record 0, shape at byte 32: ndim 2147483647 is more than Amber's limit",
                 HEAD(1), V2, U32(0x7FFFFFFF), U64(1), NONAMES);
    FORMAT_FAILS("record 0, shape at byte 28: ndim -1 is negative", HEAD(1), V1, U32(-1),
                 U64(0), NONAMES);
    FORMAT_FAILS("record 0, shape at byte 32: ndim -2 is negative", HEAD(1), V3, U32(-2),
                 U64(0), NONAMES);
    FORMAT_FAILS("record 0, dims at byte 44: dimension 1 is -5, negative", HEAD(1), V2, U32(2),
                 U64(1), U64(-5), CPU, U32(0), NONAMES);
    FORMAT_FAILS("record 0, dims at byte 36: dimension 0 is -1, negative", HEAD(1), V2, U32(1),
                 U64(-1), CPU, U32(0), NONAMES);
    FORMAT_FAILS("record 0, context at byte 44: unknown device type 4 (MXNet writes 1 cpu, "
                 "2 gpu, 3 cpu_pinned, 5 cpu_shared)", HEAD(1), V2, U32(1), U64(1), U32(4),
                 U32(0), U32(0), U32(0), NONAMES);
    FORMAT_FAILS("record 0, storage type at byte 28: 1 in a V3 record (V3 records are always "
                 "dense, type 0)", HEAD(1), U32(0xF993FACA), U32(1), U32(1), U64(1), NONAMES);
    FORMAT_FAILS("storage type at byte 28: unknown storage type 3 (0 dense, 1 row_sparse, "
                 "2 csr)", HEAD(1), U32(0xF993FAC9), U32(3), U32(1), U64(1), NONAMES);
    /* the second record's offsets */
    FORMAT_FAILS("record 1, dtype at byte 88: int16 (MXNet type flag 8) is not supported; "
                 "Amber reads float32, float64, float16, bfloat16, uint8, int8, int32, int64 "
                 "and bool", HEAD(2),
                 V2, U32(1), U64(1), CPU, U32(0), U32(0), V2, U32(1), U64(1), CPU, U32(8),
                 U32(0), NONAMES);
    FORMAT_FAILS("uint16 (MXNet type flag 9) is not supported", HEAD(1), V1, U32(1), U64(1), CPU,
                 U32(9), 0, NONAMES);
    FORMAT_FAILS("uint64 (MXNet type flag 11) is not supported", HEAD(1), V2, U32(1), U64(1),
                 CPU, U32(11), 0, 0, NONAMES);
    FORMAT_FAILS("record 0, dtype at byte 40: unknown MXNet type flag 13", HEAD(1), U32(1),
                 U32(1), CPU, U32(13), 0, NONAMES);
    FORMAT_FAILS("unknown MXNet type flag -1", HEAD(1), V2, U32(1), U64(1), CPU, U32(-1), 0,
                 NONAMES);
    am_scope_end();
}

static void test_size_errors(void)
{
    am_scope_begin();
    /* absurd sizes fail before anything is allocated */
    FORMAT_FAILS("record 0, dims at byte 36: shape (1099511627776, 1099511627776) of float32 "
                 "is too large", HEAD(1), V2, U32(2), U64(UINT64_C(1) << 40),
                 U64(UINT64_C(1) << 40), CPU, U32(0), NONAMES);
    FORMAT_FAILS("shape (0, 4611686018427387904) of uint8 is too large", HEAD(1), V2, U32(2),
                 U64(0), U64(UINT64_C(1) << 62), CPU, U32(3), NONAMES);
    FORMAT_FAILS("dims at byte 32: shape (9223372036854775807,) of uint8 is too large", HEAD(1),
                 V1, U32(1), U64(INT64_MAX), CPU, U32(3), NONAMES);
    FORMAT_FAILS("record 0, data at byte 56: truncated: shape (1000000000,) of float32 needs "
                 "4000000000 bytes but only 8 are left", HEAD(1), V2, U32(1), U64(1000000000),
                 CPU, U32(0), NONAMES);
    FORMAT_FAILS("record 0, data at byte 52: truncated: shape (65536, 65536, 4) of uint8 needs "
                 "17179869184 bytes but only 8 are left", HEAD(1), U32(3), U32(65536),
                 U32(65536), U32(4), CPU, U32(3), NONAMES);
    FORMAT_FAILS("record 0, dims at byte 28: shape (4294967295, 4294967295, 4) of uint8 is too "
                 "large", HEAD(1), U32(3), U32(-1), U32(-1), U32(4), CPU, U32(3), NONAMES);
    FORMAT_FAILS("record 0, dims at byte 32: truncated: 48 bytes needed, 8 left", HEAD(1), V1,
                 U32(6), NONAMES);
    am_scope_end();
}

static void test_unsupported_records(void)
{
    am_scope_begin();
    LOAD_FAILS(AM_ERR_UNSUPPORTED, "record 0, storage type at byte 28: row_sparse arrays are not "
               "supported (save the array dense: x.tostype('default'))", HEAD(1), U32(0xF993FAC9),
               U32(1), U32(1), U64(4), NONAMES);
    LOAD_FAILS(AM_ERR_UNSUPPORTED, "csr arrays are not supported", HEAD(1), U32(0xF993FAC9),
               U32(2), U32(2), U64(2), U64(2), NONAMES);
    /* "none" arrays as each version writes them */
    LOAD_FAILS(AM_ERR_UNSUPPORTED, "record 0, shape at byte 32: ndim 0 (before numpy shape "
               "semantics, which V3 records mark, ndim 0 meant no shape): a \"none\" array",
               HEAD(1), V2, U32(0), NONAMES);
    LOAD_FAILS(AM_ERR_UNSUPPORTED, "record 1, shape at byte 57: ndim 0", HEAD(2), V1, U32(1),
               U64(1), CPU, U32(3), 9, V1, U32(0), NONAMES);
    LOAD_FAILS(AM_ERR_UNSUPPORTED, "record 0, magic at byte 24: 0 (a record without a magic and "
               "ndim 0): a \"none\" array", HEAD(1), U32(0), NONAMES);
    LOAD_FAILS(AM_ERR_UNSUPPORTED, "storage type at byte 28: -1 (undefined): a \"none\" array",
               HEAD(1), U32(0xF993FAC9), U32(-1), U32(-1), NONAMES);
    LOAD_FAILS(AM_ERR_UNSUPPORTED, "shape at byte 32: ndim -1 (unknown): a \"none\" array (an "
               "empty NDArray handle with no shape or values), which Amber cannot load",
               HEAD(1), V3, U32(-1), NONAMES);
    LOAD_FAILS(AM_ERR_UNSUPPORTED, "shape at byte 32: ndim -1 (unknown)", HEAD(1), V2, U32(-1),
               NONAMES);
    LOAD_FAILS(AM_ERR_UNSUPPORTED, "dims at byte 44: a dimension of -1 (unknown)", HEAD(1), V3,
               U32(2), U64(3), U64(-1), NONAMES);
    am_scope_end();
}

static void test_name_errors(void)
{
    am_scope_begin();
    /* one float32 [0] record is 36 bytes, so one record's names start at byte 60 */
#define ONE V2, U32(1), U64(1), CPU, U32(0), U32(0)
    FORMAT_FAILS("name count at byte 60: 2 names for 1 arrays (a list has no names or one per "
                 "array)", HEAD(1), ONE, U64(2), U64(1), 'a', U64(1), 'b');
    FORMAT_FAILS("name count at byte 96: 1 names for 2 arrays", HEAD(2), ONE, ONE, U64(1),
                 U64(1), 'a');
    FORMAT_FAILS("name 0, length at byte 68: truncated: 1099511627776 bytes of name, 3 left",
                 HEAD(1), ONE, U64(1), U64(UINT64_C(1) << 40), 'a', 'b', 'c');
    FORMAT_FAILS("name 0, length at byte 68: truncated: 18446744073709551615 bytes of name",
                 HEAD(1), ONE, U64(1), U64(-1), 'a');
    FORMAT_FAILS("name 1, length at byte 113: truncated: 8 bytes needed, 2 left", HEAD(2), ONE,
                 ONE, U64(2), U64(1), 'a', 0, 0);
    FORMAT_FAILS("name 0, text at byte 76: the name holds a NUL byte", HEAD(1), ONE, U64(1),
                 U64(3), 'a', 0, 'b');
    FORMAT_FAILS("name 2, text at byte 166: duplicate name 'w' (name 0 has it too)", HEAD(3),
                 ONE, ONE, ONE, U64(3), U64(1), 'w', U64(1), 'v', U64(1), 'w');
    FORMAT_FAILS("end at byte 68: 3 bytes follow the names (a .params file ends with them)",
                 HEAD(1), ONE, NONAMES, 1, 2, 3);
#undef ONE
    am_scope_end();
}

/* ---- the fuzzing seed corpus ----------------------------------------------------------------- */

#define CORPUS "tests/fuzz/corpus_params"

/* The committed seeds are exactly this file's fixtures.  AM_WRITE_CORPUS=1
 * (run from the repository root) writes them anew after a change here. */
static void test_seed_corpus(void)
{
    const struct {
        const char *name;
        const uint8_t *p;
        size_t n;
    } seeds[] = {{"v2_named.params", fix_v2, sizeof(fix_v2)},
                 {"v1_gpu.params", fix_v1, sizeof(fix_v1)},
                 {"v3_scalar_empty.params", fix_v3, sizeof(fix_v3)},
                 {"pre_v1.params", fix_pre_v1, sizeof(fix_pre_v1)},
                 {"mixed.params", fix_mixed, sizeof(fix_mixed)}};
    const char *w = getenv("AM_WRITE_CORPUS");
    am_scope_begin();
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        char path[256], got[512];
        snprintf(path, sizeof(path), CORPUS "/%s", seeds[i].name);
        if (w && strcmp(w, "1") == 0) write_bytes(path, seeds[i].p, seeds[i].n);
        FILE *f = fopen(path, "rb");
        size_t k = f ? fread(got, 1, sizeof(got), f) : 0;
        if (f) fclose(f);
        if (!f || k != seeds[i].n || memcmp(got, seeds[i].p, k) != 0) {
            printf("\n  %s is missing or differs (run from the repository root)", path);
            CU_FAIL("seed corpus");
        }
        am_ndlist *l = am_ndlist_load(path);
        CU_ASSERT_PTR_NOT_NULL(l);
        am_ndlist_free(l);
    }
    am_scope_end();
}

/* ---- GPU arrays ------------------------------------------------------------------------- */

static void test_save_gpu_arrays(void)
{
    if (am_gpu_count() == 0) {
        printf("skipped: no GPU ");
        CU_PASS("skipped");
        return;
    }
    am_scope_begin();
    am_ndlist *l = LOAD(fix_v2), *g = am_ndlist_create();
    am_array *x = am_to_device(am_ndlist_get(l, 0), am_gpu(0));
    CU_ASSERT_EQUAL(am_ndlist_add(g, "arg:w", x), AM_OK);
    ASSERT_SAVES_AS(g, fix_v2); /* copied to the host and marked cpu(0) */
    am_ndlist_free(g);
    am_ndlist_free(l);
    am_scope_end();
}

CU_TestInfo am_tests_params[] = {
    {"load V2 (the documented example)", test_load_v2},
    {"load V1, V3, pre-V1 and mixed records", test_load_v1_v3_pre_v1},
    {"save: bytes as documented", test_save_layout},
    {"round trips of every dtype, 0-d and size-0", test_round_trips},
    {"names are kept verbatim", test_names_verbatim},
    {"ownership of arrays", test_ownership},
    {"list API", test_list_api},
    {"list API errors", test_list_api_errors},
    {"file errors", test_file_errors},
    {"header errors", test_header_errors},
    {"truncated at every byte", test_truncated_everywhere},
    {"record errors", test_record_errors},
    {"absurd sizes", test_size_errors},
    {"sparse and none records", test_unsupported_records},
    {"name errors", test_name_errors},
    {"seed corpus", test_seed_corpus},
    {"save GPU arrays", test_save_gpu_arrays},
    CU_TEST_INFO_NULL,
};
