/* Initial particle clouds, keyed by (seed, global particle index). */
#ifndef DS_INIT_H
#define DS_INIT_H

#include <petscvec.h>
#include "ds_options.h"

/* Creates the particle Vec: N rows of d coordinates (block size d), rank r owning
   N/P + (r < N mod P) consecutive particles (whole particles, never split). */
PETSC_EXTERN PetscErrorCode ds_init_create_particles(MPI_Comm comm, PetscInt n, PetscInt dim, Vec *X);

/* Fills this rank's rows of X (block size d, row i = particle i) with the initial cloud of
   the options: gaussian N(init_mean (1, ..., 1), init_scale^2 I) or uniform on [init_mean - init_scale, init_mean + init_scale]^d.
   Particle i depends only on (seed, i): bit-identical at every rank count. */
PETSC_EXTERN PetscErrorCode ds_init_cloud(const DSOptions *opts, Vec X);

#endif
