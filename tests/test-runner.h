/* One runner for every CUnit suite: a suite is a table of named tests, so
 * no test file repeats the registration and run boilerplate. */
#ifndef SPOP_TEST_RUNNER_H
#define SPOP_TEST_RUNNER_H

#include <CUnit/Basic.h>

struct test_case {
	const char *name;
	CU_TestFunc fn;
};

struct test_suite {
	const char *name;
	CU_InitializeFunc init;
	CU_CleanupFunc clean;
	const struct test_case *cases; /* ends with {NULL, NULL} */
};

/* Registers and runs suites (ending with {NULL}); 0 when all passed,
 * 1 on a failure, 2 when CUnit itself failed. */
static inline int test_run(const struct test_suite *suites)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	for (const struct test_suite *su = suites; su->name; su++) {
		CU_pSuite s = CU_add_suite(su->name, su->init, su->clean);

		for (const struct test_case *c = su->cases; s && c->name; c++)
			if (!CU_add_test(s, c->name, c->fn))
				s = NULL;
		if (!s) {
			CU_cleanup_registry();
			return 2;
		}
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed =
	    CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}

#endif
