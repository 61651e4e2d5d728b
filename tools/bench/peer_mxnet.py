#!/usr/bin/env python3
"""MXNet 1.9.1's side of `amber bench models` (tools/bench_models.c runs it
with the Python of `make check-mxnet`'s virtual environment).

Builds the workload named by --workload in Gluon with the shapes Amber's
uses, times inference and one training step (forward, softmax cross-entropy,
backward, SGD with momentum through gluon.Trainer) eagerly and hybridized
with static_alloc and static_shape, and prints one JSON line like
tools/bench/peer_torch.py.  Each timed call ends in wait_to_read (MXNet
runs asynchronously), so the time is the call's, not its enqueueing.
"""
import json
import resource
import os
import warnings

os.environ.setdefault("MXNET_SUBGRAPH_VERBOSE", "0")
warnings.filterwarnings("ignore")

from peer_common import Results, parse_args, timed


def main():
    a = parse_args()
    try:
        import mxnet as mx
        from mxnet import autograd, gluon, nd
        from mxnet.gluon import nn
    except Exception as e:  # noqa: BLE001 - any import failure is a reason to skip
        print(json.dumps({"peer": "mxnet", "skipped": "cannot import mxnet: %s" % e}))
        return
    mx.random.seed(0)

    class LSTMLoop(gluon.HybridBlock):
        def __init__(self):
            super().__init__()
            self.wi, self.wh, self.head = nn.Dense(1024, in_units=128), nn.Dense(1024, in_units=256), \
                nn.Dense(10, in_units=256)

        def hybrid_forward(self, F, x):
            h = F.zeros((16, 256))
            c = h
            for t in range(32):
                g = self.wi(F.slice_axis(x, axis=0, begin=t, end=t + 1).reshape((16, 128))) + self.wh(h)
                i, f, u, o = F.split(g, num_outputs=4, axis=1)
                c = F.sigmoid(f) * c + F.sigmoid(i) * F.tanh(u)
                h = F.sigmoid(o) * F.tanh(c)
            return self.head(h)

    class Encoder(gluon.HybridBlock):
        def __init__(self, d=256, heads=4, ff=1024):
            super().__init__()
            self.d, self.heads = d, heads
            self.qkv = nn.Dense(3 * d, flatten=False, in_units=d)
            self.proj = nn.Dense(d, flatten=False, in_units=d)
            self.n1, self.n2 = nn.LayerNorm(in_channels=d), nn.LayerNorm(in_channels=d)
            self.f1 = nn.Dense(ff, flatten=False, in_units=d)
            self.f2 = nn.Dense(d, flatten=False, in_units=ff)
            self.head = nn.Dense(10, in_units=d)

        def hybrid_forward(self, F, x):
            n, t, d, h = 8, 64, self.d, self.heads
            dh = d // h
            qkv = self.qkv(x)
            q, k, v = [F.reshape(F.transpose(F.reshape(p, (n, t, h, dh)), (0, 2, 1, 3)), (n * h, t, dh))
                       for p in F.split(qkv, num_outputs=3, axis=2)]
            att = F.softmax(F.batch_dot(q, k, transpose_b=True) / 8.0, axis=-1)
            ctx = F.reshape(F.transpose(F.reshape(F.batch_dot(att, v), (n, h, t, dh)), (0, 2, 1, 3)), (n, t, d))
            y = self.n1(x + self.proj(ctx))
            y = self.n2(y + self.f2(F.LeakyReLU(self.f1(y), act_type="gelu")))
            return self.head(F.mean(y, axis=1))

    class Basic(gluon.HybridBlock):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.body = nn.HybridSequential()
            self.body.add(nn.Conv2D(cout, 3, stride, 1, use_bias=False, in_channels=cin), nn.BatchNorm(),
                          nn.Activation("relu"), nn.Conv2D(cout, 3, 1, 1, use_bias=False, in_channels=cout),
                          nn.BatchNorm())
            self.down = None
            if stride != 1 or cin != cout:
                self.down = nn.HybridSequential()
                self.down.add(nn.Conv2D(cout, 1, stride, use_bias=False, in_channels=cin), nn.BatchNorm())

        def hybrid_forward(self, F, x):
            return F.relu(self.body(x) + (self.down(x) if self.down is not None else x))

    def resnet(widths, imagenet):
        net = nn.HybridSequential()
        net.add(nn.Conv2D(widths[0], 7 if imagenet else 3, 2 if imagenet else 1, 3 if imagenet else 1,
                          use_bias=False, in_channels=3), nn.BatchNorm(), nn.Activation("relu"))
        if imagenet:
            net.add(nn.MaxPool2D(3, 2, 1))
        cin = widths[0]
        for s, w in enumerate(widths):
            net.add(Basic(cin, w, 1 if s == 0 else 2), Basic(w, w, 1))
            cin = w
        net.add(nn.GlobalAvgPool2D(), nn.Dense(1000 if imagenet else 10))
        return net

    def lenet():
        net = nn.HybridSequential()
        net.add(nn.Conv2D(6, 5, padding=2, activation="relu"), nn.MaxPool2D(2),
                nn.Conv2D(16, 5, activation="relu"), nn.MaxPool2D(2),
                nn.Dense(120, activation="relu"), nn.Dense(84, activation="relu"), nn.Dense(10))
        return net

    def mlp():
        net = nn.HybridSequential()
        net.add(nn.Dense(256, activation="relu"), nn.Dense(256, activation="relu"), nn.Dense(10))
        return net

    workloads = {
        "mlp_b1": (mlp, (1, 784)), "mlp_b64": (mlp, (64, 784)),
        "lenet_b64": (lenet, (64, 1, 28, 28)), "lstm_b16": (LSTMLoop, (32, 16, 128)),
        "transformer_b8": (Encoder, (8, 64, 256)),
        "resnet_small_b32": (lambda: resnet([16, 32, 64], False), (32, 3, 32, 32)),
        "resnet18_b1": (lambda: resnet([64, 128, 256, 512], True), (1, 3, 224, 224)),
    }
    if a.workload not in workloads:
        print(json.dumps({"peer": "mxnet", "skipped": "no workload %s" % a.workload}))
        return
    make, shape = workloads[a.workload]
    x = nd.random.uniform(-1, 1, shape)
    batch = shape[1] if a.workload.startswith("lstm") else shape[0]
    label = nd.zeros((batch,))
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()

    results = Results("peer_mxnet", a)
    add = results.add

    for mode in ("gluon", "hybridized"):
        net = make()
        net.initialize(mx.init.Xavier())
        if mode == "hybridized":
            net.hybridize(static_alloc=True, static_shape=True)
        add(mode, "inference", lambda: net(x).wait_to_read())
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 1e-3, "momentum": 0.9})

        def step():
            with autograd.record():
                loss = loss_fn(net(x), label)
            loss.backward()
            trainer.step(batch)
            loss.wait_to_read()
        add(mode, "training", step)
        nd.waitall()
    one = nd.ones((1,))
    floor = timed(lambda: nd.relu(one).wait_to_read(), a.reps, a.min_s)["median_ms"] * 1e3
    print(json.dumps({"peer": "mxnet", "version": mx.__version__, "floor_us": floor,
                      "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "results": results}))


if __name__ == "__main__":
    main()
