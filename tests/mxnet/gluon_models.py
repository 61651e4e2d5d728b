"""The Gluon models that `make check-mxnet` exports with MXNet and runs with Amber.

Each entry of MODELS is (name, what it covers, build), where build(seed) returns
(net, x): an initialized, hybridized HybridBlock and its input.  check.py
calls net(x) once (so the graph is traced), exports it, and compares MXNet's
inference output with `amber run`'s.  Everything is seeded, so a run gives
the same files every time.
"""

import math

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon, nd
from mxnet.gluon import nn, rnn
from mxnet.gluon.model_zoo import vision


def _seed(seed):
    mx.random.seed(seed)
    np.random.seed(seed)
    return np.random.RandomState(seed)


def _uniform(rs, shape, lo=-1.0, hi=1.0):
    return nd.array(rs.uniform(lo, hi, size=shape).astype(np.float32))


def _perturb_batchnorm(net, rs):
    """Gives every BatchNorm layer non-trivial statistics and affine terms, so
    that Amber's BatchNorm (and its folding into convolutions) is really
    exercised and activations keep a sensible scale through deep nets."""
    for name, p in net.collect_params().items():
        shape = p.shape
        if name.endswith("running_mean"):
            p.set_data(nd.array(rs.uniform(-0.2, 0.2, shape).astype(np.float32)))
        elif name.endswith("running_var"):
            p.set_data(nd.array(rs.uniform(0.5, 1.5, shape).astype(np.float32)))
        elif name.endswith("gamma"):
            p.set_data(nd.array(rs.uniform(0.5, 1.5, shape).astype(np.float32)))
        elif name.endswith("beta"):
            p.set_data(nd.array(rs.uniform(-0.2, 0.2, shape).astype(np.float32)))


def _zoo(factory, shape):
    def build(seed):
        rs = _seed(seed)
        net = factory(pretrained=False)
        # He initialisation keeps the activations' scale through the depth
        # (Xavier's shrinks MobileNet's output to ~1e-16).
        net.initialize(mx.init.MSRAPrelu())
        x = _uniform(rs, shape)
        net(x)  # finishes deferred initialisation
        _perturb_batchnorm(net, rs)
        net.hybridize()
        return net, x
    return build


# ---- recurrent ------------------------------------------------------------------

class LSTMNet(gluon.HybridBlock):
    """gluon.rnn.LSTM (NTC) and a Dense head; begin states given or not."""

    def __init__(self, batch, hidden, states, **kw):
        super().__init__(**kw)
        self.batch, self.hidden, self.states = batch, hidden, states
        with self.name_scope():
            self.lstm = rnn.LSTM(hidden, num_layers=2, layout="NTC", input_size=8)
            self.head = nn.Dense(4, flatten=False, in_units=hidden)

    def hybrid_forward(self, F, x):
        if self.states:
            h0 = F.zeros((2, self.batch, self.hidden))
            c0 = F.ones((2, self.batch, self.hidden)) * 0.1
            y, _ = self.lstm(x, [h0, c0])
        else:
            y = self.lstm(x)
        return self.head(y)


def _lstm(states):
    def build(seed):
        rs = _seed(seed)
        net = LSTMNet(2, 16, states)
        net.initialize(mx.init.Uniform(0.3))
        net.hybridize()
        return net, _uniform(rs, (2, 5, 8))
    return build


class FusedLSTM(gluon.HybridBlock):
    """MXNet's fused RNN op called directly, with one packed parameter vector
    (the layout Gluon's LSTM concatenates with _rnn_param_concat) and begin
    states as parameters: Amber's RNN kernel against MXNet's."""

    def __init__(self, inputs, hidden, layers, **kw):
        super().__init__(**kw)
        self.hidden, self.layers = hidden, layers
        n = 0
        for layer in range(layers):
            isz = inputs if layer == 0 else hidden
            n += 4 * hidden * (isz + hidden + 2)
        with self.name_scope():
            self.rnn_param = self.params.get("rnn_param", shape=(n,))
            self.h0 = self.params.get("h0", shape=(layers, 2, hidden))
            self.c0 = self.params.get("c0", shape=(layers, 2, hidden))

    def hybrid_forward(self, F, x, rnn_param, h0, c0):
        tnc = F.swapaxes(x, dim1=0, dim2=1)
        y = F.RNN(tnc, rnn_param, h0, c0, mode="lstm", state_size=self.hidden,
                  num_layers=self.layers, state_outputs=False)
        return F.swapaxes(y, dim1=0, dim2=1)


def _fused_lstm(seed):
    rs = _seed(seed)
    net = FusedLSTM(8, 16, 2)
    net.initialize(mx.init.Uniform(0.3))
    net.hybridize()
    return net, _uniform(rs, (2, 5, 8))


class UnrolledLSTM(gluon.HybridBlock):
    """gluon.rnn.LSTMCell unrolled over 5 steps (FullyConnected, SliceChannel,
    sigmoid, tanh, elementwise ops, stack)."""

    def __init__(self, batch, hidden, states, **kw):
        super().__init__(**kw)
        self.batch, self.hidden, self.states = batch, hidden, states
        with self.name_scope():
            self.cell = rnn.LSTMCell(hidden, input_size=8)

    def hybrid_forward(self, F, x):
        begin = None
        if self.states:
            begin = [F.zeros((self.batch, self.hidden)), F.zeros((self.batch, self.hidden))]
        out, _ = self.cell.unroll(5, x, begin_state=begin, layout="NTC", merge_outputs=True)
        return out


def _unrolled(states):
    def build(seed):
        rs = _seed(seed)
        net = UnrolledLSTM(2, 16, states)
        net.initialize(mx.init.Uniform(0.3))
        net.hybridize()
        return net, _uniform(rs, (2, 5, 8))
    return build


# ---- a transformer-style encoder ----------------------------------------------------

class SelfAttention(gluon.HybridBlock):
    """Causal multi-head self-attention written with batch_dot and softmax."""

    def __init__(self, units, heads, seq_len, **kw):
        super().__init__(**kw)
        self.units, self.heads, self.seq_len = units, heads, seq_len
        with self.name_scope():
            self.qkv = nn.Dense(3 * units, flatten=False, in_units=units)
            self.proj = nn.Dense(units, flatten=False, in_units=units)

    def _split_heads(self, F, t):
        t = F.reshape(t, shape=(0, 0, self.heads, -1))       # (N, T, H, d)
        t = F.transpose(t, axes=(0, 2, 1, 3))                # (N, H, T, d)
        return F.reshape(t, shape=(-3, -2))                  # (N*H, T, d)

    def hybrid_forward(self, F, x):
        q, k, v = F.split(self.qkv(x), num_outputs=3, axis=-1)
        q, k, v = (self._split_heads(F, t) for t in (q, k, v))
        d = self.units // self.heads
        score = F.batch_dot(q, k, transpose_b=True) * (1.0 / math.sqrt(d))
        pos = F.arange(self.seq_len)
        future = F.broadcast_greater(F.reshape(pos, shape=(1, -1)), F.reshape(pos, shape=(-1, 1)))
        score = F.broadcast_add(score, F.expand_dims(future, axis=0) * -1e9)
        att = F.softmax(score, axis=-1)
        out = F.batch_dot(att, v)                            # (N*H, T, d)
        out = F.reshape(out, shape=(-4, -1, self.heads, 0, 0))
        out = F.transpose(out, axes=(0, 2, 1, 3))
        return self.proj(F.reshape(out, shape=(0, 0, -3)))


class EncoderLayer(gluon.HybridBlock):
    """Pre-LayerNorm block: x + attn(ln(x)), then x + ffn(ln(x)).  GELU is
    MXNet's LeakyReLU(gelu), or written out with erf."""

    def __init__(self, units, heads, seq_len, erf_gelu, **kw):
        super().__init__(**kw)
        self.erf_gelu = erf_gelu
        with self.name_scope():
            self.ln1 = nn.LayerNorm(in_channels=units)
            self.attn = SelfAttention(units, heads, seq_len)
            self.drop = nn.Dropout(0.1)
            self.ln2 = nn.LayerNorm(in_channels=units)
            self.ffn1 = nn.Dense(4 * units, flatten=False, in_units=units)
            self.gelu = nn.GELU()
            self.ffn2 = nn.Dense(units, flatten=False, in_units=4 * units)

    def hybrid_forward(self, F, x):
        x = x + self.drop(self.attn(self.ln1(x)))
        h = self.ffn1(self.ln2(x))
        if self.erf_gelu:
            h = 0.5 * h * (1 + F.erf(h / math.sqrt(2.0)))
        else:
            h = self.gelu(h)
        return x + self.ffn2(h)


class Encoder(gluon.HybridBlock):
    def __init__(self, units=32, heads=4, seq_len=6, **kw):
        super().__init__(**kw)
        with self.name_scope():
            self.layer0 = EncoderLayer(units, heads, seq_len, erf_gelu=False)
            self.layer1 = EncoderLayer(units, heads, seq_len, erf_gelu=True)
            self.ln = nn.LayerNorm(in_channels=units)

    def hybrid_forward(self, F, x):
        return self.ln(self.layer1(self.layer0(x)))


def _transformer(seed):
    rs = _seed(seed)
    net = Encoder()
    net.initialize(mx.init.Xavier())
    for name, p in net.collect_params().items():   # non-trivial LayerNorm affines
        if name.endswith("gamma") or name.endswith("beta"):
            lo, hi = (0.5, 1.5) if name.endswith("gamma") else (-0.2, 0.2)
            p.set_data(nd.array(rs.uniform(lo, hi, p.shape).astype(np.float32)))
    net.hybridize()
    return net, _uniform(rs, (2, 6, 32))


# ---- a small CNN whose BatchNorm statistics come from training ----------------------

def _cnn_bn(seed):
    rs = _seed(seed)
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Conv2D(8, 3, padding=1, in_channels=3),
                nn.BatchNorm(in_channels=8),
                nn.Activation("relu"),
                nn.MaxPool2D(2),
                nn.Conv2D(16, 3, padding=1, use_bias=False, in_channels=8),
                nn.BatchNorm(in_channels=16),
                nn.Activation("relu"),
                nn.AvgPool2D(2),
                nn.Flatten(),
                nn.Dense(10, in_units=16 * 4 * 4))
    net.initialize(mx.init.Xavier())
    net.hybridize()
    # A few SGD steps in training mode: the moving statistics move away from
    # 0 and 1 (inputs with mean 0.5 and scale 2), gamma and beta from 1 and 0.
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    for _ in range(5):
        xb = _uniform(rs, (8, 3, 16, 16), -1.5, 2.5)
        yb = nd.array(rs.randint(0, 10, size=(8,)).astype(np.float32))
        with autograd.record(train_mode=True):
            loss = loss_fn(net(xb), yb)
        loss.backward()
        trainer.step(8)
    for name, p in net.collect_params().items():
        v = p.data().asnumpy()
        if name.endswith("running_mean") and np.abs(v).max() < 1e-3:
            raise RuntimeError("%s stayed at 0 after training" % name)
        if name.endswith("running_var") and np.abs(v - 1).max() < 1e-3:
            raise RuntimeError("%s stayed at 1 after training" % name)
    return net, _uniform(rs, (2, 3, 16, 16), -1.5, 2.5)


def _mlp(seed):
    rs = _seed(seed)
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Dense(64, activation="relu"),
                nn.Dense(32, activation="tanh"),
                nn.Dense(10))
    net.initialize(mx.init.Xavier())
    net.hybridize()
    return net, _uniform(rs, (4, 3, 10))



# ---- recurrent layers and cells (issue 11: partial shape inference) -------------------

_LAYERS = {"rnn": rnn.RNN, "gru": rnn.GRU, "lstm": rnn.LSTM}


class RecurrentNet(gluon.HybridBlock):
    """A Gluon RNN, GRU or LSTM layer (NTC) and a Dense head; begin states left
    to Gluon (its _zeros of shape (layers*dirs, 0, hidden)) or given."""

    def __init__(self, kind, layers, bidir, batch, hidden, states, **kw):
        super().__init__(**kw)
        self.kind, self.states = kind, states
        self.state_shape = (layers * (2 if bidir else 1), batch, hidden)
        with self.name_scope():
            self.layer = _LAYERS[kind](hidden, num_layers=layers, bidirectional=bidir,
                                       layout="NTC", input_size=8)
            self.head = nn.Dense(4, flatten=False)

    def hybrid_forward(self, F, x):
        if self.states:
            begin = [F.ones(self.state_shape) * 0.1]
            if self.kind == "lstm":
                begin.append(F.ones(self.state_shape) * -0.2)
            y, _ = self.layer(x, begin)
        else:
            y = self.layer(x)
        return self.head(y)


def _recurrent_block(kind, layers, bidir, states):
    def build(seed):
        rs = _seed(seed)
        net = RecurrentNet(kind, layers, bidir, 3, 16, states)
        net.initialize(mx.init.Uniform(0.3))
        net.hybridize()
        return net, _uniform(rs, (3, 5, 8))
    return build


def _recurrent_alone(kind, layers, bidir, **kw):
    """The layer alone (TNC, no head) in a HybridSequential, called without
    states.  (The layer exported by itself after an NDArray call would take
    its begin states as graph inputs data1, data2: Gluon makes them as
    arrays then, not as _zeros.)"""
    def build(seed):
        rs = _seed(seed)
        net = nn.HybridSequential()
        with net.name_scope():
            net.add(_LAYERS[kind](16, num_layers=layers, bidirectional=bidir, input_size=8, **kw))
        net.initialize(mx.init.Uniform(0.3))
        net.hybridize()
        return net, _uniform(rs, (5, 3, 8))
    return build


class UnrolledCell(gluon.HybridBlock):
    """A GRUCell or LSTMCell unrolled over 5 steps, begin states left to Gluon
    (_zeros of shape (0, hidden)) or given."""

    def __init__(self, cell, batch, hidden, states, **kw):
        super().__init__(**kw)
        self.batch, self.hidden, self.states = batch, hidden, states
        with self.name_scope():
            self.cell = cell(hidden, input_size=8)

    def hybrid_forward(self, F, x):
        begin = None
        if self.states:
            begin = [F.ones((self.batch, self.hidden)) * 0.1
                     for _ in self.cell.state_info(self.batch)]
        out, _ = self.cell.unroll(5, x, begin_state=begin, layout="NTC", merge_outputs=True)
        return out


def _unrolled_cell(cell, states):
    def build(seed):
        rs = _seed(seed)
        net = UnrolledCell(cell, 3, 16, states)
        net.initialize(mx.init.Uniform(0.3))
        net.hybridize()
        return net, _uniform(rs, (3, 5, 8))
    return build


# ---- a small 3-D convolution network --------------------------------------------------

def _conv3d(seed):
    rs = _seed(seed)
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Conv3D(8, 3, padding=1, in_channels=2),
                nn.BatchNorm(in_channels=8),
                nn.Activation("relu"),
                nn.MaxPool3D(2),
                nn.Conv3D(8, (3, 1, 3), strides=(1, 1, 2), padding=(1, 0, 1), groups=2,
                          in_channels=8),
                nn.Conv3DTranspose(4, 3, strides=2, padding=1, output_padding=1, in_channels=8),
                nn.BatchNorm(in_channels=4),
                nn.Activation("relu"),
                nn.GlobalAvgPool3D(),
                nn.Dense(5, in_units=4))
    net.initialize(mx.init.Xavier())
    _perturb_batchnorm(net, rs)
    net.hybridize()
    return net, _uniform(rs, (2, 2, 6, 8, 8))


# ---- float16 (issue 11: dtypes) -----------------------------------------------------

class _Float16Net(object):
    """A Gluon net cast to float16 (net.cast("float16")), as check.py drives a
    model: export() writes its float16 graph and params; calling it gives the
    reference.  MXNet's CPU has no float16 Convolution or FullyConnected
    ("only supported by CuDNN"), so the reference is MXNet's float32 output of
    the same float16 weights and input, rounded to float16: what computing
    through float32 should give, within float16's tolerance (amber_tol)."""

    amber_tol = 1e-2

    def __init__(self, net16, ref32, x16):
        self.net, self.ref, self.x = net16, ref32, x16

    def __call__(self, x):
        return self.ref(x.astype("float32")).astype("float16")

    def export(self, prefix, epoch=0):
        # The graph without running it (the float16 forward would fail on
        # the CPU): what hybridize's first call records.
        # Parameters forget the float32 variables of the first call, so the
        # graph declares the dtypes they have now (as when a net is cast
        # before its first call).
        for p in self.net.collect_params().values():
            p._var = None
        self.net.hybridize()
        self.net._build_cache(self.x)
        self.net.export(prefix, epoch=epoch)


def _float16(build):
    def make(seed):
        net, x = build(seed)
        net(x)                   # deferred initialisation, in float32
        ref, _ = build(seed)
        ref(x)
        net.cast("float16")
        for p, q in zip(net.collect_params().values(), ref.collect_params().values()):
            q.set_data(p.data().astype("float32"))
        x16 = x.astype("float16")
        return _Float16Net(net, ref, x16), x16
    return make

MODELS = [
    ("resnet18_v1", "model-zoo ResNet-18 v1, 2x3x64x64: Convolution, BatchNorm (random stats), "
     "relu, max and global avg Pooling, residual adds, Dense",
     _zoo(vision.resnet18_v1, (2, 3, 64, 64))),
    ("resnet18_v2", "model-zoo ResNet-18 v2 (pre-activation), 2x3x64x64",
     _zoo(vision.resnet18_v2, (2, 3, 64, 64))),
    ("mobilenet0.25", "model-zoo MobileNet v1 x0.25, 2x3x64x64: depthwise convolutions (num_group)",
     _zoo(vision.mobilenet0_25, (2, 3, 64, 64))),
    ("mobilenetv2_0.25",
     "model-zoo MobileNet v2 x0.25, 2x3x64x64: inverted residuals, relu6 as clip",
     _zoo(vision.mobilenet_v2_0_25, (2, 3, 64, 64))),
    ("lstm", "gluon.rnn.LSTM (2 layers, NTC) + Dense, begin states left to Gluon", _lstm(False)),
    ("lstm_states", "gluon.rnn.LSTM (2 layers, NTC) + Dense, explicit begin states", _lstm(True)),
    ("lstm_fused_op", "the RNN op (lstm, 2 layers) with a packed parameter vector", _fused_lstm),
    ("lstmcell_unrolled", "gluon.rnn.LSTMCell unrolled 5 steps, explicit begin states",
     _unrolled(True)),
    ("lstmcell_unrolled_nostate", "gluon.rnn.LSTMCell unrolled 5 steps, begin states left to Gluon",
     _unrolled(False)),
    ("transformer", "2 pre-LN encoder layers: causal multi-head attention (Reshape codes, "
     "transpose, batch_dot, softmax, arange mask), LayerNorm, Dense, GELU and erf-GELU, Dropout",
     _transformer),
    ("cnn_bn", "Conv/BatchNorm/Pool CNN after 5 SGD steps in training mode (trained moving stats)",
     _cnn_bn),
    ("mlp", "Dense MLP (relu, tanh) on 4x3x10 (Dense flattens)", _mlp),
    ("rnn_relu_alone", "gluon.rnn.RNN (relu, 1 layer, TNC) alone, begin states left to Gluon",
     _recurrent_alone("rnn", 1, False, activation="relu")),
    ("rnn_2l_bi_alone", "gluon.rnn.RNN (tanh, 2 layers, bidirectional) alone, no begin states",
     _recurrent_alone("rnn", 2, True)),
    ("rnn_2l_bi_block", "gluon.rnn.RNN (2 layers, bidirectional, NTC) + Dense, no begin states",
     _recurrent_block("rnn", 2, True, False)),
    ("rnn_2l_bi_block_states", "the same with explicit begin states",
     _recurrent_block("rnn", 2, True, True)),
    ("gru_alone", "gluon.rnn.GRU (1 layer, TNC) alone, begin states left to Gluon",
     _recurrent_alone("gru", 1, False)),
    ("gru_2l_bi_alone", "gluon.rnn.GRU (2 layers, bidirectional) alone, no begin states",
     _recurrent_alone("gru", 2, True)),
    ("gru_block", "gluon.rnn.GRU (1 layer, NTC) + Dense, no begin states",
     _recurrent_block("gru", 1, False, False)),
    ("gru_2l_bi_block_states", "gluon.rnn.GRU (2 layers, bidirectional, NTC) + Dense, explicit "
     "begin states", _recurrent_block("gru", 2, True, True)),
    ("lstm_alone", "gluon.rnn.LSTM (1 layer, TNC) alone, begin states left to Gluon",
     _recurrent_alone("lstm", 1, False)),
    ("lstm_2l_bi_alone", "gluon.rnn.LSTM (2 layers, bidirectional) alone, no begin states",
     _recurrent_alone("lstm", 2, True)),
    ("lstm_bi_block", "gluon.rnn.LSTM (1 layer, bidirectional, NTC) + Dense, no begin states",
     _recurrent_block("lstm", 1, True, False)),
    ("lstm_bi_block_states", "the same with explicit begin states",
     _recurrent_block("lstm", 1, True, True)),
    ("grucell_unrolled_nostate", "gluon.rnn.GRUCell unrolled 5 steps, begin states left to Gluon",
     _unrolled_cell(rnn.GRUCell, False)),
    ("grucell_unrolled", "gluon.rnn.GRUCell unrolled 5 steps, explicit begin states",
     _unrolled_cell(rnn.GRUCell, True)),
    ("lstmcell_unrolled_nostate_b3", "gluon.rnn.LSTMCell unrolled 5 steps (batch 3), begin "
     "states left to Gluon", _unrolled_cell(rnn.LSTMCell, False)),
    ("conv3d", "3-D CNN on 2x2x6x8x8: Conv3D (grouped, strided), BatchNorm, MaxPool3D, "
     "Conv3DTranspose, GlobalAvgPool3D, Dense", _conv3d),
    ("cnn_bn_float16", "the cnn_bn CNN cast to float16 (Gluon net.cast: BatchNorm keeps "
     "float32 statistics), float16 input, params and output", _float16(_cnn_bn)),
    ("mlp_float16", "the Dense MLP cast to float16", _float16(_mlp)),
]

# Control flow (F.contrib.foreach / while_loop / cond): tests/mxnet/gluon_control_flow.py.
from gluon_control_flow import MODELS as _CONTROL_FLOW  # noqa: E402

MODELS += _CONTROL_FLOW
