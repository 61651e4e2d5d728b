/* Registry-driven cases for ndarray/ops/rnn.c.  Parameter counts follow MXNet's
 * GetRnnParamSize: with G gates (1, 4, 3) and s = G*H*D, (I + H + 2) s for the first layer
 * and (D*H + H + 2) s for each further one.  Reserve sizes (for _backward_RNN) are
 * L*T*N*D*H * (1 + S) with S = 0, 5, 4, plus (L-1)*T*N*D*H for dropout masks when p > 0. */
#include "test_util.h"

const am_op_case am_cases_rnn[] = {
    {.op = "RNN", .attrs = "state_size=2;num_layers=1;mode=rnn_tanh", .shapes = "3,2,3;14;1,2,2"},
    {.op = "RNN", .attrs = "state_size=2;num_layers=2;mode=rnn_relu;state_outputs=True",
     .shapes = "2,2,2;24;2,2,2"},
    {.op = "RNN", .attrs = "state_size=2;num_layers=2;mode=rnn_tanh;bidirectional=True;"
     "state_outputs=True", .shapes = "2,1,2;56;4,1,2", .dtype = AM_DTYPE_FLOAT64},
    {.op = "RNN", .attrs = "state_size=2;num_layers=1;mode=lstm;state_outputs=True",
     .shapes = "3,2,3;56;1,2,2;1,2,2"},
    {.op = "RNN", .attrs = "state_size=2;num_layers=2;mode=lstm;bidirectional=True;"
     "state_outputs=True", .shapes = "2,1,2;224;4,1,2;4,1,2", .dtype = AM_DTYPE_FLOAT64},
    {.op = "RNN", .attrs = "state_size=2;num_layers=1;mode=lstm;lstm_state_clip_min=-0.5;"
     "lstm_state_clip_max=0.5;lstm_state_clip_nan=True;state_outputs=True",
     .shapes = "2,2,2;48;1,2,2;1,2,2"},
    {.op = "RNN", .attrs = "state_size=2;num_layers=2;mode=lstm;p=0.3",
     .shapes = "2,2,2;96;2,2,2;2,2,2"},
    {.op = "RNN", .attrs = "state_size=2;num_layers=1;mode=gru;bidirectional=True;"
     "state_outputs=True", .shapes = "3,2,2;72;2,2,2"},
    {.op = "RNN", .attrs = "state_size=2;num_layers=2;mode=gru", .shapes = "2,2,3;78;2,2,2",
     .dtype = AM_DTYPE_FLOAT64},
    {.op = "RNN", .attrs = "state_size=2;num_layers=1;mode=rnn_tanh;state_outputs=True",
     .shapes = "0,2,3;14;1,2,2"},
    {.op = "RNN", .attrs = "state_size=2;num_layers=1;mode=gru", .shapes = "2,0,2;36;1,0,2"},

    {.op = "_backward_RNN", .attrs = "state_size=2;num_layers=1;mode=rnn_tanh",
     .shapes = "3,2,3;14;1,2,2;12;3,2,2;1,2,2"},
    {.op = "_backward_RNN", .attrs = "state_size=2;num_layers=2;mode=rnn_relu",
     .shapes = "2,2,2;24;2,2,2;16;2,2,2;2,2,2"},
    {.op = "_backward_RNN", .attrs = "state_size=2;num_layers=2;mode=lstm;bidirectional=True",
     .shapes = "2,1,2;224;4,1,2;96;2,1,4;4,1,2;4,1,2;4,1,2", .dtype = AM_DTYPE_FLOAT64},
    {.op = "_backward_RNN", .attrs = "state_size=2;num_layers=2;mode=lstm;p=0.3",
     .shapes = "2,2,2;96;2,2,2;104;2,2,2;2,2,2;2,2,2;2,2,2"},
    {.op = "_backward_RNN", .attrs = "state_size=2;num_layers=1;mode=gru;bidirectional=True",
     .shapes = "3,2,2;72;2,2,2;120;3,2,4;2,2,2"},
    {.op = "_backward_RNN", .attrs = "state_size=2;num_layers=1;mode=gru",
     .shapes = "0,2,2;36;1,2,2;0;0,2,2;1,2,2"},
    {0}};
