/* Helpers of the diagnostics suite (diagnostics_test.h): the runs, the gathered clouds
   and the configurations both of its files loop over. */
#include <math.h>
#include <string.h>
#include "diagnostics_test.h"
#include "ds_init.h"
#include "ds_rng.h"

DSOptions make_options(DSTargetType target, PetscInt samples, PetscBool replicate, PetscInt n, PetscInt dim, DSKernelType kernel, PetscReal beta)
{
  DSOptions o = ds_test_options();
  o.n = n; o.dim = dim; o.seed = 11;
  snprintf(o.field, sizeof(o.field), "displacement"); o.kernel = kernel; o.bandwidth = 0.6; o.imq_beta = beta;
  o.target = target; o.target_samples = samples; o.replicate_data = replicate;
  o.init_mean = 0.5; o.init_scale = 1.5;
  o.diagnostics_every = 1;
  o.mmd_bandwidth = 0.7; o.sliced_w2_projections = 16;
  return o;
}

void run_setup(Run *r, DSOptions o)
{
  memset(r, 0, sizeof(*r));
  ds_test_assert_valid(&o);
  r->opts = o;
  DS_ASSERT_PETSC(ds_target_create(PETSC_COMM_WORLD, &r->opts, &r->target));
  DS_ASSERT_PETSC(ds_init_create_particles(PETSC_COMM_WORLD, o.n, o.dim, &r->X));
  DS_ASSERT_PETSC(ds_init_cloud(&r->opts, r->X));
}

void run_diagnostics(Run *r)
{
  PetscInt local;
  VecGetLocalSize(r->X, &local);
  DS_ASSERT_PETSC(ds_diagnostics_create(PETSC_COMM_WORLD, &r->opts, r->target, local / r->opts.dim, &r->diag));
  DS_ASSERT_PETSC(ds_diagnostics_get_names(r->diag, &r->count, &r->names));
}

void run_teardown(Run *r)
{
  ds_diagnostics_destroy(&r->diag);
  ds_target_destroy(&r->target);
  VecDestroy(&r->X);
}

void gather_cloud(const Run *r, Cloud *cl)
{
  cl->d = r->opts.dim;
  cl->n = r->opts.n;
  cl->X = ds_test_gather_vec(r->X);
  if (r->target->analytic) {
    cl->m = r->opts.diagnostics_samples ? r->opts.diagnostics_samples : r->opts.n;
    PetscMalloc1(cl->m * cl->d, &cl->Y);
    for (PetscInt k = 0; k < cl->m; k++) ds_target_draw(r->opts.target, r->opts.target_scale, cl->d, (uint64_t)r->opts.seed, DS_STREAM_DIAGNOSTIC, k, cl->Y + k * cl->d);
  } else {
    cl->m = r->target->samples_global;
    cl->Y = ds_test_gather_samples(r->target);
  }
}

void free_cloud(Cloud *cl)
{
  PetscFree(cl->X);
  PetscFree(cl->Y);
}

/* Sets this rank's particle rows from all rows [n][d]. */
void set_particles(Vec X, const double *rows)
{
  PetscInt     lo, hi;
  PetscScalar *x;
  VecGetOwnershipRange(X, &lo, &hi);
  VecGetArray(X, &x);
  for (PetscInt k = lo; k < hi; k++) x[k - lo] = rows[k];
  VecRestoreArray(X, &x);
}

/* The value of diagnostic `name`, NaN (found 0) when not listed. */
double value_of(const Run *r, const double *values, const char *name, int *found)
{
  *found = 0;
  for (PetscInt k = 0; k < r->count; k++)
    if (!strcmp(r->names[k], name)) {
      *found = 1;
      return values[k];
    }
  return NAN;
}

/* 1 when every value is bitwise the same on every rank. */
int identical_on_all_ranks(const double *values, PetscInt count)
{
  int same = 1;
  for (PetscInt k = 0; k < count; k++) {
    double lo, hi;
    MPI_Allreduce(&values[k], &lo, 1, MPI_DOUBLE, MPI_MIN, PETSC_COMM_WORLD);
    MPI_Allreduce(&values[k], &hi, 1, MPI_DOUBLE, MPI_MAX, PETSC_COMM_WORLD);
    same = same && !memcmp(&lo, &values[k], sizeof(double)) && !memcmp(&hi, &values[k], sizeof(double));
  }
  return same;
}

const PetscInt sizes[2][2] = {{37, 23}, {3, 5}};

const TargetCase target_cases[8] = {
  {DS_TARGET_GMM8, 2, 0, 0, 0},     {DS_TARGET_GMM8, 2, 0, 1, 0},     {DS_TARGET_GAUSSIAN, 3, 0, 0, 0}, {DS_TARGET_GAUSSIAN, 3, 0, 1, 0},
  {DS_TARGET_CHECKERBOARD, 2, 0, 0, 0}, {DS_TARGET_GMM8, 2, 1, 0, 1}, {DS_TARGET_GMM8, 2, 1, 0, 0}, {DS_TARGET_GAUSSIAN, 3, 1, 0, 0},
};

DSOptions target_options(const TargetCase *tc, PetscInt n, PetscInt m, DSKernelType kernel, PetscReal beta)
{
  DSOptions o = make_options(tc->target, tc->analytic ? 0 : m, (PetscBool)tc->replicate, n, tc->dim, kernel, beta);
  o.diagnostics_samples = tc->analytic && tc->diagnostic_samples ? m : 0;
  return o;
}
