/* PNG and JPEG decoding for _cvimdecode and _cvimread (image_io.c), with Debian's libpng
 * and libjpeg-turbo, set up as OpenCV 3.4's imdecode sets them up (MXNet 1.9.1 decodes
 * through OpenCV): 16-bit samples keep their high byte, alpha is dropped, palettes and
 * low bit depths expand to 8 bits, grey becomes RGB for colour reads and colour becomes
 * grey (libpng's 0.299/0.587 weights, libjpeg's luma) for grey reads.  Errors never exit:
 * both libraries' error handlers jump back here with their message. */
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <jpeglib.h> /* after stdio.h: it uses FILE and size_t */
#include <png.h>

#include "image_codec.h"

/* ---- PNG ----------------------------------------------------------------------------- */

typedef struct png_src {
    const uint8_t *buf;
    size_t n, pos;
    char msg[160];
} png_src;

static void png_read_mem(png_structp png, png_bytep out, png_size_t len)
{
    png_src *s = png_get_io_ptr(png);
    if (len > s->n - s->pos) png_error(png, "the data ends inside the image");
    memcpy(out, s->buf + s->pos, len);
    s->pos += len;
}

static void png_fail(png_structp png, png_const_charp msg)
{
    png_src *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof(s->msg), "%s", msg);
    png_longjmp(png, 1);
}

static void png_quiet(png_structp png, png_const_charp msg) { AM_UNUSED(png), AM_UNUSED(msg); }

static am_status png_decode(const char *name, const uint8_t *buf, size_t n, bool color,
                            am_image_info *info, uint8_t *dst)
{
    png_src s = {.buf = buf, .n = n};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, png_fail, png_quiet);
    png_infop pi = png ? png_create_info_struct(png) : NULL;
    png_bytep *volatile rows = NULL; /* volatile: read after a longjmp */
    volatile am_status st = AM_OK;
    if (!pi) {
        st = am_fail(AM_ERR_OOM, "libpng could not start");
        goto out;
    }
    if (setjmp(png_jmpbuf(png))) {
        st = am_fail(AM_ERR_FORMAT, "%s: not a valid PNG image: %s", name, s.msg);
        goto out;
    }
    png_set_read_fn(png, &s, png_read_mem);
    png_read_info(png, pi);
    int ctype = png_get_color_type(png, pi), depth = png_get_bit_depth(png, pi);
    info->h = png_get_image_height(png, pi), info->w = png_get_image_width(png, pi);
    info->c = color ? 3 : 1;
    if (!dst) goto out;
    if (depth == 16) png_set_strip_16(png);
    png_set_strip_alpha(png);
    if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (!(ctype & PNG_COLOR_MASK_COLOR) && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (color && !(ctype & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(png);
    if (!color && (ctype & PNG_COLOR_MASK_COLOR)) png_set_rgb_to_gray(png, 1, 0.299, 0.587);
    png_set_interlace_handling(png);
    png_read_update_info(png, pi);
    if ((int64_t)png_get_rowbytes(png, pi) != info->w * info->c) {
        st = am_fail(AM_ERR_FORMAT, "%s: PNG rows of %zu bytes, not %lld", name,
                     (size_t)png_get_rowbytes(png, pi), (long long)(info->w * info->c));
        goto out;
    }
    rows = malloc((size_t)info->h * sizeof(*rows));
    if (!rows) {
        st = am_fail(AM_ERR_OOM, "no memory for %lld row pointers", (long long)info->h);
        goto out;
    }
    for (int64_t r = 0; r < info->h; r++) rows[r] = dst + r * info->w * info->c;
    png_read_image(png, rows);
    png_read_end(png, NULL);
out:
    free(rows);
    png_destroy_read_struct(png ? &png : NULL, pi ? &pi : NULL, NULL);
    return st;
}

/* ---- JPEG ---------------------------------------------------------------------------- */

typedef struct jpeg_err {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jpeg_err;

static void jpeg_fail(j_common_ptr cinfo)
{
    jpeg_err *e = (jpeg_err *)cinfo->err;
    cinfo->err->format_message(cinfo, e->msg);
    longjmp(e->jump, 1);
}

static void jpeg_quiet(j_common_ptr cinfo) { AM_UNUSED(cinfo); }

static am_status jpeg_decode(const char *name, const uint8_t *buf, size_t n, bool color,
                             am_image_info *info, uint8_t *dst)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_err err;
    volatile am_status st = AM_OK; /* read after a longjmp */
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = jpeg_fail;
    err.pub.output_message = jpeg_quiet;
    if (setjmp(err.jump)) {
        st = am_fail(AM_ERR_FORMAT, "%s: not a valid JPEG image: %s", name, err.msg);
        jpeg_destroy_decompress(&cinfo);
        return st;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, buf, (unsigned long)n);
    jpeg_read_header(&cinfo, TRUE);
    info->h = cinfo.image_height, info->w = cinfo.image_width, info->c = color ? 3 : 1;
    if (cinfo.num_components == 4) {
        st = am_fail(AM_ERR_UNSUPPORTED, "%s: CMYK JPEG images are not supported", name);
        goto out;
    }
    if (!dst) goto out;
    cinfo.out_color_space = color ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_start_decompress(&cinfo);
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = dst + (int64_t)cinfo.output_scanline * info->w * info->c;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
out:
    jpeg_destroy_decompress(&cinfo);
    return st;
}

/* ---- entry points -------------------------------------------------------------------- */

am_status am_image_decode(const char *name, const uint8_t *buf, size_t n, bool color,
                          am_image_info *info, uint8_t *dst)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n >= 8 && memcmp(buf, png_sig, 8) == 0) return png_decode(name, buf, n, color, info, dst);
    if (n >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF)
        return jpeg_decode(name, buf, n, color, info, dst);
    return am_fail(AM_ERR_FORMAT, "%s: not a PNG or JPEG image (%zu bytes that start with "
                   "neither signature)", name, n);
}

am_status am_image_read_file(const char *path, uint8_t **buf, size_t *n)
{
    *buf = NULL, *n = 0;
    struct stat sb;
    if (stat(path, &sb) != 0) return am_fail(AM_ERR_IO, "cannot open '%s'", path);
    if (!S_ISREG(sb.st_mode)) return am_fail(AM_ERR_IO, "'%s' is not a regular file", path);
    FILE *f = fopen(path, "rb");
    if (!f) return am_fail(AM_ERR_IO, "cannot open '%s'", path);
    am_status st = AM_OK;
    long len = -1;
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        st = am_fail(AM_ERR_IO, "cannot read '%s' (not a regular file?)", path);
        goto out;
    }
    *buf = malloc(len > 0 ? (size_t)len : 1);
    if (!*buf) {
        st = am_fail(AM_ERR_OOM, "no memory for the %ld bytes of '%s'", len, path);
        goto out;
    }
    if (fread(*buf, 1, (size_t)len, f) != (size_t)len) {
        st = am_fail(AM_ERR_IO, "cannot read the %ld bytes of '%s'", len, path);
        free(*buf), *buf = NULL;
        goto out;
    }
    *n = (size_t)len;
out:
    fclose(f);
    return st;
}
