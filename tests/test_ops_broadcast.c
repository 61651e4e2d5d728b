/* The ops_broadcast suite. */
#include "test_util.h"

CU_TestInfo am_tests_ops_broadcast[] = {
    CU_TEST_INFO_NULL,
};
