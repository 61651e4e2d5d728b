/* Runs the CUnit suites: `test_amber` runs all, `test_amber ndarray ops`
 * only the named ones.  Exits non-zero when any assertion fails. */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define SUITE(name) extern CU_TestInfo am_tests_##name[];
#include "suites.h"
#undef SUITE

static int64_t live_before;

/* Every test starts and ends with the same number of live arrays and no open
 * error, so a leak is reported against the test that made it. */
static void setup(void)
{
    live_before = am_debug_live_arrays();
    am_clear_error();
    am_seed(42);
}

static void teardown(void)
{
    int64_t live = am_debug_live_arrays();
    if (live != live_before) {
        printf("\n  leak: %lld arrays alive after the test, %lld before\n", (long long)live,
               (long long)live_before);
        CU_FAIL("arrays leaked");
    }
}

static bool wanted(const char *name, int argc, char **argv)
{
    if (argc < 2) return true;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0) return true;
    return false;
}

int main(int argc, char **argv)
{
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    CU_SuiteInfo suites[] = {
#define SUITE(name) {#name, NULL, NULL, setup, teardown, am_tests_##name},
#include "suites.h"
#undef SUITE
        CU_SUITE_INFO_NULL,
    };
    CU_SuiteInfo chosen[sizeof(suites) / sizeof(suites[0])];
    int n = 0;
    for (int i = 0; suites[i].pName; i++)
        if (wanted(suites[i].pName, argc, argv)) chosen[n++] = suites[i];
    chosen[n] = (CU_SuiteInfo)CU_SUITE_INFO_NULL;
    if (n == 0) {
        fprintf(stderr, "no suite matches; suites are:");
        for (int i = 0; suites[i].pName; i++) fprintf(stderr, " %s", suites[i].pName);
        fprintf(stderr, "\n");
        return 2;
    }
    if (CU_register_suites(chosen) != CUE_SUCCESS) return 2;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_set_fail_on_inactive(CU_FALSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failures ? 1 : 0;
}
