/* `amber bench models`: model workloads built with Amber's blocks, run eagerly and
 * hybridized, in inference and as a training step (forward, softmax cross-entropy,
 * backward, SGD with momentum), next to PyTorch and MXNet running the same shapes in the
 * same run (tools/bench/peer_*.py), interleaved workload by workload.  Prints a markdown
 * table, and writes JSON (--json) and a gnuplot chart (--chart).  docs/performance.md
 * explains how to read it. */
#include <amber/amber.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"
#include "bench_workloads.h"
#include "commands.h"

int64_t am_debug_live_bytes(void);
int64_t am_debug_peak_bytes(void);
void am_debug_peak_reset(void);

typedef struct workload {
    const char *id, *label;
    bench_kind kind;
    int ndim;
    int64_t in[4];         /* the input's shape */
    int64_t batch;
    bool quick;            /* part of --quick */
} workload;

static const workload workloads[] = {
    {"mlp_b1", "MLP 784-256-256-10, b1", MLP, 2, {1, 784}, 1, true},
    {"mlp_b64", "MLP 784-256-256-10, b64", MLP, 2, {64, 784}, 64, true},
    {"lenet_b64", "LeNet-5 1x28x28, b64", LENET, 4, {64, 1, 28, 28}, 64, true},
    {"lstm_b16", "LSTM loop 128/256 x32, b16", LSTM, 3, {32, 16, 128}, 16, false},
    {"transformer_b8", "transformer d256 s64, b8", TRANSFORMER, 3, {8, 64, 256}, 8, false},
    {"resnet_small_b32", "ResNet 16/32/64 3x32x32, b32", RESNET_SMALL, 4, {32, 3, 32, 32}, 32,
     false},
    {"resnet18_b1", "ResNet-18 224px, b1", RESNET18, 4, {1, 3, 224, 224}, 1, false},
};
enum { N_WORKLOADS = sizeof(workloads) / sizeof(workloads[0]) };

typedef struct options {
    bench_cfg cfg;
    const char *json, *chart, *profile, *peers_dir, *mxnet_python, *torch_python;
    bool no_peers;
    const char *only[16];
    int n_only;
    int threads;
} options;

/* ---- Amber's side ------------------------------------------------------------------------ */

typedef struct amber_arg {
    am_block *net, *loss;
    am_trainer *trainer;
    am_train_step *fused;
    am_array *x, *label;
    int64_t batch;
} amber_arg;

static void infer_once(void *p)
{
    amber_arg *a = p;
    am_scope_begin();
    if (!am_block_call(a->net, a->x)) fprintf(stderr, "bench models: %s\n", am_last_error());
    am_scope_end();
}

static void train_once(void *p)
{
    amber_arg *a = p;
    am_scope_begin();
    am_autograd_record_begin(true);
    am_array *loss = am_block_call2(a->loss, am_block_call(a->net, a->x), a->label);
    am_autograd_end();
    if (am_backward(loss) != AM_OK || am_trainer_step(a->trainer, a->batch) != AM_OK)
        fprintf(stderr, "bench models: %s\n", am_last_error());
    am_scope_end();
}

static void fused_once(void *p)
{
    amber_arg *a = p;
    am_scope_begin();
    if (!am_train_step_run(a->fused, a->x, a->label, a->batch, NULL))
        fprintf(stderr, "bench models: %s\n", am_last_error());
    am_scope_end();
}

/* Bytes allocated during one call beyond what was live before it. */
static int64_t peak_of(bench_fn fn, void *arg)
{
    int64_t base = am_debug_live_bytes();
    am_debug_peak_reset();
    fn(arg);
    return am_debug_peak_bytes() - base;
}

/* One measured row: a framework's mode in one phase. */
typedef struct row {
    const char *workload, *peer; /* static strings */
    char mode[32], phase[16];
    bench_stats t;               /* milliseconds */
} row;

typedef struct results {
    row *rows;
    int n, cap;
    json_t *json;          /* the --json document being built */
} results;

static void add_row(results *r, const char *workload, const char *peer, const char *mode,
                    const char *phase, bench_stats t)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->rows = realloc(r->rows, (size_t)r->cap * sizeof(*r->rows));
    }
    row *x = &r->rows[r->n++];
    *x = (row){.workload = workload, .peer = peer, .t = t};
    snprintf(x->mode, sizeof(x->mode), "%s", mode);
    snprintf(x->phase, sizeof(x->phase), "%s", phase);
    json_array_append_new(json_object_get(r->json, "results"),
                          json_pack("{s:s, s:s, s:s, s:s, s:f, s:f, s:f}", "workload", workload,
                                    "peer", peer, "mode", mode, "phase", phase, "median_ms",
                                    t.median, "min_ms", t.min, "max_ms", t.max));
}

static bench_stats ms(bench_stats s)
{
    return (bench_stats){s.median * 1e3, s.min * 1e3, s.max * 1e3};
}

static void run_amber(const options *o, const workload *w, results *r)
{
    am_seed(1);
    am_scope_begin();
    am_block *net = bench_model(w->kind);
    am_trainer_opts to = am_trainer_defaults("sgd");
    to.momentum = 0.9, to.lr = 1e-3;
    amber_arg a = {net, am_softmax_ce_loss(NULL), NULL, NULL,
                   am_random_uniform(-1, 1, am_shape_make(w->ndim, w->in), AM_DTYPE_FLOAT32),
                   am_zeros(AM_SHAPE(w->batch), AM_DTYPE_FLOAT32), w->batch};
    infer_once(&a); /* deferred shapes */
    a.trainer = am_trainer_create(net, NULL, "sgd", &to);
    a.fused = am_train_step_create(net, a.loss, a.trainer);
    int64_t mem[2][2];
    for (int hybrid = 0; hybrid < 2; hybrid++) {
        am_block_hybridize(net, hybrid, NULL);
        am_block_hybridize(a.loss, hybrid, NULL);
        const char *mode = hybrid ? "hybridized" : "eager";
        add_row(r, w->id, "amber", mode, "inference", ms(bench_time_stats(&o->cfg, infer_once, &a)));
        mem[hybrid][0] = peak_of(infer_once, &a);
        if (hybrid) mem[hybrid][0] += am_block_cache_stats(net).arena_bytes;
        add_row(r, w->id, "amber", mode, "training", ms(bench_time_stats(&o->cfg, train_once, &a)));
        mem[hybrid][1] = peak_of(train_once, &a);
        if (hybrid) mem[hybrid][1] += am_block_cache_stats(net).arena_bytes +
                                      am_block_cache_stats(a.loss).arena_bytes;
    }
    add_row(r, w->id, "amber", "one plan", "training", ms(bench_time_stats(&o->cfg, fused_once, &a)));
    json_array_append_new(json_object_get(r->json, "memory"),
                          json_pack("{s:s, s:I, s:I, s:I, s:I}", "workload", w->id,
                                    "eager_inference_bytes", (json_int_t)mem[0][0],
                                    "hybridized_inference_bytes", (json_int_t)mem[1][0],
                                    "eager_training_bytes", (json_int_t)mem[0][1],
                                    "hybridized_training_bytes", (json_int_t)mem[1][1]));
    am_train_step_free(a.fused);
    am_trainer_free(a.trainer);
    am_block_release(a.loss);
    am_block_release(net);
    am_scope_end();
}

/* ---- the peers --------------------------------------------------------------------------- */

/* Runs a peer script and adds its rows; a peer that cannot run is recorded with why. */
static void run_peer(const options *o, const char *peer, const char *python, const char *script,
                     const workload *w, results *r)
{
    json_t *peers = json_object_get(r->json, "peers");
    json_t *info = json_object_get(peers, peer);
    if (info && json_object_get(info, "skipped")) return; /* said once */
    char path[512], cmd[2048];
    snprintf(path, sizeof(path), "%s/%s", o->peers_dir, script);
    const char *why = NULL, *what = NULL;
    if (access(python, X_OK) != 0) why = "its Python is missing", what = python;
    else if (access(path, R_OK) != 0) why = "its script is missing", what = path;
    json_t *out = NULL;
    if (!why) {
        snprintf(cmd, sizeof(cmd),
                 "OMP_NUM_THREADS=%d OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=%d "
                 "MKL_NUM_THREADS=%d '%s' -B '%s' --workload %s --threads %d --reps %d "
                 "--min-s %g", o->threads, o->threads, o->threads, python, path, w->id,
                 o->threads, o->cfg.reps, o->cfg.min_s);
        FILE *f = popen(cmd, "r");
        char line[65536] = "";
        if (f) {
            while (fgets(line, sizeof(line), f) && line[0] != '{') {}
            pclose(f);
        }
        out = line[0] == '{' ? json_loads(line, 0, NULL) : NULL;
        if (!out) why = "it printed no result (see its messages above)", what = path;
    }
    if (why) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s (%s)", why, what);
        json_object_set_new(peers, peer, json_pack("{s:s}", "skipped", msg));
        printf("%s: skipped, %s\n", peer, msg);
        return;
    }
    if (json_object_get(out, "skipped")) {
        json_object_set(peers, peer, out);
        printf("%s: skipped, %s\n", peer, json_string_value(json_object_get(out, "skipped")));
        json_decref(out);
        return;
    }
    if (!info)
        json_object_set_new(peers, peer,
                            json_pack("{s:O, s:O, s:O}", "version", json_object_get(out, "version"),
                                      "floor_us", json_object_get(out, "floor_us"),
                                      "peak_rss_kb", json_object_get(out, "peak_rss_kb")));
    /* The largest peak over the workloads (one process each). */
    json_t *now = json_object_get(json_object_get(peers, peer), "peak_rss_kb");
    json_int_t rss = json_integer_value(json_object_get(out, "peak_rss_kb"));
    if (now && rss > json_integer_value(now)) json_integer_set(now, rss);
    size_t i;
    json_t *res;
    json_array_foreach(json_object_get(out, "results"), i, res) {
        bench_stats t = {json_real_value(json_object_get(res, "median_ms")),
                         json_real_value(json_object_get(res, "min_ms")),
                         json_real_value(json_object_get(res, "max_ms"))};
        const char *mode = json_string_value(json_object_get(res, "mode"));
        const char *phase = json_string_value(json_object_get(res, "phase"));
        if (mode && phase) add_row(r, w->id, peer, mode, phase, t);
    }
    json_decref(out);
}

/* ---- reporting --------------------------------------------------------------------------- */

/* The fastest row of peer in phase for workload, or NULL. */
static const row *best(const results *r, const char *w, const char *peer, const char *phase)
{
    const row *b = NULL;
    for (int i = 0; i < r->n; i++) {
        const row *x = &r->rows[i];
        if (strcmp(x->workload, w) || strcmp(x->peer, peer) || strcmp(x->phase, phase)) continue;
        if (!b || x->t.median < b->t.median) b = x;
    }
    return b;
}

static const row *find(const results *r, const char *w, const char *peer, const char *mode,
                       const char *phase)
{
    for (int i = 0; i < r->n; i++) {
        const row *x = &r->rows[i];
        if (!strcmp(x->workload, w) && !strcmp(x->peer, peer) && !strcmp(x->mode, mode) &&
            !strcmp(x->phase, phase))
            return x;
    }
    return NULL;
}

/* "12.345 ±3%": the median and half the spread relative to it. */
static const char *cell(const row *x, char *buf, size_t n)
{
    if (!x) return "-";
    double spread = x->t.median > 0 ? 50 * (x->t.max - x->t.min) / x->t.median : 0;
    snprintf(buf, n, "%.3f ±%.0f%%", x->t.median, spread);
    return buf;
}

static const char *best_cell(const row *x, char *buf, size_t n)
{
    if (!x) return "-";
    char c[48];
    snprintf(buf, n, "%s (%s)", cell(x, c, sizeof(c)), x->mode);
    return buf;
}

static void print_table(const results *r, const options *o)
{
    printf("\nms per iteration, median ±half the spread of %d samples; speed-up = eager / "
           "hybridized (training: the better of hybridized calls and one plan); vs peers = "
           "Amber's best / the best peer's best (below 1: Amber is faster)\n\n", o->cfg.reps);
    printf("| workload | phase | Amber eager | Amber hybridized | Amber one plan | PyTorch best "
           "| MXNet best | speed-up | vs peers |\n");
    printf("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int k = 0; k < N_WORKLOADS; k++) {
        const workload *w = &workloads[k];
        for (int ph = 0; ph < 2; ph++) {
            const char *phase = ph ? "training" : "inference";
            const row *e = find(r, w->id, "amber", "eager", phase);
            if (!e) continue;
            const row *h = find(r, w->id, "amber", "hybridized", phase);
            const row *f = find(r, w->id, "amber", "one plan", phase);
            const row *a = best(r, w->id, "amber", phase);
            const row *pt = best(r, w->id, "pytorch", phase), *mx = best(r, w->id, "mxnet", phase);
            const row *peer = pt && (!mx || pt->t.median <= mx->t.median) ? pt : mx;
            const row *hb = f && (!h || f->t.median < h->t.median) ? f : h;
            char b[5][96], ratio[32] = "-";
            if (peer) snprintf(ratio, sizeof(ratio), "%.2f", a->t.median / peer->t.median);
            printf("| %s | %s | %s | %s | %s | %s | %s | %.2fx | %s |\n", w->label, phase,
                   cell(e, b[0], 96), cell(h, b[1], 96), cell(f, b[2], 96),
                   best_cell(pt, b[3], 96), best_cell(mx, b[4], 96),
                   hb ? e->t.median / hb->t.median : 0, ratio);
        }
    }
}

/* A bar chart of each framework's best time relative to Amber's best (log scale), drawn
 * by gnuplot from a data file and a script in /tmp. */
static void write_chart(const results *r, const char *png)
{
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        printf("chart: skipped, gnuplot is not installed (make deps installs it)\n");
        return;
    }
    char dat[] = "/tmp/amber-chart-XXXXXX", gp[] = "/tmp/amber-chart-XXXXXX";
    int fd = mkstemp(dat), fg = mkstemp(gp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL, *g = fg >= 0 ? fdopen(fg, "w") : NULL;
    bool has[2] = {false, false};
    for (int k = 0; f && k < N_WORKLOADS; k++)
        for (int ph = 0; ph < 2; ph++) {
            const char *phase = ph ? "training" : "inference";
            const row *a = best(r, workloads[k].id, "amber", phase);
            if (!a) continue;
            const row *peer[2] = {best(r, workloads[k].id, "pytorch", phase),
                                  best(r, workloads[k].id, "mxnet", phase)};
            fprintf(f, "\"%s %s\" 1", workloads[k].id, ph ? "train" : "infer");
            for (int i = 0; i < 2; i++) {
                if (peer[i]) fprintf(f, " %g", peer[i]->t.median / a->t.median), has[i] = true;
                else fprintf(f, " NaN");
            }
            fprintf(f, "\n");
        }
    if (g) {
        fprintf(g, "set terminal pngcairo noenhanced size 1100,520 font ',10'\n"
                   "set output '%s.tmp'\n"
                   "set title 'amber bench models: the best time of each, relative to Amber''s "
                   "(same run, same threads)'\n"
                   "set style data histograms\nset style histogram clustered gap 1\n"
                   "set style fill solid 0.8 border -1\nset logscale y 2\nset grid ytics\n"
                   "set ylabel 'time relative to Amber (above 1: Amber is faster)'\n"
                   "set xtics rotate by -30 scale 0\nset key top right\n"
                   "plot '%s' using 2:xtic(1) title 'Amber'", png, dat);
        if (has[0]) fprintf(g, ", '' using 3 title 'PyTorch'");
        if (has[1]) fprintf(g, ", '' using 4 title 'MXNet'");
        fprintf(g, "\n");
    }
    if (f) fclose(f);
    if (g) fclose(g);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "gnuplot '%s' && mv '%s.tmp' '%s'", gp, png, png);
    if (!f || !g) printf("chart: cannot write a temporary file\n");
    else if (system(cmd) != 0) printf("chart: gnuplot failed\n");
    else printf("chart: %s\n", png);
    unlink(dat), unlink(gp);
}

static void machine_info(json_t *m, double load[3])
{
    char line[256], cpu[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "model name", 10) == 0) {
            char *c = strchr(line, ':');
            if (c) snprintf(cpu, sizeof(cpu), "%s", c + 2);
            cpu[strcspn(cpu, "\n")] = '\0';
            break;
        }
    if (f) fclose(f);
    json_object_set_new(m, "cpu", json_string(cpu));
    json_object_set_new(m, "load_average_before", json_pack("[f, f, f]", load[0], load[1], load[2]));
    printf("CPU: %s; load average before the run %.2f %.2f %.2f\n", cpu, load[0], load[1], load[2]);
}

/* Writes doc to path through a temporary name. */
static int save_json(json_t *doc, const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (json_dump_file(doc, tmp, JSON_INDENT(1)) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "bench models: cannot write %s\n", path);
        unlink(tmp);
        return 1;
    }
    printf("json: %s\n", path);
    return 0;
}

/* What a call costs: Amber's C calls next to the peers' Python floors. */
static void overheads(const options *o, results *r)
{
    am_scope_begin();
    amber_arg a = {bench_model(TINY), NULL, NULL, NULL, am_ones(AM_SHAPE(1), AM_DTYPE_FLOAT32),
                   NULL, 1};
    double eager = bench_time_median(&o->cfg, infer_once, &a) * 1e6;
    am_block_hybridize(a.net, true, NULL);
    double hybrid = bench_time_median(&o->cfg, infer_once, &a) * 1e6;
    am_block_release(a.net);
    am_scope_end();
    json_object_set_new(r->json, "amber_call_us",
                        json_pack("{s:f, s:f}", "eager_block", eager, "hybridized_block", hybrid));
    printf("\nper call, a one-element relu: Amber (C) eager block %.2f us, hybridized block "
           "%.2f us", eager, hybrid);
    const char *names[] = {"pytorch", "mxnet"};
    for (int i = 0; i < 2; i++) {
        json_t *p = json_object_get(json_object_get(r->json, "peers"), names[i]);
        json_t *fl = json_object_get(p, "floor_us");
        if (fl) printf("; %s (Python) %.2f us", names[i], json_real_value(fl));
    }
    printf("\n");
}

static int usage(void)
{
    fprintf(stderr, "usage: amber bench models [--quick] [--json FILE] [--chart FILE.png] "
            "[--profile TRACE.json] [--no-peers] [--peers-dir DIR] [--mxnet-python PY] [--torch-python PY] "
            "[WORKLOAD...]\n  workloads:");
    for (int k = 0; k < N_WORKLOADS; k++) fprintf(stderr, " %s", workloads[k].id);
    fprintf(stderr, "\n");
    return 2;
}

int am_cmd_bench_models(int argc, char **argv)
{
    options o = {.cfg = {.quick = false, .reps = 7, .min_s = 0.05}, .peers_dir = "tools/bench",
                 .mxnet_python = "build/mxnet-venv/bin/python", .torch_python = "/usr/bin/python3"};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quick")) o.cfg = (bench_cfg){.quick = true, .reps = 3, .min_s = 0.01};
        else if (!strcmp(a, "--no-peers")) o.no_peers = true;
        else if (!strcmp(a, "--json") && v) o.json = v, i++;
        else if (!strcmp(a, "--chart") && v) o.chart = v, i++;
        else if (!strcmp(a, "--profile") && v) o.profile = v, i++;
        else if (!strcmp(a, "--peers-dir") && v) o.peers_dir = v, i++;
        else if (!strcmp(a, "--mxnet-python") && v) o.mxnet_python = v, i++;
        else if (!strcmp(a, "--torch-python") && v) o.torch_python = v, i++;
        else if (a[0] != '-' && o.n_only < 16) o.only[o.n_only++] = a;
        else return usage();
    }
    for (int i = 0; i < o.n_only; i++) {
        int k = 0;
        while (k < N_WORKLOADS && strcmp(workloads[k].id, o.only[i])) k++;
        if (k == N_WORKLOADS) return usage();
    }
    const char *env = getenv("OMP_NUM_THREADS");
    o.threads = env && atoi(env) > 0 ? atoi(env) : (int)sysconf(_SC_NPROCESSORS_ONLN);
    results r = {.json = json_pack("{s:[], s:[], s:{}, s:{}}", "results", "memory", "peers",
                                   "machine")};
    double load[3] = {0};
    getloadavg(load, 3);
    bench_print_threads();
    machine_info(json_object_get(r.json, "machine"), load);
    json_object_set_new(json_object_get(r.json, "machine"), "threads", json_integer(o.threads));
    printf("threads: %d for Amber and every peer\n", o.threads);
    /* libgomp's default wait spins for milliseconds on this kind of CPU: on a shared
     * machine Amber's threads then wait out other processes' time slices at every
     * region, while the peers run with OMP_WAIT_POLICY=PASSIVE (docs/threading.md). */
    if (load[0] >= 1.0 && !getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT"))
        printf("warning: load average %.2f and OpenMP's default spinning wait: Amber's times "
               "will suffer more than the peers'; export OMP_WAIT_POLICY=PASSIVE (the peers' "
               "setting) or GOMP_SPINCOUNT=1000 to compare on a busy machine\n", load[0]);
    /* Amber's runs only (the peers run in their own processes); the trace
     * costs time, so its table is not one to compare. */
    if (o.profile && am_profiler_start(o.profile) != AM_OK) {
        fprintf(stderr, "bench models: %s\n", am_last_error());
        json_decref(r.json);
        return 1;
    }
    for (int k = 0; k < N_WORKLOADS; k++) {
        const workload *w = &workloads[k];
        bool wanted = o.n_only == 0 ? (!o.cfg.quick || w->quick) : false;
        for (int i = 0; i < o.n_only; i++) wanted |= !strcmp(o.only[i], w->id);
        if (!wanted) continue;
        printf("%s ...\n", w->label);
        fflush(stdout);
        run_amber(&o, w, &r);
        if (!o.no_peers) {
            run_peer(&o, "pytorch", o.torch_python, "peer_torch.py", w, &r);
            run_peer(&o, "mxnet", o.mxnet_python, "peer_mxnet.py", w, &r);
        }
    }
    if (o.profile) {
        if (am_profiler_stop() != AM_OK) fprintf(stderr, "bench models: %s\n", am_last_error());
        else printf("profile: %s (Amber's runs; times under the profiler)\n", o.profile);
    }
    overheads(&o, &r);
    print_table(&r, &o);
    printf("\nactivation memory (bytes allocated during a call; hybridized: plus the plans' "
           "arenas)\n\n| workload | eager inference | hybridized inference | eager training | "
           "hybridized training |\n|---|---:|---:|---:|---:|\n");
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(r.json, "memory"), i, m)
        printf("| %s | %lld | %lld | %lld | %lld |\n",
               json_string_value(json_object_get(m, "workload")),
               (long long)json_integer_value(json_object_get(m, "eager_inference_bytes")),
               (long long)json_integer_value(json_object_get(m, "hybridized_inference_bytes")),
               (long long)json_integer_value(json_object_get(m, "eager_training_bytes")),
               (long long)json_integer_value(json_object_get(m, "hybridized_training_bytes")));
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double after[3] = {0};
    getloadavg(after, 3);
    json_t *mach = json_object_get(r.json, "machine");
    json_object_set_new(mach, "load_average_after", json_pack("[f, f, f]", after[0], after[1],
                                                              after[2]));
    json_object_set_new(mach, "peak_rss_kb", json_integer(ru.ru_maxrss));
    printf("\npeak resident memory of amber %ld KiB; load average after the run %.2f %.2f %.2f\n",
           ru.ru_maxrss, after[0], after[1], after[2]);
    if (o.chart) write_chart(&r, o.chart);
    int rc = o.json ? save_json(r.json, o.json) : 0;
    json_decref(r.json);
    free(r.rows);
    return rc;
}
