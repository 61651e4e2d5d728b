/* Which algorithm Convolution's forward runs for a shape (conv.c): im2col + GEMM, Winograd
 * F(2x2, 3x3) or F(4x4, 3x3) (conv_winograd.c), or the depthwise loops.  For 3x3, stride-1,
 * undilated 2-D layers the first call that overwrites its output times the candidates and
 * caches the fastest per (shape, attributes, dtype, threads, candidates).  The environment
 * variable AM_CONV_ALGO, read at each call, sets the candidates: auto (or unset: im2col and
 * F(2x2, 3x3), equally accurate) or fast (F(4x4, 3x3) too: faster, with float32 errors
 * about 10x im2col's), or forces im2col, winograd or winograd4, falling back to im2col where
 * the forced one does not apply. */
#ifndef AMBER_CONV_ALGO_H
#define AMBER_CONV_ALGO_H

#include <amber/amber.h>

/* The algorithm Convolution's forward with these (parsed) attributes runs on data of this
 * shape and dtype now: "im2col", "winograd", "winograd4", "depthwise", or "untimed" when the
 * choice is made by timing at the first call and that has not happened yet.  NULL when the attributes
 * or shape are invalid (the error is set). */
const char *am_conv_algo(const void *attrs, const am_shape *data, am_dtype dtype);

/* Forgets the cached choices (for benchmarks and tests). */
void am_conv_algo_reset(void);

#endif
