/* Registry-driven cases for ndarray/ops/image_io.c.  The decoders need real images: a
 * prepare function swaps the drawn bytes for those of a PNG or JPEG fixture
 * (tests/fixtures/image_io/, written by make_image_io_fixtures.py with MXNet 1.9.1), and
 * _cvimread reads the fixtures by name. */
#include "test_util.h"

#include <stdio.h>

#define IMG "tests/fixtures/image_io/"
#define U8 .dtype = AM_DTYPE_UINT8, .lo = 0, .hi = 255
#define F64 .dtype = AM_DTYPE_FLOAT64

/* The bytes of a file as a 1-D uint8 array (NULL when unreadable). */
am_array *tu_file_bytes(const char *path);
am_array *tu_file_bytes(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    am_array *x = am_zeros(AM_SHAPE((int64_t)n), AM_DTYPE_UINT8);
    if (x && n) memcpy(am_array_data(x), buf, n);
    return x;
}

static am_status use_file(am_array **in, const char *path)
{
    in[0] = tu_file_bytes(path);
    return in[0] ? AM_OK : am_fail(AM_ERR_IO, "cannot read %s", path);
}
static am_status rgb_png(am_array **in, int n_in) { (void)n_in; return use_file(in, IMG "rgb.png"); }
static am_status gray_png(am_array **in, int n_in) { (void)n_in; return use_file(in, IMG "gray.png"); }
static am_status color_jpg(am_array **in, int n_in) { (void)n_in; return use_file(in, IMG "color.jpg"); }

const am_op_case am_cases_image_io[] = {
    {.op = "_cvimdecode", .shapes = "4", U8, .prepare = rgb_png},
    {.op = "_cvimdecode", .attrs = "flag=0", .shapes = "4", U8, .prepare = rgb_png},
    {.op = "_cvimdecode", .attrs = "to_rgb=False", .shapes = "4", U8, .prepare = gray_png},
    {.op = "_cvimdecode", .shapes = "4", U8, .prepare = color_jpg},
    {.op = "_cvimread", .attrs = "filename=" IMG "palette.png", .shapes = NULL},
    {.op = "_cvimread", .attrs = "filename=" IMG "gray.jpg;flag=0", .shapes = NULL},
    {.op = "_cvimresize", .attrs = "w=9;h=4;interp=0", .shapes = "5,7,3", U8},
    {.op = "_cvimresize", .attrs = "w=9;h=4", .shapes = "5,7,3", U8},
    {.op = "_cvimresize", .attrs = "w=3;h=2;interp=3", .shapes = "5,7,3", U8},
    {.op = "_cvimresize", .attrs = "w=2;h=3;interp=3", .shapes = "6,4,2", U8},
    {.op = "_cvimresize", .attrs = "w=3;h=8;interp=1", .shapes = "4,5,1"},
    {.op = "_cvimresize", .attrs = "w=11;h=3;interp=2", .shapes = "5,7,3", U8},
    {.op = "_cvimresize", .attrs = "w=2;h=6;interp=2", .shapes = "4,3,2", F64},
    {.op = "_cvimresize", .attrs = "w=10;h=3;interp=4", .shapes = "5,7,3", U8},
    {.op = "_cvimresize", .attrs = "w=4;h=9;interp=4", .shapes = "3,6,1", F64},
    {.op = "_cvimresize", .attrs = "w=3;h=3;interp=3", .shapes = "4,5,2", F64},
    {.op = "_cvimresize", .attrs = "w=2;h=2;interp=0", .shapes = "3,3,0", F64},
    {.op = "_cvcopyMakeBorder", .attrs = "top=1;bot=2;left=0;right=3", .shapes = "3,4,3", U8},
    {.op = "_cvcopyMakeBorder", .attrs = "top=1;bot=2;left=2;right=1;type=1", .shapes = "2,3,2"},
    {.op = "_cvcopyMakeBorder", .attrs = "top=4;bot=2;left=3;right=1;type=2", .shapes = "2,3,1",
     F64},
    {.op = "_cvcopyMakeBorder", .attrs = "top=0;bot=5;left=4;right=0;type=3", .shapes = "3,2,2",
     .dtype = AM_DTYPE_INT32, .lo = -9, .hi = 9},
    {.op = "_cvcopyMakeBorder", .attrs = "top=2;bot=2;left=2;right=2;type=4", .shapes = "3,3,5",
     F64},
    {.op = "_cvcopyMakeBorder", .attrs = "top=1;bot=0;left=1;right=0;values=(1.5, 2, 3, 4)",
     .shapes = "0,2,4", F64},
    {0}};
