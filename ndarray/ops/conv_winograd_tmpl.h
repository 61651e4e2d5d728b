/* Winograd kernels for one element type, included by conv_winograd.c with T, GEMM and
 * WINO_FN(name) defined.  With d an (m + 2)^2 input tile and g a 3x3 kernel, the m x m
 * output tile is A^T ((G g G^T) .* (B^T d B)) A, summed over input channels (Lavin & Gray,
 * "Fast Algorithms for Convolutional Neural Networks", 2016).  F(2x2, 3x3):
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
 *   A^T = [1 1 1 0; 0 1 -1 -1].
 * F(4x4, 3x3):
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0;
 *          0 4 0 -5 0 1],
 *   G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1],
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
 * Each transform is written out (the matrices' zeros and ones cost nothing), once along
 * rows, vectorized over a row of tiles, and once along the columns of each tile. */

/* G applied to a column (a, b, c) of a kernel: m + 2 values. */
#define WINO_G2(a, b, c, o)                                                                \
    do {                                                                                 \
        T a_ = (a), b_ = (b), c_ = (c);                                                  \
        (o)[0] = a_, (o)[1] = (a_ + b_ + c_) / 2, (o)[2] = (a_ - b_ + c_) / 2, (o)[3] = c_; \
    } while (0)
#define WINO_G4(a, b, c, o)                                                                \
    do {                                                                                 \
        T a_ = (a), b_ = (b), c_ = (c), r6_ = (T)1 / 6, r12_ = (T)1 / 12, r24_ = (T)1 / 24; \
        (o)[0] = a_ / 4, (o)[1] = -(a_ + b_ + c_) * r6_, (o)[2] = -(a_ - b_ + c_) * r6_;   \
        (o)[3] = a_ * r24_ + b_ * r12_ + c_ * r6_, (o)[4] = a_ * r24_ - b_ * r12_ + c_ * r6_; \
        (o)[5] = c_;                                                                     \
    } while (0)

/* U[i][f][c] = (G g G^T)[i] for the weight (f, c/groups, 3, 3): (m + 2)^2 matrices
 * f x c/groups.  Filters go in chunks of 16, the innermost loops over the chunk's filters
 * (vectorized), so that U's rows are written in runs. */
AM_FAST_CLONES
static void WINO_FN(weights)(const am_wino_conv *p, const T *restrict g, T *restrict u)
{
    const int64_t fc = p->f * (p->c / p->groups), nch = (fc + 15) / 16;
    const int a = p->m + 2;
    _Pragma("omp parallel for if (fc > 4096) schedule(static)")
    for (int64_t ch = 0; ch < nch; ch++) {
        T out[36][16], t[6][3][16], e[6];
        const int64_t i0 = ch * 16, cnt = fc - i0 < 16 ? fc - i0 : 16;
        const T *k = g + i0 * 9;
        for (int j = 0; j < 3; j++)
            for (int64_t q = 0; q < cnt; q++) {
                if (a == 4) WINO_G2(k[q * 9 + j], k[q * 9 + 3 + j], k[q * 9 + 6 + j], e);
                else WINO_G4(k[q * 9 + j], k[q * 9 + 3 + j], k[q * 9 + 6 + j], e);
                for (int r = 0; r < a; r++) t[r][j][q] = e[r];
            }
        for (int r = 0; r < a; r++)
            for (int64_t q = 0; q < cnt; q++) {
                if (a == 4) WINO_G2(t[r][0][q], t[r][1][q], t[r][2][q], e);
                else WINO_G4(t[r][0][q], t[r][1][q], t[r][2][q], e);
                for (int s = 0; s < a; s++) out[r * a + s][q] = e[s];
            }
        for (int i = 0; i < a * a; i++) memcpy(u + i * fc + i0, out[i], (size_t)cnt * sizeof(T));
    }
}

/* Points r[k] at the m + 2 input rows y0 + k of plane, columns x0 .. x0 + wp: in place when
 * inside the image, else copied into buf (rows of wp) with zeros outside. */
static inline __attribute__((always_inline)) void WINO_FN(rows)(
    const am_wino_conv *p, const T *plane, int64_t y0, int64_t x0, int64_t wp, int64_t jlo,
    int64_t jhi, int nr, T *restrict buf, const T **r)
{
    const int64_t w = p->w, h = p->h;
    for (int k = 0; k < nr; k++) {
        const int64_t iy = y0 + k;
        if (iy >= 0 && iy < h && jlo == 0 && jhi == wp) {
            r[k] = plane + iy * w + x0;
            continue;
        }
        T *row = buf + k * wp;
        if (iy < 0 || iy >= h) {
            for (int64_t j = 0; j < wp; j++) row[j] = 0;
        } else {
            for (int64_t j = 0; j < jlo; j++) row[j] = 0;
            for (int64_t j = jlo; j < jhi; j++) row[j] = plane[iy * w + x0 + j];
            for (int64_t j = jhi; j < wp; j++) row[j] = 0;
        }
        r[k] = row;
    }
}

/* B^T d B for nt tiles of one tile row (image x, tile row ty, tile columns ta...), every
 * channel: V[i][c][t0 + t] for the (m + 2)^2 positions i, rows of V ldv apart and channels
 * tb apart.  buf holds 2 (m + 2) rows of m nt + 2. */
AM_FAST_CLONES
static void WINO_FN(input2)(const am_wino_conv *p, const T *restrict x, int64_t ty, int64_t ta,
                            int64_t nt, T *restrict v, int64_t ldv, int64_t tb, int64_t t0,
                            T *restrict buf)
{
    const int64_t wp = 2 * nt + 2, x0 = 2 * ta - p->pw, y0 = 2 * ty - p->ph;
    int64_t jlo = x0 < 0 ? -x0 : 0, jhi = p->w - x0;
    jlo = jlo > wp ? wp : jlo, jhi = jhi > wp ? wp : jhi < jlo ? jlo : jhi;
    T *restrict s0 = buf + 4 * wp, *restrict s1 = s0 + wp, *restrict s2 = s1 + wp,
      *restrict s3 = s2 + wp;
    for (int64_t c = 0; c < p->c; c++) {
        const T *r[4];
        WINO_FN(rows)(p, x + c * p->h * p->w, y0, x0, wp, jlo, jhi, 4, buf, r);
        const T *restrict r0 = r[0], *restrict r1 = r[1], *restrict r2 = r[2], *restrict r3 = r[3];
        _Pragma("omp simd")
        for (int64_t j = 0; j < wp; j++) {
            s0[j] = r0[j] - r2[j], s1[j] = r1[j] + r2[j];
            s2[j] = r2[j] - r1[j], s3[j] = r1[j] - r3[j];
        }
        const T *rows[4] = {s0, s1, s2, s3};
        for (int i = 0; i < 4; i++) {
            const T *restrict s = rows[i];
            T *restrict v0 = v + (4 * i) * ldv + c * tb + t0, *restrict v1 = v0 + ldv,
              *restrict v2 = v1 + ldv, *restrict v3 = v2 + ldv;
            _Pragma("omp simd")
            for (int64_t t = 0; t < nt; t++) {
                T a = s[2 * t], b = s[2 * t + 1], cc = s[2 * t + 2], d = s[2 * t + 3];
                v0[t] = a - cc, v1[t] = b + cc, v2[t] = cc - b, v3[t] = b - d;
            }
        }
    }
}

/* F(4x4): the 6 input rows are first split into their 4 phases (x mod 4) so that both
 * passes read contiguous arrays of tiles: B^T along the rows over all phases at once, then
 * along the columns, where tile t's 6 columns are phases 0-3 of tile t and 0-1 of t + 1.
 * buf holds 6 rows of 4 nt + 2, then 48 (nt + 1). */
AM_FAST_CLONES
static void WINO_FN(input4)(const am_wino_conv *p, const T *restrict x, int64_t ty, int64_t ta,
                            int64_t nt, T *restrict v, int64_t ldv, int64_t tb, int64_t t0,
                            T *restrict buf)
{
    const int64_t wp = 4 * nt + 2, x0 = 4 * ta - p->pw, y0 = 4 * ty - p->ph, n1 = nt + 1;
    const int64_t n4 = 4 * n1;
    int64_t jlo = x0 < 0 ? -x0 : 0, jhi = p->w - x0;
    jlo = jlo > wp ? wp : jlo, jhi = jhi > wp ? wp : jhi < jlo ? jlo : jhi;
    T *restrict ph = buf + 6 * wp, *restrict sp = ph + 6 * n4;
    for (int64_t c = 0; c < p->c; c++) {
        const T *r[6];
        WINO_FN(rows)(p, x + c * p->h * p->w, y0, x0, wp, jlo, jhi, 6, buf, r);
        for (int k = 0; k < 6; k++) {
            const T *restrict rk = r[k];
            T *restrict p0 = ph + k * n4, *restrict p1 = p0 + n1, *restrict p2 = p1 + n1,
              *restrict p3 = p2 + n1;
            _Pragma("omp simd")
            for (int64_t t = 0; t < nt; t++) {
                p0[t] = rk[4 * t], p1[t] = rk[4 * t + 1];
                p2[t] = rk[4 * t + 2], p3[t] = rk[4 * t + 3];
            }
            p0[nt] = rk[4 * nt], p1[nt] = rk[4 * nt + 1], p2[nt] = p3[nt] = 0;
        }
        {
            const T *restrict r0 = ph, *restrict r1 = r0 + n4, *restrict r2 = r1 + n4,
                    *restrict r3 = r2 + n4, *restrict r4 = r3 + n4, *restrict r5 = r4 + n4;
            T *restrict s0 = sp, *restrict s1 = s0 + n4, *restrict s2 = s1 + n4,
              *restrict s3 = s2 + n4, *restrict s4 = s3 + n4, *restrict s5 = s4 + n4;
            _Pragma("omp simd")
            for (int64_t j = 0; j < n4; j++) {
                T a1 = r1[j], a2 = r2[j], a3 = r3[j], a4 = r4[j];
                s0[j] = 4 * r0[j] - 5 * a2 + a4;
                s1[j] = -4 * (a1 + a2) + a3 + a4;
                s2[j] = 4 * (a1 - a2) - a3 + a4;
                s3[j] = 2 * (a3 - a1) - a2 + a4;
                s4[j] = 2 * (a1 - a3) - a2 + a4;
                s5[j] = 4 * a1 - 5 * a3 + r5[j];
            }
        }
        for (int i = 0; i < 6; i++) {
            const T *restrict q0 = sp + i * n4, *restrict q1 = q0 + n1, *restrict q2 = q1 + n1,
                    *restrict q3 = q2 + n1;
            T *restrict v0 = v + (6 * i) * ldv + c * tb + t0, *restrict v1 = v0 + ldv,
              *restrict v2 = v1 + ldv, *restrict v3 = v2 + ldv, *restrict v4 = v3 + ldv,
              *restrict v5 = v4 + ldv;
            _Pragma("omp simd")
            for (int64_t t = 0; t < nt; t++) {
                T d0 = q0[t], d1 = q1[t], d2 = q2[t], d3 = q3[t], d4 = q0[t + 1], d5 = q1[t + 1];
                v0[t] = 4 * d0 - 5 * d2 + d4;
                v1[t] = -4 * (d1 + d2) + d3 + d4;
                v2[t] = 4 * (d1 - d2) - d3 + d4;
                v3[t] = 2 * (d3 - d1) - d2 + d4;
                v4[t] = 2 * (d1 - d3) - d2 + d4;
                v5[t] = 4 * d1 - 5 * d3 + d5;
            }
        }
    }
}

/* Writes rows [0, rows) x cols of the m x (m nt) tile row o (rows m nt apart) into dst, or
 * adds them. */
static inline __attribute__((always_inline)) void WINO_FN(store)(
    const am_wino_conv *p, T *dst, const T *o, int64_t ldo, int64_t rows, int64_t cols)
{
    for (int64_t r = 0; r < rows; r++, dst += p->ow) {
        const T *restrict src = o + r * ldo;
        T *restrict d = dst;
        if (p->add)
            for (int64_t j = 0; j < cols; j++) d[j] += src[j];
        else
            for (int64_t j = 0; j < cols; j++) d[j] = src[j];
    }
}

/* A^T M A (+ bias) for nt tiles of one tile row into image y: M[i][f][t0 + t], rows of M
 * ldm apart and channels tb apart.  buf holds m rows of m nt. */
AM_FAST_CLONES
static void WINO_FN(output2)(const am_wino_conv *p, T *restrict y, int64_t ty, int64_t ta,
                             int64_t nt, const T *restrict m, int64_t ldm, int64_t tb,
                             int64_t t0, T *restrict buf)
{
    const int64_t oh = p->oh, ow = p->ow, oy = 2 * ty, ox = 2 * ta;
    const int64_t rows = oh - oy < 2 ? oh - oy : 2, cols = ow - ox < 2 * nt ? ow - ox : 2 * nt;
    const T *bias = p->bias;
    T *restrict o0 = buf, *restrict o1 = buf + 2 * nt;
    for (int64_t f = 0; f < p->f; f++) {
        const T *restrict q = m + f * tb + t0;
        const T b = bias ? bias[f] : 0;
        _Pragma("omp simd")
        for (int64_t t = 0; t < nt; t++) {
            T m0 = q[t], m1 = q[ldm + t], m2 = q[2 * ldm + t], m3 = q[3 * ldm + t];
            T m4 = q[4 * ldm + t], m5 = q[5 * ldm + t], m6 = q[6 * ldm + t], m7 = q[7 * ldm + t];
            T m8 = q[8 * ldm + t], m9 = q[9 * ldm + t], m10 = q[10 * ldm + t];
            T m11 = q[11 * ldm + t], m12 = q[12 * ldm + t], m13 = q[13 * ldm + t];
            T m14 = q[14 * ldm + t], m15 = q[15 * ldm + t];
            T a0 = m0 + m4 + m8, a1 = m1 + m5 + m9, a2 = m2 + m6 + m10, a3 = m3 + m7 + m11;
            T c0 = m4 - m8 - m12, c1 = m5 - m9 - m13, c2 = m6 - m10 - m14, c3 = m7 - m11 - m15;
            o0[2 * t] = a0 + a1 + a2 + b, o0[2 * t + 1] = a1 - a2 - a3 + b;
            o1[2 * t] = c0 + c1 + c2 + b, o1[2 * t + 1] = c1 - c2 - c3 + b;
        }
        WINO_FN(store)(p, y + f * oh * ow + oy * ow + ox, buf, 2 * nt, rows, cols);
    }
}

/* A^T applied to 6 values: 4. */
#define WINO_AT4(x0, x1, x2, x3, x4, x5, y0, y1, y2, y3)                                   \
    do {                                                                                 \
        T s12 = (x1) + (x2), d12 = (x1) - (x2), s34 = (x3) + (x4), d34 = (x3) - (x4);    \
        y0 = (x0) + s12 + s34, y1 = d12 + 2 * d34, y2 = s12 + 4 * s34;                   \
        y3 = d12 + 8 * d34 + (x5);                                                       \
    } while (0)

/* Two passes, each vectorized over the tiles: A^T M along the rows into z (4 x 6 rows of nt),
 * then along the columns into buf's 4 output rows.  buf holds 40 nt. */
AM_FAST_CLONES
static void WINO_FN(output4)(const am_wino_conv *p, T *restrict y, int64_t ty, int64_t ta,
                             int64_t nt, const T *restrict m, int64_t ldm, int64_t tb,
                             int64_t t0, T *restrict buf)
{
    const int64_t oh = p->oh, ow = p->ow, oy = 4 * ty, ox = 4 * ta, ldo = 4 * nt;
    const int64_t rows = oh - oy < 4 ? oh - oy : 4, cols = ow - ox < 4 * nt ? ow - ox : 4 * nt;
    const T *bias = p->bias;
    T *restrict z = buf + 4 * ldo; /* z[(r * 6 + j) * nt + t] */
    for (int64_t f = 0; f < p->f; f++) {
        const T *restrict q = m + f * tb + t0;
        const T b = bias ? bias[f] : 0;
        for (int j = 0; j < 6; j++) {
            const T *restrict x0 = q + j * ldm, *restrict x1 = x0 + 6 * ldm,
                    *restrict x2 = x1 + 6 * ldm, *restrict x3 = x2 + 6 * ldm,
                    *restrict x4 = x3 + 6 * ldm, *restrict x5 = x4 + 6 * ldm;
            T *restrict z0 = z + j * nt, *restrict z1 = z0 + 6 * nt, *restrict z2 = z1 + 6 * nt,
              *restrict z3 = z2 + 6 * nt;
            _Pragma("omp simd")
            for (int64_t t = 0; t < nt; t++)
                WINO_AT4(x0[t], x1[t], x2[t], x3[t], x4[t], x5[t], z0[t], z1[t], z2[t], z3[t]);
        }
        for (int r = 0; r < 4; r++) {
            const T *restrict x0 = z + r * 6 * nt, *restrict x1 = x0 + nt, *restrict x2 = x1 + nt,
                    *restrict x3 = x2 + nt, *restrict x4 = x3 + nt, *restrict x5 = x4 + nt;
            T *restrict o = buf + r * ldo;
            _Pragma("omp simd")
            for (int64_t t = 0; t < nt; t++) {
                T e0, e1, e2, e3;
                WINO_AT4(x0[t], x1[t], x2[t], x3[t], x4[t], x5[t], e0, e1, e2, e3);
                o[4 * t] = e0 + b, o[4 * t + 1] = e1 + b, o[4 * t + 2] = e2 + b;
                o[4 * t + 3] = e3 + b;
            }
        }
        WINO_FN(store)(p, y + f * oh * ow + oy * ow + ox, buf, ldo, rows, cols);
    }
}

/* One block of tiles [p0, p1): input transform, a GEMMs per group, output transform. */
static void WINO_FN(block)(const am_wino_conv *p, const T *u, int64_t p0, int64_t p1,
                           int64_t tb, T *v, T *m, T *buf)
{
    const int64_t mt = p->m, tw = (p->ow + mt - 1) / mt, per = (p->oh + mt - 1) / mt * tw;
    const int64_t nt = p1 - p0, a = wino_pos(p);
    const int64_t c = p->c, f = p->f, cg = c / p->groups, fg = f / p->groups;
    const int64_t ldv = c * tb, ldm = f * tb;
    for (int64_t q = p0; q < p1;) {
        int64_t img = q / per, r = q % per, ty = r / tw, tx = r % tw;
        int64_t k = tw - tx < p1 - q ? tw - tx : p1 - q;
        const T *x = (const T *)p->x + img * c * p->h * p->w;
        if (mt == 2) WINO_FN(input2)(p, x, ty, tx, k, v, ldv, tb, q - p0, buf);
        else WINO_FN(input4)(p, x, ty, tx, k, v, ldv, tb, q - p0, buf);
        q += k;
    }
    for (int64_t i = 0; i < a; i++)
        for (int64_t gr = 0; gr < p->groups; gr++)
            GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)fg, (int)nt, (int)cg, 1,
                 u + i * f * cg + gr * fg * cg, (int)cg, v + i * ldv + gr * cg * tb, (int)tb, 0,
                 m + i * ldm + gr * fg * tb, (int)tb);
    for (int64_t q = p0; q < p1;) {
        int64_t img = q / per, r = q % per, ty = r / tw, tx = r % tw;
        int64_t k = tw - tx < p1 - q ? tw - tx : p1 - q;
        T *y = (T *)p->y + img * f * p->oh * p->ow;
        if (mt == 2) WINO_FN(output2)(p, y, ty, tx, k, m, ldm, tb, q - p0, buf);
        else WINO_FN(output4)(p, y, ty, tx, k, m, ldm, tb, q - p0, buf);
        q += k;
    }
}

static void WINO_FN(run)(const am_wino_conv *p)
{
    const int64_t total = wino_tiles(p);
    if (total == 0 || p->f == 0) return;
    T *u = p->ws;
    WINO_FN(weights)(p, p->weight, u);
    const int64_t tb = wino_block(p, total), nblk = (total + tb - 1) / tb;
    const int64_t slice = wino_slice_elems(p, tb), a = wino_pos(p);
    int64_t ns = p->threads < nblk ? p->threads : nblk;
    ns = ns < 1 ? 1 : ns;
    T *slices = u + wino_u_elems(p);
    _Pragma("omp parallel for num_threads(ns) schedule(static, 1) if (ns > 1)")
    for (int64_t s = 0; s < ns; s++) {
        T *v = slices + s * slice, *m = v + wino_round16(a * p->c * tb);
        T *buf = m + wino_round16(a * p->f * tb);
        for (int64_t b = nblk * s / ns; b < nblk * (s + 1) / ns; b++) {
            int64_t p0 = b * tb, p1 = p0 + tb < total ? p0 + tb : total;
            WINO_FN(block)(p, u, p0, p1, tb, v, m, buf);
        }
    }
}
