/* Shared by the control-flow ops (control_flow.c) and their gradients
 * (control_flow_grad.c): the attribute structs and the checks of their locations. */
#ifndef AMBER_CONTROL_FLOW_IMPL_H
#define AMBER_CONTROL_FLOW_IMPL_H

#include "../symbol/symbol_impl.h"
#include "../ndarray/ops/shape_impl.h"

typedef struct foreach_attrs {
    am_op_subgraphs sg; /* body */
    int64_t num_args, num_outputs, num_out_data;
    am_tuple in_state_locs, in_data_locs, remain_locs;
} foreach_attrs;

typedef struct while_attrs {
    am_op_subgraphs sg; /* cond, func */
    int64_t num_args, num_outputs, num_out_data, max_iterations;
    am_tuple cond_input_locs, func_input_locs, func_var_locs;
} while_attrs;

typedef struct cond_attrs {
    am_op_subgraphs sg; /* cond, then, else */
    int64_t num_args, num_outputs;
    am_tuple cond_input_locs, then_input_locs, else_input_locs;
} cond_attrs;

/* Attribute checks against the subgraphs (*nd, *ns: foreach's data inputs and states). */
am_status am_cf_foreach_check(const foreach_attrs *a, int n_in, int *nd, int *ns);
am_status am_cf_while_check(const while_attrs *a, int n_in);
am_status am_cf_cond_check(const cond_attrs *a, int n_in);
/* The body input that foreach's input i feeds. */
int am_cf_foreach_loc(const foreach_attrs *a, int nd, int ns, int i);
/* The op input that while_loop's loop variable v lives in. */
int am_cf_while_var(const while_attrs *a, int v);
/* cond's input locations of subgraph k (0 cond, 1 then, 2 else), and the subgraphs' names. */
const am_tuple *am_cf_cond_locs(const cond_attrs *a, int k);
extern const char *const am_cf_cond_names[];
/* Whether the one-element predicate p (what names its subgraph) is non-zero. */
am_status am_cf_truth(am_array *p, const char *what, bool *yes);
extern const am_op_def am_op_while_loop, am_op_cond;
extern const am_attr_field am_cf_while_fields[], am_cf_cond_fields[];
extern const am_op_def am_op_backward_while_loop, am_op_backward_cond;

/* The gradient of the three ops (control_flow_grad.c). */
am_status am_cf_gradient(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                         am_array *const *out_grad, am_array **in_grad);

#endif /* AMBER_CONTROL_FLOW_IMPL_H */
