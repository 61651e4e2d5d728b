/* Elementwise fusion: connected chains, trees and DAGs of elementwise ops of
 * one shape and dtype become one _amber_fused_elemwise node that makes a
 * single pass over memory; members used outside the group become outputs. */
#include "executor_impl.h"

typedef struct fuse_state {
    am_graph *g;
    int n;
    am_device dev;      /* the target: a member's op must have a kernel there */
    int *uses, *uoff;   /* am_graph_count_uses */
    int *coff, *cons;   /* consumers of node i (one per input edge): cons[coff[i] .. coff[i+1]) */
    bool *ok;           /* node i may join a group */
    int *gid;           /* group of node i (its root's index), -1: none */
    int *next;          /* the group's next member, -1 at the end; a root heads its list */
    int *stamp, *queue; /* for reaches_group */
    int stamp_id;
} fuse_state;

static int node_of(const fuse_state *s, am_entry e)
{
    return am_graph_index(s->g, e.node);
}

/* The node producing input k of node i. */
static int input_of(const fuse_state *s, int i, int k)
{
    return node_of(s, s->g->nodes[i]->inputs[k]);
}

/* The unit node i belongs to in the graph of groups: its group, or itself. */
static int unit_of(const fuse_state *s, int i)
{
    return s->gid[i] >= 0 ? s->gid[i] : i;
}

/* ---- which nodes may fuse ----------------------------------------------------------- */

static bool broadcasts_to(const am_shape *s, const am_shape *out)
{
    int off = out->ndim - s->ndim;
    if (off < 0) return false;
    for (int d = 0; d < s->ndim; d++)
        if (s->dim[d] != 1 && s->dim[d] != out->dim[d + off]) return false;
    return true;
}

/*
 * Whether op broadcasts input k as NumPy does, asked of its own shape
 * function: input k as a row (3,) and as a column (2, 1) against (2, 3) for
 * the others must give (2, 3).  The fused kernel gathers broadcast inputs
 * NumPy's way, so an op that pairs dimensions otherwise (where's 1-D
 * condition goes with axis 0) fuses only when its shapes agree.
 */
static bool numpy_broadcasts(const am_op_def *op, const void *attrs, int n_in, int k)
{
    const am_shape probes[2] = {AM_SHAPE(3), AM_SHAPE(2, 1)}, full = AM_SHAPE(2, 3);
    bool fine = true;
    for (int p = 0; p < 2 && fine; p++) {
        am_shape in[AM_FUSE_MAX_ARGS], out = {.ndim = -1};
        for (int i = 0; i < n_in; i++) in[i] = i == k ? probes[p] : full;
        am_status before = am_last_status();
        bool was = am_set_speculative(true);
        fine = op->infer_shape(attrs, in, n_in, &out, 1) == AM_OK && am_shape_equal(out, full);
        am_set_speculative(was);
        if (!fine && before == AM_OK) am_clear_error();
    }
    return fine;
}

static bool input_fits(const am_node *n, int k)
{
    const am_entry e = n->inputs[k];
    const am_shape *s = &e.node->shapes[e.index], *out = &n->shapes[0];
    if (e.node->dtypes[e.index] != n->dtypes[0] || s->ndim < 0) return false;
    if (am_shape_equal(*s, *out)) return true;
    return n->op->fuse == AM_FUSE_BROADCAST && broadcasts_to(s, out) &&
           numpy_broadcasts(n->op, n->attrs, n->n_in, k);
}

/* Elementwise, deterministic, one visible output, no state, no workspace,
 * a kernel on the target (the fused kernel calls it), attributes that fit
 * inline, known shape and one dtype throughout. */
static bool node_fusible(const am_node *n, am_device dev)
{
    const am_op_def *op = n->op;
    if (!op || (op->fuse != AM_FUSE_ELEMWISE && op->fuse != AM_FUSE_BROADCAST)) return false;
    if ((op->flags & (AM_OP_RANDOM | AM_OP_NEEDS_TEMP)) || op->temp_bytes || op->view ||
        op->num_aux || !am_device_supports_op(dev, op) || op->attrs_size > AM_FUSE_ATTR_BYTES)
        return false;
    if (n->n_out != 1 || am_op_num_visible(op, n->attrs) != 1 || n->n_in < 1 ||
        n->n_in > AM_FUSE_MAX_ARGS || n->shapes[0].ndim < 0 ||
        (unsigned)n->dtypes[0] >= AM_DTYPE_COUNT ||
        am_dtype_compute(n->dtypes[0]) != n->dtypes[0]) /* float16 & co.: Casts stay */
        return false;
    for (int k = 0; k < n->n_in; k++)
        if (!input_fits(n, k)) return false;
    return true;
}

/* ---- state ---------------------------------------------------------------------------- */

static void state_free(fuse_state *s)
{
    free(s->uses), free(s->uoff), free(s->coff), free(s->cons), free(s->ok);
    free(s->gid), free(s->next), free(s->stamp), free(s->queue);
}

static am_status state_init(fuse_state *s)
{
    const int n = s->n;
    int edges = 0;
    for (int i = 0; i < n; i++) edges += s->g->nodes[i]->n_in;
    if (am_graph_count_uses(s->g, &s->uses, &s->uoff) != AM_OK) return am_last_status();
    s->coff = calloc((size_t)n + 1, sizeof(int));
    s->cons = malloc((size_t)(edges ? edges : 1) * sizeof(int));
    s->ok = malloc((size_t)(n ? n : 1) * sizeof(bool));
    s->gid = malloc((size_t)(n ? n : 1) * sizeof(int));
    s->next = malloc((size_t)(n ? n : 1) * sizeof(int));
    s->stamp = calloc((size_t)(n ? n : 1), sizeof(int));
    s->queue = malloc((size_t)(n ? n : 1) * sizeof(int));
    if (!s->coff || !s->cons || !s->ok || !s->gid || !s->next || !s->stamp || !s->queue)
        return am_fail(AM_ERR_OOM, "out of memory");
    for (int i = 0; i < n; i++)
        for (int k = 0; k < s->g->nodes[i]->n_in; k++) s->coff[input_of(s, i, k) + 1]++;
    for (int i = 0; i < n; i++) s->coff[i + 1] += s->coff[i];
    int *fill = s->queue; /* borrowed as a cursor per producer */
    for (int i = 0; i < n; i++) fill[i] = s->coff[i];
    for (int i = 0; i < n; i++)
        for (int k = 0; k < s->g->nodes[i]->n_in; k++)
            s->cons[fill[input_of(s, i, k)]++] = i;
    for (int i = 0; i < n; i++) {
        s->ok[i] = node_fusible(s->g->nodes[i], s->dev);
        s->gid[i] = s->next[i] = -1;
    }
    return AM_OK;
}

/* ---- groups ------------------------------------------------------------------------------ */

/* Uses of member m's output outside group r (heads included). */
static int outside_uses(const fuse_state *s, int m, int r)
{
    int inside = 0;
    for (int k = s->coff[m]; k < s->coff[m + 1]; k++) inside += s->gid[s->cons[k]] == r;
    return s->uses[s->uoff[m]] - inside;
}

static bool has_outside_consumer(const fuse_state *s, int m, int r)
{
    for (int k = s->coff[m]; k < s->coff[m + 1]; k++)
        if (s->gid[s->cons[k]] != r) return true;
    return false;
}

/* The distinct entries group r reads from outside, in member order, at most
 * cap + 1 of them. */
static int group_inputs(const fuse_state *s, int r, am_entry *ext, int cap)
{
    int n_ext = 0;
    for (int m = r; m >= 0; m = s->next[m]) {
        const am_node *node = s->g->nodes[m];
        for (int k = 0; k < node->n_in && n_ext <= cap; k++) {
            am_entry e = node->inputs[k];
            bool seen = s->gid[node_of(s, e)] == r;
            for (int q = 0; q < n_ext && !seen; q++)
                seen = ext[q].node == e.node && ext[q].index == e.index;
            if (!seen) ext[n_ext++] = e;
        }
    }
    return n_ext;
}

static bool within_limits(const fuse_state *s, int r)
{
    am_entry ext[AM_FUSE_MAX_OPS * AM_FUSE_MAX_ARGS];
    int n_out = 0;
    for (int m = r; m >= 0; m = s->next[m]) n_out += outside_uses(s, m, r) > 0;
    return n_out <= AM_FUSE_MAX_OUT && group_inputs(s, r, ext, AM_FUSE_MAX_IN) <= AM_FUSE_MAX_IN;
}

/* Units a reachability search may visit before it gives up and answers
 * "reaches", which only costs a fusion. */
#define SEARCH_MAX 65536

/*
 * Whether a consumer of p outside group r leads back into r in the graph of
 * groups (where entering a group at one member lets you leave at any).
 * Fusing p into r would then make a cycle between fused nodes.
 */
static bool reaches_group(fuse_state *s, int p, int r)
{
    int head = 0, tail = 0, id = ++s->stamp_id;
    for (int k = s->coff[p]; k < s->coff[p + 1]; k++) {
        int u = s->gid[s->cons[k]] == r ? -1 : unit_of(s, s->cons[k]);
        if (u >= 0 && s->stamp[u] != id) s->stamp[u] = id, s->queue[tail++] = u;
    }
    while (head < tail) {
        int u = s->queue[head++];
        if (head > SEARCH_MAX) return true;
        for (int m = u; m >= 0; m = s->next[m])
            for (int k = s->coff[m]; k < s->coff[m + 1]; k++) {
                int c = s->cons[k], v = unit_of(s, c);
                if (s->gid[c] == r) return true;
                if (s->stamp[v] != id) s->stamp[v] = id, s->queue[tail++] = v;
            }
    }
    return false;
}

static bool same_kind(const fuse_state *s, int p, int r)
{
    const am_node *a = s->g->nodes[p], *b = s->g->nodes[r];
    return a->dtypes[0] == b->dtypes[0] && am_shape_equal(a->shapes[0], b->shapes[0]);
}

/*
 * Grows a group from root r (the latest node in it) towards its inputs.  A
 * producer whose consumers are all in the group joins freely: no cycle can
 * form.  One used elsewhere too becomes an extra output, if no path from
 * its other consumers leads back into the group.  Returns the group's size.
 */
static int grow(fuse_state *s, int r)
{
    int work[AM_FUSE_MAX_OPS * AM_FUSE_MAX_ARGS], head = 0, tail = 0, size = 1;
    s->gid[r] = r;
    for (int k = 0; k < s->g->nodes[r]->n_in; k++) work[tail++] = input_of(s, r, k);
    while (head < tail && size < AM_FUSE_MAX_OPS) {
        int p = work[head++];
        if (s->gid[p] >= 0 || !s->ok[p] || !same_kind(s, p, r)) continue;
        if (has_outside_consumer(s, p, r) && reaches_group(s, p, r)) continue;
        s->gid[p] = r;
        s->next[p] = s->next[r];
        s->next[r] = p;
        if (!within_limits(s, r)) {
            s->gid[p] = -1;
            s->next[r] = s->next[p];
            s->next[p] = -1;
            continue;
        }
        size++;
        for (int k = 0; k < s->g->nodes[p]->n_in; k++) work[tail++] = input_of(s, p, k);
    }
    return size;
}

/* ---- building the fused node ------------------------------------------------------- */

static void set_shape(am_shape *dst, const am_shape *src)
{
    dst->ndim = src->ndim;
    for (int d = 0; d < src->ndim; d++) dst->dim[d] = src->dim[d];
}

/* Members of group r in graph order. */
static int group_members(const fuse_state *s, int r, int *mem)
{
    int n = 0;
    for (int m = r; m >= 0; m = s->next[m]) {
        int q = n++;
        while (q > 0 && mem[q - 1] > m) mem[q] = mem[q - 1], q--;
        mem[q] = m;
    }
    return n;
}

/* Puts first a full-size input computed by an op that dies here, which the
 * planner may then overwrite with output 0 (the op's in-place pair). */
static void order_inputs(const fuse_state *s, int r, am_entry *ext, int n_ext)
{
    const am_shape *out = &s->g->nodes[r]->shapes[0];
    for (int q = 0; q < n_ext; q++) {
        am_entry e = ext[q];
        int p = node_of(s, e), inside = 0;
        if (!e.node->op || !am_shape_equal(e.node->shapes[e.index], *out)) continue;
        for (int m = r; m >= 0; m = s->next[m])
            for (int k = 0; k < s->g->nodes[m]->n_in; k++)
                inside += s->g->nodes[m]->inputs[k].node == e.node &&
                          s->g->nodes[m]->inputs[k].index == e.index;
        if (inside != s->uses[s->uoff[p] + e.index]) continue;
        memmove(ext + 1, ext, (size_t)q * sizeof(*ext));
        ext[0] = e;
        return;
    }
}

/* The program of group r: members become instructions in graph order, the
 * root last (output 0), other members used outside become outputs 1... */
static void fill_program(const fuse_state *s, int r, const int *mem, int nm, const am_entry *ext,
                         int n_ext, am_fused_attrs *a)
{
    const am_node *root = s->g->nodes[r];
    a->num_args = n_ext;
    a->n_ops = nm;
    a->dtype = root->dtypes[0];
    set_shape(&a->out_shape, &root->shapes[0]);
    for (int k = 0; k < n_ext; k++) set_shape(&a->in_shape[k], &ext[k].node->shapes[ext[k].index]);
    a->out_code[0] = nm - 1;
    a->num_outputs = 1;
    for (int q = 0; q < nm; q++) {
        const am_node *node = s->g->nodes[mem[q]];
        am_fuse_instr *c = &a->code[q];
        if (q < nm - 1 && outside_uses(s, mem[q], r) > 0) a->out_code[a->num_outputs++] = q;
        c->op = node->op;
        c->n_args = node->n_in;
        if (node->op->attrs_size) memcpy(c->attrs, node->attrs, node->op->attrs_size);
        for (int k = 0; k < node->n_in; k++) {
            am_entry e = node->inputs[k];
            int p = node_of(s, e), v = 0;
            if (s->gid[p] == r) {
                while (mem[v] != p) v++;
                c->args[k] = n_ext + v;
            } else {
                while (ext[v].node != e.node || ext[v].index != e.index) v++;
                c->args[k] = v;
            }
        }
    }
}

static void log_group(const fuse_state *s, am_pass_ctx *ctx, const int *mem, int nm,
                      const am_fused_attrs *a)
{
    char names[512];
    size_t len = 0;
    names[0] = '\0';
    for (int q = 0; q < nm && len < sizeof(names); q++)
        len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", q ? ", " : "",
                                s->g->names[mem[q]]);
    am_pass_log(ctx, "fused %d ops into '%s' (%lld input%s, %lld output%s): %s", nm,
                s->g->names[mem[nm - 1]], (long long)a->num_args, a->num_args == 1 ? "" : "s",
                (long long)a->num_outputs, a->num_outputs == 1 ? "" : "s", names);
}

static am_node *fused_node(const fuse_state *s, am_rewriter *rw, int r, const am_entry *ext,
                           const am_fused_attrs *a)
{
    am_entry in[AM_FUSE_MAX_IN];
    const am_node *root = s->g->nodes[r];
    for (int k = 0; k < a->num_args; k++) in[k] = am_rw_get(rw, ext[k]);
    am_node *f = am_node_build(am_fused_elemwise_op(), a, in, (int)a->num_args);
    if (!f) return NULL;
    /* The fused node takes the root's place, name and call site. */
    f->name = strdup(s->g->names[r]);
    if (!f->name || am_node_copy_site(f, root) != AM_OK) {
        am_node_release(f);
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    return f;
}

static am_status emit_group(const fuse_state *s, am_rewriter *rw, int r, am_pass_ctx *ctx)
{
    int mem[AM_FUSE_MAX_OPS];
    am_entry ext[AM_FUSE_MAX_OPS * AM_FUSE_MAX_ARGS];
    int nm = group_members(s, r, mem), n_ext = group_inputs(s, r, ext, AM_FUSE_MAX_IN);
    am_fused_attrs *a = calloc(1, sizeof(*a));
    if (!a) return am_fail(AM_ERR_OOM, "out of memory");
    order_inputs(s, r, ext, n_ext);
    fill_program(s, r, mem, nm, ext, n_ext, a);
    am_node *f = am_fused_compile(a) == AM_OK ? fused_node(s, rw, r, ext, a) : NULL;
    if (f) {
        for (int j = 0; j < a->num_outputs; j++)
            am_rw_set(rw, mem[a->out_code[j]], 0, (am_entry){f, j});
        log_group(s, ctx, mem, nm, a);
        ctx->changes++;
        am_node_release(f);
    }
    free(a);
    return f ? AM_OK : am_last_status();
}

/* ---- rewriting in an order of the graph of groups ------------------------------------ */

/* Emits every unit (a group or a node) after the units it reads, Kahn's way;
 * groups of two or more become fused nodes, the rest are kept. */
static am_status emit_all(fuse_state *s, am_rewriter *rw, am_pass_ctx *ctx)
{
    int *indeg = calloc((size_t)(s->n ? s->n : 1), sizeof(int)), head = 0, tail = 0, units = 0;
    am_status st = AM_OK;
    if (!indeg) return am_fail(AM_ERR_OOM, "out of memory");
    for (int i = 0; i < s->n; i++) {
        units += unit_of(s, i) == i;
        for (int k = 0; k < s->g->nodes[i]->n_in; k++)
            indeg[unit_of(s, i)] += unit_of(s, input_of(s, i, k)) != unit_of(s, i);
    }
    for (int i = 0; i < s->n; i++)
        if (unit_of(s, i) == i && indeg[i] == 0) s->queue[tail++] = i;
    while (head < tail && st == AM_OK) {
        int u = s->queue[head++];
        if (s->next[u] >= 0) st = emit_group(s, rw, u, ctx);
        else if (!am_rw_keep(rw, u)) st = am_last_status();
        for (int m = u; m >= 0 && st == AM_OK; m = s->next[m])
            for (int k = s->coff[m]; k < s->coff[m + 1]; k++) {
                int v = unit_of(s, s->cons[k]);
                if (v != u && --indeg[v] == 0) s->queue[tail++] = v;
            }
    }
    free(indeg);
    if (st == AM_OK && head != units)
        st = am_fail(AM_ERR_INTERNAL, "fuse: the fused groups form a cycle");
    return st;
}

am_graph *am_pass_fuse(am_graph *g, am_pass_ctx *ctx)
{
    fuse_state s = {.g = g, .n = g->n_nodes, .dev = ctx->device};
    am_rewriter rw;
    int groups = 0;
    am_graph *out = NULL;
    if (state_init(&s) != AM_OK) goto out_free;
    for (int i = s.n - 1; i >= 0; i--)
        if (s.ok[i] && s.gid[i] < 0) groups += grow(&s, i) > 1;
    if (!groups) {
        out = am_graph_retain(g);
        goto out_free;
    }
    if (!am_fused_elemwise_op() || am_rw_init(&rw, g) != AM_OK) goto out_free;
    out = emit_all(&s, &rw, ctx) == AM_OK ? am_rw_finish(&rw) : am_rw_fail(&rw);
out_free:
    state_free(&s);
    return out;
}
