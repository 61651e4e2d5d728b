/* Reading MXNet symbol JSON (1.x and the older "attr"/"param" spellings)
 * into a graph.  The input may be hostile: every malformed field is an error
 * naming the node and the field, never a crash (docs/formats/symbol-json.md). */
#include "symbol_impl.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>

#define MAX_NODES 1000000 /* far beyond real models; bounds what a file may ask for */

#define MAX_SUBGRAPH_DEPTH 8 /* control flow nested deeper is taken for a hostile file */

typedef struct reader {
    const char *src;  /* "symbol JSON" or the path, for messages */
    bool np_shape;    /* "is_np_shape": -1 (not 0) marks an unknown dimension */
    int depth;        /* 0 for the file's graph, 1 for a subgraph of one of its nodes, ... */
    am_node **nodes;  /* one reference per node read so far */
    int n_nodes;
} reader;

/* The string attributes of one node, merged from "param", "attr", "attrs". */
typedef struct attr_list {
    const char **keys, **vals; /* borrowed from the JSON tree */
    int n, cap;
} attr_list;

static am_status rfail(const reader *r, am_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static am_status rfail(const reader *r, am_status code, const char *fmt, ...)
{
    char body[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    return am_fail(code, "%s: %s", r->src, body);
}

/* An integer member in [lo, hi]. */
static bool get_int(const json_t *v, long long lo, long long hi, long long *out)
{
    if (!json_is_integer(v)) return false;
    long long x = json_integer_value(v);
    if (x < lo || x > hi) return false;
    *out = x;
    return true;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* ---- entries: [nid, index] or [nid, index, version] ------------------------------------ */

/* Reads an entry that may refer to nodes before limit; where names it. */
static am_status read_entry(const reader *r, const json_t *e, int limit, bool head,
                            const char *where, am_entry *out)
{
    long long nid, idx, ver;
    size_t len = json_is_array(e) ? json_array_size(e) : 0;
    if (len != 2 && len != 3)
        return rfail(r, AM_ERR_FORMAT, "%s is %s, not an entry [node, output, version]", where,
                     json_is_array(e) ? "an array of the wrong length" : type_name(e));
    if (!get_int(json_array_get(e, 0), 0, INT_MAX, &nid) ||
        !get_int(json_array_get(e, 1), 0, INT_MAX, &idx) ||
        (len == 3 && !get_int(json_array_get(e, 2), 0, INT_MAX, &ver)))
        return rfail(r, AM_ERR_FORMAT, "%s holds something other than non-negative integers",
                     where);
    if (nid >= limit)
        return rfail(r, AM_ERR_FORMAT, "%s refers to node %lld, which %s", where, nid,
                     head ? "does not exist"
                                         : "does not come before it (a cycle or a forward reference)");
    const am_node *p = r->nodes[nid];
    if (idx >= p->n_out)
        return rfail(r, AM_ERR_FORMAT, "%s refers to output %lld of node %lld ('%s'), which has %d",
                     where, idx, nid, p->name ? p->name : "", p->n_out);
    *out = (am_entry){r->nodes[nid], (int)idx};
    return AM_OK;
}

/* ---- attributes ------------------------------------------------------------------------ */

static bool list_set(attr_list *l, const char *key, const char *val)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->keys[i], key) == 0) {
            l->vals[i] = val;
            return true;
        }
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        const char **k = realloc(l->keys, (size_t)cap * sizeof(*k));
        if (!k) return false;
        l->keys = k;
        const char **v = realloc(l->vals, (size_t)cap * sizeof(*v));
        if (!v) return false;
        l->vals = v;
        l->cap = cap;
    }
    l->keys[l->n] = key;
    l->vals[l->n++] = val;
    return true;
}

/* Merges the maps under "param" (MXNet 0.8), "attr" (0.9-0.11) and "attrs". */
static am_status collect_attrs(const reader *r, const json_t *jn, const char *who, attr_list *l)
{
    static const char *const spellings[] = {"param", "attr", "attrs"};
    for (int s = 0; s < 3; s++) {
        const json_t *map = json_object_get(jn, spellings[s]);
        if (!map) continue;
        if (!json_is_object(map))
            return rfail(r, AM_ERR_FORMAT, "%s: \"%s\" is %s, not an object", who, spellings[s],
                         type_name(map));
        const char *key;
        const json_t *val;
        json_object_foreach((json_t *)map, key, val) {
            if (!json_is_string(val))
                return rfail(r, AM_ERR_FORMAT, "%s: attribute \"%s\" is %s, not a string", who,
                             key, type_name(val));
            if (!list_set(l, key, json_string_value(val)))
                return rfail(r, AM_ERR_OOM, "out of memory");
        }
    }
    return AM_OK;
}

/* Keys MXNet before 0.9 wrote without underscores; its loader renames them. */
bool am_json_key_is_legacy_hidden(const char *key)
{
    static const char *const keys[] = {"ctx_group", "lr_mult", "wd_mult", "force_mirroring",
                                       "mirror_stage", NULL};
    for (int i = 0; keys[i]; i++)
        if (strcmp(key, keys[i]) == 0) return true;
    return false;
}

static am_status set_extra(const reader *r, am_node *n, const char *key, const char *val)
{
    char buf[160];
    if (strncmp(key, "__", 2) != 0 && am_json_key_is_legacy_hidden(key)) {
        snprintf(buf, sizeof(buf), "__%s__", key);
        key = buf;
    }
    if (am_node_set_extra(n, key, val) != AM_OK) return rfail(r, AM_ERR_OOM, "out of memory");
    return AM_OK;
}

/* ---- variables ------------------------------------------------------------------------- */

/* A __shape__ value: "(64, 0)", "[64,0]", "(64,)", "()", "None", "64".  A
 * dimension of -1, or 0 in legacy semantics, is AM_DIM_UNKNOWN for
 * am_graph_infer to fill (an export's batch); "None" and legacy "()" are a
 * wholly unknown shape (ndim -1).  (-1 is accepted in legacy files too:
 * Amber writes no "is_np_shape", so what it wrote from a numpy-semantics
 * file must read back.) */
static bool parse_shape(const char *s, bool np, am_shape *out)
{
    am_shape sh = {.ndim = 0};
    while (isspace((unsigned char)*s)) s++;
    if (strcmp(s, "None") == 0) return *out = (am_shape){.ndim = -1}, true;
    char close = *s == '(' ? ')' : *s == '[' ? ']' : 0;
    if (close) s++;
    for (;;) {
        while (isspace((unsigned char)*s)) s++;
        if (close && *s == close) break;
        if (!close && !*s && sh.ndim == 1) break;
        char *e;
        errno = 0;
        long long d = strtoll(s, &e, 10);
        if (e == s || errno || sh.ndim == AM_MAX_NDIM) return false;
        if (d == -1 || (d == 0 && !np)) d = AM_DIM_UNKNOWN;
        else if (d < 0) return false;
        sh.dim[sh.ndim++] = d;
        s = e + (*e == 'L');
        while (isspace((unsigned char)*s)) s++;
        if (*s == ',') s++;
        else if (close ? *s != close : *s != '\0') return false;
    }
    s += close != 0;
    while (isspace((unsigned char)*s)) s++;
    if (*s) return false;
    am_shape known = sh; /* the known dimensions must fit an array already */
    for (int i = 0; i < known.ndim; i++)
        if (known.dim[i] == AM_DIM_UNKNOWN) known.dim[i] = 1;
    if (!am_shape_check(&known, 1, NULL, NULL)) return false;
    if (sh.ndim == 0 && !np) sh.ndim = -1;
    *out = sh;
    return true;
}

static am_status read_variable(const reader *r, am_node *n, const char *who, const attr_list *l)
{
    for (int i = 0; i < l->n; i++) {
        const char *k = l->keys[i], *v = l->vals[i];
        if (strcmp(k, "__shape__") == 0 && !parse_shape(v, r->np_shape, &n->shapes[0]))
            return rfail(r, AM_ERR_FORMAT, "%s: __shape__ '%s' is not a shape like (64, 784) "
                         "with at most %d dimensions", who, v, AM_MAX_NDIM);
        if (strcmp(k, "__dtype__") == 0) {
            char *e;
            errno = 0;
            long flag = strtol(v, &e, 10);
            if (e == v || *e || errno || flag < -1 || flag > 255)
                return rfail(r, AM_ERR_FORMAT, "%s: __dtype__ '%s' is not an MXNet type flag",
                             who, v);
            /* A flag Amber lacks (float16, ...) leaves the dtype unknown. */
            if (!am_dtype_from_mxnet((int)flag, &n->dtypes[0])) n->dtypes[0] = AM_DTYPE_COUNT;
        }
        am_status st = set_extra(r, n, k, v);
        if (st != AM_OK) return st;
    }
    return AM_OK;
}

/* ---- op nodes -------------------------------------------------------------------------- */

/* Parses the schema attributes; the parser's message gets the node in front. */
static void *parse_op_attrs(const reader *r, const am_op_def *op, const char *who,
                            const attr_list *l, uint64_t *given)
{
    /* Hidden keys are not the schema's; legacy ones lack the underscores. */
    attr_list shown = {0};
    bool ok = true;
    for (int i = 0; i < l->n && ok; i++)
        if (strncmp(l->keys[i], "__", 2) != 0 && !am_json_key_is_legacy_hidden(l->keys[i]))
            ok = list_set(&shown, l->keys[i], l->vals[i]);
    void *attrs = ok ? am_attrs_parse(op, shown.keys, shown.vals, shown.n) : NULL;
    free(shown.keys), free(shown.vals);
    if (!ok) {
        rfail(r, AM_ERR_OOM, "out of memory");
        return NULL;
    }
    if (!attrs) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", am_last_error());
        rfail(r, am_last_status() == AM_ERR_OOM ? AM_ERR_OOM : AM_ERR_FORMAT, "%s: %s", who, msg);
        return NULL;
    }
    /* A legacy file writes an unknown dimension of a shape attribute (a
     * Gluon begin state's batch: _zeros of shape (2, 0, 16)) as 0. */
    for (const am_attr_field *f = op->attrs; f && f->name && !r->np_shape; f++)
        if (f->type == AM_ATTR_SHAPE) {
            am_tuple *t = (am_tuple *)((char *)attrs + f->offset);
            for (int d = 0; d < t->ndim; d++)
                if (t->v[d] == 0) t->v[d] = AM_DIM_UNKNOWN;
        }
    *given = 0;
    for (int i = 0; i < l->n; i++)
        for (const am_attr_field *f = op->attrs; f && f->name; f++)
            if (strcmp(f->name, l->keys[i]) == 0) *given |= 1ull << (f - op->attrs);
    return attrs;
}

static am_status read_inputs(const reader *r, const json_t *jin, int i, const char *who,
                             am_entry *e, int n_in)
{
    char where[320];
    for (int k = 0; k < n_in; k++) {
        snprintf(where, sizeof(where), "%s: inputs[%d]", who, k);
        am_status st = read_entry(r, json_array_get(jin, (size_t)k), i, false, where, &e[k]);
        if (st != AM_OK) return st;
    }
    return AM_OK;
}

static am_graph *read_graph(const reader *parent, const json_t *root, const char *src);

/* The graphs a control-flow node runs ("subgraphs"), set into its attributes
 * (references the caller releases once the node holds its own). */
static am_status read_subgraphs(const reader *r, const am_op_def *op, const json_t *jsub,
                                const char *who, void *attrs)
{
    size_t n = json_array_size(jsub);
    if (n != (size_t)op->num_subgraphs)
        return rfail(r, AM_ERR_FORMAT, "%s: %s runs %d subgraph%s, but \"subgraphs\" %s %zu",
                     who, op->name, op->num_subgraphs, op->num_subgraphs > 1 ? "s" : "",
                     jsub ? "lists" : "is missing, so", n);
    if (r->depth >= MAX_SUBGRAPH_DEPTH)
        return rfail(r, AM_ERR_FORMAT, "%s: subgraphs nest more than %d deep", who,
                     MAX_SUBGRAPH_DEPTH);
    am_op_subgraphs *sg = attrs;
    for (size_t k = 0; k < n; k++) {
        char src[768];
        snprintf(src, sizeof(src), "%s: %s: subgraphs[%zu]", r->src, who, k);
        const json_t *js = json_array_get(jsub, k);
        if (!json_is_object(js))
            return rfail(r, AM_ERR_FORMAT, "%s: subgraphs[%zu] is %s, not an object", who, k,
                         type_name(js));
        if (!(sg->g[k] = read_graph(r, js, src))) return am_last_status();
    }
    return AM_OK;
}

static am_node *read_op_node(const reader *r, const char *opname, const json_t *jin,
                             const json_t *jsub, int i, const char *who, const attr_list *l)
{
    const am_op_def *op = am_op_find(opname);
    if (!op) {
        rfail(r, AM_ERR_UNKNOWN_OP, "%s: unknown op '%s'", who, opname);
        return NULL;
    }
    uint64_t given;
    void *attrs = parse_op_attrs(r, op, who, l, &given);
    if (!attrs) return NULL;
    am_node *n = NULL;
    am_entry e[AM_MAX_OP_IO];
    int n_in = am_op_num_inputs(op, attrs), n_out = am_op_num_outputs(op, attrs);
    int got = (int)json_array_size(jin);
    if ((op->num_subgraphs > 0 || json_array_size(jsub) > 0) &&
        (op->num_subgraphs == 0 || read_subgraphs(r, op, jsub, who, attrs) != AM_OK)) {
        if (op->num_subgraphs == 0)
            rfail(r, AM_ERR_FORMAT, "%s: %s runs no subgraphs, but the node has \"subgraphs\"",
                  who, op->name);
    } else if (got != n_in)
        rfail(r, AM_ERR_FORMAT, "%s: %s takes %d inputs with these attributes, but \"inputs\" "
              "lists %d", who, op->name, n_in, got);
    else if (n_out < 1)
        rfail(r, AM_ERR_FORMAT, "%s: %s has no outputs with these attributes", who, op->name);
    else if (n_in > AM_MAX_OP_IO || n_out > AM_MAX_OP_IO)
        rfail(r, AM_ERR_UNSUPPORTED, "%s: %d inputs and %d outputs (Amber supports up to %d)",
              who, n_in, n_out, AM_MAX_OP_IO);
    else if (read_inputs(r, jin, i, who, e, n_in) == AM_OK &&
             (n = am_node_create(op, attrs, e, n_in, n_out)) != NULL) {
        n->attrs_given = given;
        for (int k = 0; k < l->n; k++) {
            bool hidden = strncmp(l->keys[k], "__", 2) == 0 || am_json_key_is_legacy_hidden(l->keys[k]);
            if (hidden && set_extra(r, n, l->keys[k], l->vals[k]) != AM_OK) {
                am_node_release(n);
                n = NULL;
                break;
            }
        }
    }
    for (int k = 0; k < op->num_subgraphs; k++) am_graph_release(((am_op_subgraphs *)attrs)->g[k]);
    free(attrs);
    return n;
}

/* ---- nodes ----------------------------------------------------------------------------- */

/* "op", "name", "inputs" are required; "control_deps" is accepted and ignored
 * (it only orders execution); "subgraphs" belong to control-flow ops. */
static am_status check_node_fields(const reader *r, const json_t *jn, const char *who)
{
    const json_t *op = json_object_get(jn, "op"), *name = json_object_get(jn, "name");
    const json_t *in = json_object_get(jn, "inputs"), *deps = json_object_get(jn, "control_deps");
    const json_t *sub = json_object_get(jn, "subgraphs");
    if (!json_is_string(op))
        return rfail(r, AM_ERR_FORMAT, "%s: \"op\" is %s, not a string", who,
                     op ? type_name(op) : "missing");
    if (!json_is_string(name))
        return rfail(r, AM_ERR_FORMAT, "%s: \"name\" is %s, not a string", who,
                     name ? type_name(name) : "missing");
    if (!json_is_array(in))
        return rfail(r, AM_ERR_FORMAT, "%s: \"inputs\" is %s, not an array", who,
                     in ? type_name(in) : "missing");
    if (deps && !json_is_array(deps))
        return rfail(r, AM_ERR_FORMAT, "%s: \"control_deps\" is %s, not an array", who,
                     type_name(deps));
    if (sub && !json_is_array(sub))
        return rfail(r, AM_ERR_FORMAT, "%s: \"subgraphs\" is %s, not an array", who,
                     type_name(sub));
    return AM_OK;
}

static am_node *read_node(const reader *r, const json_t *jn, int i)
{
    char who[256];
    snprintf(who, sizeof(who), "node %d", i);
    if (!json_is_object(jn)) {
        rfail(r, AM_ERR_FORMAT, "%s is %s, not an object", who, type_name(jn));
        return NULL;
    }
    const char *name = json_string_value(json_object_get(jn, "name"));
    if (name) snprintf(who, sizeof(who), "node %d ('%.200s')", i, name);
    if (check_node_fields(r, jn, who) != AM_OK) return NULL;
    const char *opname = json_string_value(json_object_get(jn, "op"));
    const json_t *jin = json_object_get(jn, "inputs");
    attr_list l = {0};
    am_node *n = NULL;
    bool var = strcmp(opname, "null") == 0;
    if (collect_attrs(r, jn, who, &l) != AM_OK) {
    } else if (var && json_array_size(jin) > 0) {
        rfail(r, AM_ERR_FORMAT, "%s: a variable (op \"null\") has inputs", who);
    } else if (var && !name[0]) {
        rfail(r, AM_ERR_FORMAT, "%s: a variable has an empty name", who);
    } else if (var && (n = am_node_create(NULL, NULL, NULL, 0, 1))) {
        if (read_variable(r, n, who, &l) != AM_OK) {
            am_node_release(n);
            n = NULL;
        } else if (!(n->name = strdup(name))) {
            rfail(r, AM_ERR_OOM, "out of memory");
            am_node_release(n);
            n = NULL;
        }
    } else if ((n = read_op_node(r, opname, jin, json_object_get(jn, "subgraphs"), i, who, &l)) &&
               name[0] &&
               !(n->name = strdup(name))) {
        rfail(r, AM_ERR_OOM, "out of memory");
        am_node_release(n);
        n = NULL;
    }
    free(l.keys), free(l.vals);
    return n;
}

/* ---- the graph ------------------------------------------------------------------------- */

typedef struct named {
    const char *name;
    int index;
} named;

static int named_cmp(const void *a, const void *b)
{
    const named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Two variables with one name would be one argument in MXNet's eyes but two
 * in the graph, so a file with them is rejected. */
static am_status check_variable_names(const reader *r)
{
    named *v = malloc((size_t)(r->n_nodes ? r->n_nodes : 1) * sizeof(*v));
    if (!v) return rfail(r, AM_ERR_OOM, "out of memory");
    int n = 0;
    for (int i = 0; i < r->n_nodes; i++)
        if (!r->nodes[i]->op) v[n++] = (named){r->nodes[i]->name, i};
    qsort(v, (size_t)n, sizeof(*v), named_cmp);
    am_status st = AM_OK;
    for (int i = 1; i < n && st == AM_OK; i++)
        if (strcmp(v[i - 1].name, v[i].name) == 0)
            st = rfail(r, AM_ERR_FORMAT, "nodes %d and %d are both variables named '%s'",
                       v[i - 1].index, v[i].index, v[i].name);
    free(v);
    return st;
}

/* "arg_nodes" (required) and "node_row_ptr" (optional) are recomputed by the
 * writer, so they are only checked for type and range. */
static am_status check_index_arrays(const reader *r, const json_t *root)
{
    static const char *const keys[] = {"arg_nodes", "node_row_ptr"};
    for (int k = 0; k < 2; k++) {
        const json_t *a = json_object_get(root, keys[k]);
        if (!a && k == 1) continue;
        if (!json_is_array(a))
            return rfail(r, AM_ERR_FORMAT, "\"%s\" is %s, not an array", keys[k],
                         a ? type_name(a) : "missing");
        size_t i;
        const json_t *v;
        long long x;
        json_array_foreach((json_t *)a, i, v) {
            if (!get_int(v, 0, k == 0 ? r->n_nodes - 1 : LLONG_MAX, &x))
                return rfail(r, AM_ERR_FORMAT, "%s[%zu] is not %s", keys[k], i,
                             k == 0 ? "a node index" : "a non-negative integer");
        }
    }
    return AM_OK;
}

/* The graph attributes: "mxnet_version" and "is_np_shape" as ["int", n]. */
static am_status read_graph_attrs(reader *r, const json_t *root)
{
    const json_t *attrs = json_object_get(root, "attrs");
    if (!attrs) return AM_OK;
    if (!json_is_object(attrs))
        return rfail(r, AM_ERR_FORMAT, "\"attrs\" is %s, not an object", type_name(attrs));
    const json_t *np = json_object_get(attrs, "is_np_shape");
    if (np) {
        long long v;
        if (!json_is_array(np) || json_array_size(np) != 2 ||
            !json_is_string(json_array_get(np, 0)) ||
            !get_int(json_array_get(np, 1), LLONG_MIN, LLONG_MAX, &v))
            return rfail(r, AM_ERR_FORMAT, "attrs: \"is_np_shape\" is not [\"int\", n]");
        r->np_shape = v != 0;
    }
    return AM_OK;
}

static am_status read_nodes(reader *r, const json_t *jnodes)
{
    size_t n = json_is_array(jnodes) ? json_array_size(jnodes) : 0;
    if (!json_is_array(jnodes))
        return rfail(r, AM_ERR_FORMAT, "\"nodes\" is %s, not an array",
                     jnodes ? type_name(jnodes) : "missing");
    if (n > MAX_NODES)
        return rfail(r, AM_ERR_FORMAT, "%zu nodes is more than the %d Amber accepts", n,
                     MAX_NODES);
    if (!(r->nodes = calloc(n ? n : 1, sizeof(*r->nodes))))
        return rfail(r, AM_ERR_OOM, "cannot allocate %zu nodes", n);
    for (size_t i = 0; i < n; i++) {
        if (!(r->nodes[i] = read_node(r, json_array_get(jnodes, i), (int)i)))
            return am_last_status();
        r->n_nodes++;
    }
    return AM_OK;
}

static am_graph *read_heads(const reader *r, const json_t *jheads)
{
    size_t n = json_is_array(jheads) ? json_array_size(jheads) : 0;
    if (!json_is_array(jheads) || n == 0) {
        rfail(r, AM_ERR_FORMAT, "\"heads\" is %s, not a non-empty array of entries",
              !jheads ? "missing" : json_is_array(jheads) ? "empty" : type_name(jheads));
        return NULL;
    }
    am_entry *heads = malloc(n * sizeof(*heads));
    if (!heads) {
        rfail(r, AM_ERR_OOM, "out of memory");
        return NULL;
    }
    am_graph *g = NULL;
    char where[48];
    size_t h = 0;
    for (; h < n; h++) {
        snprintf(where, sizeof(where), "heads[%zu]", h);
        if (read_entry(r, json_array_get(jheads, h), r->n_nodes, true, where, &heads[h]) != AM_OK)
            break;
    }
    if (h == n) g = am_graph_from_heads(heads, (int)n);
    free(heads);
    return g;
}

/* A graph object: the file's, or (parent set) a subgraph of a node, which
 * shares the file's conventions. */
static am_graph *read_graph(const reader *parent, const json_t *root, const char *src)
{
    reader r = {.src = src};
    am_graph *g = NULL;
    if (parent) r.np_shape = parent->np_shape, r.depth = parent->depth + 1;
    if (!json_is_object(root))
        rfail(&r, AM_ERR_FORMAT, "the top level is %s, not an object", type_name(root));
    else if (read_graph_attrs(&r, root) == AM_OK &&
             read_nodes(&r, json_object_get(root, "nodes")) == AM_OK &&
             check_index_arrays(&r, root) == AM_OK && check_variable_names(&r) == AM_OK)
        g = read_heads(&r, json_object_get(root, "heads"));
    if (g && am_json_source_attach(g, (json_t *)root, r.nodes, r.n_nodes, r.np_shape) != AM_OK) {
        am_graph_release(g);
        g = NULL;
    }
    for (int i = 0; i < r.n_nodes; i++) am_node_release(r.nodes[i]);
    free(r.nodes);
    return g;
}

am_graph *am_graph_from_json_buffer(const char *buf, size_t len, const char *src)
{
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        reader r = {.src = src};
        rfail(&r, AM_ERR_FORMAT, "not JSON: line %d, column %d: %s", jerr.line, jerr.column,
              jerr.text);
        return NULL;
    }
    am_graph *g = read_graph(NULL, root, src);
    json_decref(root);
    return g;
}

am_graph *am_graph_from_json(const char *json)
{
    if (!json) {
        am_fail(AM_ERR_ARG, "am_graph_from_json: the string is NULL");
        return NULL;
    }
    return am_graph_from_json_buffer(json, strlen(json), "symbol JSON");
}
