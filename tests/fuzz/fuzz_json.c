/* libFuzzer target for the symbol JSON reader: any input either loads or
 * fails with a message, never crashes; what loads writes back, and that text
 * loads again and writes the same bytes.  `make fuzz` builds and runs it. */
#include <amber/amber.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "fuzz_json: check failed: %s (%s)\n", #cond, am_last_error()); \
            abort();                                                                   \
        }                                                                              \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    am_clear_error();
    am_graph *g = am_graph_from_json(text);
    free(text);
    if (!g) {
        /* a failure always says why */
        CHECK(am_last_status() != AM_OK && am_last_error()[0] != '\0');
        return 0;
    }
    char *a = am_graph_to_json(g);
    CHECK(a != NULL);
    am_graph *h = am_graph_from_json(a);
    CHECK(h != NULL);
    CHECK(am_graph_num_nodes(h) == am_graph_num_nodes(g));
    char *b = am_graph_to_json(h);
    CHECK(b != NULL && strcmp(a, b) == 0);
    free(a);
    free(b);
    am_graph_release(h);
    am_graph_release(g);
    return 0;
}
