/* The GPU device hooks, present only in GPU=1 builds.  The #ifdef lives here
 * so that no .c file needs one. */
#ifndef AMBER_DEVICE_IMPL_H
#define AMBER_DEVICE_IMPL_H

#include "ndarray_impl.h"

#ifdef AM_USE_GPU
const am_device_ops *am_gpu_device_ops(void);
#else
static inline const am_device_ops *am_gpu_device_ops(void) { return NULL; }
#endif

#endif /* AMBER_DEVICE_IMPL_H */
