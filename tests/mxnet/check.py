#!/usr/bin/env python3
"""`make check-mxnet`: real MXNet 1.9.1 judges Amber, in both directions.

  gluon/<model>  MXNet -> Amber: Gluon builds, hybridizes and exports each model
                 of gluon_models.MODELS; `amber run` runs the files; its output
                 must match MXNet's inference output.
  amber/<model>  Amber -> MXNet: every <name>-symbol.json, <name>-0000.params,
                 <name>-input.npy, <name>-output.npy quadruple found in the
                 --amber-exports folders is loaded by MXNet twice
                 (gluon.SymbolBlock.imports, and mx.sym.load + simple_bind)
                 and run in inference mode; both outputs must match Amber's.
  op/<case>      one op at a time: every case of the CASES lists in
                 tests/mxnet/ops_*.py is built as a one-op symbol, run by MXNet
                 (inference) and by `amber run` (plan and node by node); every
                 output must match.  Then the share of MXNet's op names that
                 Amber registers is printed (op_coverage).
  json/<folder>  every symbol file MXNet (and Amber's exporter) wrote in the
                 run is read and written back by `amber convert`: the bytes
                 must not change.

One line per model, then `N passed, N failed, N skipped`.  Exit status 1 when
anything failed.  docs/check-mxnet.md explains each model and how to add one.
"""

import argparse
import glob
import os
import re
import subprocess
import sys
import time
import warnings

import numpy as np

# MXNet's simple_bind announces its MKLDNN subgraph backend on every bind.
os.environ.setdefault("MXNET_SUBGRAPH_VERBOSE", "0")
# SymbolBlock.imports warns that it cannot infer the inputs' dtype before it
# is given them; they are float32 and given at the first call.
warnings.filterwarnings("ignore", message="Cannot decide type for the following arguments")

# The criterion: max |amber - mxnet| <= TOL * max |mxnet|, over the whole output.
TOL = 1e-4
SEED = 20240901

# Models Amber cannot run yet because of a known missing feature.  Each entry
# says why, names the open issue, and gives a regular expression that the
# failure must match: a model listed here that passes, or fails for another
# reason, counts as failed, so the list stays true.  Keys are the names
# printed (gluon/<model> or amber/<model>).
XFAIL = {
}


class Result:
    def __init__(self):
        self.passed, self.failed, self.skipped = 0, 0, 0

    def report(self, name, ok, detail, error_text="", xfail=None):
        """Prints the model's line, applying the expected-failure list (or the
        (reason, regex) given as xfail, as op cases do)."""
        xfail = xfail or XFAIL.get(name)
        if xfail is None:
            if ok:
                self.passed += 1
                print("PASS %s: %s" % (name, detail))
            else:
                self.failed += 1
                print("FAIL %s: %s" % (name, detail))
        else:
            reason, pattern = xfail
            if ok:
                self.failed += 1
                where = ("its case's xfail" if name.startswith("op/") else
                         "XFAIL in tests/mxnet/check.py and from docs/check-mxnet.md")
                print("FAIL %s: passes but is listed as an expected failure (%s); remove it from "
                      "%s: %s" % (name, reason, where, detail))
            elif re.search(pattern, error_text or detail):
                self.skipped += 1
                print("XFAIL %s: %s" % (name, reason))
            else:
                self.failed += 1
                print("FAIL %s: expected to fail with /%s/ (%s), but failed otherwise: %s"
                      % (name, pattern, reason, detail))
        sys.stdout.flush()


def compare(amber, mxnet, tol=None):
    """(ok, text): the errors measured between Amber's output and MXNet's."""
    tol = TOL if tol is None else tol
    if amber.shape != mxnet.shape:
        return False, "shape %s, but MXNet gives %s" % (amber.shape, mxnet.shape)
    if amber.dtype != mxnet.dtype:
        return False, "dtype %s, but MXNet gives %s" % (amber.dtype, mxnet.dtype)
    a, m = amber.astype(np.float64), mxnet.astype(np.float64)
    if not np.all(np.isfinite(m)):
        return False, "MXNet's output is not finite"
    if not np.all(np.isfinite(a)):
        return False, "%d of Amber's values are not finite" % int(np.sum(~np.isfinite(a)))
    if m.size == 0:
        return True, "empty output"
    err = np.abs(a - m)
    scale = float(np.abs(m).max())
    max_abs = float(err.max())
    rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else float("inf"))
    ok = max_abs <= tol * scale
    text = ("max abs err %.3g, output scale max|y| %.3g, max abs err / scale %.3g (tol %g)"
            % (max_abs, scale, rel, tol))
    if not ok:
        idx = np.unravel_index(int(err.argmax()), err.shape)
        text += "; worst at %s: Amber %.7g, MXNet %.7g" % (tuple(int(i) for i in idx),
                                                            a[idx], m[idx])
    return ok, text


def shape_text(a):
    return "x".join(str(d) for d in a.shape)


# ---- MXNet -> Amber -------------------------------------------------------------

def check_gluon(args, res, name, build):
    import mxnet as mx

    t0 = time.time()
    tag = "gluon/" + name
    out_dir = os.path.join(args.work, "gluon")
    prefix = os.path.join(out_dir, name)
    try:
        net, x = build(SEED)
        net(x)                                   # traces the graph export writes
        net.export(prefix, epoch=0)
        want = net(x).asnumpy()                  # inference mode: not under autograd.record
        mx.nd.waitall()
    except Exception as e:                      # MXNet itself failed: not Amber's fault
        res.report(tag, False, "MXNet could not build or export the model: %r" % (e,))
        return
    np.save(prefix + "-input.npy", x.asnumpy())
    np.save(prefix + "-expected.npy", want)
    t_mxnet = time.time() - t0
    # Both ways `amber run` can run a graph: the optimized plan (the default)
    # and node by node (--no-optimize, no passes); each must match MXNet.
    texts, all_ok, t1 = [], True, time.time()
    for way, flags, suffix in (("plan", [], "-amber.npy"),
                               ("node by node", ["--no-optimize"], "-amber-no-optimize.npy")):
        out = prefix + suffix
        if os.path.exists(out):
            os.remove(out)
        cmd = [args.amber, "run", prefix + "-symbol.json", prefix + "-0000.params",
               "-i", "data=" + prefix + "-input.npy", "-o", out] + flags
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            msg = p.stdout.strip().replace("\n", " | ")
            res.report(tag, False, "amber run %sexited %d: %s"
                       % ("".join(f + " " for f in flags), p.returncode, msg), msg)
            return
        ok, text = compare(np.load(out), want, getattr(net, "amber_tol", None))
        texts.append("%s: %s" % (way, text))
        all_ok = all_ok and ok
    # And as a block: am_symbol_block_import, called eagerly and hybridized;
    # the program also checks one training step's gradients both ways.
    if args.import_run:
        outs = [prefix + "-block-eager.npy", prefix + "-block-hybrid.npy"]
        for f in outs:
            if os.path.exists(f):
                os.remove(f)
        cmd = [args.import_run, prefix + "-symbol.json", prefix + "-0000.params",
               prefix + "-input.npy"] + outs
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        msg = p.stdout.strip().replace("\n", " | ")
        if p.returncode != 0:
            res.report(tag, False, "am_symbol_block_import: %s" % msg, msg)
            return
        for way, f in zip(("block eager", "block hybridized"), outs):
            ok, text = compare(np.load(f), want, getattr(net, "amber_tol", None))
            texts.append("%s: %s" % (way, text))
            all_ok = all_ok and ok
        texts.append(msg)
    res.report(tag, all_ok, "%s -> %s; %s [mxnet %.2fs, amber run %.2fs]"
               % (shape_text(x), shape_text(want), "; ".join(texts), t_mxnet, time.time() - t1))


# ---- Amber -> MXNet -------------------------------------------------------------

QUAD = ("-symbol.json", "-0000.params", "-input.npy", "-output.npy")


def find_exports(dirs):
    """(name, prefix) for every <name>-symbol.json or <name>-error.txt in dirs
    (an exporter that could not export a model leaves the error), by name."""
    found = {}
    for d in dirs:
        for suffix in ("-symbol.json", "-error.txt"):
            for path in glob.glob(os.path.join(d, "*" + suffix)):
                prefix = path[:-len(suffix)]
                found[(os.path.basename(prefix), d)] = prefix
    return [(name, prefix) for (name, _), prefix in sorted(found.items())]


def load_params(path):
    import mxnet as mx
    arg, aux = {}, {}
    for key, value in mx.nd.load(path).items():
        kind, _, name = key.partition(":")
        if kind == "arg":
            arg[name] = value
        elif kind == "aux":
            aux[name] = value
        else:
            raise ValueError("%s: parameter '%s' has neither an arg: nor an aux: prefix"
                             % (path, key))
    return arg, aux


def input_arrays(prefix, sym, arg):
    """The graph's data inputs (arguments the .params file does not hold) and
    their values: <name>-input.npy for a single input, <name>-input-<var>.npy
    for each of several."""
    names = [n for n in sym.list_arguments() if n not in arg]
    if len(names) == 1:
        return {names[0]: np.load(prefix + "-input.npy")}
    return {n: np.load("%s-input-%s.npy" % (prefix, n)) for n in names}


def run_symbolblock(prefix, inputs):
    import mxnet as mx
    names = list(inputs)
    block = mx.gluon.SymbolBlock.imports(prefix + "-symbol.json", names, prefix + "-0000.params",
                                         ctx=mx.cpu())
    out = block(*[mx.nd.array(inputs[n], dtype=inputs[n].dtype) for n in names])
    if isinstance(out, (list, tuple)):
        out = out[0]
    return out.asnumpy()


def run_bind(sym, arg, aux, inputs):
    """mx.sym.load + simple_bind: MXNet's own shape inference from the inputs'
    shapes must agree with the parameter file, and the file's arg:/aux: split
    must be the graph's."""
    import mxnet as mx
    want_args = set(sym.list_arguments()) - set(inputs)
    if set(arg) != want_args:
        raise ValueError("arg: parameters %s, but the graph's arguments are %s"
                         % (sorted(arg), sorted(want_args)))
    if set(aux) != set(sym.list_auxiliary_states()):
        raise ValueError("aux: parameters %s, but the graph's auxiliary states are %s"
                         % (sorted(aux), sorted(sym.list_auxiliary_states())))
    shapes = {n: v.shape for n, v in inputs.items()}
    types = {n: v.dtype for n, v in inputs.items()}
    exe = sym.simple_bind(mx.cpu(), grad_req="null", type_dict=types, **shapes)
    exe.copy_params_from(arg, aux, allow_extra_params=False)
    for n, v in inputs.items():
        exe.arg_dict[n][:] = v
    return exe.forward(is_train=False)[0].asnumpy()


def check_amber_export(res, name, prefix):
    import mxnet as mx
    tag = "amber/" + name
    if os.path.exists(prefix + "-error.txt"):
        with open(prefix + "-error.txt") as f:
            msg = " | ".join(line.strip() for line in f if line.strip())
        res.report(tag, False, "the exporter failed: %s" % msg, msg)
        return
    missing = [prefix + s for s in QUAD if s != "-input.npy" and not os.path.exists(prefix + s)]
    if missing:
        res.report(tag, False, "incomplete export: %s missing" % ", ".join(missing))
        return
    t0 = time.time()
    try:
        sym = mx.sym.load(prefix + "-symbol.json")
        arg, aux = load_params(prefix + "-0000.params")
        inputs = input_arrays(prefix, sym, arg)
        amber_out = np.load(prefix + "-output.npy")
    except Exception as e:
        msg = str(e).strip().split("\n")[0]
        res.report(tag, False, "cannot load the export: %s" % msg, str(e))
        return
    texts, all_ok = [], True
    for way, run in (("SymbolBlock.imports", lambda: run_symbolblock(prefix, inputs)),
                     ("sym.load+simple_bind", lambda: run_bind(sym, arg, aux, inputs))):
        try:
            mx_out = run()
        except Exception as e:
            msg = str(e).strip().split("\n")[0]
            texts.append("%s failed: %s" % (way, msg))
            all_ok = False
            continue
        ok, text = compare(amber_out, mx_out)
        texts.append("%s: %s" % (way, text))
        all_ok = all_ok and ok
    shapes = ", ".join("%s %s" % (n, shape_text(v)) for n, v in inputs.items())
    res.report(tag, all_ok, "%s -> %s; %s [%.2fs]"
               % (shapes, shape_text(amber_out), "; ".join(texts), time.time() - t0))


# ---- Module-era checkpoints (tests/mxnet/module_models.py) ---------------------------

def check_module(args, res, name, build):
    """module/<name>: MXNet's Module writes a checkpoint ending in an output op
    (SoftmaxOutput ...); `amber run` runs it with only `data` bound, the label
    left unbound as Module.predict leaves it, both ways, against MXNet."""
    tag = "module/" + name
    prefix = os.path.join(args.work, "module", name)
    try:
        x, want = build(prefix, SEED)
    except Exception as e:                      # MXNet itself failed: not Amber's fault
        res.report(tag, False, "MXNet could not build the checkpoint: %r" % (e,))
        return
    np.save(prefix + "-input.npy", x)
    texts, all_ok = [], True
    for way, flags in (("plan", []), ("node by node", ["--no-optimize"])):
        out = prefix + "-amber%s.npy" % ("-no-optimize" if flags else "")
        cmd = [args.amber, "run", prefix + "-symbol.json", prefix + "-0000.params",
               "-i", "data=" + prefix + "-input.npy", "-o", out] + flags
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            msg = p.stdout.strip().replace("\n", " | ")
            res.report(tag, False, "amber run %sexited %d: %s"
                       % ("".join(f + " " for f in flags), p.returncode, msg), msg)
            return
        ok, text = compare(np.load(out), want)
        texts.append("%s: %s" % (way, text))
        all_ok = all_ok and ok
    res.report(tag, all_ok, "%s -> %s; %s" % (shape_text(x), shape_text(want), "; ".join(texts)))


# ---- One op at a time ------------------------------------------------------------

CASE_KEYS = {"name", "op", "attrs", "inputs", "low", "high", "int_inputs", "dtypes", "tol",
             "xfail", "input_keywords", "prepare"}


def load_op_cases(here):
    """Every case of every tests/mxnet/ops_*.py, checked for its keys and a
    unique name: a list of (module file, case dict)."""
    import importlib.util
    cases, seen = [], {}
    for path in sorted(glob.glob(os.path.join(here, "ops_*.py"))):
        spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for case in getattr(mod, "CASES"):
            where = "%s: case %r" % (os.path.basename(path), case.get("name"))
            bad = set(case) - CASE_KEYS
            if bad or "name" not in case or "op" not in case or "inputs" not in case:
                raise ValueError("%s: unknown keys %s or a missing name, op or inputs"
                                 % (where, sorted(bad)))
            if case["name"] in seen:
                raise ValueError("%s: the name is taken by a case of %s"
                                 % (where, seen[case["name"]]))
            seen[case["name"]] = os.path.basename(path)
            cases.append((os.path.basename(path), case))
    return cases


def op_function(op):
    """MXNet's symbol function for an op name: mx.sym, then mx.sym._internal,
    then mx.sym.contrib (without the _contrib_ prefix), then mx.sym.linalg
    (without the _linalg_ prefix: _linalg_syevd has no other name), then mx.sym.image
    (without the _image_ prefix)."""
    import mxnet as mx
    for mod, name in ((mx.sym, op), (mx.sym._internal, op),
                      (mx.sym.contrib, op[len("_contrib_"):] if op.startswith("_contrib_") else op),
                      (mx.sym.linalg, op[len("_linalg_"):] if op.startswith("_linalg_") else op),
                      (mx.sym.image, op[len("_image_"):] if op.startswith("_image_") else op)):
        f = getattr(mod, name, None)
        if f is not None:
            return f
    raise ValueError("MXNet has no symbol function for op '%s'" % op)


def case_inputs(case, rng):
    """The case's input arrays: uniform in [low, high), or integers in
    [lo, hi) for int_inputs (stored in float32 unless dtypes says otherwise)."""
    low, high = case.get("low", -1.0), case.get("high", 1.0)
    ints, dtypes = case.get("int_inputs", {}), case.get("dtypes", {})
    arrays = []
    for i, shape in enumerate(case["inputs"]):
        if i in ints:
            lo, hi = ints[i]
            a = rng.randint(lo, hi, size=shape)
        else:
            a = rng.uniform(low, high, size=shape)
        arrays.append(np.asarray(a, dtype=dtypes.get(i, "float32")))
    return arrays


def check_op_case(args, res, case):
    import mxnet as mx
    import zlib
    # Each case's values depend on its name only, not on which cases ran before.
    rng = np.random.RandomState((SEED + zlib.crc32(case["name"].encode())) % 2**32)
    tag = "op/" + case["name"]
    xfail = case.get("xfail")
    tol = case.get("tol", TOL)
    prefix = os.path.join(args.work, "op", case["name"])
    names = ["in%d" % i for i in range(len(case["inputs"]))]
    try:
        inputs = case_inputs(case, rng)
        if case.get("prepare"):                 # into the op's domain (SPD matrices ...)
            inputs = [np.asarray(a, dtype=b.dtype) for a, b in zip(case["prepare"](inputs), inputs)]
        var = [mx.sym.var(n) for n in names]
        kw = case.get("input_keywords")        # for ops whose function takes them by name
        sym = op_function(case["op"])(*([] if kw else var), name="op0",
                                      **dict(zip(kw or [], var)), **case.get("attrs", {}))
        arg_names, aux_names = sym.list_arguments(), sym.list_auxiliary_states()
        if sorted(arg_names + aux_names) != sorted(names):
            raise ValueError("the case does not fit the op: its inputs are %s (auxiliary "
                             "states %s), but the case gives %s" % (arg_names, aux_names, names))
        given = {n: mx.nd.array(a, dtype=a.dtype) for n, a in zip(names, inputs)}
        exe = sym.bind(mx.cpu(), args={n: given[n] for n in arg_names},
                       aux_states={n: given[n] for n in aux_names}, grad_req="null")
        wants = [o.asnumpy() for o in exe.forward(is_train=False)]
        with open(prefix + "-symbol.json", "w") as f:
            f.write(sym.tojson())
    except Exception as e:                      # MXNet itself failed: the case is wrong
        lines = [l.strip() for l in str(e).strip().split("\n") if l.strip()]
        # MXNet's own errors end in the check that failed, after a traceback.
        msg = lines[-1] if lines else repr(e)
        res.report(tag, False, "MXNet could not run the case: %s" % msg, msg, xfail)
        return
    for n, a in zip(names, inputs):
        np.save("%s-%s.npy" % (prefix, n), a)
    for k, w in enumerate(wants):
        np.save("%s-expected-%d.npy" % (prefix, k), w)
    texts, all_ok = [], True
    for way, flags, suffix in (("plan", [], "amber"),
                               ("node by node", ["--no-optimize"], "amber-no-optimize")):
        outs = ["%s-%s-%d.npy" % (prefix, suffix, k) for k in range(len(wants))]
        for f in outs:
            if os.path.exists(f):
                os.remove(f)
        cmd = [args.amber, "run", prefix + "-symbol.json"]
        for n in names:
            cmd += ["-i", "%s=%s-%s.npy" % (n, prefix, n)]
        for f in outs:
            cmd += ["-o", f]
        p = subprocess.run(cmd + flags, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        if p.returncode != 0:
            msg = p.stdout.strip().replace("\n", " | ")
            res.report(tag, False, "amber run %sexited %d: %s"
                       % ("".join(f + " " for f in flags), p.returncode, msg), msg, xfail)
            return
        for k, (f, w) in enumerate(zip(outs, wants)):
            ok, text = compare(np.load(f), w, tol)
            texts.append("%s%s: %s" % (way, " output %d" % k if len(wants) > 1 else "", text))
            all_ok = all_ok and ok
    shapes = ", ".join(shape_text(a) or "()" for a in inputs)
    outs = ", ".join(shape_text(w) or "()" for w in wants)
    res.report(tag, all_ok, "%s: %s -> %s; %s" % (case["op"], shapes, outs, "; ".join(texts)),
               "; ".join(texts), xfail)


# Which of MXNet's registered op names count for the share Amber registers
# (docs/check-mxnet.md, "Op coverage"): None when the name counts, else why not.
COVERAGE_SPARSE = {"cast_storage", "_square_sum", "_contrib_SparseEmbedding", "_contrib_getnnz",
                   "_contrib_edge_id", "_scatter_elemwise_div", "_scatter_plus_scalar",
                   "_scatter_minus_scalar"}
COVERAGE_RANDOM = {"_shuffle", "shuffle", "normal", "uniform"}
COVERAGE_CUSTOM = {"Custom", "_CustomFunction", "_NDArray", "_Native"}
COVERAGE_INTERNAL = {"_CachedOp", "_CachedOpThreadSafe", "_CrossDeviceCopy", "_NoGradient"}


def coverage_exclusion(op):
    if op.startswith("_np"):
        return "numpy API"
    if re.search(r"(^|_)backward(_|$)", op):
        return "backward"
    if "quantize" in op or op.startswith("_sg_") or op == "_contrib_calibrate_entropy":
        return "quantization"
    if op.startswith(("_sparse_", "_contrib_dgl_")) or op in COVERAGE_SPARSE:
        return "sparse storage"
    if re.match(r"_?(random|sample)_", op) or op in COVERAGE_RANDOM:
        return "sampling"
    if op in COVERAGE_CUSTOM:
        return "custom"
    if op in COVERAGE_INTERNAL:
        return "runtime internal"
    return None


def op_coverage(args):
    """Prints how many of MXNet's op names (less the excluded kinds) `amber ops
    --names` lists, and writes the missing ones to <work>/op-coverage-missing.txt."""
    import mxnet as mx
    p = subprocess.run([args.amber, "ops", "--names"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        print("op coverage: amber ops --names exited %d: %s" % (p.returncode, p.stdout.strip()))
        return False
    amber = set(p.stdout.split())
    counted = sorted(o for o in mx.operator.get_all_registered_operators()
                     if coverage_exclusion(o) is None)
    missing = [o for o in counted if o not in amber]
    have = len(counted) - len(missing)
    path = os.path.join(args.work, "op-coverage-missing.txt")
    with open(path, "w") as f:
        f.write("".join(o + "\n" for o in missing))
    print("op coverage: Amber registers %d of MXNet %s's %d op names (%.1f%%; aim 95%%); "
          "the %d missing are in %s" % (have, mx.__version__, len(counted),
                                        100.0 * have / len(counted), len(missing), path))
    print("op coverage: missing: %s" % " ".join(missing))
    return True


# ---- JSON round trip: what MXNet writes, Amber writes back byte for byte -------------

def json_roundtrip_symbols(out_dir):
    """Writes symbols whose spellings Amber's canonical writer would change
    (sym.save, as Gluon's export does); returns their paths."""
    import mxnet as mx
    from mxnet.gluon import nn
    x = mx.sym.var("data")
    same = mx.sym.relu(mx.sym.relu(x, name="same"), name="same")          # duplicate names
    fc = mx.sym.FullyConnected(same, num_hidden=3, no_bias=1, flatten=0, name="fc")  # "1", "0"
    y = mx.sym.sum(fc, axis=0, keepdims=1) + 3                             # "0", scalar "3"
    y = mx.sym.Pooling(mx.sym.reshape(y, shape=(1, 1, 1, 3)), kernel=(1, 1), pool_type="max",
                       global_pool=True)                                   # node_row_ptr: 2 outputs
    paths = [os.path.join(out_dir, "spellings-symbol.json")]
    y.save(paths[0])

    class Twice(nn.HybridBlock):                                           # entry versions 1 and 2
        def __init__(self, **kw):
            super().__init__(**kw)
            self.bn = nn.BatchNorm()

        def hybrid_forward(self, F, x):
            return self.bn(self.bn(x))
    net = Twice()
    net.initialize()
    net.hybridize()
    net(mx.nd.ones((2, 3)))
    net.export(os.path.join(out_dir, "bn_twice"))
    paths.append(os.path.join(out_dir, "bn_twice-symbol.json"))
    return paths


def check_json_roundtrip(args, res, only):
    """json/<folder>: `amber convert` reads every symbol file MXNet wrote in
    this run (Gluon exports, Module checkpoints, the op cases' sym.tojson(),
    and json_roundtrip_symbols) and every Amber export of --amber-exports, and
    writes it back; the bytes must not change.
    A file Amber cannot read (an op it lacks) is counted, not judged: its own
    check reports it."""
    out_dir = os.path.join(args.work, "json")
    os.makedirs(out_dir, exist_ok=True)
    try:
        extra = json_roundtrip_symbols(out_dir)
    except Exception as e:                      # MXNet itself failed
        res.report("json/spellings", False, "MXNet could not write the symbols: %r" % (e,))
        extra = []
    folders = [("gluon", sorted(glob.glob(os.path.join(args.work, "gluon", "*-symbol.json")))),
               ("module", sorted(glob.glob(os.path.join(args.work, "module", "*-symbol.json")))),
               ("op", sorted(glob.glob(os.path.join(args.work, "op", "*-symbol.json")))),
               ("spellings", extra),
               ("amber", sorted(p for d in args.amber_exports
                                for p in glob.glob(os.path.join(d, "*-symbol.json"))))]
    for folder, files in folders:
        tag = "json/" + folder
        if only is not None and not only.search(tag) or not files:
            continue
        same, unread, diffs = 0, [], []
        for path in files:
            out = os.path.join(out_dir, folder + "-" + os.path.basename(path))
            p = subprocess.run([args.amber, "convert", path, out], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            if p.returncode != 0:
                unread.append(os.path.basename(path))
                continue
            with open(path, "rb") as f:
                a = f.read()
            with open(out, "rb") as f:
                b = f.read()
            if a == b:
                same += 1
                continue
            i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
            diffs.append("%s at byte %d: MXNet %r, Amber %r" % (os.path.basename(path), i,
                                                              a[i:i + 30], b[i:i + 30]))
        detail = "%d of %d files written back byte for byte" % (same, len(files))
        if unread:
            detail += "; %d not readable by Amber (%s)" % (len(unread), ", ".join(unread[:5]))
        if diffs:
            detail += "; differ: " + "; ".join(diffs[:3])
        res.report(tag, not diffs and same > 0, detail)


def check_image_fixtures(args, res, only):
    """Rewrites tests/fixtures/image_io (images and MXNet's _cvimdecode, _cvimresize and
    _cvcopyMakeBorder results, which tests/test_ops_image_io.c compares Amber with; MXNet's
    symbols for these ops do not compose) with this MXNet, and checks nothing changed."""
    if only is not None and not only.search("image/fixtures"):
        return
    here = os.path.dirname(os.path.abspath(__file__))
    fixtures = os.path.join(here, "..", "fixtures", "image_io")
    out = os.path.join(args.work, "image_io")
    os.makedirs(out, exist_ok=True)
    p = subprocess.run([sys.executable, os.path.join(here, "..", "fixtures",
                                                     "make_image_io_fixtures.py"), out],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    names = sorted(os.listdir(fixtures))
    differ = [n for n in names if not os.path.exists(os.path.join(out, n)) or
              open(os.path.join(out, n), "rb").read() != open(os.path.join(fixtures, n), "rb").read()]
    res.report("image/fixtures", p.returncode == 0 and not differ and len(names) > 0,
               "%d files rewritten by MXNet %s; differ: %s" % (len(names), "ran" if p.returncode == 0
                                                            else "failed: " + p.stdout[-300:],
                                                            ", ".join(differ[:5]) or "none"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--amber", default="build/amber", help="the amber command")
    ap.add_argument("--work", default="build/mxnet-check", help="scratch folder")
    ap.add_argument("--amber-exports", action="append", default=[], metavar="DIR",
                    help="a folder of Amber exports (<name>-symbol.json, -0000.params, "
                         "-input.npy, -output.npy); may be repeated")
    ap.add_argument("--import-run", default=None, metavar="PROGRAM",
                    help="tests/mxnet/import_run: also run each Gluon export as an imported "
                         "block, eagerly and hybridized")
    ap.add_argument("--only", default=None, help="a regular expression over the printed names")
    ap.add_argument("--list", action="store_true",
                    help="list the Gluon models and what each covers, and the op cases")
    args = ap.parse_args()

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    t_start = time.time()
    import mxnet as mx
    import gluon_models
    op_cases = load_op_cases(os.path.dirname(os.path.abspath(__file__)))
    if args.list:
        for name, covers, _ in gluon_models.MODELS:
            xfail = "  [XFAIL]" if "gluon/" + name in XFAIL else ""
            print("gluon/%-26s %s%s" % (name, covers, xfail))
        for path, case in op_cases:
            print("op/%-29s %s (%s)%s" % (case["name"], case["op"], path,
                                          "  [XFAIL]" if case.get("xfail") else ""))
        return 0
    print("check-mxnet: MXNet %s, NumPy %s, Python %s; pass when max|amber - mxnet| <= %g * "
          "max|mxnet output|" % (mx.__version__, np.__version__, sys.version.split()[0], TOL))
    os.makedirs(os.path.join(args.work, "gluon"), exist_ok=True)
    res = Result()
    only = re.compile(args.only) if args.only else None

    print("== MXNet -> Amber: Gluon exports run by %s run" % args.amber)
    for name, covers, build in gluon_models.MODELS:
        if only is None or only.search("gluon/" + name):
            check_gluon(args, res, name, build)

    print("== Amber -> MXNet: Amber exports in %s, loaded by SymbolBlock.imports and "
          "sym.load+simple_bind" % ", ".join(args.amber_exports or ["(none given)"]))
    exports = find_exports(args.amber_exports)
    if args.amber_exports and not exports:
        res.report("amber/*", False, "no <name>-symbol.json found in %s" % args.amber_exports)
    for name, prefix in exports:
        if only is None or only.search("amber/" + name):
            check_amber_export(res, name, prefix)

    import module_models
    print("== Module-era checkpoints (mx.mod.Module.save_checkpoint) run by %s run, data only"
          % args.amber)
    os.makedirs(os.path.join(args.work, "module"), exist_ok=True)
    for name, covers, build in module_models.MODELS:
        if only is None or only.search("module/" + name):
            check_module(args, res, name, build)

    print("== One op at a time: the cases of tests/mxnet/ops_*.py, run by MXNet and %s run"
          % args.amber)
    os.makedirs(os.path.join(args.work, "op"), exist_ok=True)
    for _, case in op_cases:
        if only is None or only.search("op/" + case["name"]):
            check_op_case(args, res, case)
    if only is None or only.search("op-coverage"):
        if not op_coverage(args):
            res.report("op-coverage", False, "amber ops --names failed")

    print("== JSON round trip: every symbol file MXNet wrote, read and written back by %s convert"
          % args.amber)
    check_json_roundtrip(args, res, only)
    check_image_fixtures(args, res, only)

    print("check-mxnet: %.1fs" % (time.time() - t_start))
    summary = "%d passed, %d failed" % (res.passed, res.failed)
    if res.skipped:
        summary += ", %d skipped" % res.skipped
    print(summary)
    return 1 if res.failed else 0


if __name__ == "__main__":
    sys.exit(main())
