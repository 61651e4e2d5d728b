/* A small open-addressing map from pointers to ints, for graph walks. */
#include "symbol_impl.h"

static size_t slot_of(const void *p, size_t cap)
{
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 17) & (cap - 1);
}

static bool grow(am_ptrmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    const void **keys = calloc(cap, sizeof(*keys));
    int *vals = calloc(cap, sizeof(*vals));
    if (!keys || !vals) {
        free(keys), free(vals);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t s = slot_of(m->keys[i], cap);
        while (keys[s]) s = (s + 1) & (cap - 1);
        keys[s] = m->keys[i];
        vals[s] = m->vals[i];
    }
    free(m->keys), free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return true;
}

bool am_ptrmap_put(am_ptrmap *m, const void *key, int val)
{
    if ((m->n + 1) * 2 > m->cap && !grow(m)) return false;
    size_t s = slot_of(key, m->cap);
    while (m->keys[s] && m->keys[s] != key) s = (s + 1) & (m->cap - 1);
    if (!m->keys[s]) m->n++;
    m->keys[s] = key;
    m->vals[s] = val;
    return true;
}

int am_ptrmap_get(const am_ptrmap *m, const void *key, int missing)
{
    if (!m->cap) return missing;
    size_t s = slot_of(key, m->cap);
    while (m->keys[s]) {
        if (m->keys[s] == key) return m->vals[s];
        s = (s + 1) & (m->cap - 1);
    }
    return missing;
}

void am_ptrmap_free(am_ptrmap *m)
{
    free(m->keys), free(m->vals);
    *m = (am_ptrmap){0};
}
