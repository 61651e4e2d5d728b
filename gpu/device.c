/* The GPU device: storage through the caching pool, copies and clears with
 * the CUDA runtime, and CUDA errors mapped to AM_ERR_CUDA.  ndarray/alloc.c
 * finds this table through am_gpu_device_ops() (ndarray/device_impl.h). */
#include "../ndarray/device_impl.h"
#include "gpu_impl.h"

#include <pthread.h>

am_status am_cuda_fail(cudaError_t err, const char *call)
{
    cudaGetLastError(); /* clear a non-sticky error so later calls start clean */
    return am_fail(AM_ERR_CUDA, "CUDA error %s (%s) in %s", cudaGetErrorName(err),
                   cudaGetErrorString(err), call);
}

am_status am_gpu_use(int id)
{
    int cur = -1;
    if (cudaGetDevice(&cur) == cudaSuccess && cur == id) return AM_OK;
    AM_CUDA_CHECK(cudaSetDevice(id));
    return AM_OK;
}

/* ---- the device table ------------------------------------------------------------ */

static int n_devices;
static pthread_once_t count_once = PTHREAD_ONCE_INIT;

/* Counted once: no driver or no device means zero GPUs, not an error. */
static void count_devices(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();
        n = 0;
    }
    n_devices = n < AM_GPU_MAX_DEVICES ? n : AM_GPU_MAX_DEVICES;
}

static int gpu_count(void)
{
    pthread_once(&count_once, count_devices);
    return n_devices;
}

static void *gpu_alloc(int id, size_t n) { return am_gpu_pool_alloc(id, n); }
static void gpu_free(int id, void *p) { am_gpu_pool_free(id, p); }

static am_status gpu_to_host(int id, void *dst, const void *src, size_t n)
{
    if (n == 0) return AM_OK;
    am_status st = am_gpu_use(id);
    if (st != AM_OK) return st;
    AM_CUDA_CHECK(cudaMemcpy(dst, src, n, cudaMemcpyDeviceToHost));
    return AM_OK;
}

static am_status gpu_from_host(int id, void *dst, const void *src, size_t n)
{
    if (n == 0) return AM_OK;
    am_status st = am_gpu_use(id);
    if (st != AM_OK) return st;
    AM_CUDA_CHECK(cudaMemcpy(dst, src, n, cudaMemcpyHostToDevice));
    return AM_OK;
}

/* Between two GPU buffers, possibly on different devices: with unified
 * addressing cudaMemcpyDefault finds both ends. */
static am_status gpu_copy(int id, void *dst, const void *src, size_t n)
{
    if (n == 0) return AM_OK;
    am_status st = am_gpu_use(id);
    if (st != AM_OK) return st;
    AM_CUDA_CHECK(cudaMemcpy(dst, src, n, cudaMemcpyDefault));
    return AM_OK;
}

static am_status gpu_memset0(int id, void *p, size_t n)
{
    if (n == 0) return AM_OK;
    am_status st = am_gpu_use(id);
    if (st != AM_OK) return st;
    AM_CUDA_CHECK(cudaMemset(p, 0, n));
    return AM_OK;
}

static const am_device_ops gpu_ops = {
    .alloc = gpu_alloc, .free = gpu_free, .to_host = gpu_to_host, .from_host = gpu_from_host,
    .copy = gpu_copy, .memset0 = gpu_memset0, .count = gpu_count,
};

const am_device_ops *am_gpu_device_ops(void) { return &gpu_ops; }
