/* Helpers the detection op files share (multibox.c, proposal.c). */
#ifndef AMBER_DETECTION_IMPL_H
#define AMBER_DETECTION_IMPL_H

#include "shape_impl.h"

/* Most values a float-list attribute ("(0.5, 1, 2)") may hold. */
#define AM_DET_MAX_LIST 16

/* Parses "(0.5, 0.25)", "[0.5,0.25]", "0.5" or "()" into at most AM_DET_MAX_LIST
 * floats (float32, as MXNet stores them); AM_ERR_ARG naming the attribute
 * `what` when it does not parse.  Defined in multibox.c. */
am_status am_det_float_list(const char *what, const char *s, float *v, int *n);

#endif /* AMBER_DETECTION_IMPL_H */
