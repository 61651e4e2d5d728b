/* Winograd F(2x2, 3x3) and F(4x4, 3x3) convolution forward on NCHW data (conv_winograd.c),
 * the algorithms conv.c picks for 3x3, stride-1, undilated, non-depthwise 2-D layers where
 * they measure faster than im2col + GEMM.  An m x m output tile costs (m + 2)^2 products per
 * (input, output) channel pair instead of 9 m^2 (2.25x fewer for m = 2, 4x for m = 4): the
 * input tiles ((m + 2)^2) and weights (3x3) are transformed, the (m + 2)^2 tile positions are
 * as many GEMMs (cblas_sgemm / cblas_dgemm), and the output transform adds the bias while the
 * tile is in cache. */
#ifndef AMBER_CONV_WINOGRAD_H
#define AMBER_CONV_WINOGRAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct am_wino_conv {
    int64_t n, c, h, w, f, oh, ow, ph, pw, groups; /* data (n, c, h, w), output (n, f, oh, ow) */
    const void *x, *weight, *bias;                 /* bias NULL: none */
    void *y;
    bool add;        /* AM_REQ_ADD: y += the convolution */
    void *ws;        /* am_wino_ws_elems(p, threads) elements of the dtype */
    int64_t threads; /* slices run in parallel (at most that many) */
    int m;           /* output tile: 2 (F(2x2, 3x3)) or 4 (F(4x4, 3x3)) */
} am_wino_conv;

/* Elements of workspace for threads slices: the transformed weights, then per slice the
 * transformed input and the products of one block of tiles and row buffers. */
int64_t am_wino_ws_elems(const am_wino_conv *p, int64_t threads);
void am_wino_run_f32(const am_wino_conv *p);
void am_wino_run_f64(const am_wino_conv *p);

#endif
