/* Shared helpers of the MPI suites: gathering distributed data to every rank for the
   serial brute forces, and a field with its particles and target built from options. */
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <hdf5.h>
#include "ds_test.h"
#include "ds_init.h"

PetscErrorCode ds_test_path(const char *suite, const char *tag, char path[], size_t len)
{
  int pid = (int)getpid();

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Bcast(&pid, 1, MPI_INT, 0, PETSC_COMM_WORLD));
  PetscCall(PetscSNPrintf(path, len, "/tmp/ds_%s_%d_%s", suite, pid, tag));
  PetscFunctionReturn(0);
}

double *ds_test_gather_vec(Vec X)
{
  VecScatter         scatter;
  Vec                all;
  const PetscScalar *a;
  double            *copy;
  PetscInt           size;

  VecScatterCreateToAll(X, &scatter, &all);
  VecScatterBegin(scatter, X, all, INSERT_VALUES, SCATTER_FORWARD);
  VecScatterEnd(scatter, X, all, INSERT_VALUES, SCATTER_FORWARD);
  VecGetSize(all, &size);
  PetscMalloc1(PetscMax(size, 1), &copy);
  VecGetArrayRead(all, &a);
  memcpy(copy, a, size * sizeof(double));
  VecRestoreArrayRead(all, &a);
  VecScatterDestroy(&scatter);
  VecDestroy(&all);
  return copy;
}

double *ds_test_gather_samples(const DSTarget *t)
{
  const PetscInt d = t->dim;
  double        *all;

  PetscMalloc1(PetscMax(t->samples_global * d, 1), &all);
  if (t->replicated) memcpy(all, t->samples, t->samples_global * d * sizeof(double));
  else {
    PetscMPIInt size, count = (PetscMPIInt)(t->samples_local * d), *counts, *displs;
    MPI_Comm_size(PETSC_COMM_WORLD, &size);
    PetscMalloc2(size, &counts, size, &displs);
    (void)MPI_Allgather(&count, 1, MPI_INT, counts, 1, MPI_INT, PETSC_COMM_WORLD);
    displs[0] = 0;
    for (int p = 1; p < size; p++) displs[p] = displs[p - 1] + counts[p - 1];
    (void)MPI_Allgatherv(t->samples, count, MPI_DOUBLE, all, counts, displs, MPI_DOUBLE, PETSC_COMM_WORLD);
    PetscFree2(counts, displs);
  }
  return all;
}

DSOptions ds_test_options(void)
{
  DSOptions o;

  DS_ASSERT_PETSC(ds_options_set_defaults(&o));
  return o;
}

void ds_test_assert_valid(const DSOptions *o)
{
  PetscErrorCode ierr;
  char          *message = NULL;

  DS_ASSERT_PETSC(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = ds_options_validate(PETSC_COMM_WORLD, o);
  DS_ASSERT_PETSC(PetscPopErrorHandler());
  if (ierr) PetscErrorMessage(ierr, NULL, &message);
  DS_ASSERT_ALL(!ierr, "options the program would refuse: %s", message ? message : "(no message)");
}

PetscErrorCode ds_test_read_options_error(const char *args, DSOptions *opts)
{
  PetscOptions   db;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(ds_options_set_defaults(opts));
  PetscCall(PetscOptionsCreate(&db));
  PetscCall(PetscOptionsPush(db));
  PetscCall(PetscOptionsInsertString(NULL, args));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = ds_options_read(PETSC_COMM_WORLD, opts);
  if (!ierr) ierr = ds_options_validate(PETSC_COMM_WORLD, opts);
  PetscCall(PetscPopErrorHandler());
  PetscCall(PetscOptionsPop());
  PetscCall(PetscOptionsDestroy(&db));
  return ierr;
}

DSOptions ds_test_read_options(const char *args)
{
  DSOptions opts;
  DS_ASSERT_ALL(ds_test_read_options_error(args, &opts) == 0, "the options '%s' were refused", args);
  return opts;
}

void ds_test_run_setup(DSTestRun *run, DSOptions o)
{
  PetscInt local;

  ds_test_assert_valid(&o);
  run->opts = o;
  DS_ASSERT_PETSC(ds_target_create(PETSC_COMM_WORLD, &run->opts, &run->target));
  DS_ASSERT_PETSC(ds_init_create_particles(PETSC_COMM_WORLD, o.n, o.dim, &run->X));
  VecDuplicate(run->X, &run->V);
  DS_ASSERT_PETSC(ds_init_cloud(&run->opts, run->X));
  VecGetLocalSize(run->X, &local);
  DS_ASSERT_PETSC(ds_field_create(PETSC_COMM_WORLD, &run->opts, run->target, local / o.dim, &run->field));
}

void ds_test_run_teardown(DSTestRun *run)
{
  ds_field_destroy(&run->field);
  ds_target_destroy(&run->target);
  VecDestroy(&run->X);
  VecDestroy(&run->V);
}

double ds_test_squared_distance(const double *a, const double *b, PetscInt d)
{
  double r2 = 0;
  for (PetscInt k = 0; k < d; k++) r2 += (a[k] - b[k]) * (a[k] - b[k]);
  return r2;
}

double ds_test_kernel(DSKernelType kernel, double h, double beta, double r2)
{
  switch (kernel) {
  case DS_KERNEL_GAUSSIAN: return exp(-r2 / (2 * h * h));
  case DS_KERNEL_LAPLACE: return exp(-sqrt(r2) / h);
  case DS_KERNEL_IMQ: return pow(1 + r2 / (h * h), -beta);
  }
  return NAN;
}

/* Rank 0 creates `path` (replacing it) holding the dataset `name` (parent groups created)
   of file type `type` and shape dims, written from `values` as `memtype` when values is not
   NULL; every rank waits and learns whether it worked. */
PetscErrorCode ds_test_write_dataset(const char *path, const char *name, hid_t type, hid_t memtype, int ndims, const hsize_t dims[], const void *values)
{
  int ok = 1;

  PetscFunctionBeginUser;
  if (PetscGlobalRank == 0) {
    hid_t file  = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t space = H5Screate_simple(ndims, dims, NULL);
    hid_t lcpl  = H5Pcreate(H5P_LINK_CREATE);
    hid_t dset  = H5I_INVALID_HID;

    ok = file >= 0 && space >= 0 && lcpl >= 0 && H5Pset_create_intermediate_group(lcpl, 1) >= 0;
    if (ok) dset = H5Dcreate2(file, name, type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    ok = ok && dset >= 0 && (!values || H5Dwrite(dset, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) >= 0);
    if (dset >= 0) H5Dclose(dset);
    if (lcpl >= 0) H5Pclose(lcpl);
    if (space >= 0) H5Sclose(space);
    if (file >= 0) ok = H5Fclose(file) >= 0 && ok;
  }
  PetscCallMPI(MPI_Bcast(&ok, 1, MPI_INT, 0, PETSC_COMM_WORLD));
  PetscCheck(ok, PETSC_COMM_WORLD, PETSC_ERR_FILE_WRITE, "cannot write the test file %s", path);
  PetscFunctionReturn(0);
}
