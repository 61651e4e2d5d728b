/* Tutorial 01: eager arrays.  Create arrays, compute, print, multiply
 * matrices, and catch a shape error with the line that caused it. */
#include <amber/amber.h>
#include <stdio.h>

int main(void)
{
    am_scope_begin(); /* every array made below is released by am_scope_end */

    /* 1. Creating arrays. */
    am_array *a = am_reshape(am_arange(0, 6, 1, AM_DTYPE_FLOAT32), AM_SHAPE(2, 3));
    am_array *b = am_full(AM_SHAPE(3), AM_DTYPE_FLOAT32, 0.5);
    printf("a =\n");
    am_print(a);
    printf("b = ");
    am_print(b);

    /* 2. Arithmetic broadcasts like NumPy: (2, 3) * (3,) -> (2, 3). */
    am_array *c = am_add(am_mul(a, b), am_ones(AM_SHAPE(1), AM_DTYPE_FLOAT32));
    printf("a * b + 1 =\n");
    am_print(c);
    printf("tanh(a - 2.5) =\n");
    am_print(am_tanh(am_minus_scalar(a, 2.5)));

    /* 3. Reductions and single values. */
    am_array *col = am_sum(a, (int[]){0}, 1, false);
    printf("column sums = ");
    am_print(col);
    printf("a[1, 2] = %g, mean = %g\n", am_item(a, 5), am_item(am_mean(a, NULL, 0, false), 0));

    /* 4. A small matrix product: (2, 3) x (3, 2). */
    am_array *w = am_random_normal(0, 1, AM_SHAPE(3, 2), AM_DTYPE_FLOAT32);
    am_array *y = am_dot(a, w);
    printf("a . w =\n");
    am_print(y);
    am_array *p = am_softmax(y, -1);
    printf("softmax rows =\n");
    am_print(p);

    /* 5. Errors: a failing op returns NULL; the message names the op, the
     *    shapes and this file's line.  Later ops given NULL pass it through,
     *    so one check at the end of a chain is enough. */
    am_array *bad = am_relu(am_dot(a, a)); /* (2, 3) x (2, 3) */
    if (!bad) printf("caught: %s\n", am_last_error());
    am_clear_error();

    am_scope_end();
    printf("arrays still alive: %lld\n", (long long)am_debug_live_arrays());
    return 0;
}
