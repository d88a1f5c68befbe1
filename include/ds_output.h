/* Parallel HDF5 output: particle snapshots, diagnostics and provenance, written
   collectively as the run goes and flushed so a killed job keeps what was written. Next to
   the file, an XDMF sidecar describes the snapshots to ParaView and VisIt (ds_xdmf.h). */
#ifndef DS_OUTPUT_H
#define DS_OUTPUT_H

#include <petscvec.h>
#include "ds_options.h"
#include "ds_target.h"
#include "ds_bandwidth.h"

typedef struct DSOutput_ *DSOutput;

/* Checks (collectively, without creating or truncating anything) that `path` can be
   written: its directory exists and is writable, and an existing file is a writable
   regular file. Raises PETSC_ERR_USER_INPUT naming `option` and the path otherwise. */
PETSC_EXTERN PetscErrorCode ds_output_check_path(MPI_Comm comm, const char *option, const char *path);

/* Creates the output file (replacing an old one), writes the run description and
   provenance as root attributes (n, dim, ranks, seed, field, kernel, the bandwidth rule
   and schedule, target and initial cloud, version, git_revision, compiler, build_flags,
   vector_isa, petsc and hdf5 versions, host, created, the options database) and /target (none when
   target is NULL). Removes the XDMF sidecar of an old file. Collective. */
PETSC_EXTERN PetscErrorCode ds_output_open(MPI_Comm comm, const DSOptions *opts, const DSTarget *target, const DSBandwidth *bandwidth, DSOutput *out);

/* Reopens the output file of a run restarted from the checkpoint of step restart_step
   (collective): opens it read-write, cuts every /particles and /diagnostics series to its
   rows with step < restart_step (the checkpoint of a step is written before that step's
   rows, and later ones came after it), so that the restarted run's snapshots and
   diagnostics rows (with the same names as before), from restart_step on, follow them,
   keeps the other attributes, adds the line "restarted at step S from
   <-drift_restart> on <UTC time> with P ranks" to the root string attribute `restarts`,
   and rewrites the sidecar. A missing file is created as by ds_output_open; a file that
   is not driftsim output for N particles of dimension d raises PETSC_ERR_USER_INPUT. */
PETSC_EXTERN PetscErrorCode ds_output_reopen(MPI_Comm comm, const DSOptions *opts, const DSTarget *target, const DSBandwidth *bandwidth, PetscInt restart_step, DSOutput *out);

/* Appends one snapshot: /particles/step, /particles/time, /particles/position[T][N][d]
   from X, and /particles/velocity from V when V is not NULL. Collective. After the flush,
   rank 0 rewrites the sidecar <output without .h5>.xmf atomically (d = 2 or 3 only): XDMF
   2, a temporal collection with one Polyvertex grid of N points per snapshot, its geometry
   (XY or XYZ) and velocity vectors hyperslabs of the datasets, its time /particles/time. */
PETSC_EXTERN PetscErrorCode ds_output_write_particles(DSOutput out, PetscInt step, PetscReal time, Vec X, Vec V);

/* Appends one row of global diagnostics: /diagnostics/step, /diagnostics/time and
   /diagnostics/<names[k]> = values[k]; the set of names is fixed by the first call.
   Values must be identical on every rank. Collective. */
PETSC_EXTERN PetscErrorCode ds_output_write_diagnostics(DSOutput out, PetscInt step, PetscReal time, PetscInt count, const char *const names[], const PetscReal values[]);

/* Flushes and closes the file. Collective. */
PETSC_EXTERN PetscErrorCode ds_output_close(DSOutput *out);

/* Writes `count` named real values as root attributes (a run's final summary: the
   theorem's time averages, the initial KL); an attribute of the same name is replaced.
   Collective; values must be the same on every rank. */
PETSC_EXTERN PetscErrorCode ds_output_write_summary(DSOutput out, PetscInt count, const char *const names[], const PetscReal values[]);

#endif
