/* `amber convert IN-symbol.json OUT-symbol.json`: reads a symbol JSON file
 * and writes it back with am_graph_save.  A file Amber only reads and writes
 * comes out as it went in, byte for byte (docs/formats/symbol-json.md), so
 * this is how to check that Amber understands a file, and what
 * `make check-mxnet` does to every file MXNet writes there. */
#include "commands.h"

static const char *const usage_line = "usage: amber convert IN-symbol.json OUT-symbol.json";

int am_cmd_convert(int argc, char **argv)
{
    if (argc != 2)
        return am_cmd_usage_error("convert", usage_line, "%s",
                                  argc < 2 ? "too few arguments" : "too many arguments");
    am_graph *g = am_graph_load(argv[0]);
    if (!g) return am_cmd_fail_last("convert");
    am_status st = am_graph_save(g, argv[1]);
    am_graph_release(g);
    return st == AM_OK ? 0 : am_cmd_fail_last("convert");
}
