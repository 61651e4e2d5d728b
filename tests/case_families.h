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
/* sort */
CASES(sort)

/* sequence */
CASES(sequence)

/* pad */
CASES(pad)

/* like */
CASES(like)

/* index_nd */
CASES(index_nd)

/* block */
CASES(block)

/* reduce_nan */
CASES(reduce_nan)
/* attention */
CASES(attention)
/* resize */
CASES(resize)
/* nn2 */
CASES(nn2)

/* dtypes */
CASES(dtypes)
/* math */
CASES(math)

/* linalg */
CASES(linalg)

/* optimizer2 */
CASES(optimizer2)
/* misc */
CASES(misc)

/* im2col */
CASES(im2col)

/* norm_variants */
CASES(norm_variants)

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

/* image */
CASES(image)

/* detection2 */
CASES(detection2)
/* misc2 */
CASES(misc2)

/* image_io */
CASES(image_io)
