/* Conversions between dtypes, written once: float32 <-> float16 and
 * bfloat16 (round to nearest even; NaN stays NaN and becomes quiet,
 * infinities, signed zeros and subnormals are kept), and the bulk
 * am_dtype_convert that Cast, the dispatcher's float32 compute, printing and
 * files use.  float32 <-> float16 in bulk uses the F16C instructions where
 * the CPU has them (checked once at run time); the portable code gives the
 * same bits (tests/test_dtypes.c compares them over every pattern). */
#include "ndarray_impl.h"

#include <math.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define AM_HAVE_F16C_PATH 1
#endif

static uint32_t f32_bits(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof(x));
    return x;
}

static float f32_from_bits(uint32_t x)
{
    float f;
    memcpy(&f, &x, sizeof(f));
    return f;
}

uint16_t am_float_to_half(float f)
{
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) /* infinity, or NaN made quiet with its top payload bits */
        return (uint16_t)(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u | ((ax >> 13) & 0x3ffu) : 0));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* >= 65520 rounds to inf */
    if (ax < 0x38800000u) {
        /* Below float16's smallest normal 2^-14: a multiple of 2^-24.  The
         * scaling is exact and rintf rounds half to even (1024 becomes the
         * smallest normal, as it should). */
        float units = f32_from_bits(ax) * 16777216.0f;
        return (uint16_t)(sign | (uint16_t)rintf(units));
    }
    /* Normal: drop 13 mantissa bits rounding to nearest even, then rebias
     * the exponent from 127 to 15; a carry into the exponent is right. */
    uint32_t r = ax + 0xfffu + ((ax >> 13) & 1u);
    return (uint16_t)(sign | ((r - 0x38000000u) >> 13));
}

float am_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1f) return f32_from_bits(sign | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0));
    if (e == 0) { /* zero or subnormal: m * 2^-24, exact in float32 */
        float v = (float)m * 5.9604644775390625e-8f;
        return f32_from_bits(sign | f32_bits(v));
    }
    return f32_from_bits(sign | ((e + 112) << 23) | (m << 13));
}

uint16_t am_float_to_bfloat16(float f)
{
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
    x += 0x7fffu + ((x >> 16) & 1u); /* nearest even; overflow carries into inf */
    return (uint16_t)(x >> 16);
}

float am_bfloat16_to_float(uint16_t b)
{
    return f32_from_bits((uint32_t)b << 16);
}

/* ---- bulk float32 <-> float16 ------------------------------------------------ */

#ifdef AM_HAVE_F16C_PATH
__attribute__((target("avx,f16c"))) static void f16c_from_float(const float *s, uint16_t *d,
                                                                 int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(s + i), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *)(d + i), h);
    }
    for (; i < n; i++) d[i] = am_float_to_half(s[i]);
}

__attribute__((target("avx,f16c"))) static void f16c_to_float(const uint16_t *s, float *d,
                                                              int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(d + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + i))));
    for (; i < n; i++) d[i] = am_half_to_float(s[i]);
}

static bool have_f16c(void)
{
    static int known = -1; /* a benign race: every thread computes the same */
    /* CPUID leaf 1, ECX bit 29 (clang 14's __builtin_cpu_supports has no
     * "f16c"); "avx" also says the OS saves the YMM registers. */
    unsigned a, b, c, d;
    if (known < 0)
        known = __builtin_cpu_supports("avx") && __get_cpuid(1, &a, &b, &c, &d) && (c >> 29 & 1);
    return known > 0 && !getenv("AM_NO_F16C");
}
#endif

/* float32 -> float16 for n elements; portable selects the fallback (tests). */
void am_half_from_float_n(const float *s, uint16_t *d, int64_t n, bool portable)
{
#ifdef AM_HAVE_F16C_PATH
    if (!portable && have_f16c()) {
        f16c_from_float(s, d, n);
        return;
    }
#endif
    AM_UNUSED(portable);
    for (int64_t i = 0; i < n; i++) d[i] = am_float_to_half(s[i]);
}

void am_half_to_float_n(const uint16_t *s, float *d, int64_t n, bool portable)
{
#ifdef AM_HAVE_F16C_PATH
    if (!portable && have_f16c()) {
        f16c_to_float(s, d, n);
        return;
    }
#endif
    AM_UNUSED(portable);
    for (int64_t i = 0; i < n; i++) d[i] = am_half_to_float(s[i]);
}

/* ---- any dtype to any dtype ----------------------------------------------------- */

/* Reads n elements of a dtype that computes through float32 as float32. */
static void narrow_to_float(const void *src, am_dtype t, float *d, int64_t n)
{
    if (t == AM_DTYPE_FLOAT16) {
        am_half_to_float_n(src, d, n, false);
    } else if (t == AM_DTYPE_BFLOAT16) {
        const uint16_t *s = src;
        for (int64_t i = 0; i < n; i++) d[i] = am_bfloat16_to_float(s[i]);
    } else {
        const uint8_t *s = src;
        for (int64_t i = 0; i < n; i++) d[i] = s[i] ? 1.0f : 0.0f;
    }
}

static void float_to_narrow(const float *s, void *dst, am_dtype t, int64_t n)
{
    if (t == AM_DTYPE_FLOAT16) {
        am_half_from_float_n(s, dst, n, false);
    } else if (t == AM_DTYPE_BFLOAT16) {
        uint16_t *d = dst;
        for (int64_t i = 0; i < n; i++) d[i] = am_float_to_bfloat16(s[i]);
    } else {
        uint8_t *d = dst;
        for (int64_t i = 0; i < n; i++) d[i] = s[i] != 0; /* NaN is true, as in NumPy */
    }
}

/* Not a C type: float16, bfloat16, bool. */
static bool is_narrow(am_dtype t)
{
    return t == AM_DTYPE_FLOAT16 || t == AM_DTYPE_BFLOAT16 || t == AM_DTYPE_BOOL;
}

/* AM_DTYPE_SWITCH and int8: the dtypes C has types for. */
#define PLAIN_SWITCH(dt, T, ...)                                          \
    switch (dt) {                                                         \
    case AM_DTYPE_INT8: { typedef int8_t T; __VA_ARGS__; } break;         \
    default: AM_DTYPE_SWITCH(dt, T, __VA_ARGS__);                         \
    }

static am_status convert_plain(const void *src, am_dtype from, void *dst, am_dtype to, int64_t n)
{
    PLAIN_SWITCH(from, S, {
        const S *x = src;
        PLAIN_SWITCH(to, T, {
            T *y = dst;
            for (int64_t i = 0; i < n; i++) y[i] = AM_CONVERT(T, x[i]);
        });
    });
    return AM_OK;
}

am_status am_dtype_convert(const void *src, am_dtype from, void *dst, am_dtype to, int64_t n)
{
    if ((unsigned)from >= AM_DTYPE_COUNT || (unsigned)to >= AM_DTYPE_COUNT)
        return am_fail(AM_ERR_DTYPE, "am_dtype_convert: bad dtype %d -> %d", (int)from, (int)to);
    if (n <= 0) return AM_OK;
    if (from == to) {
        if (src != dst) memmove(dst, src, (size_t)n * am_dtype_size(from));
        return AM_OK;
    }
    if (to == AM_DTYPE_BOOL && !is_narrow(from)) { /* exact: no trip through float32 */
        uint8_t *d = dst;
        PLAIN_SWITCH(from, S, {
            const S *x = src;
            for (int64_t i = 0; i < n; i++) d[i] = x[i] != 0;
        });
        return AM_OK;
    }
    if (!is_narrow(from) && !is_narrow(to)) return convert_plain(src, from, dst, to, n);
    if (from == AM_DTYPE_FLOAT32) {
        float_to_narrow(src, dst, to, n);
        return AM_OK;
    }
    if (to == AM_DTYPE_FLOAT32) {
        narrow_to_float(src, from, dst, n);
        return AM_OK;
    }
    /* Anything else goes through float32 in chunks (float64 -> float16 rounds
     * twice, as MXNet's does). */
    float buf[256];
    size_t fs = am_dtype_size(from), ts = am_dtype_size(to);
    for (int64_t i = 0; i < n; i += 256) {
        int64_t m = n - i < 256 ? n - i : 256;
        const char *s = (const char *)src + (size_t)i * fs;
        char *d = (char *)dst + (size_t)i * ts;
        am_status st = is_narrow(from) ? (narrow_to_float(s, from, buf, m), AM_OK)
                                       : convert_plain(s, from, buf, AM_DTYPE_FLOAT32, m);
        if (st != AM_OK) return st;
        if (is_narrow(to)) float_to_narrow(buf, d, to, m);
        else if ((st = convert_plain(buf, AM_DTYPE_FLOAT32, d, to, m)) != AM_OK) return st;
    }
    return AM_OK;
}
