/* The checks that decide, before any file is created, truncated, cut or renamed, that a run
   can go ahead (preflight.c): the -ts_* values, the paths the run writes against the files
   it reads, a restart's checkpoint against the options, and the initial field. Each raises
   PETSC_ERR_USER_INPUT on every rank of comm with one message naming the option or file;
   decisions that depend on the file system are taken on rank 0 and broadcast. */
#ifndef DS_PREFLIGHT_H
#define DS_PREFLIGHT_H

#include <petscts.h>
#include "ds_options.h"
#include "ds_checkpoint.h"

/* TSSetFromOptions on ts, then its step size (finite, > 0), step limit (>= 0) and, when
   -ts_max_time is given, its time limit (finite, > 0). Collective. */
PETSC_EXTERN PetscErrorCode ds_preflight_ts(MPI_Comm comm, TS ts);

/* Where checkpoints go: -drift_checkpoint, else `<output stem>.checkpoint.h5`, else
   driftsim.checkpoint.h5 in the working directory. Local. */
PETSC_EXTERN PetscErrorCode ds_preflight_checkpoint_path(const DSOptions *opts, char path[], size_t len);

/* The paths compared by identity (device and inode of an existing file, otherwise the
   resolved directory and the name): -drift_output must not be -drift_restart,
   -drift_init_file, -drift_target_file, an -options_file (on the command line or included
   by another, named with the file that includes it) or the checkpoint `checkpoint` (or its
   .tmp and .prev); the checkpoint must not be one of the input files; the directory of a
   -drift_checkpoint must exist and be writable. Collective. */
PETSC_EXTERN PetscErrorCode ds_preflight_paths(MPI_Comm comm, const DSOptions *opts, const char *checkpoint);

/* The options a restart takes from its command line and must share with its checkpoint,
   as "-option value" pairs (field, kernel, self pair, target, temperatures, diagnostics,
   joint floor, ecf shells and directions) into text (stored in the checkpoint as `run`). Local. */
PETSC_EXTERN PetscErrorCode ds_preflight_describe_run(const DSOptions *opts, char text[], size_t len);

/* A restart's checkpoint state cp (read and checked by ds_checkpoint_read_state) against
   the options: N, d, the seed, every pair of its `run` description, and a -drift_bandwidth,
   -drift_bandwidth_rule or -drift_bandwidth_anneal given on the command line against its
   bandwidth schedule. Then an existing -drift_output the restart would cut and append to
   (read only, on rank 0): its n, dim, seed, field, kernel, self pair, target and bandwidth
   rule and h0 must be the checkpoint's run's, and its last snapshot must not be older than
   the last one that run wrote before cp's step (at the output's recorded
   -drift_output_every or this run's, whichever asks less). A contradiction is refused
   naming both values, before anything is cut. Collective. */
PETSC_EXTERN PetscErrorCode ds_preflight_restart(MPI_Comm comm, const DSOptions *opts, const DSCheckpointState *cp);

/* Refuses the run when `particle` >= 0, the first particle whose field at the first state
   (time t, bandwidth h) is not finite, naming the options that make kernel sums overflow
   or underflow, and saying that nothing was written. Collective. */
PETSC_EXTERN PetscErrorCode ds_preflight_initial_field(MPI_Comm comm, const DSOptions *opts, PetscReal t, PetscReal h, PetscInt particle);

#endif
