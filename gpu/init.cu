/* GPU kernels for the creation and conversion ops of ndarray/ops/init.c:
 * _zeros, _ones, _full, zeros_like, ones_like, _copy and Cast.  Each honours
 * am_req, launches on ctx->stream (NULL: the default stream) and checks the
 * launch.  _arange, _linspace and the random ops stay CPU-only for now. */
#include "gpu_impl.h"

#include <string.h>

#include "../ndarray/ops/init_attrs.h" /* fill_attrs, whose value _full reads */

#define THREADS 256
#define MAX_BLOCKS 65536

/* Dispatches on an am_dtype with T bound to the element type. */
#define GPU_DTYPE_SWITCH(dt, T, ...)                                                    \
    switch (dt) {                                                                       \
    case AM_DTYPE_FLOAT32: { typedef float T; __VA_ARGS__; } break;                     \
    case AM_DTYPE_FLOAT64: { typedef double T; __VA_ARGS__; } break;                    \
    case AM_DTYPE_INT32: { typedef int32_t T; __VA_ARGS__; } break;                     \
    case AM_DTYPE_INT64: { typedef int64_t T; __VA_ARGS__; } break;                     \
    case AM_DTYPE_UINT8: { typedef uint8_t T; __VA_ARGS__; } break;                     \
    default: return am_fail(AM_ERR_DTYPE, "unsupported dtype %d", (int)(dt));           \
    }

static int64_t view_size(const am_view *v)
{
    int64_t n = 1;
    for (int i = 0; i < v->ndim; i++) n *= v->dim[i];
    return n;
}

static unsigned grid_for(int64_t n)
{
    int64_t b = (n + THREADS - 1) / THREADS;
    return (unsigned)(b < MAX_BLOCKS ? b : MAX_BLOCKS);
}

/* Grid-stride loops: any n with a bounded grid.  The stores mirror the CPU
 * kernels' STORE_LOOP, so results agree bit for bit. */
template <typename T>
__global__ void fill_kernel(T *y, int64_t n, T v, bool add)
{
    int64_t step = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step)
        y[i] = add ? (T)(y[i] + v) : v;
}

template <typename S, typename T>
__global__ void cast_kernel(const S *x, T *y, int64_t n, bool add)
{
    int64_t step = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step)
        y[i] = add ? (T)(y[i] + (T)x[i]) : (T)x[i];
}

static am_status fill(const am_kernel_ctx *ctx, const am_view *out, am_req req, double value)
{
    int64_t n = view_size(out);
    if (req == AM_REQ_NULL || n == 0) return AM_OK;
    am_status st = am_gpu_use(ctx->device.id);
    if (st != AM_OK) return st;
    cudaStream_t s = (cudaStream_t)ctx->stream;
    if (value == 0 && req != AM_REQ_ADD) { /* all-zero bits in every dtype */
        AM_CUDA_CHECK(cudaMemsetAsync(out->data, 0, (size_t)n * am_dtype_size(out->dtype), s));
        return AM_OK;
    }
    GPU_DTYPE_SWITCH(out->dtype, T, {
        fill_kernel<T><<<grid_for(n), THREADS, 0, s>>>((T *)out->data, n, (T)value,
                                                       req == AM_REQ_ADD);
    });
    AM_CUDA_CHECK(cudaGetLastError());
    return AM_OK;
}

/* ---- launchers (extern "C", the am_kernel_fn signature) ------------------------- */

extern "C" {

AM_GPU_LAUNCHER(zeros)
{
    (void)attrs, (void)in, (void)n_in, (void)n_out;
    return fill(ctx, &out[0], req[0], 0.0);
}

AM_GPU_LAUNCHER(ones)
{
    (void)attrs, (void)in, (void)n_in, (void)n_out;
    return fill(ctx, &out[0], req[0], 1.0);
}

AM_GPU_LAUNCHER(full)
{
    (void)in, (void)n_in, (void)n_out;
    return fill(ctx, &out[0], req[0], ((const fill_attrs *)attrs)->value);
}

AM_GPU_LAUNCHER(zeros_like)
{
    (void)attrs, (void)in, (void)n_in, (void)n_out;
    return fill(ctx, &out[0], req[0], 0.0);
}

AM_GPU_LAUNCHER(ones_like)
{
    (void)attrs, (void)in, (void)n_in, (void)n_out;
    return fill(ctx, &out[0], req[0], 1.0);
}

/* _copy and Cast: a device copy when nothing converts, else one kernel per
 * (source, target) dtype pair. */
AM_GPU_LAUNCHER(cast)
{
    (void)attrs, (void)n_in, (void)n_out;
    int64_t n = view_size(&out[0]);
    if (req[0] == AM_REQ_NULL || n == 0) return AM_OK;
    am_status st = am_gpu_use(ctx->device.id);
    if (st != AM_OK) return st;
    cudaStream_t s = (cudaStream_t)ctx->stream;
    bool add = req[0] == AM_REQ_ADD;
    if (in[0].dtype == out[0].dtype && !add) {
        if (in[0].data != out[0].data)
            AM_CUDA_CHECK(cudaMemcpyAsync(out[0].data, in[0].data,
                                          (size_t)n * am_dtype_size(in[0].dtype),
                                          cudaMemcpyDeviceToDevice, s));
        return AM_OK;
    }
    GPU_DTYPE_SWITCH(in[0].dtype, S, {
        GPU_DTYPE_SWITCH(out[0].dtype, T, {
            cast_kernel<S, T><<<grid_for(n), THREADS, 0, s>>>((const S *)in[0].data,
                                                              (T *)out[0].data, n, add);
        });
    });
    AM_CUDA_CHECK(cudaGetLastError());
    return AM_OK;
}

AM_GPU_LAUNCHER(copy)
{
    return am_gpu_cast(ctx, attrs, in, n_in, out, n_out, req);
}

} /* extern "C" */
