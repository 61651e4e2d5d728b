/* The compiled plan: a private copy of the graph inferred for one input
 * signature, optimized for its device, memory-planned into one arena on
 * that device, and flattened into
 * steps whose kernels and buffers are resolved when inputs are bound, so a
 * run is a loop of kernel calls that allocates nothing. */
#include "plan_impl.h"
#include "../ndarray/device_impl.h"
#include "../ndarray/profiler_impl.h"

/* ---- the private graph ------------------------------------------------------ */

/* A copy of g with every node cloned and op outputs' shapes forgotten, so
 * inference for this signature neither sees another's shapes nor writes
 * into nodes other graphs share.  Variables keep what they declare. */
static am_graph *private_copy(am_graph *g)
{
    am_rewriter rw;
    if (am_rw_init(&rw, g) != AM_OK) return NULL;
    for (int i = 0; i < g->n_nodes; i++) {
        am_node *n = g->nodes[i];
        am_entry in[AM_MAX_OP_IO * 4];
        for (int k = 0; k < n->n_in; k++) in[k] = am_rw_get(&rw, n->inputs[k]);
        am_node *c = am_node_clone(n, in);
        if (!c || (!c->name && !(c->name = strdup(g->names[i])))) {
            am_node_release(c);
            return am_rw_fail(&rw);
        }
        for (int k = 0; n->op && k < n->n_out; k++) {
            c->shapes[k].ndim = -1;
            c->dtypes[k] = AM_DTYPE_COUNT;
        }
        for (int k = 0; k < n->n_out; k++) am_rw_set(&rw, i, k, (am_entry){c, k});
        am_node_release(c);
    }
    rw.n_changed++; /* always a new graph */
    return am_rw_finish(&rw);
}

static am_status set_signature(am_graph *g, const am_plan_opts *o)
{
    for (int k = 0; k < o->n; k++) {
        int i = am_graph_find_name(g, o->names[k]);
        if (i < 0 || g->nodes[i]->op)
            return am_fail(AM_ERR_ARG, "am_plan_create: the graph has no input named '%s'", o->names[k]);
        if (o->shapes) g->nodes[i]->shapes[0] = o->shapes[k];
        if (o->dtypes && o->dtypes[k] != AM_DTYPE_COUNT) g->nodes[i]->dtypes[0] = o->dtypes[k];
    }
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i]->op && g->nodes[i]->dtypes[0] == AM_DTYPE_COUNT)
            g->nodes[i]->dtypes[0] = AM_DTYPE_FLOAT32;
    return AM_OK;
}

/* ---- values and steps -------------------------------------------------------- */

static int count_steps(const am_graph *g, int *n_io)
{
    int n = 0;
    *n_io = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->op) {
            n++;
            *n_io += g->nodes[i]->n_in + g->nodes[i]->n_out;
        }
    return n;
}

static bool is_head(const am_graph *g, const am_node *n, int k)
{
    for (int h = 0; h < g->n_heads; h++)
        if (g->heads[h].node == n && g->heads[h].index == k) return true;
    return false;
}

static am_status add_input(am_plan *p, int i, int v)
{
    pinput *in = &p->inputs[p->n_inputs++];
    in->value = v;
    in->optional = am_graph_input_is_grad_only(p->graph, i);
    if (!(in->name = strdup(p->graph->names[i]))) return am_fail(AM_ERR_OOM, "out of memory");
    p->values[v].input = p->n_inputs - 1;
    return AM_OK;
}

/* Output 0 of node n becomes a view of its input 0 when the op allows it and
 * it is not a head (heads get arrays of their own). */
static bool as_view(am_plan *p, const am_node *n, int v, int in0)
{
    int64_t offset = 0;
    pvalue *x = &p->values[in0];
    if (!n->op->view || n->n_out != 1 || n->n_in < 1 || x->dtype != p->values[v].dtype ||
        is_head(p->graph, n, 0) || !n->op->view(n->attrs, &x->shape, &offset))
        return false;
    p->values[v].kind = PV_VIEW;
    p->values[v].base = in0;
    p->values[v].offset = (size_t)offset * am_dtype_size(x->dtype);
    p->stats.n_views++;
    return true;
}

static am_status make_step(am_plan *p, int i, int **io, am_view **views, am_req **reqs)
{
    const am_node *n = p->graph->nodes[i];
    pstep *st = &p->steps[p->n_steps];
    st->node = n;
    st->node_index = i;
    st->fn = am_op_kernel(n->op, p->device);
    st->n_in = n->n_in;
    st->n_out = n->n_out;
    st->vin = *io, *io += n->n_in;
    st->vout = *io, *io += n->n_out;
    st->in = *views, *views += n->n_in;
    st->out = *views, *views += n->n_out;
    st->req = *reqs, *reqs += n->n_out;
    am_node_describe(p->graph, i, st->what, sizeof(st->what));
    if (!st->fn) {
        char dev[32];
        return am_fail(AM_ERR_UNSUPPORTED, "am_plan_create: %s has no kernel on %s", st->what,
                       am_device_format(p->device, dev, sizeof(dev)));
    }
    am_shape ish[AM_MAX_OP_IO * 4];
    for (int k = 0; k < n->n_in; k++) {
        am_entry e = n->inputs[k];
        st->vin[k] = p->first_value[am_graph_index(p->graph, e.node)] + e.index;
        ish[k] = p->values[st->vin[k]].shape;
    }
    for (int k = 0; k < n->n_out; k++) {
        st->vout[k] = p->first_value[i] + k;
        st->req[k] = AM_REQ_WRITE;
        p->values[st->vout[k]].def = p->n_steps;
    }
    st->ws_bytes = n->op->temp_bytes ? n->op->temp_bytes(n->attrs, ish, n->n_in) : 0;
    if (st->ws_bytes > p->ws_bytes) {
        p->ws_bytes = st->ws_bytes;
        p->ws_step = p->n_steps;
    }
    p->n_steps++;
    return AM_OK;
}

/* A reference to x on dev: x itself when it is there, else a copy. */
static am_array *on_device(am_array *x, am_device dev)
{
    if (am_device_equal(x->storage->device, dev)) return am_retain(x);
    am_scope_begin();
    am_array *y = am_retain(am_to_device(x, dev));
    am_scope_end();
    return y;
}

/* One value per node output; a step per op node (none for views). */
static am_status build(am_plan *p)
{
    am_graph *g = p->graph;
    int n_io, n_steps = count_steps(g, &n_io);
    if (!(p->first_value = malloc((size_t)(g->n_nodes + 1) * sizeof(int))))
        return am_fail(AM_ERR_OOM, "out of memory compiling a plan");
    for (int i = 0; i < g->n_nodes; i++) {
        p->first_value[i] = p->n_values;
        p->n_values += g->nodes[i]->n_out;
    }
    p->values = calloc((size_t)p->n_values + 1, sizeof(*p->values));
    p->steps = calloc((size_t)n_steps + 1, sizeof(*p->steps));
    p->inputs = calloc((size_t)g->n_nodes + 1, sizeof(*p->inputs));
    p->io_pool = malloc(((size_t)n_io + 1) * sizeof(int));
    p->view_pool = calloc((size_t)n_io + 1, sizeof(am_view));
    p->req_pool = malloc(((size_t)n_io + 1) * sizeof(am_req));
    p->heads = malloc(((size_t)g->n_heads + 1) * sizeof(int));
    if (!p->values || !p->steps || !p->inputs || !p->io_pool ||
        !p->view_pool || !p->req_pool || !p->heads)
        return am_fail(AM_ERR_OOM, "out of memory compiling a plan");
    int *io = p->io_pool, *order = malloc(((size_t)g->n_nodes + 1) * sizeof(int));
    am_view *views = p->view_pool;
    am_req *reqs = p->req_pool;
    if (!order) return am_fail(AM_ERR_OOM, "out of memory compiling a plan");
    if (p->no_schedule) {
        for (int i = 0; i < g->n_nodes; i++) order[i] = i;
    } else if (am_schedule(g, order) != AM_OK) {
        free(order);
        return am_last_status();
    }
    for (int j = 0; j < g->n_nodes; j++) {
        int i = order[j];
        const am_node *n = g->nodes[i];
        for (int k = 0; k < n->n_out; k++) {
            pvalue *v = &p->values[p->first_value[i] + k];
            v->shape = n->shapes[k];
            v->dtype = n->dtypes[k];
            v->bytes = (size_t)am_shape_size(&v->shape) * am_dtype_size(v->dtype);
            v->def = v->last = -1;
            v->kind = !n->op ? (n->value ? PV_CONST : PV_INPUT) : PV_ARENA;
            v->head = n->op && is_head(g, n, k);
        }
        int v0 = p->first_value[i];
        if (!n->op) {
            if (n->value) {
                am_device at = p->sized_only ? n->value->storage->device : p->device;
                if (!(p->values[v0].array = on_device(n->value, at))) {
                    free(order);
                    return am_last_status();
                }
            } else if (add_input(p, i, v0) != AM_OK) {
                free(order);
                return am_last_status();
            }
            continue;
        }
        int in0 = n->n_in ? p->first_value[am_graph_index(g, n->inputs[0].node)] + n->inputs[0].index : -1;
        if (in0 >= 0 && as_view(p, n, v0, in0)) continue;
        if (make_step(p, i, &io, &views, &reqs) != AM_OK) {
            free(order);
            return am_last_status();
        }
    }
    free(order);
    for (int h = 0; h < g->n_heads; h++)
        p->heads[h] = p->first_value[am_graph_index(g, g->heads[h].node)] + g->heads[h].index;
    p->n_heads = g->n_heads;
    return AM_OK;
}

/* Byte offset of arena value v (following views) in the arena. */
static size_t arena_offset(const am_plan *p, int v)
{
    size_t offset = 0;
    for (; p->values[v].kind == PV_VIEW; v = p->values[v].base) offset += p->values[v].offset;
    return offset + p->values[v].offset;
}

static void count_naive(am_plan *p)
{
    for (int v = 0; v < p->n_values; v++) {
        pvalue *x = &p->values[v];
        if (x->kind == PV_ARENA || (x->kind == PV_VIEW && x->inplace))
            p->stats.naive_bytes += (int64_t)((x->bytes + AM_ALIGN - 1) / AM_ALIGN * AM_ALIGN);
    }
}

/* The step writing the largest arena value, and that value (-1: none). */
static int largest_value(const am_plan *p, int *value)
{
    int best = -1;
    *value = -1;
    for (int s = 0; s < p->n_steps; s++)
        for (int k = 0; k < p->steps[s].n_out; k++) {
            int v = p->steps[s].vout[k];
            if (p->values[v].kind == PV_ARENA &&
                (*value < 0 || p->values[v].bytes > p->values[*value].bytes)) {
                *value = v;
                best = s;
            }
        }
    return best;
}

am_status am_plan_check_memory(const am_plan *p)
{
    if (!p) return am_fail(AM_ERR_ARG, "am_plan_check_memory: plan is NULL");
    if (!p->sized_only && p->arena_array) return AM_OK; /* held already */
    if (p->device.type != AM_DEVICE_CPU) return AM_OK;  /* the limit bounds host memory */
    uint64_t need = (uint64_t)p->arena_bytes + p->ws_bytes;
    char detail[512], b1[32], b2[32], b3[32], sh[96];
    int v, s = largest_value(p, &v);
    int n = snprintf(detail, sizeof(detail), "arena %s, workspace %s",
                     am_format_bytes(p->arena_bytes, b1, sizeof(b1)),
                     am_format_bytes(p->ws_bytes, b2, sizeof(b2)));
    if (p->ws_step >= 0 && p->ws_bytes > (s >= 0 ? p->values[v].bytes : 0))
        snprintf(detail + n, sizeof(detail) - (size_t)n, "; the largest part is the workspace "
                 "of %s", p->steps[p->ws_step].what);
    else if (s >= 0)
        snprintf(detail + n, sizeof(detail) - (size_t)n, "; the largest value is %s of %s: "
                 "shape %s, %s, %s", p->steps[s].n_out > 1 ? "an output" : "the output",
                 p->steps[s].what, am_shape_format(&p->values[v].shape, sh, sizeof(sh)),
                 am_dtype_name(p->values[v].dtype),
                 am_format_bytes(p->values[v].bytes, b3, sizeof(b3)));
    return am_memory_check(need, "the plan", detail);
}

/* The arena (heads included: an output is a view of it that stays valid
 * until the next run) and the workspace, from the device's allocator, after
 * checking them against the memory limit. */
static am_status allocate(am_plan *p)
{
    am_status st = am_plan_check_memory(p);
    if (st != AM_OK) return st;
    p->arena_array = am_array_alloc(AM_SHAPE((int64_t)p->arena_bytes), AM_DTYPE_UINT8, p->device);
    if (!p->arena_array)
        return am_fail(AM_ERR_OOM, "cannot allocate a plan arena of %zu bytes", p->arena_bytes);
    p->arena = am_array_ptr(p->arena_array);
    for (int v = 0; v < p->n_values; v++) {
        pvalue *x = &p->values[v];
        if (x->head && !(x->array = am_array_new_view(p->arena_array, x->shape, x->dtype,
                                                      arena_offset(p, v))))
            return am_last_status();
    }
    if (p->ws_bytes &&
        !(p->workspace = am_device_ops_for(p->device.type)->alloc(p->device.id, p->ws_bytes)))
        return am_fail(AM_ERR_OOM, "cannot allocate a workspace of %zu bytes", p->ws_bytes);
    /* AM_PLAN_POISON=1 fills both with NaN bytes, so a kernel that reads an
     * output before writing it shows (the property test sets it; CPU only). */
    const char *poison = getenv("AM_PLAN_POISON");
    if (poison && poison[0] == '1' && p->device.type == AM_DEVICE_CPU) {
        memset(p->arena, 0xff, p->arena_bytes);
        if (p->workspace) memset(p->workspace, 0xff, p->ws_bytes);
    }
    return AM_OK;
}

/* The address of value v's bytes under the current binding (NULL while an
 * input it depends on is unbound). */
static char *value_data(const am_plan *p, int v)
{
    const pvalue *x = &p->values[v];
    switch (x->kind) {
    case PV_INPUT: {
        am_array *b = p->inputs[x->input].bound;
        return b ? (char *)am_array_ptr(b) : NULL;
    }
    case PV_CONST: return (char *)am_array_ptr(x->array);
    case PV_ARENA: return p->arena + x->offset;
    case PV_VIEW: {
        char *base = value_data(p, x->base);
        return base ? base + x->offset : NULL;
    }
    }
    return NULL;
}

static void resolve(am_plan *p)
{
    for (int s = 0; s < p->n_steps; s++) {
        pstep *st = &p->steps[s];
        for (int k = 0; k < st->n_in; k++) {
            const pvalue *x = &p->values[st->vin[k]];
            st->in[k] = am_view_make(value_data(p, st->vin[k]), x->dtype, &x->shape, p->device);
        }
        for (int k = 0; k < st->n_out; k++) {
            const pvalue *x = &p->values[st->vout[k]];
            st->out[k] = am_view_make(value_data(p, st->vout[k]), x->dtype, &x->shape, p->device);
        }
    }
}

/* ---- the API ---------------------------------------------------------------- */

/* Every input of g, so that binding one the passes made unneeded (a
 * BatchNorm gamma folded away under fix_gamma) is accepted, as MXNet's
 * executors accept every argument of the graph. */
static am_status note_inputs(am_plan *p, const am_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i]->op || g->nodes[i]->value) continue;
        char **u = realloc(p->graph_inputs, (size_t)(p->n_graph_inputs + 1) * sizeof(*u));
        if (!u) return am_fail(AM_ERR_OOM, "out of memory");
        p->graph_inputs = u;
        if (!(u[p->n_graph_inputs] = strdup(g->names[i]))) return am_fail(AM_ERR_OOM, "out of memory");
        p->n_graph_inputs++;
    }
    return AM_OK;
}

/* The device must exist to allocate on it; a plan that is only sized
 * (no_alloc) may be made for one that does not, to see what it lacks. */
static am_status check_device(const am_plan *p)
{
    const am_device_ops *ops = am_device_ops_for(p->device.type);
    char dev[32];
    if (p->sized_only || (ops && p->device.id >= 0 && p->device.id < ops->count())) return AM_OK;
    return am_fail(AM_ERR_DEVICE, "am_plan_create: device %s is not available (a plan made "
                   "with no_alloc can still be sized for it)",
                   am_device_format(p->device, dev, sizeof(dev)));
}

static am_status compile(am_plan *p, am_graph *g, const am_plan_opts *o)
{
    if (check_device(p) != AM_OK) return am_last_status();
    am_graph *copy = private_copy(g);
    if (!copy) return am_last_status();
    am_status st = set_signature(copy, o);
    if (st == AM_OK) st = am_graph_infer(copy, NULL, NULL, NULL, 0);
    if (st != AM_OK) {
        am_graph_release(copy);
        return st;
    }
    am_graph *legal = am_graph_legalize_dtypes(copy); /* float16 & co. through float32 */
    am_graph_release(copy);
    if (!legal) return am_last_status();
    copy = legal;
    if (o->no_optimize) {
        p->graph = copy;
    } else if ((st = note_inputs(p, copy)) != AM_OK) {
        am_graph_release(copy);
        return st;
    } else {
        am_optimize_opts oo = {.training = o->training, .passes = o->passes, .log = o->log,
                               .device = o->device};
        p->graph = am_graph_optimize(copy, &oo);
        am_graph_release(copy);
        if (!p->graph) return am_last_status();
    }
    if ((st = build(p)) != AM_OK || (st = am_memplan(p, o->no_optimize)) != AM_OK)
        return st;
    count_naive(p);
    if (!p->sized_only && (st = allocate(p)) != AM_OK) return st;
    p->stale = true;
    p->stats.n_steps = p->n_steps;
    p->stats.arena_bytes = (int64_t)p->arena_bytes;
    p->stats.workspace_bytes = (int64_t)p->ws_bytes;
    return AM_OK;
}

am_plan *am_plan_create(am_graph *g, const am_plan_opts *opts)
{
    am_plan_opts none = {0};
    const am_plan_opts *o = opts ? opts : &none;
    am_err_ctx c;
    am_err_push(&c, NULL, (am_site){0});
    am_plan *p = NULL;
    if (!g) {
        am_fail(AM_ERR_ARG, "am_plan_create: graph is NULL");
    } else if (!(p = calloc(1, sizeof(*p)))) {
        am_fail(AM_ERR_OOM, "out of memory");
    } else {
        p->training = o->training;
        p->device = o->device;
        p->no_schedule = o->no_optimize;
        p->sized_only = o->no_alloc;
        p->ws_step = -1;
        p->stats.n_nodes = g->n_nodes;
        am_prof_span s = {0};
        bool prof = am_prof_on();
        if (prof) am_prof_begin(&s);
        am_status st = compile(p, g, o);
        if (prof) am_plan_prof_compile(&s, p, st);
        if (st != AM_OK) {
            am_plan_release(p);
            p = NULL;
        }
    }
    am_err_pop(&c);
    return p;
}

void am_plan_release(am_plan *p)
{
    if (!p) return;
    for (int v = 0; v < p->n_values; v++) am_release(p->values[v].array);
    for (int i = 0; i < p->n_inputs; i++) {
        free(p->inputs[i].name);
        am_release(p->inputs[i].bound);
    }
    for (int i = 0; i < p->n_graph_inputs; i++) free(p->graph_inputs[i]);
    free(p->graph_inputs);
    for (int s = 0; s < p->n_steps; s++) free(p->steps[s].attrs);
    am_release(p->arena_array);
    am_release(p->spare_arena);
    if (p->workspace) am_device_ops_for(p->device.type)->free(p->device.id, p->workspace);
    am_graph_release(p->graph);
    free(p->values), free(p->first_value), free(p->steps), free(p->inputs);
    free(p->io_pool), free(p->view_pool), free(p->req_pool), free(p->heads);
    free(p);
}

am_status am_plan_bind(am_plan *p, const char *name, am_array *x)
{
    if (!p || !name || !x) return am_fail(AM_ERR_ARG, "am_plan_bind: %s is NULL", !p ? "plan" : !name ? "name" : "array");
    /* The input through the graph's name index; a search when that misses. */
    int node = am_graph_find_name(p->graph, name), i = p->n_inputs;
    if (node >= 0 && !p->graph->nodes[node]->op && p->values[p->first_value[node]].kind == PV_INPUT)
        i = p->values[p->first_value[node]].input;
    if (i >= p->n_inputs || strcmp(p->inputs[i].name, name) != 0)
        for (i = 0; i < p->n_inputs && strcmp(p->inputs[i].name, name) != 0; i++) {}
    if (i == p->n_inputs) {
        for (int k = 0; k < p->n_graph_inputs; k++)
            if (strcmp(p->graph_inputs[k], name) == 0) return AM_OK; /* the plan does not read it */
        return am_fail(AM_ERR_ARG, "am_plan_bind: the plan has no input named '%s'", name);
    }
    const pvalue *v = &p->values[p->inputs[i].value];
    char a[96], b[96];
    if (!x->storage) return am_fail(AM_ERR_ARG, "am_plan_bind: the value for '%s' is symbolic", name);
    if (!am_device_equal(x->storage->device, p->device))
        return am_fail(AM_ERR_DEVICE, "am_plan_bind: '%s' is on %s; the plan runs on %s", name,
                       am_device_format(x->storage->device, a, sizeof(a)),
                       am_device_format(p->device, b, sizeof(b)));
    if (!am_shape_equal(x->shape, v->shape) || x->dtype != v->dtype)
        return am_fail(x->dtype != v->dtype ? AM_ERR_DTYPE : AM_ERR_SHAPE,
                       "am_plan_bind: the plan was compiled for '%s' as %s %s, given %s %s; "
                       "create a plan for this signature", name, am_dtype_name(v->dtype),
                       am_shape_format(&v->shape, a, sizeof(a)), am_dtype_name(x->dtype),
                       am_shape_format(&x->shape, b, sizeof(b)));
    am_retain(x);
    am_release(p->inputs[i].bound);
    p->inputs[i].bound = x;
    p->stale = true; /* views are resolved once, by the next run */
    return AM_OK;
}

am_status am_plan_prepare(am_plan *p, const char *who, am_kernel_ctx *ctx)
{
    if (p->sized_only)
        return am_fail(AM_ERR_ARG, "%s: the plan was made with no_alloc, to be sized and "
                       "printed; it cannot run", who);
    for (int i = 0; i < p->n_inputs; i++)
        if (!p->inputs[i].bound && !p->inputs[i].optional)
            return am_fail(AM_ERR_ARG, "%s: no array bound to the input '%s'", who, p->inputs[i].name);
    if (p->stale) resolve(p);
    p->stale = false;
    *ctx = (am_kernel_ctx){.device = p->device, .training = p->training, .rng = am_rng_state(),
                           .workspace = p->workspace, .workspace_bytes = p->ws_bytes};
    return AM_OK;
}

am_status am_plan_run(am_plan *p)
{
    am_kernel_ctx ctx;
    if (!p) return am_fail(AM_ERR_ARG, "am_plan_run: plan is NULL");
    am_prof_span run = {0}, step = {0};
    bool prof = am_prof_on(); /* then a test of this copy around each step */
    if (prof) am_prof_begin(&run);
    am_status rc = am_plan_prepare(p, "am_plan_run", &ctx);
    for (int s = 0; s < p->n_steps && rc == AM_OK; s++) {
        const pstep *st = &p->steps[s];
        am_err_ctx c;
        am_err_push(&c, st->what, (am_site){0});
        if (prof) am_prof_begin(&step);
        rc = st->fn(&ctx, st->attrs ? st->attrs : st->node->attrs, st->in, st->n_in, st->out,
                    st->n_out, st->req);
        if (prof) am_plan_prof_step(p, st, &step);
        am_err_pop(&c);
        if (rc != AM_OK && st->node->origin) /* the model's line that made the node */
            am_error_append(" (the node comes from %s)", st->node->origin);
    }
    if (prof) am_plan_prof_run(p, &run, rc);
    return rc;
}

am_status am_plan_set_step_attrs(am_plan *p, const char *name, const am_op_def *op,
                                 const void *attrs)
{
    int s = 0;
    while (s < p->n_steps && strcmp(p->graph->names[p->steps[s].node_index], name) != 0) s++;
    if (s == p->n_steps)
        return am_fail(AM_ERR_ARG, "am_plan_set_step_attrs: no step runs node '%s'", name);
    pstep *st = &p->steps[s];
    if (st->node->op != op)
        return am_fail(AM_ERR_ARG, "am_plan_set_step_attrs: node '%s' runs %s, not %s", name,
                       st->node->op->name, op->name);
    /* The plan was placed for these shapes: the new attributes must agree. */
    am_shape *sh = malloc((size_t)(st->n_in + st->n_out) * sizeof(*sh));
    if (!sh) return am_fail(AM_ERR_OOM, "am_plan_set_step_attrs: out of memory");
    for (int i = 0; i < st->n_in; i++) sh[i] = p->values[st->vin[i]].shape;
    am_status rc = op->infer_shape(attrs, sh, st->n_in, sh + st->n_in, st->n_out);
    for (int i = 0; i < st->n_out && rc == AM_OK; i++)
        if (!am_shape_equal(sh[st->n_in + i], p->values[st->vout[i]].shape))
            rc = am_fail(AM_ERR_ARG, "am_plan_set_step_attrs: the attributes change output %d "
                         "of node '%s'", i, p->graph->names[st->node_index]);
    free(sh);
    if (rc != AM_OK) return rc;
    if (!st->attrs && !(st->attrs = malloc(op->attrs_size ? op->attrs_size : 1)))
        return am_fail(AM_ERR_OOM, "am_plan_set_step_attrs: out of memory");
    memcpy(st->attrs, attrs, op->attrs_size);
    return AM_OK;
}

int am_plan_num_outputs(const am_plan *p) { return p ? p->n_heads : 0; }

am_array *am_plan_output(am_plan *p, int i)
{
    if (!p || i < 0 || i >= p->n_heads) {
        am_fail(AM_ERR_ARG, "am_plan_output: no output %d", i);
        return NULL;
    }
    if (p->sized_only) {
        am_fail(AM_ERR_ARG, "am_plan_output: the plan was made with no_alloc; it has no outputs");
        return NULL;
    }
    const pvalue *v = &p->values[p->heads[i]];
    am_array *x = v->kind == PV_INPUT ? p->inputs[v->input].bound : v->array;
    if (!x) {
        am_fail(AM_ERR_ARG, "am_plan_output: output %d is the input '%s', which is not bound", i,
                p->inputs[v->input].name);
        return NULL;
    }
    return am_scope_own(am_retain(x));
}

const am_graph *am_plan_graph(const am_plan *p) { return p ? p->graph : NULL; }

am_plan_stats am_plan_get_stats(const am_plan *p)
{
    return p ? p->stats : (am_plan_stats){0};
}

static void print_value(const am_plan *p, int v, FILE *f)
{
    const pvalue *x = &p->values[v], *root = &p->values[pv_root(p, v)];
    char s[96];
    am_shape_format(&x->shape, s, sizeof(s));
    switch (root->kind) {
    case PV_ARENA: fprintf(f, " %s@%zu%s", s, arena_offset(p, v), x->head ? "(out)" : ""); break;
    case PV_INPUT: fprintf(f, " %s@%s", s, p->inputs[root->input].name); break;
    default: fprintf(f, " %s@const", s); break;
    }
}

void am_plan_print(const am_plan *p, FILE *f)
{
    if (!p || !f) return;
    for (int s = 0; s < p->n_steps; s++) {
        const pstep *st = &p->steps[s];
        fprintf(f, "%4d %-28s %-24s in:", s, p->graph->names[st->node_index], st->node->op->name);
        for (int k = 0; k < st->n_in; k++) print_value(p, st->vin[k], f);
        fprintf(f, "  out:");
        for (int k = 0; k < st->n_out; k++) {
            print_value(p, st->vout[k], f);
            if (st->req[k] == AM_REQ_INPLACE) fprintf(f, " (in place)");
        }
        fputc('\n', f);
    }
}

/* ---- for the plan cache of hybridized blocks (executor_impl.h) ----------------- */

int am_plan_num_inputs(const am_plan *p) { return p->n_inputs; }
const char *am_plan_input_name(const am_plan *p, int i) { return p->inputs[i].name; }

am_status am_plan_bind_index(am_plan *p, int i, am_array *x)
{
    pinput *in = &p->inputs[i];
    if (in->bound == x) return AM_OK;
    const pvalue *v = &p->values[in->value];
    if (!x->storage || !am_device_equal(x->storage->device, p->device) || x->dtype != v->dtype ||
        !am_shape_equal(x->shape, v->shape))
        return am_plan_bind(p, in->name, x); /* reports what is wrong */
    am_retain(x);
    am_release(in->bound);
    in->bound = x;
    p->stale = true;
    return AM_OK;
}

/* The arena to run in after handing the current one out: the spare one when
 * nothing else holds its bytes any more (every output handed out with it
 * was released), else a new one.  In a training loop two arenas alternate. */
static am_array *next_arena(am_plan *p)
{
    am_array *s = p->spare_arena;
    if (s && atomic_load(&s->refcount) == 1 && atomic_load(&s->storage->refcount) == 1) {
        p->spare_arena = NULL;
        return s;
    }
    return am_array_alloc(AM_SHAPE((int64_t)p->arena_bytes), AM_DTYPE_UINT8, p->device);
}

void am_plan_unbind_index(am_plan *p, int i)
{
    if (!p->inputs[i].bound) return;
    am_release(p->inputs[i].bound);
    p->inputs[i].bound = NULL;
    p->stale = true;
}

am_status am_plan_take_outputs(am_plan *p, am_array **out)
{
    am_array *old = p->arena_array;
    for (int h = 0; h < p->n_heads; h++) {
        const pvalue *v = &p->values[p->heads[h]];
        out[h] = am_retain(v->kind == PV_INPUT ? p->inputs[v->input].bound : v->array);
    }
    if (!(p->arena_array = next_arena(p))) {
        p->arena_array = old;
        for (int h = 0; h < p->n_heads; h++) am_release(out[h]);
        return am_fail(AM_ERR_OOM, "cannot allocate a plan arena of %zu bytes", p->arena_bytes);
    }
    p->arena = am_array_ptr(p->arena_array);
    for (int v = 0; v < p->n_values; v++) {
        pvalue *x = &p->values[v];
        if (!x->head || x->kind == PV_CONST) continue;
        am_release(x->array);
        if (!(x->array = am_array_new_view(p->arena_array, x->shape, x->dtype, arena_offset(p, v))))
            return am_last_status();
    }
    am_release(p->spare_arena); /* still in use: its holders keep its bytes alive */
    p->spare_arena = old;
    p->stale = true;
    return AM_OK;
}
