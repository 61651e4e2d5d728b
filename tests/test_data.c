/* Tests for include/amber/data.h: the IDX reader (every type, plain and
 * gzip'd, every hostile case), data sets and the loader (shuffling, seeds,
 * last_batch, transforms, the worker thread). */
#include <amber/data.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "test_util.h"

/* ---- writing IDX files ------------------------------------------------------ */

typedef struct idx_buf {
    uint8_t b[4096];
    size_t n;
} idx_buf;

static void put(idx_buf *w, const void *p, size_t n)
{
    CU_ASSERT_FATAL(w->n + n <= sizeof(w->b));
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void put_be32(idx_buf *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(w, b, 4);
}

/* A header: 00 00 type ndim, then the dims. */
static idx_buf header(uint8_t type, int ndim, const uint32_t *dims)
{
    idx_buf w = {.n = 0};
    uint8_t m[4] = {0, 0, type, (uint8_t)ndim};
    put(&w, m, 4);
    for (int i = 0; i < ndim; i++) put_be32(&w, dims[i]);
    return w;
}

static char tmp_dir[64];

static const char *tmp_path(const char *name)
{
    static char path[128];
    if (!tmp_dir[0]) {
        snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/amber-test-data.XXXXXX");
        CU_ASSERT_FATAL(mkdtemp(tmp_dir) != NULL);
    }
    snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
    return path;
}

static void write_plain(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(fwrite(p, 1, n, f) == n);
    fclose(f);
}

static void write_gz(const char *path, const void *p, size_t n)
{
    gzFile g = gzopen(path, "wb");
    CU_ASSERT_FATAL(g != NULL);
    CU_ASSERT(n == 0 || gzwrite(g, p, (unsigned)n) == (int)n);
    gzclose(g);
}

/* ---- the reader: every type --------------------------------------------------- */

static void check_types(bool gz)
{
    uint32_t dims[2] = {2, 2};
    idx_buf w;
    am_array *x;
    am_scope_begin();
    /* uint8 */
    w = header(0x08, 2, dims);
    put(&w, (uint8_t[]){0, 7, 200, 255}, 4);
    const char *p = tmp_path("u8");
    gz ? write_gz(p, w.b, w.n) : write_plain(p, w.b, w.n);
    x = am_idx_load(p);
    CU_ASSERT_FATAL(x != NULL);
    CU_ASSERT_EQUAL(am_array_dtype(x), AM_DTYPE_UINT8);
    TU_ASSERT_VALUES(x, AM_SHAPE(2, 2), 0, 0, 7, 200, 255);
    /* int8 and int16, widened */
    w = header(0x09, 1, (uint32_t[]){3});
    put(&w, (uint8_t[]){0x80, 0xff, 0x7f}, 3);
    x = am_idx_load_buffer(w.b, w.n);
    CU_ASSERT_EQUAL(am_array_dtype(x), AM_DTYPE_INT32);
    TU_ASSERT_VALUES(x, AM_SHAPE(3), 0, -128, -1, 127);
    w = header(0x0B, 1, (uint32_t[]){3});
    put(&w, (uint8_t[]){0x80, 0x00, 0xff, 0xfe, 0x01, 0x02}, 6);
    p = tmp_path("i16");
    gz ? write_gz(p, w.b, w.n) : write_plain(p, w.b, w.n);
    TU_ASSERT_VALUES(am_idx_load(p), AM_SHAPE(3), 0, -32768, -2, 258);
    /* int32, float32, float64 */
    w = header(0x0C, 1, (uint32_t[]){2});
    put(&w, (uint8_t[]){0xff, 0xff, 0xff, 0xfe, 0x01, 0x02, 0x03, 0x04}, 8);
    TU_ASSERT_VALUES(am_idx_load_buffer(w.b, w.n), AM_SHAPE(2), 0, -2, 0x01020304);
    w = header(0x0D, 1, (uint32_t[]){2});
    put(&w, (uint8_t[]){0x3f, 0xc0, 0, 0, 0xc1, 0x20, 0, 0}, 8); /* 1.5, -10 */
    x = am_idx_load_buffer(w.b, w.n);
    CU_ASSERT_EQUAL(am_array_dtype(x), AM_DTYPE_FLOAT32);
    TU_ASSERT_VALUES(x, AM_SHAPE(2), 0, 1.5, -10);
    w = header(0x0E, 3, (uint32_t[]){1, 1, 1});
    put(&w, (uint8_t[]){0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18}, 8); /* pi */
    p = tmp_path("f64");
    gz ? write_gz(p, w.b, w.n) : write_plain(p, w.b, w.n);
    x = am_idx_load(p);
    CU_ASSERT_EQUAL(am_array_dtype(x), AM_DTYPE_FLOAT64);
    TU_ASSERT_VALUES(x, AM_SHAPE(1, 1, 1), 0, 3.141592653589793);
    /* an empty array is fine */
    w = header(0x08, 2, (uint32_t[]){0, 28});
    x = am_idx_load_buffer(w.b, w.n);
    CU_ASSERT(x && am_array_size(x) == 0 && am_array_dim(x, 1) == 28);
    am_scope_end();
}

static void test_idx_types_plain(void) { check_types(false); }
static void test_idx_types_gzip(void) { check_types(true); }

/* ---- the reader: hostile input ------------------------------------------------------ */

#define FAILS_BUF(w, substr) \
    TU_ASSERT_FAILS(am_idx_load_buffer((w).b, (w).n), AM_ERR_FORMAT, substr)

static void test_idx_hostile_header(void)
{
    idx_buf w = {.n = 0};
    FAILS_BUF(w, "<buffer>: truncated in the magic number at byte 0");
    put(&w, (uint8_t[]){0, 0, 8}, 3);
    FAILS_BUF(w, "truncated in the magic number at byte 0: 4 bytes needed, 3 found");
    w = header(0x08, 1, (uint32_t[]){1});
    w.b[1] = 0x01;
    FAILS_BUF(w, "bad magic at byte 0: 00 01 08 01");
    w = header(0x0A, 1, (uint32_t[]){1});
    FAILS_BUF(w, "unknown type code 0x0a at byte 2");
    w = header(0x08, 0, NULL);
    FAILS_BUF(w, "number of dimensions 0 at byte 3");
    w = header(0x08, 7, (uint32_t[]){1, 1, 1, 1, 1, 1, 1});
    FAILS_BUF(w, "number of dimensions 7 at byte 3 is outside [1, 6]");
    w = header(0x08, 3, (uint32_t[]){4, 4, 4});
    w.n -= 6;
    FAILS_BUF(w, "truncated in the dimensions at byte 4: 12 bytes needed, 6 found");
    TU_ASSERT_FAILS(am_idx_load_buffer(NULL, 3), AM_ERR_ARG, "data is NULL");
    TU_ASSERT_FAILS(am_idx_load(NULL), AM_ERR_ARG, "path is NULL");
}

static void test_idx_hostile_sizes(void)
{
    idx_buf w = header(0x0E, 6, (uint32_t[]){0xffffffffu, 0xffffffffu, 0xffffffffu, 2, 2, 2});
    FAILS_BUF(w, "dimension 1 (4294967295) at byte 8 makes the product of the dimensions "
                 "overflow");
    w = header(0x08, 3, (uint32_t[]){60000, 28, 28});
    put(&w, (uint8_t[]){1, 2, 3}, 3);
    FAILS_BUF(w, "dimensions (60000, 28, 28) of uint8 at byte 4 need 47040000 bytes of data at "
                 "byte 16 but the file holds only 3");
    w = header(0x0C, 1, (uint32_t[]){2});
    put(&w, (uint8_t[]){0, 0, 0, 1, 0, 0, 0, 2, 9}, 9);
    FAILS_BUF(w, "trailing bytes at byte 16 after the data");
    /* gzip'd: the bound is what the file can decompress to */
    w = header(0x08, 2, (uint32_t[]){100000, 100000});
    const char *p = tmp_path("huge.gz");
    write_gz(p, w.b, w.n);
    TU_ASSERT_FAILS(am_idx_load(p), AM_ERR_FORMAT, "but the file can decompress to at most");
    TU_ASSERT_FAILS(am_idx_load(p), AM_ERR_FORMAT, "huge.gz: dimensions (100000, 100000)");
}

/* A gzip'd file whose header is fine but whose stream is cut or damaged. */
static void test_idx_hostile_gzip(void)
{
    idx_buf w = header(0x08, 2, (uint32_t[]){40, 50});
    for (int i = 0; i < 2000; i++) put(&w, (uint8_t[]){(uint8_t)(i * 7 % 251)}, 1);
    const char *p = tmp_path("ok.gz");
    write_gz(p, w.b, w.n);
    FILE *f = fopen(p, "rb");
    CU_ASSERT_FATAL(f != NULL);
    uint8_t z[8192];
    size_t n = fread(z, 1, sizeof(z), f);
    fclose(f);
    CU_ASSERT_FATAL(n > 40 && n < sizeof(z));
    am_scope_begin();
    CU_ASSERT(am_idx_load(p) != NULL);
    am_scope_end();
    /* cut in the middle of the deflate data */
    p = tmp_path("cut.gz");
    write_plain(p, z, n / 2);
    TU_ASSERT_FAILS(am_idx_load(p), AM_ERR_FORMAT, "cut.gz: truncated gzip stream");
    /* cut in the 8-byte trailer: every value is there, the check is not */
    write_plain(p, z, n - 3);
    TU_ASSERT_FAILS(am_idx_load(p), AM_ERR_FORMAT, "truncated gzip stream");
    /* a damaged CRC: caught when the stream ends */
    z[n - 6] ^= 0x55;
    p = tmp_path("crc.gz");
    write_plain(p, z, n);
    TU_ASSERT_FAILS(am_idx_load(p), AM_ERR_FORMAT,
                    "crc.gz: corrupt gzip stream (reading byte 0 of the decompressed data): "
                    "incorrect data check");
    z[n - 6] ^= 0x55;
    /* garbage in the deflate data */
    for (size_t i = 20; i < 40; i++) z[i] = 0xff;
    p = tmp_path("bad.gz");
    write_plain(p, z, n);
    TU_ASSERT_FAILS(am_idx_load(p), AM_ERR_FORMAT, "bad.gz: corrupt gzip stream (reading byte");
}

static void test_idx_files(void)
{
    TU_ASSERT_FAILS(am_idx_load(tmp_path("missing")), AM_ERR_IO, "cannot open");
    TU_ASSERT_FAILS(am_idx_load(tmp_dir), AM_ERR_IO, "not a regular file");
    idx_buf w = header(0x08, 1, (uint32_t[]){5});
    put(&w, (uint8_t[]){1, 2, 3}, 3);
    const char *p = tmp_path("short");
    write_plain(p, w.b, w.n);
    TU_ASSERT_FAILS(am_idx_load(p), AM_ERR_FORMAT, "short: dimensions (5,) of uint8 at byte 4");
    /* a gzip'd file that is cut inside the data it promises */
    write_gz(p, w.b, w.n);
    TU_ASSERT_FAILS(am_idx_load(p), AM_ERR_FORMAT,
                    "truncated in the uint8 data at byte 8: 5 bytes needed, 3 found");
}

/* ---- Fashion-MNIST from Debian's dataset-fashion-mnist ------------------------------ */

static bool have_fashion_mnist(void)
{
    if (access(AM_FASHION_MNIST_DIR "/train-images-idx3-ubyte.gz", R_OK) == 0) return true;
    printf("\n  skipped: %s is missing (install Debian's dataset-fashion-mnist: make deps) ",
           AM_FASHION_MNIST_DIR);
    return false;
}

static void test_fashion_mnist(void)
{
    if (!have_fashion_mnist()) return;
    const char *sets[2][2] = {
        {AM_FASHION_MNIST_DIR "/train-images-idx3-ubyte.gz",
         AM_FASHION_MNIST_DIR "/train-labels-idx1-ubyte.gz"},
        {AM_FASHION_MNIST_DIR "/t10k-images-idx3-ubyte.gz",
         AM_FASHION_MNIST_DIR "/t10k-labels-idx1-ubyte.gz"},
    };
    const int64_t n[2] = {60000, 10000};
    for (int s = 0; s < 2; s++) {
        am_dataset *d = am_dataset_idx(sets[s][0], sets[s][1]);
        CU_ASSERT_FATAL(d != NULL);
        am_array *x = am_dataset_data(d), *y = am_dataset_label(d);
        CU_ASSERT(am_dataset_size(d) == n[s]);
        CU_ASSERT(am_shape_equal(am_array_shape(x), AM_SHAPE(n[s], 28, 28)));
        CU_ASSERT(am_shape_equal(am_array_shape(y), AM_SHAPE(n[s])));
        CU_ASSERT(am_array_dtype(x) == AM_DTYPE_UINT8 && am_array_dtype(y) == AM_DTYPE_UINT8);
        int64_t count[10] = {0};
        const uint8_t *lab = am_array_data(y);
        for (int64_t i = 0; i < n[s]; i++) {
            CU_ASSERT_FATAL(lab[i] < 10);
            count[lab[i]]++;
        }
        for (int c = 0; c < 10; c++) CU_ASSERT(count[c] == n[s] / 10); /* balanced classes */
        am_dataset_free(d);
    }
    TU_ASSERT_FAILS(am_dataset_idx(sets[0][0], sets[1][1]), AM_ERR_SHAPE,
                    "train-images-idx3-ubyte.gz holds 60000 samples but");
}

/* ---- data sets ------------------------------------------------------------------------- */

/* n samples of shape (h, w): sample i holds 1000 * i + its element index;
 * labels are i. */
static am_dataset *counting(int64_t n, int64_t h, int64_t w)
{
    am_scope_begin();
    am_array *x = am_zeros(AM_SHAPE(n, h, w), AM_DTYPE_FLOAT32);
    am_array *y = am_zeros(AM_SHAPE(n), AM_DTYPE_INT32);
    float *px = am_array_data(x);
    int32_t *py = am_array_data(y);
    for (int64_t i = 0; i < n; i++) {
        py[i] = (int32_t)i;
        for (int64_t k = 0; k < h * w; k++) px[i * h * w + k] = (float)(1000 * i + k);
    }
    am_dataset *d = am_dataset_arrays(x, y);
    am_scope_end();
    return d;
}

static void test_dataset_errors(void)
{
    am_scope_begin();
    am_array *x = am_zeros(AM_SHAPE(4, 2), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_dataset_arrays(x, am_zeros(AM_SHAPE(3), AM_DTYPE_FLOAT32)), AM_ERR_SHAPE,
                    "data (4, 2) and label (3,) differ in the number of samples");
    TU_ASSERT_FAILS(am_dataset_arrays(am_zeros(AM_SHAPE(), AM_DTYPE_FLOAT32), NULL), AM_ERR_SHAPE,
                    "data is 0-d");
    TU_ASSERT_FAILS(am_dataset_arrays(NULL, x), AM_ERR_ARG, "input 0 is NULL");
    am_dataset *d = am_dataset_arrays(x, NULL);
    CU_ASSERT(am_dataset_size(d) == 4 && am_dataset_label(d) == NULL);
    am_loader_opts o = am_loader_defaults(0);
    TU_ASSERT_FAILS(am_loader_create(d, &o), AM_ERR_ARG, "am_loader_create: batch_size 0 < 1");
    o = am_loader_defaults(2);
    o.flip = true;
    TU_ASSERT_FAILS(am_loader_create(d, &o), AM_ERR_ARG, "crop and flip need samples of 2");
    o = am_loader_defaults(2);
    o.n_norm = 1;
    TU_ASSERT_FAILS(am_loader_create(d, &o), AM_ERR_ARG, "std[0] is 0");
    TU_ASSERT_FAILS(am_loader_create(NULL, &o), AM_ERR_ARG, "data set is NULL");
    /* without labels the loader gives none */
    o = am_loader_defaults(3);
    am_loader *l = am_loader_create(d, &o);
    am_array *bx, *by;
    CU_ASSERT(am_loader_next(l, &bx, &by) == AM_OK && bx && !by);
    CU_ASSERT(am_shape_equal(am_array_shape(bx), AM_SHAPE(3, 2)));
    am_clear_error();
    CU_ASSERT(am_loader_next(l, NULL, &by) == AM_ERR_ARG && strstr(am_last_error(), "data is"));
    am_clear_error();
    am_loader_free(l);
    am_dataset_free(d);
    am_dataset_free(NULL);
    am_loader_free(NULL);
    am_scope_end();
}

/* ---- the loader ---------------------------------------------------------------------- */

/* Runs one epoch; writes the label of every sample in order into ids and
 * the batch sizes into sizes; returns the number of batches. */
static int epoch_ids(am_loader *l, int64_t *ids, int64_t *sizes)
{
    am_array *x, *y;
    int nb = 0;
    int64_t k = 0;
    am_scope_begin();
    while (am_loader_next(l, &x, &y) == AM_OK && x) {
        const float *py = am_array_data(y), *px = am_array_data(x);
        int64_t b = am_array_dim(y, 0), per = am_array_size(x) / b;
        for (int64_t i = 0; i < b; i++) {
            CU_ASSERT(px[i * per] == 1000.0f * py[i]); /* data and label stay together */
            ids[k++] = (int64_t)py[i];
        }
        sizes[nb++] = b;
    }
    CU_ASSERT(am_last_status() == AM_OK);
    am_scope_end();
    return nb;
}

static am_loader *loader(am_dataset *d, int64_t batch, uint64_t seed, am_last_batch m, bool bg)
{
    am_loader_opts o = am_loader_defaults(batch);
    o.seed = seed;
    o.last_batch = m;
    o.background = bg;
    am_loader *l = am_loader_create(d, &o);
    CU_ASSERT_FATAL(l != NULL);
    return l;
}

static bool is_permutation(const int64_t *ids, int64_t n)
{
    bool seen[256] = {false};
    for (int64_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= n || seen[ids[i]]) return false;
        seen[ids[i]] = true;
    }
    return true;
}

static void test_loader_shuffle(void)
{
    am_dataset *d = counting(100, 2, 2);
    int64_t a[3][100], b[100], sizes[64];
    am_loader *l = loader(d, 7, 1, AM_LAST_BATCH_KEEP, true);
    for (int e = 0; e < 3; e++) {
        CU_ASSERT(am_loader_epoch(l) == e && am_loader_num_batches(l) == 15);
        CU_ASSERT(epoch_ids(l, a[e], sizes) == 15);
        CU_ASSERT(is_permutation(a[e], 100));
    }
    CU_ASSERT(memcmp(a[0], a[1], sizeof(a[0])) != 0); /* a new permutation each epoch */
    am_loader_free(l);
    l = loader(d, 7, 1, AM_LAST_BATCH_KEEP, true); /* the same seed, the same order */
    for (int e = 0; e < 3; e++) {
        epoch_ids(l, b, sizes);
        CU_ASSERT(memcmp(a[e], b, sizeof(b)) == 0);
    }
    am_loader_free(l);
    l = loader(d, 7, 2, AM_LAST_BATCH_KEEP, false); /* another seed, another order */
    epoch_ids(l, b, sizes);
    CU_ASSERT(is_permutation(b, 100) && memcmp(a[0], b, sizeof(b)) != 0);
    am_loader_free(l);
    am_loader_opts o = am_loader_defaults(30); /* no shuffling: in order */
    o.shuffle = false;
    l = am_loader_create(d, &o);
    epoch_ids(l, b, sizes);
    for (int i = 0; i < 100; i++) CU_ASSERT(b[i] == i);
    am_loader_free(l);
    am_dataset_free(d);
}

static void test_loader_last_batch(void)
{
    am_dataset *d = counting(10, 1, 1);
    int64_t ids[3][16], sizes[8];
    am_loader *l = loader(d, 4, 3, AM_LAST_BATCH_KEEP, true);
    CU_ASSERT(epoch_ids(l, ids[0], sizes) == 3 && sizes[0] == 4 && sizes[1] == 4 && sizes[2] == 2);
    am_loader_free(l);
    l = loader(d, 4, 3, AM_LAST_BATCH_DISCARD, true);
    CU_ASSERT(am_loader_num_batches(l) == 2);
    CU_ASSERT(epoch_ids(l, ids[0], sizes) == 2 && sizes[0] == 4 && sizes[1] == 4);
    am_loader_free(l);
    /* rollover: 10 = 8 + 2 carried; 2 + 10 = 12 = 3 batches; then 10 = 8 + 2 again */
    l = loader(d, 4, 3, AM_LAST_BATCH_ROLLOVER, true);
    int expect[3] = {2, 3, 2};
    int64_t e1[12], e0[12];
    CU_ASSERT(epoch_ids(l, e0, sizes) == expect[0]);
    CU_ASSERT(am_loader_num_batches(l) == 3);
    CU_ASSERT(epoch_ids(l, e1, sizes) == expect[1]);
    CU_ASSERT(epoch_ids(l, ids[2], sizes) == expect[2]);
    /* the two samples left out of epoch 0 open epoch 1, then a full permutation */
    bool seen[10] = {false};
    for (int i = 0; i < 8; i++) seen[e0[i]] = true;
    for (int i = 0; i < 2; i++) CU_ASSERT(!seen[e1[i]]);
    CU_ASSERT(is_permutation(e1 + 2, 10));
    am_loader_free(l);
    am_dataset_free(d);
}

/* Every batch of two loaders over three epochs is the same. */
static void check_same_batches(am_loader *a, am_loader *b)
{
    for (int e = 0; e < 3; e++) {
        am_array *xa, *ya, *xb, *yb;
        am_scope_begin();
        for (;;) {
            CU_ASSERT_FATAL(am_loader_next(a, &xa, &ya) == AM_OK);
            CU_ASSERT_FATAL(am_loader_next(b, &xb, &yb) == AM_OK);
            CU_ASSERT_FATAL((xa == NULL) == (xb == NULL));
            if (!xa) break;
            CU_ASSERT(tu_allclose(xa, xb, 0) && tu_allclose(ya, yb, 0));
        }
        am_scope_end();
    }
}

static void test_loader_background_same(void)
{
    am_dataset *d = counting(50, 6, 5);
    am_loader_opts o = am_loader_defaults(8);
    o.seed = 77;
    o.last_batch = AM_LAST_BATCH_ROLLOVER;
    o.crop_pad = 2;
    o.flip = true;
    o.n_norm = 1;
    o.mean[0] = 3;
    o.std[0] = 2;
    o.scale = 0.5f;
    am_loader *bg = am_loader_create(d, &o);
    o.background = false;
    am_loader *fg = am_loader_create(d, &o);
    check_same_batches(bg, fg);
    am_loader_free(bg);
    am_loader_free(fg);
    am_dataset_free(d);
}

static void test_loader_reset_and_free(void)
{
    am_dataset *d = counting(40, 3, 3);
    am_array *x, *y;
    for (int bgi = 0; bgi < 2; bgi++) {
        /* reset after one batch: the next batch is epoch 1's first */
        am_loader *l = loader(d, 6, 5, AM_LAST_BATCH_ROLLOVER, bgi);
        am_loader *ref = loader(d, 6, 5, AM_LAST_BATCH_ROLLOVER, false);
        int64_t ids[64], sizes[16];
        am_scope_begin();
        CU_ASSERT(am_loader_reset(l) == AM_OK && am_loader_epoch(l) == 0); /* nothing taken */
        CU_ASSERT(am_loader_next(l, &x, &y) == AM_OK && x);
        CU_ASSERT(am_loader_reset(l) == AM_OK && am_loader_epoch(l) == 1);
        epoch_ids(ref, ids, sizes); /* the reference runs epoch 0 through */
        check_same_batches(l, ref);
        am_scope_end();
        am_loader_free(ref);
        am_loader_free(l);
    }
    /* freed mid-epoch, with batches prepared and one still held */
    am_loader *l = loader(d, 4, 5, AM_LAST_BATCH_KEEP, true);
    CU_ASSERT(am_loader_next(l, &x, &y) == AM_OK && x);
    usleep(2000);
    am_loader_free(l);
    CU_ASSERT(am_array_dim(x, 0) == 4); /* still valid: not in a scope, ours to release */
    am_release(x);
    am_release(y);
    for (int i = 0; i < 20; i++) am_loader_free(loader(d, 1 + i, (uint64_t)i, i % 3, true));
    am_dataset_free(d);
}

/* ---- transforms ------------------------------------------------------------------------- */

static void test_loader_flip(void)
{
    am_dataset *d = counting(1, 2, 3); /* 0 1 2 / 3 4 5 */
    am_loader_opts o = am_loader_defaults(1);
    o.flip = true;
    o.channel_axis = true;
    am_loader *l = am_loader_create(d, &o);
    int seen[2] = {0, 0};
    am_array *x, *y;
    for (int e = 0; e < 40; e++) {
        am_scope_begin();
        CU_ASSERT_FATAL(am_loader_next(l, &x, &y) == AM_OK && x);
        CU_ASSERT(am_shape_equal(am_array_shape(x), AM_SHAPE(1, 1, 2, 3)));
        const float *p = am_array_data(x);
        bool same = p[0] == 0 && p[1] == 1 && p[2] == 2 && p[3] == 3 && p[4] == 4 && p[5] == 5;
        bool mirrored = p[0] == 2 && p[1] == 1 && p[2] == 0 && p[3] == 5 && p[4] == 4 && p[5] == 3;
        CU_ASSERT(same != mirrored);
        seen[mirrored]++;
        CU_ASSERT(am_loader_next(l, &x, &y) == AM_OK && !x);
        am_scope_end();
    }
    CU_ASSERT(seen[0] > 5 && seen[1] > 5);
    am_loader_free(l);
    am_dataset_free(d);
}

/* Each cropped sample is the image shifted by (dy, dx) within the padding,
 * zeros (then normalized) where the shift leaves the image. */
static void test_loader_crop_normalize(void)
{
    const int64_t h = 4, w = 5, pad = 2;
    am_dataset *d = counting(3, h, w);
    am_loader_opts o = am_loader_defaults(3);
    o.crop_pad = (int)pad;
    o.scale = 0.5f;
    o.n_norm = 1;
    o.mean[0] = 1;
    o.std[0] = 4;
    am_loader *l = am_loader_create(d, &o);
    bool shifts[5][5] = {{false}};
    am_array *x, *y;
    for (int e = 0; e < 30; e++) {
        am_scope_begin();
        CU_ASSERT_FATAL(am_loader_next(l, &x, &y) == AM_OK && x);
        const float *p = am_array_data(x), *py = am_array_data(y);
        for (int64_t s = 0; s < 3; s++) {
            int found = 0;
            for (int64_t dy = -pad; dy <= pad; dy++)
                for (int64_t dx = -pad; dx <= pad; dx++) {
                    bool ok = true;
                    for (int64_t r = 0; r < h && ok; r++)
                        for (int64_t c = 0; c < w && ok; c++) {
                            int64_t sr = r + dy, sc = c + dx;
                            double raw = sr >= 0 && sr < h && sc >= 0 && sc < w
                                             ? 1000.0 * py[s] + (double)(sr * w + sc) : 0.0;
                            ok = fabs(p[s * h * w + r * w + c] - (raw * 0.5 - 1) / 4) < 1e-3;
                        }
                    if (ok) shifts[dy + pad][dx + pad] = true, found++;
                }
            CU_ASSERT(found == 1);
        }
        am_loader_next(l, &x, &y);
        am_scope_end();
    }
    int distinct = 0;
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) distinct += shifts[i][j];
    CU_ASSERT(distinct >= 15); /* 90 draws over 25 offsets */
    am_loader_free(l);
    am_dataset_free(d);
}

/* ---- the example of docs/data.md, compiled and run ------------------------------------ */

static void test_docs_example(void)
{
    am_scope_begin();
    am_array *images = am_zeros(AM_SHAPE(100, 28, 28), AM_DTYPE_UINT8);
    am_array *labels = am_zeros(AM_SHAPE(100), AM_DTYPE_UINT8);
    int64_t seen = 0;
    /* docs/data.md example begins */
    am_dataset *d = am_dataset_arrays(images, labels);   // or am_dataset_idx(path, path)
    am_loader_opts o = am_loader_defaults(32);
    o.last_batch = AM_LAST_BATCH_DISCARD;              // 3 batches of 32 per epoch
    o.scale = 1.0f / 255;
    o.n_norm = 1, o.mean[0] = 0.286f, o.std[0] = 0.353f;
    o.crop_pad = 2, o.flip = true, o.channel_axis = true;
    am_loader *l = am_loader_create(d, &o);
    am_array *x, *y;
    for (int epoch = 0; epoch < 2; epoch++) {
        am_scope_begin();
        while (am_loader_next(l, &x, &y) == AM_OK && x)
            seen += am_array_dim(x, 0);                 // x (32, 1, 28, 28), y (32,)
        am_scope_end();
    }
    am_loader_free(l);
    am_dataset_free(d);
    /* docs/data.md example ends */
    CU_ASSERT(seen == 2 * 96);
    am_scope_end();
}

static void test_cleanup(void)
{
    if (!tmp_dir[0]) return;
    const char *names[] = {"u8", "i16", "f64", "huge.gz", "ok.gz", "cut.gz", "crc.gz", "bad.gz",
                           "short"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) unlink(tmp_path(names[i]));
    CU_ASSERT(rmdir(tmp_dir) == 0);
    tmp_dir[0] = '\0';
}

CU_TestInfo am_tests_data[] = {
    {"idx: every type, plain", test_idx_types_plain},
    {"idx: every type, gzip'd", test_idx_types_gzip},
    {"idx: hostile headers", test_idx_hostile_header},
    {"idx: hostile sizes", test_idx_hostile_sizes},
    {"idx: hostile gzip streams", test_idx_hostile_gzip},
    {"idx: files", test_idx_files},
    {"idx: Fashion-MNIST from Debian", test_fashion_mnist},
    {"dataset and loader errors", test_dataset_errors},
    {"loader: shuffling and seeds", test_loader_shuffle},
    {"loader: last_batch keep/discard/rollover", test_loader_last_batch},
    {"loader: background and foreground agree", test_loader_background_same},
    {"loader: reset and free mid-epoch", test_loader_reset_and_free},
    {"loader: flip", test_loader_flip},
    {"loader: crop and normalize", test_loader_crop_normalize},
    {"loader: the docs example", test_docs_example},
    {"cleanup", test_cleanup},
    CU_TEST_INFO_NULL,
};
