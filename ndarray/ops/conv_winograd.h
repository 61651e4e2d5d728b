/* Winograd F(2x2, 3x3) convolution forward on NCHW data (conv_winograd.c), the algorithm
 * conv.c picks for 3x3, stride-1, undilated, non-depthwise 2-D layers where it measures
 * faster than im2col + GEMM.  Each 2x2 output tile costs 16 products per (input, output)
 * channel pair instead of 36: the input tiles (4x4) and weights (3x3) are transformed, the
 * 16 tile positions are 16 GEMMs (cblas_sgemm / cblas_dgemm), and the output transform adds
 * the bias while the tile is in cache. */
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
} am_wino_conv;

/* Elements of workspace for threads slices: the transformed weights, then per slice the
 * transformed input and the products of one block of tiles and row buffers. */
int64_t am_wino_ws_elems(const am_wino_conv *p, int64_t threads);
void am_wino_run_f32(const am_wino_conv *p);
void am_wino_run_f64(const am_wino_conv *p);

#endif
