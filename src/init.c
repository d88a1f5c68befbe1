/* Initial particle clouds, keyed by (seed, global particle index) on stream DS_STREAM_INIT,
   or read from an HDF5 dataset. */
#include "ds_init.h"
#include "ds_h5input.h"
#include "ds_rng.h"

#define INIT_FILE_OPTION "-drift_init_file"

/* With -drift_init file, N becomes the dataset's row count (checked against -drift_n when
   given); the shape checks are ds_h5input's, raised on every rank. */
PetscErrorCode ds_init_resolve(MPI_Comm comm, DSOptions *opts)
{
  PetscInt rows;

  PetscFunctionBeginUser;
  if (opts->init != DS_INIT_FILE) PetscFunctionReturn(0);
  PetscCall(ds_h5input_shape(comm, opts->init_file, opts->init_dataset, INIT_FILE_OPTION, opts->dim, &rows));
  PetscCheck(!opts->n_given || opts->n == rows, comm, PETSC_ERR_USER_INPUT, "-drift_n %" PetscInt_FMT " disagrees with the %" PetscInt_FMT " rows of %s in %s", opts->n, rows, opts->init_dataset, opts->init_file);
  opts->n = rows;
  PetscCall(ds_options_check_index_width(comm, opts)); /* N Q d with the file's N */
  PetscFunctionReturn(0);
}

/* Reads this rank's rows of the -drift_init_file dataset straight into X (N = opts->n rows,
   settled by ds_init_resolve). */
static PetscErrorCode cloud_read(const DSOptions *opts, Vec X)
{
  const PetscInt d = opts->dim;
  PetscInt       size, first, end;
  PetscScalar   *x;

  PetscFunctionBeginUser;
  PetscCall(VecGetSize(X, &size));
  PetscCheck(size == opts->n * d, PetscObjectComm((PetscObject)X), PETSC_ERR_ARG_SIZ, "cloud vector has %" PetscInt_FMT " entries, N d = %" PetscInt_FMT " (call ds_init_resolve first)", size, opts->n * d);
  PetscCall(VecGetOwnershipRange(X, &first, &end));
  PetscCall(VecGetArrayWrite(X, &x));
  PetscCall(ds_h5input_read_rows(PetscObjectComm((PetscObject)X), opts->init_file, opts->init_dataset, INIT_FILE_OPTION, first / d, (end - first) / d, d, x));
  PetscCall(VecRestoreArrayWrite(X, &x));
  PetscFunctionReturn(0);
}

/* Row i of the cloud: mean + scale * n (n standard normals) for gaussian, mean + scale (2u - 1)
   (u uniforms in (0, 1)) for uniform; each coordinate's mean is opts->init_mean. With
   -drift_init file, the dataset's rows (cloud_read). */
PetscErrorCode ds_init_cloud(const DSOptions *opts, Vec X)
{
  const PetscInt  d        = opts->dim;
  const PetscBool gaussian = (opts->init == DS_INIT_GAUSSIAN) ? PETSC_TRUE : PETSC_FALSE;
  void (*const fill)(uint64_t, uint32_t, uint64_t, uint32_t, PetscInt, double *) = gaussian ? ds_rng_normals : ds_rng_uniforms;
  PetscInt        block, first, end;
  PetscScalar    *x;
  double         *draw;

  PetscFunctionBeginUser;
  PetscCall(VecGetBlockSize(X, &block));
  PetscCheck(block == d, PetscObjectComm((PetscObject)X), PETSC_ERR_ARG_SIZ, "cloud vector has block size %" PetscInt_FMT ", the dimension is %" PetscInt_FMT, block, d);
  if (opts->init == DS_INIT_FILE) {
    PetscCall(cloud_read(opts, X));
    PetscFunctionReturn(0);
  }
  PetscCall(VecGetOwnershipRange(X, &first, &end));
  PetscCall(PetscMalloc1(d, &draw));
  PetscCall(VecGetArrayWrite(X, &x));
  for (PetscInt i = first / d; i < end / d; i++) {
    PetscScalar *row = &x[i * d - first];

    fill((uint64_t)opts->seed, DS_STREAM_INIT, (uint64_t)i, 0, d, draw);
    for (PetscInt j = 0; j < d; j++) row[j] = opts->init_mean + opts->init_scale * (gaussian ? draw[j] : 2.0 * draw[j] - 1.0);
  }
  PetscCall(VecRestoreArrayWrite(X, &x));
  PetscCall(PetscFree(draw));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_split_rows(MPI_Comm comm, PetscInt total, PetscInt *local, PetscInt *start)
{
  PetscMPIInt rank, size;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  *local = total / size + (rank < total % size ? 1 : 0);
  *start = rank * (total / size) + PetscMin((PetscInt)rank, total % size);
  PetscFunctionReturn(0);
}

PetscErrorCode ds_init_create_particles(MPI_Comm comm, PetscInt n, PetscInt dim, Vec *X)
{
  PetscInt local, start;

  PetscFunctionBeginUser;
  PetscCall(ds_split_rows(comm, n, &local, &start));
  PetscCall(VecCreate(comm, X));
  PetscCall(VecSetSizes(*X, local * dim, n * dim));
  PetscCall(VecSetBlockSize(*X, dim));
  PetscCall(VecSetType(*X, VECMPI));
  PetscCall(PetscObjectSetName((PetscObject)*X, "position"));
  PetscFunctionReturn(0);
}
