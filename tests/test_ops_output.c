/* The ops_output suite: the Module-era output ops (SoftmaxOutput, the
 * regression outputs, SVMOutput, MakeLoss, make_loss, SoftmaxActivation)
 * against numbers MXNet 1.9.1 computed (build/mxnet-venv, forward and
 * executor backward), eagerly and through am_graph_gradient; their loss
 * gradients against central differences of the loss each op stands for;
 * inference with the label unbound; errors; and a Module checkpoint written
 * by MXNet (tests/fixtures/module_mlp-*) fine-tuned eagerly and hybridized. */
#include "test_util.h"

#include <amber/executor.h>
#include <amber/hybrid.h>
#include <amber/io.h>
#include <amber/trainer.h>

/* ---- MXNet 1.9.1's numbers: inputs, output y and data's gradient ---------------- */

/* SoftmaxOutput {'grad_scale': 0.5, 'use_ignore': True, 'ignore_label': 3, 'normalization': 'valid'} */
static const double so_x[] = {-1.279, -1.922, -0.147, 0.9, -0.319, -0.058, -1.949, -0.051, 1.767, 1.403, 0.92, -1.565, 1.576, 1.429, -1.34, 0.529, -1.918, -1.533, -0.735, -1.368};
static const double so_label[] = {0, 3, 4, 1};
static const double so_y[] = {0.06220172, 0.03270024, 0.1929406, 0.5497054, 0.162452, 0.07892032, 0.01191072, 0.0794747, 0.4895265, 0.3401677, 0.2092763, 0.01743806, 0.4032898, 0.3481577, 0.02183809, 0.6074257, 0.05257443, 0.07726413, 0.1716109, 0.09112479};
static const double so_grad[] = {-0.1562997, 0.00545004, 0.03215677, 0.09161758, 0.02707533, 0, 0, 0, 0, 0, 0.03487939, 0.002906344, 0.06721497, 0.05802628, -0.163027, 0.1012376, -0.1579043, 0.01287736, 0.02860182, 0.01518746};
/* SoftmaxOutput {'smooth_alpha': 0.2, 'out_grad': True, 'normalization': 'batch'} */
static const double sos_x[] = {1.036, 1.273, -0.622, -0.725, -1.553, -1.664, 0.851, 0.398, -1.777, -0.081, -0.393, 1.392};
static const double sos_label[] = {2, 0, 7};
static const double sos_y[] = {0.3802522, 0.4819472, 0.07244551, 0.06535504, 0.05000496, 0.04475138, 0.5534228, 0.3518209, 0.02921703, 0.159294, 0.1166003, 0.6948887};
static const double sos_grad[] = {0.03974719, 0.06671445, -0.01756935, -2.857388e-05, -0.01250116, -0.0003269132, 0.08979399, 0.03344107, -0.0003647224, 0.004918327, 0.001940758, 0.1455148};
/* SoftmaxOutput {'multi_output': True} */
static const double som_x[] = {0.871, 0.408, 0.21, 1.796, 1.947, -0.648, -1.041, 1.186, -1.745, -0.542, -1.72, -0.723, -1.718, -0.839, 1.16, 1.622, 1.17, 0.247, 0.464, -0.554, -1.325, -0.255, 0.931, -1.748};
static const double som_label[] = {0, 1, 2, 1, 2, 2, 0, 1};
static const double som_y[] = {0.2496244, 0.5765066, 0.6986331, 0.6158049, 0.7321294, 0.2005346, 0.1999617, 0.3345981, 0.01824621, 0.2229588, 0.1014053, 0.04959699, 0.04892661, 0.1737439, 0.435938, 0.871168, 0.8785927, 0.5146991, 0.2173481, 0.09887286, 0.07248079, 0.3115571, 0.3467139, 0.02995915};
static const double som_grad[] = {-0.1875939, 0.1441267, 0.1746583, 0.1539512, 0.1830323, -0.1998664, 0.04999042, -0.1663505, 0.004561552, 0.05573969, -0.2246487, 0.01239925, 0.01223165, 0.04343598, -0.1410155, 0.217792, 0.2196482, 0.1286748, 0.05433701, -0.2252818, -0.2318798, -0.1721107, 0.08667848, 0.007489788};
/* SoftmaxOutput {'preserve_shape': True, 'grad_scale': 3.0} */
static const double sop_x[] = {-1.917, 1.082, -0.8, 0.805, 0.939, 1.732, -0.399, -0.566, 1.226, 1.058, 0.61, 1.244};
static const double sop_label[] = {0, 1, 2, 2};
static const double sop_y[] = {0.04145742, 0.8318623, 0.1266803, 0.2141186, 0.2448216, 0.5410598, 0.1444123, 0.1222016, 0.7333861, 0.3517007, 0.2247032, 0.4235961};
static const double sop_grad[] = {-2.875628, 2.495587, 0.380041, 0.6423557, -2.265535, 1.623179, 0.4332368, 0.3666049, -0.7998417, 1.055102, 0.6741097, -1.729212};
/* LinearRegressionOutput {'grad_scale': 0.7} */
static const double lin_x[] = {0.569, 1.83, -0.665, 0.953, 1.799, -0.663};
static const double lin_label[] = {0.447, -0.537, -0.154, -1.7, -1.923, 1.039};
static const double lin_y[] = {0.569, 1.83, -0.665, 0.953, 1.799, -0.663};
static const double lin_grad[] = {0.0427, 0.82845, -0.17885, 0.92855, 1.3027, -0.5957};
/* LogisticRegressionOutput {} */
static const double logi_x[] = {-0.189, 0.491, 0.96, -0.325};
static const double logi_label[] = {1, 0, 1, 0};
static const double logi_y[] = {0.4528902, 0.620342, 0.7231218, 0.4194577};
static const double logi_grad[] = {-0.5471098, 0.620342, -0.2768782, 0.4194577};
/* MAERegressionOutput {'grad_scale': 2.0} */
static const double mae_x[] = {-0.53, -1.324, 1.175, 1.332, 0.937, 1.501};
static const double mae_label[] = {0.592, 0.784, -1.228, 1.071, -0.664, -0.248};
static const double mae_y[] = {-0.53, -1.324, 1.175, 1.332, 0.937, 1.501};
static const double mae_grad[] = {-0.6666667, -0.6666667, 0.6666667, 0.6666667, 0.6666667, 0.6666667};
/* SVMOutput {'margin': 0.8, 'regularization_coefficient': 1.5} */
static const double svm2_x[] = {-0.725, 0.273, 0.635, 0.302, -0.727, -1.128, 1.38, -0.791, -0.247, -1.634, -0.796, -1.657};
static const double svm2_label[] = {0, 3, 1};
static const double svm2_y[] = {-0.725, 0.273, 0.635, 0.302, -0.727, -1.128, 1.38, -0.791, -0.247, -1.634, -0.796, -1.657};
static const double svm2_grad[] = {-4.575, 3.219, 4.305, 3.306, 0.219, -0, 6.54, -4.773, 1.659, -7.302, 0.01200002, -0};
/* SVMOutput {'use_linear': True} */
static const double svm1_x[] = {-0.625, 0.837, 1.896, 0.501, -0.923, 0.627, 0.508, 1.303, 0.135, 1.644, -0.338, -0.856};
static const double svm1_label[] = {2, 2, 0};
static const double svm1_y[] = {-0.625, 0.837, 1.896, 0.501, -0.923, 0.627, 0.508, 1.303, 0.135, 1.644, -0.338, -0.856};
static const double svm1_grad[] = {1, 1, -0, 1, 1, 1, -1, 1, -1, 1, 1, 1};
/* MakeLoss {'normalization': 'valid', 'valid_thresh': 0.5, 'grad_scale': 2.0} */
static const double ml_x[] = {0.076, 1.69, 0.896, -0.024, -0.01, 0.595, -0.209, 0.203, 1.885, 1.73, 1.363, -1.492};
static const double ml_y[] = {0.076, 1.69, 0.896, -0.024, -0.01, 0.595, -0.209, 0.203, 1.885, 1.73, 1.363, -1.492};
static const double ml_grad[] = {0.3333333, 0.3333333, 0.3333333, 0.3333333, 0.3333333, 0.3333333, 0.3333333, 0.3333333, 0.3333333, 0.3333333, 0.3333333, 0.3333333};
/* SoftmaxActivation {'mode': 'channel'} */
static const double sac_x[] = {0.226, -0.534, 1.647, -0.745, 1.723, -1.047, -0.318, 1.84, 0.382, 1.729, 0.155, -1.088};
static const double sac_og[] = {0.852, 0.086, 0.022, -1.454, -1.42, 1.718, 1.824, 1.864, -0.569, -1.817, 0.216, 0.945};
static const double sac_y[] = {0.1040634, 0.4152012, 0.4309537, 0.3362192, 0.4649829, 0.2485796, 0.216518, 0.5132304, 0.4360137, 0.4593097, 0.3474683, 0.02745985};
static const double sac_grad[] = {0.1471595, 0.04654222, 0.2517341, -0.4800888, -0.3988936, 0.4335466, 0.3468856, 0.8806801, -0.3448389, -0.9025644, -0.002046639, 0.02188426};
/* SoftmaxActivation {} */
static const double sai_x[] = {0.592, -1.788, -1.068, 0.824, -1.78, 1.386, 1.956, -1.009, -1.784, 1.919, 1.069, -0.183};
static const double sai_og[] = {-0.087, 1.662, -0.577, -1.787, 0.456, -0.75, 0.726, 1.792, -0.558, -1.012, -1.788, 1.327};
static const double sai_y[] = {0.3931112, 0.03638267, 0.07474577, 0.4957604, 0.01453397, 0.3446361, 0.6094086, 0.03142139, 0.01565765, 0.6352125, 0.2714993, 0.07763045};
static const double sai_grad[] = {0.3206941, 0.09331372, 0.02435103, -0.4383588, 0.003039225, -0.3435636, 0.2919748, 0.04854957, 0.007452999, 0.01397298, -0.2047112, 0.1832853};

/* softmax_cross_entropy, head gradient 2 (autograd) */
static const double sce_x[] = {-1.383, 0.96, -0.947, 0.135, -1.942, 1.675, 1.603, -1.866, 1.828, -1.451, -0.865, 0.424};
static const double sce_label[] = {0, 3, 1};
static const double sce_y[] = {10.67058};
static const double sce_grad[] = {-1.885858, 1.188496, 0.1765217, 0.5208405, 0.02704736, 1.006858, 0.9369121, -1.970817, 1.480433, -1.944238, 0.1001922, 0.3636129};

typedef struct ref_case {
    const char *op, *keys, *vals;
    am_shape xs, ls;                 /* ls.ndim 0 and label NULL: no label */
    const double *x, *label, *og, *y, *grad;
} ref_case;

static const ref_case refs[] = {
    {"SoftmaxOutput", "grad_scale|use_ignore|ignore_label|normalization", "0.5|True|3|valid",
     {2, {4, 5}}, {1, {4}}, so_x, so_label, NULL, so_y, so_grad},
    {"SoftmaxOutput", "smooth_alpha|out_grad|normalization", "0.2|True|batch", {2, {3, 4}},
     {1, {3}}, sos_x, sos_label, NULL, sos_y, sos_grad},
    {"SoftmaxOutput", "multi_output", "True", {3, {2, 3, 4}}, {2, {2, 4}}, som_x,
     som_label, NULL, som_y, som_grad},
    {"Softmax", "preserve_shape|grad_scale", "True|3", {3, {2, 2, 3}}, {2, {2, 2}},
     sop_x, sop_label, NULL, sop_y, sop_grad},
    {"LinearRegressionOutput", "grad_scale", "0.7", {2, {3, 2}}, {2, {3, 2}}, lin_x,
     lin_label, NULL, lin_y, lin_grad},
    {"LogisticRegressionOutput", "", "", {2, {4, 1}}, {1, {4}}, logi_x, logi_label, NULL,
     logi_y, logi_grad},
    {"MAERegressionOutput", "grad_scale", "2", {2, {2, 3}}, {2, {2, 3}}, mae_x, mae_label,
     NULL, mae_y, mae_grad},
    {"SVMOutput", "margin|regularization_coefficient", "0.8|1.5", {2, {3, 4}}, {1, {3}},
     svm2_x, svm2_label, NULL, svm2_y, svm2_grad},
    {"SVMOutput", "use_linear", "True", {2, {3, 4}}, {1, {3}}, svm1_x, svm1_label, NULL,
     svm1_y, svm1_grad},
    {"MakeLoss", "normalization|valid_thresh|grad_scale", "valid|0.5|2", {2, {3, 4}}, {0},
     ml_x, NULL, NULL, ml_y, ml_grad},
    {"SoftmaxActivation", "mode", "channel", {3, {2, 3, 2}}, {0}, sac_x, NULL, sac_og, sac_y,
     sac_grad},
    {"SoftmaxActivation", "", "", {2, {3, 4}}, {0}, sai_x, NULL, sai_og, sai_y, sai_grad},
};

static am_array *ref_array(const double *v, am_shape s, am_dtype t)
{
    return tu_array_from(t, s, v, am_shape_size(&s));
}

/* A loss op ignores the head gradient: any head gradient gives MXNet's numbers;
 * SoftmaxActivation's gradient uses it (MXNet's out_grad). */
static am_array *head_grad(const ref_case *c, am_dtype t)
{
    if (c->og) return ref_array(c->og, c->xs, t);
    return tu_random(c->xs, t, -3, 3);
}

/* Eagerly: the output and, after am_backward from it, data's gradient. */
static void check_eager(const ref_case *c, am_dtype t)
{
    am_scope_begin();
    am_array *in[2] = {ref_array(c->x, c->xs, t), c->label ? ref_array(c->label, c->ls, t) : NULL};
    am_array *y = NULL;
    int64_t n = am_shape_size(&c->xs);
    am_attach_grad(in[0], AM_GRAD_WRITE);
    if (c->label) am_attach_grad(in[1], AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    CU_ASSERT_EQUAL(tu_invoke(c->op, in, c->label ? 2 : 1, c->keys, c->vals, &y, 1), AM_OK);
    am_autograd_end();
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    if (!tu_values_are(y, c->xs, c->y, n, 2e-6)) printf("  (output of %s %s)\n", c->op, c->vals);
    CU_ASSERT(tu_values_are(y, c->xs, c->y, n, 2e-6));
    CU_ASSERT_EQUAL(am_backward_at(y, head_grad(c, t), false, AM_HERE), AM_OK);
    if (!tu_values_are(am_grad(in[0]), c->xs, c->grad, n, 2e-6))
        printf("  (gradient of %s %s, %s)\n", c->op, c->vals, am_dtype_name(t));
    CU_ASSERT(tu_values_are(am_grad(in[0]), c->xs, c->grad, n, 2e-6));
    if (c->label) { /* MXNet gives the label no gradient (zeros) */
        am_array *lg = am_grad(in[1]);
        am_view v = am_array_view(lg);
        for (int64_t i = 0; i < am_view_size(&v); i++) CU_ASSERT_EQUAL(am_view_get(&v, i), 0.0);
    }
    am_scope_end();
}

static void test_against_mxnet_eager(void)
{
    for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
        check_eager(&refs[i], AM_DTYPE_FLOAT32);
        check_eager(&refs[i], AM_DTYPE_FLOAT64);
    }
}

/* Through am_graph_gradient, node by node: the same numbers. */
static void check_symbolic(const ref_case *c)
{
    am_scope_begin();
    am_array *v[2] = {am_var("data", c->xs, AM_DTYPE_FLOAT32),
                      c->label ? am_var("label", c->ls, AM_DTYPE_FLOAT32) : NULL};
    am_array *y = NULL;
    CU_ASSERT_EQUAL(tu_invoke(c->op, v, c->label ? 2 : 1, c->keys, c->vals, &y, 1), AM_OK);
    am_graph *g = am_graph_create(&y, 1);
    am_graph *gg = am_graph_gradient(g, (const char *[]){"data"}, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gg);
    char *out_name = NULL, hg_name[128];
    CU_ASSERT_EQUAL(am_graph_list_outputs(g, &out_name, 1), 1);
    snprintf(hg_name, sizeof(hg_name), "%s_head_grad", out_name);
    const char *names[3] = {"data", hg_name, "label"};
    am_array *vals[3] = {ref_array(c->x, c->xs, AM_DTYPE_FLOAT32),
                         head_grad(c, AM_DTYPE_FLOAT32),
                         c->label ? ref_array(c->label, c->ls, AM_DTYPE_FLOAT32) : NULL};
    am_array *outs[2] = {0};
    CU_ASSERT_EQUAL(am_graph_eval(gg, names, vals, c->label ? 3 : 2, true, outs, 2), AM_OK);
    int64_t n = am_shape_size(&c->xs);
    CU_ASSERT(tu_values_are(outs[0], c->xs, c->y, n, 2e-6));
    if (!tu_values_are(outs[1], c->xs, c->grad, n, 2e-6))
        printf("  (symbolic gradient of %s %s)\n", c->op, c->vals);
    CU_ASSERT(tu_values_are(outs[1], c->xs, c->grad, n, 2e-6));
    free(out_name);
    am_graph_release(gg);
    am_graph_release(g);
    am_scope_end();
}

static void test_against_mxnet_symbolic(void)
{
    for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) check_symbolic(&refs[i]);
}

/* softmax_cross_entropy: an ordinary op, scaled by its head gradient. */
static void test_softmax_cross_entropy(void)
{
    am_scope_begin();
    am_array *x = ref_array(sce_x, AM_SHAPE(3, 4), AM_DTYPE_FLOAT32);
    am_array *l = ref_array(sce_label, AM_SHAPE(3), AM_DTYPE_FLOAT32);
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *y = am_softmax_cross_entropy(x, l);
    am_autograd_end();
    CU_ASSERT(tu_values_are(y, AM_SHAPE(1), sce_y, 1, 2e-6));
    CU_ASSERT_EQUAL(am_backward_at(y, tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1), 2), false, AM_HERE),
                    AM_OK);
    CU_ASSERT(tu_values_are(am_grad(x), AM_SHAPE(3, 4), sce_grad, 12, 2e-6));
    TU_ASSERT_FAILS(am_softmax_cross_entropy(x, tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 0, 4, 1)),
                    AM_ERR_ARG, "softmax_cross_entropy: label 4 of row 1 is not a class in [0, 4)");
    TU_ASSERT_FAILS(am_softmax_cross_entropy(x, am_zeros(AM_SHAPE(3, 1), AM_DTYPE_FLOAT32)),
                    AM_ERR_SHAPE, "label (3, 1) must be 1-D with one class per row of data (3, 4)");
    TU_ASSERT_FAILS(am_softmax_cross_entropy(am_zeros(AM_SHAPE(2, 3, 4), AM_DTYPE_FLOAT32), l),
                    AM_ERR_SHAPE, "data must be 2-D (batch, classes), not (2, 3, 4)");
    am_scope_end();
}

/* ---- the loss each op stands for, differentiated numerically --------------------- */

typedef enum loss_kind { L_CE, L_SQUARE, L_LOGISTIC, L_ABS, L_HINGE2, L_HINGE1, L_SUM } loss_kind;

typedef struct loss_case {
    const char *op, *keys, *vals;
    loss_kind kind;
    am_shape xs, ls;
    double scale, alpha, margin; /* scale: grad_scale / normalization (known from the labels) */
    int ignore;                  /* ignored label for L_CE, or -100 */
} loss_case;

/* The loss at data x (rows of k entries for the classifiers). */
static double loss_value(const loss_case *c, const double *x, const double *l)
{
    int64_t n = am_shape_size(&c->xs), k = c->xs.dim[c->xs.ndim - 1], rows = n / k;
    double sum = 0;
    for (int64_t r = 0; c->kind == L_CE && r < rows; r++) {
        double m = -INFINITY, s = 0;
        int64_t lab = (int64_t)l[r];
        if (lab == c->ignore) continue;
        for (int64_t j = 0; j < k; j++) m = fmax(m, x[r * k + j]);
        for (int64_t j = 0; j < k; j++) s += exp(x[r * k + j] - m);
        for (int64_t j = 0; j < k; j++) {
            double t = j == lab ? 1 - c->alpha : c->alpha / (double)(k - 1);
            sum -= t * (x[r * k + j] - m - log(s));
        }
    }
    for (int64_t i = 0; c->kind != L_CE && i < n; i++) {
        bool same = c->kind == L_SQUARE || c->kind == L_ABS; /* label of data's shape */
        double d = x[i] - (same ? l[i] : 0), sg = 1 / (1 + exp(-x[i]));
        bool own = (c->kind == L_HINGE1 || c->kind == L_HINGE2) && i % k == (int64_t)l[i / k];
        double h = fmax(0, c->margin + (own ? -x[i] : x[i]));
        switch (c->kind) {
        case L_SQUARE: sum += 0.5 * d * d; break;
        case L_LOGISTIC: sum -= l[i] * log(sg) + (1 - l[i]) * log(1 - sg); break;
        case L_ABS: sum += fabs(d); break;
        case L_HINGE2: sum += h * h; break;
        case L_HINGE1: sum += h; break;
        default: sum += x[i]; break;
        }
    }
    return sum * c->scale;
}

static void check_loss(const loss_case *c)
{
    am_scope_begin();
    am_seed(77);
    bool classes = c->kind == L_CE || c->kind == L_HINGE1 || c->kind == L_HINGE2;
    int64_t n = am_shape_size(&c->xs), k = c->xs.dim[c->xs.ndim - 1];
    am_array *in[2] = {tu_random(c->xs, AM_DTYPE_FLOAT64, -2, 2), NULL};
    if (c->ls.ndim > 0 || c->kind != L_SUM) {
        in[1] = tu_random(c->ls, AM_DTYPE_FLOAT64, classes ? 0 : -1, classes ? (double)k : 1);
        am_view lv = am_array_view(in[1]);
        for (int64_t i = 0; classes && i < am_view_size(&lv); i++)
            am_view_set(&lv, i, floor(am_view_get(&lv, i)));
        if (c->kind == L_LOGISTIC) /* targets in [0, 1] */
            for (int64_t i = 0; i < am_view_size(&lv); i++)
                am_view_set(&lv, i, 0.5 + 0.5 * am_view_get(&lv, i));
    }
    am_array *y = NULL;
    am_attach_grad(in[0], AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    CU_ASSERT_EQUAL(tu_invoke(c->op, in, in[1] ? 2 : 1, c->keys, c->vals, &y, 1), AM_OK);
    am_autograd_end();
    CU_ASSERT_EQUAL_FATAL(am_backward(y), AM_OK);
    double *x = am_array_ptr(in[0]), *l = in[1] ? am_array_ptr(in[1]) : NULL;
    am_view g = am_array_view(am_grad(in[0]));
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        double x0 = x[i], e = 1e-6;
        x[i] = x0 + e;
        double up = loss_value(c, x, l);
        x[i] = x0 - e;
        double down = loss_value(c, x, l);
        x[i] = x0;
        double num = (up - down) / (2 * e), ana = am_view_get(&g, i);
        if (!(fabs(ana - num) <= 1e-6 + 1e-5 * fabs(num)) && bad++ < 3)
            printf("\n  %s{%s}: element %lld analytic %.9g, numerical %.9g", c->op, c->vals,
                   (long long)i, ana, num);
    }
    CU_ASSERT_EQUAL(bad, 0);
    am_scope_end();
}

static void test_loss_gradients(void)
{
    const loss_case cases[] = {
        {"SoftmaxOutput", "", "", L_CE, AM_SHAPE(4, 5), AM_SHAPE(4), 1, 0, 0, -100},
        {"SoftmaxOutput", "normalization|grad_scale", "batch|0.5", L_CE, AM_SHAPE(4, 5),
         AM_SHAPE(4), 0.5 / 4, 0, 0, -100},
        {"SoftmaxOutput", "smooth_alpha", "0.3", L_CE, AM_SHAPE(3, 6), AM_SHAPE(3), 1, 0.3, 0,
         -100},
        {"SoftmaxOutput", "use_ignore|ignore_label", "True|1", L_CE, AM_SHAPE(8, 3), AM_SHAPE(8),
         1, 0, 0, 1},
        {"SoftmaxOutput", "preserve_shape", "True", L_CE, AM_SHAPE(2, 3, 4), AM_SHAPE(2, 3), 1, 0,
         0, -100},
        {"LinearRegressionOutput", "grad_scale", "2", L_SQUARE, AM_SHAPE(3, 4), AM_SHAPE(3, 4),
         2.0 / 4, 0, 0, 0},
        {"LinearRegressionOutput", "", "", L_SQUARE, AM_SHAPE(5, 1), AM_SHAPE(5), 1, 0, 0, 0},
        {"LogisticRegressionOutput", "", "", L_LOGISTIC, AM_SHAPE(2, 3), AM_SHAPE(2, 3), 1.0 / 3,
         0, 0, 0},
        {"MAERegressionOutput", "grad_scale", "3", L_ABS, AM_SHAPE(6), AM_SHAPE(6), 3, 0, 0, 0},
        {"SVMOutput", "margin", "0.5", L_HINGE2, AM_SHAPE(4, 3), AM_SHAPE(4), 1, 0, 0.5, 0},
        {"SVMOutput", "use_linear|regularization_coefficient", "True|0.25", L_HINGE1,
         AM_SHAPE(4, 3), AM_SHAPE(4), 0.25, 0, 1, 0},
        {"MakeLoss", "normalization|grad_scale", "batch|3", L_SUM, AM_SHAPE(5, 2), {0}, 3.0 / 5,
         0, 0, 0},
        {"make_loss", "", "", L_SUM, AM_SHAPE(2, 3), {0}, 1, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) check_loss(&cases[i]);
}

/* ---- inference without a label -------------------------------------------------------- */

#define FIX "tests/fixtures/module_mlp"

/* The fixture's parameters, named as in the graph (without arg:). */
static int fixture_params(am_ndlist *l, const char **names, am_array **vals)
{
    int n = am_ndlist_size(l);
    for (int i = 0; i < n; i++) {
        names[i] = am_ndlist_name(l, i) + 4; /* "arg:" */
        vals[i] = am_ndlist_get(l, i);
    }
    return n;
}

static const double fix_x[] = {-0.556, 0.741, -0.587, 0.837, -0.023, 0.223, 0.532, 0.037,
                               -0.406, -0.625, -0.839, 0.477, -0.117, -0.683, 0.760, -0.452,
                               -0.172, -0.408, 0.258,  0.160,  0.200,  -0.468, -0.431, -0.493};
static const double fix_label[] = {0, 1, 2, 2, 1, 0};
/* MXNet 1.9.1's Module: forward output and, after backward, two parameter gradients. */
static const double fix_y[] = {0.2093614, 0.3617561, 0.4288824, 0.23639,   0.3780729, 0.3855371,
                               0.269972,  0.3819626, 0.3480653, 0.3090668, 0.3918381, 0.2990951,
                               0.2721393, 0.3894909, 0.3383697, 0.4113406, 0.3105173, 0.2781422};
static const double fix_fc2_bias_grad[] = {-0.2917299, 0.2136379, 0.07809201};
static const double fix_fc1_bias_grad[] = {-0.9383399, 0.1063496,  0.2373352,  -0.2216504,
                                           -0.08783162, 0.1367211, 0.02877508, 0.3429864};

/* The checkpoint MXNet wrote, run for inference with only data bound: the
 * label variable (softmax_label) is read only by SoftmaxOutput's gradient. */
static void test_inference_without_label(void)
{
    am_scope_begin();
    am_graph *g = am_graph_load(FIX "-symbol.json");
    am_ndlist *l = am_ndlist_load(FIX "-0000.params");
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    const char *names[16];
    am_array *vals[16], *x = ref_array(fix_x, AM_SHAPE(6, 4), AM_DTYPE_FLOAT32), *y = NULL;
    int n = fixture_params(l, names, vals);
    names[n] = "data", vals[n] = x;
    /* node by node */
    CU_ASSERT_EQUAL(am_graph_eval(g, names, vals, n + 1, false, &y, 1), AM_OK);
    CU_ASSERT(tu_values_are(y, AM_SHAPE(6, 3), fix_y, 18, 2e-6));
    /* a plan, parameters bound by name, the label not */
    am_shape xs = AM_SHAPE(6, 4);
    am_plan *p = am_plan_create(g, &(am_plan_opts){.names = (const char *[]){"data"},
                                                   .shapes = &xs, .n = 1});
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (int i = 0; i <= n; i++) CU_ASSERT_EQUAL(am_plan_bind(p, names[i], vals[i]), AM_OK);
    CU_ASSERT_EQUAL(am_plan_run(p), AM_OK);
    CU_ASSERT(tu_values_are(am_plan_output(p, 0), AM_SHAPE(6, 3), fix_y, 18, 2e-6));
    am_plan_release(p);
    /* Training needs the label: its gradient graph reads it. */
    am_shape shapes[16];
    am_dtype dtypes[16];
    for (int i = 0; i <= n; i++) shapes[i] = am_array_shape(vals[i]), dtypes[i] = AM_DTYPE_FLOAT32;
    CU_ASSERT_EQUAL(am_graph_infer(g, names, shapes, dtypes, n + 1), AM_OK);
    am_graph *gg = am_graph_gradient(g, (const char *[]){"fc2_bias"}, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gg);
    p = am_plan_create(gg, &(am_plan_opts){.training = true, .names = (const char *[]){"data"},
                                           .shapes = &xs, .n = 1});
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (int i = 0; i <= n; i++) am_plan_bind(p, names[i], vals[i]);
    am_plan_bind(p, "softmax_output_head_grad", am_ones(AM_SHAPE(6, 3), AM_DTYPE_FLOAT32));
    TU_ASSERT_STATUS(am_plan_run(p), AM_ERR_ARG, "no array bound to the input 'softmax_label'");
    am_array *lab = ref_array(fix_label, AM_SHAPE(6), AM_DTYPE_FLOAT32);
    CU_ASSERT_EQUAL(am_plan_bind(p, "softmax_label", lab), AM_OK);
    CU_ASSERT_EQUAL(am_plan_run(p), AM_OK);
    CU_ASSERT(tu_values_are(am_plan_output(p, 1), AM_SHAPE(3), fix_fc2_bias_grad, 3, 2e-6));
    am_plan_release(p);
    am_graph_release(gg);
    am_ndlist_free(l);
    am_graph_release(g);
    am_scope_end();
}

/* ---- errors ------------------------------------------------------------------------------ */

static void test_errors(void)
{
    am_scope_begin();
    am_array *x = am_zeros(AM_SHAPE(4, 5), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_softmax_output(x, am_zeros(AM_SHAPE(3), AM_DTYPE_FLOAT32), 1, NULL),
                    AM_ERR_SHAPE, "SoftmaxOutput: label (3,) must be (4,) (data's shape without "
                    "its last axis) or data's shape (4, 5) at test_ops_output.c");
    TU_ASSERT_FAILS(am_softmax_output(x, am_zeros(AM_SHAPE(4), AM_DTYPE_FLOAT64), 1, NULL),
                    AM_ERR_DTYPE, "SoftmaxOutput: label is float64 but data is float32");
    TU_ASSERT_FAILS(am_softmax_output(x, am_zeros(AM_SHAPE(4), AM_DTYPE_FLOAT32), 1, "sum"),
                    AM_ERR_ARG, "normalization must be null, batch or valid, not 'sum'");
    TU_ASSERT_FAILS(am_softmax_output(am_zeros(AM_SHAPE(4), AM_DTYPE_INT32),
                                      am_zeros(AM_SHAPE(), AM_DTYPE_INT32), 1, NULL),
                    AM_ERR_DTYPE, "data must be float32 or float64, not int32");
    am_array *in[2] = {am_zeros(AM_SHAPE(2, 3, 4), AM_DTYPE_FLOAT32),
                       am_zeros(AM_SHAPE(2, 3, 4), AM_DTYPE_FLOAT32)}, *y = NULL;
    CU_ASSERT_EQUAL(tu_invoke("SoftmaxOutput", in, 2, "multi_output", "True", &y, 1), AM_OK);
    in[1] = am_zeros(AM_SHAPE(2, 2), AM_DTYPE_FLOAT32);
    TU_ASSERT_STATUS(tu_invoke("SoftmaxOutput", in, 2, "multi_output", "True", &y, 1),
                     AM_ERR_SHAPE, "label (2, 2) must be (2, 4), (2, 4), (2, 1, 4) or data's "
                     "shape (2, 3, 4) with multi_output");
    TU_ASSERT_FAILS(am_linear_regression_output(x, am_zeros(AM_SHAPE(5, 4), AM_DTYPE_FLOAT32), 1),
                    AM_ERR_SHAPE, "LinearRegressionOutput: label (5, 4) must have data's shape "
                    "(4, 5)");
    TU_ASSERT_FAILS(am_svm_output(am_zeros(AM_SHAPE(4), AM_DTYPE_FLOAT32),
                                  am_zeros(AM_SHAPE(), AM_DTYPE_FLOAT32), 1, 1, false),
                    AM_ERR_SHAPE, "SVMOutput: data (4,) needs at least 2 dimensions");
    TU_ASSERT_FAILS(am_softmax_activation(x, true), AM_ERR_SHAPE,
                    "SoftmaxActivation: data (4, 5) needs at least 3 dimensions with mode=channel");
    TU_ASSERT_FAILS(am_make_loss(x, 1, 0, "all"), AM_ERR_ARG,
                    "MakeLoss: normalization must be null, batch or valid, not 'all'");
    /* Without preserve_shape or multi_output, 3-D data's label (n, c) has no
     * gradient: MXNet's backward rejects it too. */
    am_array *d = am_zeros(AM_SHAPE(2, 3, 4), AM_DTYPE_FLOAT32);
    am_attach_grad(d, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    y = am_softmax_output(d, am_zeros(AM_SHAPE(2, 3), AM_DTYPE_FLOAT32), 1, NULL);
    am_autograd_end();
    CU_ASSERT_PTR_NOT_NULL(y);
    TU_ASSERT_STATUS(am_backward(y), AM_ERR_SHAPE,
                     "the gradient needs one label per softmax row: 6 labels for 2 rows");
    am_scope_end();
}

/* ---- fine-tuning a Module checkpoint --------------------------------------------------- */

#define STEPS 8

/* Mean cross-entropy of the softmax output y at the fixture's labels. */
static double cross_entropy(am_array *y)
{
    am_view v = am_array_view(y);
    double sum = 0;
    for (int i = 0; i < 6; i++) sum -= log(am_view_get(&v, i * 3 + (int64_t)fix_label[i]));
    return sum / 6;
}

static am_array *param_grad(am_block *b, const char *name)
{
    am_param *p[4];
    return am_block_collect_params(b, name, p, 4) == 1 ? am_param_grad(p[0]) : NULL;
}

/* Imports the checkpoint with data and softmax_label as inputs and takes
 * STEPS SGD steps (rescale 1 / batch, as Module's SGD); loss[s] before step s. */
static void fine_tune(bool hybrid, double *loss, am_array **grads)
{
    const char *inputs[] = {"data", "softmax_label"};
    am_block *b = am_symbol_block_import(FIX "-symbol.json", FIX "-0000.params", inputs, 2,
                                         am_cpu());
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    if (hybrid) CU_ASSERT_EQUAL(am_block_hybridize(b, true, NULL), AM_OK);
    am_trainer_opts o = am_trainer_defaults("sgd");
    o.lr = 0.5;
    am_trainer *t = am_trainer_create(b, NULL, "sgd", &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    am_array *x = ref_array(fix_x, AM_SHAPE(6, 4), AM_DTYPE_FLOAT32);
    am_array *lab = ref_array(fix_label, AM_SHAPE(6), AM_DTYPE_FLOAT32);
    for (int s = 0; s < STEPS; s++) {
        am_scope_begin();
        am_autograd_record_begin(true);
        am_array *y = am_block_call2(b, x, lab);
        am_autograd_end();
        CU_ASSERT_PTR_NOT_NULL_FATAL(y);
        if (s == 0) CU_ASSERT(tu_values_are(y, AM_SHAPE(6, 3), fix_y, 18, 2e-6));
        loss[s] = cross_entropy(y);
        CU_ASSERT_EQUAL(am_backward(y), AM_OK);
        if (s == 0) {
            grads[0] = am_retain(am_copy(param_grad(b, "fc2_bias")));
            grads[1] = am_retain(am_copy(param_grad(b, "fc1_bias")));
        }
        CU_ASSERT_EQUAL(am_trainer_step(t, 6), AM_OK);
        am_scope_end();
    }
    am_trainer_free(t);
    am_block_release(b);
}

/* MXNet's gradients at the first step, eagerly and hybridized, and a
 * falling loss. */
static void test_fine_tune_module_checkpoint(void)
{
    am_scope_begin();
    double eager[STEPS], hybrid[STEPS];
    am_array *ge[2] = {0}, *gh[2] = {0};
    fine_tune(false, eager, ge);
    fine_tune(true, hybrid, gh);
    for (int k = 0; k < 2; k++) {
        CU_ASSERT(tu_values_are(ge[k], k ? AM_SHAPE(8) : AM_SHAPE(3),
                                k ? fix_fc1_bias_grad : fix_fc2_bias_grad, k ? 8 : 3, 2e-6));
        CU_ASSERT(tu_allclose(gh[k], ge[k], 1e-5));
        am_release(ge[k]), am_release(gh[k]);
    }
    for (int s = 0; s < STEPS; s++) CU_ASSERT(fabs(eager[s] - hybrid[s]) < 1e-5);
    CU_ASSERT(eager[STEPS - 1] < eager[0] - 0.1);
    am_scope_end();
}

CU_TestInfo am_tests_ops_output[] = {
    {"outputs and gradients match MXNet (eager)", test_against_mxnet_eager},
    {"outputs and gradients match MXNet (am_graph_gradient)", test_against_mxnet_symbolic},
    {"loss gradients against central differences of the loss", test_loss_gradients},
    {"softmax_cross_entropy matches MXNet", test_softmax_cross_entropy},
    {"a Module checkpoint runs without its label", test_inference_without_label},
    {"errors name the op and the shapes", test_errors},
    {"a Module checkpoint fine-tunes eagerly and hybridized", test_fine_tune_module_checkpoint},
    CU_TEST_INFO_NULL,
};
