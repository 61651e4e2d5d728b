/* The trainer: Gluon's Trainer over MXNet's Optimizer classes.  Each step calls the update
 * ops (ndarray/ops/optimizer.c) through their public functions on every parameter, with
 * the states the op mutates kept per parameter and created at its first update. */
#include "hybrid_impl.h"
#include "../ndarray/profiler_impl.h"

#include <amber/trainer.h>
#include <math.h>

extern const am_op_def am_op_copy;

typedef enum opt_kind {
    OPT_SGD, OPT_NAG, OPT_ADAM, OPT_ADAMW, OPT_RMSPROP, OPT_ADAGRAD, OPT_LAMB, OPT_KIND_COUNT
} opt_kind;

static const char *const opt_names[] = {"sgd", "nag", "adam", "adamw", "rmsprop", "adagrad",
                                        "lamb"};
_Static_assert(sizeof(opt_names) / sizeof(opt_names[0]) == OPT_KIND_COUNT, "opt_names");

enum { MAX_STATES = 3 };

/* One parameter and its optimizer state. */
typedef struct tr_slot {
    am_param *p;
    am_array *st[MAX_STATES]; /* our references; NULL until the first update */
    int64_t count;            /* updates of this parameter (MXNet's _index_update_count) */
} tr_slot;

struct am_trainer {
    am_block *block;          /* a reference: the parameters live as long as it does */
    opt_kind kind;
    am_trainer_opts o;
    am_lr_scheduler sched;
    bool has_sched;
    int n;
    tr_slot *slots;
    int64_t num_update;       /* the largest count */
};

static int find_kind(const char *name)
{
    for (int k = 0; name && k < OPT_KIND_COUNT; k++)
        if (strcmp(name, opt_names[k]) == 0) return k;
    return -1;
}

am_trainer_opts am_trainer_defaults(const char *optimizer)
{
    am_trainer_opts o = {.lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .epsilon = 1e-8,
                         .rho = 0.9, .clip_gradient = -1, .clip_weights = -1,
                         .lower_bound = -1, .upper_bound = -1, .bias_correction = true};
    switch (find_kind(optimizer)) {
    case OPT_ADAM: case OPT_ADAMW: o.lr = 0.001; break;
    case OPT_RMSPROP: o.lr = 0.001, o.momentum = 0.9; break;
    case OPT_ADAGRAD: o.epsilon = 1e-7; break;
    case OPT_LAMB: o.lr = 0.001, o.epsilon = 1e-6; break;
    default: break;
    }
    return o;
}

/* The names of the states kind keeps with these options (NULL-terminated). */
static const char *const *state_names(opt_kind kind, const am_trainer_opts *o)
{
    static const char *const none[] = {NULL}, *const mom[] = {"mom", NULL};
    static const char *const adam[] = {"mean", "var", NULL}, *const n[] = {"n", NULL};
    static const char *const alex[] = {"n", "g", "delta", NULL}, *const h[] = {"history", NULL};
    switch (kind) {
    case OPT_SGD: case OPT_NAG: return o->momentum != 0 ? mom : none;
    case OPT_ADAM: case OPT_ADAMW: case OPT_LAMB: return adam;
    case OPT_RMSPROP: return o->centered ? alex : n;
    case OPT_ADAGRAD: return h;
    default: return none;
    }
}

static int num_states(const am_trainer *t)
{
    int k = 0;
    for (const char *const *s = state_names(t->kind, &t->o); *s; s++) k++;
    return k;
}

static am_status collect(am_trainer *t, am_block *b, const char *pattern)
{
    int n = am_block_collect_params(b, pattern, NULL, 0);
    if (n < 0) return am_last_status();
    if (n == 0)
        return am_fail(AM_ERR_ARG, "am_trainer_create: no parameter matches '%s'",
                       pattern ? pattern : "");
    am_param **ps = calloc((size_t)n, sizeof(*ps));
    t->slots = calloc((size_t)n, sizeof(*t->slots));
    if (!ps || !t->slots) {
        free(ps);
        return am_fail(AM_ERR_OOM, "am_trainer_create: out of memory");
    }
    t->n = am_block_collect_params(b, pattern, ps, n);
    for (int i = 0; i < n; i++) t->slots[i].p = ps[i];
    free(ps);
    return AM_OK;
}

am_trainer *am_trainer_create(am_block *b, const char *pattern, const char *optimizer,
                              const am_trainer_opts *opts)
{
    int kind = find_kind(optimizer);
    if (!b) return am_fail(AM_ERR_ARG, "am_trainer_create: block is NULL"), NULL;
    if (kind < 0)
        return am_fail(AM_ERR_ARG, "am_trainer_create: unknown optimizer '%s' (sgd, nag, adam, "
                       "adamw, rmsprop, adagrad, lamb)", optimizer ? optimizer : "(null)"), NULL;
    am_trainer_opts o = opts ? *opts : am_trainer_defaults(optimizer);
    am_lr_scheduler sched = o.scheduler ? *o.scheduler : am_scheduler_constant(o.lr);
    sched.base_lr = o.lr; /* as MXNet's Optimizer does */
    if (o.scheduler && am_scheduler_check(&sched) != AM_OK) return NULL;
    am_trainer *t = calloc(1, sizeof(*t));
    if (!t) return am_fail(AM_ERR_OOM, "am_trainer_create: out of memory"), NULL;
    t->kind = (opt_kind)kind;
    t->o = o;
    t->sched = sched;
    t->has_sched = o.scheduler != NULL;
    t->o.scheduler = NULL;
    if (collect(t, b, pattern) != AM_OK) {
        am_trainer_free(t);
        return NULL;
    }
    t->block = am_block_retain(b);
    return t;
}

void am_trainer_free(am_trainer *t)
{
    if (!t) return;
    for (int i = 0; t->slots && i < t->n; i++)
        for (int k = 0; k < MAX_STATES; k++) am_release(t->slots[i].st[k]);
    free(t->slots);
    am_block_release(t->block);
    free(t);
}

/* ---- one step ----------------------------------------------------------------------------- */

static double lr_now(const am_trainer *t)
{
    return t->has_sched ? am_scheduler_lr(&t->sched, t->num_update) : t->o.lr;
}

double am_trainer_learning_rate(const am_trainer *t)
{
    return t ? lr_now(t) : 0;
}

int64_t am_trainer_num_update(const am_trainer *t)
{
    return t ? t->num_update : 0;
}

am_status am_trainer_set_learning_rate(am_trainer *t, double lr)
{
    if (!t) return am_fail(AM_ERR_ARG, "am_trainer_set_learning_rate: trainer is NULL");
    if (t->has_sched)
        return am_fail(AM_ERR_ARG, "am_trainer_set_learning_rate: a scheduler sets the rate");
    t->o.lr = lr;
    return AM_OK;
}

/* Zeros like the weight for every state the optimizer keeps, at the first update. */
static am_status make_states(am_trainer *t, tr_slot *s, am_array *w)
{
    for (int k = 0; k < num_states(t); k++) {
        if (s->st[k]) continue;
        am_array *z = am_zeros_like(w);
        if (!z) return am_last_status();
        s->st[k] = am_retain(z);
    }
    return AM_OK;
}

/* LAMB as MXNet's optimizer runs it: phase 1, the two norms, phase 2. */
static am_array *lamb_update(const am_trainer *t, const tr_slot *s, am_array *w, am_array *g,
                             am_array *const *st, double lr, double wd, double rg)
{
    const am_trainer_opts *o = &t->o;
    am_array *d = am_lamb_update_phase1(w, g, st[0], st[1], o->beta1, o->beta2,
                                        o->epsilon, s->count, o->bias_correction, wd, rg,
                                        o->clip_gradient);
    am_array *r1 = am_norm(w, 2, NULL, 0, false), *r2 = am_norm(d, 2, NULL, 0, false);
    return am_lamb_update_phase2(w, d, r1, r2, lr, o->lower_bound, o->upper_bound);
}

/* The new weight from the optimizer's update op on w, g and the states st
 * (which it changes in place); with symbolic arrays, the nodes that do it. */
static am_array *run_update(const am_trainer *t, const tr_slot *s, am_array *w, am_array *g,
                            am_array *const *st, double lr, double wd, double rg)
{
    const am_trainer_opts *o = &t->o;
    double cg = o->clip_gradient, bc = 1;
    if (t->kind == OPT_ADAM || t->kind == OPT_ADAMW) /* bias correction folded into lr */
        bc = sqrt(1 - pow(o->beta2, (double)s->count)) / (1 - pow(o->beta1, (double)s->count));
    switch (t->kind) {
    case OPT_SGD:
    case OPT_NAG:
        if (o->momentum == 0) return am_sgd_update(w, g, lr, wd, rg, cg);
        return t->kind == OPT_SGD ? am_sgd_mom_update(w, g, st[0], lr, o->momentum, wd, rg, cg)
                                  : am_nag_mom_update(w, g, st[0], lr, o->momentum, wd, rg, cg);
    case OPT_ADAM:
        return am_adam_update(w, g, st[0], st[1], lr * bc, o->beta1, o->beta2, o->epsilon, wd,
                              rg, cg);
    case OPT_ADAMW: {
        am_array *r = am_to_device(am_full(AM_SHAPE(1), am_array_dtype(w), rg),
                                   am_array_device(w));
        return am_adamw_update(w, g, st[0], st[1], r, lr * bc, o->beta1, o->beta2, o->epsilon,
                               wd, 1.0, cg);
    }
    case OPT_RMSPROP:
        if (!o->centered)
            return am_rmsprop_update(w, g, st[0], lr, o->rho, o->epsilon, wd, rg, cg,
                                     o->clip_weights);
        return am_rmspropalex_update(w, g, st[0], st[1], st[2], lr, o->rho, o->momentum,
                                     o->epsilon, wd, rg, cg, o->clip_weights);
    case OPT_ADAGRAD:
        return am_adagrad_update(w, g, st[0], lr, o->epsilon, wd, rg, cg);
    case OPT_LAMB:
        return lamb_update(t, s, w, g, st, lr, wd, rg);
    default:
        return am_fail(AM_ERR_INTERNAL, "trainer: optimizer %d", (int)t->kind), NULL;
    }
}

/* Counts one more update of slot s and gives its learning rate and weight
 * decay for it; makes the states at the first. */
static am_status begin_update(am_trainer *t, tr_slot *s, double *lr, double *wd)
{
    am_status st = make_states(t, s, am_param_data(s->p));
    if (st != AM_OK) return st;
    if (++s->count > t->num_update) t->num_update = s->count;
    *lr = lr_now(t) * am_param_lr_mult(s->p);
    *wd = t->o.wd * am_param_wd_mult(s->p);
    return AM_OK;
}

static am_status update_one(am_trainer *t, tr_slot *s, double rg)
{
    am_array *w = am_param_data(s->p), *g = am_param_grad(s->p);
    double lr, wd;
    am_status st = begin_update(t, s, &lr, &wd);
    if (st != AM_OK) return st;
    am_array *y = run_update(t, s, w, g, s->st, lr, wd, rg);
    if (!y) return am_last_status();
    am_req req = AM_REQ_WRITE; /* the weight keeps its array (and its gradient buffer) */
    return am_op_run_into(&am_op_copy, NULL, &y, 1, &w, &req);
}

/* True when slot s takes part in steps: it has a gradient buffer. */
static bool is_trained(const tr_slot *s)
{
    return am_param_grad_req(s->p) != AM_GRAD_NULL && am_param_grad(s->p);
}

static am_status check_ready(const am_trainer *t)
{
    for (int i = 0; i < t->n; i++)
        if (am_param_grad_req(t->slots[i].p) != AM_GRAD_NULL && !am_param_data(t->slots[i].p))
            return am_fail(AM_ERR_ARG, "am_trainer_step: parameter '%s' is not initialised "
                           "(call the block once first)", am_param_name(t->slots[i].p));
    return AM_OK;
}

static am_status clip_all(am_trainer *t)
{
    am_array **g = calloc((size_t)t->n, sizeof(*g));
    if (!g) return am_fail(AM_ERR_OOM, "am_trainer_step: out of memory");
    int n = 0;
    for (int i = 0; i < t->n; i++)
        if (is_trained(&t->slots[i])) g[n++] = am_param_grad(t->slots[i].p);
    am_status st = n ? am_clip_global_norm(g, n, t->o.clip_global_norm, NULL) : AM_OK;
    free(g);
    return st;
}

am_status am_trainer_step(am_trainer *t, int64_t batch_size)
{
    if (!t) return am_fail(AM_ERR_ARG, "am_trainer_step: trainer is NULL");
    if (batch_size < 1)
        return am_fail(AM_ERR_ARG, "am_trainer_step: batch_size %lld < 1", (long long)batch_size);
    am_prof_span s = {0};
    bool prof = am_prof_on();
    if (prof) am_prof_begin(&s);
    am_status st = check_ready(t);
    if (st == AM_OK && t->o.clip_global_norm > 0) st = clip_all(t);
    am_scope_begin();
    for (int i = 0; i < t->n && st == AM_OK; i++)
        if (is_trained(&t->slots[i])) st = update_one(t, &t->slots[i], 1.0 / (double)batch_size);
    am_scope_end();
    if (prof) {
        am_prof_args a;
        am_prof_args_init(&a);
        am_prof_arg_int(&a, "parameters", t->n);
        if (st != AM_OK) am_prof_arg_str(&a, "error", am_last_error());
        am_prof_complete(&s, "optimizer", "trainer step", &a);
    }
    return st;
}

/* ---- what the fused training step (train_step.c) needs ------------------------------------ */

int hy_trainer_num_slots(const am_trainer *t) { return t->n; }
am_param *hy_trainer_param(const am_trainer *t, int i) { return t->slots[i].p; }
bool hy_trainer_trains(const am_trainer *t, int i) { return is_trained(&t->slots[i]); }
int hy_trainer_num_states(const am_trainer *t) { return num_states(t); }
am_array *hy_trainer_state(const am_trainer *t, int i, int k) { return t->slots[i].st[k]; }
const am_trainer_opts *hy_trainer_opts(const am_trainer *t) { return &t->o; }
am_block *hy_trainer_block(const am_trainer *t) { return t->block; }

am_status hy_trainer_begin_update(am_trainer *t, int i, double *lr, double *wd)
{
    return begin_update(t, &t->slots[i], lr, wd);
}

am_array *hy_trainer_update(const am_trainer *t, int i, am_array *w, am_array *g,
                            am_array *const *st, double lr, double wd, double rg)
{
    return run_update(t, &t->slots[i], w, g, st, lr, wd, rg);
}

am_status hy_trainer_make_states(am_trainer *t, int i)
{
    return make_states(t, &t->slots[i], am_param_data(t->slots[i].p));
}

/* ---- saving and loading states ------------------------------------------------------------- */

static void state_key(const am_trainer *t, int i, int k, char *buf, size_t n)
{
    snprintf(buf, n, "%s.%s", am_param_name(t->slots[i].p), state_names(t->kind, &t->o)[k]);
}

static am_status fill_list(am_trainer *t, am_ndlist *l)
{
    char key[512];
    am_status st = AM_OK;
    int64_t *counts = calloc((size_t)t->n, sizeof(*counts));
    if (!counts) return am_fail(AM_ERR_OOM, "am_trainer_save_states: out of memory");
    for (int i = 0; i < t->n; i++) {
        counts[i] = t->slots[i].count;
        for (int k = 0; k < num_states(t) && st == AM_OK && t->slots[i].st[k]; k++) {
            state_key(t, i, k, key, sizeof(key));
            st = am_ndlist_add(l, key, t->slots[i].st[k]);
        }
    }
    am_scope_begin();
    if (st == AM_OK)
        st = am_ndlist_add(l, "__counts__",
                           am_from_buffer(counts, AM_SHAPE(t->n), AM_DTYPE_INT64));
    am_scope_end();
    free(counts);
    return st;
}

am_status am_trainer_save_states(am_trainer *t, const char *path)
{
    if (!t || !path) return am_fail(AM_ERR_ARG, "am_trainer_save_states: %s is NULL",
                                    !t ? "trainer" : "path");
    am_ndlist *l = am_ndlist_create();
    if (!l) return am_last_status();
    am_status st = fill_list(t, l);
    if (st == AM_OK) st = am_ndlist_save(l, path); /* a temporary file renamed over path */
    am_ndlist_free(l);
    return st;
}

/* Which slot and state a saved name is; false when none. */
static bool find_state(const am_trainer *t, const char *name, int *slot, int *state)
{
    char key[512];
    for (int i = 0; i < t->n; i++)
        for (int k = 0; k < num_states(t); k++) {
            state_key(t, i, k, key, sizeof(key));
            if (strcmp(key, name) == 0) return *slot = i, *state = k, true;
        }
    return false;
}

/* Checks entry j of l against the trainer's parameters. */
static am_status check_entry(const am_trainer *t, const am_ndlist *l, int j, const char *path)
{
    const char *name = am_ndlist_name(l, j);
    am_array *x = am_ndlist_get(l, j);
    char a[96], b[96];
    int i, k;
    if (name && strcmp(name, "__counts__") == 0) {
        am_shape s = am_array_shape(x);
        if (am_array_dtype(x) != AM_DTYPE_INT64 || s.ndim != 1 || s.dim[0] != t->n)
            return am_fail(AM_ERR_ARG, "am_trainer_load_states: %s holds counts of %lld "
                           "parameters, the trainer has %d", path,
                           (long long)am_array_size(x), t->n);
        return AM_OK;
    }
    if (!name || !find_state(t, name, &i, &k))
        return am_fail(AM_ERR_ARG, "am_trainer_load_states: %s holds '%s', which is no state "
                       "of this %s trainer", path, name ? name : "(unnamed)", opt_names[t->kind]);
    am_array *w = am_param_data(t->slots[i].p);
    if (!w)
        return am_fail(AM_ERR_ARG, "am_trainer_load_states: parameter '%s' is not initialised",
                       am_param_name(t->slots[i].p));
    am_shape ws = am_array_shape(w), xs = am_array_shape(x);
    if (!am_shape_equal(ws, xs))
        return am_fail(AM_ERR_SHAPE, "am_trainer_load_states: '%s' is %s, the parameter is %s",
                       name, am_shape_format(&xs, a, sizeof(a)),
                       am_shape_format(&ws, b, sizeof(b)));
    if (am_array_dtype(x) != am_array_dtype(w))
        return am_fail(AM_ERR_DTYPE, "am_trainer_load_states: '%s' is %s, the parameter is %s",
                       name, am_dtype_name(am_array_dtype(x)), am_dtype_name(am_array_dtype(w)));
    return AM_OK;
}

/* Replaces the states and counts with l's (already checked). */
static am_status apply_list(am_trainer *t, const am_ndlist *l)
{
    am_status st = AM_OK;
    am_scope_begin();
    for (int j = 0; j < am_ndlist_size(l) && st == AM_OK; j++) {
        const char *name = am_ndlist_name(l, j);
        am_array *x = am_ndlist_get(l, j);
        int i, k;
        if (strcmp(name, "__counts__") == 0) {
            const int64_t *c = am_array_data(x);
            t->num_update = 0;
            for (i = 0; i < t->n; i++) {
                t->slots[i].count = c[i];
                if (c[i] > t->num_update) t->num_update = c[i];
            }
        } else if (find_state(t, name, &i, &k)) {
            am_array *v = am_to_device(am_copy(x), am_array_device(am_param_data(t->slots[i].p)));
            if (!v) st = am_last_status();
            else am_release(t->slots[i].st[k]), t->slots[i].st[k] = am_retain(v);
        }
    }
    am_scope_end();
    return st;
}

am_status am_trainer_load_states(am_trainer *t, const char *path)
{
    if (!t || !path) return am_fail(AM_ERR_ARG, "am_trainer_load_states: %s is NULL",
                                    !t ? "trainer" : "path");
    am_ndlist *l = am_ndlist_load(path);
    if (!l) return am_last_status();
    am_status st = AM_OK;
    bool has_counts = false;
    for (int j = 0; j < am_ndlist_size(l) && st == AM_OK; j++) {
        st = check_entry(t, l, j, path);
        const char *name = am_ndlist_name(l, j);
        has_counts |= name && strcmp(name, "__counts__") == 0;
    }
    if (st == AM_OK && !has_counts)
        st = am_fail(AM_ERR_ARG, "am_trainer_load_states: %s lacks __counts__", path);
    if (st == AM_OK) st = apply_list(t, l);
    am_ndlist_free(l);
    return st;
}
