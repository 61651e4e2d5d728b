/* The amber command: `amber ops [--markdown]`, `amber bench ops`. */
#include <amber/amber.h>
#include <stdio.h>
#include <string.h>

int am_cmd_ops(int argc, char **argv);
int am_cmd_bench(int argc, char **argv);

static int usage(void)
{
    fprintf(stderr,
            "usage: amber COMMAND [ARGS]\n"
            "  ops [--markdown]   list the operator registry\n"
            "  bench ops          GEMM, elementwise and reduction throughput\n"
            "  bench conv         convolution forward and backward against GEMM\n"
            "  version            print the version\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) return usage();
    if (strcmp(argv[1], "ops") == 0) return am_cmd_ops(argc - 2, argv + 2);
    if (strcmp(argv[1], "bench") == 0) return am_cmd_bench(argc - 2, argv + 2);
    if (strcmp(argv[1], "version") == 0) return printf("amber %s\n", AM_VERSION_STRING), 0;
    fprintf(stderr, "amber: unknown command '%s'\n", argv[1]);
    return usage();
}
