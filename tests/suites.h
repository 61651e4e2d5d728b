/* The CUnit suites, one per module: SUITE(name) expects am_tests_<name> (a
 * CU_TestInfo array) in tests/test_<name>.c. */
SUITE(ndarray)
SUITE(registry)

/* ops_elemwise */

/* ops_broadcast */

/* ops_reduce */

/* ops_nn */

/* ops_matrix */
SUITE(ops_matrix)

/* ops_shape */

/* io */
