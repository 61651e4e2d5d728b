/* The metrics of include/amber/metric.h: MXNet 1.9.1's mxnet.metric,
 * computed on the host in double from concrete arrays. */
#include <amber/amber.h>
#include <amber/metric.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One label or pred read to the host. */
typedef struct host {
    double *v;
    int64_t n;
    am_shape shape;
} host;

typedef enum kind {
    K_ACCURACY, K_TOP_K, K_F1, K_MAE, K_MSE, K_RMSE, K_CROSS_ENTROPY, K_PERPLEXITY, K_PEARSON,
    K_COMPOSITE
} kind;

/* Everything a metric accumulates; copied by value so that a failed update
 * can be undone. */
typedef struct state {
    double sum_metric, num_inst;
    double tp, fp, fn, tn;                      /* F1 */
    double n_l, mean_l, sse_l, n_p, mean_p, sse_p, conv; /* Pearson, micro */
} state;

struct am_metric {
    kind kind;
    char name[40];
    int axis, top_k;                 /* Accuracy, Perplexity; TopK */
    double eps;                      /* CrossEntropy */
    bool ignore;                     /* Perplexity */
    double ignore_label;
    am_metric_average average;       /* F1, Pearson */
    state s;
    am_metric **children;            /* composite */
    int n_children;
};

/* ---- reading arrays ------------------------------------------------------------------------- */

/* Copies x's values (as doubles, row-major) to h->v (malloc'd).  what is
 * "labels" or "preds", i the pair. */
static am_status host_read(const am_metric *m, const char *what, int i, am_array *x, host *h)
{
    h->v = NULL;
    if (!x) {
        if (am_last_status() != AM_OK) return am_last_status();
        return am_fail(AM_ERR_ARG, "%s: %s[%d] is NULL", m->name, what, i);
    }
    if (am_array_is_symbolic(x))
        return am_fail(AM_ERR_SYMBOLIC, "%s: %s[%d] is symbolic; metrics read values, so call "
                       "them on concrete arrays, outside traced code", m->name, what, i);
    h->shape = am_array_shape(x);
    h->n = am_array_size(x);
    h->v = malloc((size_t)(h->n ? h->n : 1) * sizeof(double));
    if (!h->v) return am_fail(AM_ERR_OOM, "%s: out of memory reading %s[%d]", m->name, what, i);
    am_scope_begin();
    am_array *c = am_array_device(x).type == AM_DEVICE_CPU ? x : am_to_device(x, am_cpu());
    for (int64_t k = 0; c && k < h->n; k++) h->v[k] = am_item(c, k);
    am_scope_end();
    if (!c) {
        free(h->v);
        h->v = NULL;
        return am_last_status();
    }
    return AM_OK;
}

/* AM_ERR_SHAPE naming the metric and both shapes, with why. */
static am_status shape_error(const am_metric *m, int i, const host *l, const host *p,
                             const char *why)
{
    char a[96], b[96];
    return am_fail(AM_ERR_SHAPE, "%s: labels[%d] %s and preds[%d] %s: %s", m->name, i,
                   am_shape_format(&l->shape, a, sizeof(a)), i,
                   am_shape_format(&p->shape, b, sizeof(b)), why);
}

static int norm_axis(int axis, int ndim)
{
    return axis < 0 ? axis + ndim : axis;
}

/* Sizes before and after axis a, and along it. */
static void split_at(am_shape s, int a, int64_t *outer, int64_t *len, int64_t *inner)
{
    *outer = 1, *inner = 1, *len = s.dim[a];
    for (int i = 0; i < a; i++) *outer *= s.dim[i];
    for (int i = a + 1; i < s.ndim; i++) *inner *= s.dim[i];
}

/* Position j of pred with axis a removed, at class c: a flat index. */
static int64_t along(int64_t j, int64_t c, int64_t len, int64_t inner)
{
    return (j / inner * len + c) * inner + j % inner;
}

/* The argmax of p along axis a (first of equal maxima), in a new host
 * array of p's values less that axis. */
static am_status host_argmax(const am_metric *m, const host *p, int a, host *out)
{
    int64_t outer, len, inner;
    split_at(p->shape, a, &outer, &len, &inner);
    out->n = outer * inner;
    out->shape = AM_SHAPE(out->n);
    out->v = malloc((size_t)(out->n ? out->n : 1) * sizeof(double));
    if (!out->v) return am_fail(AM_ERR_OOM, "%s: out of memory", m->name);
    for (int64_t j = 0; j < out->n; j++) {
        int64_t best = 0;
        for (int64_t c = 1; c < len; c++)
            if (p->v[along(j, c, len, inner)] > p->v[along(j, best, len, inner)]) best = c;
        out->v[j] = (double)best;
    }
    return AM_OK;
}

/* ---- the metrics' updates, one label/pred pair each ----------------------------------------- */

static am_status update_accuracy(am_metric *m, int i, const host *l, const host *p)
{
    host arg = {0};
    const host *pl = p;
    if (!am_shape_equal(l->shape, p->shape)) {
        int a = norm_axis(m->axis, p->shape.ndim);
        if (a < 0 || a >= p->shape.ndim) return shape_error(m, i, l, p, "axis out of range");
        am_status st = host_argmax(m, p, a, &arg);
        if (st != AM_OK) return st;
        pl = &arg;
    }
    am_status st = AM_OK;
    if (pl->n != l->n) {
        st = shape_error(m, i, l, p, "the labels and predicted classes differ in number");
    } else {
        for (int64_t k = 0; k < l->n; k++)
            m->s.sum_metric += (int32_t)pl->v[k] == (int32_t)l->v[k];
        m->s.num_inst += (double)l->n;
    }
    free(arg.v);
    return st;
}

static am_status update_top_k(am_metric *m, int i, const host *l, const host *p)
{
    if (p->shape.ndim != 2) return shape_error(m, i, l, p, "preds must be (N, C)");
    int64_t n = p->shape.dim[0], c = p->shape.dim[1];
    if (l->n != n) return shape_error(m, i, l, p, "labels must hold N values");
    int64_t k = c < m->top_k ? c : m->top_k;
    for (int64_t r = 0; r < n; r++) {
        int64_t y = (int32_t)l->v[r], above = 0;
        if (y < 0 || y >= c) continue;
        float ref = (float)p->v[r * c + y]; /* MXNet ranks the scores as float32 */
        for (int64_t j = 0; j < c; j++) above += (float)p->v[r * c + j] > ref;
        m->s.sum_metric += above < k;
    }
    m->s.num_inst += (double)n;
    return AM_OK;
}

static am_status update_f1(am_metric *m, int i, const host *l, const host *p)
{
    if (p->shape.ndim != 2) return shape_error(m, i, l, p, "preds must be (N, classes)");
    if (l->n != p->shape.dim[0]) return shape_error(m, i, l, p, "labels must hold N values");
    int32_t seen[2];
    int n_seen = 0;
    for (int64_t r = 0; r < l->n; r++) {
        int32_t y = (int32_t)l->v[r];
        if ((n_seen < 1 || seen[0] != y) && (n_seen < 2 || seen[1] != y)) {
            if (n_seen == 2)
                return am_fail(AM_ERR_ARG, "%s: labels[%d] hold more than two classes; F1 "
                               "supports binary classification only", m->name, i);
            seen[n_seen++] = y;
        }
    }
    host arg;
    am_status st = host_argmax(m, p, 1, &arg);
    if (st != AM_OK) return st;
    for (int64_t r = 0; r < l->n; r++) {
        bool pt = (int64_t)arg.v[r] == 1, lt = (int32_t)l->v[r] == 1;
        m->s.tp += pt && lt, m->s.fp += pt && !lt, m->s.fn += !pt && lt, m->s.tn += !pt && !lt;
    }
    free(arg.v);
    return AM_OK;
}

/* MXNet's F1 of the counts so far. */
static double fscore(const state *s)
{
    double prec = s->tp + s->fp > 0 ? s->tp / (s->tp + s->fp) : 0;
    double rec = s->tp + s->fn > 0 ? s->tp / (s->tp + s->fn) : 0;
    return prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0;
}

/* The dims of s right-aligned to nd axes (1 where s has none); 1-D is (N, 1). */
static void align_dims(am_shape s, int nd, int64_t *d)
{
    if (s.ndim == 1) s = AM_SHAPE(s.dim[0], 1);
    for (int i = 0; i < nd; i++) d[i] = i < nd - s.ndim ? 1 : s.dim[i - (nd - s.ndim)];
}

/* MAE, MSE, RMSE: the mean over the broadcast of label and pred. */
static am_status update_error(am_metric *m, int i, const host *l, const host *p)
{
    int nd = l->shape.ndim > p->shape.ndim ? l->shape.ndim : p->shape.ndim;
    nd = nd < 2 ? 2 : nd;
    int64_t dl[AM_MAX_NDIM + 1], dp[AM_MAX_NDIM + 1], total = 1;
    align_dims(l->shape, nd, dl);
    align_dims(p->shape, nd, dp);
    for (int a = 0; a < nd; a++) {
        if (dl[a] != dp[a] && dl[a] != 1 && dp[a] != 1)
            return shape_error(m, i, l, p, "they do not broadcast");
        total *= dl[a] > dp[a] ? dl[a] : dp[a];
    }
    double acc = 0;
    for (int64_t k = 0; k < total; k++) {
        int64_t rest = k, il = 0, ip = 0, sl = 1, sp = 1;
        for (int a = nd - 1; a >= 0; a--) {
            int64_t size = dl[a] > dp[a] ? dl[a] : dp[a], idx = rest % size;
            rest /= size;
            il += (dl[a] == 1 ? 0 : idx) * sl, ip += (dp[a] == 1 ? 0 : idx) * sp;
            sl *= dl[a], sp *= dp[a];
        }
        double d = l->v[il] - p->v[ip];
        acc += m->kind == K_MAE ? fabs(d) : d * d;
    }
    double mean = total ? acc / (double)total : NAN;
    m->s.sum_metric += m->kind == K_RMSE ? sqrt(mean) : mean;
    m->s.num_inst += 1;
    return AM_OK;
}

static am_status update_cross_entropy(am_metric *m, int i, const host *l, const host *p)
{
    if (p->shape.ndim != 2) return shape_error(m, i, l, p, "preds must be (N, C)");
    int64_t n = p->shape.dim[0], c = p->shape.dim[1];
    if (l->n != n) return shape_error(m, i, l, p, "labels must hold N values");
    double acc = 0;
    for (int64_t r = 0; r < n; r++) {
        int64_t y = (int64_t)l->v[r];
        if (y < 0 || y >= c)
            return am_fail(AM_ERR_ARG, "%s: labels[%d] holds class %lld, outside [0, %lld)",
                           m->name, i, (long long)y, (long long)c);
        acc -= log(p->v[r * c + y] + m->eps);
    }
    m->s.sum_metric += acc;
    m->s.num_inst += (double)n;
    return AM_OK;
}

static am_status update_perplexity(am_metric *m, int i, const host *l, const host *p)
{
    int a = norm_axis(m->axis, p->shape.ndim);
    if (a < 0 || a >= p->shape.ndim) return shape_error(m, i, l, p, "axis out of range");
    int64_t outer, len, inner;
    split_at(p->shape, a, &outer, &len, &inner);
    if (len == 0 || l->n != outer * inner)
        return shape_error(m, i, l, p, "labels must hold one value per position of preds "
                           "less the class axis");
    double loss = 0, num = 0;
    for (int64_t j = 0; j < l->n; j++) {
        if (m->ignore && l->v[j] == m->ignore_label) continue; /* probability 1: log 0 */
        int64_t y = (int32_t)l->v[j];
        y = y < 0 ? 0 : y >= len ? len - 1 : y; /* pick's clip mode */
        double prob = p->v[along(j, y, len, inner)];
        loss -= log(prob > 1e-10 ? prob : 1e-10);
        num += 1;
    }
    m->s.sum_metric += loss;
    m->s.num_inst += num;
    return AM_OK;
}

/* Welford's update of (count, mean, sse) with v[0 .. n), batched. */
static void welford(const double *v, int64_t n, double *count, double *mean, double *sse)
{
    double old = *mean, sum_delta = 0;
    *count += (double)n;
    for (int64_t k = 0; k < n; k++) sum_delta += v[k] - old;
    *mean = old + sum_delta / *count;
    for (int64_t k = 0; k < n; k++) *sse += (v[k] - old) * (v[k] - *mean);
}

static am_status update_pearson(am_metric *m, int i, const host *l, const host *p)
{
    if (!am_shape_equal(l->shape, p->shape)) return shape_error(m, i, l, p, "shapes differ");
    state *s = &m->s;
    if (m->average == AM_METRIC_AVERAGE_MICRO) {
        /* MXNet's order: the label mean first, the co-moment, then the pred mean. */
        welford(l->v, l->n, &s->n_l, &s->mean_l, &s->sse_l);
        for (int64_t k = 0; k < l->n; k++) s->conv += (l->v[k] - s->mean_l) * (p->v[k] - s->mean_p);
        welford(p->v, p->n, &s->n_p, &s->mean_p, &s->sse_p);
        s->num_inst += 1;
        return AM_OK;
    }
    double ml = 0, mp = 0, sll = 0, spp = 0, slp = 0;
    for (int64_t k = 0; k < l->n; k++) ml += l->v[k], mp += p->v[k];
    ml /= (double)l->n, mp /= (double)l->n;
    for (int64_t k = 0; k < l->n; k++) {
        double dl = l->v[k] - ml, dp = p->v[k] - mp;
        sll += dl * dl, spp += dp * dp, slp += dl * dp;
    }
    double r = slp / sqrt(sll * spp);
    s->sum_metric += r > 1 ? 1 : r < -1 ? -1 : r; /* NumPy's corrcoef clips */
    s->num_inst += 1;
    return AM_OK;
}

/* ---- update, get, reset --------------------------------------------------------------------- */

static am_status update_pair(am_metric *m, int i, const host *l, const host *p)
{
    switch (m->kind) {
    case K_ACCURACY: return update_accuracy(m, i, l, p);
    case K_TOP_K: return update_top_k(m, i, l, p);
    case K_F1: return update_f1(m, i, l, p);
    case K_MAE: case K_MSE: case K_RMSE: return update_error(m, i, l, p);
    case K_CROSS_ENTROPY: return update_cross_entropy(m, i, l, p);
    case K_PERPLEXITY: return update_perplexity(m, i, l, p);
    case K_PEARSON: return update_pearson(m, i, l, p);
    case K_COMPOSITE: break;
    }
    return am_fail(AM_ERR_INTERNAL, "%s: unknown metric kind", m->name);
}

/* After every pair of one update call: F1's per-call bookkeeping. */
static void finish_update(am_metric *m)
{
    if (m->kind != K_F1) return;
    state *s = &m->s;
    if (m->average == AM_METRIC_AVERAGE_MACRO) {
        s->sum_metric += fscore(s);
        s->num_inst += 1;
        s->tp = s->fp = s->fn = s->tn = 0;
    } else {
        s->num_inst = s->tp + s->fp + s->fn + s->tn;
        s->sum_metric = fscore(s) * s->num_inst;
    }
}

am_status am_metric_update(am_metric *m, am_array *const *labels, am_array *const *preds,
                           int n)
{
    if (!m || n < 1 || !labels || !preds)
        return am_fail(AM_ERR_ARG, "am_metric_update: %s", !m ? "the metric is NULL"
                       : "needs at least one label/pred pair");
    if (m->kind == K_COMPOSITE) {
        for (int c = 0; c < m->n_children; c++) {
            am_status st = am_metric_update(m->children[c], labels, preds, n);
            if (st != AM_OK) return st;
        }
        return AM_OK;
    }
    state saved = m->s;
    am_status st = AM_OK;
    for (int i = 0; i < n && st == AM_OK; i++) {
        host l = {0}, p = {0};
        st = host_read(m, "labels", i, labels[i], &l);
        if (st == AM_OK) st = host_read(m, "preds", i, preds[i], &p);
        if (st == AM_OK) st = update_pair(m, i, &l, &p);
        free(l.v);
        free(p.v);
    }
    if (st == AM_OK) finish_update(m);
    else m->s = saved;
    return st;
}

/* MXNet's get of a plain metric. */
static double value_of(const am_metric *m)
{
    const state *s = &m->s;
    if (s->num_inst == 0) return NAN;
    if (m->kind == K_PERPLEXITY) return exp(s->sum_metric / s->num_inst);
    if (m->kind == K_PEARSON && m->average == AM_METRIC_AVERAGE_MICRO) {
        double n = s->n_l;
        return s->conv / ((n - 1) * sqrt(s->sse_p / (n - 1)) * sqrt(s->sse_l / (n - 1)));
    }
    return s->sum_metric / s->num_inst;
}

/* Fills entries from *k on (up to cap); returns the new count. */
static int collect(const am_metric *m, const char **names, double *values, int cap, int k)
{
    if (m->kind != K_COMPOSITE) {
        if (k < cap && names) names[k] = m->name;
        if (k < cap && values) values[k] = value_of(m);
        return k + 1;
    }
    for (int c = 0; c < m->n_children; c++) k = collect(m->children[c], names, values, cap, k);
    return k;
}

int am_metric_get_all(const am_metric *m, const char **names, double *values, int cap)
{
    if (!m) {
        am_fail(AM_ERR_ARG, "am_metric_get_all: the metric is NULL");
        return -1;
    }
    return collect(m, names, values, cap, 0);
}

am_status am_metric_get(const am_metric *m, const char **name, double *value)
{
    if (!m) return am_fail(AM_ERR_ARG, "am_metric_get: the metric is NULL");
    const char *nm;
    double v;
    int n = collect(m, &nm, &v, 1, 0);
    if (n != 1)
        return am_fail(AM_ERR_ARG, "am_metric_get: %s holds %d values; read them with "
                       "am_metric_get_all", m->name, n);
    if (name) *name = nm;
    if (value) *value = v;
    return AM_OK;
}

void am_metric_reset(am_metric *m)
{
    if (!m) return;
    memset(&m->s, 0, sizeof(m->s));
    for (int c = 0; c < m->n_children; c++) am_metric_reset(m->children[c]);
}

void am_metric_free(am_metric *m)
{
    if (!m) return;
    for (int c = 0; c < m->n_children; c++) am_metric_free(m->children[c]);
    free(m->children);
    free(m);
}

/* ---- constructors --------------------------------------------------------------------------- */

static am_metric *new_metric(kind k, const char *name)
{
    am_metric *m = calloc(1, sizeof(*m));
    if (!m) {
        am_fail(AM_ERR_OOM, "%s: out of memory", name);
        return NULL;
    }
    m->kind = k;
    snprintf(m->name, sizeof(m->name), "%s", name);
    return m;
}

am_metric *am_metric_accuracy(int axis)
{
    am_metric *m = new_metric(K_ACCURACY, "accuracy");
    if (m) m->axis = axis;
    return m;
}

am_metric *am_metric_top_k_accuracy(int top_k)
{
    if (top_k < 2) {
        am_fail(AM_ERR_ARG, "am_metric_top_k_accuracy: top_k must be at least 2 (use "
                "am_metric_accuracy for 1), got %d", top_k);
        return NULL;
    }
    char name[40];
    snprintf(name, sizeof(name), "top_k_accuracy_%d", top_k);
    am_metric *m = new_metric(K_TOP_K, name);
    if (m) m->top_k = top_k;
    return m;
}

/* A metric with an average, after checking it. */
static am_metric *new_averaged(kind k, const char *fn, const char *name, am_metric_average a)
{
    if ((unsigned)a >= AM_METRIC_AVERAGE_COUNT) {
        am_fail(AM_ERR_ARG, "%s: average %d is neither MACRO nor MICRO", fn, (int)a);
        return NULL;
    }
    am_metric *m = new_metric(k, name);
    if (m) m->average = a;
    return m;
}

am_metric *am_metric_f1(am_metric_average average)
{
    return new_averaged(K_F1, "am_metric_f1", "f1", average);
}

am_metric *am_metric_pearson_correlation(am_metric_average average)
{
    return new_averaged(K_PEARSON, "am_metric_pearson_correlation", "pearsonr", average);
}

am_metric *am_metric_mae(void)
{
    return new_metric(K_MAE, "mae");
}

am_metric *am_metric_mse(void)
{
    return new_metric(K_MSE, "mse");
}

am_metric *am_metric_rmse(void)
{
    return new_metric(K_RMSE, "rmse");
}

am_metric *am_metric_cross_entropy(double eps)
{
    if (!(eps >= 0) || !isfinite(eps)) {
        am_fail(AM_ERR_ARG, "am_metric_cross_entropy: eps must be finite and >= 0, got %g", eps);
        return NULL;
    }
    am_metric *m = new_metric(K_CROSS_ENTROPY, "cross-entropy");
    if (m) m->eps = eps;
    return m;
}

am_metric *am_metric_perplexity(const am_perplexity_opts *opts)
{
    static const am_perplexity_opts defaults;
    const am_perplexity_opts *o = opts ? opts : &defaults;
    am_metric *m = new_metric(K_PERPLEXITY, "perplexity");
    if (!m) return NULL;
    m->ignore = o->ignore;
    m->ignore_label = o->ignore_label;
    m->axis = o->axis ? o->axis : -1;
    return m;
}

am_metric *am_metric_composite(void)
{
    return new_metric(K_COMPOSITE, "composite");
}

am_status am_metric_composite_add(am_metric *c, am_metric *child)
{
    if (!c || c->kind != K_COMPOSITE || !child || child == c) {
        am_status st = am_fail(AM_ERR_ARG, "am_metric_composite_add: %s",
                               !c || c->kind != K_COMPOSITE ? "the first metric is not a composite"
                               : !child ? "the child is NULL" : "a composite cannot hold itself");
        if (child != c) am_metric_free(child);
        return st;
    }
    am_metric **grown = realloc(c->children, (size_t)(c->n_children + 1) * sizeof(*grown));
    if (!grown) {
        am_metric_free(child);
        return am_fail(AM_ERR_OOM, "am_metric_composite_add: out of memory");
    }
    c->children = grown;
    c->children[c->n_children++] = child;
    return AM_OK;
}
