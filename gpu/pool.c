/* A caching allocator for GPU memory.  cudaMalloc and cudaFree are slow and
 * cudaFree synchronises the device, so freed blocks wait in per-device free
 * lists for the next request of their size: power-of-two buckets below 1 MiB,
 * 1 MiB multiples above (reused for requests up to 1/8 smaller).  Blocks are
 * reused in stream order, which is safe while all work on a device runs on one
 * stream (the default stream today). */
#include "../ndarray/ndarray_impl.h"
#include "gpu_impl.h"

#include <pthread.h>

#define MIN_SHIFT 9                     /* smallest block: 512 bytes */
#define SMALL_SHIFT 20                  /* power-of-two classes up to 1 MiB */
#define LARGE_ROUND ((size_t)1 << SMALL_SHIFT)
#define N_BUCKETS (SMALL_SHIFT - MIN_SHIFT + 1)

typedef struct block {
    void *ptr;
    size_t size;
    struct block *next;
} block;

/* Blocks handed out: pointer -> size, open addressing with linear probing. */
typedef struct live_map {
    void **keys;
    size_t *sizes;
    size_t cap, n;
} live_map;

typedef struct dev_pool {
    pthread_mutex_t mu;
    block *small[N_BUCKETS]; /* exact class sizes */
    block *large;            /* any size >= 1 MiB, unsorted */
    live_map live;
    size_t in_use, cached;
} dev_pool;

static dev_pool pools[AM_GPU_MAX_DEVICES];
static pthread_once_t pools_once = PTHREAD_ONCE_INIT;

static void pools_init(void)
{
    for (int i = 0; i < AM_GPU_MAX_DEVICES; i++) pthread_mutex_init(&pools[i].mu, NULL);
}

static dev_pool *pool_for(int id)
{
    if (id < 0 || id >= AM_GPU_MAX_DEVICES) return NULL;
    pthread_once(&pools_once, pools_init);
    return &pools[id];
}

/* ---- the live map ----------------------------------------------------------------- */

static size_t slot_of(const live_map *m, const void *p)
{
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 20) & (m->cap - 1);
}

static bool live_grow(live_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 256;
    live_map g = {calloc(cap, sizeof(void *)), calloc(cap, sizeof(size_t)), cap, 0};
    if (!g.keys || !g.sizes) {
        free(g.keys);
        free(g.sizes);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t j = slot_of(&g, m->keys[i]);
        while (g.keys[j]) j = (j + 1) & (cap - 1);
        g.keys[j] = m->keys[i];
        g.sizes[j] = m->sizes[i];
        g.n++;
    }
    free(m->keys);
    free(m->sizes);
    *m = g;
    return true;
}

static bool live_put(live_map *m, void *p, size_t size)
{
    if ((m->n + 1) * 2 > m->cap && !live_grow(m)) return false;
    size_t j = slot_of(m, p);
    while (m->keys[j]) j = (j + 1) & (m->cap - 1);
    m->keys[j] = p;
    m->sizes[j] = size;
    m->n++;
    return true;
}

/* Removes p and returns its size; 0 when p is not live.  Later entries of the
 * probe run shift back so that lookups never stop at a hole. */
static size_t live_take(live_map *m, const void *p)
{
    if (!m->cap) return 0;
    size_t mask = m->cap - 1, j = slot_of(m, p);
    while (m->keys[j] && m->keys[j] != p) j = (j + 1) & mask;
    if (!m->keys[j]) return 0;
    size_t size = m->sizes[j];
    m->keys[j] = NULL;
    m->n--;
    for (size_t k = (j + 1) & mask; m->keys[k]; k = (k + 1) & mask) {
        size_t home = slot_of(m, m->keys[k]);
        /* move k into the hole j unless its home lies cyclically in (j, k] */
        if (((k - home) & mask) >= ((k - j) & mask)) {
            m->keys[j] = m->keys[k];
            m->sizes[j] = m->sizes[k];
            m->keys[k] = NULL;
            j = k;
        }
    }
    return size;
}

/* ---- sizes and free lists ------------------------------------------------------------ */

/* The block size for a request, or 0 when the request is absurd. */
static size_t round_size(size_t n)
{
    if (n > ((size_t)1 << 62)) return 0;
    if (n > LARGE_ROUND) return (n + LARGE_ROUND - 1) / LARGE_ROUND * LARGE_ROUND;
    size_t s = (size_t)1 << MIN_SHIFT;
    while (s < n) s <<= 1;
    return s;
}

static int bucket_of(size_t size)
{
    int b = 0;
    while (((size_t)1 << (MIN_SHIFT + b)) < size) b++;
    return b;
}

/* Takes a cached block for size (locked); NULL on a miss. */
static block *take_cached(dev_pool *p, size_t size)
{
    block **best = NULL;
    if (size <= LARGE_ROUND) {
        best = p->small[bucket_of(size)] ? &p->small[bucket_of(size)] : NULL;
    } else {
        for (block **b = &p->large; *b; b = &(*b)->next)
            if ((*b)->size >= size && (*b)->size - size <= size / 8 &&
                (!best || (*b)->size < (*best)->size))
                best = b;
    }
    if (!best) return NULL;
    block *got = *best;
    *best = got->next;
    p->cached -= got->size;
    return got;
}

static void *cuda_alloc(int id, size_t size)
{
    void *ptr = NULL;
    if (am_gpu_use(id) != AM_OK) return NULL;
    if (cudaMalloc(&ptr, size) == cudaSuccess) return ptr;
    cudaGetLastError();
    am_gpu_pool_trim(); /* give cached blocks back and try once more */
    if (am_gpu_use(id) != AM_OK) return NULL;
    if (cudaMalloc(&ptr, size) == cudaSuccess) return ptr;
    cudaGetLastError();
    return NULL;
}

void *am_gpu_pool_alloc(int id, size_t nbytes)
{
    dev_pool *p = pool_for(id);
    size_t size = round_size(nbytes);
    if (!p || !size) return NULL;
    pthread_mutex_lock(&p->mu);
    block *b = take_cached(p, size);
    pthread_mutex_unlock(&p->mu);
    void *ptr;
    if (b) {
        ptr = b->ptr;
        size = b->size;
        free(b);
    } else if (!(ptr = cuda_alloc(id, size))) {
        return NULL;
    }
    pthread_mutex_lock(&p->mu);
    bool ok = live_put(&p->live, ptr, size);
    if (ok) p->in_use += size;
    pthread_mutex_unlock(&p->mu);
    if (!ok) {
        am_gpu_use(id);
        cudaFree(ptr);
        return NULL;
    }
    return ptr;
}

void am_gpu_pool_free(int id, void *ptr)
{
    dev_pool *p = pool_for(id);
    if (!ptr) return;
    AM_ASSERT(p != NULL);
    block *b = malloc(sizeof(*b));
    pthread_mutex_lock(&p->mu);
    size_t size = live_take(&p->live, ptr);
    AM_ASSERT(size != 0); /* freeing a pointer the pool did not hand out */
    p->in_use -= size;
    if (b) {
        *b = (block){ptr, size, NULL};
        block **list = size <= LARGE_ROUND ? &p->small[bucket_of(size)] : &p->large;
        b->next = *list;
        *list = b;
        p->cached += size;
    }
    pthread_mutex_unlock(&p->mu);
    if (!b && am_gpu_use(id) == AM_OK) cudaFree(ptr); /* no node to cache it in */
}

/* ---- trimming and statistics --------------------------------------------------------- */

static void free_list(block *b)
{
    while (b) {
        block *next = b->next;
        cudaFree(b->ptr);
        free(b);
        b = next;
    }
}

void am_gpu_pool_trim(void)
{
    for (int id = 0; id < AM_GPU_MAX_DEVICES; id++) {
        dev_pool *p = pool_for(id);
        block *lists[N_BUCKETS + 1];
        pthread_mutex_lock(&p->mu);
        bool any = p->cached > 0;
        for (int i = 0; i < N_BUCKETS; i++) lists[i] = p->small[i], p->small[i] = NULL;
        lists[N_BUCKETS] = p->large;
        p->large = NULL;
        p->cached = 0;
        pthread_mutex_unlock(&p->mu);
        if (!any) continue;
        am_gpu_use(id); /* best effort: the nodes are freed whatever CUDA says */
        for (int i = 0; i <= N_BUCKETS; i++) free_list(lists[i]);
    }
    cudaGetLastError();
}

bool am_gpu_pool_stats(int id, size_t *in_use, size_t *cached)
{
    dev_pool *p = pool_for(id);
    *in_use = *cached = 0;
    if (!p) return false;
    pthread_mutex_lock(&p->mu);
    *in_use = p->in_use;
    *cached = p->cached;
    pthread_mutex_unlock(&p->mu);
    return true;
}
