/* The operator registry: the types an op author fills in, and lookup. */
#ifndef AMBER_OP_H
#define AMBER_OP_H

/*
 * One const am_op_def per operator drives eager calls, graph shape inference,
 * gradients, both devices, memory planning and fusion.  A user op, whose
 * kernel scale_cpu is an am_kernel_fn (below) defined elsewhere.
 * Example (file scope):
 *
 *     am_status scale_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
 *                         int n_in, const am_view *out, int n_out, const am_req *req);
 *     typedef struct { double alpha; } scale_attrs;
 *     static const am_attr_field scale_fields[] = {
 *         AM_ATTR_FIELD(scale_attrs, alpha, AM_ATTR_FLOAT, "1.0", "factor"),
 *         {0}};
 *     static const am_op_def scale_op = {
 *         .name = "my_scale", .num_outputs = 1, .attrs = scale_fields,
 *         .attrs_size = sizeof(scale_attrs), .infer_shape = am_infer_shape_same,
 *         .infer_dtype = am_infer_dtype_same, .cpu = scale_cpu,
 *         .input_names = (const char *const[]){"data", NULL}, .fuse = AM_FUSE_ELEMWISE};
 *
 *     static am_array *twice(am_array *x)
 *     {
 *         am_array *y = NULL;
 *         am_op_register(&scale_op);
 *         am_invoke("my_scale", &x, 1, (const char *[]){"alpha"}, (const char *[]){"2"}, 1, &y, 1);
 *         return y;
 *     }
 */

#include "base.h"
#include "dtype.h"
#include "device.h"
#include "array.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- attributes ------------------------------------------------------ */

/* Most inputs, and most outputs, of one op call. */
#define AM_MAX_OP_IO 64

/* Longest tuple attribute (Reshape's shape may hold special values). */
#define AM_MAX_TUPLE 12

/* A tuple attribute such as "(3, 3)".  ndim -1 means None; bit i of none set
 * means entry i is None, as in slice's "(0, None)". */
typedef struct am_tuple {
    int ndim;
    unsigned none;
    int64_t v[AM_MAX_TUPLE];
} am_tuple;

#define AM_MAX_ATTR_STRING 64

/* An optional scalar: "None" or a value. */
typedef struct am_opt_int {
    bool has;
    int64_t v;
} am_opt_int;

typedef struct am_opt_float {
    bool has;
    double v;
} am_opt_float;

/* Most entries of a float tuple attribute. */
#define AM_MAX_FLOATS 16

/* A tuple of numbers such as the multi-tensor optimizers' "(0.1, 0.05)" (lrs, wds). */
typedef struct am_floats {
    int n;
    double v[AM_MAX_FLOATS];
} am_floats;

typedef enum am_attr_type {
    AM_ATTR_INT,       /* int64_t:      "3" */
    AM_ATTR_FLOAT,     /* double:       "0.5", "1e-05" */
    AM_ATTR_BOOL,      /* bool:         "True" / "False" (reads 1/0/true/false) */
    AM_ATTR_TUPLE,     /* am_tuple:     "(3, 3)", "(64,)", "()", "None" (reads [3,3], 3) */
    AM_ATTR_ENUM,      /* int: index into choices, "relu" */
    AM_ATTR_DTYPE,     /* int: am_dtype, or -1 for "None" */
    AM_ATTR_OPT_INT,   /* am_opt_int:   "None" or "3" */
    AM_ATTR_OPT_FLOAT, /* am_opt_float: "None" or "0.5" */
    AM_ATTR_STRING,    /* char[AM_MAX_ATTR_STRING]: "cpu(0)", "" */
    AM_ATTR_SHAPE,     /* am_tuple, the shape of output 0: "(2, 0, 16)"; read from a
                        * legacy MXNet graph, a 0 is AM_DIM_UNKNOWN (-1), which is
                        * written back as 0 */
    AM_ATTR_FLOATS,    /* am_floats:    "(0.1, 0.05)", "(0.1,)" (reads [0.1,0.05], 0.1) */
    AM_ATTR_TYPE_COUNT
} am_attr_type;

typedef struct am_attr_field {
    const char *name;
    am_attr_type type;
    size_t offset;               /* offsetof in the op's attribute struct */
    const char *def;             /* default as MXNet writes it; NULL = required */
    const char *const *choices;  /* AM_ATTR_ENUM: NULL-terminated spellings */
    const char *doc;
} am_attr_field;

#define AM_ATTR_FIELD(type_, member, kind, def_, doc_) \
    {#member, kind, offsetof(type_, member), def_, NULL, doc_}
#define AM_ATTR_ENUM_FIELD(type_, member, choices_, def_, doc_) \
    {#member, AM_ATTR_ENUM, offsetof(type_, member), def_, choices_, doc_}

/* ---- kernels ----------------------------------------------------------- */

/* How a kernel stores into an output, after MXNet's OpReqType. */
typedef enum am_req {
    AM_REQ_NULL,    /* skip this output */
    AM_REQ_WRITE,   /* overwrite */
    AM_REQ_INPLACE, /* overwrite; the output aliases an input */
    AM_REQ_ADD,     /* accumulate: out += result */
    AM_REQ_COUNT
} am_req;

/* A raw, borrowed view of an array for kernels: contiguous row-major;
 * strides are in elements. */
typedef struct am_view {
    void *data;
    am_dtype dtype;
    int ndim;
    int64_t dim[AM_MAX_NDIM];
    int64_t strides[AM_MAX_NDIM];
    am_device device;
} am_view;

/* What a kernel may use besides its inputs and outputs. */
typedef struct am_kernel_ctx {
    am_device device;
    bool training;        /* Dropout and BatchNorm read this */
    uint64_t *rng;        /* 4 words of xoshiro256** state, for AM_OP_RANDOM ops */
    void *workspace;      /* AM_OP_NEEDS_TEMP: temp_bytes bytes, 64-byte aligned */
    size_t workspace_bytes;
    void *stream;         /* GPU stream; NULL on the CPU */
} am_kernel_ctx;

typedef am_status (*am_kernel_fn)(const am_kernel_ctx *ctx, const void *attrs,
                                  const am_view *in, int n_in,
                                  const am_view *out, int n_out, const am_req *req);

/* ---- the op definition -------------------------------------------------- */

typedef enum am_fuse_class {
    AM_FUSE_ELEMWISE,   /* out[i] = f(in[i]) for same-shape inputs */
    AM_FUSE_BROADCAST,  /* elementwise with broadcasting */
    AM_FUSE_INJECTIVE,  /* each output element reads one input element (reshape, slice) */
    AM_FUSE_REDUCE,     /* reduces axes */
    AM_FUSE_OPAQUE,     /* anything else (GEMM, softmax, ...) */
    AM_FUSE_CLASS_COUNT
} am_fuse_class;

enum {
    AM_OP_NEEDS_TEMP = 1u << 0, /* kernel wants ctx->workspace (see temp_bytes) */
    AM_OP_RANDOM     = 1u << 1, /* draws random numbers: never folded or merged */
    AM_OP_NO_GRAD    = 1u << 2, /* not differentiable: passes no gradient */
    AM_OP_VARIADIC   = 1u << 3, /* input count from num_inputs(attrs) */
    /* A loss output (MXNet's SoftmaxOutput, MakeLoss): its gradient is the
     * training signal of a loss it defines and ignores the head gradient, so
     * it is not the derivative of the forward.  The gradcheck suite leaves
     * such ops to their own tests, which differentiate the loss instead. */
    AM_OP_LOSS       = 1u << 4,
    /* infer_shape accepts input shapes with AM_DIM_UNKNOWN dimensions and
     * reads out[] as a hint (a shape graph inference already holds, maybe
     * partial), filling what it can in both; without the flag graph
     * inference passes a partial shape as unknown (ndim -1). */
    AM_OP_PARTIAL_SHAPES = 1u << 5,
    AM_OP_SURROGATE_GRAD = 1u << 6, /* gradient by definition, not the forward's derivative
                                     * (straight-through estimators, gradient scaling): the
                                     * gradient check skips it; its tests check the values */
    /* Made by the optimizing passes (_amber_fused_*), registered with the
     * built-in ops and listed as internal; a graph a pass wrote may name one. */
    AM_OP_INTERNAL   = 1u << 7,
};

typedef struct am_inplace_pair {
    int in, out;
} am_inplace_pair;

/* What a gradient function knows besides the arrays it is given. */
typedef struct am_grad_ctx {
    const struct am_op_def *op;
    const void *attrs;      /* the forward call's parsed attributes */
    int n_in, n_out;        /* all outputs, hidden ones included */
    const bool *need_grad;  /* need_grad[i]: input i wants a gradient */
    am_site at;             /* the forward call's site */
    void *state;            /* what the recorded call kept for its gradient, or NULL */
} am_grad_ctx;

/* ---- facets: what the optimizing passes know about an op -------------------
 * Passes read facets, never op or attribute names (docs/adding-an-op.md).  An
 * op without a property leaves its facet NULL.  The algebra facet is below;
 * the algebra hooks (const_fill, is_identity, permutation) are at the end of
 * am_op_def.  Reshape chains need no facet of their own: the simplify pass
 * takes any op whose .view gives offset 0 and keeps the element count and
 * dtype for a reshape. */

/* The elementwise arithmetic an op computes. */
typedef enum am_arith {
    AM_ARITH_NONE,
    AM_ARITH_ADD,
    AM_ARITH_SUB,
    AM_ARITH_MUL,
    AM_ARITH_DIV,
} am_arith;

/* How an arithmetic op takes its operands. */
typedef enum am_operands {
    AM_OPERANDS_SAME,      /* two inputs of one shape (elemwise_add) */
    AM_OPERANDS_BROADCAST, /* two inputs with NumPy broadcasting (broadcast_add) */
    AM_OPERANDS_NARY,      /* any number of inputs of one shape (add_n) */
    AM_OPERANDS_SCALAR,    /* input 0 and a scalar from the attributes (_plus_scalar) */
} am_operands;

/* The algebra facet: out = in0 <arith> in1 (<arith> in2 ...), or in0 <arith>
 * scalar(attrs). */
typedef struct am_op_algebra {
    am_arith arith;
    am_operands operands;
    double (*scalar)(const void *attrs); /* AM_OPERANDS_SCALAR: the right operand */
} am_op_algebra;

/* The right identity element e of a: x <a> e == x (0 for ADD and SUB, 1 for
 * MUL and DIV; it is a left identity too where a commutes).  NaN, which
 * equals nothing, for AM_ARITH_NONE. */
static inline double am_arith_identity(am_arith a)
{
    return a == AM_ARITH_ADD || a == AM_ARITH_SUB ? 0.0
           : a == AM_ARITH_MUL || a == AM_ARITH_DIV ? 1.0
                                                    : __builtin_nan("");
}

/* x <a> y == y <a> x (ADD, MUL). */
static inline bool am_arith_commutes(am_arith a) { return a == AM_ARITH_ADD || a == AM_ARITH_MUL; }

/* (x <a> y) <a> z == x <a> (y <a> z) in exact arithmetic (ADD, MUL); floating
 * point rounds each step, so a pass that regroups changes the last bits. */
static inline bool am_arith_associates(am_arith a)
{
    return a == AM_ARITH_ADD || a == AM_ARITH_MUL;
}

/* The GEMM facet: out = a product of input `data` with input `weight`, plus
 * input `bias` when the attributes give one.  The passes that merge,
 * batch or extend products (epilogue, bnfold, gemm_batch, gemm_concat,
 * gemm_sum) read it; `kind` says which algebra the product follows. */
typedef enum am_gemm_kind {
    /* FullyConnected: data as a (rows, cols) matrix (flatten: the first axis
     * by the rest, else all but the last axis by the last) times weight^T,
     * weight (num_out, cols); output channels on the last axis. */
    AM_GEMM_DENSE,
    /* Convolution: weight (num_out, ...); output channels on channel_axis. */
    AM_GEMM_CONV,
    /* dot: data's last axis (first, transpose_a) with weight's first (last,
     * transpose_b); no bias, no num_out. */
    AM_GEMM_MATMUL,
    /* batch_dot: a matrix product per leading index on the last two axes. */
    AM_GEMM_BATCHED,
} am_gemm_kind;

/* The attributes a GEMM op has in common, as its facet reads and writes them
 * (fields an op lacks read as 0 / false and are ignored when written). */
typedef struct am_gemm_attrs {
    int64_t num_out;          /* output channels: num_hidden, num_filter */
    bool no_bias, flatten, transpose_a, transpose_b;
} am_gemm_attrs;

typedef struct am_gemm_facet {
    am_gemm_kind kind;
    int data, weight, bias;   /* input indices; bias -1: the op never takes one */
    /* The axis of an ndim-axis output 0 holding the output channels (one per
     * row of the weight, whose axis 0 they are); NULL: no such axis (dot). */
    int (*channel_axis)(const void *attrs, int ndim);
    void (*read)(const void *attrs, am_gemm_attrs *g);   /* required */
    /* Writes g into attrs (a copy of the op's attributes); NULL: passes
     * never change this op's attributes, so epilogue, bnfold and gemm_concat
     * leave it alone.  The epilogue pass adds a bias only where `bias` is
     * the input after the last one the op has without it. */
    void (*write)(void *attrs, const am_gemm_attrs *g);
    /* The name of the op the registry derives when it registers this one:
     * this op, then an activation applied in place over its output
     * (am_op_fused_gemm), which the epilogue pass makes.  NULL: none. */
    const char *fused;
} am_gemm_facet;

/* The activation functions the activation facet names; the fused GEMM ops'
 * act_type spells them, in this order, after AM_ACT_NONE. */
typedef enum am_act {
    AM_ACT_NONE,
    AM_ACT_RELU,
    AM_ACT_SIGMOID,
    AM_ACT_TANH,
    AM_ACT_SOFTRELU,  /* log(1 + e^x) */
    AM_ACT_SOFTSIGN,  /* x / (1 + |x|) */
    AM_ACT_LEAKY,     /* x, else slope * x */
    AM_ACT_ELU,       /* x, else slope * (e^x - 1) */
    AM_ACT_SELU,
    AM_ACT_GELU,
    AM_ACT_COUNT
} am_act;

/* The activation facet: out = act(in0), deterministic, one input, one output,
 * elementwise (in place allowed). */
typedef struct am_activation_facet {
    am_act act;               /* what the op computes; AM_ACT_NONE: `read` says */
    /* The activation these attributes compute, and its slope (leaky, elu);
     * AM_ACT_NONE when they compute none of the above (prelu, rrelu). */
    am_act (*read)(const void *attrs, double *slope);
    /* Sets attrs (holding the defaults) to compute act with slope; false when
     * the op cannot.  NULL: the op computes only `act`, with no attributes. */
    bool (*write)(void *attrs, am_act act, double slope);
} am_activation_facet;

/* What batch normalisation at inference computes, for folding it into a
 * preceding product: out = (data - moving_mean) / sqrt(moving_var + eps) *
 * gamma + beta over channel `axis` (gamma 1 with fix_gamma); outputs past
 * the first are statistics nothing at inference needs. */
typedef struct am_batchnorm_attrs {
    int64_t axis;             /* may be negative */
    double eps;
    bool fix_gamma;
} am_batchnorm_attrs;

typedef struct am_batchnorm_facet {
    int data, gamma, beta, moving_mean, moving_var; /* input indices */
    void (*read)(const void *attrs, am_batchnorm_attrs *b);
} am_batchnorm_facet;

typedef struct am_op_def {
    const char *name;                    /* MXNet's name: "FullyConnected" */
    const char *const *aliases;          /* NULL-terminated, or NULL */
    const char *const *input_names;      /* NULL-terminated: "data", "weight", "bias" */
    int (*num_inputs)(const void *attrs);     /* NULL: count of input_names */
    int num_outputs;                     /* all outputs, hidden ones included */
    int (*num_outputs_of)(const void *attrs); /* when attributes decide it; NULL: num_outputs */
    int (*num_visible)(const void *attrs);    /* outputs a caller sees; NULL: all */
    int num_aux;                         /* trailing inputs the op mutates (BatchNorm) */
    /* When set, says which inputs the op mutates (its auxiliary states) instead of
     * num_aux, for ops whose states are not the trailing inputs (an optimizer's
     * interleaved (weight, grad, mom) groups); num_aux then stays 0. */
    bool (*mutates_input)(const void *attrs, int i);
    const am_attr_field *attrs;          /* schema ending in {0}; NULL: no attributes */
    size_t attrs_size;                   /* sizeof the parsed attribute struct */
    /* Pure.  May fill unknown input shapes (ndim -1).  Reports errors with am_fail.
     * out[] holds a hint on entry (ndim -1 when none); see AM_OP_PARTIAL_SHAPES. */
    am_status (*infer_shape)(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out);
    am_status (*infer_dtype)(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out);
    /* Output 0 may share input 0's storage at this element offset (reshape,
     * first-axis slice).  Eager calls then return a view; NULL: never. */
    bool (*view)(const void *attrs, const am_shape *in, int64_t *offset);
    size_t (*temp_bytes)(const void *attrs, const am_shape *in, int n_in);
    am_kernel_fn cpu;                    /* required */
    am_kernel_fn gpu;                    /* NULL without GPU=1 */
    /* Given the forward inputs and outputs (hidden included) and the gradient
     * of every output, sets in_grad[i] for each input with g->need_grad[i]
     * (NULL: no gradient), computed with public ops only, so that the same
     * function runs eagerly, symbolically and recorded (higher order).  The
     * results belong to the current scope, as every op result does. */
    am_status (*gradient)(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                          am_array *const *out_grad, am_array **in_grad);
    const am_inplace_pair *inplace;      /* ends with {-1, -1}; NULL: never */
    am_fuse_class fuse;
    unsigned flags;
    const char *doc;                     /* one line for docs/ops.md */
    /* Bit i set: input i is read only by the gradient (a loss output's label).
     * The forward kernel never reads it, so inference may leave a variable
     * that feeds nothing else unbound: plans then pass the kernel a view
     * whose data is NULL, and am_graph_eval passes zeros. */
    unsigned grad_only_inputs;
    /* Bit (1u << t) set for each of float16, bfloat16, bool and int8
     * (AM_DTYPES_NARROW) that the kernels read and write themselves.  An op
     * without the bit computes that dtype through am_dtype_compute's (float32;
     * int32 for int8): eager calls and am_graph_eval convert its inputs and
     * outputs around the kernel, plans insert Cast nodes, and dtype inference
     * sees the compute dtype (docs/dtypes.md). */
    unsigned dtypes;
    /* Output shapes that depend on input values (_contrib_boolean_mask).  Eager calls
     * on the CPU use it, given the inputs, in place of infer_shape; infer_shape then
     * fails with a message saying so, which graph inference, plans and hybridized
     * blocks report.  NULL: infer_shape decides. */
    am_status (*value_shape)(const void *attrs, const am_view *in, int n_in, am_shape *out,
                             int n_out);
    /* Control flow (_foreach, _while_loop, _cond): the op runs this many graphs, which
     * symbol JSON gives in a node's "subgraphs".  Its attribute struct then begins with
     * am_op_subgraphs: the graphs, which a graph node holds references to; attribute
     * strings cannot give them, so such an op runs only from a graph (docs/control-flow.md).
     * 0: none. */
    int num_subgraphs;
    /* Facets the optimizing passes read (see above); NULL: none. */
    const am_op_algebra *algebra;
    /* ---- algebra hooks (the simplify pass reads them; NULL: none) ---- */
    /* Every element of output 0 holds one value known from the attributes
     * alone (_zeros, _ones, _full, zeros_like, ones_like): stores it in
     * *value and returns true; false when these attributes give none.
     * attrs is NULL for an op without attributes. */
    bool (*const_fill)(const void *attrs, double *value);
    /* Output 0 equals input 0 (shape, dtype and values) for any input, with
     * these attributes in this mode (training true: a training graph):
     * _copy; Dropout in inference or with p = 0; transpose with axes
     * (0, 1, ...).  Returns a few words saying why, which the pass log
     * prints ("Dropout with p=0"), or NULL when it is not the identity.
     * Other outputs do not matter: passes check that nothing reads them. */
    const char *(*is_identity)(const void *attrs, bool training);
    /* Output 0 is input 0, of ndim axes, with its axes permuted: output axis
     * k is input axis perm[k] (transpose, SwapAxis).  Returns false, setting
     * no error, when the attributes describe no permutation of ndim axes.
     * Chains of such ops compose into one transpose. */
    bool (*permutation)(const void *attrs, int ndim, int *perm);
    /* ---- what the GEMM-family passes read (NULL: none) ---- */
    const am_gemm_facet *gemm;
    const am_activation_facet *activation;
    const am_batchnorm_facet *batchnorm;
} am_op_def;

/* Most subgraphs of one op (_cond has 3). */
#define AM_MAX_SUBGRAPHS 4

/* The first member of the attribute struct of an op with num_subgraphs > 0. */
typedef struct am_op_subgraphs {
    struct am_graph *g[AM_MAX_SUBGRAPHS];
} am_op_subgraphs;

/* The dtypes that compute through another unless an op's .dtypes has them. */
#define AM_DTYPES_NARROW                                                             \
    ((1u << AM_DTYPE_FLOAT16) | (1u << AM_DTYPE_BFLOAT16) | (1u << AM_DTYPE_BOOL) | \
     (1u << AM_DTYPE_INT8))

/* ---- registry ----------------------------------------------------------- */

/* Adds a user op.  The definition must outlive its use (a static const).
 * AM_ERR_ARG when the name or an alias is taken or the entry lacks
 * infer_shape, infer_dtype or cpu. */
AM_API am_status am_op_register(const am_op_def *def);

/* Looks an op up by name or alias; NULL (AM_ERR_UNKNOWN_OP) when absent. */
AM_API const am_op_def *am_op_find(const char *name);

/* Built-in and registered ops, in registry order. */
AM_API int am_op_count(void);
AM_API const am_op_def *am_op_at(int i);

/* The op the registry derived from op's GEMM facet (op->gemm->fused):
 * op, then an activation in place over its output; NULL when there is none. */
AM_API const am_op_def *am_op_fused_gemm(const am_op_def *op);
/* New attributes (free()) for fused, the op am_op_fused_gemm gave for a GEMM
 * op: gemm_attrs (that op's) then act and slope.  *given (may be NULL) gets
 * the bits of the fields act and slope (for leaky and elu) set.  NULL with
 * AM_ERR_ARG when fused is not such an op or act is out of range. */
AM_API void *am_op_fused_gemm_attrs(const am_op_def *fused, const void *gemm_attrs, am_act act,
                                    double slope, uint64_t *given);

/* Number of inputs the op takes with these parsed attributes. */
AM_API int am_op_num_inputs(const am_op_def *op, const void *attrs);
/* All outputs (hidden ones included) with these parsed attributes. */
AM_API int am_op_num_outputs(const am_op_def *op, const void *attrs);
/* Outputs a caller sees with these parsed attributes. */
AM_API int am_op_num_visible(const am_op_def *op, const void *attrs);

/* Parses key/value strings into a new attribute struct (defaults for keys not
 * given).  Keys starting with "__" are ignored.  Returns NULL with
 * AM_ERR_ARG (unknown key, missing required key) or AM_ERR_FORMAT (bad value)
 * naming the op and the key.  Free with free(). */
AM_API void *am_attrs_parse(const am_op_def *op, const char *const *keys,
                            const char *const *vals, int n);

/* Fills attrs with the defaults.  AM_ERR_INTERNAL if a default does not parse. */
AM_API am_status am_attrs_init(const am_op_def *op, void *attrs);

/* Formats field f of attrs as MXNet 1.x writes it ("(3, 3)", "True") into buf. */
AM_API char *am_attr_format(const am_attr_field *f, const void *attrs, char *buf, size_t n);

/* True when field f of attrs equals its default. */
AM_API bool am_attr_is_default(const am_attr_field *f, const void *attrs);

/* True when an AM_ATTR_SHAPE field of attrs has an AM_DIM_UNKNOWN dimension
 * (a legacy MXNet graph's _zeros of shape (2, 0, 16)). */
AM_API bool am_attrs_shape_unknown(const am_op_def *op, const void *attrs);
/* Fills the unknown dimensions of attrs' AM_ATTR_SHAPE fields from shape,
 * the shape graph inference gave output 0 (the fields are that shape). */
AM_API void am_attrs_fill_shape(const am_op_def *op, void *attrs, const am_shape *shape);

/* Runs op on inputs given attribute strings.  out receives n_out new
 * references (visible outputs); returns the status. */
AM_API am_status am_invoke_at(const char *op, am_array *const *in, int n_in,
                              const char *const *keys, const char *const *vals, int n_attrs,
                              am_array **out, int n_out, am_site at);
#define am_invoke(op, in, n_in, keys, vals, n_attrs, out, n_out) \
    am_invoke_at((op), (in), (n_in), (keys), (vals), (n_attrs), (out), (n_out), AM_HERE)

/* Runs op with a parsed attribute struct (as from am_attrs_parse). */
AM_API am_status am_op_call(const am_op_def *op, const void *attrs, am_array *const *in,
                            int n_in, am_array **out, int n_out, am_site at);

/* Reports a failure from a kernel or inference function: sets the thread's
 * status and message.  Inside an op the message gets the op's name in front
 * and the caller's file:line behind.  Returns code. */
AM_API am_status am_fail(am_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Infers an op's output dtypes as every caller should (dispatch, graph
 * inference, passes): op->infer_dtype itself, except that inputs of a dtype
 * the op computes through another (see .dtypes) are shown to it as that
 * compute dtype, and outputs (and unknown inputs it fills) that follow them
 * come back in the input's dtype: float16 in, float16 out.  An output fixed by the op (argmax's
 * int index, Cast's target) keeps what the op says. */
AM_API am_status am_op_infer_dtype(const am_op_def *op, const void *attrs, am_dtype *in,
                                   int n_in, am_dtype *out, int n_out);

/* The kernel of op on device dev (op->cpu, op->gpu, or a registered
 * backend's table), or NULL when the op has none there: the one lookup
 * dispatch, plans, passes and fused ops make. */
AM_API am_kernel_fn am_op_kernel(const am_op_def *op, am_device dev);

/* Infers an op's output dtypes (am_op_infer_dtype), then its output shapes
 * (op->infer_shape), in that order: the one sequence every caller uses
 * (dispatch, tracing, graph inference, compose, the rewriter, folding,
 * node-by-node evaluation).  Input and output arrays are updated in place as
 * the two hooks do (what they leave unknown stays as the caller set it).
 * *dtypes_ok (may be NULL) says whether the dtype step succeeded, which
 * graph inference needs when the shapes are not known yet. */
AM_API am_status am_op_infer(const am_op_def *op, const void *attrs, am_shape *in_shapes,
                             am_dtype *in_dtypes, int n_in, am_shape *out_shapes,
                             am_dtype *out_dtypes, int n_out, bool *dtypes_ok);

/* ---- helpers for common op shapes --------------------------------------- */

/* Every output has input 0's shape / dtype; all inputs must agree. */
AM_API am_status am_infer_shape_same(const void *attrs, am_shape *in, int n_in,
                                     am_shape *out, int n_out);
AM_API am_status am_infer_dtype_same(const void *attrs, am_dtype *in, int n_in,
                                     am_dtype *out, int n_out);
/* The same, and that dtype must be float32 or float64: the ops whose kernels
 * are written for those two (detection, sampling, pooling, resizing, LRN,
 * attention, moments...).  The error names the op through its context. */
AM_API am_status am_infer_dtype_float_same(const void *attrs, am_dtype *in, int n_in,
                                           am_dtype *out, int n_out);

#ifdef __cplusplus
}
#endif
#endif /* AMBER_OP_H */
