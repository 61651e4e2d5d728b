/* The GPU kernels' host launchers, callable from C, and the one switch that
 * puts them into op tables: AM_GPU_KERNEL(n) is am_gpu_<n> in a GPU=1 build
 * and NULL otherwise, so CPU builds compile the same tables.  This is the
 * only #ifdef the GPU code needs; .c files have none. */
#ifndef AMBER_GPU_KERNELS_H
#define AMBER_GPU_KERNELS_H

#include <amber/op.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Most devices the pool and the cuDNN handles keep state for. */
#define AM_GPU_MAX_DEVICES 16

#ifdef AM_USE_GPU

#define AM_GPU_KERNEL(n) am_gpu_##n

/* Declares the launcher of op n with the am_kernel_fn signature. */
#define AM_GPU_LAUNCHER(n)                                                              \
    am_status am_gpu_##n(const am_kernel_ctx *ctx, const void *attrs, const am_view *in, \
                         int n_in, const am_view *out, int n_out, const am_req *req)

/* gpu/init.cu: creation and conversion */
AM_GPU_LAUNCHER(zeros);
AM_GPU_LAUNCHER(ones);
AM_GPU_LAUNCHER(full);
AM_GPU_LAUNCHER(zeros_like);
AM_GPU_LAUNCHER(ones_like);
AM_GPU_LAUNCHER(copy);
AM_GPU_LAUNCHER(cast);

/* gpu/pool.c: returns every cached (free) block to CUDA on all devices. */
void am_gpu_pool_trim(void);
/* Bytes handed out and bytes cached on device id; false for a bad id. */
bool am_gpu_pool_stats(int id, size_t *in_use, size_t *cached);

#else /* !AM_USE_GPU */

#define AM_GPU_KERNEL(n) NULL

static inline void am_gpu_pool_trim(void) {}
static inline bool am_gpu_pool_stats(int id, size_t *in_use, size_t *cached)
{
    (void)id;
    *in_use = *cached = 0;
    return false;
}

#endif /* AM_USE_GPU */

#ifdef __cplusplus
}
#endif
#endif /* AMBER_GPU_KERNELS_H */
