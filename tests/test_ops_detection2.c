/* The ops_detection2 suite: _contrib_Proposal and _contrib_MultiProposal against
 * numbers MXNet 1.9.1 computed (build/mxnet-venv; inputs from
 * numpy.random.RandomState(7): cls_prob uniform in [0, 1) (2, 6, 3, 4), bbox_pred
 * uniform in [-0.3, 0.3) (2, 12, 3, 4), im_info [[20, 28, 1], [24, 32, 0.5]]: the
 * first image leaves the map's last row and column padded); _contrib_PSROIPooling
 * and its gradient on hand-checked numbers; errors. */
#include "test_util.h"

#include <amber/autograd.h>

static const double pr_cls[] = {0.0763082877, 0.77991879, 0.438409239, 0.723465204, 0.977989495, 0.538495898, 0.501120448, 0.0720511302, 0.268438995, 0.499882489, 0.679229975, 0.803739011, 0.380941123, 0.0659363493, 0.288145602, 0.909593523, 0.213385358, 0.45212397, 0.931206048, 0.0248992275, 0.600548923, 0.950129509, 0.230302885, 0.548489928, 0.909128368, 0.133169442, 0.523412585, 0.750409842, 0.669013262, 0.467752874, 0.204849094, 0.490765899, 0.372384697, 0.477401167, 0.365890384, 0.837917984, 0.768647492, 0.313994676, 0.572625339, 0.276049048, 0.452842921, 0.352978379, 0.657399476, 0.370351076, 0.459092975, 0.719324112, 0.412991822, 0.906423271, 0.180451617, 0.741118848, 0.42237404, 0.426453561, 0.634379864, 0.522906184, 0.414885968, 0.0014268806, 0.0922623426, 0.709394395, 0.524345577, 0.696160436, 0.955468297, 0.68291384, 0.0531286895, 0.308852673, 0.592594683, 0.235120401, 0.964971006, 0.945048213, 0.848400891, 0.472323984, 0.841476738, 0.131110638, 0.308733672, 0.462996393, 0.741847217, 0.485825241, 0.136876121, 0.343536526, 0.324426174, 0.300418913, 0.165501401, 0.414901763, 0.448120654, 0.774900377, 0.796390712, 0.522390127, 0.460630298, 0.77821362, 0.887288928, 0.674918771, 0.800479054, 0.939111352, 0.0406558104, 0.875671744, 0.276563078, 0.475764513, 0.796760976, 0.717242241, 0.147147566, 0.658748269, 0.0692520663, 0.357070625, 0.812829554, 0.427704841, 0.59985441, 0.728161275, 0.82122761, 0.760515094, 0.00714327535, 0.420256823, 0.463136226, 0.0554995015, 0.541442156, 0.607770741, 0.828453183, 0.941809297, 0.128147855, 0.230430678, 0.659158409, 0.13247399, 0.22407864, 0.574862599, 0.169523731, 0.782230139, 0.856975615, 0.0336742029, 0.532644808, 0.796951354, 0.975139678, 0.274258584, 0.169101059, 0.876700938, 0.909182489, 0.197532892, 0.441529751, 0.719232142, 0.84534514, 0.168275312, 0.664968967, 0.80783546, 0.549714148, 0.164716661, 0.0355288051, 0.281533808};
static const double pr_bbox[] = {0.184722513, -0.273140252, -0.295070112, -0.0830300078, -0.261826634, -0.210308224, -0.286085784, 0.0148319025, 0.118017539, -0.043767903, -0.219257727, -0.101185672, 0.0542075112, 0.264396846, 0.295534641, -0.155038252, -0.293652058, 0.198384196, 0.255967766, -0.024837913, 0.1628654, 0.219719425, 0.0657688826, 0.223576307, -0.285658181, -0.137042865, -0.133668244, -0.227620542, 0.246428072, -0.281736434, 0.103536621, -0.257196188, -0.0835317001, -0.0491402745, -0.19115743, 0.012608462, 0.0209950563, -0.109773673, 0.142252833, -0.203878552, -0.184495062, -0.0872933865, -0.0729743168, -0.176228493, 0.251225531, 0.196856141, -0.235873953, -0.0783084482, -0.160397336, -0.0293528382, -0.134209692, 0.00108413468, 0.253561884, -0.0704933181, 0.0900769979, 0.0573726669, 0.151172131, -0.263000816, 0.146894202, 0.267765552, 0.0621357299, -0.127452031, 0.103421532, 0.127229273, 0.0938701704, -0.211841807, 0.284085333, 0.273230076, -0.0452246815, 0.0561823994, -0.276222855, 0.293180615, 0.191247001, 0.0819014087, 0.156650841, -0.187182039, -0.115407243, -0.152163818, 0.0576294735, -0.244857088, 0.237365991, -0.0226344354, -0.0331125818, -0.237173215, 0.110942423, 0.190136403, 0.0777301043, -0.154786438, 0.171252429, -0.212592334, 0.196365803, 0.0484232232, -0.126376316, 0.00794603955, 0.0773108453, -0.144846305, 0.208143935, -0.0472477749, 0.23540248, 0.20128113, -0.240391493, 0.0877524689, -0.113703258, 0.15243192, 0.0255789943, -0.0254406761, 0.237220064, -0.265647858, 0.0343905762, -0.103253342, -0.278836012, 0.152111113, 0.0370443948, 0.236487195, 0.0589567348, -0.0977794304, 0.291131794, -0.230571568, -0.268438965, 0.139573142, -0.0774750635, -0.0831209496, 0.225919291, -0.103623815, 0.233393162, 0.0863927901, -0.102570273, -0.264280409, -0.152934387, 0.28104791, -0.0568394177, -0.203979924, -0.121192053, 0.239745468, -0.201013967, 0.166716039, -0.219081223, 0.276836216, 0.0181232318, -0.274098039, 0.258572817, -0.0850646719, 0.13885276, 0.0142248087, -0.244450912, -0.236364469, -0.210465029, -0.203280002, -0.268346518, -0.271792114, 0.269056976, -0.245224923, 0.00501100533, -0.228822112, -0.17112729, 0.157843247, 0.262880892, -0.0181723833, -0.296614826, 0.299524993, -0.271336079, -0.0663312599, 0.0234340206, 0.235040069, 0.193867266, 0.0656319857, -0.0608386248, 0.20068723, 0.221435025, 0.223142952, 0.130581856, -0.241327599, -0.120852344, -0.00844676606, 0.00303202029, 0.199724048, -0.157297939, 0.0987544507, -0.0754800588, 0.165289536, -0.182535395, -0.0140236244, -0.237864852, -0.17280589, 0.261104822, -0.110371731, 0.2357862, 0.0145818526, -0.276580095, 0.175789014, -0.268825859, 0.196166113, -0.294720531, 0.104466796, -0.200571641, -0.0942748562, 0.271650851, -0.00825991575, 0.0944558308, 0.144441053, -0.234043211, 0.203277454, 0.248351961, -0.206747606, 0.0277430564, -0.129896924, 0.144388035, -0.283037752, 0.00752820214, 0.175688908, 0.14084214, -0.235089704, 0.199764058, -0.157295555, 0.184672579, -0.00172270089, -0.203504547, 0.140424401, 0.18474777, 0.119340688, 0.278907806, -0.146313325, -0.158542603, -0.21166195, 0.0236437265, -0.0603307076, -0.0860027671, -0.0238172393, -0.135274664, -0.297443777, -0.0169495866, -0.134469286, -0.030129835, 0.257325083, -0.192596748, 0.0824901462, 0.086648941, -0.131224096, -0.0174672026, 0.281766981, -0.0945239216, 0.127407104, 0.204131499, -0.0835853368, 0.293948472, 0.0755215436, 0.000591162359, 0.128944516, -0.0457020402, 0.127396032, -0.135118574, 0.256324977, 0.0251777023, -0.155010298, -0.0376820005, 0.237057924, 0.184233189, -0.00931862835, -0.0889789909, -0.0742515549, 0.28871721, -0.232672334, 0.233414337, 0.214565322, -0.165366963, -0.090384759, 0.0417359322, 0.181435615, 0.270267248, 0.295085222, -0.131260976, -0.184581861, -0.00736490823, 0.0345383398, 0.0940228105, -0.235445321, 0.0878136083, 0.252827436, 0.249120638, 0.266264409, 0.253403753, 0.276466697, -0.270784467, 0.249610916, -0.137272313, -0.107600562, -0.0248314552, 0.273168236};
/* Proposal image 0 [40, 56, 1]: scales=(1.5,), ratios=(0.5, 1, 2), feature_stride 8, rpn_min_size 4, pre 12, post 8, threshold 0.5 */
static const double pr_a_rois[] = {0, 14.9153557, 3.89662457, 22.0379868, 19, 0, 1.7087698, 0, 9.03782082, 11.5918045, 0, 5.13567305, 0, 17.1598587, 8.72706318, 0, 6.12962246, 10.1203995, 23.4295464, 17.4870205, 0, 1.69672346, 6.00570011, 11.3887615, 19, 0, 0, 5.43749142, 6.5194273, 18.8961067, 0, 7.91358185, 1.47190523, 21.3491058, 10.8477192, 0, 6.00099516, 4.60698414, 15.3071651, 13.3088121};
static const double pr_a_score[] = {0.964971006, 0.955468297, 0.741118848, 0.657399476, 0.634379864, 0.592594683, 0.572625339, 0.522906184};
/* MultiProposal, both images: scales=(1, 2, 3), ratios=(1,), feature_stride 8, pre 12, post 5, threshold 0.3, rpn_min_size 6, iou_loss */
static const double pr_b_rois[] = {0, 7.88629675, 0.0589567348, 27, 19, 0, 0, 0, 14.9225254, 14.878808, 0, 0.184722513, 0.0542075112, 6.71434164, 7.02099514, 0, 15.7139139, 8.25596809, 23.1035366, 14.9270258, 0, 15.7049303, 0.295534641, 22.8663311, 7.14225292, 1, 0, 12.1997643, 11.0236435, 23, 1, 23.754776, 8.23503971, 31, 15.0145817, 1, 0, 0, 14.8346329, 15.0878134, 1, 19.7932529, 11.9982777, 31, 23, 1, 16.2690563, 8.02343369, 23.0030327, 15.2357864};
static const double pr_b_score[] = {0.964971006, 0.955468297, 0.768647492, 0.657399476, 0.572625339, 0.975139678, 0.941809297, 0.909182489, 0.876700938, 0.828453183};
/* Proposal image 1 [24, 32, 0.5]: as image 0 with post 6 and threshold 0.05 (fewer kept: repeated) */
static const double pr_c_rois[] = {0, 0, 15.8540859, 6.33503437, 23, 0, 13.8799963, 9.54926109, 31, 17.6814594, 0, 0, 0, 5.96340656, 13.2792597, 0, 20.108181, 0, 31, 4.84862518, 0, 0, 15.8540859, 6.33503437, 23, 0, 13.8799963, 9.54926109, 31, 17.6814594};
static const double pr_c_score[] = {0.975139678, 0.941809297, 0.909182489, 0.782230139, 0.975139678, 0.941809297};

#define N_OF(a) ((int64_t)(sizeof(a) / sizeof((a)[0])))

static const double pr_info[] = {20, 28, 1, 24, 32, 0.5};

/* Runs op on images [b0, b0 + nb) and compares both outputs. */
static bool proposal_matches(const char *op, int64_t b0, int64_t nb, const char *keys,
                             const char *vals, const double *rois, const double *score,
                             int64_t rows, am_dtype dt)
{
    am_scope_begin();
    am_array *in[3] = {tu_array_from(dt, AM_SHAPE(nb, 6, 3, 4), pr_cls + b0 * 72, nb * 72),
                       tu_array_from(dt, AM_SHAPE(nb, 12, 3, 4), pr_bbox + b0 * 144, nb * 144),
                       tu_array_from(dt, AM_SHAPE(nb, 3), pr_info + b0 * 3, nb * 3)};
    am_array *out[2] = {NULL, NULL};
    bool ok = tu_invoke(op, in, 3, keys, vals, out, 2) == AM_OK;
    ok = ok && tu_values_are(out[0], AM_SHAPE(rows, 5), rois, rows * 5, 1e-5);
    ok = ok && tu_values_are(out[1], AM_SHAPE(rows, 1), score, rows, 1e-5);
    if (!ok) printf("  (%s %s=%s, %s)\n", op, keys, vals, am_dtype_name(dt));
    am_scope_end();
    return ok;
}

static void test_proposal(void)
{
    for (int t = 0; t < 2; t++) {
        am_dtype dt = t ? AM_DTYPE_FLOAT64 : AM_DTYPE_FLOAT32;
        const char *keys = "scales|ratios|feature_stride|rpn_min_size|rpn_pre_nms_top_n|"
                           "rpn_post_nms_top_n|threshold|output_score";
        CU_ASSERT(proposal_matches("_contrib_Proposal", 0, 1, keys,
                                   "(1.5,)|(0.5, 1, 2)|8|4|12|8|0.5|True", pr_a_rois,
                                   pr_a_score, 8, dt));
        CU_ASSERT(proposal_matches("_contrib_Proposal", 1, 1, keys,
                                   "(1.5,)|(0.5, 1, 2)|8|4|12|6|0.05|True", pr_c_rois,
                                   pr_c_score, 6, dt));
        CU_ASSERT(proposal_matches("_contrib_MultiProposal", 0, 2,
                                   "scales|ratios|feature_stride|rpn_min_size|rpn_pre_nms_top_n|"
                                   "rpn_post_nms_top_n|threshold|iou_loss|output_score",
                                   "(1, 2, 3)|(1,)|8|6|12|5|0.3|True|True", pr_b_rois,
                                   pr_b_score, 10, dt));
    }
    /* The C function: MXNet's default scales and ratios (12 anchors); without
     * output_score one output is visible. */
    am_scope_begin();
    am_array *c = am_zeros(AM_SHAPE(1, 24, 3, 4), AM_DTYPE_FLOAT32);
    am_array *b = am_zeros(AM_SHAPE(1, 48, 3, 4), AM_DTYPE_FLOAT32);
    am_array *i = tu_array_from(AM_DTYPE_FLOAT32, AM_SHAPE(1, 3), pr_info, 3);
    am_array *y = am_proposal(c, b, i, 12, 8, 0.5, 4, 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    CU_ASSERT(am_shape_equal(am_array_shape(y), AM_SHAPE(8, 5)));
    am_scope_end();
}

static void test_errors(void)
{
    am_scope_begin();
    am_array *c = tu_array_from(AM_DTYPE_FLOAT32, AM_SHAPE(2, 6, 3, 4), pr_cls, 144);
    am_array *b = tu_array_from(AM_DTYPE_FLOAT32, AM_SHAPE(2, 12, 3, 4), pr_bbox, 288);
    am_array *i = tu_array_from(AM_DTYPE_FLOAT32, AM_SHAPE(2, 3), pr_info, 6);
    TU_ASSERT_FAILS(am_proposal(am_zeros(AM_SHAPE(2, 24, 3, 4), AM_DTYPE_FLOAT32),
                                am_zeros(AM_SHAPE(2, 48, 3, 4), AM_DTYPE_FLOAT32), i, 12, 8, 0.5,
                                4, 8), AM_ERR_SHAPE, "Proposal takes one image (batch 1)");
    /* The default scales and ratios make 12 anchors, not 3. */
    TU_ASSERT_FAILS(am_multi_proposal(c, b, i, 12, 8, 0.5, 4, 8), AM_ERR_SHAPE,
                    "must be (N, 2 * 12 anchors, H, W) for 4 scales and 3 ratios");
    am_array *in[3] = {c, b, i}, *y[1] = {NULL};
    TU_ASSERT_STATUS(tu_invoke("_contrib_MultiProposal", in, 3, "scales|ratios|feature_stride",
                               "(1,)|(1, 2, 3)|4", y, 1), AM_ERR_ARG,
                     "an image of 20 x 28 needs a feature map of at least 5 x 7 cells");
    TU_ASSERT_STATUS(tu_invoke("_contrib_MultiProposal", in, 3, "scales|ratios",
                               "(1, x)|(1, 2, 3)", y, 1), AM_ERR_ARG, "scales='(1, x)'");
    in[1] = tu_array_from(AM_DTYPE_FLOAT32, AM_SHAPE(2, 8, 3, 4), pr_bbox, 192);
    TU_ASSERT_STATUS(tu_invoke("_contrib_MultiProposal", in, 3, "scales|ratios",
                               "(1,)|(1, 2, 3)", y, 1), AM_ERR_SHAPE,
                     "bbox_pred (2, 8, 3, 4) must be (2, 12, 3, 4)");
    in[1] = am_zeros(AM_SHAPE(2, 12, 3, 4), AM_DTYPE_FLOAT64);
    TU_ASSERT_STATUS(tu_invoke("_contrib_MultiProposal", in, 3, "scales|ratios",
                               "(1,)|(1, 2, 3)", y, 1), AM_ERR_DTYPE, "input 1 is float64");
    am_scope_end();
}

/* PSROIPooling by hand: data (1, 4, 2, 2) holds 0..15, so channel k's pixels are
 * 4k..4k+3.  Roi 0 covers the map (one pixel per bin), roi 1 the pixel (0, 0)
 * (bins of half a pixel, each reading that pixel), roi 2 has batch index -1. */
static void test_psroi_pooling(void)
{
    for (int t = 0; t < 2; t++) {
        am_dtype dt = t ? AM_DTYPE_FLOAT64 : AM_DTYPE_FLOAT32;
        am_scope_begin();
        double v[16];
        for (int i = 0; i < 16; i++) v[i] = i;
        am_array *x = tu_array_from(dt, AM_SHAPE(1, 4, 2, 2), v, 16);
        am_array *r = tu_array(dt, AM_SHAPE(3, 5), 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, -1, 0, 0, 1, 1);
        am_attach_grad(x, AM_GRAD_WRITE);
        am_autograd_record_begin(true);
        am_array *y = am_psroi_pooling(x, r, 1.0, 1, 2, 0);
        am_autograd_end();
        TU_ASSERT_VALUES(y, AM_SHAPE(3, 1, 2, 2), 0, 0, 5, 10, 15, 0, 4, 8, 12, 0, 0, 0, 0);
        CU_ASSERT_EQUAL(am_backward_at(y, am_ones(AM_SHAPE(3, 1, 2, 2), dt), false, AM_HERE),
                        AM_OK);
        TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(1, 4, 2, 2), 0, 2, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1,
                         0, 1, 0, 0, 1);
        /* One bin over the roi: the mean of its pixels. */
        TU_ASSERT_VALUES(am_psroi_pooling(x, r, 1.0, 1, 1, 0), AM_SHAPE(3, 1, 1, 1), 0, 1.5, 0,
                         0);
        /* group_size 1 with 2 x 2 bins: every bin reads channel 0. */
        TU_ASSERT_VALUES(am_psroi_pooling(x, r, 1.0, 1, 2, 1), AM_SHAPE(3, 1, 2, 2), 0, 0, 1, 2,
                         3, 0, 0, 0, 0, 0, 0, 0, 0);
        am_scope_end();
    }
    am_scope_begin();
    am_array *x = am_zeros(AM_SHAPE(1, 7, 2, 2), AM_DTYPE_FLOAT32);
    am_array *r = am_zeros(AM_SHAPE(1, 5), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_psroi_pooling(x, r, 1.0, 2, 2, 0), AM_ERR_SHAPE,
                    "fewer than output_dim * group_size^2 = 8 channels");
    TU_ASSERT_FAILS(am_psroi_pooling(x, r, 2.0, 1, 2, 0), AM_ERR_ARG,
                    "spatial_scale=2 is outside [0, 1]");
    TU_ASSERT_FAILS(am_psroi_pooling(x, am_zeros(AM_SHAPE(1, 4), AM_DTYPE_FLOAT32), 1.0, 1, 2, 0),
                    AM_ERR_SHAPE, "must be (N, C, H, W) and (R, 5)");
    am_scope_end();
}

CU_TestInfo am_tests_ops_detection2[] = {
    {"Proposal and MultiProposal match MXNet", test_proposal},
    {"PSROIPooling and its gradient by hand", test_psroi_pooling},
    {"bad input fails with a clear message", test_errors},
    CU_TEST_INFO_NULL};
