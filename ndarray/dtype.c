/* Dtypes, shapes and devices: names, sizes and formatting. */
#include "ndarray_impl.h"

#include <math.h>

static const struct {
    const char *name;
    size_t size;
    int mxnet_flag;
} dtype_info[] = {
    [AM_DTYPE_FLOAT32] = {"float32", 4, 0},
    [AM_DTYPE_FLOAT64] = {"float64", 8, 1},
    [AM_DTYPE_INT32] = {"int32", 4, 4},
    [AM_DTYPE_INT64] = {"int64", 8, 6},
    [AM_DTYPE_UINT8] = {"uint8", 1, 3},
    [AM_DTYPE_FLOAT16] = {"float16", 2, 2},
    [AM_DTYPE_BFLOAT16] = {"bfloat16", 2, 12},
    [AM_DTYPE_INT8] = {"int8", 1, 5},
    [AM_DTYPE_BOOL] = {"bool", 1, 7},
};
_Static_assert(sizeof(dtype_info) / sizeof(dtype_info[0]) == AM_DTYPE_COUNT,
               "dtype_info must list every am_dtype");

const char *am_dtype_name(am_dtype t)
{
    return (unsigned)t < AM_DTYPE_COUNT ? dtype_info[t].name : "?";
}

size_t am_dtype_size(am_dtype t)
{
    return (unsigned)t < AM_DTYPE_COUNT ? dtype_info[t].size : 0;
}

bool am_dtype_from_name(const char *name, am_dtype *out)
{
    for (int t = 0; name && t < AM_DTYPE_COUNT; t++)
        if (strcmp(name, dtype_info[t].name) == 0) {
            *out = (am_dtype)t;
            return true;
        }
    return false;
}

int am_dtype_to_mxnet(am_dtype t)
{
    return (unsigned)t < AM_DTYPE_COUNT ? dtype_info[t].mxnet_flag : -1;
}

bool am_dtype_from_mxnet(int flag, am_dtype *out)
{
    for (int t = 0; t < AM_DTYPE_COUNT; t++)
        if (dtype_info[t].mxnet_flag == flag) {
            *out = (am_dtype)t;
            return true;
        }
    return false;
}

bool am_dtype_is_float(am_dtype t)
{
    return t == AM_DTYPE_FLOAT32 || t == AM_DTYPE_FLOAT64 || t == AM_DTYPE_FLOAT16 ||
           t == AM_DTYPE_BFLOAT16;
}

am_dtype am_dtype_compute(am_dtype t)
{
    switch (t) {
    case AM_DTYPE_FLOAT16:
    case AM_DTYPE_BFLOAT16:
    case AM_DTYPE_BOOL: return AM_DTYPE_FLOAT32;
    case AM_DTYPE_INT8: return AM_DTYPE_INT32;
    default: return t;
    }
}

bool am_shape_equal(am_shape a, am_shape b)
{
    if (a.ndim != b.ndim) return false;
    for (int i = 0; i < a.ndim; i++)
        if (a.dim[i] != b.dim[i]) return false;
    return true;
}

int64_t am_shape_size(const am_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        if (s->dim[i] == 0) return 0;
    for (int i = 0; i < s->ndim; i++)
        if (__builtin_mul_overflow(n, s->dim[i], &n)) return -1;
    return n;
}

bool am_shape_check(const am_shape *s, size_t elem_size, int64_t *size, uint64_t *bytes)
{
    if (!s || s->ndim < 0 || s->ndim > AM_MAX_NDIM || elem_size == 0) return false;
    uint64_t n = elem_size; /* bytes of the nonzero dimensions */
    bool empty = false;
    for (int i = 0; i < s->ndim; i++) {
        if (s->dim[i] < 0) return false;
        uint64_t d = (uint64_t)s->dim[i];
        if (d == 0) {
            empty = true;
            continue;
        }
        if (n > AM_MAX_BYTES / d) return false;
        n *= d;
    }
    if (empty) n = 0;
    if (size) *size = (int64_t)(n / elem_size);
    if (bytes) *bytes = n;
    return true;
}

bool am_shape_known(const am_shape *s)
{
    if (!s || s->ndim < 0) return false;
    for (int i = 0; i < s->ndim; i++)
        if (s->dim[i] < 0) return false;
    return true;
}

am_shape am_shape_make(int ndim, const int64_t *dim)
{
    am_shape s = {0};
    AM_ASSERT(ndim >= 0 && ndim <= AM_MAX_NDIM);
    s.ndim = ndim;
    for (int i = 0; i < ndim; i++) s.dim[i] = dim[i];
    return s;
}

char *am_shape_format(const am_shape *s, char *buf, size_t n)
{
    size_t k = 0;
    if (n == 0) return buf;
    buf[0] = '\0';
    if (s->ndim < 0) {
        snprintf(buf, n, "unknown");
        return buf;
    }
    k += (size_t)snprintf(buf + k, n - k, "(");
    for (int i = 0; i < s->ndim && k < n; i++)
        if (s->dim[i] < 0) k += (size_t)snprintf(buf + k, n - k, i ? ", ?" : "?");
        else k += (size_t)snprintf(buf + k, n - k, i ? ", %lld" : "%lld", (long long)s->dim[i]);
    if (k < n) snprintf(buf + k, n - k, s->ndim == 1 ? ",)" : ")");
    return buf;
}

char *am_format_shapes(const am_shape *s, int n, char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && k + 1 < len; i++) {
        if (i) k += (size_t)snprintf(buf + k, len - k, ", ");
        if (k + 1 < len) am_shape_format(&s[i], buf + k, len - k);
        k = strlen(buf);
    }
    return buf;
}

/* Python's float repr: shortest digits that round-trip, scientific notation
 * when the exponent is below -4 or at least 16, and ".0" on integral values. */
char *am_format_double(double v, char *buf, size_t n)
{
    if (isnan(v)) return snprintf(buf, n, "nan"), buf;
    if (isinf(v)) return snprintf(buf, n, v > 0 ? "inf" : "-inf"), buf;
    char digits[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(digits, sizeof(digits), "%.*e", prec - 1, v);
        if (strtod(digits, NULL) == v) break;
    }
    int exp10 = atoi(strchr(digits, 'e') + 1);
    if (exp10 < -4 || exp10 >= 16) {
        char mant[32];
        size_t m = (size_t)(strchr(digits, 'e') - digits);
        memcpy(mant, digits, m);
        mant[m] = '\0';
        snprintf(buf, n, "%se%c%02d", mant, exp10 < 0 ? '-' : '+', abs(exp10));
    } else {
        int decimals = prec - 1 - exp10;
        snprintf(buf, n, "%.*f", decimals > 0 ? decimals : 0, v);
        if (!strchr(buf, '.')) strncat(buf, ".0", n - strlen(buf) - 1);
    }
    return buf;
}

bool am_device_equal(am_device a, am_device b)
{
    return a.type == b.type && a.id == b.id;
}

char *am_device_format(am_device d, char *buf, size_t n)
{
    snprintf(buf, n, "%s(%d)", am_device_type_name(d.type), d.id);
    return buf;
}

int am_gpu_count(void)
{
    const am_device_ops *ops = am_device_ops_for(AM_DEVICE_GPU);
    return ops ? ops->count() : 0;
}
