/* Constant folding: an op node whose inputs are all constants runs once, at
 * optimization time, and its outputs become constants.  Folding cascades in
 * one forward sweep, and stays within size limits so it never inflates. */
#include "executor_impl.h"

/* A folded result up to this size is always fine ... */
#define FOLD_SMALL_BYTES (64 * 1024)
/* ... a larger one only when at most this many times its inputs' size. */
#define FOLD_MAX_GROWTH 4

typedef struct folder {
    am_graph *g;
    am_pass_ctx *ctx;
    am_rewriter rw;
    int *uses, *uoff;   /* uses of every output of the old graph */
} folder;

/* Bytes of a value (in double: sums of them never overflow). */
static double bytes_of(const am_shape *s, am_dtype t)
{
    uint64_t b = AM_MAX_BYTES; /* graph inference refuses larger shapes */
    am_shape_check(s, am_dtype_size(t), NULL, &b);
    return (double)b;
}

/* Node i may be folded: not random, all its inputs are constants in the new
 * graph (their values go to in[]), not mutating auxiliary states (training),
 * and a kernel exists for the constants' device. */
static bool foldable(folder *f, int i, am_array **in)
{
    const am_node *n = f->g->nodes[i];
    if (!n->op || (n->op->flags & AM_OP_RANDOM) || (f->ctx->training && am_op_has_aux(n->op)))
        return false;
    for (int k = 0; k < n->n_in; k++) {
        am_entry e = am_rw_get(&f->rw, n->inputs[k]);
        if (!am_node_is_const(e.node) || !e.node->value->storage) return false;
        in[k] = e.node->value;
    }
    if (n->n_in > 0 && !am_device_supports_op(in[0]->storage->device, n->op)) return false;
    return true;
}

/* The outputs' shapes and dtypes from the constants'; *fits says whether
 * the outputs are small enough to fold. */
static am_status infer_outputs(const am_node *n, am_array *const *in, am_shape *osh,
                               am_dtype *oty, bool *fits)
{
    am_shape ish[AM_MAX_OP_IO];
    am_dtype ity[AM_MAX_OP_IO];
    double in_bytes = 0, out_bytes = 0;
    for (int k = 0; k < n->n_in; k++) {
        ish[k] = in[k]->shape;
        ity[k] = in[k]->dtype;
        in_bytes += bytes_of(&ish[k], ity[k]);
    }
    for (int k = 0; k < n->n_out; k++) {
        osh[k].ndim = -1;
        oty[k] = AM_DTYPE_COUNT;
    }
    am_status st = am_op_infer(n->op, n->attrs, ish, ity, n->n_in, osh, oty, n->n_out, NULL);
    for (int k = 0; k < n->n_out && st == AM_OK; k++) {
        /* An unknown dimension of the op's own: what graph inference filled. */
        if (!am_shape_known(&osh[k]) && am_shape_merge(&osh[k], &n->shapes[k]) >= 0 &&
            am_shape_known(&n->shapes[k]))
            osh[k] = n->shapes[k];
        if (!am_shape_known(&osh[k]) || (unsigned)oty[k] >= AM_DTYPE_COUNT)
            return am_fail(AM_ERR_INTERNAL, "output %d was not inferred", k);
        out_bytes += bytes_of(&osh[k], oty[k]);
    }
    *fits = out_bytes <= FOLD_SMALL_BYTES || out_bytes <= FOLD_MAX_GROWTH * in_bytes;
    return st;
}

/* Runs node n on the constants into fresh arrays (outs, owned by the
 * caller), in training mode only when the pass is for training. */
static am_status run_folded(const am_node *n, am_pass_ctx *ctx, am_array **in,
                            const am_shape *osh, const am_dtype *oty, am_array **outs)
{
    am_req req[AM_MAX_OP_IO];
    am_device dev = n->n_in ? in[0]->storage->device : am_cpu();
    am_status st = AM_OK;
    for (int k = 0; k < n->n_out; k++) {
        req[k] = AM_REQ_WRITE;
        outs[k] = st == AM_OK ? am_array_alloc(osh[k], oty[k], dev) : NULL;
        if (!outs[k] && st == AM_OK) st = am_last_status();
    }
    if (st == AM_OK) {
        bool was_training = am_set_training(ctx->training);
        st = am_op_run_into(n->op, n->attrs, in, n->n_in, outs, req);
        am_set_training(was_training);
    }
    if (st != AM_OK)
        for (int k = 0; k < n->n_out; k++) am_release(outs[k]), outs[k] = NULL;
    return st;
}

/* Each output of node i that something reads becomes a new constant; *first
 * is the first of them. */
static am_status replace_outputs(folder *f, int i, am_array **outs, const am_shape *osh,
                                 const am_dtype *oty, int *made, int *first)
{
    *made = 0;
    for (int k = 0; k < f->g->nodes[i]->n_out; k++) {
        if (f->uses[f->uoff[i] + k] == 0) continue;
        if ((*made)++ == 0) *first = k;
        am_node *c = am_node_create(NULL, NULL, NULL, 0, 1);
        if (!c) return am_last_status();
        c->shapes[0] = osh[k];
        c->dtypes[0] = oty[k];
        c->value = am_retain(outs[k]);
        am_rw_set(&f->rw, i, k, (am_entry){c, 0});
        am_node_release(c);
    }
    return AM_OK;
}

/* Folds node i when it can; *done tells whether it did. */
static am_status fold_node(folder *f, int i, bool *done)
{
    const am_node *n = f->g->nodes[i];
    am_array *in[AM_MAX_OP_IO], *outs[AM_MAX_OP_IO] = {0};
    am_shape osh[AM_MAX_OP_IO];
    am_dtype oty[AM_MAX_OP_IO];
    char what[192], site_buf[256], shape[96];
    bool fits = false;
    *done = false;
    if (n->n_in > AM_MAX_OP_IO || n->n_out > AM_MAX_OP_IO || !foldable(f, i, in)) return AM_OK;
    am_err_ctx c;
    am_node_describe(f->g, i, what, sizeof(what));
    am_err_push(&c, what, am_node_site(n, site_buf, sizeof(site_buf)));
    am_status st = infer_outputs(n, in, osh, oty, &fits);
    if (st == AM_OK && fits) st = run_folded(n, f->ctx, in, osh, oty, outs);
    am_err_pop(&c);
    if (st != AM_OK || !fits) return st;
    int made = 0, first = 0;
    st = replace_outputs(f, i, outs, osh, oty, &made, &first);
    for (int k = 0; k < n->n_out; k++) am_release(outs[k]);
    if (st != AM_OK) return st;
    *done = true;
    f->ctx->changes++;
    if (made == 1)
        am_pass_log(f->ctx, "folded '%s' (%s) into a constant %s %s", f->g->names[i],
                    n->op->name, am_shape_format(&osh[first], shape, sizeof(shape)),
                    am_dtype_name(oty[first]));
    else
        am_pass_log(f->ctx, "folded '%s' (%s) into %d constants", f->g->names[i], n->op->name,
                    made);
    return AM_OK;
}

am_graph *am_pass_fold(am_graph *g, am_pass_ctx *ctx)
{
    folder f = {.g = g, .ctx = ctx};
    if (am_graph_count_uses(g, &f.uses, &f.uoff) != AM_OK) return NULL;
    if (am_rw_init(&f.rw, g) != AM_OK) {
        free(f.uses), free(f.uoff);
        return NULL;
    }
    bool ok = true;
    for (int i = 0; i < g->n_nodes && ok; i++) {
        bool done = false;
        ok = fold_node(&f, i, &done) == AM_OK && (done || am_rw_keep(&f.rw, i) != NULL);
    }
    am_graph *out = ok ? am_rw_finish(&f.rw) : am_rw_fail(&f.rw);
    free(f.uses), free(f.uoff);
    return out;
}
