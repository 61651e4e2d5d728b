/* Helpers the detection op files share (multibox.c, proposal.c, roi_align.c,
 * rroi_align.c). */
#ifndef AMBER_DETECTION_IMPL_H
#define AMBER_DETECTION_IMPL_H

#include "shape_impl.h"

/* Most values a float-list attribute ("(0.5, 1, 2)") may hold. */
#define AM_DET_MAX_LIST 16

/* Parses "(0.5, 0.25)", "[0.5,0.25]", "0.5" or "()" into at most AM_DET_MAX_LIST
 * floats (float32, as MXNet stores them); AM_ERR_ARG naming the attribute
 * `what` when it does not parse.  Defined in multibox.c. */
am_status am_det_float_list(const char *what, const char *s, float *v, int *n);

/* One bilinear sample: the four corners' flat offsets in an (H, W) plane and
 * their weights. */
typedef struct am_det_tap {
    int64_t off[4];
    double w[4];
} am_det_tap;

/* RoIAlign's bilinear sample at (y, x) on an h x w plane: false when the point
 * lies outside [-1, h] x [-1, w]; a point just outside the map is clamped to its
 * edge.  Defined in roi_align.c. */
bool am_det_roi_sample(double y, double x, int64_t h, int64_t w, am_det_tap *t);

#endif /* AMBER_DETECTION_IMPL_H */
