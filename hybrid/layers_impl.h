/* Helpers shared by the built-in layers (hybrid/layers_*.c).  The layers use
 * the public API only, as a user's block would. */
#ifndef AMBER_LAYERS_IMPL_H
#define AMBER_LAYERS_IMPL_H

#include <amber/amber.h>

/* AM_OK when block b got want inputs, else AM_ERR_ARG naming its type. */
am_status am_layer_check_inputs(const am_block *b, int n_in, int want);

/* Expands a tuple option t to nk entries in out: ndim 0 gives def, one entry
 * is repeated, nk entries are copied.  Every entry must be at least min.
 * AM_ERR_ARG naming fn and what otherwise. */
am_status am_layer_tuple(const char *fn, const char *what, am_shape t, int nk, int64_t def,
                         int64_t min, int64_t *out);

/* init when its kind is not AM_INIT_DEFAULT, else fallback (which may be
 * NULL: the block-wide initializer). */
const am_init *am_layer_init_or(const am_init *init, const am_init *fallback);

/* MXNet's act_type spelling of name (a static string), or NULL with
 * AM_ERR_ARG naming fn and listing the names. */
const char *am_layer_act_name(const char *fn, const char *name);

/* Applies an activation of am_layer_act_name to x. */
am_array *am_layer_activate(am_array *x, const char *act);

/* Registers the Activation child "act" of parent (Dense, Conv).  Returns it
 * (borrowed), or NULL with the error; name NULL gives NULL without one. */
am_block *am_layer_add_act(am_block *parent, const char *fn, const char *name);

/* Releases b and returns NULL: the end of a constructor that failed. */
am_block *am_layer_fail(am_block *b);

#endif /* AMBER_LAYERS_IMPL_H */
