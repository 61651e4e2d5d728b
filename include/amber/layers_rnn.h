/* Recurrent cells (one time step) and fused recurrent layers (whole sequences):
 * Gluon 1.x's rnn.RNNCell, LSTMCell, GRUCell, RNN, LSTM and GRU. */
#ifndef AMBER_LAYERS_RNN_H
#define AMBER_LAYERS_RNN_H

/* Example (runs):
 *
 *     int64_t T = 5;
 *     am_array *x = am_random_normal(0, 1, AM_SHAPE(2, T, 16), AM_DTYPE_FLOAT32);
 *     // a 2-layer LSTM over x (N, T, 16): y (N, T, 64)
 *     am_block *lstm = am_lstm_layer(64, &(am_rnn_layer_opts){.num_layers = 2,
 *                                                             .layout = "NTC"});
 *     am_block_initialize(lstm, NULL);          // l0_i2h_weight is (256, 0) until the call
 *     am_array *y = am_block_call(lstm, x);
 *
 *     // the same recurrence step by step: a cell unrolled over T steps
 *     am_block *cell = am_lstm_cell(64, NULL);
 *     am_block_initialize(cell, NULL);
 *     am_array *outs[1], *states[2];
 *     am_rnn_unroll(cell, T, x, "NTC", NULL, true, outs, states);  // outs[0] (N, T, 64)
 *     am_block_release(cell);
 *     am_block_release(lstm);
 *
 * Cells are blocks called with (input, states...) that return (output, new
 * states...); layers are blocks called with (input) or (input, states...)
 * that return output, or (output, final states...) when states were given.
 * Both run eagerly or hybridized like any block (docs/layers-rnn.md).
 */

#include "hybrid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- cells ---------------------------------------------------------------------------- */

/* Options of the three cells; a zeroed struct (or NULL) gives Gluon's defaults. */
typedef struct am_rnn_cell_opts {
    int64_t input_size;       /* features of the input; 0: inferred at the first call */
    /* RNNCell: the output activation, "tanh" when NULL; "relu", "sigmoid", "softsign"
     * run those ops and any other Activation act_type ("softrelu") runs Activation.
     * LSTMCell: the candidate's activation the same way ("tanh"), and the cell
     * output's (always the Activation op).  GRUCell: must be NULL. */
    const char *activation;
    /* LSTMCell: the activation of the i, f and o gates, "sigmoid" when NULL.  The
     * other cells: must be NULL. */
    const char *recurrent_activation;
    am_init i2h_weight_init;  /* kind AM_INIT_DEFAULT (zero): the block-wide default */
    am_init h2h_weight_init;  /* the same */
    am_init i2h_bias_init;    /* kind AM_INIT_DEFAULT: zeros, as Gluon */
    am_init h2h_bias_init;    /* the same */
} am_rnn_cell_opts;

/* New cells with hidden_size units (reference count 1; am_block_release ends
 * them).  Each has the parameters i2h_weight (G*hidden_size, input_size),
 * h2h_weight (G*hidden_size, hidden_size), i2h_bias and h2h_bias (G*hidden_size),
 * with G = 1, 4 or 3 gate blocks stacked in Gluon's order (LSTM: i, f, c, o; GRU:
 * r, z, n).  One call takes (input (N, input_size), states...) and returns
 * (output (N, hidden_size), new states...): RNNCell and GRUCell have one state h,
 * LSTMCell two, h and c, each (N, hidden_size); the output is the new h.  The ops
 * are Gluon's (FullyConnected, elemwise_add, SliceChannel, the activations,
 * elemwise_mul ...), so a traced cell is Gluon's graph.  opts may be NULL and is not
 * read after the call.  NULL with AM_ERR_ARG for hidden_size < 1, input_size < 0, an
 * unknown activation or one the cell does not take (AM_ERR_OOM when memory runs out).
 * A call fails with AM_ERR_ARG for a wrong number of states and AM_ERR_SHAPE for an
 * input that is not 2-D, has other than input_size features, or a state not (N, H). */
AM_API am_block *am_rnn_cell(int64_t hidden_size, const am_rnn_cell_opts *opts);
AM_API am_block *am_lstm_cell(int64_t hidden_size, const am_rnn_cell_opts *opts);
AM_API am_block *am_gru_cell(int64_t hidden_size, const am_rnn_cell_opts *opts);

/* ---- fused layers --------------------------------------------------------------------- */

/* Options of the three layers; a zeroed struct (or NULL) gives Gluon's defaults. */
typedef struct am_rnn_layer_opts {
    int num_layers;           /* stacked layers; 0: 1 */
    const char *layout;       /* "TNC" (NULL) or "NTC": where time and batch are */
    double dropout;           /* in [0, 1): dropout on each layer's output but the
                               * last, in training mode */
    bool bidirectional;       /* each layer also runs backwards in time; outputs of
                               * both directions are concatenated (D = 2) */
    int64_t input_size;       /* features of the input; 0: inferred at the first call */
    const char *activation;   /* am_rnn_layer only: "relu" (NULL) or "tanh" */
    am_init i2h_weight_init;  /* as in am_rnn_cell_opts */
    am_init h2h_weight_init;
    am_init i2h_bias_init;
    am_init h2h_bias_init;
} am_rnn_layer_opts;

/* New layers of num_layers recurrent layers with hidden_size units, run by the
 * fused RNN op (reference count 1).  Parameters, for layer l and direction d ("l"
 * forward, "r" backward in time), in this order: <d><l>_i2h_weight (G*H, in_l),
 * <d><l>_h2h_weight (G*H, H), <d><l>_i2h_bias and <d><l>_h2h_bias (G*H), with
 * in_0 = input_size and in_l = D*H above: Gluon's names ("l0_i2h_weight").  At
 * every call they are flattened and concatenated into the op's parameter vector
 * in Gluon's order (all weights, then all biases).  A call takes input (T, N, C)
 * ("TNC") or (N, T, C) ("NTC") and optionally the begin states, each (L*D, N, H)
 * (h, and c for LSTM; zeros when not given); it returns the output (T, N, D*H) or
 * (N, T, D*H), and, only when states were given, the final states after it, as
 * Gluon does.  opts may be NULL and is not read after the call.  NULL with AM_ERR_ARG
 * for hidden_size < 1, num_layers < 0, input_size < 0, dropout outside [0, 1), a bad
 * layout or activation (AM_ERR_OOM when memory runs out).  A call fails with
 * AM_ERR_ARG for a wrong number of states and AM_ERR_SHAPE for an input that is not
 * 3-D or has other than input_size features, or a state not (L*D, N, H). */
AM_API am_block *am_rnn_layer(int64_t hidden_size, const am_rnn_layer_opts *opts);
AM_API am_block *am_lstm_layer(int64_t hidden_size, const am_rnn_layer_opts *opts);
AM_API am_block *am_gru_layer(int64_t hidden_size, const am_rnn_layer_opts *opts);

/* ---- states and unrolling ------------------------------------------------------------- */

/* The number of states of a cell or layer of this header (1, or 2 for LSTM), or -1
 * with AM_ERR_ARG for another block or NULL. */
AM_API int am_rnn_num_states(const am_block *b);

/* The shape of each state of b for batch_size: (batch_size, H) for a cell,
 * (L*D, batch_size, H) for a layer.  ndim -1 with AM_ERR_ARG as above. */
AM_API am_shape am_rnn_state_shape(const am_block *b, int64_t batch_size);

/* Gluon's begin_state: fills out[0 .. n) with zero states for batch_size (new
 * references owned by the current scope, in the dtype of b's parameters) and
 * returns n = am_rnn_num_states(b); -1 with AM_ERR_ARG when b is not a cell or
 * layer of this header, batch_size < 0 or cap < n. */
AM_API int am_rnn_begin_state(am_block *b, int64_t batch_size, am_array **out, int cap);

/* Gluon's unroll: calls cell length times, each on one time step of inputs (T, N,
 * C) for layout "TNC" or (N, T, C) for "NTC" (NULL: "NTC", Gluon's default here),
 * with the states the previous step returned, starting from begin_state
 * (am_rnn_num_states(cell) arrays; NULL: zeros in the dtype of inputs).  Works
 * eagerly and while tracing, as it only calls the cell; the cell's parameters are
 * shared by all steps.  With merge_outputs, outputs[0] is every step's output
 * stacked along the time axis of layout; otherwise outputs[0 .. length) are the
 * steps' outputs (N, hidden_size).  states receives the final states
 * (am_rnn_num_states(cell) pointers).  Results are new references owned by the
 * current scope; intermediate steps are freed.  AM_ERR_ARG for a cell not of this
 * header, a bad layout or length < 1; AM_ERR_SHAPE when inputs is not 3-D or its
 * time axis is not length long; the cell's errors otherwise.  On failure nothing
 * is written to outputs and states. */
AM_API am_status am_rnn_unroll_at(am_block *cell, int64_t length, am_array *inputs,
                                  const char *layout, am_array *const *begin_state,
                                  bool merge_outputs, am_array **outputs, am_array **states,
                                  am_site at);
#define am_rnn_unroll(cell, length, inputs, layout, begin, merge, outputs, states) \
    am_rnn_unroll_at((cell), (length), (inputs), (layout), (begin), (merge), (outputs), \
                     (states), AM_HERE)

#ifdef __cplusplus
}
#endif
#endif /* AMBER_LAYERS_RNN_H */
