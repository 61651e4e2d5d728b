/* Automatic differentiation: recording eager ops on a tape and running the
 * registry's gradient functions backwards. */
#ifndef AMBER_AUTOGRAD_H
#define AMBER_AUTOGRAD_H

/* Example (runs):
 *
 *     am_array *x = am_ones(AM_SHAPE(3), AM_DTYPE_FLOAT32);
 *     am_array *w = am_random_normal(0, 1, AM_SHAPE(3), AM_DTYPE_FLOAT32);
 *     am_attach_grad(w, AM_GRAD_WRITE);
 *     am_autograd_record_begin(true);               // like autograd.record()
 *     am_array *loss = am_sum(am_square(am_mul(w, x)), NULL, 0, false);
 *     am_autograd_end();
 *     am_backward(loss);                            // d loss / d w into am_grad(w)
 *     am_print(am_grad(w));
 *
 * Only ops run while recording, on inputs that need a gradient (an attached
 * variable or a recorded result), are taped.  The training flag (Dropout,
 * BatchNorm) is separate from recording, as in Gluon.  Gradients are the
 * registry's gradient functions, written with the public ops, so a gradient
 * computed with create_graph is itself recorded and can be differentiated.
 */

#include "array.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum am_grad_req {
    AM_GRAD_NULL,  /* no gradient */
    AM_GRAD_WRITE, /* each backward overwrites the gradient */
    AM_GRAD_ADD,   /* each backward adds to the gradient */
    AM_GRAD_REQ_COUNT
} am_grad_req;

/* Turns recording on or off on this thread; returns the previous setting. */
AM_API bool am_autograd_set_recording(bool on);
AM_API bool am_autograd_is_recording(void);
/* Training mode (Dropout drops, BatchNorm uses batch statistics); returns the
 * previous setting. */
AM_API bool am_autograd_set_training(bool on);
AM_API bool am_autograd_is_training(void);

/* Nestable scopes: record_begin(train) records with training set to train
 * (Gluon's autograd.record(train_mode)); pause_begin(train) stops recording
 * (autograd.pause(train_mode)).  am_autograd_end restores the state before
 * the matching begin; AM_ERR_ARG when none is open. */
AM_API void am_autograd_record_begin(bool train_mode);
AM_API void am_autograd_pause_begin(bool train_mode);
AM_API am_status am_autograd_end(void);

/* Makes x a variable that receives a gradient: allocates am_grad(x) (zeros)
 * and sets its request.  AM_GRAD_NULL detaches it.  AM_ERR_ARG for a
 * recorded result (only variables take gradients), AM_ERR_SYMBOLIC. */
AM_API am_status am_attach_grad(am_array *x, am_grad_req req);

/* The gradient buffer of a variable, or NULL when none is attached.
 * Borrowed: valid while x lives and until the next am_attach_grad(x). */
AM_API am_array *am_grad(am_array *x);

/* A new array with x's value that is not connected to the tape. */
AM_API am_array *am_detach(am_array *x);

/* Back-propagates from head (head_grad NULL means ones) into the gradients
 * of the attached variables it depends on.  Without retain_graph the tape
 * behind head is freed and a second backward is an error.  AM_ERR_ARG when
 * head was not recorded or its tape was freed; the gradient functions' own
 * errors pass through. */
AM_API am_status am_backward_at(am_array *head, am_array *head_grad, bool retain_graph,
                                am_site at);
#define am_backward(head) am_backward_at((head), NULL, false, AM_HERE)

/* Gradients of the heads with respect to variables, returned in grads (new
 * references owned by the current scope, like op results) rather than stored.  With create_graph the computation is
 * recorded, so the results can be differentiated again.  A variable the
 * heads do not depend on gets zeros. */
AM_API am_status am_grad_of_at(am_array *const *heads, am_array *const *head_grads, int n_heads,
                               am_array *const *variables, int n_vars, bool retain_graph,
                               bool create_graph, am_array **grads, am_site at);
#define am_grad_of(h, hg, nh, v, nv, retain, create, out) \
    am_grad_of_at((h), (hg), (nh), (v), (nv), (retain), (create), (out), AM_HERE)

#ifdef __cplusplus
}
#endif
#endif /* AMBER_AUTOGRAD_H */
