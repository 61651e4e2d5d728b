/* Common-subexpression elimination: in one forward sweep, a node with the
 * op, attributes and (already merged) inputs of an earlier one, or a small
 * constant with the same bytes, is replaced by that earlier node. */
#include "executor_impl.h"

/* Constants up to this size are compared byte for byte. */
#define CSE_CONST_MAX_BYTES (64 * 1024)

typedef struct cse_slot {
    uint64_t hash;
    char *key;          /* op nodes: op, inputs and attributes as text; NULL: a constant */
    am_node *rep;       /* the node of the new graph that others merge into (borrowed) */
    int old;            /* its index in the old graph, for the log */
} cse_slot;

typedef struct cse_table {
    cse_slot *slots;
    size_t cap;         /* a power of two, at least twice the nodes */
} cse_table;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

#define FNV_SEED 1469598103934665603ull

/* ---- keys ---------------------------------------------------------------------- */

/* The key of an op node: its op, its inputs as new-graph entries, and each
 * schema field as MXNet spells it (structs have padding: no memcmp).  A
 * malloc'd string, or NULL on out of memory. */
static char *op_key(const am_node *n, const am_entry *in)
{
    char *buf = NULL, val[512];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    fprintf(f, "%s/%d/%d", n->op->name, n->n_in, n->n_out);
    for (int k = 0; k < n->n_in; k++) fprintf(f, "|%p:%d", (void *)in[k].node, in[k].index);
    for (const am_attr_field *a = n->op->attrs; a && a->name && n->attrs; a++)
        fprintf(f, "|%s=%s", a->name, am_attr_format(a, n->attrs, val, sizeof(val)));
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* A constant small enough, and in host memory, to compare by its bytes. */
static bool const_comparable(const am_node *n)
{
    const am_array *v = n->value;
    return am_node_is_const(n) && v->storage && v->storage->device.type == AM_DEVICE_CPU &&
           am_array_size(v) * (int64_t)am_dtype_size(v->dtype) <= CSE_CONST_MAX_BYTES;
}

static uint64_t const_hash(const am_node *n)
{
    const am_array *v = n->value;
    uint64_t h = fnv(FNV_SEED, &v->dtype, sizeof(v->dtype));
    h = fnv(h, &v->shape.ndim, sizeof(v->shape.ndim));
    h = fnv(h, v->shape.dim, (size_t)v->shape.ndim * sizeof(v->shape.dim[0]));
    return fnv(h, am_array_ptr(v), (size_t)am_array_size(v) * am_dtype_size(v->dtype));
}

static bool const_equal(const am_node *a, const am_node *b)
{
    const am_array *x = a->value, *y = b->value;
    return x->dtype == y->dtype && am_shape_equal(x->shape, y->shape) &&
           memcmp(am_array_ptr(x), am_array_ptr(y),
                  (size_t)am_array_size(x) * am_dtype_size(x->dtype)) == 0;
}

/* ---- the table ------------------------------------------------------------------- */

/* The slot holding an equal node, or the empty slot where it would go. */
static cse_slot *find(cse_table *t, uint64_t hash, const char *key, const am_node *konst)
{
    for (size_t i = hash & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        cse_slot *s = &t->slots[i];
        if (!s->rep) return s;
        if (s->hash != hash || !s->key != !key) continue;
        if (key ? strcmp(s->key, key) == 0 : const_equal(s->rep, konst)) return s;
    }
}

static void table_free(cse_table *t)
{
    for (size_t i = 0; i < t->cap; i++) free(t->slots[i].key);
    free(t->slots);
}

/* ---- the pass --------------------------------------------------------------------- */

/* Node i may be merged with an equal earlier one: not a random op (two
 * draws differ), not an op that mutates auxiliary states, and not a
 * variable (each is its own input) unless it is a small constant. */
static bool mergeable(const am_node *n)
{
    if (!n->op) return const_comparable(n);
    return !(n->op->flags & AM_OP_RANDOM) && !am_op_has_aux(n->op);
}

/* Merges node i into an equal earlier node, or keeps it and records it as
 * the one later equals merge into. */
static am_status cse_node(am_rewriter *rw, cse_table *t, int i, am_pass_ctx *ctx)
{
    am_graph *g = rw->g;
    am_node *n = g->nodes[i];
    am_entry in[AM_MAX_OP_IO * 4];
    char *key = NULL;
    uint64_t hash;
    AM_ASSERT(n->n_in <= (int)(sizeof(in) / sizeof(in[0])));
    if (n->op) {
        for (int k = 0; k < n->n_in; k++) in[k] = am_rw_get(rw, n->inputs[k]);
        if (!(key = op_key(n, in))) return am_fail(AM_ERR_OOM, "out of memory");
        hash = fnv(FNV_SEED, key, strlen(key));
    } else {
        hash = const_hash(n);
    }
    cse_slot *s = find(t, hash, key, n);
    if (s->rep) {
        for (int k = 0; k < n->n_out; k++) am_rw_set(rw, i, k, (am_entry){s->rep, k});
        ctx->changes++;
        am_pass_log(ctx, "merged '%s' into '%s' (%s)", g->names[i], g->names[s->old],
                    n->op ? n->op->name : "constant");
        free(key);
        return AM_OK;
    }
    am_node *c = am_rw_keep(rw, i);
    if (!c) {
        free(key);
        return am_last_status();
    }
    *s = (cse_slot){.hash = hash, .key = key, .rep = c, .old = i};
    return AM_OK;
}

am_graph *am_pass_cse(am_graph *g, am_pass_ctx *ctx)
{
    am_rewriter rw;
    cse_table t = {.cap = 16};
    while (t.cap < 2 * (size_t)g->n_nodes + 2) t.cap *= 2;
    if (!(t.slots = calloc(t.cap, sizeof(*t.slots)))) {
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    if (am_rw_init(&rw, g) != AM_OK) {
        table_free(&t);
        return NULL;
    }
    bool ok = true;
    for (int i = 0; i < g->n_nodes && ok; i++) {
        if (mergeable(g->nodes[i])) ok = cse_node(&rw, &t, i, ctx) == AM_OK;
        else ok = am_rw_keep(&rw, i) != NULL;
    }
    am_graph *out = ok ? am_rw_finish(&rw) : am_rw_fail(&rw);
    table_free(&t);
    return out;
}
