/* libFuzzer target for the IDX reader: any input either loads or fails with
 * a message, never crashes or leaks; what loads has exactly the size its
 * header promises and goes through a loader epoch.  Inputs starting with the
 * gzip magic are also read from a file, through zlib.  `make fuzz` runs it. */
#include <amber/amber.h>
#include <amber/data.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "fuzz_idx: check failed: %s (%s)\n", #cond, am_last_error()); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

/* A loaded plain file is exactly its header and values. */
static void check_size(am_array *x, size_t size, const uint8_t *data)
{
    static const int bytes[16] = {[0x8] = 1, [0x9] = 1, [0xB] = 2, [0xC] = 4, [0xD] = 4,
                                  [0xE] = 8};
    CHECK(size >= 4 && data[2] < 16 && bytes[data[2]] > 0);
    CHECK(am_array_ndim(x) == data[3]);
    size_t want = 4 + 4 * (size_t)data[3] + (size_t)am_array_size(x) * (size_t)bytes[data[2]];
    CHECK(want == size);
}

/* One foreground epoch over the array, with every transform its shape allows. */
static void run_loader(am_array *x)
{
    if (am_array_ndim(x) < 1 || am_array_size(x) > 4096 || am_array_dim(x, 0) > 1024) return;
    am_dataset *d = am_dataset_arrays(x, x);
    CHECK(d != NULL);
    am_loader_opts o = am_loader_defaults(3);
    o.background = false;
    o.last_batch = AM_LAST_BATCH_ROLLOVER;
    o.flip = o.crop_pad = am_array_ndim(x) >= 3;
    am_loader *l = am_loader_create(d, &o);
    CHECK(l != NULL);
    am_array *bx, *by;
    am_scope_begin();
    while (am_loader_next(l, &bx, &by) == AM_OK && bx) CHECK(by != NULL);
    CHECK(am_last_status() == AM_OK);
    am_scope_end();
    am_loader_free(l);
    am_dataset_free(d);
}

/* The same bytes through am_idx_load, for the gzip path. */
static void load_file(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0]) {
        snprintf(path, sizeof(path), "/tmp/amber-fuzz-idx.XXXXXX");
        int fd = mkstemp(path);
        CHECK(fd >= 0);
        close(fd);
    }
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK(fwrite(data, 1, size, f) == size);
    fclose(f);
    am_clear_error();
    am_scope_begin();
    am_array *x = am_idx_load(path);
    if (!x) CHECK(am_last_status() != AM_OK && strstr(am_last_error(), path));
    am_scope_end();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t live = am_debug_live_arrays();
    am_clear_error();
    am_scope_begin();
    am_array *x = am_idx_load_buffer(data, size);
    if (!x) {
        /* a failure always says why, naming the input */
        CHECK(am_last_status() != AM_OK && strstr(am_last_error(), "<buffer>"));
    } else {
        check_size(x, size, data);
        run_loader(x);
    }
    am_scope_end();
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) load_file(data, size);
    CHECK(am_debug_live_arrays() == live);
    return 0;
}
