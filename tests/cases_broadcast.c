/* Registry-driven cases for ndarray/ops/broadcast.c. */
#include "test_util.h"

const am_op_case am_cases_broadcast[] = {
    {0}};
