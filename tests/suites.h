/* The CUnit suites, one per module: SUITE(name) expects am_tests_<name> (a
 * CU_TestInfo array) in tests/test_<name>.c. */
SUITE(ndarray)
SUITE(registry)
SUITE(gradcheck)
SUITE(autograd)
SUITE(symbol)

/* ops_elemwise */
SUITE(ops_elemwise)

/* ops_broadcast */
SUITE(ops_broadcast)

/* ops_reduce */
SUITE(ops_reduce)

/* ops_nn */
SUITE(ops_nn)

/* ops_matrix */
SUITE(ops_matrix)

/* ops_shape */
SUITE(ops_shape)
SUITE(ops_index)

/* io */
SUITE(io)
SUITE(gpu)
SUITE(grad_elemwise)

/* ops_norm */
SUITE(ops_norm)
/* ops_pool */
SUITE(ops_pool)

/* ops_rnn */
SUITE(ops_rnn)
SUITE(grad_shape)

/* ops_conv */
SUITE(ops_conv)
/* params */
SUITE(params)
SUITE(ops_rnn_unrolled)
SUITE(json)

/* plan */
SUITE(plan)
SUITE(plan_random)
/* graph_gradient */
SUITE(graph_gradient)
/* passes */
SUITE(pass_basic)
/* compose */
SUITE(compose)
SUITE(roundtrip)

/* tools */
SUITE(cli)
/* gemm */
SUITE(pass_gemm)
/* fuse */
SUITE(pass_fuse)
/* gemm2 */
SUITE(pass_gemm2)
/* fastmath */
SUITE(fastmath)
SUITE(hybrid)
SUITE(layers_rnn)
SUITE(layers)
SUITE(losses)
SUITE(data)
SUITE(metric)
SUITE(optimizer)
SUITE(trainer)
/* ops_output */
SUITE(ops_output)
SUITE(infer_partial)
SUITE(profiler)

/* ops_sort */
SUITE(ops_sort)

/* ops_sequence */
SUITE(ops_sequence)

/* ops_pad */
SUITE(ops_pad)

/* ops_like */
SUITE(ops_like)

/* ops_index_nd */
SUITE(ops_index_nd)

/* ops_block */
SUITE(ops_block)

/* ops_reduce_nan */
SUITE(ops_reduce_nan)
/* ops_attention */
SUITE(ops_attention)
/* ops_resize */
SUITE(ops_resize)
/* ops_nn2 */
SUITE(ops_nn2)

/* dtypes */
SUITE(dtypes)

/* ops_math */
SUITE(ops_math)
/* ops_linalg */
SUITE(ops_linalg)
SUITE(optimizer2)
/* ops_misc */
SUITE(ops_misc)
/* ops_boxes */
SUITE(ops_boxes)
/* ops_multibox */
SUITE(ops_multibox)
/* ops_roi */
SUITE(ops_roi)
/* ops_sampler */
SUITE(ops_sampler)
/* ops_correlation */
SUITE(ops_correlation)
/* ops_image */
SUITE(ops_image)
SUITE(examples)
/* files */
SUITE(files)
/* ops_control_flow */
SUITE(ops_control_flow)
/* ops_detection2 */
SUITE(ops_detection2)
/* ops_misc2 */
SUITE(ops_misc2)
/* ops_image_io */
SUITE(ops_image_io)
/* memlimit */
SUITE(memlimit)
/* limits */
SUITE(limits)
SUITE(scale)
SUITE(diagnostics)
SUITE(threads)
/* pass_facets */
SUITE(pass_facets)
/* gemm_facets */
SUITE(gemm_facets)
/* device */
SUITE(device)
/* conv_algos */
SUITE(conv_algos)
SUITE(layering)
