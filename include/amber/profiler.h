/* The profiler: a Chrome trace (trace-event JSON, opened by Perfetto and
 * chrome://tracing) of what Amber ran and where the time went. */
#ifndef AMBER_PROFILER_H
#define AMBER_PROFILER_H

/*
 * While the profiler records, every eager op, every plan run and each of its
 * steps, plan compilation and each optimization pass, each block call, each
 * hybridize trace and plan-cache hit, each backward pass, and the host
 * memory in use (a counter) become events of one trace (docs/profiling.md).
 * Example (runs):
 *
 *     am_array *x = am_ones(AM_SHAPE(64, 64), AM_DTYPE_FLOAT32);
 *     am_profiler_start("trace.json");              // AM_ERR_IO if it cannot be written
 *     for (int step = 0; step < 5; step++) x = am_tanh(am_dot(x, x));
 *     am_profiler_stop();                           // trace.json is complete now
 *     // open it in https://ui.perfetto.dev or chrome://tracing
 *
 * Without a call in the program, AM_PROFILE=trace.json in the environment
 * records the whole run: it is read once, at the first op, allocation, plan
 * run or block call, and the trace is written when the program exits.
 *
 * When the profiler is off, each op pays one load of a global flag and a
 * branch that is not taken.
 */

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Starts recording into a trace that am_profiler_stop writes to path.  The
 * events go to "<path>.<pid>.tmp" in the same directory, renamed to path
 * when the trace is complete, so a reader never sees half a file.
 * AM_ERR_IO when that file cannot be created (a missing directory says so),
 * AM_ERR_ARG when path is NULL or empty or the profiler is recording already
 * (AM_PROFILE's trace included). */
AM_API am_status am_profiler_start(const char *path);

/* Stops recording and writes the trace.  AM_ERR_IO when the trace could not
 * be written (the temporary file is removed then).  A no-op returning AM_OK
 * when the profiler is not recording. */
AM_API am_status am_profiler_stop(void);

/* True while the profiler records (after am_profiler_start, or through
 * AM_PROFILE once it has been read). */
AM_API bool am_profiler_is_recording(void);

#ifdef __cplusplus
}
#endif

#endif /* AMBER_PROFILER_H */
