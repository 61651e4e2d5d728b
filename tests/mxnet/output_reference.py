#!/usr/bin/env python3
"""Prints the MXNet 1.9.1 numbers at the top of tests/test_ops_output.c: for
each case, the inputs, the output and data's gradient after an executor
backward (whose head gradient the loss ops ignore).

    build/mxnet-venv/bin/python tests/mxnet/output_reference.py
"""
import mxnet as mx
import numpy as np


def mxrun(sym, args, og=None):
    ex = sym.simple_bind(mx.cpu(), grad_req="write", **{k: v.shape for k, v in args.items()})
    for k, v in args.items():
        ex.arg_dict[k][:] = v
    y = ex.forward(is_train=True)[0].asnumpy()
    ex.backward(mx.nd.array(og) if og is not None else None)
    return y, {k: ex.grad_dict[k].asnumpy() for k in args}


rs=np.random.RandomState(11)
def r(*s): return np.round(rs.uniform(-2,2,s),3).astype('f')
def fmt(name,a):
    v=", ".join("%.7g"%x for x in np.asarray(a,dtype='f8').ravel())
    return "static const double %s[] = {%s};"%(name,v)
out=[]
def case(tag, opname, kw, x, lab, og=None):
    args={'data':x}
    sym_in=[mx.sym.var('data')]
    if lab is not None: args['label']=lab; sym_in.append(mx.sym.var('label'))
    sym=getattr(mx.sym,opname)(*sym_in,**kw)
    y,g=mxrun(sym,args,og)
    out.append("/* %s %s */"%(opname,kw))
    out.append(fmt(tag+"_x",x))
    if lab is not None: out.append(fmt(tag+"_label",lab))
    if og is not None: out.append(fmt(tag+"_og",og))
    out.append(fmt(tag+"_y",y)); out.append(fmt(tag+"_grad",g['data']))
case("so", "SoftmaxOutput", dict(grad_scale=0.5,use_ignore=True,ignore_label=3,normalization='valid'), r(4,5), np.array([0,3,4,1],'f'))
case("sos", "SoftmaxOutput", dict(smooth_alpha=0.2,out_grad=True,normalization='batch'), r(3,4), np.array([2,0,7],'f'))
case("som", "SoftmaxOutput", dict(multi_output=True), r(2,3,4), np.array([[0,1,2,1],[2,2,0,1]],'f'))
case("sop", "SoftmaxOutput", dict(preserve_shape=True, grad_scale=3.0), r(2,2,3), np.array([[0,1],[2,2]],'f'))
case("lin", "LinearRegressionOutput", dict(grad_scale=0.7), r(3,2), r(3,2))
case("logi", "LogisticRegressionOutput", dict(), r(4,1), np.array([1,0,1,0],'f'))
case("mae", "MAERegressionOutput", dict(grad_scale=2.0), r(2,3), r(2,3))
case("svm2", "SVMOutput", dict(margin=0.8, regularization_coefficient=1.5), r(3,4), np.array([0,3,1],'f'))
case("svm1", "SVMOutput", dict(use_linear=True), r(3,4), np.array([2,2,0],'f'))
case("ml", "MakeLoss", dict(normalization='valid', valid_thresh=0.5, grad_scale=2.0), r(3,4), None)
case("sac", "SoftmaxActivation", dict(mode='channel'), r(2,3,2), None, r(2,3,2))
case("sai", "SoftmaxActivation", dict(), r(3,4), None, r(3,4))
print("\n".join(out))
