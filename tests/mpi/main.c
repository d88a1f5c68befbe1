/* MPI test driver: runs every suite in one process per rank (CK_FORK=no), at whatever
   rank count mpiexec gives it. `-suite NAME` runs one suite, `-skip_suite NAME` all but one
   (make check-sanitize leaves out the meanfield study, too slow instrumented). */
#include <petscsys.h>
#include "ds_test.h"

typedef Suite *(*SuiteMaker)(void);
static const struct { const char *name; SuiteMaker make; } suites[] = {
  {"rng_init", ds_suite_rng_init}, {"target", ds_suite_target},   {"kernels", ds_suite_kernels},
  {"ring", ds_suite_ring},         {"fields", ds_suite_fields},   {"meanfield", ds_suite_meanfield},
  {"output", ds_suite_output},     {"joint", ds_suite_joint},     {"bandwidth", ds_suite_bandwidth},
  {"input", ds_suite_input},
  {"diagnostics", ds_suite_diagnostics}, {"field_registry", ds_suite_field_registry},
  {"theorem", ds_suite_theorem},         {"stein", ds_suite_stein},
  {"xdmf", ds_suite_xdmf},                {"underflow", ds_suite_underflow},
  {"joint_floor", ds_suite_joint_floor},
  {"output_rows", ds_suite_output_rows},
  {"guard", ds_suite_guard},
  {"sinkhorn", ds_suite_sinkhorn},
  {"ecf", ds_suite_ecf},
};

int main(int argc, char **argv)
{
  char      only[64] = "", skip[64] = "";
  PetscBool has_only = PETSC_FALSE, has_skip = PETSC_FALSE;
  int       failed   = 0;

  PetscCall(PetscInitialize(&argc, &argv, NULL, "driftsim MPI tests"));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-suite", only, sizeof(only), &has_only));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-skip_suite", skip, sizeof(skip), &has_skip));
  SRunner *runner = NULL;
  for (size_t s = 0; s < sizeof(suites) / sizeof(suites[0]); s++) {
    if ((has_only && strcmp(only, suites[s].name)) || (has_skip && !strcmp(skip, suites[s].name))) continue;
    if (!runner) runner = srunner_create(suites[s].make());
    else srunner_add_suite(runner, suites[s].make());
  }
  if (!runner) {
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "no suite named %s\n", only));
    PetscCall(PetscFinalize());
    return 1;
  }
  srunner_set_fork_status(runner, CK_NOFORK);
  /* Only rank 0 reports; the verdicts are identical on every rank. */
  srunner_run_all(runner, PetscGlobalRank == 0 ? CK_NORMAL : CK_SILENT);
  failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  PetscCall(PetscFinalize());
  return failed ? 1 : 0;
}
