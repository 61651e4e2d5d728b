/* The ops_multibox suite: SSD's MultiBoxPrior and MultiBoxDetection against
 * numbers MXNet 1.9.1 computed (build/mxnet-venv; the script's output is pasted
 * below), including MXNet's nms_topk layout (rows past topk keep their unsorted
 * values with class -1), suppressed rows that keep their values, and no NMS
 * (unsorted) when nms_threshold is outside (0, 1]; float64 (which MXNet refuses)
 * against the same numbers; and errors. */
#include "test_util.h"

/* ---- MXNet 1.9.1's numbers ----------------------------------------------------- */

/* MultiBoxPrior on (1, 3, 2, 3) {sizes (0.5, 0.25), ratios (1, 2, 0.5)} */
static const double prior_a[] = {0, 0, 0.333333343, 0.5, 0.0833333358, 0.125, 0.25, 0.375, -0.0690355897, 0.0732233077, 0.402368933, 0.426776707, 0.048815541, -0.103553385, 0.284517795, 0.603553414, 0.333333313, 0, 0.666666687, 0.5, 0.416666657, 0.125, 0.583333313, 0.375, 0.264297724, 0.0732233077, 0.735702276, 0.426776707, 0.382148862, -0.103553385, 0.617851138, 0.603553414, 0.666666687, 0, 1, 0.5, 0.75000006, 0.125, 0.916666687, 0.375, 0.597631097, 0.0732233077, 1.06903565, 0.426776707, 0.715482235, -0.103553385, 0.951184511, 0.603553414, 0, 0.5, 0.333333343, 1, 0.0833333358, 0.625, 0.25, 0.875, -0.0690355897, 0.573223293, 0.402368933, 0.926776707, 0.048815541, 0.396446615, 0.284517795, 1.10355341, 0.333333313, 0.5, 0.666666687, 1, 0.416666657, 0.625, 0.583333313, 0.875, 0.264297724, 0.573223293, 0.735702276, 0.926776707, 0.382148862, 0.396446615, 0.617851138, 1.10355341, 0.666666687, 0.5, 1, 1, 0.75000006, 0.625, 0.916666687, 0.875, 0.597631097, 0.573223293, 1.06903565, 0.926776707, 0.715482235, 0.396446615, 0.951184511, 1.10355341};
/* ... {steps (0.3, 0.2), offsets (0.2, 0.7), clip True} */
static const double prior_b[] = {0, 0, 0.306666672, 0.310000002, 0.0566666648, 0, 0.223333329, 0.185000002, 0, 0, 0.375702262, 0.236776695, 0.0221488699, 0, 0.257851124, 0.413553387, 0.173333332, 0, 0.50666666, 0.310000002, 0.25666666, 0, 0.423333347, 0.185000002, 0.104297742, 0, 0.57570225, 0.236776695, 0.222148865, 0, 0.457851142, 0.413553387, 0.373333335, 0, 0.706666708, 0.310000002, 0.456666678, 0, 0.623333335, 0.185000002, 0.304297745, 0, 0.775702298, 0.236776695, 0.422148883, 0, 0.65785116, 0.413553387, 0, 0.110000014, 0.306666672, 0.610000014, 0.0566666648, 0.235000014, 0.223333329, 0.485000014, 0, 0.183223322, 0.375702262, 0.536776721, 0.0221488699, 0.00644662976, 0.257851124, 0.713553429, 0.173333332, 0.110000014, 0.50666666, 0.610000014, 0.25666666, 0.235000014, 0.423333347, 0.485000014, 0.104297742, 0.183223322, 0.57570225, 0.536776721, 0.222148865, 0.00644662976, 0.457851142, 0.713553429, 0.373333335, 0.110000014, 0.706666708, 0.610000014, 0.456666678, 0.235000014, 0.623333335, 0.485000014, 0.304297745, 0.183223322, 0.775702298, 0.536776721, 0.422148883, 0.00644662976, 0.65785116, 0.713553429};
/* MultiBoxPrior on (1, 1, 1, 2), defaults */
static const double prior_c[] = {0, 0, 0.5, 1, 0.5, 0, 1, 1};
static const double det_cls[] = {0.548813522, 0.715189338, 0.602763355, 0.544883192, 0.423654795, 0.64589411, 0.437587202, 0.891772985, 0.963662744, 0.383441508, 0.791725039, 0.528894901, 0.568044543, 0.925596654, 0.0710360557};
static const double det_loc[] = {-0.82574141, -0.959563196, 0.665239692, 0.556313515, 0.740024269, 0.957236707, 0.598317146, -0.0770412758, 0.561058342, -0.763451159, 0.279842049, -0.713293433, 0.889337838, 0.0436966419, -0.170676127, -0.470888764, 0.548467398, -0.0876993388, 0.136867896, -0.962420404};
static const double det_anc[] = {0.0500000007, 0.25, 0.150000006, 0.75, 0.0600000024, 0.25999999, 0.160000011, 0.75999999, 0.449999988, 0.25, 0.550000012, 0.75, 0.649999976, 0.25, 0.75, 0.75, 0.850000024, 0.25, 0.950000048, 0.75};
/* MultiBoxDetection {} */
static const double det_default[] = {0, 0.963662744, 0.660571337, 0.274654567, 0.757215381, 0.729715049, 0, 0.891772985, 0.452732354, 0.245064974, 0.558488786, 0.67858994, 1, 0.791725039, 0.0346273445, 0.172599703, 0.148857832, 0.731444001, 1, 0.528894901, 0.0610443763, 0.31168434, 0.173756123, 0.80403924, 0, 0.383441508, 0.854097128, 0.28938818, 0.956872344, 0.701841891};
/* MultiBoxDetection {'nms_topk': 2} */
static const double det_top2[] = {0, 0.963662744, 0.660571337, 0.274654567, 0.757215381, 0.729715049, 0, 0.891772985, 0.452732354, 0.245064974, 0.558488786, 0.67858994, -1, 0.891772985, 0.452732354, 0.245064974, 0.558488786, 0.67858994, -1, 0.963662744, 0.660571337, 0.274654567, 0.757215381, 0.729715049, -1, 0.383441508, 0.854097128, 0.28938818, 0.956872344, 0.701841891};
/* MultiBoxDetection {'nms_threshold': 0} */
static const double det_nonms[] = {1, 0.791725039, 0.0346273445, 0.172599703, 0.148857832, 0.731444001, 1, 0.528894901, 0.0610443763, 0.31168434, 0.173756123, 0.80403924, 0, 0.891772985, 0.452732354, 0.245064974, 0.558488786, 0.67858994, 0, 0.963662744, 0.660571337, 0.274654567, 0.757215381, 0.729715049, 0, 0.383441508, 0.854097128, 0.28938818, 0.956872344, 0.701841891};
/* MultiBoxDetection {'threshold': 0.6, 'clip': False} */
static const double det_th[] = {0, 0.963662744, 0.660571337, 0.274654567, 0.757215381, 0.729715049, 0, 0.891772985, 0.452732354, 0.245064974, 0.558488786, 0.67858994, 1, 0.791725039, 0.0346273445, 0.172599703, 0.148857832, 0.731444001, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
/* MultiBoxDetection {'force_suppress': True, 'nms_threshold': 0.05} */
static const double det_force[] = {0, 0.963662744, 0.660571337, 0.274654567, 0.757215381, 0.729715049, 0, 0.891772985, 0.452732354, 0.245064974, 0.558488786, 0.67858994, 1, 0.791725039, 0.0346273445, 0.172599703, 0.148857832, 0.731444001, -1, 0.528894901, 0.0610443763, 0.31168434, 0.173756123, 0.80403924, 0, 0.383441508, 0.854097128, 0.28938818, 0.956872344, 0.701841891};

#define N_OF(a) ((int64_t)(sizeof(a) / sizeof((a)[0])))

static void test_prior(void)
{
    for (int t = 0; t < 2; t++) {
        am_dtype dt = t ? AM_DTYPE_FLOAT64 : AM_DTYPE_FLOAT32;
        am_scope_begin();
        am_array *x = am_zeros(AM_SHAPE(1, 3, 2, 3), dt);
        am_array *y = am_multibox_prior(x, "(0.5, 0.25)", "(1, 2, 0.5)", false);
        CU_ASSERT(tu_values_are(y, AM_SHAPE(1, 24, 4), prior_a, N_OF(prior_a), 1e-6));
        CU_ASSERT(y && am_array_dtype(y) == dt);
        y = tu_invoke1("_contrib_MultiBoxPrior", x, "sizes|ratios|steps|offsets|clip",
                       "[0.5,0.25]|[1,2,0.5]|(0.3, 0.2)|(0.2, 0.7)|True");
        CU_ASSERT(tu_values_are(y, AM_SHAPE(1, 24, 4), prior_b, N_OF(prior_b), 1e-6));
        y = tu_invoke1("_contrib_MultiBoxPrior", am_zeros(AM_SHAPE(1, 1, 1, 2), dt), "", "");
        CU_ASSERT(tu_values_are(y, AM_SHAPE(1, 2, 4), prior_c, N_OF(prior_c), 1e-6));
        am_scope_end();
    }
}

static void test_detection(void)
{
    static const struct {
        const char *keys, *vals;
        const double *want;
    } cases[] = {
        {"", "", det_default},
        {"nms_topk", "2", det_top2},
        {"nms_threshold", "0", det_nonms},
        {"threshold|clip", "0.6|False", det_th},
        {"force_suppress|nms_threshold", "True|0.05", det_force},
    };
    for (int t = 0; t < 2; t++) {
        am_dtype dt = t ? AM_DTYPE_FLOAT64 : AM_DTYPE_FLOAT32;
        am_scope_begin();
        am_array *in[3] = {tu_array_from(dt, AM_SHAPE(1, 3, 5), det_cls, 15),
                           tu_array_from(dt, AM_SHAPE(1, 20), det_loc, 20),
                           tu_array_from(dt, AM_SHAPE(1, 5, 4), det_anc, 20)};
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            am_array *y = NULL;
            CU_ASSERT_EQUAL_FATAL(tu_invoke("_contrib_MultiBoxDetection", in, 3, cases[i].keys,
                                            cases[i].vals, &y, 1), AM_OK);
            if (!tu_values_are(y, AM_SHAPE(1, 5, 6), cases[i].want, 30, 1e-5))
                printf("  (MultiBoxDetection %s=%s)\n", cases[i].keys, cases[i].vals);
            CU_ASSERT(tu_values_are(y, AM_SHAPE(1, 5, 6), cases[i].want, 30, 1e-5));
        }
        am_array *y = am_multibox_detection(in[0], in[1], in[2], 0.01, 0.5, 2, false);
        CU_ASSERT(tu_values_are(y, AM_SHAPE(1, 5, 6), det_top2, 30, 1e-5));
        am_scope_end();
    }
}

static void test_errors(void)
{
    am_scope_begin();
    am_array *x = am_zeros(AM_SHAPE(1, 3, 2, 3), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_multibox_prior(x, "(0.5, abc)", NULL, false), AM_ERR_ARG,
                    "sizes='(0.5, abc)'");
    TU_ASSERT_FAILS(am_multibox_prior(x, "()", NULL, false), AM_ERR_ARG, "at least one value");
    TU_ASSERT_FAILS(tu_invoke1("_contrib_MultiBoxPrior", x, "steps", "(0.1,)"), AM_ERR_ARG,
                    "need 2 values each");
    TU_ASSERT_FAILS(am_multibox_prior(am_zeros(AM_SHAPE(3, 2, 3), AM_DTYPE_FLOAT32), NULL, NULL,
                                      false), AM_ERR_SHAPE, "(batch, channels, height, width)");
    am_array *c = am_zeros(AM_SHAPE(1, 3, 5), AM_DTYPE_FLOAT32);
    am_array *l = am_zeros(AM_SHAPE(1, 16), AM_DTYPE_FLOAT32);
    am_array *a = am_zeros(AM_SHAPE(1, 5, 4), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_multibox_detection(c, l, a, 0.01, 0.5, -1, false), AM_ERR_SHAPE,
                    "loc_pred (1, 16)");
    am_array *in[3] = {c, am_zeros(AM_SHAPE(1, 20), AM_DTYPE_FLOAT32), a}, *y = NULL;
    TU_ASSERT_STATUS(tu_invoke("_contrib_MultiBoxDetection", in, 3, "variances", "(0.1, 0.2)", &y,
                               1), AM_ERR_ARG, "variances='(0.1, 0.2)' needs 4 values");
    am_scope_end();
}

CU_TestInfo am_tests_ops_multibox[] = {
    {"MultiBoxPrior matches MXNet (sizes, ratios, steps, offsets, clip)", test_prior},
    {"MultiBoxDetection matches MXNet (topk, no NMS, threshold, force)", test_detection},
    {"bad input fails with a clear message", test_errors},
    CU_TEST_INFO_NULL};
