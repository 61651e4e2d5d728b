/* The workloads the benchmarks share (tools/bench_workloads.c). */
#ifndef AMBER_TOOLS_BENCH_WORKLOADS_H
#define AMBER_TOOLS_BENCH_WORKLOADS_H

#include <amber/amber.h>

typedef enum bench_kind {
    MLP,          /* 784-256-256-10, ReLU: x (N, 784) */
    LENET,        /* LeNet-5: x (N, 1, 28, 28) */
    LSTM,         /* an LSTM cell loop of primitive ops, input 128, hidden 256: x (32, N, 128) */
    TRANSFORMER,  /* one post-norm encoder layer, d 256, 4 heads, ff 1024: x (N, 64, 256) */
    TINY,         /* one relu, for call overheads: x (1,) */
    RESNET_SMALL, /* 3 stages x 2 basic blocks, 16/32/64 channels, BatchNorm: x (N, 3, 32, 32) */
    RESNET18,     /* ResNet-18 v1: x (N, 3, 224, 224) */
} bench_kind;

/* A new, initialised block of that kind (seeded by the caller's am_seed);
 * every one ends in 10 classes but ResNet-18 (1000). */
am_block *bench_model(bench_kind kind);

#endif /* AMBER_TOOLS_BENCH_WORKLOADS_H */
