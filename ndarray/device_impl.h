/* Device backends: the GPU hooks, present only in GPU=1 builds (the #ifdef
 * lives here so that no .c file needs one), and the registration of other
 * backends. */
#ifndef AMBER_DEVICE_IMPL_H
#define AMBER_DEVICE_IMPL_H

#include "ndarray_impl.h"

#ifdef AM_USE_GPU
const am_device_ops *am_gpu_device_ops(void);
#else
static inline const am_device_ops *am_gpu_device_ops(void) { return NULL; }
#endif

/*
 * A device backend besides the CPU and the GPU, as ggml's backends are: a
 * name, its memory (ops: alloc and free, copies to, from and within the
 * device, memset0, count of devices) and its kernel table (kernel: the
 * kernel it runs op with, or NULL when it has none; am_op_kernel and
 * am_device_supports_op ask it).  Kernels get views whose data are the
 * device's pointers and a context whose device is the backend's.  Example:
 *
 *     static am_kernel_fn my_kernel(const am_op_def *op)
 *     {
 *         return op == am_op_find("relu") ? my_relu : NULL;
 *     }
 *     static const am_device_backend my = {"mydev", &my_ops, my_kernel};
 *     am_device_type t;
 *     if (am_device_register(&my, &t) == AM_OK) ...  // its devices: (am_device){t, 0}
 *
 * Plans (am_plan_opts.device) take their arena and workspace from ops and
 * their kernels from kernel; arrays move there with am_to_device.
 */
typedef struct am_device_backend {
    const char *name;                           /* formats devices as "name(id)" */
    const am_device_ops *ops;
    am_kernel_fn (*kernel)(const am_op_def *op);
} am_device_backend;

/* Registers b (borrowed: it must outlive every use) and sets *type to its
 * device type, a value from AM_DEVICE_TYPE_COUNT up; registering the same b
 * again gives the same type.  AM_ERR_ARG for a b without a name, ops (all
 * of them) or kernel, or when AM_MAX_DEVICE_BACKENDS are registered. */
#define AM_MAX_DEVICE_BACKENDS 8
am_status am_device_register(const am_device_backend *b, am_device_type *type);

/* The registered backend of type t, or NULL (the CPU and the GPU are not
 * registered backends). */
const am_device_backend *am_device_backend_for(am_device_type t);

#endif /* AMBER_DEVICE_IMPL_H */
