/* Per-thread state: the random generator (xoshiro256**, seeded through
 * splitmix64 so that any seed gives a good state) and the training flag.
 * A thread that draws before calling am_seed gets a stream of its own: the
 * n-th such thread (n counts them in the order of their first draw, from 0)
 * starts from seed 0 mixed with n, so the first starts as am_seed(0) would
 * and no two share numbers. */
#include "ndarray_impl.h"

#include <math.h>
#include <stdatomic.h>

static atomic_uint_fast64_t unseeded_threads;

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

/* The seed a thread draws from without am_seed. */
static const uint64_t default_seed = 0;

/* The stream of the n-th unseeded thread: the default seed with n times an
 * odd constant (a bijection, so each n starts elsewhere) mixed in. */
static void seed_thread_stream(uint64_t n)
{
    am_seed(default_seed ^ (n * 0xd1b54a32d192ed03ull));
}

uint64_t *am_rng_state(void)
{
    if (!rng_ready) seed_thread_stream(atomic_fetch_add(&unseeded_threads, 1));
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
