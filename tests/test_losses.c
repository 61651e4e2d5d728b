/* The losses suite: every loss block of include/amber/losses.h against
 * values and gradients that MXNet 1.9.1's Gluon losses computed once
 * (tests/fixtures/losses/make.py), eagerly and hybridized, plus export and
 * import, defaults and errors. */
#include "test_util.h"

#include <amber/losses.h>

#define FIX "tests/fixtures/losses/"
#define MAX_CASE_IN 5
#define TOL 1e-5

/* ---- helpers -------------------------------------------------------------------------------- */

/* tests/fixtures/losses/<name>_<what>.npy, or NULL with a message. */
static am_array *fixture(const char *name, const char *what)
{
    char path[160];
    snprintf(path, sizeof(path), FIX "%s_%s.npy", name, what);
    am_array *x = am_npy_load(path);
    if (!x) printf("\n  cannot load %s: %s\n", path, am_last_error());
    return x;
}

/* One recorded call of b on in: the output, and copies of the gradients of
 * in[0 .. n_grad) of the output's sum. */
static am_array *call_recorded(am_block *b, am_array **in, int n_in, int n_grad,
                               am_array **grads)
{
    for (int i = 0; i < n_grad; i++) am_attach_grad(in[i], AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *y = am_block_call_at(b, in, n_in, AM_HERE);
    am_array *total = am_sum(y, NULL, 0, false);
    am_autograd_end();
    if (!total || am_backward(total) != AM_OK) {
        printf("\n  %s: %s\n", am_block_type(b), am_last_error());
        return NULL;
    }
    for (int i = 0; i < n_grad; i++) grads[i] = am_copy(am_grad(in[i]));
    for (int i = 0; i < n_grad; i++) am_attach_grad(in[i], AM_GRAD_NULL);
    return y;
}

/* Output and gradients of one run match the fixture. */
static bool matches(const char *name, const char *mode, am_array *y, am_array *const *grads,
                    int n_grad)
{
    bool ok = y && tu_allclose(y, fixture(name, "loss"), TOL);
    for (int i = 0; y && i < n_grad; i++) {
        char what[16];
        snprintf(what, sizeof(what), "grad%d", i);
        ok = tu_allclose(grads[i], fixture(name, what), TOL) && ok;
    }
    if (!ok) printf("\n  case %s (%s) differs from MXNet's\n", name, mode);
    return ok;
}

/*
 * The check of every loss: b called on the fixture inputs <name>_in0 ..
 * in<n_in-1> gives MXNet's loss, and d loss.sum() / d in[i] (i < n_grad) is
 * MXNet's, both eagerly and hybridized; the export runs without the code.
 * Releases b.
 */
static void check_case(am_block *b, const char *name, int n_in, int n_grad)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    am_scope_begin();
    am_array *in[MAX_CASE_IN], *grads[2] = {0};
    for (int i = 0; i < n_in; i++) {
        char what[16];
        snprintf(what, sizeof(what), "in%d", i);
        in[i] = fixture(name, what);
        CU_ASSERT_PTR_NOT_NULL_FATAL(in[i]);
    }
    am_array *y = call_recorded(b, in, n_in, n_grad, grads);
    CU_ASSERT(matches(name, "eager", y, grads, n_grad));
    CU_ASSERT_EQUAL(am_block_hybridize(b, true, NULL), AM_OK);
    y = call_recorded(b, in, n_in, n_grad, grads);
    CU_ASSERT(matches(name, "hybridized", y, grads, n_grad));
    CU_ASSERT(am_block_cache_stats(b).traces >= 1);
    CU_ASSERT_EQUAL(am_block_hybridize(b, false, NULL), AM_OK);
    CU_ASSERT(tu_export_import_agree(b, in, n_in, TOL));
    am_block_release(b);
    am_scope_end();
}

/* ---- the losses ----------------------------------------------------------------------------- */

static void test_l1(void)
{
    am_block *b = am_l1_loss(NULL);
    CU_ASSERT_STRING_EQUAL(am_block_type(b), "L1Loss");
    check_case(b, "l1", 2, 1);
    check_case(am_l1_loss(NULL), "l1_1d", 2, 1); /* no axis but the batch's: unreduced */
    check_case(am_l1_loss(&(am_loss_opts){.weight = 0.5}), "l1_w_sw", 3, 1);
}

static void test_l2(void)
{
    check_case(am_l2_loss(NULL), "l2", 2, 1); /* label (3, 4) reshaped like pred (3, 2, 2) */
    check_case(am_l2_loss(&(am_loss_opts){.weight = 2, .batch_axis = 1}), "l2_w_axis", 2, 1);
}

static void test_softmax_ce(void)
{
    check_case(am_softmax_ce_loss(NULL), "sce", 2, 1);
    check_case(am_softmax_ce_loss(&(am_softmax_ce_opts){.weight = 0.7}), "sce_w_sw", 3, 1);
    check_case(am_softmax_ce_loss(&(am_softmax_ce_opts){.dense_label = true}), "sce_dense", 2, 1);
    check_case(am_softmax_ce_loss(&(am_softmax_ce_opts){.from_logits = true}), "sce_logits", 2,
               1);
    check_case(am_softmax_ce_loss(&(am_softmax_ce_opts){.axis = 1}), "sce_axis", 2, 1);
    check_case(am_softmax_ce_loss(&(am_softmax_ce_opts){.axis = 1, .dense_label = true,
                                                        .from_logits = true}),
               "sce_dense_axis_logits", 2, 1);
}

static void test_sigmoid_bce(void)
{
    check_case(am_sigmoid_bce_loss(NULL), "sbce", 2, 1);
    check_case(am_sigmoid_bce_loss(&(am_sigmoid_bce_opts){.from_sigmoid = true}), "sbce_sig", 2,
               1);
    check_case(am_sigmoid_bce_loss(&(am_sigmoid_bce_opts){.pos_weight = true, .weight = 1.5}),
               "sbce_pos", 3, 1);
    check_case(am_sigmoid_bce_loss(&(am_sigmoid_bce_opts){.from_sigmoid = true,
                                                          .pos_weight = true}),
               "sbce_sig_pos_sw", 4, 1);
}

static void test_huber_hinge(void)
{
    check_case(am_huber_loss(1, NULL), "huber", 2, 1);
    check_case(am_huber_loss(0.5, &(am_loss_opts){.weight = 2}), "huber_rho", 2, 1);
    check_case(am_hinge_loss(1, NULL), "hinge", 2, 1);
    check_case(am_hinge_loss(2, NULL), "hinge_margin_sw", 3, 1);
}

static void test_kl_div(void)
{
    check_case(am_kl_div_loss(NULL), "kl", 2, 1);
    check_case(am_kl_div_loss(&(am_kl_div_opts){.log_softmax = true, .weight = 0.5}),
               "kl_softmax", 2, 1);
    check_case(am_kl_div_loss(&(am_kl_div_opts){.log_softmax = true, .axis = 1}), "kl_axis", 2,
               1);
}

static void test_cosine_embedding(void)
{
    check_case(am_cosine_embedding_loss(NULL), "cos", 3, 2);
    check_case(am_cosine_embedding_loss(&(am_cosine_embedding_opts){.margin = 0.3, .weight = 2}),
               "cos_margin_sw", 4, 2);
}

/* Gluon's CTCLoss against PyTorch's ctc_loss (tests/fixtures/ctc/make.py;
 * MXNet agrees on these to 1e-6): the fixtures live beside the op's. */
static void test_ctc(void)
{
    check_case(am_ctc_loss_block(NULL), "../ctc/block", 2, 1);
    check_case(am_ctc_loss_block(&(am_ctc_opts){.pred_lengths = true, .label_lengths = true,
                                                .sample_weight = true}),
               "../ctc/block_lengths_sw", 5, 1);
    /* TNC and TN layouts give the same loss on transposed inputs. */
    am_scope_begin();
    am_array *x = fixture("../ctc/block", "in0"), *lab = fixture("../ctc/block", "in1");
    am_block *b = am_ctc_loss_block(&(am_ctc_opts){.tnc = true, .label_tn = true});
    am_array *y = am_block_call2(b, am_swap_axis(x, 0, 1), am_swap_axis(lab, 0, 1));
    CU_ASSERT(tu_allclose(y, fixture("../ctc/block", "loss"), 1e-5));
    TU_ASSERT_FAILS(am_block_call(b, x), AM_ERR_ARG, "CTCLoss: takes 2 to 2 inputs, got 1");
    am_block_release(b);
    /* The docs/losses-metrics.md example: label lengths instead of padding. */
    am_array *pred = x, *label = lab;
    am_array *label_len = am_from_buffer((float[]){3, 1, 2}, AM_SHAPE(3), AM_DTYPE_FLOAT32);
    am_block *ctc = am_ctc_loss_block(&(am_ctc_opts){.label_lengths = true});
    am_array *loss = am_block_call_at(ctc, (am_array *[]){pred, label, label_len}, 3, AM_HERE);
    CU_ASSERT(tu_allclose(loss, fixture("../ctc/block", "loss"), 1e-5));
    am_block_release(ctc);
    am_scope_end();
}

/* A loss hybridized together with the model that feeds it: one plan, the
 * same loss and parameter gradients as the eager run. */
static am_array *model_and_loss(am_array *const *in, int n_in, void *ctx)
{
    (void)n_in;
    am_block **parts = ctx;
    am_array *y = am_block_call(parts[0], in[0]);
    return am_block_call2(parts[1], y, in[1]);
}

static void test_with_model(void)
{
    am_scope_begin();
    am_block *parts[2] = {am_dense(3, NULL), am_softmax_ce_loss(NULL)};
    am_block *net = am_lambda(model_and_loss, parts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    am_block_add(net, "dense", parts[0]);
    am_block_add(net, "loss", parts[1]);
    CU_ASSERT_EQUAL(am_block_initialize(net, NULL), AM_OK);
    am_array *x = tu_random(AM_SHAPE(4, 5), AM_DTYPE_FLOAT32, -1, 1);
    am_array *label = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(4), 0, 2, 1, 2);
    am_array *in[2] = {x, label}, *eager = NULL, *grad = NULL;
    am_param *w;
    CU_ASSERT_EQUAL(am_block_collect_params(net, "weight", &w, 1), 1);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) CU_ASSERT_EQUAL(am_block_hybridize(net, true, NULL), AM_OK);
        am_autograd_record_begin(true);
        am_array *l = am_block_call_at(net, in, 2, AM_HERE);
        am_array *total = am_sum(l, NULL, 0, false);
        am_autograd_end();
        CU_ASSERT_EQUAL_FATAL(am_backward(total), AM_OK);
        CU_ASSERT(am_array_ndim(l) == 1 && am_array_dim(l, 0) == 4);
        CU_ASSERT(am_item(am_sum(am_abs(am_param_grad(w)), NULL, 0, false), 0) > 0);
        if (pass == 0) eager = l, grad = am_copy(am_param_grad(w));
        else CU_ASSERT(tu_allclose(l, eager, TOL) && tu_allclose(am_param_grad(w), grad, TOL));
    }
    CU_ASSERT_EQUAL(am_block_cache_stats(net).traces, 1);
    am_block_release(net);
    am_scope_end();
}

static void test_errors(void)
{
    am_scope_begin();
    TU_ASSERT_FAILS(am_huber_loss(0, NULL), AM_ERR_ARG, "am_huber_loss: rho must be positive");
    TU_ASSERT_FAILS(am_hinge_loss(NAN, NULL), AM_ERR_ARG, "am_hinge_loss: margin is NaN");
    TU_ASSERT_FAILS(am_l1_loss(&(am_loss_opts){.weight = INFINITY}), AM_ERR_ARG,
                    "am_l1_loss: weight must be finite");
    TU_ASSERT_FAILS(am_cosine_embedding_loss(&(am_cosine_embedding_opts){.margin = NAN}),
                    AM_ERR_ARG, "margin is NaN");
    am_array *p = tu_random(AM_SHAPE(3, 4), AM_DTYPE_FLOAT32, -1, 1);
    am_array *q = tu_random(AM_SHAPE(3, 5), AM_DTYPE_FLOAT32, -1, 1);
    am_block *l1 = am_l1_loss(NULL);
    TU_ASSERT_FAILS(am_block_call(l1, p), AM_ERR_ARG, "L1Loss: takes 2 to 3 inputs");
    TU_ASSERT_FAILS(am_block_call2(l1, p, q), AM_ERR_SHAPE,
                    "L1Loss: label (3, 5) has a different size than pred (3, 4)");
    am_block *ce = am_softmax_ce_loss(NULL);
    TU_ASSERT_FAILS(am_block_call2(ce, p, p), AM_ERR_SHAPE,
                    "SoftmaxCrossEntropyLoss: label (3, 4) does not hold one class index per "
                    "row of pred (3, 4)");
    am_block *ce5 = am_softmax_ce_loss(&(am_softmax_ce_opts){.axis = 5});
    TU_ASSERT_FAILS(am_block_call2(ce5, p, p), AM_ERR_ARG,
                    "SoftmaxCrossEntropyLoss: axis 5 is out of range");
    am_block *axis = am_l2_loss(&(am_loss_opts){.batch_axis = 2});
    TU_ASSERT_FAILS(am_block_call2(axis, p, p), AM_ERR_ARG,
                    "L2Loss: batch_axis 2 is out of range for a loss of shape (3, 4)");
    am_block *bce = am_sigmoid_bce_loss(&(am_sigmoid_bce_opts){.pos_weight = true});
    TU_ASSERT_FAILS(am_block_call2(bce, p, p), AM_ERR_ARG,
                    "SigmoidBinaryCrossEntropyLoss: takes 3 to 4 inputs");
    am_block *cos = am_cosine_embedding_loss(NULL);
    TU_ASSERT_FAILS(am_block_call2(cos, p, p), AM_ERR_ARG, "CosineEmbeddingLoss: takes 3 to 4");
    TU_ASSERT_FAILS(am_block_call_at(cos, (am_array *[]){p, q, p}, 3, AM_HERE), AM_ERR_SHAPE,
                    "CosineEmbeddingLoss: input1 (3, 4) has a different size than input2 (3, 5)");
    am_block_release(l1);
    am_block_release(ce);
    am_block_release(ce5);
    am_block_release(axis);
    am_block_release(bce);
    am_block_release(cos);
    am_scope_end();
}

/* The example of docs/losses-metrics.md, as written there. */
static void test_docs_example(void)
{
    am_scope_begin();
    am_array *x = tu_random(AM_SHAPE(8, 4), AM_DTYPE_FLOAT32, -1, 1);
    am_array *y = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(8), 0, 1, 2, 0, 1, 2, 0, 1);
    /* --- docs example begins --- */
    am_block *net = am_dense(3, NULL);
    am_block *ce = am_softmax_ce_loss(NULL);        // sparse labels, class axis -1
    am_block_initialize(net, NULL);
    am_block_hybridize(net, true, NULL);
    am_block_hybridize(ce, true, NULL);
    am_autograd_record_begin(true);
    am_array *loss = am_block_call2(ce, am_block_call(net, x), y);   // (8,): one per sample
    am_array *total = am_sum(loss, NULL, 0, false);
    am_autograd_end();
    am_backward(total);                             // d total / d parameters
    /* --- docs example ends --- */
    CU_ASSERT(loss && am_array_ndim(loss) == 1 && am_array_dim(loss, 0) == 8);
    am_param *w;
    CU_ASSERT_EQUAL(am_block_collect_params(net, "weight", &w, 1), 1);
    CU_ASSERT(am_item(am_sum(am_abs(am_param_grad(w)), NULL, 0, false), 0) > 0);
    am_block_release(net);
    am_block_release(ce);
    am_scope_end();
}

CU_TestInfo am_tests_losses[] = {
    {"L1Loss: weight, sample weights, 1-D", test_l1},
    {"L2Loss: the 1/2, reshaped label, weight, batch_axis", test_l2},
    {"SoftmaxCrossEntropyLoss: sparse, dense, from_logits, axis, weights", test_softmax_ce},
    {"SigmoidBinaryCrossEntropyLoss: from_sigmoid, pos_weight, weights", test_sigmoid_bce},
    {"HuberLoss and HingeLoss: rho, margin, weights", test_huber_hinge},
    {"KLDivLoss: from_logits, axis, weight", test_kl_div},
    {"CosineEmbeddingLoss: margin, weights, both inputs' gradients", test_cosine_embedding},
    {"CTCLoss: layouts, lengths, sample weights", test_ctc},
    {"a loss hybridizes with its model", test_with_model},
    {"losses: bad options and inputs", test_errors},
    {"the docs/losses-metrics.md loss example", test_docs_example},
    CU_TEST_INFO_NULL,
};
