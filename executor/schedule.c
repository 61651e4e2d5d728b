/* The order a plan runs its nodes in.  A graph's own order is a post-order
 * that visits inputs left to right, which computes every short independent
 * branch early (an unrolled RNN's 32 input projections before the first
 * recurrent step) and keeps all their results alive.  Here each node's
 * inputs are visited deepest first, so a short branch runs just before the
 * node that consumes it (the order Sethi-Ullman numbering gives trees). */
#include "executor_impl.h"

typedef struct frame {
    int node, next;
} frame;

typedef struct sched {
    const am_graph *g;
    int *depth, *kids, *kid_at; /* inputs of node i, deepest first: kids[kid_at[i] ..] */
} sched;

static int by_depth_desc(const void *a, const void *b, void *arg)
{
    const int *depth = arg, x = *(const int *)a, y = *(const int *)b;
    if (depth[x] != depth[y]) return depth[y] - depth[x];
    return x - y;
}

static void sort_inputs(sched *s)
{
    const am_graph *g = s->g;
    int at = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const am_node *n = g->nodes[i];
        s->kid_at[i] = at;
        s->depth[i] = 0;
        for (int k = 0; k < n->n_in; k++) {
            int j = am_graph_index(g, n->inputs[k].node);
            s->kids[at++] = j;
            if (s->depth[j] + 1 > s->depth[i]) s->depth[i] = s->depth[j] + 1;
        }
        qsort_r(s->kids + s->kid_at[i], (size_t)n->n_in, sizeof(int), by_depth_desc, s->depth);
    }
    s->kid_at[g->n_nodes] = at;
}

/* Iterative post-order from head h; state: 0 new, 1 on the stack, 2 placed. */
static void visit(const sched *s, int h, char *state, frame *stack, int *order, int *n_order)
{
    int depth = 0;
    stack[depth++] = (frame){h, 0};
    state[h] = 1;
    while (depth > 0) {
        frame *f = &stack[depth - 1];
        int end = s->kid_at[f->node + 1] - s->kid_at[f->node], child = -1;
        while (f->next < end && child < 0) {
            int c = s->kids[s->kid_at[f->node] + f->next++];
            if (state[c] == 0) child = c;
        }
        if (child >= 0) {
            state[child] = 1;
            stack[depth++] = (frame){child, 0};
        } else {
            state[f->node] = 2;
            order[(*n_order)++] = f->node;
            depth--;
        }
    }
}

am_status am_schedule(const am_graph *g, int *order)
{
    int n_in = 0;
    for (int i = 0; i < g->n_nodes; i++) n_in += g->nodes[i]->n_in;
    sched s = {g, malloc(((size_t)g->n_nodes + 1) * sizeof(int)), malloc(((size_t)n_in + 1) * sizeof(int)),
               malloc(((size_t)g->n_nodes + 1) * sizeof(int))};
    char *state = calloc((size_t)g->n_nodes + 1, 1);
    frame *stack = malloc(((size_t)g->n_nodes + 1) * sizeof(frame));
    am_status st = AM_OK;
    if (!s.depth || !s.kids || !s.kid_at || !state || !stack) {
        st = am_fail(AM_ERR_OOM, "out of memory scheduling a graph");
    } else {
        int n_order = 0;
        sort_inputs(&s);
        for (int h = 0; h < g->n_heads; h++) {
            int i = am_graph_index(g, g->heads[h].node);
            if (state[i] == 0) visit(&s, i, state, stack, order, &n_order);
        }
        AM_ASSERT(n_order == g->n_nodes);
    }
    free(s.depth), free(s.kids), free(s.kid_at), free(state), free(stack);
    return st;
}
