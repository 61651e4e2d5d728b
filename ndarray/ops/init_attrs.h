/* The attribute structs of ndarray/ops/init.c that other code reads: the CUDA
 * kernels of gpu/init.cu (nvcc's C++) read _full's value from fill_attrs.  One
 * definition for both compilers, with its layout pinned by static assertions,
 * so that the C and CUDA sides cannot read different offsets;
 * tests/test_layering.c checks it against the _full op's attribute schema. */
#ifndef AMBER_INIT_ATTRS_H
#define AMBER_INIT_ATTRS_H

#include <amber/op.h>
#include <stddef.h>

#ifdef __cplusplus
#define AM_LAYOUT_ASSERT(cond, msg) static_assert(cond, msg)
#define AM_ALIGNOF(t) alignof(t)
#else
#define AM_LAYOUT_ASSERT(cond, msg) _Static_assert(cond, msg)
#define AM_ALIGNOF(t) _Alignof(t)
#endif

/* _zeros, _ones and _full (value is _full's alone). */
typedef struct fill_attrs {
    am_tuple shape;
    char ctx[AM_MAX_ATTR_STRING];
    int dtype;
    double value;
} fill_attrs;

AM_LAYOUT_ASSERT(offsetof(fill_attrs, shape) == 0, "fill_attrs.shape moved");
AM_LAYOUT_ASSERT(offsetof(fill_attrs, ctx) == sizeof(am_tuple), "fill_attrs.ctx moved");
AM_LAYOUT_ASSERT(offsetof(fill_attrs, dtype) == sizeof(am_tuple) + AM_MAX_ATTR_STRING,
                 "fill_attrs.dtype moved");
AM_LAYOUT_ASSERT(offsetof(fill_attrs, value) ==
                     (offsetof(fill_attrs, dtype) + sizeof(int) + AM_ALIGNOF(double) - 1) /
                         AM_ALIGNOF(double) * AM_ALIGNOF(double),
                 "fill_attrs.value moved");
AM_LAYOUT_ASSERT(sizeof(fill_attrs) == offsetof(fill_attrs, value) + sizeof(double),
                 "fill_attrs changed size");

#endif /* AMBER_INIT_ATTRS_H */
