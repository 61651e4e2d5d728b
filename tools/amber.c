/* The amber command: `amber run`, `viz`, `inspect`, `convert`, `ops`, `bench`, `version`. */
#include <amber/amber.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"

static int usage(void)
{
    fprintf(stderr,
            "usage: amber COMMAND [ARGS]\n"
            "  run MODEL-symbol.json [MODEL.params] -i NAME=FILE.npy ... -o OUT.npy ...\n"
            "                     [--no-optimize] [--repeat N] [--ignore-extra]\n"
            "                     run a model on .npy inputs, write its outputs as .npy\n"
            "  viz MODEL-symbol.json [-i NAME=SHAPE ...] [--optimized] [--svg] [-o OUT]\n"
            "                     the graph as Graphviz DOT (or SVG through dot)\n"
            "  inspect MODEL-symbol.json [MODEL.params] [-i NAME=SHAPE ...] [--training]\n"
            "                     the compiled plan: passes, steps, memory\n"
            "  convert IN-symbol.json OUT-symbol.json\n"
            "                     read a symbol JSON file and write it back\n"
            "  ops [--markdown | --names]\n"
            "                     list the operator registry (--names: every name and alias)\n"
            "  bench ops          GEMM, elementwise and reduction throughput\n"
            "  bench conv         convolution forward and backward against GEMM\n"
            "  bench graph        node by node against the compiled plan\n"
            "  bench load         loading and planning chains of 10k to 1M nodes\n"
            "  version            print the version\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) return usage();
    if (strcmp(argv[1], "run") == 0) return am_cmd_run(argc - 2, argv + 2);
    if (strcmp(argv[1], "viz") == 0) return am_cmd_viz(argc - 2, argv + 2);
    if (strcmp(argv[1], "inspect") == 0) return am_cmd_inspect(argc - 2, argv + 2);
    if (strcmp(argv[1], "convert") == 0) return am_cmd_convert(argc - 2, argv + 2);
    if (strcmp(argv[1], "ops") == 0) return am_cmd_ops(argc - 2, argv + 2);
    if (strcmp(argv[1], "bench") == 0) return am_cmd_bench(argc - 2, argv + 2);
    if (strcmp(argv[1], "version") == 0) return printf("amber %s\n", AM_VERSION_STRING), 0;
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) return usage(), 0;
    fprintf(stderr, "amber: unknown command '%s'\n", argv[1]);
    return usage();
}
