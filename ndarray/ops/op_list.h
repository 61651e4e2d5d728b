/* The built-in operators, one line each: AM_OP(id) names the definition
 * am_op_<id> in its family file.  Registry order is this order. */

/* init.c: creation and conversion */
AM_OP(zeros)
AM_OP(ones)
AM_OP(full)
AM_OP(arange)
AM_OP(linspace)
AM_OP(random_uniform)
AM_OP(random_normal)
AM_OP(zeros_like)
AM_OP(ones_like)
AM_OP(copy)
AM_OP(cast)
AM_OP(block_grad)

/* elemwise.c */
AM_OP(negative)
AM_OP(abs)
AM_OP(sign)
AM_OP(exp)
AM_OP(log)
AM_OP(log1p)
AM_OP(expm1)
AM_OP(sqrt)
AM_OP(rsqrt)
AM_OP(square)
AM_OP(reciprocal)
AM_OP(sin)
AM_OP(cos)
AM_OP(tanh)
AM_OP(sigmoid)
AM_OP(relu)
AM_OP(softsign)
AM_OP(erf)
AM_OP(round)
AM_OP(floor)
AM_OP(ceil)
AM_OP(plus_scalar)
AM_OP(minus_scalar)
AM_OP(rminus_scalar)
AM_OP(mul_scalar)
AM_OP(div_scalar)
AM_OP(rdiv_scalar)
AM_OP(mod_scalar)
AM_OP(rmod_scalar)
AM_OP(power_scalar)
AM_OP(rpower_scalar)
AM_OP(maximum_scalar)
AM_OP(minimum_scalar)
AM_OP(equal_scalar)
AM_OP(not_equal_scalar)
AM_OP(greater_scalar)
AM_OP(greater_equal_scalar)
AM_OP(lesser_scalar)
AM_OP(lesser_equal_scalar)
AM_OP(activation)
AM_OP(leaky_relu)

/* broadcast.c */
AM_OP(elemwise_add)
AM_OP(elemwise_sub)
AM_OP(elemwise_mul)
AM_OP(elemwise_div)
AM_OP(broadcast_add)
AM_OP(broadcast_sub)
AM_OP(broadcast_mul)
AM_OP(broadcast_div)
AM_OP(broadcast_mod)
AM_OP(broadcast_power)
AM_OP(broadcast_maximum)
AM_OP(broadcast_minimum)
AM_OP(broadcast_equal)
AM_OP(broadcast_not_equal)
AM_OP(broadcast_greater)
AM_OP(broadcast_greater_equal)
AM_OP(broadcast_lesser)
AM_OP(broadcast_lesser_equal)
AM_OP(clip)
AM_OP(where)
AM_OP(add_n)

/* reduce.c */
AM_OP(sum)
AM_OP(mean)
AM_OP(prod)
AM_OP(max)
AM_OP(min)
AM_OP(norm)
AM_OP(argmax)
AM_OP(argmin)

/* nn.c */
AM_OP(softmax)
AM_OP(log_softmax)
AM_OP(dropout)
AM_OP(layer_norm)
AM_OP(backward_layer_norm)
AM_OP(ctc_loss)

/* matrix.c */
AM_OP(dot)
AM_OP(batch_dot)
AM_OP(fully_connected)

/* shape.c */
AM_OP(reshape)
AM_OP(reshape_like)
AM_OP(flatten)
AM_OP(expand_dims)
AM_OP(squeeze)
AM_OP(transpose)
AM_OP(swap_axis)
AM_OP(concat)
AM_OP(stack)
AM_OP(split)
AM_OP(slice)
AM_OP(backward_slice)
AM_OP(slice_axis)
AM_OP(tile)
AM_OP(repeat)
AM_OP(broadcast_to)

/* index.c */
AM_OP(one_hot)
AM_OP(take)
AM_OP(backward_take)
AM_OP(embedding)
AM_OP(pick)

/* norm.c */
AM_OP(batch_norm)
AM_OP(backward_batch_norm)
AM_OP(instance_norm)
AM_OP(backward_instance_norm)
AM_OP(group_norm)
AM_OP(backward_group_norm)
AM_OP(l2_normalization)
AM_OP(backward_l2_normalization)
/* pool.c */
AM_OP(pooling)
AM_OP(backward_pooling)
AM_OP(upsampling)
AM_OP(backward_upsampling)

/* rnn.c */
AM_OP(rnn)
AM_OP(backward_rnn)
AM_OP(backward_pick)

/* conv.c */
AM_OP(convolution)
AM_OP(backward_convolution)
AM_OP(deconvolution)
AM_OP(backward_deconvolution)

/* optimizer.c */
AM_OP(sgd_update)
AM_OP(sgd_mom_update)
AM_OP(nag_mom_update)
AM_OP(adam_update)
AM_OP(rmsprop_update)
AM_OP(rmspropalex_update)
AM_OP(adagrad_update)
AM_OP(adamw_update)
AM_OP(lamb_update_phase1)
AM_OP(lamb_update_phase2)

/* optimizer2.c */
AM_OP(signsgd_update)
AM_OP(signum_update)
AM_OP(ftml_update)
AM_OP(ftrl_update)
AM_OP(group_adagrad_update)
AM_OP(mp_sgd_update)
AM_OP(mp_sgd_mom_update)
AM_OP(mp_nag_mom_update)
AM_OP(mp_lamb_update_phase1)
AM_OP(mp_lamb_update_phase2)
AM_OP(mp_adamw_update)

/* optimizer_multi.c */
AM_OP(multi_sgd_update)
AM_OP(multi_sgd_mom_update)
AM_OP(multi_mp_sgd_update)
AM_OP(multi_mp_sgd_mom_update)
AM_OP(preloaded_multi_sgd_update)
AM_OP(preloaded_multi_sgd_mom_update)
AM_OP(preloaded_multi_mp_sgd_update)
AM_OP(preloaded_multi_mp_sgd_mom_update)
AM_OP(multi_adamw_update)
AM_OP(multi_mp_adamw_update)
AM_OP(multi_lamb_update)
AM_OP(multi_mp_lamb_update)
AM_OP(multi_sum_sq)
AM_OP(all_finite)
AM_OP(multi_all_finite)
AM_OP(multi_lars)

/* output.c: Module-era output ops */
AM_OP(softmax_output)
AM_OP(backward_softmax_output)
AM_OP(linear_regression_output)
AM_OP(logistic_regression_output)
AM_OP(mae_regression_output)
AM_OP(svm_output)
AM_OP(backward_svm_output)
AM_OP(make_loss)
AM_OP(make_loss_plain)
AM_OP(softmax_activation)
AM_OP(softmax_cross_entropy)
/* sort.c */
AM_OP(topk)
AM_OP(backward_topk)
AM_OP(sort)
AM_OP(argsort)
AM_OP(reverse)

/* sequence.c */
AM_OP(sequence_mask)
AM_OP(sequence_last)
AM_OP(backward_sequence_last)
AM_OP(sequence_reverse)

/* shape_pad.c */
AM_OP(pad)
AM_OP(backward_pad)

/* shape_like.c */
AM_OP(broadcast_like)
AM_OP(broadcast_axis)
AM_OP(slice_like)

/* index_nd.c */
AM_OP(gather_nd)
AM_OP(backward_gather_nd)
AM_OP(scatter_nd)
AM_OP(scatter_set_nd)

/* shape_block.c */
AM_OP(depth_to_space)
AM_OP(space_to_depth)
AM_OP(diag)
AM_OP(backward_diag)
AM_OP(crop)

/* reduce_nan.c */
AM_OP(nansum)
AM_OP(nanprod)
AM_OP(argmax_channel)

/* cumsum.c */
AM_OP(np_cumsum)

/* shape_split.c */
AM_OP(split_v2)
AM_OP(shape_array)
AM_OP(size_array)
/* index_nd.c, continued */
AM_OP(ravel_multi_index)
AM_OP(unravel_index)

/* shape_assign.c */
AM_OP(slice_assign)
AM_OP(slice_assign_scalar)
/* attention.c */
AM_OP(interleaved_matmul_selfatt_qk)
AM_OP(interleaved_matmul_selfatt_valatt)
AM_OP(interleaved_matmul_encdec_qk)
AM_OP(interleaved_matmul_encdec_valatt)
AM_OP(backward_interleaved_matmul_selfatt_qk)
AM_OP(backward_interleaved_matmul_selfatt_valatt)
AM_OP(backward_interleaved_matmul_encdec_qk)
AM_OP(backward_interleaved_matmul_encdec_valatt)
AM_OP(div_sqrt_dim)
AM_OP(arange_like)
/* moments.c */
AM_OP(moments)
/* resize.c */
AM_OP(bilinear_resize_2d)
AM_OP(backward_bilinear_resize_2d)
AM_OP(adaptive_avg_pooling_2d)
AM_OP(backward_adaptive_avg_pooling_2d)
/* lrn.c, amp.c, roi_pooling.c */
AM_OP(lrn)
AM_OP(backward_lrn)
AM_OP(amp_cast)
AM_OP(amp_multicast)
AM_OP(roi_pooling)
AM_OP(backward_roi_pooling)
/* math.c */
AM_OP(tan)
AM_OP(arcsin)
AM_OP(arccos)
AM_OP(arctan)
AM_OP(sinh)
AM_OP(cosh)
AM_OP(arcsinh)
AM_OP(arccosh)
AM_OP(arctanh)
AM_OP(log2)
AM_OP(log10)
AM_OP(cbrt)
AM_OP(rcbrt)
AM_OP(degrees)
AM_OP(radians)
AM_OP(gamma)
AM_OP(gammaln)
AM_OP(erfinv)
AM_OP(trunc)
AM_OP(fix)
AM_OP(rint)
AM_OP(logical_not)
AM_OP(backward_gammaln)
AM_OP(hard_sigmoid)
AM_OP(smooth_l1)
AM_OP(round_ste)
AM_OP(sign_ste)
AM_OP(gradientmultiplier)
AM_OP(quadratic)
AM_OP(identity_with_attr_like_rhs)

/* broadcast.c: MXNet's _-prefixed binary forms, broadcast_hypot, broadcast_logical_* */
AM_OP(elemwise_maximum)
AM_OP(elemwise_minimum)
AM_OP(elemwise_power)
AM_OP(elemwise_mod)
AM_OP(elemwise_hypot)
AM_OP(elemwise_equal)
AM_OP(elemwise_not_equal)
AM_OP(elemwise_greater)
AM_OP(elemwise_greater_equal)
AM_OP(elemwise_lesser)
AM_OP(elemwise_lesser_equal)
AM_OP(elemwise_logical_and)
AM_OP(elemwise_logical_or)
AM_OP(elemwise_logical_xor)
AM_OP(broadcast_hypot)
AM_OP(broadcast_logical_and)
AM_OP(broadcast_logical_or)
AM_OP(broadcast_logical_xor)

/* elemwise.c: scalar forms */
AM_OP(hypot_scalar)
AM_OP(logical_and_scalar)
AM_OP(logical_or_scalar)
AM_OP(logical_xor_scalar)

/* nn.c: softmin */
AM_OP(softmin)

/* eye.c */
AM_OP(eye)

/* linalg.c: MXNet's _linalg_* family */
AM_OP(linalg_gemm)
AM_OP(linalg_gemm2)
AM_OP(linalg_potrf)
AM_OP(linalg_potri)
AM_OP(linalg_trmm)
AM_OP(linalg_trsm)
AM_OP(linalg_sumlogdiag)
AM_OP(linalg_syrk)
AM_OP(linalg_gelqf)
AM_OP(linalg_syevd)
AM_OP(linalg_inverse)
AM_OP(linalg_det)
AM_OP(linalg_slogdet)
AM_OP(linalg_extractdiag)
AM_OP(linalg_makediag)
AM_OP(linalg_extracttrian)
AM_OP(linalg_maketrian)

/* krprod.c */
AM_OP(khatri_rao)
/* misc.c: MXNet 1.x's smaller classic ops */
AM_OP(batch_take)
AM_OP(choose_element_0index)
AM_OP(fill_element_0index)
AM_OP(onehot_encode)
AM_OP(zeros_without_dtype)
AM_OP(index_array)
AM_OP(index_copy)
AM_OP(allclose)
AM_OP(histogram)
AM_OP(boolean_mask)
AM_OP(backward_boolean_mask)
AM_OP(count_sketch)

/* im2col.c */
AM_OP(im2col)
AM_OP(col2im)

/* norm_variants.c: BatchNorm under MXNet's other names */
AM_OP(sync_batch_norm)
AM_OP(batch_norm_relu)

/* boxes.c: detection box ops (GluonCV) */
AM_OP(box_iou)
AM_OP(box_nms)
AM_OP(backward_box_nms)
AM_OP(bipartite_matching)
AM_OP(box_encode)
AM_OP(box_decode)

/* multibox.c: SSD anchors and detections */
AM_OP(multibox_prior)
AM_OP(multibox_detection)
AM_OP(multibox_target)

/* roi_align.c: Mask R-CNN's RoIAlign */
AM_OP(roi_align)
AM_OP(backward_roi_align)

/* sampler.c: spatial transformer ops */
AM_OP(grid_generator)
AM_OP(backward_grid_generator)
AM_OP(bilinear_sampler)
AM_OP(backward_bilinear_sampler)
AM_OP(spatial_transformer)

/* correlation.c: FlowNet's correlation */
AM_OP(correlation)
AM_OP(backward_correlation)

/* image.c: mx.nd.image ops */
AM_OP(image_to_tensor)
AM_OP(image_normalize)
AM_OP(image_flip_left_right)
AM_OP(image_flip_top_bottom)
AM_OP(image_crop)
AM_OP(backward_image_crop)
AM_OP(image_adjust_lighting)
AM_OP(image_resize)
AM_OP(image_random_flip_left_right)
AM_OP(image_random_flip_top_bottom)
AM_OP(image_random_brightness)
AM_OP(image_random_contrast)
AM_OP(image_random_saturation)
AM_OP(image_random_hue)
AM_OP(image_random_color_jitter)
AM_OP(image_random_lighting)

/* executor/control_flow.c: _foreach, _while_loop, _cond (their kernels run subgraphs, so they
 * live beside am_graph_eval; docs/design.md) */
AM_OP(foreach)
AM_OP(while_loop)
AM_OP(cond)
AM_OP(backward_while_loop)
AM_OP(backward_cond)
/* proposal.c: Faster R-CNN's RPN proposals */
AM_OP(proposal)
AM_OP(multi_proposal)
/* psroi_pooling.c: R-FCN's position-sensitive RoI pooling */
AM_OP(psroi_pooling)
AM_OP(backward_psroi_pooling)
/* deformable_psroi_pooling.c: Deformable ConvNets' position-sensitive RoI pooling */
AM_OP(deformable_psroi_pooling)
AM_OP(backward_deformable_psroi_pooling)
/* deformable_conv.c: Deformable ConvNets v1 and v2 convolutions */
AM_OP(deformable_convolution)
AM_OP(backward_deformable_convolution)
AM_OP(modulated_deformable_convolution)
AM_OP(backward_modulated_deformable_convolution)
/* rroi_align.c: rotated RoIAlign */
AM_OP(rroi_align)
AM_OP(fft)
AM_OP(ifft)
AM_OP(set_value)
AM_OP(reset_arrays)
AM_OP(identity_attach_kl_sparse_reg)
AM_OP(backward_klreg)
AM_OP(hawkesll)
AM_OP(backward_hawkesll)
AM_OP(cvimdecode)
AM_OP(cvimread)
AM_OP(cvimresize)
AM_OP(cvcopy_make_border)
