/* The profiler's internal interface: the flag every instrumented place
 * checks first, spans, event arguments and the events themselves
 * (ndarray/profiler.c, docs/profiling.md). */
#ifndef AMBER_PROFILER_IMPL_H
#define AMBER_PROFILER_IMPL_H

#include <amber/profiler.h>

#include "ndarray_impl.h"
#include "strbuf_impl.h"

/* -1: AM_PROFILE not read yet; 0: off; 1: recording.  Hidden, so that
 * position-independent code loads it directly rather than through the GOT. */
extern atomic_int am_prof_flag __attribute__((visibility("hidden")));

/* Resolves a flag of -1 (reads AM_PROFILE, starting a trace when it names
 * one); true while recording. */
bool am_prof_active(void);

/* The check in front of every instrumented place: when the profiler is off,
 * one relaxed load and a branch predicted not taken. */
static inline bool am_prof_on(void)
{
    return __builtin_expect(atomic_load_explicit(&am_prof_flag, memory_order_relaxed) != 0, 0) &&
           am_prof_active();
}

/* When something began; an event is dropped when the trace it began in
 * was stopped before it ended. */
typedef struct am_prof_span {
    unsigned session;
    int64_t ns;         /* CLOCK_MONOTONIC */
} am_prof_span;

void am_prof_begin(am_prof_span *s);

/* A growing string; s is malloc'd when heap, else the caller's bytes. */
typedef am_strbuf am_prof_buf;

/* An event's "args" object, built key by key ("key":value pairs), in its
 * own bytes until it outgrows them. */
typedef struct am_prof_args {
    am_prof_buf b;
    char small[480];
} am_prof_args;

void am_prof_args_init(am_prof_args *a);
void am_prof_args_free(am_prof_args *a);
void am_prof_arg_str(am_prof_args *a, const char *key, const char *v);
void am_prof_arg_int(am_prof_args *a, const char *key, int64_t v);
void am_prof_arg_bool(am_prof_args *a, const char *key, bool v);
/* "file.c:41" of a call site (the file's directory left out, as errors
 * and graph nodes name it); nothing when the site is unknown. */
void am_prof_arg_site(am_prof_args *a, const char *key, am_site at);
/* A list of "float32 (2, 3)" strings, and the bytes they hold added to *bytes. */
void am_prof_arg_arrays(am_prof_args *a, const char *key, am_array *const *x, int n,
                        int64_t *bytes);
void am_prof_arg_views(am_prof_args *a, const char *key, const am_view *v, int n, int64_t *bytes);
void am_prof_arg_shapes(am_prof_args *a, const char *key, const am_shape *s, const am_dtype *dt,
                        int n);

/* A complete ("X") event from s until now; args may be NULL and is freed. */
void am_prof_complete(const am_prof_span *s, const char *cat, const char *name, am_prof_args *args);
/* An instant ("i") event now, scoped to its thread; args may be NULL and is freed. */
void am_prof_instant(const char *cat, const char *name, am_prof_args *args);
/* A counter ("C") event now: series key of counter name takes value v. */
void am_prof_counter(const char *name, const char *key, int64_t v);

/* An eager op call's event: its shapes, dtypes, bytes and call site (status
 * st; a failure carries the message). */
void am_prof_op(const am_prof_span *s, const am_op_def *op, am_array *const *in, int n_in,
                am_array *const *out, int n_out, am_status st, am_site at);

#endif /* AMBER_PROFILER_IMPL_H */
