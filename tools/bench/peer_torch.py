#!/usr/bin/env python3
"""PyTorch's side of `amber bench models` (tools/bench_models.c runs it).

Builds the workload named by --workload with the shapes Amber's uses, times
inference and one training step (forward, softmax cross-entropy, backward,
SGD with momentum) in eager mode, under torch.jit.trace, and (inference
only) traced, frozen and optimize_for_inference'd, and prints one JSON line:
{"peer": "pytorch", "version": ..., "floor_us": ..., "results": [{"mode",
"phase", "median_ms", "min_ms", "max_ms"}, ...]} or {"peer": "pytorch",
"skipped": reason}.  Times are taken here, in Python, as a user of PyTorch
would see them; floor_us is a one-element relu, the cost of a call.
"""
import json
import resource

from peer_common import Results, parse_args, timed


def main():
    a = parse_args()
    try:
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
    except Exception as e:  # noqa: BLE001 - any import failure is a reason to skip
        print(json.dumps({"peer": "pytorch", "skipped": "cannot import torch: %s" % e}))
        return
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)

    class LSTMLoop(nn.Module):
        def __init__(self):
            super().__init__()
            self.wi, self.wh, self.head = nn.Linear(128, 1024), nn.Linear(256, 1024), nn.Linear(256, 10)

        def forward(self, x):
            h = torch.zeros(x.shape[1], 256)
            c = h
            for t in range(x.shape[0]):
                g = self.wi(x[t]) + self.wh(h)
                i, f, u, o = g.chunk(4, 1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(u)
                h = torch.sigmoid(o) * torch.tanh(c)
            return self.head(h)

    class Encoder(nn.Module):
        def __init__(self, d=256, heads=4, ff=1024):
            super().__init__()
            self.d, self.heads = d, heads
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.f1, self.f2, self.head = nn.Linear(d, ff), nn.Linear(ff, d), nn.Linear(d, 10)

        def forward(self, x):
            n, t, d = x.shape
            h, dh = self.heads, d // self.heads
            q, k, v = [p.reshape(n, t, h, dh).transpose(1, 2) for p in self.qkv(x).chunk(3, -1)]
            att = torch.softmax(q @ k.transpose(-1, -2) / 8.0, -1)
            ctx = (att @ v).transpose(1, 2).reshape(n, t, d)
            y = self.n1(x + self.proj(ctx))
            y = self.n2(y + self.f2(F.gelu(self.f1(y))))
            return self.head(y.mean(1))

    class Basic(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                                      nn.ReLU(), nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                                      nn.BatchNorm2d(cout))
            self.down = None
            if stride != 1 or cin != cout:
                self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            return torch.relu(self.body(x) + (self.down(x) if self.down is not None else x))

    def resnet(widths, imagenet):
        layers = [nn.Conv2d(3, widths[0], 7 if imagenet else 3, 2 if imagenet else 1,
                            3 if imagenet else 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU()]
        if imagenet:
            layers.append(nn.MaxPool2d(3, 2, 1))
        cin = widths[0]
        for s, w in enumerate(widths):
            layers += [Basic(cin, w, 1 if s == 0 else 2), Basic(w, w, 1)]
            cin = w
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 1000 if imagenet else 10)]
        return nn.Sequential(*layers)

    def lenet():
        return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                             nn.Linear(84, 10))

    def mlp():
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                             nn.Linear(256, 10))

    workloads = {
        "mlp_b1": (mlp, (1, 784)), "mlp_b64": (mlp, (64, 784)),
        "lenet_b64": (lenet, (64, 1, 28, 28)), "lstm_b16": (LSTMLoop, (32, 16, 128)),
        "transformer_b8": (Encoder, (8, 64, 256)),
        "resnet_small_b32": (lambda: resnet([16, 32, 64], False), (32, 3, 32, 32)),
        "resnet18_b1": (lambda: resnet([64, 128, 256, 512], True), (1, 3, 224, 224)),
    }
    if a.workload not in workloads:
        print(json.dumps({"peer": "pytorch", "skipped": "no workload %s" % a.workload}))
        return
    make, shape = workloads[a.workload]
    x = torch.rand(shape) * 2 - 1
    batch = shape[1] if a.workload.startswith("lstm") else shape[0]
    label = torch.zeros(batch, dtype=torch.long)

    results = Results("peer_torch", a)
    add = results.add

    def train_fn(model, fwd):
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

        def step():
            opt.zero_grad()
            F.cross_entropy(fwd(x), label).backward()
            opt.step()
        return step

    model = make().eval()
    with torch.no_grad():
        add("eager", "inference", lambda: model(x))
        traced = torch.jit.trace(model, x)
        add("jit.trace", "inference", lambda: traced(x))
        frozen = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(make().eval(), x)))
        add("trace+freeze", "inference", lambda: frozen(x))
    model = make().train()
    add("eager", "training", train_fn(model, model))
    model = make().train()
    traced = torch.jit.trace(model, x)
    add("jit.trace", "training", train_fn(model, traced))
    one = torch.ones(1)
    with torch.no_grad():
        floor = timed(lambda: torch.relu(one), a.reps, a.min_s)["median_ms"] * 1e3
    print(json.dumps({"peer": "pytorch", "version": torch.__version__, "floor_us": floor,
                      "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "results": results}))


if __name__ == "__main__":
    main()
