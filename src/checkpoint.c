/* Checkpoints through PETSc's HDF5 viewer: VecView writes the particles collectively and
   VecLoad reads them back at any rank count; the scalars are root attributes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <petscviewerhdf5.h>
#include "ds_checkpoint.h"
#include "ds_h5util.h"
#include "ds_provenance.h"

/* The particles' dataset (VecView and VecLoad name it after the Vec), and the attribute
   that marks a checkpoint and holds the version that wrote it. */
#define DATASET "position"
#define MARKER  "checkpoint_version"

/* The root attributes of a checkpoint: name, type and where the state keeps it. */
typedef struct {
  const char   *name;
  PetscDataType type;
  size_t        offset;
} Field;

#define FIELD(name, type) {#name, type, offsetof(DSCheckpointState, name)}
static const Field fields[] = {
  FIELD(n, PETSC_INT),          FIELD(dim, PETSC_INT),          FIELD(seed, PETSC_INT),
  FIELD(step, PETSC_INT),       FIELD(time, PETSC_REAL),        FIELD(dt, PETSC_REAL),
  {"bandwidth_h0", PETSC_REAL, offsetof(DSCheckpointState, bandwidth.h0)},
  {"bandwidth_anneal", PETSC_REAL, offsetof(DSCheckpointState, bandwidth.anneal)},
  {"bandwidth_min", PETSC_REAL, offsetof(DSCheckpointState, bandwidth.h_min)},
#define INTEGRAL(member, type) {"theorem_" #member, type, offsetof(DSCheckpointState, integrals.member)}
  INTEGRAL(count, PETSC_INT), INTEGRAL(time, PETSC_REAL), INTEGRAL(centre_velocity, PETSC_REAL), INTEGRAL(self_term, PETSC_REAL), INTEGRAL(meanfield_velocity, PETSC_REAL),
  INTEGRAL(centre_velocity_integral, PETSC_REAL), INTEGRAL(self_term_integral, PETSC_REAL), INTEGRAL(meanfield_velocity_integral, PETSC_REAL),
  INTEGRAL(stein_count, PETSC_INT), INTEGRAL(stein_time, PETSC_REAL), INTEGRAL(stein_drift, PETSC_REAL), INTEGRAL(stein_drift_integral, PETSC_REAL),
  INTEGRAL(meanfield.dim, PETSC_INT), INTEGRAL(meanfield.target_variance, PETSC_REAL), INTEGRAL(meanfield.time, PETSC_REAL), INTEGRAL(meanfield.mean, PETSC_REAL), INTEGRAL(meanfield.variance, PETSC_REAL),
#undef INTEGRAL
};
#undef FIELD

PetscErrorCode ds_checkpoint_write(MPI_Comm comm, const char *path, Vec X, const DSCheckpointState *state)
{
  char         tmp[PETSC_MAX_PATH_LEN], prev[PETSC_MAX_PATH_LEN];
  DSProvenance provenance;
  PetscViewer  viewer;
  PetscMPIInt  rank;
  int          failed = 0;

  PetscFunctionBeginUser;
  PetscCall(ds_provenance_get(comm, &provenance));
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", path));
  PetscCall(PetscSNPrintf(prev, sizeof(prev), "%s.prev", path));
  PetscCall(PetscViewerHDF5Open(comm, tmp, FILE_MODE_WRITE, &viewer));
  PetscCall(PetscObjectSetName((PetscObject)X, DATASET));
  PetscCall(VecView(X, viewer));
  for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/", fields[k].name, fields[k].type, (const char *)state + fields[k].offset));
  PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/", "bandwidth_rule", PETSC_STRING, DSBandwidthRules[state->bandwidth.rule]));
  PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/", MARKER, PETSC_STRING, provenance.version));
  PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/", "git_revision", PETSC_STRING, provenance.git_revision));
  PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/", "options", PETSC_STRING, provenance.options));
  PetscCall(PetscViewerDestroy(&viewer));
  PetscCall(ds_provenance_free(&provenance));

  /* Every rank has closed the new file; rank 0 moves it into place. */
  PetscCallMPI(MPI_Barrier(comm));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (!rank) {
    if (access(path, F_OK) == 0 && rename(path, prev)) failed = errno;
    if (!failed && rename(tmp, path)) failed = errno;
  }
  PetscCallMPI(MPI_Bcast(&failed, 1, MPI_INT, 0, comm));
  PetscCheck(!failed, comm, PETSC_ERR_FILE_WRITE, "checkpoint %s: could not move the new checkpoint into place: %s", path, strerror(failed));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_checkpoint_read_state(MPI_Comm comm, const char *option, const char *path, DSCheckpointState *state)
{
  PetscViewer viewer;
  PetscBool   has;
  DSH5Probe   probe;
  char       *rule = NULL;

  PetscFunctionBeginUser;
  PetscCall(ds_h5_probe(comm, path, &probe));
  PetscCheck(probe.kind != DS_H5_FILE_MISSING && probe.kind != DS_H5_FILE_INACCESSIBLE && probe.kind != DS_H5_FILE_UNREADABLE, comm, PETSC_ERR_USER_INPUT, "%s %s: the checkpoint cannot be read", option, path);
  PetscCheck(probe.kind == DS_H5_FILE_HDF5, comm, PETSC_ERR_USER_INPUT, "%s %s: not a driftsim checkpoint (not an HDF5 file)", option, path);
  PetscCall(PetscMemzero(state, sizeof(*state)));
  PetscCall(PetscViewerHDF5Open(comm, path, FILE_MODE_READ, &viewer));
  PetscCall(PetscViewerHDF5HasAttribute(viewer, "/", MARKER, &has));
  if (!has) PetscCall(PetscViewerDestroy(&viewer));
  PetscCheck(has, comm, PETSC_ERR_USER_INPUT, "%s %s: not a driftsim checkpoint (an output file? checkpoints are written by -drift_checkpoint)", option, path);
  for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) PetscCall(PetscViewerHDF5ReadAttribute(viewer, "/", fields[k].name, fields[k].type, NULL, (char *)state + fields[k].offset));
  PetscCall(PetscViewerHDF5ReadAttribute(viewer, "/", "bandwidth_rule", PETSC_STRING, NULL, &rule));
  for (int r = DS_BANDWIDTH_FIXED; r <= DS_BANDWIDTH_MEDIAN; r++)
    if (!strcmp(rule, DSBandwidthRules[r])) state->bandwidth.rule = (DSBandwidthRule)r;
  PetscCall(PetscFree(rule));
  PetscCall(PetscViewerDestroy(&viewer));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_checkpoint_read_positions(MPI_Comm comm, const char *path, Vec X)
{
  PetscViewer viewer;

  PetscFunctionBeginUser;
  PetscCall(PetscViewerHDF5Open(comm, path, FILE_MODE_READ, &viewer));
  PetscCall(PetscObjectSetName((PetscObject)X, DATASET));
  PetscCall(VecLoad(X, viewer));
  PetscCall(PetscViewerDestroy(&viewer));
  PetscFunctionReturn(0);
}
