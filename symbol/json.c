/* Writing graphs as MXNet 1.9 symbol JSON, byte for byte as dmlc::JSONWriter
 * formats it (docs/formats/symbol-json.md), and saving/loading symbol files. */
#include "symbol_impl.h"
#include "../ndarray/strbuf_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#define MXNET_VERSION 10901 /* the 1.9.1 this writer imitates */

/* ---- a growable string ------------------------------------------------------------- */

typedef am_strbuf sbuf;

/* A JSON string as dmlc writes it (\r \n \\ \t \" escaped); other control
 * characters, which dmlc writes raw (invalid JSON), become \u00XX. */
static void sb_str(sbuf *b, const char *s)
{
    am_sb_puts(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '\r': am_sb_puts(b, "\\r"); break;
        case '\n': am_sb_puts(b, "\\n"); break;
        case '\\': am_sb_puts(b, "\\\\"); break;
        case '\t': am_sb_puts(b, "\\t"); break;
        case '"': am_sb_puts(b, "\\\""); break;
        default:
            if (c < 0x20) am_sb_printf(b, "\\u%04x", c);
            else am_sb_put(b, s, 1);
        }
    }
    am_sb_puts(b, "\"");
}

/* ---- dmlc::JSONWriter's layout --------------------------------------------------------
 * A multi-line scope puts "\n" and 2 spaces per open multi-line scope before each
 * member; members after the first get ", " first (hence the trailing space). */

typedef struct writer {
    sbuf b;
    int depth;     /* open scopes, for the indentation */
    bool multi[64]; /* whether each open scope is multi-line (subgraphs nest 8 deep at most) */
    int count[64];  /* members written in each open scope */
} writer;

static void w_newline(writer *w)
{
    if (w->depth > 0 && !w->multi[w->depth - 1]) return;
    am_sb_puts(&w->b, "\n");
    for (int i = 0; i < w->depth; i++) am_sb_puts(&w->b, "  ");
}

static void w_begin(writer *w, const char *open, bool multi)
{
    am_sb_puts(&w->b, open);
    w->multi[w->depth] = multi;
    w->count[w->depth++] = 0;
}

static void w_end(writer *w, const char *close)
{
    int n = w->count[--w->depth];
    if (w->multi[w->depth] && n > 0) {
        am_sb_puts(&w->b, "\n");
        for (int i = 0; i < w->depth; i++) am_sb_puts(&w->b, "  ");
    }
    am_sb_puts(&w->b, close);
}

/* Before an array element. */
static void w_item(writer *w)
{
    if (w->count[w->depth - 1]++ > 0) am_sb_puts(&w->b, ", ");
    w_newline(w);
}

/* Before an object member's value. */
static void w_key(writer *w, const char *key)
{
    w_item(w);
    sb_str(&w->b, key);
    am_sb_puts(&w->b, ": ");
}

/* [nid, index, 0] */
static void w_entry(writer *w, int nid, int index)
{
    w_item(w);
    am_sb_printf(&w->b, "[%d, %d, 0]", nid, index);
}

/* ---- node attributes --------------------------------------------------------------- */

typedef struct kv {
    char *key, *val; /* owned */
} kv;

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const kv *)a)->key, ((const kv *)b)->key);
}

/* Adds or replaces key (both are copied). */
static bool kv_set(kv *list, int *n, const char *key, const char *val)
{
    char *v = strdup(val);
    if (!v) return false;
    for (int i = 0; i < *n; i++)
        if (strcmp(list[i].key, key) == 0) {
            free(list[i].val);
            list[i].val = v;
            return true;
        }
    char *k = strdup(key);
    if (!k) return free(v), false;
    list[(*n)++] = (kv){k, v};
    return true;
}

static const char *kv_get(const kv *list, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(list[i].key, key) == 0) return list[i].val;
    return NULL;
}

static void kv_free(kv *list, int n)
{
    for (int i = 0; i < n; i++) free(list[i].key), free(list[i].val);
    free(list);
}

/* "(64, 784)", "(64,)", "()" as Python's str(tuple) writes shapes: a
 * __shape__ as MXNet's legacy files write it, an unknown dimension as 0 (as
 * -1 with numpy semantics, np). */
static void format_shape(am_shape s, bool np, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < s.ndim && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%lld", i ? ", " : "",
                              (long long)(s.dim[i] < 0 ? (np ? -1 : 0) : s.dim[i]));
    if (k < len) snprintf(buf + k, len - k, s.ndim == 1 ? ",)" : ")");
}

/* The string attributes a node is written with, unsorted. */
static bool node_attrs(const am_node *n, bool origins, bool np, kv *list, int *cnt)
{
    char buf[512];
    bool ok = true;
    for (int i = 0; i < n->n_extra && ok; i++)
        ok = kv_set(list, cnt, n->extra[i].key, n->extra[i].value);
    if (!n->op) {
        /* A partial shape read from a file writes back the file's text
         * ("(64, -1)" stays); one Amber made (an export's batch) is written
         * with 0 for the unknown dimension. */
        if (ok && (am_shape_known(&n->shapes[0]) ||
                   (n->shapes[0].ndim >= 0 && !am_node_get_extra(n, "__shape__")))) {
            format_shape(n->shapes[0], np, buf, sizeof(buf));
            ok = kv_set(list, cnt, "__shape__", buf);
        }
        if (ok && n->dtypes[0] != AM_DTYPE_COUNT) {
            snprintf(buf, sizeof(buf), "%d", am_dtype_to_mxnet(n->dtypes[0]));
            ok = kv_set(list, cnt, "__dtype__", buf);
        }
        return ok;
    }
    for (const am_attr_field *f = n->op->attrs; f && f->name && ok; f++) {
        bool given = (n->attrs_given >> (f - n->op->attrs)) & 1;
        if (given || !f->def || !am_attr_is_default(f, n->attrs))
            ok = kv_set(list, cnt, f->name, am_attr_format(f, n->attrs, buf, sizeof(buf)));
    }
    if (ok && origins && n->origin && !am_node_get_extra(n, "__origin__"))
        ok = kv_set(list, cnt, "__origin__", n->origin);
    return ok;
}

static int count_fields(const am_op_def *op)
{
    int k = 0;
    for (const am_attr_field *f = op ? op->attrs : NULL; f && f->name; f++) k++;
    return k;
}

/* The node's attributes as the canonical writer writes them, sorted by key
 * (*list malloc'd; kv_free it). */
static bool node_attr_list(const am_node *n, bool origins, bool np, kv **list, int *cnt)
{
    *cnt = 0;
    if (!(*list = calloc((size_t)(n->n_extra + count_fields(n->op) + 3), sizeof(**list))))
        return false;
    bool ok = node_attrs(n, origins, np, *list, cnt);
    if (ok) qsort(*list, (size_t)*cnt, sizeof(**list), kv_cmp);
    return ok;
}

static bool write_attrs(writer *w, const am_node *n, bool origins)
{
    int cnt = 0;
    kv *list;
    bool ok = node_attr_list(n, origins, false, &list, &cnt);
    if (ok && cnt > 0) {
        w_key(w, "attrs");
        w_begin(w, "{", cnt > 1);
        for (int i = 0; i < cnt; i++) {
            w_key(w, list[i].key);
            sb_str(&w->b, list[i].val);
        }
        w_end(w, "}");
    }
    if (list) kv_free(list, cnt);
    return ok;
}

/* ---- the graph ----------------------------------------------------------------------- */

static bool write_graph(writer *w, const am_graph *g, bool origins, bool sub);
static bool write_kept_graph(writer *w, const am_graph *g, bool sub);

/* A control-flow node's "subgraphs": each graph as written from its file, or canonically. */
static bool write_subgraphs(writer *w, const am_node *n, bool origins)
{
    const am_op_subgraphs *sg = n->attrs;
    bool ok = true;
    w_key(w, "subgraphs");
    w_begin(w, "[", true);
    for (int k = 0; k < n->op->num_subgraphs && ok; k++)
        ok = sg->g[k]->source ? write_kept_graph(w, sg->g[k], true)
                              : write_graph(w, sg->g[k], origins, true);
    w_end(w, "]");
    return ok;
}

static bool write_node(writer *w, const am_graph *g, int i, bool origins)
{
    const am_node *n = g->nodes[i];
    w_item(w);
    w_begin(w, "{", true);
    w_key(w, "op");
    sb_str(&w->b, n->op ? n->op->name : "null");
    w_key(w, "name");
    sb_str(&w->b, g->names[i]);
    if (!write_attrs(w, n, origins)) return false;
    w_key(w, "inputs");
    w_begin(w, "[", n->n_in > 10);
    for (int k = 0; k < n->n_in; k++)
        w_entry(w, am_graph_index(g, n->inputs[k].node), n->inputs[k].index);
    w_end(w, "]");
    if (n->op && n->op->num_subgraphs > 0 && !write_subgraphs(w, n, origins)) return false;
    w_end(w, "}");
    return true;
}

/* A POD array of ints: one line up to 10 elements, else one per line. */
static void write_ints(writer *w, const char *key, const int *v, int n)
{
    w_key(w, key);
    w_begin(w, "[", n > 10);
    for (int i = 0; i < n; i++) {
        w_item(w);
        am_sb_printf(&w->b, "%d", v[i]);
    }
    w_end(w, "]");
}

/* A graph object; a subgraph (sub) has no "attrs" of its own, as in MXNet. */
static bool write_graph(writer *w, const am_graph *g, bool origins, bool sub)
{
    int *ints = malloc((size_t)(g->n_nodes + 1) * sizeof(*ints));
    if (!ints) return false;
    if (sub) w_item(w);
    w_begin(w, "{", true);
    w_key(w, "nodes");
    w_begin(w, "[", true);
    bool ok = true;
    for (int i = 0; i < g->n_nodes && ok; i++) ok = write_node(w, g, i, origins);
    w_end(w, "]");
    int k = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i]->op) ints[k++] = i;
    write_ints(w, "arg_nodes", ints, k);
    ints[0] = 0;
    for (int i = 0; i < g->n_nodes; i++) ints[i + 1] = ints[i] + g->nodes[i]->n_out;
    write_ints(w, "node_row_ptr", ints, g->n_nodes + 1);
    w_key(w, "heads");
    w_begin(w, "[", g->n_heads > 10);
    for (int h = 0; h < g->n_heads; h++)
        w_entry(w, am_graph_index(g, g->heads[h].node), g->heads[h].index);
    w_end(w, "]");
    if (!sub) {
        w_key(w, "attrs");
        w_begin(w, "{", false);
        w_key(w, "mxnet_version");
        am_sb_printf(&w->b, "[\"int\", %d]", MXNET_VERSION);
        w_end(w, "}");
    }
    w_end(w, "}");
    free(ints);
    return ok;
}

/* ---- graphs read from a file: written back as the file was ---------------------------
 * A graph that am_graph_from_json made keeps the parsed document and, per
 * node, its attributes as the canonical writer saw them right after
 * reading.  Writing it walks the document in its own key order, in dmlc's
 * layout: each attribute keeps its source text unless its canonical form
 * changed since (am_graph_infer giving a variable a shape), entries keep
 * their versions and lengths, names stay as written (duplicates and empty
 * ones too), and while the graph's nodes are the file's in the file's order,
 * "arg_nodes", "node_row_ptr" and "heads" are the file's.  Graphs that
 * passes or composition build are new graphs, written canonically. */

typedef struct attr_set {
    kv *list;
    int n;
} attr_set;

struct am_json_source {
    json_t *root;      /* a reference to the document */
    bool same_order;   /* the graph's nodes are the file's nodes, in the file's order */
    bool np_shape;     /* "is_np_shape": unknown dimensions are written as -1 */
    int n_file;
    int *graph_of;     /* per file node: its index in the graph, or -1 (dropped) */
    int *file_of;      /* per graph node: its index in the file */
    attr_set *loaded;  /* per graph node: canonical attributes when read */
};

void am_json_source_free(am_json_source *s)
{
    if (!s) return;
    for (int i = 0; s->loaded && s->file_of && i < s->n_file; i++)
        if (s->loaded[i].list) kv_free(s->loaded[i].list, s->loaded[i].n);
    json_decref(s->root);
    free(s->graph_of), free(s->file_of), free(s->loaded), free(s);
}

am_status am_json_source_attach(am_graph *g, json_t *root, am_node *const *file_nodes, int n_file,
                                bool np_shape)
{
    am_json_source *s = calloc(1, sizeof(*s));
    if (!s) return am_fail(AM_ERR_OOM, "out of memory");
    s->n_file = n_file;
    s->np_shape = np_shape;
    s->root = json_incref(root);
    s->graph_of = malloc((size_t)(n_file ? n_file : 1) * sizeof(*s->graph_of));
    s->file_of = calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof(*s->file_of));
    s->loaded = calloc((size_t)(n_file ? n_file : 1), sizeof(*s->loaded));
    bool ok = s->graph_of && s->file_of && s->loaded;
    s->same_order = g->n_nodes == n_file;
    for (int f = 0; ok && f < n_file; f++) {
        s->graph_of[f] = am_graph_index(g, file_nodes[f]);
        if (s->graph_of[f] >= 0) s->file_of[s->graph_of[f]] = f;
        s->same_order &= s->graph_of[f] == f;
    }
    for (int i = 0; ok && i < g->n_nodes; i++)
        ok = node_attr_list(g->nodes[i], false, np_shape, &s->loaded[i].list, &s->loaded[i].n);
    if (!ok) {
        am_json_source_free(s);
        return am_fail(AM_ERR_OOM, "out of memory keeping the symbol JSON");
    }
    am_json_source_free(g->source);
    g->source = s;
    return AM_OK;
}

/* Any JSON value in dmlc's layout: an object is multi-line with more than one
 * member (a std::map), an array on one line when it holds at most 10 numbers
 * (a vector of integers) or is a ["type", value] pair (a dmlc::any).
 * Values nested deeper than any field of the format are written on one line
 * as jansson writes them. */
static void w_value(writer *w, const json_t *v)
{
    if (w->depth >= 48 && (json_is_object(v) || json_is_array(v))) {
        char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        if (t) am_sb_puts(&w->b, t);
        else w->b.oom = true;
        free(t);
        return;
    }
    switch (json_typeof(v)) {
    case JSON_STRING: sb_str(&w->b, json_string_value(v)); break;
    case JSON_INTEGER: am_sb_printf(&w->b, "%lld", (long long)json_integer_value(v)); break;
    case JSON_TRUE: am_sb_puts(&w->b, "true"); break;
    case JSON_FALSE: am_sb_puts(&w->b, "false"); break;
    case JSON_NULL: am_sb_puts(&w->b, "null"); break;
    case JSON_REAL: {
        char *t = json_dumps(v, JSON_ENCODE_ANY);
        if (t) am_sb_puts(&w->b, t);
        else w->b.oom = true;
        free(t);
        break;
    }
    case JSON_OBJECT: {
        const char *key;
        const json_t *x;
        w_begin(w, "{", json_object_size(v) > 1);
        json_object_foreach((json_t *)v, key, x) {
            w_key(w, key);
            w_value(w, x);
        }
        w_end(w, "}");
        break;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v), i;
        bool one_line = n <= 10;
        const json_t *x;
        json_array_foreach((json_t *)v, i, x) one_line &= json_is_number(x);
        if (n == 2 && json_is_string(json_array_get(v, 0))) one_line = true;
        w_begin(w, "[", !one_line);
        json_array_foreach((json_t *)v, i, x) {
            w_item(w);
            w_value(w, x);
        }
        w_end(w, "]");
        break;
    }
    }
}

/* An entry to node nid, output index, with the version and length that the
 * file's entry fe had. */
static void w_kept_entry(writer *w, int nid, int index, const json_t *fe)
{
    w_item(w);
    if (json_array_size(fe) == 2) am_sb_printf(&w->b, "[%d, %d]", nid, index);
    else am_sb_printf(&w->b, "[%d, %d, %lld]", nid, index,
                   (long long)json_integer_value(json_array_get(fe, 2)));
}

/* The key a node's attribute has among the canonical ones ("lr_mult" of
 * MXNet before 0.9 is "__lr_mult__"). */
static const char *canonical_key(const char *key, char *buf, size_t len)
{
    if (strncmp(key, "__", 2) == 0 || !am_json_key_is_legacy_hidden(key)) return key;
    snprintf(buf, len, "__%s__", key);
    return buf;
}

/* Whether key (canonical) is given by one of the node's attribute maps. */
static bool in_file_maps(const json_t *jn, const char *key)
{
    static const char *const maps[] = {"param", "attr", "attrs"};
    char buf[160];
    for (int m = 0; m < 3; m++) {
        const char *k;
        const json_t *v;
        json_object_foreach(json_object_get(jn, maps[m]), k, v)
            if (strcmp(canonical_key(k, buf, sizeof(buf)), key) == 0) return true;
    }
    return false;
}

/* One attribute map of the file (map; NULL for an "attrs" the node now needs
 * but the file lacked).  Keys keep their order and text, values their text
 * unless changed; home receives attributes that no map of the file gives,
 * in sorted position when the map was sorted. */
static void w_kept_attr_map(writer *w, const json_t *jn, const json_t *map, bool home,
                            const attr_set *was, const attr_set *now)
{
    const char *key, *prev = NULL;
    const json_t *v;
    char buf[160];
    bool sorted = true;
    int n = 0;
    json_object_foreach((json_t *)map, key, v) {
        if (kv_get(now->list, now->n, canonical_key(key, buf, sizeof(buf)))) n++;
        if (prev && strcmp(prev, key) > 0) sorted = false;
        prev = key;
    }
    int n_new = 0;
    for (int i = 0; home && i < now->n; i++) n_new += !in_file_maps(jn, now->list[i].key);
    w_begin(w, "{", n + n_new > 1);
    int next_new = 0; /* now->list is sorted by key */
    json_object_foreach((json_t *)map, key, v) {
        const char *ck = canonical_key(key, buf, sizeof(buf));
        const char *cur = kv_get(now->list, now->n, ck), *old = kv_get(was->list, was->n, ck);
        for (; home && sorted && next_new < now->n; next_new++) {
            const kv *e = &now->list[next_new];
            if (strcmp(e->key, key) > 0) break;
            if (in_file_maps(jn, e->key)) continue;
            w_key(w, e->key);
            sb_str(&w->b, e->val);
        }
        if (!cur) continue; /* no longer there */
        w_key(w, key);
        sb_str(&w->b, old && strcmp(old, cur) == 0 ? json_string_value(v) : cur);
    }
    for (; home && next_new < now->n; next_new++) {
        const kv *e = &now->list[next_new];
        if (in_file_maps(jn, e->key)) continue;
        w_key(w, e->key);
        sb_str(&w->b, e->val);
    }
    w_end(w, "}");
}

static bool write_kept_node(writer *w, const am_graph *g, int i)
{
    const am_json_source *s = g->source;
    const am_node *n = g->nodes[i];
    const json_t *jn = json_array_get(json_object_get(s->root, "nodes"), (size_t)s->file_of[i]);
    attr_set now = {0};
    if (!node_attr_list(n, false, s->np_shape, &now.list, &now.n)) {
        if (now.list) kv_free(now.list, now.n);
        return false;
    }
    /* The map that receives new attributes: the file's last, else a new "attrs". */
    const char *home = json_object_get(jn, "attrs") ? "attrs" : json_object_get(jn, "attr") ? "attr"
                       : json_object_get(jn, "param") ? "param" : NULL;
    bool need_new = false;
    for (int k = 0; !home && k < now.n; k++) need_new |= !in_file_maps(jn, now.list[k].key);
    const char *key;
    const json_t *v;
    w_item(w);
    w_begin(w, "{", true);
    json_object_foreach((json_t *)jn, key, v) {
        w_key(w, key);
        if (strcmp(key, "attrs") == 0 || strcmp(key, "attr") == 0 || strcmp(key, "param") == 0) {
            w_kept_attr_map(w, jn, v, home && strcmp(key, home) == 0, &s->loaded[i], &now);
        } else if (strcmp(key, "inputs") == 0) {
            w_begin(w, "[", n->n_in > 10);
            for (int k = 0; k < n->n_in; k++)
                w_kept_entry(w, am_graph_index(g, n->inputs[k].node), n->inputs[k].index,
                             json_array_get(v, (size_t)k));
            w_end(w, "]");
        } else if (strcmp(key, "subgraphs") == 0 && n->op && n->op->num_subgraphs > 0) {
            const am_op_subgraphs *sg = n->attrs;
            bool ok = true;
            w_begin(w, "[", true);
            for (int k = 0; k < n->op->num_subgraphs && ok; k++)
                ok = sg->g[k]->source ? write_kept_graph(w, sg->g[k], true)
                                      : write_graph(w, sg->g[k], false, true);
            w_end(w, "]");
            if (!ok) {
                kv_free(now.list, now.n);
                return false;
            }
        } else if (strcmp(key, "control_deps") == 0 && !s->same_order) {
            int m = 0, ids[1024];
            size_t k;
            const json_t *x;
            json_array_foreach((json_t *)v, k, x) {
                long long f = json_integer_value(x);
                if (f >= 0 && f < s->n_file && s->graph_of[f] >= 0 && m < 1024)
                    ids[m++] = s->graph_of[f];
            }
            w_begin(w, "[", m > 10);
            for (int j = 0; j < m; j++) w_item(w), am_sb_printf(&w->b, "%d", ids[j]);
            w_end(w, "]");
        } else {
            w_value(w, v); /* op and name as written, control_deps, subgraphs, ... */
        }
        if (strcmp(key, "name") == 0 && need_new) {
            w_key(w, "attrs");
            w_kept_attr_map(w, jn, NULL, true, &s->loaded[i], &now);
        }
    }
    w_end(w, "}");
    kv_free(now.list, now.n);
    return true;
}

static bool write_kept_graph(writer *w, const am_graph *g, bool sub)
{
    const am_json_source *s = g->source;
    int *ints = malloc((size_t)(g->n_nodes + 1) * sizeof(*ints));
    if (!ints) return false;
    const char *key;
    const json_t *v;
    bool ok = true;
    if (sub) w_item(w);
    w_begin(w, "{", true);
    json_object_foreach(s->root, key, v) {
        w_key(w, key);
        if (strcmp(key, "nodes") == 0) {
            w_begin(w, "[", true);
            for (int i = 0; i < g->n_nodes && ok; i++) ok = write_kept_node(w, g, i);
            w_end(w, "]");
        } else if (strcmp(key, "heads") == 0) {
            w_begin(w, "[", g->n_heads > 10);
            for (int h = 0; h < g->n_heads; h++)
                w_kept_entry(w, am_graph_index(g, g->heads[h].node), g->heads[h].index,
                             json_array_get(v, (size_t)h));
            w_end(w, "]");
        } else if ((strcmp(key, "arg_nodes") == 0 || strcmp(key, "node_row_ptr") == 0) &&
                   !s->same_order) {
            int k = 0;
            if (key[0] == 'a') {
                for (int i = 0; i < g->n_nodes; i++)
                    if (!g->nodes[i]->op) ints[k++] = i;
            } else {
                ints[k++] = 0;
                for (int i = 0; i < g->n_nodes; i++, k++) ints[k] = ints[k - 1] + g->nodes[i]->n_out;
            }
            w_begin(w, "[", k > 10);
            for (int i = 0; i < k; i++) w_item(w), am_sb_printf(&w->b, "%d", ints[i]);
            w_end(w, "]");
        } else {
            w_value(w, v);
        }
    }
    w_end(w, "}");
    free(ints);
    return ok;
}

char *am_graph_to_json_opts(const am_graph *g, bool origins)
{
    if (!g) {
        am_fail(AM_ERR_ARG, "am_graph_to_json: the graph is NULL");
        return NULL;
    }
    writer w = {0};
    if (!(g->source ? write_kept_graph(&w, g, false) : write_graph(&w, g, origins, false)) ||
        w.b.oom) {
        free(w.b.s);
        am_fail(AM_ERR_OOM, "am_graph_to_json: out of memory");
        return NULL;
    }
    return w.b.s;
}

char *am_graph_to_json(const am_graph *g)
{
    return am_graph_to_json_opts(g, true);
}

am_status am_node_mark_given(am_node *n, const char *key)
{
    for (const am_attr_field *f = n->op ? n->op->attrs : NULL; f && f->name; f++)
        if (strcmp(f->name, key) == 0) {
            n->attrs_given |= 1ull << (f - n->op->attrs);
            return AM_OK;
        }
    return am_fail(AM_ERR_ARG, "%s has no attribute '%s'", n->op ? n->op->name : "a variable",
                   key);
}

/* ---- files ----------------------------------------------------------------------------- */

static am_status write_json(FILE *f, void *ctx)
{
    size_t n = strlen(ctx);
    return fwrite(ctx, 1, n, f) == n ? AM_OK : AM_ERR_IO;
}

am_status am_graph_save(const am_graph *g, const char *path)
{
    if (!path) return am_fail(AM_ERR_ARG, "am_graph_save: the path is NULL");
    char *json = am_graph_to_json(g);
    if (!json) return am_last_status();
    am_err_ctx c;
    am_err_push(&c, "am_graph_save", (am_site){NULL, 0});
    am_status st = am_file_write_atomic(path, write_json, json);
    am_err_pop(&c);
    free(json);
    return st;
}

#define MAX_FILE ((size_t)1 << 30) /* 1 GiB of JSON is far beyond any real model */

am_graph *am_graph_load(const char *path)
{
    if (!path) {
        am_fail(AM_ERR_ARG, "am_graph_load: the path is NULL");
        return NULL;
    }
    am_err_ctx c;
    FILE *f = NULL;
    uint64_t size = 0;
    char *buf = NULL;
    size_t n = 0;
    am_err_push(&c, "am_graph_load", (am_site){NULL, 0});
    am_status st = am_file_open_read(path, &f, &size);
    am_err_pop(&c);
    if (st != AM_OK) return NULL;
    if (size > MAX_FILE) {
        am_fail(AM_ERR_IO, "am_graph_load: %s is over 1 GiB (%llu bytes)", path,
                (unsigned long long)size);
    } else if (!(buf = malloc((size_t)size + 1))) {
        am_fail(AM_ERR_OOM, "am_graph_load: cannot allocate %llu bytes for %s",
                (unsigned long long)size, path);
    } else if ((n = fread(buf, 1, (size_t)size, f)) != (size_t)size) {
        am_fail(AM_ERR_IO, "am_graph_load: cannot read %s: %s", path,
                ferror(f) ? strerror(errno) : "the file got shorter");
    }
    fclose(f);
    am_graph *g = NULL;
    if (buf && n == (size_t)size) g = am_graph_from_json_buffer(buf, n, path);
    free(buf);
    return g;
}
