/* All case tables, for the registry-wide checks in test_registry.c. */
#include "test_util.h"

#define CASES(f) extern const am_op_case am_cases_##f[];
#include "case_families.h"
#undef CASES

const am_op_case *const am_case_tables[] = {
#define CASES(f) am_cases_##f,
#include "case_families.h"
#undef CASES
    NULL};
