/* libFuzzer target for the .npy reader: any input either loads or fails with
 * a message naming the input, never crashes or leaks.  What loads has a shape
 * am_shape_check accepts and no more data than the input holds; it converts
 * to every dtype (float -> integer casts of whatever bits the input holds,
 * which UBSan watches), and a small one saves, reloads with the same dtype,
 * shape and bytes, and saves again to the same file.  `make fuzz` runs it. */
#include <amber/amber.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "fuzz_npy: check failed: %s (%s)\n", #cond, am_last_error()); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

static char path[64];

static char *read_file(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    CHECK(f != NULL);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    CHECK(buf && fread(buf, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return buf;
}

static void round_trip(am_array *x)
{
    if (!path[0]) {
        snprintf(path, sizeof(path), "/tmp/amber-fuzz-npy.XXXXXX");
        int fd = mkstemp(path);
        CHECK(fd >= 0);
        close(fd);
    }
    am_dtype t = am_array_dtype(x);
    if (t != AM_DTYPE_FLOAT32 && t != AM_DTYPE_FLOAT64 && t != AM_DTYPE_INT32 &&
        t != AM_DTYPE_INT64 && t != AM_DTYPE_UINT8)
        return; /* what am_npy_save writes */
    CHECK(am_npy_save(path, x) == AM_OK);
    size_t n1, n2;
    char *a = read_file(path, &n1);
    am_array *y = am_npy_load(path);
    CHECK(y != NULL && am_array_dtype(y) == t);
    am_shape sx = am_array_shape(x), sy = am_array_shape(y);
    CHECK(am_shape_equal(sx, sy));
    size_t bytes = (size_t)am_array_size(x) * am_dtype_size(t);
    CHECK(bytes == 0 || memcmp(am_array_data(x), am_array_data(y), bytes) == 0);
    CHECK(am_npy_save(path, y) == AM_OK);
    char *b = read_file(path, &n2);
    CHECK(n1 == n2 && memcmp(a, b, n1) == 0);
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t live = am_debug_live_arrays();
    am_clear_error();
    am_scope_begin();
    am_array *x = am_npy_load_buffer(data, size);
    if (!x) {
        /* a failure always says why, naming the input */
        CHECK(am_last_status() != AM_OK && strstr(am_last_error(), "<buffer>"));
    } else {
        am_shape s = am_array_shape(x);
        int64_t n = -1;
        uint64_t bytes = 0;
        CHECK(am_shape_check(&s, am_dtype_size(am_array_dtype(x)), &n, &bytes));
        CHECK(n == am_array_size(x) && bytes <= size);
        if (n <= 4096) {
            for (int t = 0; t < AM_DTYPE_COUNT; t++) {
                am_array *y = am_astype(x, (am_dtype)t);
                CHECK(y != NULL && am_array_size(y) == n);
            }
            round_trip(x);
        }
    }
    am_scope_end();
    CHECK(am_debug_live_arrays() == live);
    return 0;
}
