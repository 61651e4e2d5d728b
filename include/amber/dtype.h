/* Element types of arrays and their MXNet type flags. */
#ifndef AMBER_DTYPE_H
#define AMBER_DTYPE_H

/*
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
    AM_DTYPE_COUNT
} am_dtype;

/* "float32", "float64", "int32", "int64", "uint8"; "?" for a bad value. */
AM_API const char *am_dtype_name(am_dtype t);

/* Bytes per element; 0 for a bad value. */
AM_API size_t am_dtype_size(am_dtype t);

/* Parses a name as am_dtype_name prints it.  Returns false when unknown. */
AM_API bool am_dtype_from_name(const char *name, am_dtype *out);

/* MXNet's (mshadow) type flag: float32 0, float64 1, uint8 3, int32 4, int64 6. */
AM_API int am_dtype_to_mxnet(am_dtype t);

/* Inverse of am_dtype_to_mxnet.  Returns false for flags Amber lacks
 * (float16, int8, bool, ...). */
AM_API bool am_dtype_from_mxnet(int flag, am_dtype *out);

AM_API bool am_dtype_is_float(am_dtype t);

#ifdef __cplusplus
}
#endif
#endif /* AMBER_DTYPE_H */
