/* Amber: a deep-learning framework in C.  Include this header only.
 *
 * The API is what the headers it includes declare with AM_API; nothing else
 * (no struct layout of an opaque type, no internal header) is API.
 * Example (program, runs):
 *
 *     #include <amber/amber.h>
 *
 *     int main(void) {
 *         am_scope_begin();
 *         am_array *a = am_arange(0, 6, 1, AM_DTYPE_FLOAT32);
 *         am_array *m = am_reshape(a, AM_SHAPE(2, 3));
 *         am_array *p = am_dot_t(m, m, false, true);     // m m^T, 2x2
 *         am_print(p);
 *         am_scope_end();
 *         return 0;
 *     }
 */
#ifndef AMBER_AMBER_H
#define AMBER_AMBER_H

#include "base.h"
#include "dtype.h"
#include "device.h"
#include "array.h"
#include "ops.h"
#include "autograd.h"
#include "symbol.h"
#include "op.h"
#include "io.h"
#include "data.h"
#include "executor.h"
#include "hybrid.h"
#include "layers.h"
#include "layers_rnn.h"
#include "losses.h"
#include "metric.h"
#include "trainer.h"
#include "profiler.h"

#endif /* AMBER_AMBER_H */
