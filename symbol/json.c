/* Writing graphs as MXNet 1.9 symbol JSON, byte for byte as dmlc::JSONWriter
 * formats it (docs/formats/symbol-json.md), and saving/loading symbol files. */
#include "symbol_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#define MXNET_VERSION 10901 /* the 1.9.1 this writer imitates */

/* ---- a growable string ------------------------------------------------------------- */

typedef struct sbuf {
    char *s;
    size_t n, cap;
    bool oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t len)
{
    if (b->oom) return;
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->n + len + 1 > cap) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, len);
    b->n += len;
    b->s[b->n] = '\0';
}

static void sb_puts(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    sb_put(b, tmp, n < 0 ? 0 : (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* A JSON string as dmlc writes it (\r \n \\ \t \" escaped); other control
 * characters, which dmlc writes raw (invalid JSON), become \u00XX. */
static void sb_str(sbuf *b, const char *s)
{
    sb_puts(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '\r': sb_puts(b, "\\r"); break;
        case '\n': sb_puts(b, "\\n"); break;
        case '\\': sb_puts(b, "\\\\"); break;
        case '\t': sb_puts(b, "\\t"); break;
        case '"': sb_puts(b, "\\\""); break;
        default:
            if (c < 0x20) sb_printf(b, "\\u%04x", c);
            else sb_put(b, s, 1);
        }
    }
    sb_puts(b, "\"");
}

/* ---- dmlc::JSONWriter's layout --------------------------------------------------------
 * A multi-line scope puts "\n" and 2 spaces per open multi-line scope before each
 * member; members after the first get ", " first (hence the trailing space). */

typedef struct writer {
    sbuf b;
    int depth;     /* open scopes, for the indentation */
    bool multi[8]; /* whether each open scope is multi-line */
    int count[8];  /* members written in each open scope */
} writer;

static void w_newline(writer *w)
{
    if (w->depth > 0 && !w->multi[w->depth - 1]) return;
    sb_puts(&w->b, "\n");
    for (int i = 0; i < w->depth; i++) sb_puts(&w->b, "  ");
}

static void w_begin(writer *w, const char *open, bool multi)
{
    sb_puts(&w->b, open);
    w->multi[w->depth] = multi;
    w->count[w->depth++] = 0;
}

static void w_end(writer *w, const char *close)
{
    int n = w->count[--w->depth];
    if (w->multi[w->depth] && n > 0) {
        sb_puts(&w->b, "\n");
        for (int i = 0; i < w->depth; i++) sb_puts(&w->b, "  ");
    }
    sb_puts(&w->b, close);
}

/* Before an array element. */
static void w_item(writer *w)
{
    if (w->count[w->depth - 1]++ > 0) sb_puts(&w->b, ", ");
    w_newline(w);
}

/* Before an object member's value. */
static void w_key(writer *w, const char *key)
{
    w_item(w);
    sb_str(&w->b, key);
    sb_puts(&w->b, ": ");
}

/* [nid, index, 0] */
static void w_entry(writer *w, int nid, int index)
{
    w_item(w);
    sb_printf(&w->b, "[%d, %d, 0]", nid, index);
}

/* ---- node attributes --------------------------------------------------------------- */

typedef struct kv {
    const char *key;
    char *val; /* owned */
} kv;

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const kv *)a)->key, ((const kv *)b)->key);
}

/* Adds or replaces key (values are copied). */
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
    list[(*n)++] = (kv){key, v};
    return true;
}

/* "(64, 784)", "(64,)", "()" as Python's str(tuple) writes shapes. */
/* A __shape__ as MXNet's legacy files write it: an unknown dimension as 0. */
static void format_shape(am_shape s, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < s.ndim && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%lld", i ? ", " : "",
                              (long long)(s.dim[i] < 0 ? 0 : s.dim[i]));
    if (k < len) snprintf(buf + k, len - k, s.ndim == 1 ? ",)" : ")");
}

/* The string attributes a node is written with, unsorted. */
static bool node_attrs(const am_node *n, bool origins, kv *list, int *cnt)
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
            format_shape(n->shapes[0], buf, sizeof(buf));
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

static bool write_attrs(writer *w, const am_node *n, bool origins)
{
    int cnt = 0;
    kv *list = calloc((size_t)(n->n_extra + count_fields(n->op) + 3), sizeof(*list));
    if (!list) return false;
    bool ok = node_attrs(n, origins, list, &cnt);
    if (ok && cnt > 0) {
        qsort(list, (size_t)cnt, sizeof(*list), kv_cmp);
        w_key(w, "attrs");
        w_begin(w, "{", cnt > 1);
        for (int i = 0; i < cnt; i++) {
            w_key(w, list[i].key);
            sb_str(&w->b, list[i].val);
        }
        w_end(w, "}");
    }
    for (int i = 0; i < cnt; i++) free(list[i].val);
    free(list);
    return ok;
}

/* ---- the graph ----------------------------------------------------------------------- */

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
        sb_printf(&w->b, "%d", v[i]);
    }
    w_end(w, "]");
}

static bool write_graph(writer *w, const am_graph *g, bool origins)
{
    int *ints = malloc((size_t)(g->n_nodes + 1) * sizeof(*ints));
    if (!ints) return false;
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
    w_key(w, "attrs");
    w_begin(w, "{", false);
    w_key(w, "mxnet_version");
    sb_printf(&w->b, "[\"int\", %d]", MXNET_VERSION);
    w_end(w, "}");
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
    if (!write_graph(&w, g, origins) || w.b.oom) {
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
    FILE *f = fopen(path, "rb");
    if (!f) {
        am_fail(AM_ERR_IO, "am_graph_load: cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    char *buf = NULL;
    size_t n = 0;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode) || (size_t)sb.st_size > MAX_FILE) {
        am_fail(AM_ERR_IO, "am_graph_load: %s is not a regular file under 1 GiB", path);
    } else if (!(buf = malloc((size_t)sb.st_size + 1))) {
        am_fail(AM_ERR_OOM, "am_graph_load: cannot allocate %lld bytes for %s",
                (long long)sb.st_size, path);
    } else if ((n = fread(buf, 1, (size_t)sb.st_size, f)) != (size_t)sb.st_size) {
        am_fail(AM_ERR_IO, "am_graph_load: cannot read %s: %s", path,
                ferror(f) ? strerror(errno) : "the file got shorter");
    }
    fclose(f);
    am_graph *g = NULL;
    if (buf && n == (size_t)sb.st_size) g = am_graph_from_json_buffer(buf, n, path);
    free(buf);
    return g;
}
