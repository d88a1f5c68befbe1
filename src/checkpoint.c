/* Checkpoints through PETSc's HDF5 viewer: VecView writes the particles collectively and
   VecLoad reads them back at any rank count; the scalars are root attributes. */
#include <errno.h>
#include <fcntl.h>
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

/* Writes the particles and the root attributes into the open viewer. */
static PetscErrorCode write_contents(PetscViewer viewer, Vec X, const DSCheckpointState *state, const DSProvenance *provenance)
{
  PetscFunctionBeginUser;
  PetscCall(PetscObjectSetName((PetscObject)X, DATASET));
  PetscCall(VecView(X, viewer));
  for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/", fields[k].name, fields[k].type, (const char *)state + fields[k].offset));
  PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/", "bandwidth_rule", PETSC_STRING, DSBandwidthRules[state->bandwidth.rule]));
  PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/", MARKER, PETSC_STRING, provenance->version));
  PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/", "git_revision", PETSC_STRING, provenance->git_revision));
  PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/", "options", PETSC_STRING, provenance->options));
  PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/", "run", PETSC_STRING, state->run));
  PetscFunctionReturn(0);
}

/* Room for a checkpoint beyond its particles and options text: HDF5's metadata and the
   other attributes take a few KiB; the margin keeps the reservation an upper bound. */
#define RESERVE_MARGIN (256 << 10)

/* Rank 0 reserves `bytes` in `tmp`, the file HDF5 has just created; returns 0 or the errno.
   HDF5 and MPI-IO do not agree on a failure inside one collective call (a rank that fails
   to extend the file leaves the others in a barrier), so a full disk or a quota must be
   found here, before HDF5 writes the contents. It must come after the create: HDF5's
   create through MPI-IO truncates the file to 0, which releases any room reserved before
   (checked with HDF5 1.10.8); its close cuts the file back to what it wrote. */
static int reserve(const char *tmp, off_t bytes)
{
  const int fd = open(tmp, O_WRONLY);
  int       err;

  if (fd < 0) return errno;
  err = posix_fallocate(fd, 0, bytes);
  if (close(fd) && !err) err = errno;
  return err;
}

/* Writes the new checkpoint `tmp`: every rank checks its file size limit against the
   checkpoint's size (a limit on one rank only would fail that rank's writes inside HDF5's
   collective calls: a hang), then each collective stage (create, the room rank 0 reserves
   in the created file, contents, close) is agreed by every rank before the next begins; on a
   failure every rank has closed what it opened and *failed, *err are set (ds_h5_agree).
   PETSc's errors here are this rank's only: they are not printed. */
static PetscErrorCode write_new_file(MPI_Comm comm, const char *tmp, Vec X, const DSCheckpointState *state, PetscBool *failed, int *err)
{
  DSProvenance   provenance;
  PetscViewer    viewer = NULL;
  PetscErrorCode ierr;
  DSH5Quiet      quiet;
  PetscInt       size;
  size_t         options;
  off_t          bytes;
  PetscMPIInt    rank;

  PetscFunctionBeginUser;
  PetscCall(ds_provenance_get(comm, &provenance));
  PetscCall(VecGetSize(X, &size));
  PetscCall(PetscStrlen(provenance.options, &options));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  bytes = (off_t)size * (off_t)sizeof(double) + (off_t)options + RESERVE_MARGIN;
  errno = ds_h5_size_allowed((hsize_t)bytes); /* each rank's own file size limit */
  PetscCall(ds_h5_agree(comm, (PetscBool)!errno, failed, err));
  if (*failed) {
    PetscCall(ds_provenance_free(&provenance));
    PetscFunctionReturn(0);
  }
  PetscCall(ds_h5_quiet_begin(DS_H5_UNLOGGED, &quiet));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = PetscViewerHDF5Open(comm, tmp, FILE_MODE_WRITE, &viewer);
  PetscCall(ds_h5_agree(comm, (PetscBool)!ierr, failed, err));
  if (!*failed) {
    errno = rank ? 0 : reserve(tmp, bytes);
    PetscCall(ds_h5_agree(comm, (PetscBool)!errno, failed, err));
  }
  if (!*failed) {
    ierr = write_contents(viewer, X, state, &provenance);
    PetscCall(ds_h5_agree(comm, (PetscBool)!ierr, failed, err));
  }
  if (viewer) {
    PetscBool close_failed;
    int       close_err;

    ierr = PetscViewerDestroy(&viewer);
    PetscCall(ds_h5_agree(comm, (PetscBool)!ierr, &close_failed, &close_err));
    if (close_failed) PetscCall(ds_h5_watch_rest()); /* the file may be still open: MPI_Finalize may hang closing it */
    if (!*failed) *err = close_err;
    *failed = (PetscBool)(*failed || close_failed);
  }
  PetscCall(PetscPopErrorHandler());
  PetscCall(ds_h5_quiet_end(&quiet));
  PetscCall(ds_provenance_free(&provenance));
  PetscFunctionReturn(0);
}

/* Rank 0's last step: keeps `path` as `prev` (through a hard link, so that `path` exists at
   every moment, even for a job killed here; by a rename where the file system has no
   links) and renames `tmp` to `path`. Returns 0 or the errno of the step that failed, after
   which `path` is what it was. */
static int move_into_place(const char *tmp, const char *path, const char *prev)
{
  int renamed = 0, err;

  if (access(path, F_OK) == 0) {
    if (unlink(prev) && errno != ENOENT) return errno;
    if (link(path, prev)) {
      if (rename(path, prev)) return errno;
      renamed = 1;
    }
  }
  if (!rename(tmp, path)) return 0;
  err = errno;
  if (renamed) (void)rename(prev, path);
  return err;
}

PetscErrorCode ds_checkpoint_write(MPI_Comm comm, const char *path, Vec X, const DSCheckpointState *state)
{
  char        tmp[PETSC_MAX_PATH_LEN], prev[PETSC_MAX_PATH_LEN];
  PetscMPIInt rank;
  PetscBool   failed;
  int         err = 0, moved = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", path));
  PetscCall(PetscSNPrintf(prev, sizeof(prev), "%s.prev", path));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(write_new_file(comm, tmp, X, state, &failed, &err));

  /* Every rank has closed the new file; rank 0 moves it into place, or removes it. */
  if (!rank && failed) (void)unlink(tmp);
  if (!rank && !failed && (moved = move_into_place(tmp, path, prev))) (void)unlink(tmp);
  PetscCallMPI(MPI_Bcast(&moved, 1, MPI_INT, 0, comm));
  if (moved) PetscCall(ds_h5_agree(comm, PETSC_FALSE, &failed, &err)); /* marks the failure agreed */
  PetscCheck(!failed, comm, PETSC_ERR_FILE_WRITE, "checkpoint %s: could not write the state of step %" PetscInt_FMT " (%s); the previous checkpoint, if any, is unchanged", path, state->step, moved ? strerror(moved) : err ? strerror(err) : "HDF5 failed");
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
