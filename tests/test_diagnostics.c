/* The diagnostics suite: errors that name the right cause (Convolution's
 * oversized block, an op's own error rather than "inputs still unknown"),
 * text from files and attributes escaped before it reaches a message, and
 * the amber commands' wording of both. */
#include "test_util.h"

#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

#define LENET "tests/fixtures/lenet-symbol.json"

/* The fixture's text with every from replaced by to (malloc'd). */
static char *lenet_with(const char *from, const char *to)
{
    FILE *f = fopen(LENET, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    char *out = malloc(n * 2 + 1), *o = out;
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    for (const char *p = text; *p;) {
        if (from && strncmp(p, from, strlen(from)) == 0) {
            o += sprintf(o, "%s", to);
            p += strlen(from);
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

/* The failure names the product that is too large: with num_filter 2e9 it
 * is the output block (num_filter x positions), not the column block. */
static void test_conv_names_the_large_block(void)
{
    char *json = lenet_with("\"num_filter\": \"6\"", "\"num_filter\": \"2000000000\"");
    am_graph *g = am_graph_from_json(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    const char *names[] = {"data"};
    am_shape s = AM_SHAPE(1, 1, 28, 28);
    am_dtype t = AM_DTYPE_FLOAT32;
    TU_ASSERT_STATUS(am_graph_infer(g, names, &s, &t, 1), AM_ERR_UNSUPPORTED,
                     "Convolution (node 'conv0_fwd'): one image's output block (num_filter x "
                     "positions) has 1152000000000 elements, more than BLAS's int range");
    am_graph_release(g);
    free(json);
    /* Many channels: the column block is the one too large. */
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(1, 100000, 100, 100), AM_DTYPE_FLOAT32);
    am_array *w = am_var("w", AM_SHAPE(1, 100000, 3, 3), AM_DTYPE_FLOAT32);
    int64_t k[] = {3, 3};
    TU_ASSERT_FAILS(am_convolution(x, w, NULL, 2, k, NULL, NULL, NULL, 1, 1), AM_ERR_UNSUPPORTED,
                    "column block (channels x kernel x positions) has 8643600000 elements");
    am_scope_end();
}

/* Convolution given 3-D data cannot fill its weight; that, not "5 inputs
 * are still unknown", is the error. */
static void test_op_error_not_unknown_inputs(void)
{
    am_graph *g = am_graph_load(LENET);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    const char *names[] = {"data"};
    am_shape s = AM_SHAPE(1, 1, 28);
    am_dtype t = AM_DTYPE_FLOAT32;
    TU_ASSERT_STATUS(am_graph_infer(g, names, &s, &t, 1), AM_ERR_SHAPE,
                     "Convolution (node 'conv0_fwd'): data (1, 1, 28) must be 4-D (N, C, H, W) "
                     "for the 2-D kernel (5, 5)");
    am_graph_release(g);
    /* Without the data's shape, the unknown inputs are the news. */
    g = am_graph_load(LENET);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    TU_ASSERT_STATUS(am_graph_infer(g, NULL, NULL, NULL, 0), AM_ERR_SHAPE,
                     "am_graph_infer: 6 inputs are still unknown: data, conv0_weight");
    /* And with it, all is known. */
    s = AM_SHAPE(2, 1, 28, 28);
    CU_ASSERT_EQUAL(am_graph_infer(g, names, &s, &t, 1), AM_OK);
    am_graph_release(g);
}

/* Control characters and bytes that are no UTF-8 come out as \xNN. */
static void test_escape_text(void)
{
    char buf[32];
    CU_ASSERT_STRING_EQUAL(am_escape_text("float32", buf, sizeof(buf)), "float32");
    CU_ASSERT_STRING_EQUAL(am_escape_text("\x1b[31m\xff\n", buf, sizeof(buf)), "\\x1b[31m\\xff\\x0a");
    CU_ASSERT_STRING_EQUAL(am_escape_text("caf\xc3\xa9 \xe2\x82\xac", buf, sizeof(buf)),
                           "caf\xc3\xa9 \xe2\x82\xac");                   /* UTF-8 as it is */
    CU_ASSERT_STRING_EQUAL(am_escape_text("\xc0\xaf\xed\xa0\x80", buf, sizeof(buf)),
                           "\\xc0\\xaf\\xed\\xa0\\x80");                 /* overlong, surrogate */
    CU_ASSERT_STRING_EQUAL(am_escape_text("\xc3", buf, sizeof(buf)), "\\xc3");  /* cut short */
    CU_ASSERT_STRING_EQUAL(am_escape_text("\x7f\x01", buf, sizeof(buf)), "\\x7f\\x01");
    char small[12];
    CU_ASSERT_STRING_EQUAL(am_escape_text("abcdefghijklmnop", small, sizeof(small)), "abcdefgh...");
    CU_ASSERT_STRING_EQUAL(am_escape_text("\xff\xff\xff\xff", small, sizeof(small)), "\\xff\\xff...");
}

static void test_dtype_strings_escaped(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 1, 2);
    TU_ASSERT_FAILS(tu_invoke1("Cast", x, "dtype", "\x1b[2J\xff\xfe"), AM_ERR_FORMAT,
                    "Cast: attribute dtype='\\x1b[2J\\xff\\xfe' is not a dtype name");
    TU_ASSERT_FAILS(tu_invoke1("Cast", x, "dt\xffype", "float32"), AM_ERR_ARG,
                    "Cast: unknown attribute 'dt\\xffype'");
    am_scope_end();
    /* A .npy whose descr holds bytes that are no UTF-8. */
    char path[] = "/tmp/amber-diag-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    char hdr[118];  /* 10 + 118: the data starts at byte 128 */
    int n = snprintf(hdr, sizeof(hdr), "{'descr': '<\xff\xfe', 'fortran_order': False, 'shape': (2,), }");
    CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(hdr));
    memset(hdr + n, ' ', sizeof(hdr) - (size_t)n);
    hdr[sizeof(hdr) - 1] = '\n';
    FILE *f = fdopen(fd, "wb");
    fwrite("\x93NUMPY\x01\x00\x76\x00", 1, 10, f);
    fwrite(hdr, 1, sizeof(hdr), f);
    fwrite("\0\0\0\0\0\0\0\0", 1, 8, f);
    fclose(f);
    am_scope_begin();
    TU_ASSERT_FAILS(am_npy_load(path), AM_ERR_FORMAT, "unsupported dtype '<\\xff\\xfe'");
    am_scope_end();
    unlink(path);
}

/* ---- the amber commands ---------------------------------------------------------------- */

/* Runs `build/amber ARGS` beside this test binary; returns the exit status
 * with stderr in err (truncated to len). */
static int amber(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int amber(char *err, size_t len, const char *fmt, ...)
{
    char exe[4096], args[2048], cmd[8192], errfile[] = "/tmp/amber-diag-err-XXXXXX";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 16);
    if (n <= 0) return -1;
    exe[n] = '\0';
    strcpy(strrchr(exe, '/') + 1, "amber");
    int fd = mkstemp(errfile);
    if (fd < 0) return -1;
    close(fd);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "'%s' %s >/dev/null 2>%s", exe, args, errfile);
    int status = system(cmd);
    FILE *f = fopen(errfile, "rb");
    size_t got = f ? fread(err, 1, len - 1, f) : 0;
    err[got] = '\0';
    if (f) fclose(f);
    unlink(errfile);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_commands_report_the_op(void)
{
    char err[2048];
    CU_ASSERT_EQUAL(amber(err, sizeof(err), "inspect " LENET " -i data=1x1x28"), 1);
    CU_ASSERT_STRING_EQUAL(err, "amber inspect: Convolution (node 'conv0_fwd'): data (1, 1, 28) "
                           "must be 4-D (N, C, H, W) for the 2-D kernel (5, 5)\n");
    /* viz draws what it can; the note asks for -i only when shapes are missing. */
    CU_ASSERT_EQUAL(amber(err, sizeof(err), "viz " LENET " -i data=1x1x28"), 0);
    CU_ASSERT_STRING_EQUAL(err, "amber viz: note: unknown shapes are left out (Convolution (node "
                           "'conv0_fwd'): data (1, 1, 28) must be 4-D (N, C, H, W) for the 2-D "
                           "kernel (5, 5))\n");
    CU_ASSERT_EQUAL(amber(err, sizeof(err), "viz " LENET), 0);
    CU_ASSERT(strstr(err, "6 inputs are still unknown: data, conv0_weight (6, ?, 5, 5)") != NULL);
    CU_ASSERT(strstr(err, "; give their shapes with -i NAME=SHAPE)\n") != NULL);
}

CU_TestInfo am_tests_diagnostics[] = {
    {"Convolution names the block too large for BLAS", test_conv_names_the_large_block},
    {"inference reports an op's error, not the inputs it left unknown", test_op_error_not_unknown_inputs},
    {"am_escape_text", test_escape_text},
    {"dtype strings and attribute names are escaped in errors", test_dtype_strings_escaped},
    {"inspect and viz report the op's error; viz asks for -i only for unknown inputs",
     test_commands_report_the_op},
    CU_TEST_INFO_NULL,
};
