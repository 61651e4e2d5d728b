/* `amber ops [--markdown]`: prints the operator registry. */
#include "../ndarray/ndarray_impl.h"

int am_cmd_ops(int argc, char **argv)
{
    bool md = argc > 0 && strcmp(argv[0], "--markdown") == 0;
    if (argc > (md ? 1 : 0)) {
        fprintf(stderr, "amber ops: unknown option '%s'\n", argv[md ? 1 : 0]);
        return 2;
    }
    am_ops_print(stdout, md);
    return 0;
}
