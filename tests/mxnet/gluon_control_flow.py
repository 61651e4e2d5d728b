"""Gluon models using F.contrib.foreach, while_loop and cond (MXNet's _foreach,
_while_loop and _cond with their subgraphs), listed as gluon_models.MODELS lists
models: (name, what it covers, build); gluon_models.py appends MODELS.

_while_loop leaves the rows of its stacked outputs after the last step undefined
in MXNet (Amber writes zeros), so a model compares them only when the loop runs
all max_iterations steps.
"""

import mxnet as mx
import numpy as np
from mxnet import gluon, nd
from mxnet.gluon import rnn


def _seed(seed):
    mx.random.seed(seed)
    np.random.seed(seed)
    return np.random.RandomState(seed)


def _uniform(rs, shape, lo=-1.0, hi=1.0):
    return nd.array(rs.uniform(lo, hi, size=shape).astype(np.float32))


class ForeachCell(gluon.HybridBlock):
    """An RNN cell stepped over the first (time) axis by foreach; returns every step's
    output followed by the last state, concatenated on the time axis."""

    def __init__(self, cell, batch, hidden, **kw):
        super().__init__(**kw)
        self.batch, self.hidden = batch, hidden
        with self.name_scope():
            self.cell = cell(hidden, input_size=8)

    def hybrid_forward(self, F, x):
        begin = [F.ones((self.batch, self.hidden)) * 0.1
                 for _ in self.cell.state_info(self.batch)]
        out, states = F.contrib.foreach(lambda d, s: self.cell(d, s), x, begin)
        return F.concat(out, F.expand_dims(states[0], axis=0), dim=0)


def _foreach_cell(cell):
    def build(seed):
        rs = _seed(seed)
        net = ForeachCell(cell, 3, 16)
        net.initialize(mx.init.Uniform(0.3))
        net.hybridize()
        return net, _uniform(rs, (5, 3, 8))
    return build


class WhileGrow(gluon.HybridBlock):
    """s <- 1.5 s + 0.1 from s = x * w while sum|s| < 20 (at most 12 steps): how many
    steps run depends on the data.  Returns the last s plus the step count."""

    def __init__(self, **kw):
        super().__init__(**kw)
        with self.name_scope():
            self.w = self.params.get("w", shape=(4,), init=mx.init.Uniform(1.0))

    def hybrid_forward(self, F, x, w):
        x = F.broadcast_mul(x, w)

        def cond(s, i):
            return F.sum(F.abs(s)) < 20

        def func(s, i):
            return s * 2, [s * 1.5 + 0.1, i + 1]

        zero = F.sum(x, axis=(0, 1), keepdims=True) * 0
        _, (s, i) = F.contrib.while_loop(cond, func, [x, zero], max_iterations=12)
        return F.broadcast_add(s, i)


class WhileFull(gluon.HybridBlock):
    """A while_loop that runs all its 4 steps: the stacked outputs are all defined."""

    def __init__(self, **kw):
        super().__init__(**kw)
        with self.name_scope():
            self.dense = gluon.nn.Dense(4, in_units=4, flatten=False)

    def hybrid_forward(self, F, x):
        def cond(s, i):
            return F.sum(i) < 100

        def func(s, i):
            h = F.tanh(self.dense(s))
            return [h, s], [h, i + 1]

        zero = F.sum(x, axis=(0, 1), keepdims=True) * 0
        (hs, ss), _ = F.contrib.while_loop(cond, func, [x, zero], max_iterations=4)
        return hs + ss


class CondValue(gluon.HybridBlock):
    """cond on sum(x) > 0, each branch with a Dense layer of its own."""

    def __init__(self, **kw):
        super().__init__(**kw)
        with self.name_scope():
            self.a = gluon.nn.Dense(6, in_units=5)
            self.b = gluon.nn.Dense(6, in_units=5)

    def hybrid_forward(self, F, x):
        return F.contrib.cond(F.sum(x) > 0, lambda: F.relu(self.a(x)),
                              lambda: F.broadcast_add(self.b(x) * 0.5,
                                                        F.sum(x, axis=(0, 1), keepdims=True)))


class CondForeach(gluon.HybridBlock):
    """A foreach nested in a cond branch: if sum(x) > 0, the running sum of w * x over the
    first axis, else -x.  (MXNet 1.9.1 cannot infer shapes of a cond nested in a
    foreach body, so the nesting goes this way.)"""

    def __init__(self, **kw):
        super().__init__(**kw)
        with self.name_scope():
            self.w = self.params.get("w", shape=(4,), init=mx.init.Uniform(1.0))

    def hybrid_forward(self, F, x, w):
        def step(d, states):
            s = states[0] + F.broadcast_mul(d, w)
            return s, [s]

        def run():
            out, _ = F.contrib.foreach(step, x, [F.zeros((3, 4))])
            return out

        return F.contrib.cond(F.sum(x) > 0, run, lambda: F.broadcast_mul(x, -w))


def _plain(block, shape, lo=-1.0, hi=1.0):
    def build(seed):
        rs = _seed(seed)
        net = block()
        net.initialize(mx.init.Uniform(0.5))
        net.hybridize()
        return net, _uniform(rs, shape, lo, hi)
    return build


MODELS = [
    ("foreach_lstmcell", "F.contrib.foreach stepping an LSTMCell over 5 steps (_foreach, "
     "parameters as free inputs of the body)", _foreach_cell(rnn.LSTMCell)),
    ("foreach_grucell", "F.contrib.foreach stepping a GRUCell over 5 steps",
     _foreach_cell(rnn.GRUCell)),
    ("while_loop_stop", "F.contrib.while_loop whose stop depends on the data (_while_loop, "
     "final loop variables)", _plain(WhileGrow, (2, 4))),
    ("while_loop_full", "F.contrib.while_loop running all max_iterations steps: stacked "
     "outputs, a Dense in func", _plain(WhileFull, (3, 4))),
    ("cond_then", "F.contrib.cond on a value, then branch taken (_cond, Dense per branch)",
     _plain(CondValue, (2, 5), 0.0, 1.0)),
    ("cond_else", "F.contrib.cond on a value, else branch taken", _plain(CondValue, (2, 5), -1.0, 0.0)),
    ("cond_foreach", "a _foreach nested in a _cond branch (subgraphs in subgraphs)",
     _plain(CondForeach, (6, 3, 4), 0.0, 1.0)),
]
