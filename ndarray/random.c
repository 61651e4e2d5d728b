/* Per-thread state: the random generator (xoshiro256**, seeded through
 * splitmix64 so that any seed gives a good state) and the training flag. */
#include "ndarray_impl.h"

#include <math.h>

static _Thread_local uint64_t rng[4];
static _Thread_local bool rng_ready;
static _Thread_local bool training;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void am_seed(uint64_t seed)
{
    for (int i = 0; i < 4; i++) rng[i] = splitmix64(&seed);
    rng_ready = true;
}

uint64_t *am_rng_state(void)
{
    if (!rng_ready) am_seed(0); /* reproducible even without a seed */
    return rng;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next(uint64_t *s)
{
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double am_rng_uniform01(uint64_t *s)
{
    return (double)(next(s) >> 11) * 0x1.0p-53;
}

double am_rng_normal(uint64_t *s)
{
    /* Box-Muller; 1 - u keeps the logarithm finite. */
    double u = 1.0 - am_rng_uniform01(s), v = am_rng_uniform01(s);
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

bool am_is_training(void) { return training; }

bool am_set_training(bool on)
{
    bool prev = training;
    training = on;
    return prev;
}
