/* Internal declarations shared by gpu/ (C and CUDA): CUDA error mapping, the
 * device switch and the memory pool.  Needs the CUDA headers; only GPU=1
 * builds include it. */
#ifndef AMBER_GPU_IMPL_H
#define AMBER_GPU_IMPL_H

#include <amber/op.h>
#include <cuda_runtime_api.h>

#include "gpu_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Records a CUDA failure as AM_ERR_CUDA with CUDA's own words and the call
 * that failed, clears CUDA's (non-sticky) last error, and returns
 * AM_ERR_CUDA. */
am_status am_cuda_fail(cudaError_t err, const char *call);

/* Returns from the enclosing am_status function when a CUDA call fails. */
#define AM_CUDA_CHECK(call)                                                             \
    do {                                                                                \
        cudaError_t am_cuda_err_ = (call);                                              \
        if (am_cuda_err_ != cudaSuccess) return am_cuda_fail(am_cuda_err_, #call);      \
    } while (0)

/* Makes device id current on this thread (a no-op when it already is). */
am_status am_gpu_use(int id);

/* gpu/pool.c: device memory from per-device, size-bucketed free lists;
 * cudaMalloc on a miss.  alloc returns NULL on failure (the caller reports
 * AM_ERR_OOM); free takes only pointers alloc returned. */
void *am_gpu_pool_alloc(int id, size_t nbytes);
void am_gpu_pool_free(int id, void *p);

#ifdef __cplusplus
}
#endif
#endif /* AMBER_GPU_IMPL_H */
