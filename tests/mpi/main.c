/* MPI test driver: runs every suite in one process per rank (CK_FORK=no), at whatever
   rank count mpiexec gives it. `-suite NAME[,NAME...]` runs those suites, `-skip_suite NAME`
   all but one (make check-sanitize leaves out the meanfield study, too slow instrumented).
   `-drift_isa LEVEL` runs the pair loops at that ISA level (default: the best this CPU
   runs); a level this binary or CPU lacks is reported as skipped, with no test run. */
#include <petscsys.h>
#include "ds_isa.h"
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
  {"fgt", ds_suite_fgt},
};

/* Whether suite `name` is one of the comma-separated `list`. */
static PetscBool listed(const char *list, const char *name)
{
  const size_t n = strlen(name);
  for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
    if (!strncmp(p, name, n) && (p[n] == ',' || p[n] == 0)) return PETSC_TRUE;
  return PETSC_FALSE;
}

int main(int argc, char **argv)
{
  char      only[256] = "", skip[64] = "";
  PetscBool has_only = PETSC_FALSE, has_skip = PETSC_FALSE;
  PetscEnum isa      = (PetscEnum)DS_ISA_AUTO;
  int       failed   = 0;

  PetscCall(PetscInitialize(&argc, &argv, NULL, "driftsim MPI tests"));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-suite", only, sizeof(only), &has_only));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-skip_suite", skip, sizeof(skip), &has_skip));
  PetscCall(PetscOptionsGetEnum(NULL, NULL, "-drift_isa", DSIsaNames, &isa, NULL));
  if (isa != (PetscEnum)DS_ISA_AUTO && !ds_isa_supported((DSIsa)isa)) {
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "SKIP: -drift_isa %s: this binary or this CPU lacks it (the best here is %s)\n100%%: Checks: 0, Failures: 0, Errors: 0\n", DSIsaNames[isa], DSIsaNames[ds_isa_best()]));
    PetscCall(PetscFinalize());
    return 0;
  }
  ds_isa_select(isa == (PetscEnum)DS_ISA_AUTO ? ds_isa_best() : (DSIsa)isa);
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "pair loops at ISA level %s\n", DSIsaNames[ds_isa_current()]));
  SRunner *runner = NULL;
  for (size_t s = 0; s < sizeof(suites) / sizeof(suites[0]); s++) {
    if ((has_only && !listed(only, suites[s].name)) || (has_skip && !strcmp(skip, suites[s].name))) continue;
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
