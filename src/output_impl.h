/* Private to the output module (output.c, output_restart.c): the handle and the steps the
   restart shares with the writers. */
#ifndef DS_OUTPUT_IMPL_H
#define DS_OUTPUT_IMPL_H

#include "ds_output.h"
#include "ds_h5util.h"

#define DS_OUTPUT_DIAGNOSTICS "/diagnostics"
#define DS_OUTPUT_ROWS        "complete_rows" /* attribute of /particles and /diagnostics */

struct DSOutput_ {
  DSH5File     file;
  PetscInt     n, dim;          /* particle count and dimension of the run */
  PetscBool    has_particles;   /* /particles exists (created by the first snapshot) */
  PetscBool    has_velocity;    /* the first snapshot came with velocities */
  DSH5Dataset  particle_step, particle_time, position, velocity;
  PetscInt     ndiagnostics;    /* 0 until the first diagnostics row */
  PetscInt     diagnostic_rows; /* rows of /diagnostics flushed (kept by a restart, then written) */
  DSH5Dataset *diagnostics;     /* step, time, then one per name */
  PetscInt     reopened_series; /* series found in /diagnostics by ds_output_reopen (0: none) */
  PetscInt     nsnapshots, maxsnapshots; /* snapshots in the file; room in steps and times */
  PetscInt    *steps;           /* /particles/step and /particles/time, for the sidecar */
  PetscReal   *times;
  char         sidecar[PETSC_MAX_PATH_LEN]; /* XDMF description: the path without .h5, plus .xmf */
  char         views[PETSC_MAX_PATH_LEN];   /* its views file: the path without .h5, plus .views.h5 */
};

#define DS_OUTPUT_METADATA_ROOM (64 << 10) /* HDF5 metadata one operation may allocate (headers, heaps, aggregator blocks) */

/* Makes `rows` the complete rows of the series under `group` (/particles or /diagnostics):
   flushes the rows, then overwrites the group's complete_rows attribute in place and
   flushes again, so that a job killed at any moment leaves a count of rows that were all
   on disk. Collective. */
PETSC_EXTERN PetscErrorCode ds_output_commit_rows(DSOutput out, const char *group, PetscInt rows);

/* A handle for the options' output file, with no file open yet. Collective. */
PETSC_EXTERN PetscErrorCode ds_output_handle_new(MPI_Comm comm, const DSOptions *opts, DSOutput *out);

/* Body of ds_output_open, without the log event and the quiet HDF5. Collective. */
PETSC_EXTERN PetscErrorCode ds_output_create_file(MPI_Comm comm, const DSOptions *opts, const DSTarget *target, const DSBandwidth *bandwidth, DSOutput *out);

/* Body of ds_output_close: closes every dataset and the file, frees the handle. Collective. */
PETSC_EXTERN PetscErrorCode ds_output_destroy(DSOutput *out);

/* Remembers the step and time of a snapshot in the file, for the sidecar. Local. */
PETSC_EXTERN PetscErrorCode ds_output_remember_snapshot(DSOutput out, PetscInt step, PetscReal time);

/* Rank 0 brings the sidecar up to date with the remembered snapshots (ds_xdmf_update),
   called after the file was flushed; a failure is raised on every rank. Collective. */
PETSC_EXTERN PetscErrorCode ds_output_update_sidecar(DSOutput out);

#endif
