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
  char        run[1024]; /* the options a restart must share (ds_preflight_describe_run); "" in older checkpoints */
} DSCheckpointState;

/* Writes the particles X (block size d) and the state to `path` (collective): the file is
   written as `path`.tmp, then an existing `path` is kept as `path`.prev and `path`.tmp is
   renamed to `path`, so a job killed at any moment still has a complete checkpoint. The
   options database, version and git revision go along as attributes. A failure on any rank
   (full disk, read-only directory) is agreed by all (ds_h5_agree): every rank raises
   PETSC_ERR_FILE_WRITE naming the file and the step, `path` is left as it was and
   `path`.tmp removed. */
PETSC_EXTERN PetscErrorCode ds_checkpoint_write(MPI_Comm comm, const char *path, Vec X, const DSCheckpointState *state);

/* Reads the state of the checkpoint `path` (collective) after rank 0 has checked the whole
   file: every attribute present, n and d >= 1, step >= 0, time finite, dt finite and > 0,
   a position dataset of N x d finite numbers that reads to its end. A missing, foreign,
   truncated or inconsistent file raises PETSC_ERR_USER_INPUT naming `option`, the path and
   the problem, on every rank and without HDF5's error stack. */
PETSC_EXTERN PetscErrorCode ds_checkpoint_read_state(MPI_Comm comm, const char *option, const char *path, DSCheckpointState *state);

/* Reads the checkpoint's positions into X (any rank count; X sized N x d). Collective. */
PETSC_EXTERN PetscErrorCode ds_checkpoint_read_positions(MPI_Comm comm, const char *path, Vec X);

#endif
