/* Helpers the GEMM passes share.  Joining GEMM operands for the gemm_sum and
 * gemm_concat passes: tensors seen as matrices and concatenated along one
 * axis, each distinct join built once per pass run (the gates gradient of an
 * RNN is joined for two weights); which values constant folding will
 * compute, whose joins are free; and comparing attribute sets. */
#include "executor_impl.h"

/* One join made so far: its inputs, form and axis, and the result. */
struct am_join {
    am_entry *in;
    int n, form, axis;
    am_entry out;
};

void am_join_cache_free(am_join_cache *c)
{
    for (int i = 0; i < c->n; i++) {
        free(c->items[i].in);
        am_node_release(c->items[i].out.node);
    }
    free(c->items);
    *c = (am_join_cache){0};
}

static bool same_join(const struct am_join *j, const am_entry *in, int n, int form, int axis)
{
    if (j->n != n || j->form != form || j->axis != axis) return false;
    for (int k = 0; k < n; k++)
        if (j->in[k].node != in[k].node || j->in[k].index != in[k].index) return false;
    return true;
}

static am_status remember(am_join_cache *c, const am_entry *in, int n, int form, int axis,
                          am_entry out)
{
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 8;
        struct am_join *items = realloc(c->items, (size_t)cap * sizeof(*items));
        if (!items) return am_fail(AM_ERR_OOM, "out of memory");
        c->items = items;
        c->cap = cap;
    }
    struct am_join *j = &c->items[c->n];
    if (!(j->in = malloc((size_t)n * sizeof(am_entry))))
        return am_fail(AM_ERR_OOM, "out of memory");
    memcpy(j->in, in, (size_t)n * sizeof(am_entry));
    j->n = n, j->form = form, j->axis = axis, j->out = out;
    am_node_retain(out.node);
    c->n++;
    return AM_OK;
}

am_shape am_join_matrix_shape(am_shape s, int form)
{
    if (form == AM_JOIN_AS_IS || s.ndim < 1) return s;
    int64_t first = s.dim[0], last = s.dim[s.ndim - 1], size = am_shape_size(&s);
    if (form == AM_JOIN_FIRST) return AM_SHAPE(first, first ? size / first : 0);
    return AM_SHAPE(last ? size / last : 0, last);
}

/* xs joined along axis; past AM_MAX_OP_IO inputs, joins of joins. */
static am_array *concat_tree(am_array **xs, int n, int axis, am_site at)
{
    if (n == 1) return xs[0];
    if (n <= AM_MAX_OP_IO) return am_concat_at(xs, n, axis, at);
    am_array *parts[AM_MAX_OP_IO];
    int np = 0, per = (n + AM_MAX_OP_IO - 1) / AM_MAX_OP_IO;
    for (int i = 0; i < n; i += per) {
        if (!(parts[np] = concat_tree(xs + i, n - i < per ? n - i : per, axis, at))) return NULL;
        np++;
    }
    return concat_tree(parts, np, axis, at);
}

am_array *am_join(am_join_cache *c, const am_entry *in, int n, int form, int axis, am_site at)
{
    for (int i = 0; i < c->n; i++)
        if (same_join(&c->items[i], in, n, form, axis)) return am_rw_symbol(c->items[i].out);
    am_array **xs = malloc((size_t)n * sizeof(*xs)), *y = NULL;
    if (!xs) {
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    bool ok = true;
    for (int k = 0; k < n && ok; k++) {
        const am_shape *s = &in[k].node->shapes[in[k].index];
        am_shape m = am_join_matrix_shape(*s, form);
        xs[k] = am_rw_symbol(in[k]);
        if (!am_shape_equal(m, *s)) ok = (xs[k] = am_reshape_at(xs[k], m, false, at)) != NULL;
    }
    if (ok) y = concat_tree(xs, n, axis, at);
    free(xs);
    if (y && remember(c, in, n, form, axis, am_entry_of(y)) != AM_OK) return NULL;
    return y;
}

/* cst[i]: node i of g is a constant, or a deterministic op without
 * auxiliary states over constants only, which constant folding computes. */
bool *am_graph_constants(const am_graph *g)
{
    bool *cst = calloc((size_t)g->n_nodes + 1, sizeof(bool));
    if (!cst) {
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const am_node *n = g->nodes[i];
        cst[i] = am_node_is_const(n) || (n->op && n->n_in > 0 && !(n->op->flags & AM_OP_RANDOM) &&
                                          n->op->num_aux == 0);
        for (int k = 0; n->op && k < n->n_in && cst[i]; k++)
            cst[i] = cst[am_graph_index(g, n->inputs[k].node)];
    }
    return cst;
}

bool am_attrs_print_equal(const am_op_def *op, const void *a, const void *b)
{
    char sa[256], sb[256];
    for (const am_attr_field *f = op->attrs; f && f->name; f++)
        if (strcmp(am_attr_format(f, a, sa, sizeof(sa)), am_attr_format(f, b, sb, sizeof(sb))))
            return false;
    return true;
}

