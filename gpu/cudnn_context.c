/* cuDNN handles, one per GPU, created lazily for the cuDNN-backed ops
 * (gpu/cudnn_<op>.c).  Built only with CUDNN=1. */
#include "cudnn_impl.h"

#include <pthread.h>

static cudnnHandle_t handles[AM_GPU_MAX_DEVICES];
static pthread_mutex_t handles_mu = PTHREAD_MUTEX_INITIALIZER;

am_status am_cudnn_fail(cudnnStatus_t st, const char *call)
{
    return am_fail(AM_ERR_CUDA, "cuDNN error %s in %s", cudnnGetErrorString(st), call);
}

/* Creates the handle of device id under the lock. */
static am_status create_handle(int id)
{
    am_status st = am_gpu_use(id);
    if (st != AM_OK) return st;
    cudnnHandle_t h = NULL;
    AM_CUDNN_CHECK(cudnnCreate(&h));
    handles[id] = h;
    return AM_OK;
}

am_status am_cudnn_handle(int id, void *stream, cudnnHandle_t *out)
{
    if (id < 0 || id >= AM_GPU_MAX_DEVICES || id >= am_gpu_count())
        return am_fail(AM_ERR_DEVICE, "cuDNN: gpu(%d) is not available", id);
    pthread_mutex_lock(&handles_mu);
    am_status st = handles[id] ? AM_OK : create_handle(id);
    cudnnHandle_t h = handles[id];
    pthread_mutex_unlock(&handles_mu);
    if (st != AM_OK) return st;
    AM_CUDNN_CHECK(cudnnSetStream(h, (cudaStream_t)stream));
    *out = h;
    return AM_OK;
}

size_t am_cudnn_version(void) { return cudnnGetVersion(); }

void am_cudnn_release_all(void)
{
    pthread_mutex_lock(&handles_mu);
    for (int id = 0; id < AM_GPU_MAX_DEVICES; id++)
        if (handles[id]) {
            am_gpu_use(id);
            cudnnDestroy(handles[id]);
            handles[id] = NULL;
        }
    pthread_mutex_unlock(&handles_mu);
}
