/* Op case tables, one per op family: CASES(f) expects am_cases_<f>[] in
 * tests/cases_<f>.c, ending with {0}. */
CASES(init)

/* elemwise */
CASES(elemwise)

/* broadcast */
CASES(broadcast)

/* reduce */
CASES(reduce)

/* nn */
CASES(nn)

/* matrix */
CASES(matrix)

/* shape */
CASES(shape)

/* norm */
CASES(norm)
/* pool */
CASES(pool)

/* rnn */
CASES(rnn)

/* conv */
CASES(conv)

/* optimizer */
CASES(optimizer)

/* output */
CASES(output)

/* boxes */
CASES(boxes)

/* multibox */
CASES(multibox)

/* roi */
CASES(roi)

/* sampler */
CASES(sampler)

/* correlation */
CASES(correlation)
