/* The memory planner's interface: values with a size, an alignment and a
 * lifetime over steps, plus in-place hints; the planner places them in one
 * arena so that values alive at the same time never share bytes.  It knows
 * nothing of plans, graphs or devices, so any plan (CPU, GPU, the two
 * halves of a training step) can use it.  Example:
 *
 *     am_mem_value v[3] = {
 *         {.bytes = 400, .first = 0, .last = 1},     // written by step 0, read by step 1
 *         {.bytes = 400, .first = 1, .last = 2},
 *         {.bytes = 400, .first = 2, .last = 3},     // does not meet v[0]: shares its bytes
 *     };
 *     size_t arena;
 *     am_mem_plan(v, 3, NULL, 0, false, &arena);    // offsets 0, 448, 0; arena == 896
 */
#ifndef AMBER_MEMPLAN_H
#define AMBER_MEMPLAN_H

#include "../ndarray/ndarray_impl.h"

typedef struct am_mem_value {
    /* in */
    size_t bytes;      /* its size; its block is this rounded up to align */
    size_t align;      /* its offset's alignment, a power of two; 0: AM_ALIGN */
    int first, last;   /* alive from the step that writes it to the last that reads it,
                        * both included (an output read by nobody: last = first; one
                        * read after the run: last past every step) */
    /* out */
    size_t offset;     /* byte offset in the arena (of share's block when share >= 0) */
    int share;         /* the value whose block it took by a hint, or -1 */
} am_mem_value;

/* Value `value` may be written over `donor` (an op's in-place pair).  The
 * planner takes a hint when donor (or the value whose block donor took) is
 * last read at the step that writes value, the two have the same size in
 * bytes and alignment, and no other value took that block at the same step; value's
 * lifetime then joins the block's.  Hints are tried in order: give them in
 * the order of the steps that write their values. */
typedef struct am_mem_hint {
    int value, donor;  /* in: indices into the values */
    bool taken;        /* out */
} am_mem_hint;

/* Sets every value's offset and share (and widens the lifetimes of blocks
 * that hints joined), greedily by size, largest first, each at the lowest
 * offset free over its lifetime (as TFLite's arena planner does).  With
 * no_share, values are laid out one after another in order and hints are
 * not taken.  *arena_bytes: the arena's size.  AM_ERR_ARG for a lifetime or
 * hint out of range or an alignment that is not a power of two; AM_ERR_OOM. */
am_status am_mem_plan(am_mem_value *v, int n, am_mem_hint *hints, int n_hints, bool no_share,
                      size_t *arena_bytes);

#endif /* AMBER_MEMPLAN_H */
