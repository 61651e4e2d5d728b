/* Winograd F(2x2, 3x3) and F(4x4, 3x3) convolution forward (see conv_winograd.h).  Tiles are
 * numbered over (image, tile row, tile column) and processed in blocks of consecutive tiles,
 * one block at a time per thread: transform the block's input tiles into V (a x C x tiles
 * for a = (m + 2)^2 positions), run the a GEMMs M[i] = U[i] V[i] per group, and transform M
 * back into the output with the bias.
 * The transforms run along whole rows of tiles, so they vectorize over tiles; they are built
 * for AVX-512, AVX2 and the baseline (target_clones). */
#include "../ndarray_impl.h"
#include "conv_winograd.h"
#include "fastmath.h"

#include <cblas.h>

/* Elements of V and M per block of tiles: 1 MB in float32.  Of 2^16 to 2^19, 2^18 was the
 * fastest or tied on the 64-channel 56x56 and 16-channel 32x32 layers (one thread), by up
 * to 20% for F(4x4). */
#ifndef WINO_BLOCK_ELEMS
#define WINO_BLOCK_ELEMS (1 << 18)
#endif

static int64_t wino_round16(int64_t n) { return (n + 15) / 16 * 16; }

/* Tile positions: (m + 2)^2. */
static int64_t wino_pos(const am_wino_conv *p) { return (p->m + 2) * (p->m + 2); }

/* Tiles per block: V and M of a block take about WINO_BLOCK_ELEMS, and a block is at least
 * 32 tiles wide so that the GEMMs are not too thin. */
static int64_t wino_block(const am_wino_conv *p, int64_t total)
{
    int64_t tb = WINO_BLOCK_ELEMS / (wino_pos(p) * (p->c + p->f));
    tb = tb < 32 ? 32 : tb > 512 ? 512 : tb;
    return tb < total ? tb : total < 1 ? 1 : total;
}

static int64_t wino_tiles(const am_wino_conv *p)
{
    return p->n * ((p->oh + p->m - 1) / p->m) * ((p->ow + p->m - 1) / p->m);
}

/* V, M and the transforms' row buffers: 2 (m + 2) rows of m tw + 2 (F(2x2)), 6 such rows
 * and 48 (tw + 1) (F(4x4)'s input transform), or 40 tw (its output transform). */
static int64_t wino_slice_elems(const am_wino_conv *p, int64_t tb)
{
    int64_t tw = (p->ow + p->m - 1) / p->m, a = wino_pos(p);
    int64_t rows = 2 * (p->m + 2) * (p->m * tw + 2) + 48 * (tw + 1), out = 40 * tw;
    return wino_round16(a * p->c * tb) + wino_round16(a * p->f * tb) +
           wino_round16(rows > out ? rows : out);
}

static int64_t wino_u_elems(const am_wino_conv *p)
{
    return wino_round16(wino_pos(p) * p->f * (p->c / p->groups));
}

int64_t am_wino_ws_elems(const am_wino_conv *p, int64_t threads)
{
    int64_t total = wino_tiles(p), tb = wino_block(p, total), nblk = (total + tb - 1) / tb;
    int64_t ns = threads < nblk ? threads : nblk;
    ns = ns < 1 ? 1 : ns;
    return wino_u_elems(p) + ns * wino_slice_elems(p, tb);
}

#define T float
#define GEMM cblas_sgemm
#define WINO_FN(name) wino_##name##_f32
#include "conv_winograd_tmpl.h"
#undef T
#undef GEMM
#undef WINO_FN
#define T double
#define GEMM cblas_dgemm
#define WINO_FN(name) wino_##name##_f64
#include "conv_winograd_tmpl.h"
#undef T
#undef GEMM
#undef WINO_FN

void am_wino_run_f32(const am_wino_conv *p) { wino_run_f32(p); }
void am_wino_run_f64(const am_wino_conv *p) { wino_run_f64(p); }
