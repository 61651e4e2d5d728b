/* The plan cache of a hybridized block: one entry per input signature,
 * holding the plans of a traced graph (a forward plan, and for calls autograd
 * records, a backward plan that runs when head gradients are known).  A
 * recorded call is one tape node whose gradient runs the backward plan. */
#include "hybrid_impl.h"
#include "../ndarray/profiler_impl.h"

#include <time.h>

/* ---- signatures ------------------------------------------------------------------- */

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 1099511628211ull; }

am_status am_signature_make(am_signature *s, am_array *const *in, int n_in)
{
    if (n_in < 0 || n_in > AM_BLOCK_MAX_IO)
        return am_fail(AM_ERR_ARG, "a signature holds at most %d inputs, not %d", AM_BLOCK_MAX_IO, n_in);
    uint64_t h = 1469598103934665603ull;
    s->n_in = n_in;
    s->need_grad = 0;
    s->training = am_autograd_is_training();
    s->recording = am_autograd_is_recording();
    for (int i = 0; i < n_in; i++) {
        const am_array *x = in[i];
        if (!x->storage) return am_fail(AM_ERR_SYMBOLIC, "input %d of a signature is symbolic", i);
        s->shape[i] = x->shape;
        s->dtype[i] = x->dtype;
        s->device[i] = x->storage->device;
        if (x->grad_fn || x->grad_req != AM_GRAD_NULL) s->need_grad |= 1u << i;
        h = mix(h, (uint64_t)x->shape.ndim);
        for (int d = 0; d < x->shape.ndim; d++) h = mix(h, (uint64_t)x->shape.dim[d]);
        h = mix(h, (uint64_t)x->dtype | (uint64_t)x->storage->device.type << 8 |
                       (uint64_t)x->storage->device.id << 16);
    }
    h = mix(h, (uint64_t)s->need_grad << 2 | (uint64_t)s->training << 1 | s->recording);
    s->hash = h;
    return AM_OK;
}

bool am_signature_equal(const am_signature *a, const am_signature *b)
{
    if (a->hash != b->hash || a->n_in != b->n_in || a->need_grad != b->need_grad ||
        a->training != b->training || a->recording != b->recording)
        return false;
    for (int i = 0; i < a->n_in; i++)
        if (a->dtype[i] != b->dtype[i] || !am_shape_equal(a->shape[i], b->shape[i]) ||
            !am_device_equal(a->device[i], b->device[i]))
            return false;
    return true;
}

/* ---- entries --------------------------------------------------------------------- */

enum { SLOT_DATA, SLOT_PARAM, SLOT_SAVED, SLOT_HEAD_GRAD };
typedef struct hy_slot {
    int kind, index;
} hy_slot;

struct hy_entry {
    atomic_int refcount;
    am_signature sig;
    uint64_t used;
    int n_out;
    am_param **params;    /* parameters the graph reads, in trace order */
    am_grad_req *reqs;    /* their requests when traced */
    am_dtype *dtypes;
    int n_params;
    am_plan *fwd, *bwd;   /* bwd: calls autograd records */
    hy_slot *fwd_slots, *bwd_slots;
    int n_saved;
    hy_slot *wrt;         /* bwd head j: the gradient of this input or parameter */
    int n_wrt;
};

static void entry_release(hy_entry *e)
{
    if (!e || atomic_fetch_sub(&e->refcount, 1) != 1) return;
    am_plan_release(e->fwd), am_plan_release(e->bwd);
    free(e->params), free(e->reqs), free(e->dtypes);
    free(e->fwd_slots), free(e->bwd_slots), free(e->wrt);
    free(e);
}

void hy_cache_clear(am_block *b)
{
    struct am_block_impl *impl = b->impl;
    for (int i = 0; i < impl->n_cache; i++) entry_release(impl->cache[i]);
    impl->n_cache = 0;
    impl->stats.entries = 0;
}

void hy_cache_clear_tree(am_block *root)
{
    hy_cache_clear(root);
    for (int i = 0; i < root->impl->n_children; i++) hy_cache_clear_tree(root->impl->children[i].b);
}

FILE *hy_log(const am_block *b)
{
    if (b->impl->opts.log) return b->impl->opts.log;
    const char *e = getenv("AM_LOG_HYBRID");
    return e && e[0] == '1' ? stderr : NULL;
}

/* What each input of plan p is bound to at a call. */
static hy_slot *classify(const am_plan *p, const hy_entry *e, char **saved, char **head_grads)
{
    int n = am_plan_num_inputs(p);
    hy_slot *slots = calloc((size_t)n + 1, sizeof(*slots));
    if (!slots) {
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        const char *name = am_plan_input_name(p, i);
        char buf[32];
        int k = -1;
        for (int j = 0; j < e->sig.n_in && k < 0; j++) {
            hy_input_name(j, e->sig.n_in, buf, sizeof(buf));
            if (strcmp(buf, name) == 0) k = j, slots[i].kind = SLOT_DATA;
        }
        for (int j = 0; j < e->n_params && k < 0; j++)
            if (strcmp(e->params[j]->name, name) == 0) k = j, slots[i].kind = SLOT_PARAM;
        for (int j = 0; saved && j < e->n_saved && k < 0; j++)
            if (strcmp(saved[j], name) == 0) k = j, slots[i].kind = SLOT_SAVED;
        for (int j = 0; head_grads && j < e->n_out && k < 0; j++)
            if (strcmp(head_grads[j], name) == 0) k = j, slots[i].kind = SLOT_HEAD_GRAD;
        if (k < 0) {
            free(slots);
            am_fail(AM_ERR_INTERNAL, "hybridize: the plan reads '%s', which is no input, "
                    "parameter or saved value", name);
            return NULL;
        }
        slots[i].index = k;
    }
    return slots;
}

static am_plan *plan_for(am_block *b, am_graph *g, bool training)
{
    struct am_block_impl *impl = b->impl;
    am_plan_opts o = {.training = training, .no_optimize = impl->opts.no_optimize,
                      .passes = impl->passes, .log = impl->opts.log};
    return am_plan_create(g, &o);
}

/* The gradient part: which inputs and parameters get gradients, the
 * backward graph split off the forward one, and both plans. */
static am_status build_training(am_block *b, hy_entry *e, am_graph *g)
{
    int n_wrt_max = e->sig.n_in + e->n_params, n_saved = 0;
    const char **wrt = calloc((size_t)n_wrt_max + 1, sizeof(*wrt));
    char names[AM_BLOCK_MAX_IO][32], **saved = NULL, *outs[AM_BLOCK_MAX_IO] = {0};
    char *head_grads[AM_BLOCK_MAX_IO] = {0};
    am_graph *t = NULL, *fg = NULL, *bg = NULL;
    e->wrt = calloc((size_t)n_wrt_max + 1, sizeof(*e->wrt));
    am_status st = wrt && e->wrt ? AM_OK : am_fail(AM_ERR_OOM, "out of memory");
    for (int i = 0; st == AM_OK && i < e->sig.n_in; i++)
        if (e->sig.need_grad >> i & 1) {
            hy_input_name(i, e->sig.n_in, names[i], sizeof(names[i]));
            e->wrt[e->n_wrt] = (hy_slot){SLOT_DATA, i};
            wrt[e->n_wrt++] = names[i];
        }
    for (int k = 0; st == AM_OK && k < e->n_params; k++)
        if (e->reqs[k] != AM_GRAD_NULL) {
            e->wrt[e->n_wrt] = (hy_slot){SLOT_PARAM, k};
            wrt[e->n_wrt++] = e->params[k]->name;
        }
    if (st == AM_OK && am_graph_list_outputs(g, outs, e->n_out) != e->n_out) st = am_last_status();
    for (int h = 0; st == AM_OK && h < e->n_out; h++) {
        size_t len = strlen(outs[h]) + 16;
        if (!(head_grads[h] = malloc(len))) st = am_fail(AM_ERR_OOM, "out of memory");
        else snprintf(head_grads[h], len, "%s_head_grad", outs[h]);
    }
    if (st == AM_OK && !(t = am_graph_gradient_mode(g, wrt, e->n_wrt, e->sig.training))) st = am_last_status();
    if (st == AM_OK) st = am_graph_split_backward(t, e->n_out, &fg, &bg, &saved, &n_saved);
    e->n_saved = n_saved;
    if (st == AM_OK && (!(e->fwd = plan_for(b, fg, e->sig.training)) ||
                        !(e->bwd = plan_for(b, bg, e->sig.training)) ||
                        !(e->fwd_slots = classify(e->fwd, e, NULL, NULL)) ||
                        !(e->bwd_slots = classify(e->bwd, e, saved, head_grads))))
        st = am_last_status();
    for (int j = 0; j < n_saved; j++) free(saved[j]);
    for (int h = 0; h < e->n_out; h++) free(outs[h]), free(head_grads[h]);
    free(saved), free(wrt);
    am_graph_release(t), am_graph_release(fg), am_graph_release(bg);
    return st;
}

static void log_entry(am_block *b, const hy_entry *e, am_graph *g, double ms)
{
    FILE *f = hy_log(b);
    if (!f) return;
    char s[96];
    fprintf(f, "hybridize: %s traced for", b->cls->name);
    for (int i = 0; i < e->sig.n_in; i++)
        fprintf(f, " %s %s", am_dtype_name(e->sig.dtype[i]), am_shape_format(&e->sig.shape[i], s, sizeof(s)));
    am_plan_stats fs = am_plan_get_stats(e->fwd);
    fprintf(f, " (%s%s): %d nodes; forward %d steps, arena %lld bytes", e->sig.training ? "training" : "inference",
            e->bwd ? ", recorded" : "", am_graph_num_nodes(g), fs.n_steps, (long long)fs.arena_bytes);
    if (e->bwd) {
        am_plan_stats bs = am_plan_get_stats(e->bwd);
        fprintf(f, "; %d values kept for backward; backward %d steps, arena %lld bytes", e->n_saved,
                bs.n_steps, (long long)bs.arena_bytes);
    }
    fprintf(f, "; %.1f ms\n", ms);
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return 1e3 * (double)t.tv_sec + 1e-6 * (double)t.tv_nsec;
}

static hy_entry *build(am_block *b, const am_signature *sig, am_site at)
{
    double t0 = now_ms();
    hy_trace tr;
    int n_out;
    am_graph *g = hy_trace_block(b, sig->shape, sig->dtype, sig->n_in, false, &tr, &n_out, at);
    if (!g) return NULL;
    hy_entry *e = calloc(1, sizeof(*e));
    am_status st = e ? AM_OK : am_fail(AM_ERR_OOM, "out of memory");
    if (st == AM_OK) {
        atomic_init(&e->refcount, 1);
        e->sig = *sig;
        e->n_out = n_out;
        e->n_params = tr.n;
        e->params = malloc(((size_t)tr.n + 1) * sizeof(*e->params));
        e->reqs = malloc(((size_t)tr.n + 1) * sizeof(*e->reqs));
        e->dtypes = malloc(((size_t)tr.n + 1) * sizeof(*e->dtypes));
        if (!e->params || !e->reqs || !e->dtypes) st = am_fail(AM_ERR_OOM, "out of memory");
    }
    bool grad = sig->recording && sig->need_grad;
    for (int k = 0; st == AM_OK && k < tr.n; k++) {
        e->params[k] = tr.params[k];
        e->reqs[k] = tr.params[k]->req;
        e->dtypes[k] = am_array_dtype(tr.params[k]->data);
        grad |= sig->recording && e->reqs[k] != AM_GRAD_NULL;
    }
    if (st == AM_OK && grad) st = build_training(b, e, g);
    else if (st == AM_OK && (!(e->fwd = plan_for(b, g, sig->training)) ||
                             !(e->fwd_slots = classify(e->fwd, e, NULL, NULL))))
        st = am_last_status();
    if (st == AM_OK) log_entry(b, e, g, now_ms() - t0);
    hy_trace_free(&tr);
    am_graph_release(g);
    if (st != AM_OK) {
        entry_release(e);
        return NULL;
    }
    return e;
}

/* The profiler's event for a lookup: an instant "cache hit" (s NULL) or a
 * "cache miss" span over the trace and the plans' compilation. */
static void prof_lookup(const am_prof_span *s, const am_block *b, const am_signature *sig,
                        const hy_entry *e)
{
    am_prof_args a;
    am_prof_args_init(&a);
    am_prof_arg_str(&a, "block", b->cls->name);
    am_prof_arg_shapes(&a, "inputs", sig->shape, sig->dtype, sig->n_in);
    am_prof_arg_bool(&a, "training", sig->training);
    am_prof_arg_bool(&a, "recording", sig->recording);
    if (e) {
        am_prof_arg_int(&a, "forward steps", am_plan_get_stats(e->fwd).n_steps);
        if (e->bwd) am_prof_arg_int(&a, "backward steps", am_plan_get_stats(e->bwd).n_steps);
    } else {
        am_prof_arg_str(&a, "error", am_last_error());
    }
    if (s) am_prof_complete(s, "hybrid", "cache miss", &a);
    else am_prof_instant("hybrid", "cache hit", &a);
}

/* The entry for sig, made and cached when missing; NULL with the error. */
static hy_entry *lookup(am_block *b, const am_signature *sig, am_site at)
{
    struct am_block_impl *impl = b->impl;
    for (int i = 0; i < impl->n_cache; i++) {
        hy_entry *e = impl->cache[i];
        if (!am_signature_equal(&e->sig, sig)) continue;
        bool same = true; /* parameters changed since the trace? */
        for (int k = 0; k < e->n_params && same; k++)
            same = e->params[k]->req == e->reqs[k] && e->params[k]->data &&
                   am_array_dtype(e->params[k]->data) == e->dtypes[k];
        if (same) {
            impl->stats.hits++;
            e->used = ++impl->tick;
            if (am_prof_on()) prof_lookup(NULL, b, sig, e);
            return e;
        }
        entry_release(e);
        impl->cache[i] = impl->cache[--impl->n_cache];
        break;
    }
    am_prof_span s = {0};
    bool prof = am_prof_on();
    if (prof) am_prof_begin(&s);
    hy_entry *e = build(b, sig, at);
    if (prof) prof_lookup(&s, b, sig, e);
    if (!e) return NULL;
    int cap = impl->opts.cache_size > 0 ? impl->opts.cache_size : 8;
    if (impl->n_cache >= cap) {
        int lru = 0;
        for (int i = 1; i < impl->n_cache; i++)
            if (impl->cache[i]->used < impl->cache[lru]->used) lru = i;
        entry_release(impl->cache[lru]);
        impl->cache[lru] = impl->cache[--impl->n_cache];
        impl->stats.evictions++;
        if (hy_log(b)) fprintf(hy_log(b), "hybridize: %s evicted its least recently used plan\n", b->cls->name);
    }
    hy_entry **c = realloc(impl->cache, (size_t)(impl->n_cache + 1) * sizeof(*c));
    if (!c) {
        entry_release(e);
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    impl->cache = c;
    impl->cache[impl->n_cache++] = e;
    impl->stats.traces++;
    impl->stats.entries = impl->n_cache;
    e->used = ++impl->tick;
    return e;
}

/* ---- running ------------------------------------------------------------------------ */

/* The state a recorded call keeps for its backward: its entry and the
 * values the backward plan reads. */
typedef struct hy_state {
    hy_entry *e;
    am_array **saved;
    int n_in;
} hy_state;

static void state_release(void *p)
{
    hy_state *s = p;
    for (int j = 0; s->saved && j < s->e->n_saved; j++) am_release(s->saved[j]);
    entry_release(s->e);
    free(s->saved);
    free(s);
}

static am_status run_plan(am_plan *p, const char *who)
{
    am_err_ctx c;
    am_err_push(&c, who, (am_site){0});
    am_status st = am_plan_run(p);
    am_err_pop(&c);
    return st;
}

static am_status cached_op_gradient(const am_grad_ctx *g, am_array *const *in,
                                    am_array *const *out, am_array *const *og, am_array **in_grad)
{
    AM_UNUSED(out);
    hy_state *s = g->state;
    hy_entry *e = s->e;
    if (am_autograd_is_recording())
        return am_fail(AM_ERR_UNSUPPORTED, "the gradient of a hybridized block cannot be "
                       "differentiated again (create_graph); call the block eagerly for "
                       "higher-order gradients (am_block_hybridize(b, false, NULL))");
    am_status st = AM_OK;
    int n = am_plan_num_inputs(e->bwd);
    for (int i = 0; i < n && st == AM_OK; i++) {
        hy_slot sl = e->bwd_slots[i];
        am_array *x = sl.kind == SLOT_DATA ? in[sl.index]
                    : sl.kind == SLOT_PARAM ? in[s->n_in + sl.index]
                    : sl.kind == SLOT_SAVED ? s->saved[sl.index] : og[sl.index];
        st = am_plan_bind_index(e->bwd, i, x);
    }
    am_array *grads[e->n_wrt ? e->n_wrt : 1];
    if (st == AM_OK) st = run_plan(e->bwd, "backward of a hybridized block");
    if (st == AM_OK) st = am_plan_take_outputs(e->bwd, grads);
    /* This call's saved values and head gradients are not the next call's:
     * holding them would keep the forward arena they live in from being
     * reused (am_plan_take_outputs). */
    for (int i = 0; i < n; i++)
        if (e->bwd_slots[i].kind == SLOT_SAVED || e->bwd_slots[i].kind == SLOT_HEAD_GRAD)
            am_plan_unbind_index(e->bwd, i);
    for (int j = 0; st == AM_OK && j < e->n_wrt; j++) {
        int idx = e->wrt[j].kind == SLOT_DATA ? e->wrt[j].index : s->n_in + e->wrt[j].index;
        if (g->need_grad[idx]) in_grad[idx] = am_scope_own(grads[j]);
        else am_release(grads[j]);
    }
    return st;
}

static const am_op_def cached_op = {
    .name = "_CachedOp",
    .gradient = cached_op_gradient,
    .doc = "a hybridized block's call on the autograd tape (never in the registry)",
};

/* A recorded call: the forward plan's outputs and saved values leave the
 * plan with its arena; the tape node keeps the saved ones. */
static int run_recorded(hy_entry *e, am_array *const *in, am_array **out, am_site at)
{
    int n_io = e->sig.n_in + e->n_params, total = e->n_out + e->n_saved;
    for (int h = 0; h < e->n_out; h++) out[h] = NULL;
    am_array **taken = calloc((size_t)total + 1, sizeof(*taken));
    am_array **io = malloc(((size_t)n_io + 1) * sizeof(*io));
    hy_state *s = calloc(1, sizeof(*s));
    am_status st = taken && io && s ? am_plan_take_outputs(e->fwd, taken)
                                    : am_fail(AM_ERR_OOM, "out of memory");
    for (int i = 0; io && i < e->sig.n_in; i++) io[i] = in[i];
    for (int k = 0; io && k < e->n_params; k++) io[e->sig.n_in + k] = e->params[k]->data;
    for (int h = 0; st == AM_OK && h < e->n_out; h++) {
        am_array *v = am_array_new_view(taken[h], taken[h]->shape, taken[h]->dtype, 0);
        if (!v) st = am_last_status();
        out[h] = v;
    }
    if (st == AM_OK) {
        s->e = e;
        atomic_fetch_add(&e->refcount, 1);
        s->saved = malloc(((size_t)e->n_saved + 1) * sizeof(am_array *));
        s->n_in = e->sig.n_in;
        if (!s->saved) {
            st = am_fail(AM_ERR_OOM, "out of memory");
        } else {
            for (int j = 0; j < e->n_saved; j++) s->saved[j] = taken[e->n_out + j], taken[e->n_out + j] = NULL;
            st = am_tape_record_state(&cached_op, NULL, io, n_io, out, e->n_out, e->n_out, at, s,
                                      state_release);
            s = NULL; /* the tape (or the failed record) released it */
        }
    }
    for (int j = 0; taken && j < total; j++) am_release(taken[j]);
    if (s && s->e) state_release(s);
    else free(s);
    free(taken), free(io);
    for (int h = 0; h < e->n_out; h++) {
        if (st == AM_OK) out[h] = am_scope_own(out[h]);
        else am_release(out[h]), out[h] = NULL;
    }
    return st == AM_OK ? e->n_out : -1;
}

/* An unrecorded call: outputs are copied out of the arena (the next run
 * overwrites it). */
static int run_copied(hy_entry *e, am_array **out)
{
    for (int h = 0; h < e->n_out; h++) {
        am_array *y = am_plan_output(e->fwd, h);
        am_array *c = y ? am_array_alloc(y->shape, y->dtype, am_cpu()) : NULL;
        if (!c) {
            for (int k = 0; k < h; k++) out[k] = NULL;
            return -1;
        }
        memcpy(am_array_ptr(c), am_array_ptr(y), (size_t)am_shape_size(&y->shape) * am_dtype_size(y->dtype));
        out[h] = am_scope_own(c);
    }
    return e->n_out;
}

int hy_cached_call(am_block *b, am_array *const *in, int n_in, am_array **out, int cap,
                   am_site at)
{
    am_signature sig;
    for (int i = 0; i < n_in; i++)
        if (!in[i]->storage || in[i]->storage->device.type != AM_DEVICE_CPU) {
            am_fail_at(b->cls->name, at, AM_ERR_DEVICE, "hybridized blocks run on the CPU for now; "
                       "input %d is not on the CPU", i);
            return -1;
        }
    if (am_signature_make(&sig, in, n_in) != AM_OK) return -1;
    am_err_ctx c;
    am_err_push(&c, NULL, (b->cls->flags & AM_BLOCK_BUILTIN) ? at : (am_site){0});
    am_scope_begin(); /* what the call makes dies here but its outputs */
    hy_entry *e = lookup(b, &sig, at);
    int n = -1;
    if (e && e->n_out > cap) {
        am_fail(AM_ERR_ARG, "%s has %d outputs, room for %d", b->cls->name, e->n_out, cap);
        e = NULL;
    }
    am_status st = e ? AM_OK : am_last_status();
    for (int i = 0; e && st == AM_OK && i < am_plan_num_inputs(e->fwd); i++) {
        hy_slot sl = e->fwd_slots[i];
        st = am_plan_bind_index(e->fwd, i, sl.kind == SLOT_DATA ? in[sl.index] : e->params[sl.index]->data);
    }
    if (e && st == AM_OK) st = run_plan(e->fwd, b->cls->name);
    if (e && st == AM_OK) n = e->bwd ? run_recorded(e, in, out, at) : run_copied(e, out);
    for (int i = 0; i < n; i++) am_keep(out[i]);
    am_scope_end();
    am_err_pop(&c);
    return n;
}

/* ---- the API -------------------------------------------------------------------------- */

am_status am_block_hybridize(am_block *b, bool on, const am_hybridize_opts *opts)
{
    if (!b) return am_fail(AM_ERR_ARG, "am_block_hybridize: block is NULL");
    struct am_block_impl *impl = b->impl;
    char *passes = opts && opts->passes ? strdup(opts->passes) : NULL;
    if (opts && opts->passes && !passes) return am_fail(AM_ERR_OOM, "out of memory");
    hy_cache_clear(b);
    free(impl->passes);
    impl->passes = passes;
    impl->opts = opts ? *opts : (am_hybridize_opts){0};
    impl->opts.passes = passes;
    impl->hybrid = on;
    impl->warned_eager = false;
    return AM_OK;
}

am_cache_stats am_block_cache_stats(const am_block *b)
{
    if (!b) return (am_cache_stats){0};
    am_cache_stats s = b->impl->stats;
    s.arena_bytes = 0;
    for (int i = 0; i < b->impl->n_cache; i++) {
        const hy_entry *e = b->impl->cache[i];
        if (e->fwd) s.arena_bytes += am_plan_get_stats(e->fwd).arena_bytes;
        if (e->bwd) s.arena_bytes += am_plan_get_stats(e->bwd).arena_bytes;
    }
    return s;
}
