/* Op values and gradients recorded from MXNet 1.9.1 in .npy fixtures (see
 * tests/fixtures/conv3d/make.py for the layout): shared by the op suites. */
#ifndef TESTS_MXNET_FIXTURES_H
#define TESTS_MXNET_FIXTURES_H

/* Runs every case of dir/manifest.txt whose op is op (NULL: all) in float32
 * (tolerance tol32) and float64 (tol64): the output of one eager call, and
 * every input's gradient for the recorded head gradient, through autograd.
 * Counts failures as CUnit asserts and returns the number of cases run. */
int tu_check_mxnet_fixtures(const char *dir, const char *op, double tol32, double tol64);

#endif
