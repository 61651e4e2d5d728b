/* Memory planning.  The planner proper (am_mem_plan, memplan.h) places
 * values with sizes, alignments and lifetimes in one arena so that values
 * whose lifetimes do not overlap share bytes (greedy by size, as TFLite's
 * arena planner does), taking in-place hints where they are safe.  The
 * plan's side (am_memplan) computes the liveness of its values over the
 * step order, offers the registry's in-place pairs as hints, and reads the
 * placement back. */
#include "memplan.h"
#include "plan_impl.h"

/* ---- the planner ------------------------------------------------------------------------ */

static size_t round_up(size_t n, size_t align) { return (n + align - 1) / align * align; }

/* The block value k lives in (following the hints taken). */
static int block_of(const am_mem_value *v, int k)
{
    while (v[k].share >= 0) k = v[k].share;
    return k;
}

static am_status check_values(const am_mem_value *v, int n, const am_mem_hint *h, int n_hints)
{
    for (int k = 0; k < n; k++)
        if (v[k].first < 0 || v[k].last < v[k].first || (v[k].align & (v[k].align - 1)))
            return am_fail(AM_ERR_ARG, "am_mem_plan: value %d lives over [%d, %d] with alignment "
                           "%zu", k, v[k].first, v[k].last, v[k].align);
    for (int j = 0; j < n_hints; j++)
        if (h[j].value < 0 || h[j].value >= n || h[j].donor < 0 || h[j].donor >= n ||
            h[j].value == h[j].donor)
            return am_fail(AM_ERR_ARG, "am_mem_plan: hint %d joins values %d and %d of %d", j,
                           h[j].value, h[j].donor, n);
    return AM_OK;
}

/* given[b]: the step at which block b was last handed to a value (-1: never). */
static void take_hints(am_mem_value *v, am_mem_hint *h, int n_hints, int *given)
{
    for (int j = 0; j < n_hints; j++) {
        am_mem_value *out = &v[h[j].value];
        int b = block_of(v, h[j].donor);
        am_mem_value *in = &v[b];
        h[j].taken = false;
        if (out->share >= 0 || b == h[j].value || in->last != out->first ||
            given[b] == out->first || in->bytes != out->bytes || in->align != out->align)
            continue;
        out->share = b;
        given[b] = out->first;
        if (in->last < out->last) in->last = out->last;
        h[j].taken = true;
    }
}

typedef struct span {
    size_t lo, hi;
} span;

static int by_lo(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The lowest offset aligned for v where it fits between the placed blocks
 * alive at the same time.  busy is scratch of n entries. */
static size_t lowest_fit(const am_mem_value *all, const am_mem_value *v, const int *done,
                         int n_done, span *busy)
{
    int n = 0;
    for (int k = 0; k < n_done; k++) {
        const am_mem_value *o = &all[done[k]];
        if (o->first <= v->last && v->first <= o->last)
            busy[n++] = (span){o->offset, o->offset + round_up(o->bytes, o->align)};
    }
    qsort(busy, (size_t)n, sizeof(*busy), by_lo);
    size_t at = 0, need = round_up(v->bytes, v->align);
    for (int k = 0; k < n && busy[k].lo < at + need; k++)
        if (busy[k].hi > at) at = round_up(busy[k].hi, v->align);
    return at;
}

static int by_size_desc(const void *a, const void *b, void *arg)
{
    const am_mem_value *v = arg;
    int x = *(const int *)a, y = *(const int *)b;
    if (v[x].bytes != v[y].bytes) return v[x].bytes > v[y].bytes ? -1 : 1;
    return x - y;
}

am_status am_mem_plan(am_mem_value *v, int n, am_mem_hint *hints, int n_hints, bool no_share,
                      size_t *arena_bytes)
{
    am_status st = check_values(v, n, hints, no_share ? 0 : n_hints);
    if (st != AM_OK) return st;
    int *order = malloc((size_t)(n + 1) * sizeof(*order));
    int *done = malloc((size_t)(n + 1) * sizeof(*done));
    span *busy = malloc((size_t)(n + 1) * sizeof(*busy));
    if (!order || !done || !busy) {
        free(order), free(done), free(busy);
        return am_fail(AM_ERR_OOM, "out of memory planning memory");
    }
    for (int k = 0; k < n; k++) {
        if (!v[k].align) v[k].align = AM_ALIGN;
        v[k].share = -1;
        done[k] = -1; /* as `given` for take_hints */
    }
    if (!no_share) take_hints(v, hints, n_hints, done);
    for (int j = 0; no_share && j < n_hints; j++) hints[j].taken = false;
    int m = 0;
    for (int k = 0; k < n; k++)
        if (v[k].share < 0) order[m++] = k;
    if (!no_share) qsort_r(order, (size_t)m, sizeof(*order), by_size_desc, v);
    size_t end = 0;
    for (int k = 0; k < m; k++) {
        am_mem_value *x = &v[order[k]];
        x->offset = no_share ? round_up(end, x->align) : lowest_fit(v, x, done, k, busy);
        done[k] = order[k];
        size_t hi = x->offset + round_up(x->bytes, x->align);
        if (hi > end) end = hi;
    }
    for (int k = 0; k < n; k++)
        if (v[k].share >= 0) v[k].offset = v[block_of(v, k)].offset;
    *arena_bytes = end;
    free(order), free(done), free(busy);
    return AM_OK;
}

/* ---- the plan's side ------------------------------------------------------------------ */

/* last of every root value: the last step reading it or any view of it;
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

/* Whether output ko of step s may be written over its input ki, as far as
 * the plan can tell: both arena values of one dtype, and that input not
 * also read through another of the step's inputs (the kernel may read that
 * one after writing the output: the graph fuzzer found add_n(x, x, x, x, x)).
 * Lifetimes and sizes are the planner's to check. */
static bool inplace_ok(const am_plan *p, int s, int ki, int ko)
{
    const pstep *st = &p->steps[s];
    if (ki >= st->n_in || ko >= st->n_out) return false;
    const pvalue *in = &p->values[st->vin[ki]], *out = &p->values[st->vout[ko]];
    if (in->kind != PV_ARENA || out->kind != PV_ARENA || in->dtype != out->dtype) return false;
    for (int k = 0; k < st->n_in; k++)
        if (k != ki && pv_root(p, st->vin[k]) == pv_root(p, st->vin[ki])) return false;
    return true;
}

typedef struct plan_mem {
    am_mem_value *v;   /* one per arena value, in value order */
    int *id;           /* plan value of v[k] */
    int *at;           /* index into v of plan value i, -1 when not in the arena */
    am_mem_hint *hint;
    int *hint_step, *hint_out;
    int n, n_hints;
} plan_mem;

static am_status collect(am_plan *p, plan_mem *m, bool no_share)
{
    int n_pairs = 0;
    for (int s = 0; s < p->n_steps; s++)
        for (const am_inplace_pair *q = p->steps[s].node->op->inplace; q && q->in >= 0; q++)
            n_pairs++;
    size_t nv = (size_t)p->n_values + 1, nh = (size_t)n_pairs + 1;
    m->v = calloc(nv, sizeof(*m->v));
    m->id = malloc(nv * sizeof(int));
    m->at = malloc(nv * sizeof(int));
    m->hint = calloc(nh, sizeof(*m->hint));
    m->hint_step = malloc(nh * sizeof(int));
    m->hint_out = malloc(nh * sizeof(int));
    if (!m->v || !m->id || !m->at || !m->hint || !m->hint_step || !m->hint_out)
        return am_fail(AM_ERR_OOM, "out of memory planning a graph");
    for (int i = 0; i < p->n_values; i++) {
        const pvalue *x = &p->values[i];
        m->at[i] = x->kind == PV_ARENA ? m->n : -1;
        if (x->kind != PV_ARENA) continue;
        m->id[m->n] = i;
        m->v[m->n++] = (am_mem_value){.bytes = x->bytes, .align = AM_ALIGN, .first = x->def,
                                      .last = x->last};
    }
    for (int s = 0; s < p->n_steps && !no_share; s++)
        for (const am_inplace_pair *q = p->steps[s].node->op->inplace; q && q->in >= 0; q++)
            if (inplace_ok(p, s, q->in, q->out)) {
                m->hint_step[m->n_hints] = s;
                m->hint_out[m->n_hints] = q->out;
                m->hint[m->n_hints++] = (am_mem_hint){.value = m->at[p->steps[s].vout[q->out]],
                                                      .donor = m->at[p->steps[s].vin[q->in]]};
            }
    return AM_OK;
}

/* Offsets, in-place views and the arena size back into the plan. */
static void apply(am_plan *p, const plan_mem *m)
{
    for (int k = 0; k < m->n; k++) {
        pvalue *x = &p->values[m->id[k]];
        x->last = m->v[k].last;
        x->offset = m->v[k].offset;
    }
    for (int j = 0; j < m->n_hints; j++) {
        if (!m->hint[j].taken) continue;
        int k = m->hint[j].value;
        pvalue *out = &p->values[m->id[k]];
        out->kind = PV_VIEW;
        out->base = m->id[m->v[k].share];
        out->offset = 0;
        out->inplace = true;
        p->steps[m->hint_step[j]].req[m->hint_out[j]] = AM_REQ_INPLACE;
        p->stats.n_inplace++;
    }
}

am_status am_memplan(am_plan *p, bool no_share)
{
    plan_mem m = {0};
    liveness(p);
    am_status st = collect(p, &m, no_share);
    if (st == AM_OK) st = am_mem_plan(m.v, m.n, m.hint, m.n_hints, no_share, &p->arena_bytes);
    if (st == AM_OK) apply(p, &m);
    free(m.v), free(m.id), free(m.at), free(m.hint), free(m.hint_step), free(m.hint_out);
    return st;
}
