/* The examples suite: every C example in docs/ and in the public headers'
 * comments compiles against today's headers, and the ones marked to run
 * link against the library and exit 0, so examples cannot go stale.
 *
 * What counts as an example (docs/contributing-docs.md):
 *   - in docs/ (any .md): every ```c block.  An HTML comment on the line
 *     right before the fence may carry options and setup code:
 *         <!-- example: file, run
 *         am_array *x = am_ones(AM_SHAPE(3), AM_DTYPE_FLOAT32);
 *         -->
 *     `file` puts the setup and the block at file scope (definitions),
 *     `program` takes the block as a whole source file, otherwise the
 *     setup and the block are the body of main; `run` links and runs it;
 *     `skip: why` leaves it out (a prototype listing, pseudo-code).
 *   - in the headers under include/amber: the indented lines after a comment line that
 *     ends in "Example:" or "Example (...):" with the same options in the
 *     brackets ("file scope", "program", "runs").
 *
 * The compiler and flags come from $(BUILD)/example-cc, which the Makefile
 * writes beside the test binary, so `make test` and `make asan` each
 * compile and link the way their own build does. */
#include "test_util.h"

#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct example {
    char where[320];   /* "docs/hybrid.md:42" */
    bool file_scope, program, run, skip;
    char *setup, *code;
} example;

typedef struct examples {
    example *v;
    int n, cap;
} examples;

/* A growable string. */
typedef struct text {
    char *s;
    size_t n, cap;
} text;

static void text_add(text *t, const char *s, size_t n)
{
    if (t->n + n + 1 > t->cap) {
        t->cap = (t->n + n + 1) * 2;
        t->s = realloc(t->s, t->cap);
        AM_ASSERT(t->s);
    }
    memcpy(t->s + t->n, s, n);
    t->n += n;
    t->s[t->n] = '\0';
}

static void text_line(text *t, const char *s) { text_add(t, s, strlen(s)), text_add(t, "\n", 1); }

static char *text_take(text *t)
{
    if (!t->s) text_add(t, "", 0);
    char *s = t->s;
    *t = (text){0};
    return s;
}

static example *examples_push(examples *e)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 32;
        e->v = realloc(e->v, (size_t)e->cap * sizeof(*e->v));
        AM_ASSERT(e->v);
    }
    example *x = &e->v[e->n++];
    memset(x, 0, sizeof(*x));
    return x;
}

static void examples_free(examples *e)
{
    for (int i = 0; i < e->n; i++) free(e->v[i].setup), free(e->v[i].code);
    free(e->v);
}

/* The file's lines, NUL-separated in place; returns the count. */
static int split_lines(char *s, char ***lines)
{
    int n = 0, cap = 256;
    *lines = malloc((size_t)cap * sizeof(char *));
    for (char *p = s; *p;) {
        if (n == cap) *lines = realloc(*lines, (size_t)(cap *= 2) * sizeof(char *));
        (*lines)[n++] = p;
        char *nl = strchr(p, '\n');
        if (!nl) break;
        *nl = '\0';
        p = nl + 1;
    }
    return n;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    text t = {0};
    char buf[4096];
    size_t k;
    while ((k = fread(buf, 1, sizeof(buf), f)) > 0) text_add(&t, buf, k);
    fclose(f);
    return text_take(&t);
}

static bool has_word(const char *opts, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = strstr(opts, w); p; p = strstr(p + 1, w))
        if ((p == opts || !isalnum((unsigned char)p[-1])) && !isalnum((unsigned char)p[n])) return true;
    return false;
}

/* ```c blocks of one markdown file, with the options of an `<!-- example`
 * comment that ends on the line before the fence. */
static void scan_markdown(const char *path, examples *out)
{
    char *s = read_file(path), **line;
    if (!s) return;
    int n = split_lines(s, &line);
    int marker_end = -2; /* line index of the closing --> of the last marker */
    char opts[256] = "";
    text setup = {0};
    for (int i = 0; i < n; i++) {
        if (strncmp(line[i], "<!-- example", 12) == 0) {
            const char *o = line[i] + 12;
            const char *close = strstr(o, "-->");
            snprintf(opts, sizeof(opts), "%.*s", (int)(close ? close - o : (ptrdiff_t)strlen(o)), o);
            free(text_take(&setup));
            while (!close && ++i < n && !(close = strstr(line[i], "-->"))) text_line(&setup, line[i]);
            marker_end = i;
            continue;
        }
        if (strcmp(line[i], "```c") != 0) continue;
        example *x = examples_push(out);
        snprintf(x->where, sizeof(x->where), "%s:%d", path, i + 1);
        if (marker_end == i - 1) {
            x->file_scope = has_word(opts, "file");
            x->program = has_word(opts, "program");
            x->run = has_word(opts, "run");
            x->skip = has_word(opts, "skip");
            x->setup = text_take(&setup);
        }
        text code = {0};
        while (++i < n && strncmp(line[i], "```", 3) != 0) text_line(&code, line[i]);
        x->code = text_take(&code);
        opts[0] = '\0';
    }
    free(text_take(&setup));
    free(line);
    free(s);
}

/* The text of a comment line (" * text", or what follows a comment's opening), or NULL. */
static const char *comment_text(const char *l)
{
    while (*l == ' ') l++;
    if (l[0] == '/' && l[1] == '*') return l + 2;
    if (l[0] == '*' && l[1] != '/') return l + 1;
    return NULL;
}

static int indent_of(const char *t)
{
    int k = 0;
    while (t[k] == ' ') k++;
    return t[k] ? k : 1 << 20; /* a blank comment line continues a block */
}

static void scan_header(const char *path, examples *out)
{
    char *s = read_file(path), **line;
    if (!s) return;
    int n = split_lines(s, &line);
    for (int i = 0; i < n; i++) {
        const char *t = comment_text(line[i]);
        if (!t) continue;
        size_t len = strlen(t);
        while (len && t[len - 1] == ' ') len--;
        const char *ex = strstr(t, "Example");
        if (!ex || len < 1 || t[len - 1] != ':' || (size_t)(ex - t) + 7 > len) continue;
        example *x = examples_push(out);
        snprintf(x->where, sizeof(x->where), "%s:%d", path, i + 1);
        const char *paren = strchr(ex, '(');
        x->file_scope = paren && strstr(paren, "file scope");
        x->program = paren && strstr(paren, "program");
        x->run = paren && strstr(paren, "runs");
        int base = indent_of(t);
        text code = {0};
        int last = i;
        for (int j = i + 1; j < n; j++) {
            const char *c = comment_text(line[j]);
            if (!c || strstr(line[j], "*/") || indent_of(c) <= base) break;
            if (indent_of(c) < (1 << 20)) last = j;
        }
        int margin = 1 << 20; /* the code's own indentation is removed */
        for (int j = i + 1; j <= last; j++) {
            int k = indent_of(comment_text(line[j]));
            if (k < margin) margin = k;
        }
        for (int j = i + 1; j <= last; j++) {
            const char *c = comment_text(line[j]);
            text_line(&code, indent_of(c) < (1 << 20) ? c + margin : "");
        }
        x->code = text_take(&code);
        x->setup = NULL;
        i = last;
    }
    free(line);
    free(s);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Every file under dir (recursively) whose name ends in suffix. */
static void scan_dir(const char *dir, const char *suffix, void (*scan)(const char *, examples *),
                     examples *out)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, by_name);
    for (int i = 0; i < n; i++) {
        const char *name = ents[i]->d_name;
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        size_t ln = strlen(name), ls = strlen(suffix);
        if (name[0] != '.' && ents[i]->d_type == DT_DIR) scan_dir(path, suffix, scan, out);
        else if (ln > ls && strcmp(name + ln - ls, suffix) == 0) scan(path, out);
        free(ents[i]);
    }
    if (n >= 0) free(ents);
}

/* The compile and link commands the Makefile wrote beside this binary. */
typedef struct toolchain {
    char dir[4096];     /* the build directory */
    char cc[4096];      /* compiler and flags */
    char libs[4096];    /* what to link after the library */
} toolchain;

static bool toolchain_load(toolchain *tc)
{
    ssize_t k = readlink("/proc/self/exe", tc->dir, sizeof(tc->dir) - 32);
    if (k <= 0) return false;
    tc->dir[k] = '\0';
    char *slash = strrchr(tc->dir, '/');
    if (slash) *slash = '\0';
    char path[4200];
    snprintf(path, sizeof(path), "%s/example-cc", tc->dir);
    char *s = read_file(path);
    if (!s) {
        printf("\n  %s is missing: the Makefile writes it with the test binary\n", path);
        return false;
    }
    char *nl = strchr(s, '\n');
    bool ok = nl != NULL;
    if (ok) {
        *nl = '\0';
        snprintf(tc->cc, sizeof(tc->cc), "%s", s);
        snprintf(tc->libs, sizeof(tc->libs), "%s", nl + 1);
        tc->libs[strcspn(tc->libs, "\n")] = '\0';
    }
    free(s);
    return ok;
}

static bool write_source(const example *x, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    fprintf(f, "/* %s */\n", x->where);
    if (!x->program) fprintf(f, "#include <amber/amber.h>\n#include <math.h>\n#include <stdio.h>\n"
               "#include <stdlib.h>\n#include <string.h>\n\n");
    if (x->program) fprintf(f, "%s", x->code);
    else if (x->file_scope) fprintf(f, "%s%s\nint main(void)\n{\n    return 0;\n}\n",
                               x->setup ? x->setup : "", x->code);
    else fprintf(f, "int main(void)\n{\n%s%s    return 0;\n}\n", x->setup ? x->setup : "", x->code);
    return fclose(f) == 0;
}

/* Runs a shell command; its output goes to log.  True when it exits 0. */
static bool shell(const char *cmd, const char *log)
{
    char full[16640];
    snprintf(full, sizeof(full), "%s >%s 2>&1", cmd, log);
    int rc = system(full);
    return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

static void print_log(const char *where, const char *what, const char *log)
{
    char *s = read_file(log);
    printf("\n  %s: the example %s:\n%s", where, what, s ? s : "");
    free(s);
}

/* Compiles (and where marked runs) every example the scanner found. */
static void check_examples(void (*collect)(examples *), const char *kind)
{
    toolchain tc;
    if (!toolchain_load(&tc)) {
        CU_FAIL("no toolchain description");
        return;
    }
    examples e = {0};
    collect(&e);
    char dir[] = "/tmp/amber-examples-XXXXXX";
    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
    int compiled = 0, ran = 0, failed = 0;
    for (int i = 0; i < e.n; i++) {
        const example *x = &e.v[i];
        if (x->skip) continue;
        char src[128], bin[128], log[128], cmd[16384];
        snprintf(src, sizeof(src), "%s/ex%d.c", dir, i);
        snprintf(bin, sizeof(bin), "%s/ex%d", dir, i);
        snprintf(log, sizeof(log), "%s/ex%d.log", dir, i);
        CU_ASSERT_FATAL(write_source(x, src));
        if (x->run)
            snprintf(cmd, sizeof(cmd), "%s %s -o %s %s/libamber.a %s", tc.cc, src, bin, tc.dir, tc.libs);
        else snprintf(cmd, sizeof(cmd), "%s -fsyntax-only %s", tc.cc, src);
        bool ok = shell(cmd, log);
        if (!ok) print_log(x->where, "does not compile", log);
        compiled += ok;
        if (ok && x->run) {
            /* Files it writes stay in dir.  Examples leave arrays without a
             * scope and blocks unreleased for brevity: under ASan the leak
             * check is off for them (everything else stays on). */
            snprintf(cmd, sizeof(cmd), "cd %s && ASAN_OPTIONS=\"$ASAN_OPTIONS:detect_leaks=0\" "
                     "timeout 60 %s", dir, bin);
            ok = shell(cmd, log);
            if (!ok) print_log(x->where, "fails when run", log);
            ran += ok;
        }
        failed += !ok;
        remove(src), remove(bin), remove(log);
    }
    char rm[128];
    snprintf(rm, sizeof(rm), "rm -rf %s", dir);
    CU_ASSERT(system(rm) == 0);
    printf("\n  %s: %d examples compiled, %d ran, %d failed ", kind, compiled, ran, failed);
    CU_ASSERT(failed == 0);
    CU_ASSERT(compiled > 0);
    examples_free(&e);
}

static void collect_docs(examples *e) { scan_dir("docs", ".md", scan_markdown, e); }
static void collect_headers(examples *e) { scan_dir("include/amber", ".h", scan_header, e); }

static void test_docs_examples(void) { check_examples(collect_docs, "docs"); }
static void test_header_examples(void) { check_examples(collect_headers, "headers"); }

/* The scanner itself: markers, options, setup, and what ends a block. */
static void test_scanner(void)
{
    char dir[] = "/tmp/amber-scan-XXXXXX";
    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
    char md[128], h[128];
    snprintf(md, sizeof(md), "%s/a.md", dir);
    snprintf(h, sizeof(h), "%s/a.h", dir);
    FILE *f = fopen(md, "wb");
    CU_ASSERT_FATAL(f != NULL);
    fputs("text\n```c\nint a;\n```\n<!-- example: file, run\nint s;\n-->\n```c\nint b;\n```\n"
          "<!-- example: skip: a prototype -->\n\n```c\nint c(void);\n```\n```python\nx\n```\n", f);
    fclose(f);
    f = fopen(h, "wb");
    CU_ASSERT_FATAL(f != NULL);
    fputs("/* Intro.  Example:\n *     int x = 1;\n *\n *     x++;\n * Prose again.\n *\n"
          " * Example (file scope):\n *     int y;\n */\nint z; /* not an example: */\n", f);
    fclose(f);
    examples e = {0};
    scan_markdown(md, &e);
    CU_ASSERT_EQUAL_FATAL(e.n, 3);
    CU_ASSERT(!e.v[0].file_scope && !e.v[0].run && !e.v[0].skip && !e.v[0].setup);
    CU_ASSERT_STRING_EQUAL(e.v[0].code, "int a;\n");
    CU_ASSERT(e.v[1].file_scope && e.v[1].run && !e.v[1].skip);
    CU_ASSERT_STRING_EQUAL(e.v[1].setup, "int s;\n");
    CU_ASSERT_STRING_EQUAL(e.v[1].code, "int b;\n");
    CU_ASSERT(!e.v[2].skip); /* a blank line separates the marker from the fence */
    examples_free(&e);
    e = (examples){0};
    scan_header(h, &e);
    CU_ASSERT_EQUAL_FATAL(e.n, 2);
    CU_ASSERT_STRING_EQUAL(e.v[0].code, "int x = 1;\n\nx++;\n");
    CU_ASSERT(!e.v[0].file_scope);
    CU_ASSERT(e.v[1].file_scope);
    CU_ASSERT_STRING_EQUAL(e.v[1].code, "int y;\n");
    examples_free(&e);
    remove(md), remove(h), rmdir(dir);
}

CU_TestInfo am_tests_examples[] = {
    {"the example scanner", test_scanner},
    {"every C example in docs/ compiles (and runs where marked)", test_docs_examples},
    {"every Example: in the public headers compiles", test_header_examples},
    CU_TEST_INFO_NULL,
};
