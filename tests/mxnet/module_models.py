"""Module-era checkpoints for `make check-mxnet` (category module/<name>).

Each entry of MODELS is (name, what it covers, build).  build(prefix, seed)
makes a symbol ending in a Module-era output op, binds it in an
mx.mod.Module for inference (data only: no label, as Module.predict does),
initializes its parameters with the seed, writes the checkpoint with
Module.save_checkpoint (prefix-symbol.json, prefix-0000.params), and returns
(input, MXNet's output).  check.py then runs `amber run` on the checkpoint with
only `data` bound: the label variable stays unbound, as in MXNet.
"""

import warnings

import numpy as np

# Module.bind warns that no label shape is given: inference binds none, on purpose.
warnings.filterwarnings("ignore", message="Data provided by label_shapes")


def _module(sym, prefix, seed, data_shape, low=-1.0, high=1.0):
    import mxnet as mx
    mx.random.seed(seed)
    rng = np.random.RandomState(seed)
    labels = [n for n in sym.list_arguments() if n.endswith("_label")]
    mod = mx.mod.Module(sym, data_names=["data"], label_names=labels, context=mx.cpu())
    mod.bind(data_shapes=[("data", data_shape)], for_training=False)
    mod.init_params(initializer=mx.init.Xavier(magnitude=2.0))
    # Biases start at zero; give them values so that a dropped bias shows.
    args, auxs = mod.get_params()
    for name in args:
        if name.endswith("_bias"):
            args[name] = mx.nd.array(rng.uniform(-0.5, 0.5, args[name].shape))
    mod.set_params(args, auxs)
    mod.save_checkpoint(prefix, 0)
    x = rng.uniform(low, high, data_shape).astype("float32")
    mod.forward(mx.io.DataBatch([mx.nd.array(x)]), is_train=False)
    return x, mod.get_outputs()[0].asnumpy()


def mlp_softmax(prefix, seed):
    import mxnet as mx
    net = mx.sym.var("data")
    net = mx.sym.FullyConnected(net, num_hidden=32, name="fc1")
    net = mx.sym.Activation(net, act_type="relu", name="relu1")
    net = mx.sym.FullyConnected(net, num_hidden=10, name="fc2")
    net = mx.sym.SoftmaxOutput(net, name="softmax")
    return _module(net, prefix, seed, (8, 20))


def mlp_linear_regression(prefix, seed):
    import mxnet as mx
    net = mx.sym.var("data")
    net = mx.sym.FullyConnected(net, num_hidden=16, name="fc1")
    net = mx.sym.Activation(net, act_type="tanh", name="tanh1")
    net = mx.sym.FullyConnected(net, num_hidden=1, name="fc2")
    net = mx.sym.LinearRegressionOutput(net, name="lro")
    return _module(net, prefix, seed, (6, 12))


def cnn_softmax_multi_output(prefix, seed):
    import mxnet as mx
    net = mx.sym.var("data")
    net = mx.sym.Convolution(net, num_filter=8, kernel=(3, 3), pad=(1, 1), name="conv1")
    net = mx.sym.Activation(net, act_type="relu", name="relu1")
    net = mx.sym.Convolution(net, num_filter=5, kernel=(1, 1), name="score")
    net = mx.sym.SoftmaxOutput(net, multi_output=True, use_ignore=True, ignore_label=255,
                               normalization="valid", name="softmax")
    return _module(net, prefix, seed, (2, 3, 6, 6))


def mlp_logistic(prefix, seed):
    import mxnet as mx
    net = mx.sym.var("data")
    net = mx.sym.FullyConnected(net, num_hidden=6, name="fc1")
    net = mx.sym.SoftmaxActivation(net, name="sact")
    net = mx.sym.FullyConnected(net, num_hidden=4, name="fc2")
    net = mx.sym.LogisticRegressionOutput(net, name="logistic")
    return _module(net, prefix, seed, (5, 7))


MODELS = [
    ("mlp_softmax", "FullyConnected, relu, SoftmaxOutput: the classic Module MLP",
     mlp_softmax),
    ("mlp_linear_regression", "FullyConnected, tanh, LinearRegressionOutput (label (n,))",
     mlp_linear_regression),
    ("cnn_softmax_multi_output", "Convolution, SoftmaxOutput multi_output with "
     "use_ignore/normalization=valid (segmentation style)", cnn_softmax_multi_output),
    ("mlp_logistic", "FullyConnected, SoftmaxActivation, LogisticRegressionOutput (multi-label)",
     mlp_logistic),
]
