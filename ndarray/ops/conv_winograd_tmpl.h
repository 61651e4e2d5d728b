/* Winograd F(2x2, 3x3) kernels for one element type, included by conv_winograd.c with T,
 * GEMM and WINO_FN(name) defined.  With d a 4x4 input tile, g a 3x3 kernel and
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
 *   A^T = [1 1 1 0; 0 1 -1 -1],
 * the 2x2 output tile is A^T ((G g G^T) .* (B^T d B)) A, summed over input channels. */

/* U[i][f][c] = (G g G^T)[i] for the weight (f, c/groups, 3, 3): 16 matrices f x c/groups. */
static void WINO_FN(weights)(const am_wino_conv *p, const T *restrict g, T *restrict u)
{
    const int64_t fc = p->f * (p->c / p->groups);
    _Pragma("omp parallel for if (fc > 4096) schedule(static)")
    for (int64_t i = 0; i < fc; i++) {
        const T *k = g + i * 9;
        T t[4][3];
        for (int j = 0; j < 3; j++) {
            T a = k[j], b = k[3 + j], c = k[6 + j];
            t[0][j] = a, t[1][j] = (a + b + c) / 2, t[2][j] = (a - b + c) / 2, t[3][j] = c;
        }
        for (int r = 0; r < 4; r++) {
            T a = t[r][0], b = t[r][1], c = t[r][2];
            u[(r * 4 + 0) * fc + i] = a;
            u[(r * 4 + 1) * fc + i] = (a + b + c) / 2;
            u[(r * 4 + 2) * fc + i] = (a - b + c) / 2;
            u[(r * 4 + 3) * fc + i] = c;
        }
    }
}

/* B^T d B for nt tiles of one tile row (image x, tile row ty, tile columns ta...), every
 * channel: V[i][c][t0 + t] for i in 0..15, rows of V ldv apart and channels tb apart.
 * buf holds 8 rows of 2 nt + 2. */
AM_FAST_CLONES
static void WINO_FN(input)(const am_wino_conv *p, const T *restrict x, int64_t ty, int64_t ta,
                           int64_t nt, T *restrict v, int64_t ldv, int64_t tb, int64_t t0,
                           T *restrict buf)
{
    const int64_t w = p->w, h = p->h, wp = 2 * nt + 2;
    const int64_t x0 = 2 * ta - p->pw, y0 = 2 * ty - p->ph;
    int64_t jlo = x0 < 0 ? -x0 : 0, jhi = w - x0;
    jlo = jlo > wp ? wp : jlo, jhi = jhi > wp ? wp : jhi < jlo ? jlo : jhi;
    T *restrict s0 = buf + 4 * wp, *restrict s1 = s0 + wp, *restrict s2 = s1 + wp,
      *restrict s3 = s2 + wp;
    for (int64_t c = 0; c < p->c; c++) {
        const T *plane = x + c * h * w, *r[4];
        for (int k = 0; k < 4; k++) {
            const int64_t iy = y0 + k;
            if (iy >= 0 && iy < h && jlo == 0 && jhi == wp) {
                r[k] = plane + iy * w + x0; /* inside the image: read in place */
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
        const T *restrict r0 = r[0], *restrict r1 = r[1], *restrict r2 = r[2], *restrict r3 = r[3];
        for (int64_t j = 0; j < wp; j++) {
            s0[j] = r0[j] - r2[j], s1[j] = r1[j] + r2[j];
            s2[j] = r2[j] - r1[j], s3[j] = r1[j] - r3[j];
        }
        const T *rows[4] = {s0, s1, s2, s3};
        for (int i = 0; i < 4; i++) {
            const T *restrict s = rows[i];
            T *restrict v0 = v + (4 * i) * ldv + c * tb + t0, *restrict v1 = v0 + ldv,
              *restrict v2 = v1 + ldv, *restrict v3 = v2 + ldv;
            for (int64_t t = 0; t < nt; t++) {
                T a = s[2 * t], b = s[2 * t + 1], cc = s[2 * t + 2], d = s[2 * t + 3];
                v0[t] = a - cc, v1[t] = b + cc, v2[t] = cc - b, v3[t] = b - d;
            }
        }
    }
}

/* A^T M A (+ bias) for nt tiles of one tile row into image y: M[i][f][t0 + t], rows of M ldm
 * apart and channels tb apart.  buf holds 4 nt. */
AM_FAST_CLONES
static void WINO_FN(output)(const am_wino_conv *p, T *restrict y, int64_t ty, int64_t ta,
                            int64_t nt, const T *restrict m, int64_t ldm, int64_t tb, int64_t t0,
                            T *restrict buf)
{
    const int64_t oh = p->oh, ow = p->ow, oy = 2 * ty, ox = 2 * ta;
    const int64_t rows = oh - oy < 2 ? 1 : 2, cols = ow - ox < 2 * nt ? ow - ox : 2 * nt;
    const T *bias = p->bias;
    T *restrict o0 = buf, *restrict o1 = buf + 2 * nt;
    for (int64_t f = 0; f < p->f; f++) {
        const T *restrict q = m + f * tb + t0;
        const T b = bias ? bias[f] : 0;
        for (int64_t t = 0; t < nt; t++) {
            T m0 = q[t], m1 = q[ldm + t], m2 = q[2 * ldm + t], m3 = q[3 * ldm + t];
            T m4 = q[4 * ldm + t], m5 = q[5 * ldm + t], m6 = q[6 * ldm + t], m7 = q[7 * ldm + t];
            T m8 = q[8 * ldm + t], m9 = q[9 * ldm + t], m10 = q[10 * ldm + t];
            T m11 = q[11 * ldm + t], m12 = q[12 * ldm + t], m13 = q[13 * ldm + t];
            T m14 = q[14 * ldm + t], m15 = q[15 * ldm + t];
            /* rows: A^T M */
            T a0 = m0 + m4 + m8, a1 = m1 + m5 + m9, a2 = m2 + m6 + m10, a3 = m3 + m7 + m11;
            T c0 = m4 - m8 - m12, c1 = m5 - m9 - m13, c2 = m6 - m10 - m14, c3 = m7 - m11 - m15;
            o0[2 * t] = a0 + a1 + a2 + b, o0[2 * t + 1] = a1 - a2 - a3 + b;
            o1[2 * t] = c0 + c1 + c2 + b, o1[2 * t + 1] = c1 - c2 - c3 + b;
        }
        T *dst = y + f * oh * ow + oy * ow + ox;
        for (int64_t r = 0; r < rows; r++, dst += ow) {
            const T *restrict src = r ? o1 : o0;
            T *restrict d = dst;
            if (p->add)
                for (int64_t j = 0; j < cols; j++) d[j] += src[j];
            else
                for (int64_t j = 0; j < cols; j++) d[j] = src[j];
        }
    }
}

/* One block of tiles [p0, p1): input transform, 16 GEMMs per group, output transform. */
static void WINO_FN(block)(const am_wino_conv *p, const T *u, int64_t p0, int64_t p1,
                           int64_t tb, T *v, T *m, T *buf)
{
    const int64_t tw = (p->ow + 1) / 2, per = (p->oh + 1) / 2 * tw, nt = p1 - p0;
    const int64_t c = p->c, f = p->f, cg = c / p->groups, fg = f / p->groups;
    const int64_t ldv = c * tb, ldm = f * tb;
    for (int64_t q = p0; q < p1;) {
        int64_t img = q / per, r = q % per, ty = r / tw, tx = r % tw;
        int64_t k = tw - tx < p1 - q ? tw - tx : p1 - q;
        WINO_FN(input)(p, (const T *)p->x + img * c * p->h * p->w, ty, tx, k, v, ldv, tb,
                       q - p0, buf);
        q += k;
    }
    for (int64_t i = 0; i < 16; i++)
        for (int64_t gr = 0; gr < p->groups; gr++)
            GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)fg, (int)nt, (int)cg, 1,
                 u + i * f * cg + gr * fg * cg, (int)cg, v + i * ldv + gr * cg * tb, (int)tb, 0,
                 m + i * ldm + gr * fg * tb, (int)tb);
    for (int64_t q = p0; q < p1;) {
        int64_t img = q / per, r = q % per, ty = r / tw, tx = r % tw;
        int64_t k = tw - tx < p1 - q ? tw - tx : p1 - q;
        WINO_FN(output)(p, (T *)p->y + img * f * p->oh * p->ow, ty, tx, k, m, ldm, tb, q - p0,
                        buf);
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
    const int64_t slice = wino_slice_elems(p, tb);
    int64_t ns = p->threads < nblk ? p->threads : nblk;
    ns = ns < 1 ? 1 : ns;
    T *slices = u + wino_u_elems(p);
    _Pragma("omp parallel for num_threads(ns) schedule(static, 1) if (ns > 1)")
    for (int64_t s = 0; s < ns; s++) {
        T *v = slices + s * slice, *m = v + wino_round16(16 * p->c * tb);
        T *buf = m + wino_round16(16 * p->f * tb);
        for (int64_t b = nblk * s / ns; b < nblk * (s + 1) / ns; b++) {
            int64_t p0 = b * tb, p1 = p0 + tb < total ? p0 + tb : total;
            WINO_FN(block)(p, u, p0, p1, tb, v, m, buf);
        }
    }
}
