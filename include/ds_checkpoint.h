/* Checkpoints: everything a run needs to continue (positions, time, step, step size,
   bandwidth schedule, seed, options), written atomically, readable at any rank count. */
#ifndef DS_CHECKPOINT_H
#define DS_CHECKPOINT_H

#include <petscvec.h>
#include "ds_bandwidth.h"
#include "ds_theorem.h"

typedef struct {
  PetscInt    n, dim;
  PetscInt    seed;      /* the whole random state: every draw is keyed by (seed, stream, index) */
  PetscInt    step;
  PetscReal   time, dt;
  DSBandwidth bandwidth; /* the schedule h(t), so a restart does not recompute h0 */
  DSTheoremIntegrals integrals; /* the theorem's running integrals over the states before this one */
} DSCheckpointState;

/* Writes the particles X (block size d) and the state to `path` (collective): the file is
   written as `path`.tmp, then an existing `path` becomes `path`.prev and `path`.tmp becomes
   `path`, so a job killed while writing still has a complete checkpoint. The options
   database, version and git revision go along as attributes. */
PETSC_EXTERN PetscErrorCode ds_checkpoint_write(MPI_Comm comm, const char *path, Vec X, const DSCheckpointState *state);

/* Reads the state of the checkpoint `path` (collective). A missing or foreign file raises
   PETSC_ERR_USER_INPUT naming `option` and the path. */
PETSC_EXTERN PetscErrorCode ds_checkpoint_read_state(MPI_Comm comm, const char *option, const char *path, DSCheckpointState *state);

/* Reads the checkpoint's positions into X (any rank count; X sized N x d). Collective. */
PETSC_EXTERN PetscErrorCode ds_checkpoint_read_positions(MPI_Comm comm, const char *path, Vec X);

#endif
