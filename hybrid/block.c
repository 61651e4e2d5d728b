/* Blocks: the tree of children and parameters, structural names, and the
 * call that runs a block eagerly, traces it, or goes through its plan cache. */
#include "hybrid_impl.h"
#include "../ndarray/profiler_impl.h"

#include <regex.h>

/* Bumped whenever a block is marked eager or gains a child, so a hybridized
 * block looks for eager descendants once per change, not at every call. */
static atomic_uint eager_generation = 1;

void *am_block_new(const am_block_class *cls)
{
    if (!cls || cls->size < sizeof(am_block) || !!cls->forward == !!cls->forward_n) {
        am_fail(AM_ERR_ARG, "am_block_new: %s", !cls ? "class is NULL"
                : cls->size < sizeof(am_block) ? "class size is smaller than am_block"
                : "a class sets exactly one of forward and forward_n");
        return NULL;
    }
    am_block *b = calloc(1, cls->size);
    struct am_block_impl *impl = calloc(1, sizeof(*impl));
    if (!b || !impl) {
        free(b), free(impl);
        am_fail(AM_ERR_OOM, "am_block_new: out of memory");
        return NULL;
    }
    atomic_init(&impl->refcount, 1);
    b->cls = cls;
    b->impl = impl;
    return b;
}

am_block *am_block_retain(am_block *b)
{
    if (!b) return NULL;
    AM_ASSERT(atomic_load(&b->impl->refcount) > 0);
    atomic_fetch_add(&b->impl->refcount, 1);
    return b;
}

static void param_free(am_param *p)
{
    am_release(p->data);
    free(p->local), free(p->name), free(p);
}

void am_block_release(am_block *b)
{
    if (!b) return;
    struct am_block_impl *impl = b->impl;
    int prev = atomic_fetch_sub(&impl->refcount, 1);
    AM_ASSERT(prev > 0);
    if (prev != 1) return;
    if (b->cls->destroy) b->cls->destroy(b);
    hy_cache_clear(b);
    for (int i = 0; i < impl->n_children; i++) {
        free(impl->children[i].name);
        am_block_release(impl->children[i].b);
    }
    for (int i = 0; i < impl->n_params; i++) param_free(impl->params[i]);
    free(impl->children), free(impl->params), free(impl->eager_reason), free(impl->passes);
    free(impl->cache);
    free(impl);
    free(b);
}

/* A name for a child or parameter: not empty, no '.', not taken in b. */
static am_status check_name(am_block *b, const char *name, const char *what)
{
    if (!name || !name[0] || strchr(name, '.'))
        return am_fail(AM_ERR_ARG, "%s: the name '%s' must be non-empty and without '.'", what,
                       name ? name : "(null)");
    for (int i = 0; i < b->impl->n_children; i++)
        if (strcmp(b->impl->children[i].name, name) == 0)
            return am_fail(AM_ERR_ARG, "%s: %s already has a child named '%s'", what,
                           b->cls->name, name);
    for (int i = 0; i < b->impl->n_params; i++)
        if (strcmp(b->impl->params[i]->local, name) == 0)
            return am_fail(AM_ERR_ARG, "%s: %s already has a parameter named '%s'", what,
                           b->cls->name, name);
    return AM_OK;
}

static bool grow(void **items, int *cap, int n, size_t size)
{
    if (n < *cap) return true;
    int c = *cap ? *cap * 2 : 4;
    void *p = realloc(*items, (size_t)c * size);
    if (!p) return false;
    *items = p;
    *cap = c;
    return true;
}

/* True when b is root or one of its descendants. */
static bool reaches(const am_block *root, const am_block *b)
{
    if (root == b) return true;
    for (int i = 0; i < root->impl->n_children; i++)
        if (reaches(root->impl->children[i].b, b)) return true;
    return false;
}

am_block *am_block_add(am_block *parent, const char *name, am_block *child)
{
    if (!child) return NULL; /* keep the constructor's message */
    struct am_block_impl *impl = parent ? parent->impl : NULL;
    am_status st = !parent ? am_fail(AM_ERR_ARG, "am_block_add: parent is NULL")
                 : reaches(child, parent) ? am_fail(AM_ERR_ARG, "am_block_add: %s would contain itself "
                                                    "(a cycle of children)", parent->cls->name)
                 : check_name(parent, name, "am_block_add");
    char *copy = st == AM_OK ? strdup(name) : NULL;
    if (st == AM_OK && (!copy || !grow((void **)&impl->children, &impl->cap_children,
                                       impl->n_children, sizeof(hy_child))))
        st = am_fail(AM_ERR_OOM, "am_block_add: out of memory");
    if (st != AM_OK) {
        free(copy);
        am_block_release(child);
        return NULL;
    }
    impl->children[impl->n_children++] = (hy_child){copy, child};
    atomic_fetch_add(&eager_generation, 1);
    if (child->impl->deferred) impl->deferred = true;
    hy_cache_clear(parent);
    return child;
}

am_param *am_block_param(am_block *b, const char *name, am_shape shape, const am_init *init)
{
    if (!b) {
        am_fail(AM_ERR_ARG, "am_block_param: block is NULL");
        return NULL;
    }
    if (check_name(b, name, "am_block_param") != AM_OK) return NULL;
    return hy_param_add(b, name, shape, init);
}

am_param *hy_param_add(am_block *b, const char *name, am_shape shape, const am_init *init)
{
    if (shape.ndim < 0 || shape.ndim > AM_MAX_NDIM) {
        am_fail(AM_ERR_SHAPE, "am_block_param: '%s' has %d dimensions", name, shape.ndim);
        return NULL;
    }
    for (int i = 0; i < shape.ndim; i++)
        if (shape.dim[i] < 0) {
            am_fail(AM_ERR_SHAPE, "am_block_param: '%s' has a negative dimension", name);
            return NULL;
        }
    struct am_block_impl *impl = b->impl;
    am_param *p = calloc(1, sizeof(*p));
    if (!p || !(p->local = strdup(name)) || !(p->name = strdup(name)) ||
        !grow((void **)&impl->params, &impl->cap_params, impl->n_params, sizeof(am_param *))) {
        if (p) free(p->local), free(p->name);
        free(p);
        am_fail(AM_ERR_OOM, "am_block_param: out of memory");
        return NULL;
    }
    p->owner = b;
    p->shape = shape;
    p->dtype = AM_DTYPE_FLOAT32;
    p->req = AM_GRAD_WRITE;
    p->lr_mult = p->wd_mult = 1;
    if (init) {
        p->init = *init;
        p->has_init = true;
    }
    impl->params[impl->n_params++] = p;
    return p;
}

const char *am_block_type(const am_block *b) { return b ? b->cls->name : NULL; }
const am_block_class *am_block_get_class(const am_block *b) { return b ? b->cls : NULL; }
int am_block_num_children(const am_block *b) { return b ? b->impl->n_children : 0; }

am_block *am_block_child(const am_block *b, int i)
{
    return b && i >= 0 && i < b->impl->n_children ? b->impl->children[i].b : NULL;
}

const char *am_block_child_name(const am_block *b, int i)
{
    return b && i >= 0 && i < b->impl->n_children ? b->impl->children[i].name : NULL;
}

/* ---- walks ---------------------------------------------------------------------------- */

am_status hy_name_params(am_block *b, const char *prefix)
{
    struct am_block_impl *impl = b->impl;
    size_t lp = strlen(prefix);
    for (int i = 0; i < impl->n_params; i++) {
        am_param *p = impl->params[i];
        char *name = malloc(lp + strlen(p->local) + 1);
        if (!name) return am_fail(AM_ERR_OOM, "out of memory");
        memcpy(name, prefix, lp);
        strcpy(name + lp, p->local);
        free(p->name);
        p->name = name;
    }
    for (int i = 0; i < impl->n_children; i++) {
        size_t len = lp + strlen(impl->children[i].name) + 2;
        char *sub = malloc(len);
        if (!sub) return am_fail(AM_ERR_OOM, "out of memory");
        snprintf(sub, len, "%s%s.", prefix, impl->children[i].name);
        am_status st = hy_name_params(impl->children[i].b, sub);
        free(sub);
        if (st != AM_OK) return st;
    }
    return AM_OK;
}

typedef struct collect {
    regex_t *re;
    am_param **out;
    int cap, n;
    am_block **seen;        /* blocks visited (a block added twice counts once) */
    int n_seen, cap_seen;
} collect;

static am_status collect_walk(am_block *b, collect *c)
{
    for (int i = 0; i < c->n_seen; i++)
        if (c->seen[i] == b) return AM_OK;
    if (!grow((void **)&c->seen, &c->cap_seen, c->n_seen, sizeof(am_block *)))
        return am_fail(AM_ERR_OOM, "out of memory");
    c->seen[c->n_seen++] = b;
    for (int i = 0; i < b->impl->n_params; i++) {
        am_param *p = b->impl->params[i];
        if (c->re && regexec(c->re, p->name, 0, NULL, 0) != 0) continue;
        if (c->n < c->cap) c->out[c->n] = p;
        c->n++;
    }
    for (int i = 0; i < b->impl->n_children; i++) {
        am_status st = collect_walk(b->impl->children[i].b, c);
        if (st != AM_OK) return st;
    }
    return AM_OK;
}

int am_block_collect_params(am_block *b, const char *pattern, am_param **out, int cap)
{
    regex_t re;
    collect c = {.re = pattern ? &re : NULL, .out = out, .cap = out ? cap : 0};
    if (!b) {
        am_fail(AM_ERR_ARG, "am_block_collect_params: block is NULL");
        return -1;
    }
    if (pattern && regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0) {
        am_fail(AM_ERR_ARG, "am_block_collect_params: '%s' is not a valid regular expression",
                pattern);
        return -1;
    }
    am_status st = hy_name_params(b, "");
    if (st == AM_OK) st = collect_walk(b, &c);
    if (pattern) regfree(&re);
    free(c.seen);
    return st == AM_OK ? c.n : -1;
}

/* Every parameter under b (each once), malloc'd; *n receives the count. */
static am_param **all_params(am_block *b, int *n)
{
    *n = am_block_collect_params(b, NULL, NULL, 0);
    if (*n < 0) return NULL;
    am_param **ps = malloc(((size_t)*n + 1) * sizeof(*ps));
    if (!ps) {
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    am_block_collect_params(b, NULL, ps, *n);
    return ps;
}

static am_block *find_eager(am_block *b);

am_block *hy_find_eager(am_block *b)
{
    struct am_block_impl *impl = b->impl;
    unsigned gen = atomic_load(&eager_generation);
    if (impl->eager_seen != gen) {
        impl->eager_found = find_eager(b);
        impl->eager_seen = gen;
    }
    return impl->eager_found;
}

static am_block *find_eager(am_block *b)
{
    if (b->impl->eager_reason) return b;
    for (int i = 0; i < b->impl->n_children; i++) {
        am_block *e = find_eager(b->impl->children[i].b);
        if (e) return e;
    }
    return NULL;
}

static void print_tree(am_block *b, const char *name, int depth, FILE *f)
{
    char s[96];
    fprintf(f, "%*s%s%s%s%s\n", 2 * depth, "", name, name[0] ? ": " : "", b->cls->name,
            b->impl->hybrid ? " (hybridized)" : "");
    for (int i = 0; i < b->impl->n_params; i++) {
        am_param *p = b->impl->params[i];
        fprintf(f, "%*s%s %s %s%s\n", 2 * depth + 2, "", p->name, am_dtype_name(p->dtype),
                am_shape_format(&p->shape, s, sizeof(s)),
                p->req == AM_GRAD_NULL ? " (no gradient)" : "");
    }
    for (int i = 0; i < b->impl->n_children; i++)
        print_tree(b->impl->children[i].b, b->impl->children[i].name, depth + 1, f);
}

void am_block_print(am_block *b, FILE *f)
{
    if (!b || !f || hy_name_params(b, "") != AM_OK) return;
    print_tree(b, "", 0, f);
}

/* ---- initialisation -------------------------------------------------------------------- */

static bool shape_known(const am_shape *s)
{
    for (int i = 0; i < s->ndim; i++)
        if (s->dim[i] == 0) return false;
    return true;
}

am_status hy_param_init(am_param *p)
{
    am_array *x = am_array_alloc(p->shape, p->dtype, am_cpu());
    if (!x) return am_last_status();
    const am_init *init = p->has_init ? &p->init : NULL;
    am_init fallback = am_init_uniform(0.07);
    if (!init || init->kind == AM_INIT_DEFAULT)
        init = p->owner->impl->has_default_init ? &p->owner->impl->default_init : &fallback;
    if (init->kind == AM_INIT_DEFAULT) init = &fallback;
    am_err_ctx c;
    am_err_push(&c, p->name, (am_site){0});
    am_status st = am_init_fill(init, x);
    if (st == AM_OK && p->req != AM_GRAD_NULL) st = am_attach_grad(x, p->req);
    am_err_pop(&c);
    if (st != AM_OK) {
        am_release(x);
        return st;
    }
    am_release(p->data);
    p->data = x;
    p->wants_init = false;
    return AM_OK;
}

/* Sets the default initializer on b and its descendants, and initialises
 * what can be; marks blocks with parameters still waiting for shapes. */
static am_status init_walk(am_block *b, const am_init *init, bool force)
{
    struct am_block_impl *impl = b->impl;
    impl->has_default_init = init != NULL;
    if (init) impl->default_init = *init;
    impl->deferred = false;
    for (int i = 0; i < impl->n_params; i++) {
        am_param *p = impl->params[i];
        if (p->data && !force) continue;
        if (!shape_known(&p->shape)) {
            p->wants_init = true;
            impl->deferred = true;
            continue;
        }
        am_status st = hy_param_init(p);
        if (st != AM_OK) return st;
    }
    for (int i = 0; i < impl->n_children; i++) {
        am_status st = init_walk(impl->children[i].b, init, force);
        if (st != AM_OK) return st;
        if (impl->children[i].b->impl->deferred) impl->deferred = true;
    }
    return AM_OK;
}

am_status am_block_initialize(am_block *b, const am_init *init)
{
    return am_block_initialize_ex(b, init, false);
}

am_status am_block_initialize_ex(am_block *b, const am_init *init, bool force)
{
    if (!b) return am_fail(AM_ERR_ARG, "am_block_initialize: block is NULL");
    if (init && (unsigned)init->kind >= AM_INIT_KIND_COUNT)
        return am_fail(AM_ERR_ARG, "am_block_initialize: unknown initializer kind %d", (int)init->kind);
    am_status st = hy_name_params(b, "");
    if (st == AM_OK) st = init_walk(b, init, force);
    hy_cache_clear_tree(b);
    return st;
}

/* ---- calls ------------------------------------------------------------------------------- */

/* The block whose forward is running on this thread (for child names). */
static _Thread_local am_block *running;
_Thread_local am_block *hy_failed_block;

int hy_forward(am_block *b, am_array *const *in, int n_in, am_array **out, int cap, am_site at)
{
    /* Errors inside a built-in layer name the line that called it; inside
     * a user's forward, the user's own line that failed. */
    am_err_ctx c;
    am_err_push(&c, NULL, (b->cls->flags & AM_BLOCK_BUILTIN) ? at : (am_site){0});
    am_block *prev = running;
    running = b;
    int n = -1;
    /* The forward's temporaries die here; its outputs go to the caller's
     * scope, as an op's result does. */
    am_scope_begin();
    if (b->cls->forward) {
        if ((out[0] = b->cls->forward(b, in, n_in))) n = 1;
        else if (am_last_status() == AM_OK)
            am_fail(AM_ERR_INTERNAL, "%s: forward returned NULL without an error", b->cls->name);
    } else {
        n = b->cls->forward_n(b, in, n_in, out, cap);
        if (n > cap) n = -1, am_fail(AM_ERR_INTERNAL, "%s: forward_n wrote past cap", b->cls->name);
        for (int i = 0; i < n; i++)
            if (!out[i]) n = -1;
    }
    if ((n < 0 || am_last_status() != AM_OK) && !hy_failed_block) hy_failed_block = b;
    for (int i = 0; i < n; i++) {
        bool again = false;
        for (int j = 0; j < i && !again; j++) again = out[j] == out[i];
        if (!again) am_keep(out[i]);
    }
    am_scope_end();
    running = prev;
    am_err_pop(&c);
    return n;
}

/* The child name under which parent holds b, or NULL. */
static const char *child_name(const am_block *parent, const am_block *b)
{
    for (int i = 0; parent && i < parent->impl->n_children; i++)
        if (parent->impl->children[i].b == b) return parent->impl->children[i].name;
    return NULL;
}

/* The profiler's event for a concrete call of b (n: what the call returned). */
static void prof_call(const am_prof_span *s, const am_block *b, bool hybrid, am_array *const *in,
                      int n_in, am_site at, int n)
{
    am_prof_args a;
    int64_t bytes = 0;
    am_prof_args_init(&a);
    am_prof_arg_str(&a, "mode", hybrid ? "hybridized" : "eager");
    am_prof_arg_arrays(&a, "inputs", in, n_in, &bytes);
    am_prof_arg_site(&a, "origin", at);
    if (n < 0) am_prof_arg_str(&a, "error", am_last_error());
    am_prof_complete(s, "block", b->cls->name, &a);
}

static int call(am_block *b, am_array *const *in, int n_in, am_array **out, int cap, am_site at)
{
    for (int i = 0; i < n_in; i++)
        if (!in[i]) {
            am_fail_null_input(b->cls->name, i, at);
            return -1;
        }
    bool symbolic = false;
    for (int i = 0; i < n_in; i++) symbolic |= am_array_is_symbolic(in[i]);
    am_block *parent = running;
    int n = -1;
    if (hy_trace_current()) {
        /* Inside a trace: name this block's nodes "<parent path>.<child name>". */
        const am_trace_scope *top = am_trace_scope_top();
        const char *cn = child_name(parent, b);
        char path[512];
        if (cn && top && top->prefix && top->prefix[0])
            snprintf(path, sizeof(path), "%s.%s", top->prefix, cn);
        else
            snprintf(path, sizeof(path), "%s", cn ? cn : top && top->prefix ? top->prefix : "");
        am_trace_scope s;
        am_site origin = top && top->origin.file ? top->origin
                       : (b->cls->flags & AM_BLOCK_BUILTIN) ? at : (am_site){0};
        am_trace_scope_push(&s, path, origin);
        n = hy_forward(b, in, n_in, out, cap, at);
        am_trace_scope_pop(&s);
    } else if (symbolic) {
        n = hy_trace_open_call(b, in, n_in, out, cap, at);
    } else {
        if (b->impl->deferred && hy_resolve_deferred(b, in, n_in, at) != AM_OK) return -1;
        struct am_block_impl *impl = b->impl;
        am_block *eager = impl->hybrid ? hy_find_eager(b) : NULL;
        if (eager && !impl->warned_eager) {
            fprintf(stderr, "amber: %s stays eager: its block %s is marked eager (%s)\n",
                    b->cls->name, eager->cls->name, eager->impl->eager_reason);
            impl->warned_eager = true;
        }
        am_prof_span s = {0};
        bool prof = am_prof_on();
        if (prof) am_prof_begin(&s);
        if (impl->hybrid && !eager) n = hy_cached_call(b, in, n_in, out, cap, at);
        else n = hy_forward(b, in, n_in, out, cap, at);
        if (prof) prof_call(&s, b, impl->hybrid && !eager, in, n_in, at, n);
        if (n > 0) { /* export traces with the last call that worked */
            impl->called = true;
            impl->last_site = at;
            impl->last_n_in = n_in;
            for (int i = 0; i < n_in; i++) {
                impl->last_shape[i] = am_array_shape(in[i]);
                impl->last_dtype[i] = am_array_dtype(in[i]);
            }
        }
    }
    return n;
}

int am_block_forward_at(am_block *b, am_array *const *in, int n_in, am_array **out, int cap,
                        am_site at)
{
    if (!b || n_in < 0 || n_in > AM_BLOCK_MAX_IO || (n_in && !in) || !out || cap < 1) {
        am_fail_at("am_block_forward", at, AM_ERR_ARG, "%s", !b ? "block is NULL"
                   : !out || cap < 1 ? "no room for outputs" : "bad input count");
        return -1;
    }
    return call(b, in, n_in, out, cap, at);
}

am_array *am_block_call_at(am_block *b, am_array *const *in, int n_in, am_site at)
{
    am_array *out[AM_BLOCK_MAX_IO];
    int n = am_block_forward_at(b, in, n_in, out, AM_BLOCK_MAX_IO, at);
    return n > 0 ? out[0] : NULL;
}

/* ---- dtype, device, gradients ---------------------------------------------------------------- */

static am_status convert_params(am_block *b, am_dtype dtype, const am_device *dev)
{
    int n;
    am_param **ps = all_params(b, &n);
    if (!ps) return am_last_status();
    am_status st = AM_OK;
    for (int i = 0; i < n && st == AM_OK; i++) {
        am_param *p = ps[i];
        if (dtype != AM_DTYPE_COUNT) p->dtype = dtype;
        if (!p->data) continue;
        am_scope_begin();
        am_array *x = dev ? am_to_device(p->data, *dev) : am_astype(p->data, dtype);
        if (x && am_array_is_view(x)) x = am_copy(x);
        if (x) {
            am_retain(x); /* ours beyond this scope */
            if (p->req != AM_GRAD_NULL) st = am_attach_grad(x, p->req);
            am_release(p->data);
            p->data = x;
        } else {
            st = am_last_status();
        }
        am_scope_end();
    }
    free(ps);
    hy_cache_clear_tree(b);
    return st;
}

am_status am_block_cast(am_block *b, am_dtype dtype)
{
    if (!b) return am_fail(AM_ERR_ARG, "am_block_cast: block is NULL");
    if (dtype != AM_DTYPE_FLOAT32 && dtype != AM_DTYPE_FLOAT64)
        return am_fail(AM_ERR_DTYPE, "am_block_cast: parameters are float32 or float64, not %s",
                       am_dtype_name(dtype));
    return convert_params(b, dtype, NULL);
}

am_status am_block_to_device(am_block *b, am_device dev)
{
    if (!b) return am_fail(AM_ERR_ARG, "am_block_to_device: block is NULL");
    return convert_params(b, AM_DTYPE_COUNT, &dev);
}

am_status am_block_zero_grad(am_block *b)
{
    if (!b) return am_fail(AM_ERR_ARG, "am_block_zero_grad: block is NULL");
    int n;
    am_param **ps = all_params(b, &n);
    if (!ps) return am_last_status();
    am_status st = AM_OK;
    for (int i = 0; i < n && st == AM_OK; i++)
        if (ps[i]->data && am_grad(ps[i]->data)) st = am_array_fill(am_grad(ps[i]->data), 0);
    free(ps);
    return st;
}

void am_block_set_eager(am_block *b, const char *reason)
{
    if (!b) return;
    free(b->impl->eager_reason);
    b->impl->eager_reason = reason ? strdup(reason) : NULL;
    b->impl->warned_eager = false;
    atomic_fetch_add(&eager_generation, 1);
}
