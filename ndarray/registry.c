/* The operator registry: the built-in table generated from ops/op_list.h,
 * user-registered ops, lookup by name or alias, and a start-up self-check. */
#include "ndarray_impl.h"

#include <pthread.h>

#define AM_OP(n) extern const am_op_def am_op_##n;
#include "ops/op_list.h"
#undef AM_OP

static const am_op_def *const builtin[] = {
#define AM_OP(n) &am_op_##n,
#include "ops/op_list.h"
#undef AM_OP
};

enum {
    BUILTIN_COUNT = 0
#define AM_OP(n) +1
#include "ops/op_list.h"
#undef AM_OP
};
_Static_assert(sizeof(builtin) / sizeof(builtin[0]) == BUILTIN_COUNT,
               "the registry table and op_list.h disagree");

static pthread_mutex_t user_lock = PTHREAD_MUTEX_INITIALIZER;
static const am_op_def **user_ops;
static int n_user, cap_user;

static bool name_matches(const am_op_def *op, const char *name)
{
    if (strcmp(op->name, name) == 0) return true;
    for (const char *const *a = op->aliases; a && *a; a++)
        if (strcmp(*a, name) == 0) return true;
    return false;
}

static const am_op_def *find_unlocked(const char *name)
{
    for (int i = 0; i < BUILTIN_COUNT; i++)
        if (name_matches(builtin[i], name)) return builtin[i];
    for (int i = 0; i < n_user; i++)
        if (name_matches(user_ops[i], name)) return user_ops[i];
    return NULL;
}

/* What every entry must have; returns a reason or NULL. */
static const char *entry_problem(const am_op_def *op)
{
    if (!op->name || !op->name[0]) return "has no name";
    if (!op->infer_shape) return "has no infer_shape";
    if (!op->infer_dtype) return "has no infer_dtype";
    if (!op->cpu) return "has no CPU kernel";
    if (op->num_outputs < 1 && !op->num_outputs_of) return "has no outputs";
    if (!op->num_inputs && !op->input_names) return "has neither input_names nor num_inputs";
    if (op->attrs && !op->attrs_size) return "has attributes but attrs_size 0";
    int nf = 0;
    for (const am_attr_field *f = op->attrs; f && f->name; f++, nf++)
        if (f->type == AM_ATTR_ENUM && !f->choices) return "has an enum attribute without choices";
    if (nf >= 64) return "has 64 or more attributes";
    if (op->gemm && (!op->gemm->read || op->gemm->data < 0 || op->gemm->weight < 0))
        return "has a GEMM facet without read, data or weight";
    if (op->activation && op->activation->act == AM_ACT_NONE && !op->activation->read)
        return "has an activation facet that names no activation and cannot read one";
    if (op->batchnorm && !op->batchnorm->read) return "has a batchnorm facet without read";
    return NULL;
}

static void self_check(void)
{
    for (int i = 0; i < BUILTIN_COUNT; i++) {
        const am_op_def *op = builtin[i];
        const char *why = entry_problem(op);
        if (why) {
            fprintf(stderr, "amber: registry entry %s %s\n", op->name ? op->name : "?", why);
            AM_ASSERT(!"broken registry entry");
        }
        for (int j = 0; j < i; j++) {
            if (name_matches(builtin[j], op->name))
                fprintf(stderr, "amber: registry name %s is taken twice\n", op->name);
            AM_ASSERT(!name_matches(builtin[j], op->name));
            for (const char *const *a = op->aliases; a && *a; a++)
                AM_ASSERT(!name_matches(builtin[j], *a));
        }
        char buf[8192];
        AM_ASSERT(op->attrs_size <= sizeof(buf));
        if (am_attrs_init(op, buf) != AM_OK) {
            fprintf(stderr, "amber: %s\n", am_last_error());
            AM_ASSERT(!"a default attribute does not parse");
        }
    }
}

/* The executor's elementwise fused op, an internal op (AM_OP_INTERNAL): its
 * definition stays beside the fuse pass that writes its program (its
 * attribute struct), and the registry holds only a pointer to that const
 * definition, so ndarray/ calls no executor code. */
extern const am_op_def am_op_fused_elemwise;

static am_status add_user(const am_op_def *def);
static int n_internal; /* the first registered ops: register_internal's */

/* Internal ops, registered after the built-in ones and before any user op:
 * the elementwise fused op, and the fused GEMM ops derived from the GEMM
 * facets of the built-in ops (ops/fused_gemm.c). */
static void register_internal(void)
{
    am_fused_gemm_setup(builtin, BUILTIN_COUNT);
    am_status st = add_user(&am_op_fused_elemwise);
    for (int i = 0; i < BUILTIN_COUNT && st == AM_OK; i++) {
        if (!builtin[i]->gemm || !builtin[i]->gemm->fused) continue;
        const am_op_def *f = am_fused_gemm_derive(builtin[i]);
        st = f ? add_user(f) : am_last_status();
    }
    if (st != AM_OK) {
        fprintf(stderr, "amber: registering the internal ops: %s\n", am_last_error());
        AM_ASSERT(!"an internal op does not register");
    }
    n_internal = n_user;
}

static void init_once(void)
{
    self_check();
    register_internal();
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

am_status am_registry_init(void)
{
    pthread_once(&once, init_once);
    return AM_OK;
}

/* Adds def to the registered ops: AM_ERR_ARG when its name or an alias is
 * taken. */
static am_status add_user(const am_op_def *def)
{
    am_status st = AM_OK;
    pthread_mutex_lock(&user_lock);
    const char *clash = find_unlocked(def->name) ? def->name : NULL;
    for (const char *const *a = def->aliases; !clash && a && *a; a++)
        if (find_unlocked(*a)) clash = *a;
    if (clash) {
        st = am_fail(AM_ERR_ARG, "am_op_register: the name %s is already registered", clash);
    } else if (n_user == cap_user) {
        int cap = cap_user ? cap_user * 2 : 16;
        const am_op_def **p = realloc(user_ops, (size_t)cap * sizeof(*p));
        if (!p) st = am_fail(AM_ERR_OOM, "am_op_register: out of memory");
        else user_ops = p, cap_user = cap;
    }
    if (st == AM_OK) user_ops[n_user++] = def;
    pthread_mutex_unlock(&user_lock);
    return st;
}

am_status am_op_register(const am_op_def *def)
{
    am_registry_init();
    if (!def) return am_fail(AM_ERR_ARG, "am_op_register: def is NULL");
    const char *why = entry_problem(def);
    if (why) return am_fail(AM_ERR_ARG, "am_op_register: op %s %s", def->name ? def->name : "?", why);
    if (def->gemm && def->gemm->fused) {
        /* its fused op first, so that a clash leaves neither registered */
        pthread_mutex_lock(&user_lock);
        bool taken = find_unlocked(def->gemm->fused) != NULL;
        pthread_mutex_unlock(&user_lock);
        if (taken)
            return am_fail(AM_ERR_ARG, "am_op_register: op %s: the name %s of its fused op is "
                           "already registered", def->name, def->gemm->fused);
    }
    /* derived before either is added, so that a failure registers neither */
    const am_op_def *f = def->gemm && def->gemm->fused ? am_fused_gemm_derive(def) : NULL;
    if (def->gemm && def->gemm->fused && !f) return am_last_status();
    am_status st = add_user(def);
    if (st == AM_OK && f) st = add_user(f);
    return st;
}

const am_op_def *am_op_find(const char *name)
{
    am_registry_init();
    if (!name) {
        am_fail(AM_ERR_ARG, "am_op_find: name is NULL");
        return NULL;
    }
    pthread_mutex_lock(&user_lock);
    const am_op_def *op = find_unlocked(name);
    pthread_mutex_unlock(&user_lock);
    if (!op) am_fail(AM_ERR_UNKNOWN_OP, "unknown operator '%s'", name);
    return op;
}

int am_registry_builtin_count(void) { return BUILTIN_COUNT; }

int am_registry_internal_count(void)
{
    am_registry_init();
    return n_internal;
}

int am_op_count(void)
{
    am_registry_init();
    pthread_mutex_lock(&user_lock);
    int n = BUILTIN_COUNT + n_user;
    pthread_mutex_unlock(&user_lock);
    return n;
}

const am_op_def *am_op_at(int i)
{
    am_registry_init();
    if (i < 0) return NULL;
    if (i < BUILTIN_COUNT) return builtin[i];
    pthread_mutex_lock(&user_lock);
    const am_op_def *op = i - BUILTIN_COUNT < n_user ? user_ops[i - BUILTIN_COUNT] : NULL;
    pthread_mutex_unlock(&user_lock);
    return op;
}

int am_op_num_inputs(const am_op_def *op, const void *attrs)
{
    if (op->num_inputs) return op->num_inputs(attrs);
    int n = 0;
    while (op->input_names[n]) n++;
    return n;
}

int am_op_num_outputs(const am_op_def *op, const void *attrs)
{
    return op->num_outputs_of ? op->num_outputs_of(attrs) : op->num_outputs;
}

int am_op_num_visible(const am_op_def *op, const void *attrs)
{
    return op->num_visible ? op->num_visible(attrs) : am_op_num_outputs(op, attrs);
}

am_status am_infer_shape_same(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int n_out)
{
    AM_UNUSED(attrs);
    char buf[256];
    for (int i = 1; i < n_in; i++) {
        if (in[i].ndim < 0) in[i] = in[0];
        if (in[0].ndim < 0) in[0] = in[i];
        bool same = in[i].ndim == in[0].ndim;
        for (int d = 0; same && d < in[0].ndim; d++) same = in[i].dim[d] == in[0].dim[d];
        if (!same)
            return am_fail(AM_ERR_SHAPE, "input shapes differ: %s",
                           am_format_shapes(in, n_in, buf, sizeof(buf)));
    }
    /* Graph inference's hint: every input has the output's shape. */
    if (in[0].ndim < 0 && n_out > 0 && out[0].ndim >= 0)
        for (int i = 0; i < n_in; i++) in[i] = out[0];
    for (int i = 0; i < n_out; i++) out[i] = in[0];
    return AM_OK;
}

am_status am_infer_dtype_float_same(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                                    int n_out)
{
    AM_UNUSED(attrs);
    if (n_in < 1) return am_fail(AM_ERR_DTYPE, "no input to take the dtype from");
    for (int i = 1; i < n_in; i++)
        if (in[i] != in[0])
            return am_fail(AM_ERR_DTYPE, "input %d is %s but input 0 is %s", i,
                           am_dtype_name(in[i]), am_dtype_name(in[0]));
    if (!am_dtype_is_float(in[0]))
        return am_fail(AM_ERR_DTYPE, "%s input not supported (float32 or float64 only)",
                       am_dtype_name(in[0]));
    for (int i = 0; i < n_out; i++) out[i] = in[0];
    return AM_OK;
}

am_status am_infer_dtype_same(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                              int n_out)
{
    AM_UNUSED(attrs);
    for (int i = 1; i < n_in; i++)
        if (in[i] != in[0])
            return am_fail(AM_ERR_DTYPE, "input dtypes differ: %s (input 0) and %s (input %d)",
                           am_dtype_name(in[0]), am_dtype_name(in[i]), i);
    for (int i = 0; i < n_out; i++) out[i] = n_in ? in[0] : AM_DTYPE_FLOAT32;
    return AM_OK;
}
