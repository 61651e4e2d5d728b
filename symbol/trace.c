/* Tracing: an op called with a symbolic input adds a node to the graph
 * instead of running.  Shapes and dtypes are inferred by the same registry
 * functions as eager calls, so a traced graph means what the eager code
 * means. */
#include "symbol_impl.h"

#include <ctype.h>

static _Thread_local const am_trace_scope *scope_top;

void am_trace_scope_push(am_trace_scope *s, const char *prefix, am_site origin)
{
    s->prefix = prefix;
    s->origin = origin;
    s->prev = scope_top;
    scope_top = s;
}

void am_trace_scope_pop(am_trace_scope *s)
{
    AM_ASSERT(scope_top == s);
    scope_top = s->prev;
}

const am_trace_scope *am_trace_scope_top(void) { return scope_top; }

/* "fc1.fullyconnected" for a FullyConnected node traced inside block fc1. */
static am_status scope_name(am_node *n)
{
    if (!scope_top || !scope_top->prefix || !scope_top->prefix[0]) return AM_OK;
    size_t len = strlen(scope_top->prefix) + strlen(n->op->name) + 2;
    if (!(n->name = malloc(len))) return am_fail(AM_ERR_OOM, "out of memory");
    int k = snprintf(n->name, len, "%s.", scope_top->prefix);
    for (const char *p = n->op->name; *p; p++) n->name[k++] = (char)tolower((unsigned char)*p);
    n->name[k] = '\0';
    return AM_OK;
}

/* The entry an input stands for: a symbolic array's node, or a constant
 * captured into a new variable node. */
static am_status input_entry(am_array *x, am_entry *e)
{
    if (x->node) {
        *e = (am_entry){x->node, x->node_output};
        return AM_OK;
    }
    am_node *n = am_node_create(NULL, NULL, NULL, 0, 1);
    if (!n) return am_last_status();
    n->shapes[0] = x->shape;
    n->dtypes[0] = x->dtype;
    n->value = am_retain(x);
    *e = (am_entry){n, 0};
    return AM_OK;
}

/* Unknown variable shapes that inference filled (FullyConnected's weight)
 * are written back, as MXNet's deferred initialisation does. */
static void fill_variables(am_entry *e, const am_shape *shapes, const am_dtype *dtypes, int n_in)
{
    for (int i = 0; i < n_in; i++) {
        am_node *v = e[i].node;
        if (v->op) continue;
        if (v->shapes[0].ndim < 0 && shapes[i].ndim >= 0) v->shapes[0] = shapes[i];
        if (v->dtypes[0] == AM_DTYPE_COUNT && dtypes[i] != AM_DTYPE_COUNT) v->dtypes[0] = dtypes[i];
    }
}

static am_status infer_node(am_node *n, const void *attrs, am_shape *ish, am_dtype *ity)
{
    const am_op_def *op = n->op;
    am_status st = am_op_infer(op, attrs, ish, ity, n->n_in, n->shapes, n->dtypes, n->n_out, NULL);
    for (int k = 0; k < n->n_out && st == AM_OK; k++) {
        char role[32];
        snprintf(role, sizeof(role), "output %d", k);
        st = am_shape_fits(&n->shapes[k], n->dtypes[k], role);
    }
    return st;
}

am_status am_trace_call(const am_op_def *op, const void *attrs, am_array *const *in, int n_in,
                        am_array **out, int n_out, am_site at)
{
    am_entry e[AM_MAX_OP_IO];
    am_shape ish[AM_MAX_OP_IO];
    am_dtype ity[AM_MAX_OP_IO];
    am_status st = AM_OK;
    int made = 0, n_all = am_op_num_outputs(op, attrs);
    for (; made < n_in && st == AM_OK; made++) {
        st = input_entry(in[made], &e[made]);
        ish[made] = in[made]->shape;
        ity[made] = in[made]->dtype;
    }
    am_node *n = st == AM_OK ? am_node_create(op, attrs, e, n_in, n_all) : NULL;
    /* The node took its own references; drop those of new constant nodes. */
    for (int i = 0; i < made; i++)
        if (!in[i]->node) am_node_release(e[i].node);
    if (!n) return am_last_status();
    if ((st = infer_node(n, attrs, ish, ity)) != AM_OK) goto out;
    fill_variables(n->inputs, ish, ity, n_in);
    if ((st = scope_name(n)) != AM_OK) goto out;
    if (scope_top && scope_top->origin.file) at = scope_top->origin;
    if ((st = am_node_set_site(n, at)) != AM_OK) goto out;
    for (int k = 0; k < n_out; k++) {
        am_node_retain(n);
        if (!(out[k] = am_scope_own(am_symbolic_array(n, k)))) {
            st = am_last_status();
            break;
        }
    }
out:
    am_node_release(n);
    return st;
}
