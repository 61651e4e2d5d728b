/* Op case tables, one per op family: CASES(f) expects am_cases_<f>[] in
 * tests/cases_<f>.c, ending with {0}. */
CASES(init)

/* elemwise */

/* broadcast */

/* reduce */

/* nn */

/* matrix */
CASES(matrix)

/* shape */
