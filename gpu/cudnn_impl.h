/* Internal declarations for the cuDNN-backed code (gpu/cudnn_*.c, compiled
 * only with CUDNN=1): per-device handles and cuDNN error mapping. */
#ifndef AMBER_CUDNN_IMPL_H
#define AMBER_CUDNN_IMPL_H

#include <cudnn.h>

#include "gpu_impl.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Records a cuDNN failure as AM_ERR_CUDA with cuDNN's words; returns it. */
am_status am_cudnn_fail(cudnnStatus_t st, const char *call);

#define AM_CUDNN_CHECK(call)                                                            \
    do {                                                                                \
        cudnnStatus_t am_cudnn_st_ = (call);                                            \
        if (am_cudnn_st_ != CUDNN_STATUS_SUCCESS) return am_cudnn_fail(am_cudnn_st_, #call); \
    } while (0)

/* The handle of device id, created on first use and bound to stream (NULL:
 * the default stream) before it is returned.  One handle per device is
 * shared by all threads: callers on several threads must not use one device's
 * handle at the same time (a per-thread handle comes with the multi-threaded
 * executor).  AM_ERR_DEVICE for a bad id, AM_ERR_CUDA when cuDNN fails. */
am_status am_cudnn_handle(int id, void *stream, cudnnHandle_t *out);

/* cudnnGetVersion() of the library loaded at run time, e.g. 91000 for 9.10.0. */
size_t am_cudnn_version(void);

/* Destroys every handle (for tests and clean shutdown). */
void am_cudnn_release_all(void);

#ifdef __cplusplus
}
#endif
#endif /* AMBER_CUDNN_IMPL_H */
