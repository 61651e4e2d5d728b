/* Memory planning: the liveness of every intermediate over the step order,
 * in-place reuse where the registry allows it, and the placement of all
 * intermediates in one arena so that values whose lifetimes do not overlap
 * share bytes (greedy by size, as TFLite's arena planner does). */
#include "plan_impl.h"

#define ALIGN_UP(n) (((n) + AM_ALIGN - 1) / AM_ALIGN * AM_ALIGN)

/* last[] of every root value: the last step reading it or any view of it;
 * heads live past the last step, so nothing overwrites an output. */
static void liveness(am_plan *p)
{
    for (int v = 0; v < p->n_values; v++)
        p->values[v].last = p->values[v].head ? p->n_steps : p->values[v].def;
    for (int s = 0; s < p->n_steps; s++)
        for (int k = 0; k < p->steps[s].n_in; k++) {
            pvalue *r = &p->values[pv_root(p, p->steps[s].vin[k])];
            if (r->last < s) r->last = s;
        }
}

/* Lets output ko of step s overwrite the input the op names, when that input
 * is an arena value read for the last time here, of the same size, and not
 * read through another of the step's inputs (the kernel may read that one
 * after writing the output: the graph fuzzer found add_n(x, x, x, x, x)). */
static bool try_inplace(am_plan *p, int s, int ki, int ko)
{
    pstep *st = &p->steps[s];
    if (ki >= st->n_in || ko >= st->n_out) return false;
    int iv = st->vin[ki], ov = st->vout[ko];
    while (p->values[iv].kind == PV_VIEW && p->values[iv].inplace) iv = p->values[iv].base;
    pvalue *in = &p->values[iv], *out = &p->values[ov];
    if (in->kind != PV_ARENA || out->kind != PV_ARENA || in->last != s) return false;
    if (in->bytes != out->bytes || in->dtype != out->dtype) return false;
    for (int k = 0; k < st->n_in; k++) /* also read through another input (add_n(x, x)) */
        if (k != ki && pv_root(p, st->vin[k]) == pv_root(p, st->vin[ki])) return false;
    for (int k = 0; k < st->n_out; k++) /* one output per donor */
        if (k != ko && p->values[st->vout[k]].kind == PV_VIEW && p->values[st->vout[k]].base == iv)
            return false;
    out->kind = PV_VIEW;
    out->base = iv;
    out->offset = 0;
    out->inplace = true;
    if (in->last < out->last) in->last = out->last;
    st->req[ko] = AM_REQ_INPLACE;
    p->stats.n_inplace++;
    return true;
}

static void inplace(am_plan *p)
{
    for (int s = 0; s < p->n_steps; s++) {
        const am_inplace_pair *pair = p->steps[s].node->op->inplace;
        for (int k = 0; pair && pair[k].in >= 0; k++) {
            pvalue *out = &p->values[p->steps[s].vout[pair[k].out]];
            if (out->kind == PV_ARENA) try_inplace(p, s, pair[k].in, pair[k].out);
        }
    }
}

typedef struct placed {
    size_t lo, hi;
} placed;

static int by_lo(const void *a, const void *b)
{
    const placed *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

typedef struct order_item {
    int v;
    size_t bytes;
} order_item;

static int by_size_desc(const void *a, const void *b)
{
    const order_item *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1;
    return x->v - y->v;
}

/* The lowest offset where v fits between the placed values that are alive
 * at the same time.  busy is scratch of n_values entries. */
static size_t lowest_fit(const am_plan *p, const pvalue *v, const int *done, int n_done, placed *busy)
{
    int n = 0;
    for (int k = 0; k < n_done; k++) {
        const pvalue *o = &p->values[done[k]];
        if (o->def <= v->last && v->def <= o->last)
            busy[n++] = (placed){o->offset, o->offset + ALIGN_UP(o->bytes)};
    }
    qsort(busy, (size_t)n, sizeof(*busy), by_lo);
    size_t at = 0, need = ALIGN_UP(v->bytes);
    for (int k = 0; k < n && busy[k].lo < at + need; k++)
        if (busy[k].hi > at) at = busy[k].hi;
    return at;
}

static am_status place(am_plan *p, bool no_share)
{
    order_item *order = malloc((size_t)(p->n_values + 1) * sizeof(*order));
    int *done = malloc((size_t)(p->n_values + 1) * sizeof(*done));
    placed *busy = malloc((size_t)(p->n_values + 1) * sizeof(*busy));
    if (!order || !done || !busy) {
        free(order), free(done), free(busy);
        return am_fail(AM_ERR_OOM, "out of memory planning a graph");
    }
    int n = 0;
    for (int v = 0; v < p->n_values; v++)
        if (p->values[v].kind == PV_ARENA) order[n++] = (order_item){v, p->values[v].bytes};
    if (!no_share) qsort(order, (size_t)n, sizeof(*order), by_size_desc);
    size_t end = 0;
    for (int k = 0; k < n; k++) {
        pvalue *v = &p->values[order[k].v];
        v->offset = no_share ? end : lowest_fit(p, v, done, k, busy);
        done[k] = order[k].v;
        if (v->offset + ALIGN_UP(v->bytes) > end) end = v->offset + ALIGN_UP(v->bytes);
    }
    p->arena_bytes = end;
    free(order), free(done), free(busy);
    return AM_OK;
}

am_status am_memplan(am_plan *p, bool no_share)
{
    liveness(p);
    if (!no_share) inplace(p);
    return place(p, no_share);
}
