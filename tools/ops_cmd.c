/* `amber ops [--markdown | --names]`: prints the operator registry; --names
 * prints every name an op answers to (its name, then its aliases), one a
 * line, for scripts such as tests/mxnet/check.py. */
#include "../ndarray/ndarray_impl.h"

static void print_names(FILE *f)
{
    for (int i = 0; i < am_op_count(); i++) {
        const am_op_def *op = am_op_at(i);
        fprintf(f, "%s\n", op->name);
        for (const char *const *a = op->aliases; a && *a; a++) fprintf(f, "%s\n", *a);
    }
}

int am_cmd_ops(int argc, char **argv)
{
    bool md = argc > 0 && strcmp(argv[0], "--markdown") == 0;
    bool names = argc > 0 && strcmp(argv[0], "--names") == 0;
    if (argc > (md || names ? 1 : 0)) {
        fprintf(stderr, "amber ops: unknown option '%s'\n", argv[md || names ? 1 : 0]);
        return 2;
    }
    if (names) print_names(stdout);
    else am_ops_print(stdout, md);
    return 0;
}
