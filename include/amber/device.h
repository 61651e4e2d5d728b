/* Devices: where an array's storage lives. */
#ifndef AMBER_DEVICE_H
#define AMBER_DEVICE_H

/* Example (runs):
 *
 *     am_array *x = am_ones(AM_SHAPE(4), AM_DTYPE_FLOAT32);    // on the CPU
 *     if (am_gpu_count() > 0) {
 *         am_array *g = am_to_device(x, am_gpu(0));
 *         am_print(am_to_device(am_mul_scalar(g, 2), am_cpu()));   // needs GPU kernels
 *     }
 *
 * Mixing devices in one op is an AM_ERR_DEVICE error that names both.
 */

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Backends registered at run time (an internal interface for now, as tests
 * use it) get the types from AM_DEVICE_TYPE_COUNT up. */
typedef enum am_device_type {
    AM_DEVICE_CPU,
    AM_DEVICE_GPU,
    AM_DEVICE_TYPE_COUNT
} am_device_type;

typedef struct am_device {
    am_device_type type;
    int id;
} am_device;

static inline am_device am_cpu(void) { return (am_device){AM_DEVICE_CPU, 0}; }
static inline am_device am_gpu(int id) { return (am_device){AM_DEVICE_GPU, id}; }

AM_API bool am_device_equal(am_device a, am_device b);

/* "cpu(0)", "gpu(1)" into buf.  Returns buf. */
AM_API char *am_device_format(am_device d, char *buf, size_t n);

/* Number of usable GPUs: 0 in a build without GPU=1 or on a machine without one. */
AM_API int am_gpu_count(void);

/* "cpu", "gpu", a registered backend's name, or "unknown".  Static string. */
AM_API const char *am_device_type_name(am_device_type t);

/* Whether dev has a kernel for op (am_op_kernel is not NULL there): what
 * plans check for every node and what the pass pipeline checks for every op
 * a pass introduces (executor.h).  False for a NULL op. */
struct am_op_def;
AM_API bool am_device_supports_op(am_device dev, const struct am_op_def *op);

#ifdef __cplusplus
}
#endif
#endif /* AMBER_DEVICE_H */
