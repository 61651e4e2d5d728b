/* Splitting a gradient graph into the part that runs at the forward call and
 * the part that runs once head gradients are known, so a hybridized block
 * can be recorded as one autograd node: the forward graph also returns the
 * values backward reads, and the backward graph takes them as variables. */
#include "executor_impl.h"

#include <stdlib.h>

typedef struct split {
    am_graph *t;
    bool *fwd;          /* node i runs in the forward part */
    int *offset;        /* entry (i, k) is slot offset[i] + k */
    int *saved;         /* slot -> index into the saved list, or -1 */
    am_entry *list;     /* saved entries of t, in order */
    int n_saved;
} split;

static void split_free(split *s)
{
    free(s->fwd), free(s->offset), free(s->saved), free(s->list);
}

static int slot(const split *s, am_entry e)
{
    return s->offset[am_graph_index(s->t, e.node)] + e.index;
}

/* An entry the backward part reads from an op node of the forward part. */
static void mark_saved(split *s, am_entry e)
{
    int i = am_graph_index(s->t, e.node), k = slot(s, e);
    if (!s->fwd[i] || !e.node->op || s->saved[k] >= 0) return;
    s->saved[k] = s->n_saved;
    s->list[s->n_saved++] = e;
}

static am_status find_saved(split *s, int n_fwd)
{
    am_graph *t = s->t;
    int total = 0;
    s->fwd = calloc((size_t)t->n_nodes + 1, sizeof(bool));
    s->offset = malloc(((size_t)t->n_nodes + 1) * sizeof(int));
    if (!s->fwd || !s->offset) return am_fail(AM_ERR_OOM, "out of memory");
    for (int i = 0; i < t->n_nodes; i++) {
        s->offset[i] = total;
        total += t->nodes[i]->n_out;
    }
    s->offset[t->n_nodes] = total;
    s->saved = malloc(((size_t)total + 1) * sizeof(int));
    s->list = malloc(((size_t)total + 1) * sizeof(am_entry));
    if (!s->saved || !s->list) return am_fail(AM_ERR_OOM, "out of memory");
    for (int k = 0; k < total; k++) s->saved[k] = -1;
    for (int h = 0; h < n_fwd; h++) s->fwd[am_graph_index(t, t->heads[h].node)] = true;
    am_graph_mark_ancestors(t, s->fwd);
    for (int i = 0; i < t->n_nodes; i++) {
        const am_node *n = t->nodes[i];
        for (int k = 0; !s->fwd[i] && k < n->n_in; k++) mark_saved(s, n->inputs[k]);
    }
    for (int h = n_fwd; h < t->n_heads; h++) mark_saved(s, t->heads[h]);
    return AM_OK;
}

/* A variable named name standing for output k of forward node n. */
static am_node *saved_var(const am_node *n, int k, const char *name)
{
    am_node *v = am_node_create(NULL, NULL, NULL, 0, 1);
    if (v && !(v->name = strdup(name))) {
        am_node_release(v);
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    if (v) {
        v->shapes[0] = n->shapes[k];
        v->dtypes[0] = n->dtypes[k];
    }
    return v;
}

/* The backward graph: t's backward nodes over variables for the saved
 * entries (t's own variables and head gradients are shared). */
static am_graph *backward_graph(split *s, int n_fwd, char **names)
{
    am_graph *t = s->t, *b = NULL;
    am_rewriter rw;
    if (am_rw_init(&rw, t) != AM_OK) return NULL;
    for (int i = 0; i < t->n_nodes; i++) {
        am_node *n = t->nodes[i];
        if (!s->fwd[i] || !n->op) {
            if (!am_rw_keep(&rw, i)) return am_rw_fail(&rw);
            continue;
        }
        for (int k = 0; k < n->n_out; k++) {
            int j = s->saved[s->offset[i] + k];
            am_node *v = j >= 0 ? saved_var(n, k, names[j]) : NULL;
            if (j >= 0 && !v) return am_rw_fail(&rw);
            if (v) am_rw_set(&rw, i, k, (am_entry){v, 0});
            am_node_release(v);
        }
    }
    int n_bwd = t->n_heads - n_fwd;
    am_entry *heads = malloc(((size_t)n_bwd + 1) * sizeof(*heads));
    if (heads) {
        for (int h = 0; h < n_bwd; h++) heads[h] = am_rw_get(&rw, t->heads[n_fwd + h]);
        b = am_graph_from_heads(heads, n_bwd);
    } else {
        am_fail(AM_ERR_OOM, "out of memory");
    }
    free(heads);
    am_rw_fail(&rw); /* frees the map; b holds its own references */
    return b;
}

am_status am_graph_split_backward(am_graph *t, int n_fwd, am_graph **fwd, am_graph **bwd,
                                  char ***saved_names, int *n_saved)
{
    split s = {.t = t};
    am_entry *heads = NULL;
    char **names = NULL;
    *fwd = *bwd = NULL;
    *saved_names = NULL;
    *n_saved = 0;
    am_status st = find_saved(&s, n_fwd);
    if (st == AM_OK && !(names = calloc((size_t)s.n_saved + 1, sizeof(char *))))
        st = am_fail(AM_ERR_OOM, "out of memory");
    for (int j = 0; st == AM_OK && j < s.n_saved; j++) {
        char buf[160];
        snprintf(buf, sizeof(buf), "%s_saved%d", t->names[am_graph_index(t, s.list[j].node)],
                 s.list[j].index);
        if (!(names[j] = strdup(buf))) st = am_fail(AM_ERR_OOM, "out of memory");
    }
    if (st == AM_OK && !(heads = malloc(((size_t)n_fwd + (size_t)s.n_saved + 1) * sizeof(*heads))))
        st = am_fail(AM_ERR_OOM, "out of memory");
    if (st == AM_OK) {
        for (int h = 0; h < n_fwd; h++) heads[h] = t->heads[h];
        for (int j = 0; j < s.n_saved; j++) heads[n_fwd + j] = s.list[j];
        if (!(*fwd = am_graph_from_heads_named(heads, n_fwd + s.n_saved, t)) ||
            !(*bwd = backward_graph(&s, n_fwd, names)))
            st = am_last_status();
    }
    if (st == AM_OK) {
        *saved_names = names;
        *n_saved = s.n_saved;
    } else {
        for (int j = 0; names && j < s.n_saved; j++) free(names[j]);
        free(names);
        am_graph_release(*fwd), am_graph_release(*bwd);
        *fwd = *bwd = NULL;
    }
    free(heads);
    split_free(&s);
    return st;
}
