/* The ops_image_io suite: _cvimdecode, _cvimread, _cvimresize and _cvcopyMakeBorder
 * against what MXNet 1.9.1 (OpenCV 3.4.2) made of the same fixtures
 * (tests/fixtures/make_image_io_fixtures.py writes both), and their errors. */
#include "test_util.h"

#include <amber/io.h>

#define IMG "tests/fixtures/image_io/"

am_array *tu_file_bytes(const char *path); /* cases_image_io.c */

static am_array *expected(const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), IMG "%s.npy", name);
    am_array *x = am_npy_load(path);
    if (!x) printf("\n  cannot load %s: %s", path, am_last_error());
    return x;
}

/* Every fixture, colour and grey, decoded from memory and from its file.  PNGs match
 * MXNet exactly; so do the JPEGs here, decoded by the same libjpeg-turbo code paths
 * (OpenCV's build and Debian's could differ by a unit in other images: see
 * docs/ops-image-io.md). */
static void test_decode(void)
{
    static const char *const files[] = {"rgb.png", "rgba.png", "gray.png", "gray2.png",
                                        "rgb16.png", "palette.png", "color.jpg", "gray.jpg"};
    am_scope_begin();
    for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++) {
        char path[128], name[128];
        snprintf(path, sizeof(path), IMG "%s", files[i]);
        am_array *buf = tu_file_bytes(path);
        CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
        for (int flag = 0; flag <= 1; flag++) {
            snprintf(name, sizeof(name), "%s", files[i]);
            *strchr(name, '.') = '_';
            strcat(name, flag ? "-color" : "-gray");
            am_array *want = expected(name);
            am_array *y = am_cvimdecode(buf, flag, true), *z = am_cvimread(path, flag, true);
            if (!tu_allclose(y, want, 0)) printf("  (%s, flag %d)\n", files[i], flag);
            CU_ASSERT(tu_allclose(y, want, 0));
            CU_ASSERT(tu_allclose(z, want, 0));
            CU_ASSERT_EQUAL(am_array_dtype(y), AM_DTYPE_UINT8);
        }
    }
    am_array *bgr = am_cvimread(IMG "rgb.png", 1, false);
    CU_ASSERT(tu_allclose(bgr, expected("rgb_png-bgr"), 0));
    am_scope_end();
}

static void test_decode_errors(void)
{
    am_scope_begin();
    TU_ASSERT_FAILS(am_cvimread(IMG "no-such.png", 1, true), AM_ERR_IO,
                    "'" IMG "no-such.png'");
    TU_ASSERT_FAILS(am_cvimread(IMG "float_src.npy", 1, true), AM_ERR_FORMAT,
                    "'" IMG "float_src.npy': not a PNG or JPEG");
    TU_ASSERT_FAILS(am_cvimread(IMG, 1, true), AM_ERR_IO, IMG);
    am_array *png = tu_file_bytes(IMG "rgb.png");
    /* a truncated PNG and a truncated JPEG */
    am_array *cut = tu_array(AM_DTYPE_UINT8, AM_SHAPE(10), 0x89, 'P', 'N', 'G', '\r', '\n',
                             0x1a, '\n', 0, 0);
    TU_ASSERT_FAILS(am_cvimdecode(cut, 1, true), AM_ERR_FORMAT, "not a valid PNG");
    am_array *jcut = tu_array(AM_DTYPE_UINT8, AM_SHAPE(4), 0xFF, 0xD8, 0xFF, 0xE0);
    TU_ASSERT_FAILS(am_cvimdecode(jcut, 1, true), AM_ERR_FORMAT, "not a valid JPEG");
    TU_ASSERT_FAILS(am_cvimdecode(am_astype(png, AM_DTYPE_FLOAT32), 1, true), AM_ERR_DTYPE,
                    "uint8");
    TU_ASSERT_FAILS(am_cvimdecode(png, -1, true), AM_ERR_UNSUPPORTED, "flag=-1");
    /* graphs cannot hold them: the size comes from the data */
    am_array *v = am_var("buf", AM_SHAPE(100), AM_DTYPE_UINT8);
    TU_ASSERT_FAILS(am_cvimdecode(v, 1, true), AM_ERR_UNSUPPORTED, "eager");
    am_scope_end();
}

static void test_resize(void)
{
    static const struct {
        const char *tag;
        int64_t w, h;
        int interp;
    } cases[] = {{"u8", 15, 8, 0}, {"u8", 3, 2, 0}, {"u8", 11, 10, 1}, {"u8", 4, 3, 1},
                 {"u8", 4, 2, 3},  {"u8", 2, 2, 3}, {"u8", 7, 5, 3},   {"u8", 6, 4, 3},
                 {"f32", 17, 9, 0}, {"f32", 3, 2, 0}, {"f32", 12, 12, 1}, {"f32", 4, 3, 1},
                 {"f32", 5, 3, 3}, {"f32", 2, 2, 3}, {"f32", 8, 6, 3}, {"f32", 7, 5, 3},
                 {"u8", 17, 9, 2}, {"u8", 3, 2, 2}, {"u8", 8, 4, 2},
                 {"f32", 19, 10, 2}, {"f32", 3, 2, 2}, {"f32", 9, 5, 2},
                 {"u8", 16, 10, 4}, {"u8", 3, 2, 4}, {"u8", 9, 4, 4},
                 {"f32", 18, 11, 4}, {"f32", 3, 2, 4}, {"f32", 10, 5, 4}};
    am_scope_begin();
    am_array *u8 = expected("rgb_png-color"), *f32 = expected("float_src");
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char name[64];
        snprintf(name, sizeof(name), "resize_%s_%lldx%lld_%d", cases[i].tag,
                 (long long)cases[i].w, (long long)cases[i].h, cases[i].interp);
        bool is_u8 = cases[i].tag[0] == 'u';
        am_array *y = am_cvimresize(is_u8 ? u8 : f32, cases[i].w, cases[i].h, cases[i].interp);
        double tol = is_u8 ? 0 : 1e-6;
        if (!tu_allclose(y, expected(name), tol)) printf("  (%s)\n", name);
        CU_ASSERT(tu_allclose(y, expected(name), tol));
    }
    TU_ASSERT_FAILS(am_cvimresize(u8, 4, 4, 5), AM_ERR_UNSUPPORTED, "interp=5");
    TU_ASSERT_FAILS(am_cvimresize(u8, 8, 4, 3), AM_ERR_UNSUPPORTED, "shrinks only");
    TU_ASSERT_FAILS(am_cvimresize(u8, 0, 4, 1), AM_ERR_ARG, "positive");
    TU_ASSERT_FAILS(am_cvimresize(am_zeros(AM_SHAPE(4, 4), AM_DTYPE_UINT8), 2, 2, 1),
                    AM_ERR_SHAPE, "(H, W, C)");
    am_scope_end();
}

static void test_border(void)
{
    am_scope_begin();
    am_array *u8 = expected("rgb_png-color"), *f32 = expected("float_src");
    for (int t = 0; t < 5; t++)
        for (int f = 0; f < 2; f++) {
            char name[64];
            snprintf(name, sizeof(name), "border_%s_%d", f ? "f32" : "u8", t);
            am_array *y = am_cvcopy_make_border(f ? f32 : u8, 3, 1, 2, 6, t, 7.5);
            if (!tu_allclose(y, expected(name), 0)) printf("  (%s)\n", name);
            CU_ASSERT(tu_allclose(y, expected(name), 0));
        }
    am_array *y = NULL;
    CU_ASSERT_EQUAL(tu_invoke("_cvcopyMakeBorder", &u8, 1, "top|bot|left|right|values",
                              "1|0|1|0|(1.5, 2.5, 300)", &y, 1), AM_OK);
    CU_ASSERT(tu_allclose(y, expected("border_u8_values"), 0));
    /* big reflections of a 2-row image, as MXNet gives them (rows 0, 0, 1, 1, 0, 0, 1) */
    am_array *two = tu_array(AM_DTYPE_UINT8, AM_SHAPE(2, 1, 1), 0, 6);
    TU_ASSERT_VALUES(am_cvcopy_make_border(two, 5, 0, 0, 0, 2, 0), AM_SHAPE(7, 1, 1), 0, 0, 0,
                     6, 6, 0, 0, 6);
    TU_ASSERT_VALUES(am_cvcopy_make_border(two, 5, 0, 0, 0, 4, 0), AM_SHAPE(7, 1, 1), 0, 6, 0,
                     6, 0, 6, 0, 6);
    TU_ASSERT_FAILS(am_cvcopy_make_border(u8, 1, 0, 0, 0, 5, 0), AM_ERR_ARG, "type=5");
    TU_ASSERT_FAILS(am_cvcopy_make_border(u8, -1, 0, 0, 0, 0, 0), AM_ERR_ARG, "negative");
    TU_ASSERT_FAILS(am_cvcopy_make_border(am_zeros(AM_SHAPE(2, 2, 5), AM_DTYPE_UINT8), 1, 0, 0,
                                          0, 0, 9),
                    AM_ERR_ARG, "one value for all");
    am_scope_end();
}

CU_TestInfo am_tests_ops_image_io[] = {
    {"decode PNG and JPEG as MXNet does", test_decode},
    {"decode errors name the file", test_decode_errors},
    {"resize as MXNet's OpenCV", test_resize},
    {"copyMakeBorder as MXNet's OpenCV", test_border},
    CU_TEST_INFO_NULL,
};
