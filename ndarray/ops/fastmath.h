/* Float32 exp, expm1, log, sigmoid, tanh, erf and softrelu for the elementwise kernels:
 * branch-free and inlined, so the loops over them vectorize (glibc's expf, tanhf and erff are
 * scalar calls).  Measured errors are in docs/benchmarks.md; tests/test_fastmath.c checks them. */
#ifndef AMBER_FASTMATH_H
#define AMBER_FASTMATH_H

#include <stdint.h>
#include <string.h>

/*
 * Each function computes every path and selects with conditional expressions of values
 * already computed, which compilers turn into vector compares and blends.  The polynomial
 * coefficients are Chebyshev fits (mpmath's chebyfit) of the reduced functions named at
 * each, rounded to float; the fit errors quoted are before that rounding.
 */

/* Inlined even where many call sites would make GCC keep one out-of-line copy: a call in the
 * loop stops it from vectorizing. */
#define AM_FAST_INLINE static inline __attribute__((always_inline))

/*
 * On x86-64 the hot loops over these functions are built three times, for AVX-512, AVX2 and
 * the baseline SSE2, and the loader picks one for the CPU (GCC and Clang's target_clones);
 * the functions are compute-bound, so wider vectors pay.  Without contraction into FMA (GCC's
 * -std=c11 turns it off) every variant gives the same bits.
 */
#if defined(__x86_64__) && !defined(AM_NO_TARGET_CLONES)
#define AM_FAST_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define AM_FAST_CLONES
#endif

#define AM_FAST_LOG2E 1.44269504f
#define AM_FAST_LN2_HI 0.693145751953125f /* 14 bits: n * LN2_HI is exact for |n| < 1024 */
#define AM_FAST_LN2_LO 1.42860677e-6f     /* ln 2 - LN2_HI */
#define AM_FAST_ROUNDER 12582912.0f       /* 1.5 * 2^23: x + it holds round(x) in low bits */

AM_FAST_INLINE uint32_t am_fast_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof(u));
    return u;
}

AM_FAST_INLINE float am_fast_from_bits(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof(x));
    return x;
}

AM_FAST_INLINE float am_fast_abs(float x)
{
    return am_fast_from_bits(am_fast_bits(x) & 0x7fffffffu);
}

/* |r| with the sign of s. */
AM_FAST_INLINE float am_fast_with_sign(float r, float s)
{
    return am_fast_from_bits((am_fast_bits(r) & 0x7fffffffu) | (am_fast_bits(s) & 0x80000000u));
}

/* 2^n for n in [-126, 127], written into the exponent field. */
AM_FAST_INLINE float am_fast_pow2i(int32_t n)
{
    return am_fast_from_bits((uint32_t)(n + 127) << 23);
}

/* e^r - 1 for |r| <= ln2 / 2, as r + r^2 P(r): P fits (e^r - 1 - r) / r^2 to 6.5e-8, so the
 * result is within 1e-8 relative before rounding. */
AM_FAST_INLINE float am_fast_expm1_reduced(float r)
{
    float p = 1.39261761e-3f;
    p = p * r + 8.36317308e-3f;
    p = p * r + 4.16665547e-2f;
    p = p * r + 1.66665770e-1f;
    p = p * r + 0.5f;
    return r + r * r * p;
}

/* x = n ln2 + r with n integral and |r| <= ln2 / 2, for |x| < 2^22.  Cody and Waite's two-part
 * ln 2: n * LN2_HI and its difference from x are exact, and LN2_LO adds the rest. */
AM_FAST_INLINE float am_fast_reduce_ln2(float x, int32_t *n)
{
    const float t = x * AM_FAST_LOG2E + AM_FAST_ROUNDER, nf = t - AM_FAST_ROUNDER;
    *n = (int32_t)(am_fast_bits(t) - am_fast_bits(AM_FAST_ROUNDER));
    return (x - nf * AM_FAST_LN2_HI) - nf * AM_FAST_LN2_LO;
}

/*
 * e^x.  Inputs are clamped to [-104, 89]: e^-104 rounds to 0 and e^89 overflows to +inf,
 * so the clamp gives 0 and +inf at the ends (and for -inf, +inf) while NaN passes through
 * (a comparison with NaN is false).  2^n is applied in two halves so that results down to
 * the subnormal range (n = -150) need no special case.
 */
AM_FAST_INLINE float am_fast_expf(float x)
{
    int32_t n;
    x = x < -104.0f ? -104.0f : x;
    x = x > 89.0f ? 89.0f : x;
    const float p = 1.0f + am_fast_expm1_reduced(am_fast_reduce_ln2(x, &n));
    const int32_t n1 = n >> 1;
    return p * am_fast_pow2i(n1) * am_fast_pow2i(n - n1);
}

/*
 * e^x - 1, accurate for small |x|: 2^n (q + 1) - 1 = 2 (h q + (h - 1/2)) with h = 2^(n-1)
 * and q = e^r - 1, where h - 1/2 is exact for |n| <= 24; halving keeps h finite for n = 128.
 * Below -20 the result is -1 in float, so inputs are clamped there.  Below 2^-25 in magnitude
 * the result is x itself (which keeps -0 and subnormals exact).
 */
AM_FAST_INLINE float am_fast_expm1f(float x)
{
    int32_t n;
    x = x < -20.0f ? -20.0f : x;
    x = x > 89.0f ? 89.0f : x;
    const float q = am_fast_expm1_reduced(am_fast_reduce_ln2(x, &n));
    const float h = am_fast_pow2i(n - 1), r = 2.0f * (h * q + (h - 0.5f));
    return am_fast_abs(x) < 2.98023224e-8f ? x : r;
}

/* 1 / (1 + e^-x), as e / (1 + e) with e = e^x for negative x: e never overflows, so results
 * keep their relative precision down to the subnormal range (e^x itself there).  1 from
 * x = 16.64 on. */
AM_FAST_INLINE float am_fast_sigmoidf(float x)
{
    const float e = am_fast_expf(-am_fast_abs(x));
    return (x < 0.0f ? e : 1.0f) / (1.0f + e);
}

/*
 * tanh.  |x| < 0.625: x + x^3 P(x^2), P fitting (tanh(x) - x) / x^3 to 4.3e-8, so small
 * inputs keep full relative precision (tanh(1e-4) = 1e-4).  Above: 1 - 2 / (e^2|x| + 1),
 * which rounds to exactly 1 from |x| = 9.011 on, as the exact value does (and for inf).  The
 * sign is x's.
 */
AM_FAST_INLINE float am_fast_tanhf(float x)
{
    const float a = am_fast_abs(x), u = a * a;
    float p = -6.09671417e-3f;
    p = p * u + 2.09971790e-2f;
    p = p * u - 5.38509096e-2f;
    p = p * u + 1.33327697e-1f;
    p = p * u - 3.33333289e-1f;
    const float small = a + a * u * p;
    const float big = 1.0f - 2.0f / (am_fast_expf(2.0f * a) + 1.0f);
    return am_fast_with_sign(a < 0.625f ? small : big, x);
}

/*
 * erf.  |x| < 0.9: x + x P(x^2), P fitting erf(x) / x - 1 to 1.2e-8 (x itself is exact, and P
 * is below 0.13, so its rounding counts little).  Above: 1 - e^Q(|x|), Q fitting
 * log(erfc(x)) on [0.9, 4] to 1.9e-8 (so erfc has that relative error); the result is 1 from
 * |x| = 3.9192 on, as the exact value rounds, and inputs are clamped to 4.  The sign is x's.
 */
AM_FAST_INLINE float am_fast_erff(float x)
{
    const float a = am_fast_abs(x), u = a * a, z = a > 4.0f ? 4.0f : a;
    float p = -6.10268704e-4f;
    p = p * u + 5.01448415e-3f;
    p = p * u - 2.67807191e-2f;
    p = p * u + 1.12821941e-1f;
    p = p * u - 3.76125288e-1f;
    p = p * u + 1.28379155e-1f;
    float q = 1.64306366e-6f;
    q = q * z - 4.61638586e-5f;
    q = q * z + 5.97585770e-4f;
    q = q * z - 4.76262583e-3f;
    q = q * z + 2.64276372e-2f;
    q = q * z - 1.10087167e-1f;
    q = q * z - 6.31823918e-1f;
    q = q * z - 1.13023106f;
    q = q * z + 3.18539662e-4f;
    const float big = 1.0f - am_fast_expf(q);
    return am_fast_with_sign(a < 0.9f ? a + a * p : big, x);
}

/* 2 atanh(s) = log((1 + s) / (1 - s)) for |s| <= 1/3: 2 s + 2 s^3 P(s^2), P fitting
 * (atanh(s) - s) / s^3 to 1.5e-7, which is 1.6e-8 of the result. */
AM_FAST_INLINE float am_fast_atanh2(float s)
{
    const float u = s * s;
    float p = 1.34257490e-1f;
    p = p * u + 1.41183099e-1f;
    p = p * u + 2.00037803e-1f;
    p = p * u + 3.33333202e-1f;
    return 2.0f * s + 2.0f * s * u * p;
}

/* log(1 + y) for y in [0, 1], as 2 atanh(y / (2 + y)). */
AM_FAST_INLINE float am_fast_log1p_unit(float y)
{
    return am_fast_atanh2(y / (2.0f + y));
}

/*
 * Natural logarithm.  x = 2^e m with m in [sqrt(1/2), sqrt(2)) read from the bits (subnormal
 * x scaled by 2^23 first); log m = 2 atanh((m - 1) / (m + 1)).  Zero gives -inf, negative
 * x NaN, +inf and NaN themselves.
 */
AM_FAST_INLINE float am_fast_logf(float x)
{
    const float xs = x < 1.17549435e-38f ? x * 8388608.0f : x;
    const uint32_t b = am_fast_bits(xs), k = b - 0x3f3504f3u; /* bits of sqrt(1/2) */
    /* m's bits are b less e in the exponent field; e is k's top bits, shifted arithmetically
     * (as GCC and Clang shift negative values). */
    const float f = am_fast_from_bits(b - (k & 0xff800000u)) - 1.0f;
    const float e = (float)(((int32_t)k >> 23) - (x < 1.17549435e-38f ? 23 : 0));
    const float r = e * AM_FAST_LN2_HI + (e * AM_FAST_LN2_LO + am_fast_atanh2(f / (2.0f + f)));
    const float inf = am_fast_from_bits(0x7f800000u), nan = am_fast_from_bits(0x7fc00000u);
    return x != x || x == inf ? x : x == 0.0f ? -inf : x < 0.0f ? nan : r;
}

/* log(1 + e^x) as max(x, 0) + log(1 + e^-|x|): no overflow, and e^x's relative precision
 * for very negative x. */
AM_FAST_INLINE float am_fast_softreluf(float x)
{
    return (x > 0.0f ? x : 0.0f) + am_fast_log1p_unit(am_fast_expf(-am_fast_abs(x)));
}

#endif
