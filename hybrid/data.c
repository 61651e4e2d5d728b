/* Data sets and the batch loader: seeded shuffling, Gluon's last_batch
 * modes, transforms, and a worker thread that prepares batches ahead.
 * docs/data.md describes the design and its measured effect. */
#include "../ndarray/ndarray_impl.h"

#include <amber/data.h>
#include <pthread.h>

/* ---- data sets ----------------------------------------------------------------- */

struct am_dataset {
    am_array *data, *label; /* own references */
    int64_t n;
};

static am_status check_part(am_array *x, const char *what)
{
    if (!x->storage)
        return am_fail(AM_ERR_SYMBOLIC, "%s is symbolic: a data set needs values", what);
    if (x->storage->device.type != AM_DEVICE_CPU)
        return am_fail(AM_ERR_DEVICE, "%s must be on the CPU", what);
    if (x->shape.ndim < 1)
        return am_fail(AM_ERR_SHAPE, "%s is 0-d: samples lie along axis 0", what);
    return AM_OK;
}

static am_dataset *dataset_make(am_array *data, am_array *label)
{
    char a[96], b[96];
    if (check_part(data, "data") != AM_OK) return NULL;
    if (label && check_part(label, "label") != AM_OK) return NULL;
    if (label && label->shape.dim[0] != data->shape.dim[0]) {
        am_fail(AM_ERR_SHAPE, "data %s and label %s differ in the number of samples (axis 0)",
                am_shape_format(&data->shape, a, sizeof(a)),
                am_shape_format(&label->shape, b, sizeof(b)));
        return NULL;
    }
    am_dataset *d = calloc(1, sizeof(*d));
    if (!d) {
        am_fail(AM_ERR_OOM, "cannot allocate a data set");
        return NULL;
    }
    d->data = am_retain(data);
    d->label = am_retain(label);
    d->n = data->shape.dim[0];
    return d;
}

am_dataset *am_dataset_arrays(am_array *data, am_array *label)
{
    if (!data) return am_fail_null_input("am_dataset_arrays", 0, (am_site){NULL, 0}), NULL;
    am_err_ctx c;
    am_err_push(&c, "am_dataset_arrays", (am_site){NULL, 0});
    am_dataset *d = dataset_make(data, label);
    am_err_pop(&c);
    return d;
}

am_dataset *am_dataset_idx(const char *data_path, const char *label_path)
{
    am_dataset *d = NULL;
    am_scope_begin();
    am_array *x = am_idx_load(data_path);
    am_array *y = x ? am_idx_load(label_path) : NULL;
    if (x && y && x->shape.dim[0] != y->shape.dim[0]) {
        am_err_ctx c;
        am_err_push(&c, "am_dataset_idx", (am_site){NULL, 0});
        am_fail(AM_ERR_SHAPE, "%s holds %lld samples but %s holds %lld", data_path,
                (long long)x->shape.dim[0], label_path, (long long)y->shape.dim[0]);
        am_err_pop(&c);
    } else if (x && y) {
        d = am_dataset_arrays(x, y);
    }
    am_scope_end();
    return d;
}

int64_t am_dataset_size(const am_dataset *d) { return d ? d->n : 0; }
am_array *am_dataset_data(const am_dataset *d) { return d ? d->data : NULL; }
am_array *am_dataset_label(const am_dataset *d) { return d ? d->label : NULL; }

void am_dataset_free(am_dataset *d)
{
    if (!d) return;
    am_release(d->data);
    am_release(d->label);
    free(d);
}

const char *am_last_batch_name(am_last_batch m)
{
    static const char *const names[] = {"keep", "discard", "rollover"};
    _Static_assert(sizeof(names) / sizeof(names[0]) == AM_LAST_BATCH_COUNT, "last_batch names");
    return (unsigned)m < AM_LAST_BATCH_COUNT ? names[m] : "?";
}

am_loader_opts am_loader_defaults(int64_t batch_size)
{
    return (am_loader_opts){.batch_size = batch_size, .shuffle = true, .scale = 1.0f,
                            .background = true};
}

/* ---- the loader's state ------------------------------------------------------------ */

#define QUEUE_DEPTH 2

/* What the producer hands over: a batch, the end of an epoch, or a failure. */
typedef struct item {
    am_array *data, *label; /* own references; both NULL at the end of an epoch */
    am_status status;
    char msg[512];
} item;

/* The producer's position: the epoch it prepares and its sample order. */
typedef struct cursor {
    int64_t epoch, batch;  /* the next item to make */
    int64_t n_batches;
    int64_t *order;        /* carried-over samples, then this epoch's permutation */
    int64_t n_order;
    int64_t *carry_in;     /* the samples carried into this epoch (rollover), kept to replan */
    int64_t n_carry;
} cursor;

struct am_loader {
    const am_dataset *d;
    am_loader_opts o;
    int64_t sample_elems, label_elems; /* values per sample */
    int64_t chans, h, w;               /* the sample as (chans, h, w) for the transforms */
    am_shape data_shape, label_shape;  /* of a full batch */
    cursor cur;                        /* the producer's alone (the worker, or the caller) */
    /* shared with the worker, under lock */
    pthread_mutex_t lock;
    pthread_cond_t cv_producer, cv_consumer;
    pthread_t thread;
    bool has_thread, stop;
    item q[QUEUE_DEPTH];
    int q_head, q_count;
    uint64_t gen;          /* bumped by reset: items made before it are dropped */
    int64_t seek;          /* >= 0: the producer restarts at this epoch */
    int64_t c_epoch;       /* the consumer's epoch and batches taken in it */
    int64_t c_taken;
    item failed;           /* sticky failure, status != AM_OK once set */
};

/* splitmix64: a small generator of the loader's own, so the global one
 * (am_seed) is untouched and every stream is fixed by (seed, epoch, batch). */
static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* The starting state of the stream for (seed, epoch, batch): each key is
 * mixed in turn, so nearby keys give unrelated streams. */
static uint64_t stream(uint64_t seed, int64_t epoch, int64_t batch)
{
    uint64_t s = seed;
    uint64_t a = mix(&s) ^ (uint64_t)epoch;
    s = a;
    uint64_t b = mix(&s) ^ (uint64_t)batch;
    s = b;
    return mix(&s);
}

/* Uniform in [0, n), n >= 1 (a multiply-shift; its bias, n / 2^64, is negligible). */
static int64_t below(uint64_t *s, int64_t n)
{
    return (int64_t)(((unsigned __int128)mix(s) * (uint64_t)n) >> 64);
}

/* Samples carried into epoch e under rollover: (e * N) mod B. */
static int64_t carry_count(const am_loader *l, int64_t e)
{
    if (l->o.last_batch != AM_LAST_BATCH_ROLLOVER) return 0;
    int64_t b = l->o.batch_size;
    return (int64_t)((unsigned __int128)(uint64_t)e * (uint64_t)(l->d->n % b) % (uint64_t)b);
}

static int64_t batches_in(const am_loader *l, int64_t e)
{
    int64_t n = carry_count(l, e) + l->d->n, b = l->o.batch_size;
    return l->o.last_batch == AM_LAST_BATCH_KEEP ? (n + b - 1) / b : n / b;
}

/* ---- planning epochs ---------------------------------------------------------------- */

/* Lays out cur's epoch: carry_in, then the permutation (Fisher-Yates). */
static void plan_epoch(am_loader *l)
{
    cursor *c = &l->cur;
    int64_t n = l->d->n;
    memcpy(c->order, c->carry_in, (size_t)c->n_carry * sizeof(int64_t));
    int64_t *p = c->order + c->n_carry;
    for (int64_t i = 0; i < n; i++) p[i] = i;
    if (l->o.shuffle) {
        uint64_t s = stream(l->o.seed, c->epoch, -1);
        for (int64_t i = n - 1; i > 0; i--) {
            int64_t j = below(&s, i + 1), t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
    }
    c->n_order = c->n_carry + n;
    c->n_batches = batches_in(l, c->epoch);
    c->batch = 0;
}

/* Moves cur to the next epoch, carrying the tail of this one over. */
static void next_epoch(am_loader *l)
{
    cursor *c = &l->cur;
    int64_t used = c->n_batches * l->o.batch_size;
    c->n_carry = l->o.last_batch == AM_LAST_BATCH_ROLLOVER ? c->n_order - used : 0;
    memcpy(c->carry_in, c->order + used, (size_t)c->n_carry * sizeof(int64_t));
    c->epoch++;
    plan_epoch(l);
}

/* Brings the producer to the first batch of epoch e (>= its current one). */
static void seek_epoch(am_loader *l, int64_t e)
{
    while (l->cur.epoch < e) next_epoch(l);
    l->cur.batch = 0;
}

/* ---- making a batch ----------------------------------------------------------------- */

/* Row i (of n values) of x as float, for any dtype. */
static void read_row(const am_array *x, int64_t i, int64_t n, float *out)
{
    const char *p = (const char *)am_array_ptr(x) + (size_t)(i * n) * am_dtype_size(x->dtype);
    switch (x->dtype) {
    case AM_DTYPE_FLOAT32: memcpy(out, p, (size_t)n * sizeof(float)); break;
#define ROW(T)                                                                             \
    for (int64_t k = 0; k < n; k++) out[k] = (float)((const T *)p)[k];                     \
    break
    case AM_DTYPE_FLOAT64: ROW(double);
    case AM_DTYPE_INT32: ROW(int32_t);
    case AM_DTYPE_INT64: ROW(int64_t);
    case AM_DTYPE_UINT8: ROW(uint8_t);
#undef ROW
    default: { /* float16, bfloat16, int8, bool */
        am_status st = am_dtype_convert(p, x->dtype, out, AM_DTYPE_FLOAT32, n);
        AM_ASSERT(st == AM_OK);
    }
    }
}

/* One sample into out: crop (reading the zero padding outside the image),
 * flip, then scale and normalize each channel. */
static void make_sample(const am_loader *l, int64_t idx, uint64_t *rng, float *raw, float *out)
{
    const am_loader_opts *o = &l->o;
    int64_t h = l->h, w = l->w, pad = o->crop_pad;
    read_row(l->d->data, idx, l->sample_elems, raw);
    int64_t dy = pad ? below(rng, 2 * pad + 1) - pad : 0;
    int64_t dx = pad ? below(rng, 2 * pad + 1) - pad : 0;
    bool flip = o->flip && (mix(rng) >> 63);
    for (int64_t c = 0; c < l->chans; c++) {
        float mean = o->n_norm ? o->mean[o->n_norm == 1 ? 0 : c] : 0.0f;
        float inv = o->n_norm ? 1.0f / o->std[o->n_norm == 1 ? 0 : c] : 1.0f;
        const float *src = raw + c * h * w;
        float *dst = out + c * h * w;
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) {
                int64_t sy = y + dy, sx = (flip ? w - 1 - x : x) + dx;
                float v = sy >= 0 && sy < h && sx >= 0 && sx < w ? src[sy * w + sx] : 0.0f;
                dst[y * w + x] = (v * o->scale - mean) * inv;
            }
    }
}

static am_status make_batch(const am_loader *l, const int64_t *idx, int64_t n, item *it)
{
    am_shape ds = l->data_shape, ls = l->label_shape;
    ds.dim[0] = ls.dim[0] = n;
    float *raw = malloc((size_t)l->sample_elems * sizeof(float));
    it->data = am_array_alloc(ds, AM_DTYPE_FLOAT32, am_cpu());
    if (l->d->label) it->label = am_array_alloc(ls, AM_DTYPE_FLOAT32, am_cpu());
    if (!raw || !it->data || (l->d->label && !it->label)) {
        free(raw);
        return raw ? am_last_status() : am_fail(AM_ERR_OOM, "cannot allocate a sample buffer");
    }
    uint64_t rng = stream(l->o.seed ^ UINT64_C(0x5bd1e995), l->cur.epoch, l->cur.batch);
    float *out = am_array_ptr(it->data), *lab = it->label ? am_array_ptr(it->label) : NULL;
    for (int64_t i = 0; i < n; i++) {
        make_sample(l, idx[i], &rng, raw, out + i * l->sample_elems);
        if (lab) read_row(l->d->label, idx[i], l->label_elems, lab + i * l->label_elems);
    }
    free(raw);
    return AM_OK;
}

/* Makes the producer's next item and advances it. */
static void produce(am_loader *l, item *it)
{
    cursor *c = &l->cur;
    memset(it, 0, sizeof(*it));
    if (c->batch >= c->n_batches) { /* the end of the epoch */
        next_epoch(l);
        return;
    }
    int64_t b = l->o.batch_size, start = c->batch * b;
    int64_t n = c->n_order - start < b ? c->n_order - start : b;
    am_clear_error();
    if ((it->status = make_batch(l, c->order + start, n, it)) != AM_OK) {
        snprintf(it->msg, sizeof(it->msg), "%s", am_last_error());
        am_release(it->data);
        am_release(it->label);
        it->data = it->label = NULL;
        am_clear_error();
    }
    c->batch++;
}

static void item_drop(item *it)
{
    am_release(it->data);
    am_release(it->label);
    memset(it, 0, sizeof(*it));
}

/* ---- the worker thread ------------------------------------------------------------- */

/* Whether the producer must wait: the queue is full, or its next item is the
 * end of an epoch after the consumer's (so it never runs two epochs ahead,
 * and a reset can always seek forward). */
static bool producer_waits(const am_loader *l)
{
    if (l->stop) return false;
    if (l->seek >= 0) return false;
    if (l->q_count == QUEUE_DEPTH || l->failed.status != AM_OK) return true;
    return l->cur.batch >= l->cur.n_batches && l->cur.epoch > l->c_epoch;
}

static void *worker(void *arg)
{
    am_loader *l = arg;
    pthread_mutex_lock(&l->lock);
    for (;;) {
        while (producer_waits(l)) pthread_cond_wait(&l->cv_producer, &l->lock);
        if (l->stop) break;
        if (l->seek >= 0) {
            seek_epoch(l, l->seek);
            l->seek = -1;
            continue;
        }
        uint64_t gen = l->gen;
        item it;
        pthread_mutex_unlock(&l->lock);
        produce(l, &it);
        pthread_mutex_lock(&l->lock);
        if (gen != l->gen) {
            item_drop(&it); /* a reset came while it was made */
            continue;
        }
        l->q[(l->q_head + l->q_count) % QUEUE_DEPTH] = it;
        l->q_count++;
        pthread_cond_signal(&l->cv_consumer);
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

/* ---- the caller's side ------------------------------------------------------------- */

/* Takes the next item: from the queue, or made here without a thread. */
static void take(am_loader *l, item *it)
{
    if (!l->has_thread) {
        if (l->seek >= 0) seek_epoch(l, l->seek);
        l->seek = -1;
        produce(l, it);
        return;
    }
    pthread_mutex_lock(&l->lock);
    while (l->q_count == 0) pthread_cond_wait(&l->cv_consumer, &l->lock);
    *it = l->q[l->q_head];
    l->q_head = (l->q_head + 1) % QUEUE_DEPTH;
    l->q_count--;
    pthread_mutex_unlock(&l->lock);
}

/* Books what the caller took, under the lock, and wakes the producer. */
static void account(am_loader *l, const item *it)
{
    if (l->has_thread) pthread_mutex_lock(&l->lock);
    if (it->status != AM_OK) {
        l->failed = *it;
    } else if (!it->data) {
        l->c_epoch++;
        l->c_taken = 0;
    } else {
        l->c_taken++;
    }
    if (l->has_thread) {
        pthread_cond_signal(&l->cv_producer);
        pthread_mutex_unlock(&l->lock);
    }
}

am_status am_loader_next(am_loader *l, am_array **data, am_array **label)
{
    if (data) *data = NULL;
    if (label) *label = NULL;
    if (!l || !data || !label)
        return am_fail_at("am_loader_next", (am_site){NULL, 0}, AM_ERR_ARG, "%s is NULL",
                          !l ? "the loader" : !data ? "data" : "label");
    item it;
    if (l->failed.status == AM_OK) take(l, &it);
    else it = l->failed;
    account(l, &it);
    if (it.status != AM_OK)
        return am_fail_at("am_loader_next", (am_site){NULL, 0}, it.status, "%s", it.msg);
    /* The worker made these without a scope; the caller's scope takes them. */
    *label = it.label ? am_scope_own(it.label) : NULL;
    *data = it.data ? am_scope_own(it.data) : NULL;
    if (it.data && !*data) { /* the scope could not grow; *label stays with it */
        *label = NULL;
        return am_last_status();
    }
    return AM_OK;
}

am_status am_loader_reset(am_loader *l)
{
    if (!l) return am_fail_at("am_loader_reset", (am_site){NULL, 0}, AM_ERR_ARG, "l is NULL");
    if (l->has_thread) pthread_mutex_lock(&l->lock);
    if (l->c_taken > 0) {
        l->c_epoch++;
        l->c_taken = 0;
        l->seek = l->c_epoch;
        l->gen++;
        for (; l->q_count > 0; l->q_count--) {
            item_drop(&l->q[l->q_head]);
            l->q_head = (l->q_head + 1) % QUEUE_DEPTH;
        }
    }
    if (l->has_thread) {
        pthread_cond_signal(&l->cv_producer);
        pthread_mutex_unlock(&l->lock);
    }
    return AM_OK;
}

int64_t am_loader_epoch(const am_loader *l) { return l ? l->c_epoch : -1; }
int64_t am_loader_num_batches(const am_loader *l) { return l ? batches_in(l, l->c_epoch) : -1; }

/* ---- creating and freeing --------------------------------------------------------- */

/* Checks the options against the data set and sets the sample layout. */
static am_status check_opts(am_loader *l)
{
    const am_loader_opts *o = &l->o;
    const am_shape *s = &l->d->data->shape;
    int nd = s->ndim - 1; /* axes of a sample */
    if (o->batch_size < 1)
        return am_fail(AM_ERR_ARG, "batch_size %lld < 1", (long long)o->batch_size);
    if ((unsigned)o->last_batch >= AM_LAST_BATCH_COUNT)
        return am_fail(AM_ERR_ARG, "unknown last_batch %d", (int)o->last_batch);
    if (o->crop_pad < 0) return am_fail(AM_ERR_ARG, "crop_pad %d < 0", o->crop_pad);
    if ((o->crop_pad || o->flip) && nd < 2)
        return am_fail(AM_ERR_ARG, "crop and flip need samples of 2 or more axes, not %d", nd);
    if (o->channel_axis && nd != 2)
        return am_fail(AM_ERR_ARG, "channel_axis needs 2-D samples (H, W), not %d-D", nd);
    l->h = nd >= 2 ? s->dim[s->ndim - 2] : 1;
    l->w = nd >= 1 ? s->dim[s->ndim - 1] : 1;
    l->sample_elems = 1;
    for (int i = 1; i < s->ndim; i++) l->sample_elems *= s->dim[i];
    l->chans = l->h > 0 && l->w > 0 ? l->sample_elems / (l->h * l->w) : 0;
    if (o->n_norm != 0 && o->n_norm != 1 && o->n_norm != l->chans)
        return am_fail(AM_ERR_ARG, "n_norm %d is neither 0, 1 nor the %lld channels", o->n_norm,
                       (long long)l->chans);
    if (o->n_norm < 0 || o->n_norm > AM_LOADER_MAX_CHANNELS)
        return am_fail(AM_ERR_ARG, "n_norm %d is outside [0, %d]", o->n_norm,
                       AM_LOADER_MAX_CHANNELS);
    for (int i = 0; i < o->n_norm; i++)
        if (!(o->std[i] != 0.0f))
            return am_fail(AM_ERR_ARG, "std[%d] is %g: it divides", i, (double)o->std[i]);
    return AM_OK;
}

/* Batch shapes, the order buffers and the first epoch's plan. */
static am_status setup(am_loader *l)
{
    const am_array *x = l->d->data, *y = l->d->label;
    l->data_shape = x->shape;
    if (l->o.channel_axis) {
        l->data_shape = am_shape_make(4, (int64_t[]){0, 1, l->h, l->w});
    }
    if (y) {
        l->label_shape = y->shape;
        l->label_elems = 1;
        for (int i = 1; i < y->shape.ndim; i++) l->label_elems *= y->shape.dim[i];
    }
    size_t n = (size_t)(l->d->n + l->o.batch_size);
    l->cur.order = malloc(n * sizeof(int64_t));
    l->cur.carry_in = malloc((size_t)l->o.batch_size * sizeof(int64_t));
    if (!l->cur.order || !l->cur.carry_in)
        return am_fail(AM_ERR_OOM, "cannot allocate the sample order of %zu entries", n);
    plan_epoch(l);
    l->seek = -1;
    return AM_OK;
}

static am_status start_thread(am_loader *l)
{
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->cv_producer, NULL);
    pthread_cond_init(&l->cv_consumer, NULL);
    l->has_thread = true;
    int rc = pthread_create(&l->thread, NULL, worker, l);
    if (rc == 0) return AM_OK;
    l->has_thread = false;
    return am_fail(AM_ERR_INTERNAL, "cannot start the loader's thread: %s", strerror(rc));
}

am_loader *am_loader_create(am_dataset *d, const am_loader_opts *o)
{
    am_err_ctx c;
    am_err_push(&c, "am_loader_create", (am_site){NULL, 0});
    am_loader *l = NULL;
    if (!d) {
        am_fail(AM_ERR_ARG, "the data set is NULL");
        goto out;
    }
    if (!(l = calloc(1, sizeof(*l)))) {
        am_fail(AM_ERR_OOM, "cannot allocate a loader");
        goto out;
    }
    l->d = d;
    l->o = o ? *o : am_loader_defaults(1);
    if (check_opts(l) != AM_OK || setup(l) != AM_OK ||
        (l->o.background && start_thread(l) != AM_OK)) {
        am_loader_free(l);
        l = NULL;
    }
out:
    am_err_pop(&c);
    return l;
}

void am_loader_free(am_loader *l)
{
    if (!l) return;
    if (l->has_thread) {
        pthread_mutex_lock(&l->lock);
        l->stop = true;
        pthread_cond_signal(&l->cv_producer);
        pthread_mutex_unlock(&l->lock);
        pthread_join(l->thread, NULL);
        pthread_mutex_destroy(&l->lock);
        pthread_cond_destroy(&l->cv_producer);
        pthread_cond_destroy(&l->cv_consumer);
    }
    for (; l->q_count > 0; l->q_count--) {
        item_drop(&l->q[l->q_head]);
        l->q_head = (l->q_head + 1) % QUEUE_DEPTH;
    }
    free(l->cur.order);
    free(l->cur.carry_in);
    free(l);
}
