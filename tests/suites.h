/* The CUnit suites, one per module: SUITE(name) expects am_tests_<name> (a
 * CU_TestInfo array) in tests/test_<name>.c. */
SUITE(ndarray)
SUITE(registry)
SUITE(gradcheck)

/* ops_elemwise */

/* ops_broadcast */
SUITE(ops_broadcast)

/* ops_reduce */
SUITE(ops_reduce)

/* ops_nn */
SUITE(ops_nn)

/* ops_matrix */

/* ops_shape */

/* io */
SUITE(io)
SUITE(gpu)

/* ops_conv */
SUITE(ops_conv)
