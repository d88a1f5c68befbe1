/* Checkpoints through PETSc's HDF5 viewer: VecView writes the particles collectively and
   VecLoad reads them back at any rank count; the scalars are root attributes. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
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
  PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/", "run", PETSC_STRING, state->run));
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

/* The scalar attribute `name` of file as a double into value; false when it is missing,
   not a single number or unreadable. */
static PetscBool read_number(hid_t file, const char *name, double *value)
{
  hid_t    attr, space;
  hssize_t count = -1;
  herr_t   err   = -1;

  if (H5Aexists(file, name) <= 0) return PETSC_FALSE;
  if ((attr = H5Aopen(file, name, H5P_DEFAULT)) < 0) return PETSC_FALSE;
  if ((space = H5Aget_space(attr)) >= 0) {
    count = H5Sget_simple_extent_npoints(space);
    H5Sclose(space);
  }
  if (count == 1) err = H5Aread(attr, H5T_NATIVE_DOUBLE, value);
  H5Aclose(attr);
  return (PetscBool)(count == 1 && err >= 0);
}

/* Why the position dataset of file cannot be restarted from (it must hold n x dim finite
   numbers and read to its end), or "". Reads it in blocks of rows. */
static void positions_problem(hid_t file, double n, double dim, char reason[], size_t len)
{
  hid_t   dset = H5Dopen2(file, DATASET, H5P_DEFAULT), space = dset < 0 ? -1 : H5Dget_space(dset);
  int     rank = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
  hsize_t dims[H5S_MAX_RANK], total = 1, row = 1;

  if (rank < 1) snprintf(reason, len, "dataset %s is missing or unreadable", DATASET);
  else {
    H5Sget_simple_extent_dims(space, dims, NULL);
    for (int k = 0; k < rank; k++) total *= dims[k];
    for (int k = 1; k < rank; k++) row *= dims[k];
    if ((double)total != n * dim) snprintf(reason, len, "dataset %s holds %llu numbers, not N x d = %.0f x %.0f", DATASET, (unsigned long long)total, n, dim);
  }
  const hsize_t block = PetscMax(1, (1 << 20) / row);
  double       *buf   = reason[0] ? NULL : malloc(sizeof(double) * block * row);
  for (hsize_t r0 = 0; buf && !reason[0] && r0 < dims[0]; r0 += block) {
    hsize_t start[H5S_MAX_RANK] = {r0}, count[H5S_MAX_RANK];
    for (int k = 0; k < rank; k++) count[k] = k ? dims[k] : PetscMin(block, dims[0] - r0);
    hid_t mem = H5Screate_simple(1, (hsize_t[]){count[0] * row}, NULL);
    if (H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL) < 0 || H5Dread(dset, H5T_NATIVE_DOUBLE, mem, space, H5P_DEFAULT, buf) < 0) snprintf(reason, len, "dataset %s cannot be read to its end (a truncated or damaged file?)", DATASET);
    for (hsize_t i = 0; !reason[0] && i < count[0] * row; i++)
      if (!isfinite(buf[i])) snprintf(reason, len, "the position of particle %llu is not finite", (unsigned long long)((r0 * row + i) / (hsize_t)dim));
    H5Sclose(mem);
  }
  free(buf);
  if (space >= 0) H5Sclose(space);
  if (dset >= 0) H5Dclose(dset);
}

/* Why the checkpoint `path` cannot be restarted from, or "" (rank 0, HDF5 quiet). */
static void checkpoint_problem(const char *path, char reason[], size_t len)
{
  hid_t  file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  double v[sizeof(fields) / sizeof(fields[0])];

  reason[0] = 0;
  if (file < 0) {
    snprintf(reason, len, "cannot be opened (a truncated or damaged HDF5 file?)");
    return;
  }
  if (H5Aexists(file, MARKER) <= 0) snprintf(reason, len, "not a driftsim checkpoint (an output file? checkpoints are written by -drift_checkpoint)");
  for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]) && !reason[0]; k++)
    if (!read_number(file, fields[k].name, &v[k])) snprintf(reason, len, "the attribute %s is missing or not a number (a damaged checkpoint?)", fields[k].name);
  /* fields[] begins n, dim, seed, step, time, dt */
  if (!reason[0] && !(v[0] >= 1 && v[1] >= 1)) snprintf(reason, len, "n = %g and dim = %g: both must be >= 1", v[0], v[1]);
  else if (!reason[0] && !(v[3] >= 0)) snprintf(reason, len, "step = %g: must be >= 0", v[3]);
  else if (!reason[0] && !isfinite(v[4])) snprintf(reason, len, "time = %g: must be finite", v[4]);
  else if (!reason[0] && !(isfinite(v[5]) && v[5] > 0)) snprintf(reason, len, "dt = %g: must be finite and > 0", v[5]);
  if (!reason[0]) positions_problem(file, v[0], v[1], reason, len);
  H5Fclose(file);
}

PetscErrorCode ds_checkpoint_read_state(MPI_Comm comm, const char *option, const char *path, DSCheckpointState *state)
{
  PetscViewer viewer;
  PetscBool   has;
  DSH5Probe   probe;
  DSH5Quiet   quiet;
  PetscMPIInt rank;
  char        reason[PETSC_MAX_PATH_LEN], *text = NULL;

  PetscFunctionBeginUser;
  PetscCall(ds_h5_probe(comm, path, &probe));
  PetscCheck(probe.kind != DS_H5_FILE_MISSING && probe.kind != DS_H5_FILE_INACCESSIBLE && probe.kind != DS_H5_FILE_UNREADABLE, comm, PETSC_ERR_USER_INPUT, "%s %s: the checkpoint cannot be read", option, path);
  PetscCheck(probe.kind == DS_H5_FILE_HDF5, comm, PETSC_ERR_USER_INPUT, "%s %s: not a driftsim checkpoint (not an HDF5 file)", option, path);
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (!rank) {
    PetscCall(ds_h5_quiet_begin(DS_H5_UNLOGGED, &quiet));
    checkpoint_problem(path, reason, sizeof(reason));
    PetscCall(ds_h5_quiet_end(&quiet));
  }
  PetscCallMPI(MPI_Bcast(reason, sizeof(reason), MPI_CHAR, 0, comm));
  PetscCheck(!reason[0], comm, PETSC_ERR_USER_INPUT, "%s %s: %s", option, path, reason);
  PetscCall(PetscMemzero(state, sizeof(*state)));
  PetscCall(PetscViewerHDF5Open(comm, path, FILE_MODE_READ, &viewer));
  for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) PetscCall(PetscViewerHDF5ReadAttribute(viewer, "/", fields[k].name, fields[k].type, NULL, (char *)state + fields[k].offset));
  PetscCall(PetscViewerHDF5ReadAttribute(viewer, "/", "bandwidth_rule", PETSC_STRING, NULL, &text));
  for (int r = DS_BANDWIDTH_FIXED; r <= DS_BANDWIDTH_MEDIAN; r++)
    if (!strcmp(text, DSBandwidthRules[r])) state->bandwidth.rule = (DSBandwidthRule)r;
  PetscCall(PetscFree(text));
  PetscCall(PetscViewerHDF5HasAttribute(viewer, "/", "run", &has));
  if (has) {
    PetscCall(PetscViewerHDF5ReadAttribute(viewer, "/", "run", PETSC_STRING, NULL, &text));
    PetscCall(PetscStrncpy(state->run, text, sizeof(state->run)));
    PetscCall(PetscFree(text));
  }
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
