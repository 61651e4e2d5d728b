/* Element types of arrays and their MXNet type flags. */
#ifndef AMBER_DTYPE_H
#define AMBER_DTYPE_H

/* Example (runs):
 *
 *     am_array *x = am_zeros(AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
 *     am_array *i = am_astype(x, AM_DTYPE_INT64);
 *     printf("%s, %zu bytes each\n", am_dtype_name(am_array_dtype(i)),
 *            am_dtype_size(AM_DTYPE_INT64));   // "int64, 8 bytes each"
 */

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum am_dtype {
    AM_DTYPE_FLOAT32,
    AM_DTYPE_FLOAT64,
    AM_DTYPE_INT32,
    AM_DTYPE_INT64,
    AM_DTYPE_UINT8,
    AM_DTYPE_FLOAT16,  /* IEEE binary16; ops compute it through float32 */
    AM_DTYPE_BFLOAT16, /* bfloat16 (float32's top half); computes through float32 */
    AM_DTYPE_INT8,
    AM_DTYPE_BOOL,     /* one byte, 0 or 1; computes through float32 */
    AM_DTYPE_COUNT
} am_dtype;

/* "float32", "float64", "int32", "int64", "uint8", "float16", "bfloat16",
 * "int8", "bool"; "?" for a bad value. */
AM_API const char *am_dtype_name(am_dtype t);

/* Bytes per element; 0 for a bad value. */
AM_API size_t am_dtype_size(am_dtype t);

/* Parses a name as am_dtype_name prints it.  Returns false when unknown. */
AM_API bool am_dtype_from_name(const char *name, am_dtype *out);

/* MXNet's (mshadow) type flag: float32 0, float64 1, float16 2, uint8 3,
 * int32 4, int8 5, int64 6, bool 7, bfloat16 12. */
AM_API int am_dtype_to_mxnet(am_dtype t);

/* Inverse of am_dtype_to_mxnet.  Returns false for flags Amber lacks
 * (int16 8, uint16 9, uint32 10, uint64 11). */
AM_API bool am_dtype_from_mxnet(int flag, am_dtype *out);

/* float32, float64, float16 and bfloat16. */
AM_API bool am_dtype_is_float(am_dtype t);

/* The dtype kernels compute a dtype in: float32 for float16, bfloat16 and
 * bool, int32 for int8 (ops without their own kernel for these read and
 * write them through that dtype: docs/dtypes.md); the dtype itself otherwise. */
AM_API am_dtype am_dtype_compute(am_dtype t);

/* Scalar conversions, rounding to nearest even, keeping NaN (quiet), infinities,
 * signed zeros and subnormals: float32 -> float16 / bfloat16 bits and back. */
AM_API uint16_t am_float_to_half(float x);
AM_API float am_half_to_float(uint16_t h);
AM_API uint16_t am_float_to_bfloat16(float x);
AM_API float am_bfloat16_to_float(uint16_t b);

/* Converts n elements of type from at src into type to at dst, as Cast does:
 * floats round to nearest even, float to integer truncates toward zero,
 * anything to bool is value != 0.  float64 goes to float16 and bfloat16
 * through float32.  src and dst must not overlap unless equal with equal
 * dtypes.  AM_ERR_DTYPE for a bad dtype. */
AM_API am_status am_dtype_convert(const void *src, am_dtype from, void *dst, am_dtype to,
                                  int64_t n);

#ifdef __cplusplus
}
#endif
#endif /* AMBER_DTYPE_H */
