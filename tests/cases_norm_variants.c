/* Registry-driven cases for ndarray/ops/norm_variants.c, run in inference mode as
 * BatchNorm's are (tests/cases_norm.c): the moving statistics are index inputs. */
#include "test_util.h"

#define F64 AM_DTYPE_FLOAT64
#define F32 AM_DTYPE_FLOAT32
#define BN_AUX(t) .index_mask = 0x18, .index_hi = 3, .index_dtype = (t)

const am_op_case am_cases_norm_variants[] = {
    {.op = "_contrib_SyncBatchNorm", .attrs = "key=bn0", .shapes = "2,3,4;3;3;3;3",
     BN_AUX(F32)},
    {.op = "_contrib_SyncBatchNorm", .attrs = "key=bn1;ndev=2;fix_gamma=False;eps=1e-05",
     .shapes = "2,3,2,2;3;3;3;3", .dtype = F64, BN_AUX(F64)},
    {.op = "_contrib_SyncBatchNorm", .attrs = "key=k;output_mean_var=True;fix_gamma=False",
     .shapes = "4,2;2;2;2;2", .dtype = F64, BN_AUX(F64)},
    {.op = "_contrib_SyncBatchNorm", .attrs = "key=k", .shapes = "0,3;3;3;3;3", BN_AUX(F32)},
    {.op = "_contrib_BatchNormWithReLU", .shapes = "2,3,4;3;3;3;3", BN_AUX(F32)},
    {.op = "_contrib_BatchNormWithReLU", .attrs = "fix_gamma=False;axis=-1",
     .shapes = "2,2,3;3;3;3;3", .dtype = F64, BN_AUX(F64)},
    {.op = "_contrib_BatchNormWithReLU", .attrs = "output_mean_var=True;fix_gamma=False",
     .shapes = "2,3,2,2;3;3;3;3", .dtype = F64, BN_AUX(F64)},
    {.op = "_contrib_BatchNormWithReLU", .shapes = "0,3;3;3;3;3", BN_AUX(F32)},
    {0}};
