/* libFuzzer target for the .params reader: any input either loads or fails
 * with a message, never crashes; what loads saves, reloads identically, and
 * saves again to the same bytes.  `make fuzz` builds and runs it. */
#include <amber/amber.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "fuzz_params: check failed: %s (%s)\n", #cond, am_last_error()); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

static void check_same(const am_ndlist *a, const am_ndlist *b)
{
    CHECK(am_ndlist_size(a) == am_ndlist_size(b));
    CHECK(am_ndlist_is_named(a) == am_ndlist_is_named(b));
    for (int i = 0; i < am_ndlist_size(a); i++) {
        const char *na = am_ndlist_name(a, i), *nb = am_ndlist_name(b, i);
        CHECK((!na && !nb) || (na && nb && strcmp(na, nb) == 0));
        if (na) CHECK(am_ndlist_find(a, na) == am_ndlist_get(a, i));
        am_array *x = am_ndlist_get(a, i), *y = am_ndlist_get(b, i);
        am_shape sx = am_array_shape(x), sy = am_array_shape(y);
        CHECK(am_array_dtype(x) == am_array_dtype(y) && sx.ndim == sy.ndim);
        CHECK(memcmp(sx.dim, sy.dim, sizeof(sx.dim[0]) * (size_t)sx.ndim) == 0);
        size_t n = (size_t)am_array_size(x) * am_dtype_size(am_array_dtype(x));
        CHECK(n == 0 || memcmp(am_array_data(x), am_array_data(y), n) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t live = am_debug_live_arrays();
    am_clear_error();
    am_ndlist *l = am_ndlist_load_buffer(data, size);
    if (!l) {
        /* a failure always says why */
        CHECK(am_last_status() != AM_OK && am_last_error()[0] != '\0');
        CHECK(am_debug_live_arrays() == live);
        return 0;
    }
    void *b1 = NULL, *b2 = NULL;
    size_t n1 = 0, n2 = 0;
    CHECK(am_ndlist_save_buffer(l, &b1, &n1) == AM_OK);
    am_ndlist *m = am_ndlist_load_buffer(b1, n1);
    CHECK(m != NULL);
    check_same(l, m);
    CHECK(am_ndlist_save_buffer(m, &b2, &n2) == AM_OK);
    CHECK(n1 == n2 && memcmp(b1, b2, n1) == 0);
    free(b1);
    free(b2);
    am_ndlist_free(m);
    am_ndlist_free(l);
    CHECK(am_debug_live_arrays() == live);
    return 0;
}
