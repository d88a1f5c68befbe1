/* Shared helpers of the MPI test suites: verdicts reduced across ranks before asserting,
   so a failure on one rank fails every rank instead of hanging the others. */
#ifndef DS_TEST_H
#define DS_TEST_H

#include <check.h>
#include <petscvec.h>
#include <hdf5.h>
#include "ds_field.h"
#include "ds_target.h"

/* Logical AND of a verdict over PETSC_COMM_WORLD. */
static inline int ds_test_all(int ok)
{
  int all = 0;
  MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, PETSC_COMM_WORLD);
  return all;
}

/* Asserts a verdict on every rank after reducing it; prints the message on failing ranks. */
#define DS_ASSERT_ALL(ok, ...) \
  do { \
    int ds_ok_ = (ok); \
    if (!ds_ok_) { fprintf(stderr, "[rank %d] ", PetscGlobalRank); fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); } \
    ck_assert_msg(ds_test_all(ds_ok_), __VA_ARGS__); \
  } while (0)

/* Asserts that a PETSc call succeeded on every rank. */
#define DS_ASSERT_PETSC(call) DS_ASSERT_ALL((call) == 0, "%s failed", #call)

/* Relative difference |a - b| / max(|b|, floor); infinite where a - b is NaN (either is
   NaN, or both infinite), so that a NaN result fails a test. */
static inline double ds_test_reldiff(double a, double b, double floor_)
{
  const double den = PetscMax(PetscAbsReal(b), floor_), diff = PetscAbsReal(a - b);
  return diff == diff ? diff / den : INFINITY;
}

/* The worst of a test's differences so far and a new one: their maximum, infinite once a
   difference is NaN (PetscMax would keep the old value, and a NaN result would pass). */
static inline double ds_test_worst(double worst, double difference) { return difference == difference ? PetscMax(worst, difference) : INFINITY; }

/* A path under /tmp that is the same on every rank: /tmp/ds_<suite>_<rank 0's process
   id>_<tag>. Collective. */
PetscErrorCode ds_test_path(const char *suite, const char *tag, char path[], size_t len);

/* Rank 0 creates `path` (replacing it) holding the dataset `name` (parent groups created)
   of file type `type` and shape dims, written from `values` as `memtype` when values is not
   NULL; every rank waits and learns whether it worked. Collective. */
PetscErrorCode ds_test_write_dataset(const char *path, const char *name, hid_t type, hid_t memtype, int ndims, const hsize_t dims[], const void *values);

/* Every rank's copy of a distributed Vec (free with PetscFree). Collective. */
double *ds_test_gather_vec(Vec X);

/* Every rank's copy of the target's M samples, rows in global order. Collective. */
double *ds_test_gather_samples(const DSTarget *target);

/* |a - b|^2 of two points of dimension d. */
double ds_test_squared_distance(const double *a, const double *b, PetscInt d);

/* SCIENCE.md's kernel table from the squared distance, written independently of the
   program's kernels.c (libm's exp and pow), for the brute-force references. */
double ds_test_kernel(DSKernelType kernel, double h, double beta, double r2);

/* The program's defaults (ds_options_set_defaults): a test's options are these plus the
   fields it changes. */
DSOptions ds_test_options(void);

/* Asserts, on every rank, that the options pass ds_options_validate, as the program checks
   them before it builds anything from them. */
void ds_test_assert_valid(const DSOptions *opts);

/* The options the program takes from the command-line arguments `args`: its defaults,
   then ds_options_read on a fresh options database holding `args`, then
   ds_options_validate. ds_test_read_options asserts that they are accepted;
   ds_test_read_options_error returns the first error code quietly. */
DSOptions      ds_test_read_options(const char *args);
PetscErrorCode ds_test_read_options_error(const char *args, DSOptions *opts);

/* A field built from options on PETSC_COMM_WORLD, with its target and initial particles. */
typedef struct {
  DSOptions opts;
  DSTarget *target;
  DSField   field;
  Vec       X, V;
} DSTestRun;

/* Validates the options (ds_test_assert_valid), then builds the target, the particles and the field. */
void ds_test_run_setup(DSTestRun *run, DSOptions opts);
void ds_test_run_teardown(DSTestRun *run);

/* The suites, one per module (tests/mpi/check_<module>.c). */
Suite *ds_suite_underflow(void);
Suite *ds_suite_output_rows(void);
Suite *ds_suite_rng_init(void);
Suite *ds_suite_target(void);
Suite *ds_suite_kernels(void);
Suite *ds_suite_ring(void);
Suite *ds_suite_fields(void);
Suite *ds_suite_meanfield(void);
Suite *ds_suite_output(void);
Suite *ds_suite_bandwidth(void);
Suite *ds_suite_joint(void);
Suite *ds_suite_input(void);
Suite *ds_suite_diagnostics(void);
Suite *ds_suite_field_registry(void);
Suite *ds_suite_theorem(void);
Suite *ds_suite_stein(void);
Suite *ds_suite_xdmf(void);
Suite *ds_suite_joint_floor(void);
Suite *ds_suite_guard(void);
Suite *ds_suite_sinkhorn(void);
Suite *ds_suite_ecf(void);
Suite *ds_suite_fgt(void);

#endif
