/* `amber bench ops`: placeholder until the benchmark lands in this session. */
#include <stdio.h>
int am_cmd_bench(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "amber bench: not built yet\n");
    return 1;
}
