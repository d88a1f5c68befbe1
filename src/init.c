/* Initial particle clouds, keyed by (seed, global particle index) on stream DS_STREAM_INIT. */
#include "ds_init.h"
#include "ds_rng.h"

/* Row i of the cloud: mean + scale * n (n standard normals) for gaussian, mean + scale (2u - 1)
   (u uniforms in (0, 1)) for uniform; each coordinate's mean is opts->init_mean. */
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

PetscErrorCode ds_init_create_particles(MPI_Comm comm, PetscInt n, PetscInt dim, Vec *X)
{
  PetscInt local = PETSC_DECIDE;

  PetscFunctionBeginUser;
  PetscCall(PetscSplitOwnership(comm, &local, &n));
  PetscCall(VecCreate(comm, X));
  PetscCall(VecSetSizes(*X, local * dim, n * dim));
  PetscCall(VecSetBlockSize(*X, dim));
  PetscCall(VecSetType(*X, VECMPI));
  PetscCall(PetscObjectSetName((PetscObject)*X, "position"));
  PetscFunctionReturn(0);
}
