/* Internal to image_io.c: PNG/JPEG decoding (image_codec.c) and the resize kernel that
 * _image_resize and _cvimresize share (image.c). */
#ifndef AMBER_OPS_IMAGE_CODEC_H
#define AMBER_OPS_IMAGE_CODEC_H

#include "../ndarray_impl.h"

typedef struct am_image_info {
    int64_t h, w, c;
} am_image_info;

/* Decodes a PNG or JPEG held in buf[0..n) into dst (h * w * c uint8, RGB or grey), or only
 * reads its size when dst is NULL.  AM_ERR_FORMAT for data that is no such image; messages
 * start with name (the file's, quoted, or "buf"). */
am_status am_image_decode(const char *name, const uint8_t *buf, size_t n, bool color,
                          am_image_info *info, uint8_t *dst);

/* The whole file at path in a new malloc'ed buffer; AM_ERR_IO naming the path. */
am_status am_image_read_file(const char *path, uint8_t **buf, size_t *n);

/* image.c's resize of (H, W, C) or (N, H, W, C) in[0] into out[0] (its shape decides the
 * size); interp 0 nearest, 1 bilinear, as OpenCV's.  Workspace: am_image_resize_temp. */
am_status am_image_resize_run(const am_kernel_ctx *ctx, int interp, const am_view *in,
                              const am_view *out, const am_req *req);
size_t am_image_resize_temp(int64_t rh, int64_t rw);

#endif /* AMBER_OPS_IMAGE_CODEC_H */
