/* Dead-code elimination.  Graphs are built from their heads, so a graph
 * holds only the nodes its heads reach; what can die is what a rewrite left
 * unreferenced without rebuilding (or a hand-built graph).  The pass rebuilds
 * the graph from its heads, keeping names, and reports how many nodes went. */
#include "executor_impl.h"

am_graph *am_pass_dce(am_graph *g, am_pass_ctx *ctx)
{
    am_graph *out = am_graph_from_heads_named(g->heads, g->n_heads, g);
    if (!out) return NULL;
    if (out->n_nodes == g->n_nodes) {
        am_graph_release(out);
        return am_graph_retain(g);
    }
    ctx->changes += g->n_nodes - out->n_nodes;
    am_pass_log(ctx, "removed %d unreachable node%s", g->n_nodes - out->n_nodes,
                g->n_nodes - out->n_nodes == 1 ? "" : "s");
    return out;
}
