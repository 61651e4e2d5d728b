/* The ops_boxes suite: the detection box ops of ndarray/ops/boxes.c against
 * numbers MXNet 1.9.1 computed (build/mxnet-venv; the script's output is pasted
 * below): box_nms with ties, classes, background, topk, all suppressed,
 * zero-area boxes and format conversion, its gradient, box_iou, bipartite
 * matching (with MXNet's topk rule), box_encode and box_decode; and errors. */
#include "test_util.h"

#include <amber/autograd.h>

/* ---- MXNet 1.9.1's numbers ----------------------------------------------------- */

static const double nms_tie_x[] = {0, 0.5, 0, 0, 1, 1, 0, 0.5, 2, 2, 3, 3, 0, 0.5, 0, 0, 1, 1, 1, 0.899999976, 0.100000001, 0.100000001, 1, 1, 0, 0.200000003, 5, 5, 6, 6};
/* box_nms {'id_index': 0} */
static const double nms_tie_cls[] = {1, 0.899999976, 0.100000001, 0.100000001, 1, 1, 0, 0.5, 0, 0, 1, 1, 0, 0.5, 2, 2, 3, 3, 0, 0.200000003, 5, 5, 6, 6, -1, -1, -1, -1, -1, -1};
/* box_nms {'id_index': 0, 'topk': 2} */
static const double nms_tie_top2[] = {1, 0.899999976, 0.100000001, 0.100000001, 1, 1, 0, 0.5, 0, 0, 1, 1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
/* box_nms {'id_index': 0, 'background_id': 0} */
static const double nms_tie_bg0[] = {1, 0.899999976, 0.100000001, 0.100000001, 1, 1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
/* box_nms {'id_index': 0, 'force_suppress': True, 'out_format': 'center'} */
static const double nms_tie_force_center[] = {1, 0.899999976, 0.550000012, 0.550000012, 0.899999976, 0.899999976, 0, 0.5, 2.5, 2.5, 1, 1, 0, 0.200000003, 5.5, 5.5, 1, 1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
/* box_nms {} */
static const double nms_tie_nocls[] = {1, 0.899999976, 0.100000001, 0.100000001, 1, 1, 0, 0.5, 2, 2, 3, 3, 0, 0.200000003, 5, 5, 6, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
/* box_nms {'valid_thresh': 0.95} */
static const double nms_tie_none[] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
static const double nms_zero_x[] = {0, 0.899999976, 1, 1, 1, 1, 0, 0.800000012, 1, 1, 1, 1, 0, 0.699999988, 1, 1, 3, 3, 0, 0.600000024, -2, 1, 0, 2};
/* box_nms {} */
static const double nms_zero_y[] = {0, 0.899999976, 1, 1, 1, 1, 0, 0.800000012, 1, 1, 1, 1, 0, 0.699999988, 1, 1, 3, 3, 0, 0.600000024, -2, 1, 0, 2};
/* box_nms {in_format: center, out_format: corner} */
static const double nms_zero_c2c[] = {0, 0.899999976, 0.5, 0.5, 1.5, 1.5, 0, 0.699999988, -0.5, -0.5, 2.5, 2.5, 0, 0.600000024, -2, 1, 0, 2, -1, -1, -1, -1, -1, -1};
static const double nms_b_x[] = {0.0763082877, 0.77991879, 0.438409239, 0.723465204, 1.41639876, 1.2619611, 0.501120448, 0.0720511302, 0.268438995, 0.499882489, 0.94766897, 1.30362153, 0.380941123, 0.0659363493, 0.288145602, 0.909593523, 0.501530945, 1.36171746, 0.931206048, 0.0248992275, 0.600548923, 0.950129509, 0.830851793, 1.49861944, 0.909128368, 0.133169442, 0.523412585, 0.750409842, 1.19242585, 1.21816278, 0.204849094, 0.490765899, 0.372384697, 0.477401167, 0.738275051, 1.31531918, 0.768647492, 0.313994676, 0.572625339, 0.276049048, 1.02546823, 0.629027426, 0.657399476, 0.370351076, 0.459092975, 0.719324112, 0.872084796, 1.62574744, 0.180451617, 0.741118848, 0.42237404, 0.426453561, 1.05675387, 0.949359775, 0.414885968, 0.0014268806, 0.0922623426, 0.709394395, 0.616607904, 1.40555477};
static const double nms_b_hg[] = {0.910936654, 0.365827709, -0.893742621, -0.382294625, 0.185189381, -0.529759169, 0.929942012, 0.890096426, 0.696801782, -0.0553520061, 0.682953417, -0.737778723, -0.382532686, -0.0740072131, 0.483694404, -0.028349543, -0.726247787, -0.312926948, -0.351147652, -0.399162203, -0.668997228, -0.170196459, -0.103758685, 0.549800754, 0.592781425, 0.0447802544, -0.0787394047, 0.556427181, 0.774577916, 0.349837542, 0.600958109, 0.878222704, -0.918688357, 0.751343429, -0.446873844, -0.048471, 0.593521893, 0.434484452, -0.705704868, 0.317496508, -0.861495852, -0.28585875, 0.625659108, -0.144590333, 0.199708879, 0.456322581, 0.64245522, 0.521030247, -0.985713422, -0.159486338, -0.073727563, -0.889001012, 0.082884267, 0.215541497, 0.656906366, 0.883618534, -0.743704319, -0.539138675, 0.318316787, -0.735052049};
/* box_nms {overlap_thresh 0.3, topk 4} */
static const double nms_b_y[] = {0.0763082877, 0.77991879, 0.438409239, 0.723465204, 1.41639876, 1.2619611, 0.380941123, 0.0659363493, 0.288145602, 0.909593523, 0.501530945, 1.36171746, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0.180451617, 0.741118848, 0.42237404, 0.426453561, 1.05675387, 0.949359775, 0.657399476, 0.370351076, 0.459092975, 0.719324112, 0.872084796, 1.62574744, 0.768647492, 0.313994676, 0.572625339, 0.276049048, 1.02546823, 0.629027426, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
static const double nms_b_grad[] = {0.910936654, 0.365827709, -0.893742621, -0.382294625, 0.185189381, -0.529759169, 0, 0, 0, 0, 0, 0, 0.929942012, 0.890096426, 0.696801782, -0.0553520061, 0.682953417, -0.737778723, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.625659108, -0.144590333, 0.199708879, 0.456322581, 0.64245522, 0.521030247, 0.593521893, 0.434484452, -0.705704868, 0.317496508, -0.861495852, -0.28585875, 0.600958109, 0.878222704, -0.918688357, 0.751343429, -0.446873844, -0.048471, 0, 0, 0, 0, 0, 0};
static const double iou_l[] = {0.448157281, 1.1497252, 0.787204742, 2.71418548, 1.71395123, 0.0673484057, 2.77924085, 1.66125107, 1.95027936, 0.548517168, 2.28848147, 2.30191898};
static const double iou_r[] = {1.81836498, 0.395065784, 2.7014246, 1.83353007, 1, 1, 1, 1};
static const double iou_corner[] = {0, 0, 0.604354761, 0, 0.304197032, 0};
static const double iou_center[] = {0.0871501424, 0.122281491, 0.64209555, 0.0762542, 0.696426546, 0.124501104};
static const double bm_s[] = {0.5, 0.600000024, 0.100000001, 0.300000012, 0.600000024, 0.0500000007, 0.200000003, 0.100000001, 0.899999976};
/* {'threshold': 0.01} */
static const double bm_a_row[] = {1, 0, 2};
static const double bm_a_col[] = {1, 0, 2};
/* {'threshold': 0.01, 'topk': 1} */
static const double bm_top1_row[] = {1, -1, 2};
static const double bm_top1_col[] = {-1, 0, 2};
/* {'threshold': 0.4, 'is_ascend': True} */
static const double bm_asc_row[] = {-1, 2, 1};
static const double bm_asc_col[] = {-1, 2, 1};
/* {'threshold': 0.55} */
static const double bm_th_row[] = {1, -1, 2};
static const double bm_th_col[] = {-1, 0, 2};
static const double bm2_s[] = {0.549714148, 0.164716661, 0.0355288051, 0.281533808, 0.807870865, 0.0447662622, 0.00821650494, 0.361616641, 0.0636222884, 0.149486303, 0.023190368, 0.524719834, 0.696695924, 0.427053481, 0.134570464, 0.331357211, 0.59034586, 0.940661371, 0.992557704, 0.241602913, 0.0105799073, 0.830640316, 0.926612914, 0.458603472};
static const double bm2_row[] = {-1, 0, 3, 0, 2, 1};
static const double bm2_col[] = {1, -1, -1, 2, 0, 2, 1, -1};
static const double enc_samples[] = {1, -1, 0, 1, 1, 1, 0, -1};
static const double enc_matches[] = {0, 2, 1, 2, 1, 0, 2, 2};
static const double enc_anchors[] = {0.771442354, 0.866199017, 1.48105717, 1.83882618, 0.0239030253, 0.27159521, 0.40112263, 0.492227644, 0.910713434, 0.0304392669, 1.68327451, 0.201778963, 0.360780507, 0.418099552, 0.642184794, 1.03911364, 0.534991741, 0.317043871, 1.37207985, 0.577246308, 0.192508221, 0.354511023, 0.670884371, 0.660796881, 0.918709219, 0.828093588, 1.12558591, 1.29757953, 0.232671097, 0.451078594, 0.608988285, 1.05288553};
static const double enc_refs[] = {0.92260313, 0.382511139, 1.6727314, 1.07813227, 0.751953542, 0.0616653301, 1.5967772, 1.10794127, 0.603559554, 0.287579954, 1.37592876, 1.09962869, 0.656450272, 0.146930322, 1.72992587, 1.20231378, 0.424625546, 0.593637347, 0.564254105, 1.68227172, 0.818745017, 0.636502326, 1.67982972, 0.924532235};
static const double enc_means[] = {0.100000001, -0.100000001, 0.0500000007, 0};
static const double enc_stds[] = {0.100000001, 0.100000001, 0.200000003, 0.200000003};
static const double enc_targets[] = {1.41564154, -5.39701324, 0.0276095515, -1.67597829, 0, 0, 0, 0, 0, 0, 0, 0, 16.3508906, 0.436369055, 4.79835144, 1.34103291, -6.48444015, 27.5489224, -9.20471778, 7.15609682, 14.9182636, 6.45138121, 3.79129763, 6.18570293, 0, 0, 0, 0, 0, 0, 0, 0};
static const double enc_masks[] = {1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0};
static const double dec_x[] = {-0.384690821, -0.507212698, 0.192098245, -0.816190302, 0.79121995, -0.0754481182, -0.11037527, -0.790577412, 0.369808078, 0.63378799, 0.259100348, -0.515954792, 0.570841432, -0.708641112, 0.654552639, 0.161410734, -0.421254367, 0.0264867991, 0.257702798, -0.482821018, 0.693813145, -0.157492578, 0.784674942, 0.670937121};
static const double dec_anchors[] = {0.0993475169, 0.646254122, 0.509842098, 1.50030732, 0.542631686, 0.457598865, 1.53799844, 0.614852428, 0.557317615, 0.327911109, 0.692590952, 1.18142962};
static const double dec_center[] = {-0.405694725, -0.446373313, 0.212126608, 0.216931707, 1.07088946, 0.271766159, 2.44816401, 0.550652654, 0.364726193, 0.724071399, 1.26216049, 1.42930263, -0.100153342, -1.29848157, 0.880926362, 0.464630914, -1.10030664, 0.284189989, 0.889792893, 0.663578687, 0.278872466, -1.01363454, 1.79682018, 1.29732396};
static const double dec_corner_clip[] = {0.0755171996, 0.667250381, 0.502089715, 1.39267374, 0.632253102, 0.46791149, 1.60588783, 0.602166906, 0.558722793, 0.423847819, 0.701190808, 1.19368287, 0.101194202, 0.571722141, 0.554860876, 1.45379586, 0.474378011, 0.465252849, 1.52239159, 0.608031473, 0.559589646, 0.269586162, 0.709089805, 1.21287};

#define N_OF(a) ((int64_t)(sizeof(a) / sizeof((a)[0])))

static am_array *from(const double *v, int64_t n, am_shape s, am_dtype t)
{
    AM_ASSERT(am_shape_size(&s) == n);
    return tu_array_from(t, s, v, n);
}

/* One visible output of op on x with attributes keys = vals, compared with want. */
static void check1(const char *op, am_array *const *in, int n_in, const char *keys,
                   const char *vals, am_shape s, const double *want, int64_t n, double tol)
{
    am_array *y = NULL;
    CU_ASSERT_EQUAL_FATAL(tu_invoke(op, in, n_in, keys, vals, &y, 1), AM_OK);
    if (!tu_values_are(y, s, want, n, tol)) printf("  (%s %s=%s)\n", op, keys, vals);
    CU_ASSERT(tu_values_are(y, s, want, n, tol));
}

static void test_box_nms(void)
{
    static const struct {
        const char *keys, *vals;
        const double *want;
    } cases[] = {
        {"id_index", "0", nms_tie_cls},
        {"id_index|topk", "0|2", nms_tie_top2},
        {"id_index|background_id", "0|0", nms_tie_bg0},
        {"id_index|force_suppress|out_format", "0|True|center", nms_tie_force_center},
        {"", "", nms_tie_nocls},
        {"valid_thresh", "0.95", nms_tie_none},
    };
    for (int t = 0; t < 2; t++) {
        am_dtype dt = t ? AM_DTYPE_FLOAT64 : AM_DTYPE_FLOAT32;
        am_scope_begin();
        am_array *x = from(nms_tie_x, N_OF(nms_tie_x), AM_SHAPE(5, 6), dt);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
            check1("_contrib_box_nms", &x, 1, cases[i].keys, cases[i].vals, AM_SHAPE(5, 6),
                   cases[i].want, 30, 1e-6);
        /* Zero-area boxes never suppress (their IoU is 0/0); center rows whose
         * first value is negative are left unconverted, as MXNet leaves them. */
        am_array *z = from(nms_zero_x, N_OF(nms_zero_x), AM_SHAPE(4, 6), dt);
        check1("_contrib_box_nms", &z, 1, "", "", AM_SHAPE(4, 6), nms_zero_y, 24, 1e-6);
        check1("_contrib_box_non_maximum_suppression", &z, 1, "in_format", "center",
               AM_SHAPE(4, 6), nms_zero_c2c, 24, 1e-6);
        /* The eager helper uses MXNet's defaults. */
        am_array *y = am_box_nms(x, 0.5, 0, -1, 0, false);
        CU_ASSERT(tu_values_are(y, AM_SHAPE(5, 6), nms_tie_cls, 30, 1e-6));
        am_scope_end();
    }
}

/* A batch of two: survivors per batch, and the gradient that MXNet's backward
 * gives (rows of the head gradient back where they came from). */
static void test_box_nms_gradient(void)
{
    for (int t = 0; t < 2; t++) {
        am_dtype dt = t ? AM_DTYPE_FLOAT64 : AM_DTYPE_FLOAT32;
        am_scope_begin();
        am_array *x = from(nms_b_x, N_OF(nms_b_x), AM_SHAPE(2, 5, 6), dt), *y = NULL;
        am_attach_grad(x, AM_GRAD_WRITE);
        am_autograd_record_begin(true);
        CU_ASSERT_EQUAL(tu_invoke("_contrib_box_nms", &x, 1, "overlap_thresh|topk", "0.3|4", &y,
                                  1), AM_OK);
        am_autograd_end();
        CU_ASSERT_PTR_NOT_NULL_FATAL(y);
        CU_ASSERT(tu_values_are(y, AM_SHAPE(2, 5, 6), nms_b_y, N_OF(nms_b_y), 1e-6));
        am_array *hg = from(nms_b_hg, N_OF(nms_b_hg), AM_SHAPE(2, 5, 6), dt);
        CU_ASSERT_EQUAL(am_backward_at(y, hg, false, AM_HERE), AM_OK);
        CU_ASSERT(tu_values_are(am_grad(x), AM_SHAPE(2, 5, 6), nms_b_grad, N_OF(nms_b_grad),
                                1e-6));
        am_scope_end();
    }
}

static void test_box_iou(void)
{
    am_scope_begin();
    am_array *in[2] = {from(iou_l, 12, AM_SHAPE(3, 4), AM_DTYPE_FLOAT64),
                       from(iou_r, 8, AM_SHAPE(2, 4), AM_DTYPE_FLOAT64)};
    check1("_contrib_box_iou", in, 2, "", "", AM_SHAPE(3, 2), iou_corner, 6, 1e-5);
    check1("_contrib_box_iou", in, 2, "format", "center", AM_SHAPE(3, 2), iou_center, 6, 1e-5);
    am_array *f[2] = {am_astype(in[0], AM_DTYPE_FLOAT32), am_reshape(am_astype(in[1],
                      AM_DTYPE_FLOAT32), AM_SHAPE(1, 2, 4))};
    am_array *y = am_box_iou(f[0], f[1], "center");
    CU_ASSERT(tu_values_are(y, AM_SHAPE(3, 1, 2), iou_center, 6, 1e-5));
    /* Size 0 and identical boxes. */
    am_array *e = am_box_iou(am_zeros(AM_SHAPE(0, 4), AM_DTYPE_FLOAT32), f[0], NULL);
    CU_ASSERT(e && am_shape_equal(am_array_shape(e), AM_SHAPE(0, 3)));
    am_array *b = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 4), 0, 0, 2, 2, 1, 1, 3, 3);
    TU_ASSERT_VALUES(am_box_iou(b, b, NULL), AM_SHAPE(2, 2), 1e-6, 1, 1.0 / 7, 1.0 / 7, 1);
    am_scope_end();
}

static void test_bipartite_matching(void)
{
    static const struct {
        const char *keys, *vals;
        const double *row, *col;
    } cases[] = {
        {"threshold", "0.01", bm_a_row, bm_a_col},
        {"threshold|topk", "0.01|1", bm_top1_row, bm_top1_col},
        {"threshold|is_ascend", "0.4|True", bm_asc_row, bm_asc_col},
        {"threshold", "0.55", bm_th_row, bm_th_col},
    };
    for (int t = 0; t < 2; t++) {
        am_dtype dt = t ? AM_DTYPE_FLOAT64 : AM_DTYPE_FLOAT32;
        am_scope_begin();
        am_array *s = from(bm_s, 9, AM_SHAPE(3, 3), dt);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            am_array *o[2] = {0};
            CU_ASSERT_EQUAL_FATAL(tu_invoke("_contrib_bipartite_matching", &s, 1, cases[i].keys,
                                            cases[i].vals, o, 2), AM_OK);
            CU_ASSERT(tu_values_are(o[0], AM_SHAPE(3), cases[i].row, 3, 0));
            CU_ASSERT(tu_values_are(o[1], AM_SHAPE(3), cases[i].col, 3, 0));
        }
        am_array *s2 = from(bm2_s, 24, AM_SHAPE(2, 3, 4), dt), *o[2] = {0};
        CU_ASSERT_EQUAL_FATAL(am_bipartite_matching(s2, 0.2, false, -1, o), AM_OK);
        CU_ASSERT(tu_values_are(o[0], AM_SHAPE(2, 3), bm2_row, 6, 0));
        CU_ASSERT(tu_values_are(o[1], AM_SHAPE(2, 4), bm2_col, 8, 0));
        am_scope_end();
    }
}

static void test_box_encode_decode(void)
{
    for (int t = 0; t < 2; t++) {
        am_dtype dt = t ? AM_DTYPE_FLOAT64 : AM_DTYPE_FLOAT32;
        double tol = t ? 1e-6 : 1e-4;
        am_scope_begin();
        am_array *in[6] = {from(enc_samples, 8, AM_SHAPE(2, 4), dt),
                           from(enc_matches, 8, AM_SHAPE(2, 4), dt),
                           from(enc_anchors, 32, AM_SHAPE(2, 4, 4), dt),
                           from(enc_refs, 24, AM_SHAPE(2, 3, 4), dt),
                           from(enc_means, 4, AM_SHAPE(4), dt), from(enc_stds, 4, AM_SHAPE(4), dt)};
        am_array *o[2] = {0};
        CU_ASSERT_EQUAL_FATAL(am_box_encode(in[0], in[1], in[2], in[3], in[4], in[5], o), AM_OK);
        CU_ASSERT(tu_values_are(o[0], AM_SHAPE(2, 4, 4), enc_targets, 32, tol));
        CU_ASSERT(tu_values_are(o[1], AM_SHAPE(2, 4, 4), enc_masks, 32, 0));
        am_array *d[2] = {from(dec_x, 24, AM_SHAPE(2, 3, 4), dt),
                          from(dec_anchors, 12, AM_SHAPE(1, 3, 4), dt)};
        check1("_contrib_box_decode", d, 2, "", "", AM_SHAPE(2, 3, 4), dec_center, 24, tol);
        am_array *y = am_box_decode(d[0], d[1], ((const double[]){0.1, 0.1, 0.2, 0.2}), 0.1,
                                    "corner");
        CU_ASSERT(tu_values_are(y, AM_SHAPE(2, 3, 4), dec_corner_clip, 24, tol));
        am_scope_end();
    }
}

static void test_errors(void)
{
    am_scope_begin();
    am_array *x5 = am_zeros(AM_SHAPE(3, 5), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(tu_invoke1("_contrib_box_nms", x5, "", ""), AM_ERR_ARG, "coord_start=2");
    TU_ASSERT_FAILS(tu_invoke1("_contrib_box_nms", x5, "id_index", "0"), AM_ERR_SHAPE,
                    "_contrib_box_nms: data (3, 5) has rows of 5");
    am_array *x6 = am_zeros(AM_SHAPE(3, 6), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(tu_invoke1("_contrib_box_nms", x6, "score_index", "3"), AM_ERR_ARG,
                    "score_index=3");
    TU_ASSERT_FAILS(tu_invoke1("_contrib_box_nms", x6, "id_index", "1"), AM_ERR_ARG,
                    "id_index=1");
    TU_ASSERT_FAILS(tu_invoke1("_contrib_box_nms", am_zeros(AM_SHAPE(6), AM_DTYPE_FLOAT32), "",
                               ""), AM_ERR_SHAPE, "at least 2 axes");
    TU_ASSERT_FAILS(tu_invoke1("_contrib_box_nms", am_zeros(AM_SHAPE(3, 6), AM_DTYPE_INT32), "",
                               ""), AM_ERR_DTYPE, "float32 or float64");
    TU_ASSERT_FAILS(am_box_iou(x5, x6, NULL), AM_ERR_SHAPE, "lhs (3, 5) must be (..., 4)");
    TU_ASSERT_FAILS(am_box_iou(x6, x6, "middle"), AM_ERR_ARG, "format 'middle'");
    am_array *o[2];
    TU_ASSERT_STATUS(am_bipartite_matching(am_zeros(AM_SHAPE(3), AM_DTYPE_FLOAT32), 0.1, false,
                                           -1, o), AM_ERR_SHAPE, "(..., rows, columns)");
    /* A positive sample must match a ref. */
    am_array *smp = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 2), 1, 0);
    am_array *mt = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 2), 3, 9);
    am_array *anc = am_ones(AM_SHAPE(1, 2, 4), AM_DTYPE_FLOAT32);
    am_array *ref = am_ones(AM_SHAPE(1, 3, 4), AM_DTYPE_FLOAT32);
    am_array *ms = am_ones(AM_SHAPE(4), AM_DTYPE_FLOAT32);
    TU_ASSERT_STATUS(am_box_encode(smp, mt, anc, ref, ms, ms, o), AM_ERR_ARG,
                     "matches[0] = 3 of a positive sample");
    TU_ASSERT_STATUS(am_box_encode(smp, mt, anc, anc, ms, ms, o), AM_ERR_ARG, "matches[0]");
    TU_ASSERT_STATUS(am_box_encode(smp, smp, ref, ref, ms, ms, o), AM_ERR_SHAPE,
                     "must be (B, N), (B, N), (B, N, 4) and (B, M, 4)");
    TU_ASSERT_FAILS(am_box_decode(anc, ref, ((const double[]){1, 1, 1, 1}), -1, NULL),
                    AM_ERR_SHAPE, "anchors (1, 3, 4)");
    am_scope_end();
}

CU_TestInfo am_tests_ops_boxes[] = {
    {"box_nms matches MXNet (ties, classes, topk, background, none valid)", test_box_nms},
    {"box_nms over a batch and its gradient match MXNet", test_box_nms_gradient},
    {"box_iou matches MXNet (corner, center, size 0)", test_box_iou},
    {"bipartite_matching matches MXNet (topk, is_ascend, threshold)", test_bipartite_matching},
    {"box_encode and box_decode match MXNet", test_box_encode_decode},
    {"bad input fails with a clear message", test_errors},
    CU_TEST_INFO_NULL};
