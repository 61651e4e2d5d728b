/* Graphs: an indexed, topologically ordered snapshot of the nodes behind a
 * set of heads, with unique names, and the queries MXNet's Symbol offers. */
#include "symbol_impl.h"

#include <ctype.h>

typedef struct frame {
    am_node *n;
    int next;
} frame;

static bool push(frame **stack, int *depth, int *cap, am_node *n)
{
    if (*depth == *cap) {
        int c = *cap ? *cap * 2 : 64;
        frame *s = realloc(*stack, (size_t)c * sizeof(*s));
        if (!s) return false;
        *stack = s;
        *cap = c;
    }
    (*stack)[(*depth)++] = (frame){n, 0};
    return true;
}

static bool append(am_graph *g, int *cap, am_node *n)
{
    if (g->n_nodes == *cap) {
        int c = *cap ? *cap * 2 : 64;
        am_node **s = realloc(g->nodes, (size_t)c * sizeof(*s));
        if (!s) return false;
        g->nodes = s;
        *cap = c;
    }
    am_node_retain(n);
    g->nodes[g->n_nodes] = n;
    return am_ptrmap_put(&g->index, n, g->n_nodes++);
}

/* Iterative post-order over inputs: producers come before consumers, and a
 * variable just before its first consumer, as MXNet writes graphs.  The index
 * map holds -2 for nodes on the stack, their position once placed. */
static am_status topo_order(am_graph *g, const am_entry *heads, int n_heads)
{
    frame *stack = NULL;
    int depth = 0, cap_stack = 0, cap_nodes = 0;
    bool ok = true;
    for (int h = 0; h < n_heads && ok; h++) {
        if (am_ptrmap_get(&g->index, heads[h].node, -1) != -1) continue;
        ok = push(&stack, &depth, &cap_stack, heads[h].node) &&
             am_ptrmap_put(&g->index, heads[h].node, -2);
        while (ok && depth > 0) {
            frame *f = &stack[depth - 1];
            am_node *child = NULL;
            while (f->next < f->n->n_in && !child) {
                am_node *c = f->n->inputs[f->next++].node;
                if (am_ptrmap_get(&g->index, c, -1) == -1) child = c;
            }
            if (child)
                ok = push(&stack, &depth, &cap_stack, child) &&
                     am_ptrmap_put(&g->index, child, -2);
            else
                ok = append(g, &cap_nodes, stack[--depth].n);
        }
    }
    free(stack);
    return ok ? AM_OK : am_fail(AM_ERR_OOM, "out of memory building a graph");
}

/* "FullyConnected" -> "fullyconnected", "_plus_scalar" -> "_plus_scalar". */
static void base_name(const am_node *n, char *buf, size_t len)
{
    snprintf(buf, len, "%s", n->name ? n->name : n->op ? n->op->name : "_const");
    if (!n->name)
        for (char *p = buf; *p; p++) *p = (char)tolower((unsigned char)*p);
}

/* A map from strings to ints (open addressing; the strings are borrowed),
 * so that naming stays linear in the number of nodes. */
typedef struct am_name_map {
    const char **keys;
    int *vals;
    size_t cap, n;
} name_map;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

/* The value of name, or NULL when it is absent. */
static int *map_find(const name_map *m, const char *name)
{
    if (!m->cap) return NULL;
    for (size_t i = hash_str(name) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (strcmp(m->keys[i], name) == 0) return &m->vals[i];
    return NULL;
}

/* Adds name (absent) with value val; NULL when out of memory. */
static int *map_add(name_map *m, const char *name, int val)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        name_map bigger = {calloc(cap, sizeof(char *)), calloc(cap, sizeof(int)), cap, 0};
        if (!bigger.keys || !bigger.vals) {
            free(bigger.keys), free(bigger.vals);
            return NULL;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) map_add(&bigger, m->keys[i], m->vals[i]);
        free(m->keys), free(m->vals);
        *m = bigger;
    }
    size_t i = hash_str(name) & (m->cap - 1);
    while (m->keys[i]) i = (i + 1) & (m->cap - 1);
    m->keys[i] = name;
    m->vals[i] = val;
    m->n++;
    return &m->vals[i];
}

/* Per base name, the next counter to try (the map owns its keys here). */
static int *next_counter(name_map *cs, const char *base)
{
    int *k = map_find(cs, base);
    if (k) return k;
    char *key = strdup(base);
    if (!key || !(k = map_add(cs, key, 0))) free(key);
    return k;
}

/* Variables keep their names (two different variables may not share one);
 * other nodes keep a unique given name, else get "<op><k>" with k counting
 * per op name within this graph. */
static am_status assign_names(am_graph *g, const am_graph *hint)
{
    name_map cs = {0};
    am_status st = AM_OK;
    if (!(g->names = calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof(*g->names))) ||
        !(g->by_name = calloc(1, sizeof(*g->by_name))))
        return am_fail(AM_ERR_OOM, "out of memory");
    name_map taken = {0};  /* name -> position, kept as g->by_name */
    for (int i = 0; i < g->n_nodes && st == AM_OK; i++) {
        am_node *n = g->nodes[i];
        if (n->op || !n->name) continue;
        if (map_find(&taken, n->name))
            st = am_fail(AM_ERR_ARG, "two different variables are named '%s'", n->name);
        else if (!(g->names[i] = strdup(n->name)) || !map_add(&taken, g->names[i], i))
            st = am_fail(AM_ERR_OOM, "out of memory");
    }
    for (int i = 0; i < g->n_nodes && st == AM_OK; i++) {
        am_node *n = g->nodes[i];
        char buf[128], base[96];
        if (g->names[i]) continue;
        int j = hint && !n->name ? am_graph_index(hint, n) : -1;
        const char *want = j >= 0 ? hint->names[j] : n->name;
        if (want && !map_find(&taken, want)) {
            g->names[i] = strdup(want);
        } else {
            base_name(n, base, sizeof(base));
            int *k = next_counter(&cs, base);
            if (!k) { st = am_fail(AM_ERR_OOM, "out of memory"); break; }
            do snprintf(buf, sizeof(buf), "%s%d", base, (*k)++);
            while (map_find(&taken, buf));
            g->names[i] = strdup(buf);
        }
        if (!g->names[i] || !map_add(&taken, g->names[i], i))
            st = am_fail(AM_ERR_OOM, "out of memory");
    }
    *g->by_name = taken;
    for (size_t i = 0; i < cs.cap; i++) free((char *)cs.keys[i]);
    free(cs.keys), free(cs.vals);
    return st;
}

am_graph *am_graph_from_heads_named(const am_entry *heads, int n_heads, const am_graph *names_from)
{
    am_symbol_install();
    am_graph *g = calloc(1, sizeof(*g));
    if (!g) {
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    atomic_init(&g->refcount, 1);
    g->heads = calloc((size_t)(n_heads ? n_heads : 1), sizeof(*g->heads));
    if (!g->heads) {
        am_fail(AM_ERR_OOM, "out of memory");
        goto out_release;
    }
    g->n_heads = n_heads;
    for (int h = 0; h < n_heads; h++) {
        g->heads[h] = heads[h];
        am_node_retain(heads[h].node);
    }
    if (topo_order(g, heads, n_heads) != AM_OK || assign_names(g, names_from) != AM_OK)
        goto out_release;
    return g;

out_release:
    am_graph_release(g);
    return NULL;
}

am_graph *am_graph_from_heads(const am_entry *heads, int n_heads)
{
    return am_graph_from_heads_named(heads, n_heads, NULL);
}

am_graph *am_graph_create(am_array *const *outputs, int n)
{
    am_entry heads[AM_MAX_OP_IO * 4];
    if (n < 1 || n > (int)(sizeof(heads) / sizeof(heads[0]))) {
        am_fail(AM_ERR_ARG, "am_graph_create: %d outputs (1 to %d)", n,
                (int)(sizeof(heads) / sizeof(heads[0])));
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        if (!outputs[i]) {
            if (am_last_status() == AM_OK) am_fail(AM_ERR_ARG, "am_graph_create: output %d is NULL", i);
            return NULL;
        }
        if (!outputs[i]->node) {
            am_fail(AM_ERR_ARG, "am_graph_create: output %d is a concrete array, not a symbol", i);
            return NULL;
        }
        heads[i] = (am_entry){outputs[i]->node, outputs[i]->node_output};
    }
    return am_graph_from_heads(heads, n);
}

am_graph *am_graph_retain(am_graph *g)
{
    if (g) {
        AM_ASSERT(atomic_load(&g->refcount) > 0);
        atomic_fetch_add(&g->refcount, 1);
    }
    return g;
}

void am_graph_release(am_graph *g)
{
    if (!g) return;
    int prev = atomic_fetch_sub(&g->refcount, 1);
    AM_ASSERT(prev > 0);
    if (prev != 1) return;
    for (int i = 0; i < g->n_heads; i++) am_node_release(g->heads[i].node);
    for (int i = 0; i < g->n_nodes; i++) am_node_release(g->nodes[i]);
    for (int i = 0; g->names && i < g->n_nodes; i++) free(g->names[i]);
    am_ptrmap_free(&g->index);
    if (g->by_name) free(g->by_name->keys), free(g->by_name->vals), free(g->by_name);
    am_json_source_free(g->source);
    free(g->names), free(g->nodes), free(g->heads), free(g);
}

int am_graph_index(const am_graph *g, const am_node *n)
{
    return am_ptrmap_get(&g->index, n, -1);
}

int am_graph_find_name(const am_graph *g, const char *name)
{
    const int *i = g->by_name && name ? map_find(g->by_name, name) : NULL;
    return i ? *i : -1;
}

int am_graph_num_nodes(const am_graph *g) { return g ? g->n_nodes : 0; }
int am_graph_num_outputs(const am_graph *g) { return g ? g->n_heads : 0; }

bool *am_graph_aux_flags(const am_graph *g)
{
    bool *aux = calloc((size_t)g->n_nodes + 1, sizeof(*aux));
    if (!aux) {
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const am_node *n = g->nodes[i];
        for (int k = 0; n->op && k < n->n_in; k++)
            if (!n->inputs[k].node->op && am_op_input_is_aux(n->op, n->attrs, k))
                aux[am_graph_index(g, n->inputs[k].node)] = true;
    }
    return aux;
}

static int list_variables(const am_graph *g, const char **names, int cap, int want_aux)
{
    int count = 0;
    bool *aux = want_aux >= 0 ? am_graph_aux_flags(g) : NULL;
    if (want_aux >= 0 && !aux) return -1;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i]->op || g->nodes[i]->value) continue; /* constants need no binding */
        if (aux && aux[i] != (want_aux == 1)) continue;
        if (count < cap) names[count] = g->names[i];
        count++;
    }
    free(aux);
    return count;
}

int am_graph_list_arguments(const am_graph *g, const char **names, int cap)
{
    return list_variables(g, names, cap, 0);
}

int am_graph_list_auxiliary_states(const am_graph *g, const char **names, int cap)
{
    return list_variables(g, names, cap, 1);
}

int am_graph_list_inputs(const am_graph *g, const char **names, int cap)
{
    return list_variables(g, names, cap, -1);
}

int am_graph_list_outputs(const am_graph *g, char **names, int cap)
{
    for (int h = 0; h < g->n_heads && h < cap; h++) {
        const am_node *n = g->heads[h].node;
        const char *base = g->names[am_graph_index(g, n)];
        char buf[160];
        int vis = n->op ? am_op_num_visible(n->op, n->attrs) : 1;
        if (!n->op) snprintf(buf, sizeof(buf), "%s", base);
        else if (vis == 1) snprintf(buf, sizeof(buf), "%s_output", base);
        else snprintf(buf, sizeof(buf), "%s_output%d", base, g->heads[h].index);
        names[h] = strdup(buf);
        if (!names[h]) {
            while (h-- > 0) free(names[h]);
            am_fail(AM_ERR_OOM, "out of memory");
            return -1;
        }
    }
    return g->n_heads;
}

am_array *am_graph_output(const am_graph *g, int i)
{
    if (!g || i < 0 || i >= g->n_heads) {
        am_fail(AM_ERR_ARG, "am_graph_output: no output %d", i);
        return NULL;
    }
    am_node_retain(g->heads[i].node);
    return am_scope_own(am_symbolic_array(g->heads[i].node, g->heads[i].index));
}

bool am_graph_input_is_grad_only(const am_graph *g, int i)
{
    const am_node *v = g->nodes[i];
    bool read = false;
    if (v->op || v->value) return false;
    for (int h = 0; h < g->n_heads; h++)
        if (g->heads[h].node == v) return false;
    for (int j = i + 1; j < g->n_nodes; j++) {
        const am_node *n = g->nodes[j];
        for (int k = 0; n->op && k < n->n_in; k++) {
            if (n->inputs[k].node != v) continue;
            if (k >= 32 || !(n->op->grad_only_inputs & (1u << k))) return false;
            read = true;
        }
    }
    return read;
}
