/* Graph nodes: creation, reference counting, hidden attributes, variables,
 * and tracing an op call with symbolic inputs into a new node. */
#include "symbol_impl.h"

/* What ndarray/ calls in this module (ndarray_impl.h, docs/design.md). */
static const am_symbol_hooks hooks = {
    .trace_call = am_trace_call,
    .node_release = am_node_release,
    .graph_retain = am_graph_retain,
    .graph_release = am_graph_release,
};

void am_symbol_install(void)
{
    am_symbol_hooks_install(&hooks);
}

am_node *am_node_create(const am_op_def *op, const void *attrs, const am_entry *inputs,
                        int n_in, int n_out)
{
    am_symbol_install();
    am_node *n = calloc(1, sizeof(*n));
    if (!n) goto out_oom;
    atomic_init(&n->refcount, 1);
    n->op = op;
    n->n_in = n_in;
    n->n_out = n_out;
    n->inputs = calloc((size_t)(n_in ? n_in : 1), sizeof(*n->inputs));
    n->shapes = calloc((size_t)n_out, sizeof(*n->shapes));
    n->dtypes = calloc((size_t)n_out, sizeof(*n->dtypes));
    if (!n->inputs || !n->shapes || !n->dtypes) goto out_free;
    if (op && op->attrs_size) {
        if (!(n->attrs = malloc(op->attrs_size))) goto out_free;
        memcpy(n->attrs, attrs, op->attrs_size);
        /* A control-flow node holds its subgraphs. */
        for (int k = 0; k < op->num_subgraphs; k++)
            if (((am_op_subgraphs *)n->attrs)->g[k]) am_graph_retain(((am_op_subgraphs *)n->attrs)->g[k]);
    }
    for (int i = 0; i < n_out; i++) {
        n->shapes[i].ndim = -1;
        n->dtypes[i] = AM_DTYPE_COUNT;
    }
    for (int i = 0; i < n_in; i++) {
        n->inputs[i] = inputs[i];
        am_node_retain(inputs[i].node);
    }
    return n;

out_free:
    free(n->inputs), free(n->shapes), free(n->dtypes), free(n);
out_oom:
    am_fail(AM_ERR_OOM, "cannot allocate a graph node");
    return NULL;
}

void am_node_retain(am_node *n)
{
    AM_ASSERT(atomic_load(&n->refcount) > 0);
    atomic_fetch_add(&n->refcount, 1);
}

static void node_free(am_node *n, am_node ***work, int *n_work, int *cap)
{
    for (int i = 0; i < n->n_in; i++) {
        am_node *in = n->inputs[i].node;
        int prev = atomic_fetch_sub(&in->refcount, 1);
        AM_ASSERT(prev > 0);
        if (prev != 1) continue;
        if (*n_work == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            am_node **w = realloc(*work, (size_t)*cap * sizeof(*w));
            AM_ASSERT(w != NULL);
            *work = w;
        }
        (*work)[(*n_work)++] = in;
    }
    for (int i = 0; i < n->n_extra; i++) free(n->extra[i].key), free(n->extra[i].value);
    am_release(n->value);
    for (int k = 0; n->op && n->attrs && k < n->op->num_subgraphs; k++)
        am_graph_release(((am_op_subgraphs *)n->attrs)->g[k]);
    free(n->extra), free(n->inputs), free(n->shapes), free(n->dtypes);
    free(n->attrs), free(n->name), free(n->origin), free((char *)n->site.file), free(n);
}

void am_node_release(am_node *n)
{
    if (!n) return;
    int prev = atomic_fetch_sub(&n->refcount, 1);
    AM_ASSERT(prev > 0);
    if (prev != 1) return;
    am_node **work = NULL;
    int n_work = 0, cap = 0;
    node_free(n, &work, &n_work, &cap);
    while (n_work > 0) node_free(work[--n_work], &work, &n_work, &cap);
    free(work);
}

am_status am_node_set_extra(am_node *n, const char *key, const char *value)
{
    for (int i = 0; i < n->n_extra; i++)
        if (strcmp(n->extra[i].key, key) == 0) {
            char *v = strdup(value);
            if (!v) return am_fail(AM_ERR_OOM, "out of memory");
            free(n->extra[i].value);
            n->extra[i].value = v;
            return AM_OK;
        }
    am_extra_attr *e = realloc(n->extra, (size_t)(n->n_extra + 1) * sizeof(*e));
    if (!e) return am_fail(AM_ERR_OOM, "out of memory");
    n->extra = e;
    e[n->n_extra].key = strdup(key);
    e[n->n_extra].value = strdup(value);
    if (!e[n->n_extra].key || !e[n->n_extra].value) {
        free(e[n->n_extra].key), free(e[n->n_extra].value);
        return am_fail(AM_ERR_OOM, "out of memory");
    }
    n->n_extra++;
    return AM_OK;
}

const char *am_node_get_extra(const am_node *n, const char *key)
{
    for (int i = 0; i < n->n_extra; i++)
        if (strcmp(n->extra[i].key, key) == 0) return n->extra[i].value;
    return NULL;
}

am_array *am_symbolic_array(am_node *n, int index)
{
    am_array *x = calloc(1, sizeof(*x));
    if (!x) {
        am_node_release(n);
        am_fail(AM_ERR_OOM, "cannot allocate an array");
        return NULL;
    }
    atomic_init(&x->refcount, 1);
    x->node = n;
    x->node_output = index;
    x->shape = n->shapes[index];
    x->dtype = n->dtypes[index];
    am_debug_count_array(1);
    return x;
}

am_status am_node_set_site(am_node *n, am_site at)
{
    free((char *)n->site.file), free(n->origin);
    n->site = (am_site){0};
    n->origin = NULL;
    if (!at.file) return AM_OK;
    const char *base = strrchr(at.file, '/');
    base = base ? base + 1 : at.file;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s:%d", base, at.line);
    char *file = strdup(base);
    if (!file || !(n->origin = strdup(buf))) {
        free(file);
        return am_fail(AM_ERR_OOM, "out of memory");
    }
    n->site = (am_site){file, at.line};
    return AM_OK;
}

am_status am_node_copy_site(am_node *dst, const am_node *src)
{
    am_status st = am_node_set_site(dst, src->site);
    if (st != AM_OK || src->site.file || !src->origin) return st;
    /* An origin set without a site (a node made elsewhere) is kept as it is. */
    if (!(dst->origin = strdup(src->origin))) return am_fail(AM_ERR_OOM, "out of memory");
    return AM_OK;
}

am_site am_node_site(const am_node *n, char *buf, size_t len)
{
    if (!n->site.file || len == 0) return (am_site){0};
    snprintf(buf, len, "%s", n->site.file);
    return (am_site){buf, n->site.line};
}

am_array *am_var_at(const char *name, am_shape shape, am_dtype dtype, am_site at)
{
    am_err_ctx c;
    am_array *x = NULL;
    am_err_push(&c, "am_var", at);
    if (!name || !name[0]) {
        am_fail(AM_ERR_ARG, "a variable needs a name");
    } else if (shape.ndim < -1 || shape.ndim > AM_MAX_NDIM) {
        am_fail(AM_ERR_SHAPE, "%s: ndim %d is outside [-1, %d]", name, shape.ndim, AM_MAX_NDIM);
    } else if ((unsigned)dtype > AM_DTYPE_COUNT) {
        am_fail(AM_ERR_DTYPE, "%s: unknown dtype %d", name, (int)dtype);
    } else {
        am_node *n = am_node_create(NULL, NULL, NULL, 0, 1);
        if (n && !(n->name = strdup(name))) am_fail(AM_ERR_OOM, "out of memory");
        if (n && n->name) {
            n->shapes[0] = shape;
            n->dtypes[0] = dtype;
            if (am_node_set_site(n, at) == AM_OK) x = am_scope_own(am_symbolic_array(n, 0));
            else am_node_release(n);
        } else {
            am_node_release(n);
        }
    }
    am_err_pop(&c);
    return x;
}

const char *am_symbol_name(const am_array *x)
{
    return x && x->node ? x->node->name : NULL;
}
