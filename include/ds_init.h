/* Initial particle clouds, keyed by (seed, global particle index). */
#ifndef DS_INIT_H
#define DS_INIT_H

#include <petscvec.h>
#include "ds_options.h"

/* Settles N before the particles exist (collective): with -drift_init file, N is the row
   count of -drift_init_dataset in -drift_init_file (which must be [N][d] with d the
   options' dimension; -drift_n, if given, must agree); otherwise N is -drift_n. Raises
   PETSC_ERR_USER_INPUT naming the file and dataset when the file or dataset is missing,
   not two-dimensional, of another dimension, or empty. */
PETSC_EXTERN PetscErrorCode ds_init_resolve(MPI_Comm comm, DSOptions *opts);

/* This rank's share of `total` rows split over the ranks of comm as particles are (PETSc's
   PetscSplitOwnership): rank r owns total/P + (r < total mod P) consecutive rows, the
   first of them `start`. Not collective. */
PETSC_EXTERN PetscErrorCode ds_split_rows(MPI_Comm comm, PetscInt total, PetscInt *local, PetscInt *start);

/* Creates the particle Vec: N rows of d coordinates (block size d), split by
   ds_split_rows (whole particles, never split). */
PETSC_EXTERN PetscErrorCode ds_init_create_particles(MPI_Comm comm, PetscInt n, PetscInt dim, Vec *X);

/* Fills this rank's rows of X (block size d, row i = particle i) with the initial cloud of
   the options: gaussian N(init_mean (1, ..., 1), init_scale^2 I) or uniform on [init_mean - init_scale, init_mean + init_scale]^d.
   Particle i depends only on (seed, i): bit-identical at every rank count. With
   -drift_init file, each rank reads its own rows of the dataset in parallel; a NaN or Inf
   anywhere raises PETSC_ERR_USER_INPUT on every rank naming the file, dataset and row. */
PETSC_EXTERN PetscErrorCode ds_init_cloud(const DSOptions *opts, Vec X);

#endif
