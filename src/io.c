/* Parallel HDF5 output (ds_io.h). Every dataset is written collectively through one
   MPI-IO file; a rank with nothing to write takes part with an empty selection. Series
   that grow during the run are chunked and extendable along their first dimension and
   grow by one row per call; values that are identical on every rank are written by
   rank 0's selection alone. The file is flushed after every append. Rank 0 keeps an XDMF
   sidecar describing the snapshots for ParaView and VisIt, rewritten atomically after each
   flush. A restarted run reopens the file, cuts the rows written after its checkpoint and
   appends from there. */
#include <errno.h>
#include <stdio.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <hdf5.h>
#include "ds_io.h"
#include "ds_field.h"
#include "ds_log.h"
#include "ds_version.h"

#ifndef DS_GIT_REVISION
  #define DS_GIT_REVISION "unknown"
#endif
#ifndef DS_BUILD_FLAGS
  #define DS_BUILD_FLAGS "unknown"
#endif
/* gcc's __VERSION__ is a bare number; other compilers put their name in it. */
#if defined(__GNUC__) && !defined(__clang__) && !defined(__INTEL_COMPILER)
  #define DS_COMPILER "gcc " __VERSION__
#elif defined(__VERSION__)
  #define DS_COMPILER __VERSION__
#else
  #define DS_COMPILER "unknown"
#endif

/* HDF5 memory types of PETSc's scalar types; the file types are always int64 and float64. */
#if defined(PETSC_USE_COMPLEX)
  #error "driftsim's output needs a real PETSc build"
#elif defined(PETSC_USE_REAL_SINGLE)
  #define DS_H5_REAL H5T_NATIVE_FLOAT
#elif defined(PETSC_USE_REAL_DOUBLE)
  #define DS_H5_REAL H5T_NATIVE_DOUBLE
#else
  #error "driftsim's output needs PetscReal to be float or double"
#endif
#if defined(PETSC_USE_64BIT_INDICES)
  #define DS_H5_INT H5T_NATIVE_INT64
#else
  #define DS_H5_INT H5T_NATIVE_INT
#endif

#define MAX_RANK     3         /* [T][N][d] is the largest dataset rank */
#define CHUNK_BYTES  (4 << 20) /* upper bound of a particle chunk */
#define SERIES_CHUNK 1024      /* rows per chunk of a 1-D series */
#define DIAGNOSTICS  "/diagnostics"

/* An open dataset and its full path (for error messages). */
typedef struct {
  hid_t id;
  char *path;
} Dataset;

struct DSOutput_ {
  MPI_Comm    comm;
  PetscMPIInt rank;
  char        path[PETSC_MAX_PATH_LEN];
  hid_t       file;
  hid_t       dxpl;           /* collective MPI-IO transfer */
  PetscInt    n, dim;         /* particle count and dimension of the run */
  PetscBool   has_particles;  /* /particles exists (created by the first snapshot) */
  PetscBool   has_velocity;   /* the first snapshot came with velocities */
  Dataset     particle_step, particle_time, position, velocity;
  PetscInt    ndiagnostics;   /* 0 until the first diagnostics row */
  Dataset    *diagnostics;    /* step, time, then one per name */
  PetscInt    reopened_series;/* series found in /diagnostics by ds_output_reopen (0: none) */
  PetscInt    nsnapshots, maxsnapshots; /* snapshots in the file; room in steps and times */
  PetscInt   *steps;          /* /particles/step and /particles/time, for the sidecar */
  PetscReal  *times;
  char        sidecar[PETSC_MAX_PATH_LEN]; /* XDMF description: the path without .h5, plus .xmf */
};

/* Raises a PETSc error naming the file and the object when an HDF5 call returned a
   negative id or status. */
#define CheckH5(out, status, action, object) \
  PetscCheck((status) >= 0, (out)->comm, PETSC_ERR_FILE_WRITE, "%s: HDF5 could not %s %s", (out)->path, action, object)

/* Runs `call` inside the I/O log event with HDF5's automatic error printing off (its
   failures surface as PETSc errors instead), then ends the event and restores the
   caller's HDF5 handler, also when `call` failed. */
#define QUIET_HDF5(call) \
  do { \
    H5E_auto2_t    func_; \
    void          *data_; \
    PetscErrorCode ierr_; \
    herr_t         restored_; \
    PetscCheck(H5Eget_auto2(H5E_DEFAULT, &func_, &data_) >= 0 && H5Eset_auto2(H5E_DEFAULT, NULL, NULL) >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5 error printing cannot be switched off"); \
    PetscCall(PetscLogEventBegin(ds_events.io, 0, 0, 0, 0)); \
    ierr_     = (call); \
    restored_ = H5Eset_auto2(H5E_DEFAULT, func_, data_); \
    PetscCall(PetscLogEventEnd(ds_events.io, 0, 0, 0, 0)); \
    PetscCall(ierr_); \
    PetscCheck(restored_ >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5 error printing cannot be restored"); \
  } while (0)

/* Writes into `reason` why `path` cannot be written, or "" when it can. Local, read-only. */
static PetscErrorCode path_problem(const char *path, char reason[], size_t len)
{
  char        copy[PETSC_MAX_PATH_LEN];
  const char *dir;
  struct stat st;
  size_t      plen;

  PetscFunctionBeginUser;
  reason[0] = 0;
  PetscCall(PetscStrlen(path, &plen));
  if (!plen) {
    PetscCall(PetscStrncpy(reason, "the path is empty", len));
    PetscFunctionReturn(0);
  }
  if (path[plen - 1] == '/') {
    PetscCall(PetscStrncpy(reason, "is a directory name", len));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscStrncpy(copy, path, sizeof(copy)));
  dir = dirname(copy);
  if (stat(dir, &st)) {
    if (errno == ENOENT || errno == ENOTDIR) PetscCall(PetscSNPrintf(reason, len, "directory %s does not exist", dir));
    else PetscCall(PetscSNPrintf(reason, len, "directory %s cannot be accessed (%s)", dir, strerror(errno)));
  } else if (!S_ISDIR(st.st_mode)) PetscCall(PetscSNPrintf(reason, len, "%s is not a directory", dir));
  else if (access(dir, W_OK | X_OK)) PetscCall(PetscSNPrintf(reason, len, "directory %s is not writable", dir));
  else if (!stat(path, &st)) {
    if (S_ISDIR(st.st_mode)) PetscCall(PetscStrncpy(reason, "is a directory", len));
    else if (!S_ISREG(st.st_mode)) PetscCall(PetscStrncpy(reason, "is not a regular file", len));
    else if (access(path, W_OK)) PetscCall(PetscStrncpy(reason, "is not writable", len));
  } else if (errno != ENOENT) PetscCall(PetscSNPrintf(reason, len, "cannot be accessed (%s)", strerror(errno)));
  PetscFunctionReturn(0);
}

/* Rank 0 inspects the path; its verdict is raised on every rank. */
PetscErrorCode ds_output_check_path(MPI_Comm comm, const char *option, const char *path)
{
  char        reason[2 * PETSC_MAX_PATH_LEN];
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) PetscCall(path_problem(path, reason, sizeof(reason)));
  PetscCallMPI(MPI_Bcast(reason, sizeof(reason), MPI_CHAR, 0, comm));
  PetscCheck(!reason[0], comm, PETSC_ERR_USER_INPUT, "%s %s: %s", option, path, reason);
  PetscFunctionReturn(0);
}

/* Gives every rank an allocated copy of rank 0's `text` (ignored on other ranks). */
static PetscErrorCode broadcast_text(DSOutput out, const char *text, char **copy)
{
  size_t len = 0;

  PetscFunctionBeginUser;
  if (out->rank == 0) PetscCall(PetscStrlen(text, &len));
  PetscCallMPI(MPI_Bcast(&len, sizeof(len), MPI_BYTE, 0, out->comm));
  PetscCall(PetscMalloc1(len + 1, copy));
  if (out->rank == 0) PetscCall(PetscArraycpy(*copy, text, len + 1));
  PetscCallMPI(MPI_Bcast(*copy, (PetscMPIInt)(len + 1), MPI_CHAR, 0, out->comm));
  PetscFunctionReturn(0);
}

/* Writes the scalar attribute `name` of the object at `object`: stored as `filetype`,
   read from `value` as `memtype`. Collective: every rank passes the same value. */
static PetscErrorCode write_attribute(DSOutput out, const char *object, const char *name, hid_t filetype, hid_t memtype, const void *value)
{
  hid_t  space, attr;
  herr_t status;

  PetscFunctionBeginUser;
  space = H5Screate(H5S_SCALAR);
  CheckH5(out, space, "create the dataspace of attribute", name);
  attr = H5Acreate_by_name(out->file, object, name, filetype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  CheckH5(out, attr, "create attribute", name);
  status = H5Awrite(attr, memtype, value);
  CheckH5(out, status, "write attribute", name);
  CheckH5(out, H5Aclose(attr), "close attribute", name);
  CheckH5(out, H5Sclose(space), "close the dataspace of attribute", name);
  PetscFunctionReturn(0);
}

/* Writes an int64 attribute. */
static PetscErrorCode attribute_int(DSOutput out, const char *object, const char *name, PetscInt value)
{
  PetscFunctionBeginUser;
  PetscCall(write_attribute(out, object, name, H5T_STD_I64LE, DS_H5_INT, &value));
  PetscFunctionReturn(0);
}

/* Writes a float64 attribute. */
static PetscErrorCode attribute_real(DSOutput out, const char *object, const char *name, PetscReal value)
{
  PetscFunctionBeginUser;
  PetscCall(write_attribute(out, object, name, H5T_IEEE_F64LE, DS_H5_REAL, &value));
  PetscFunctionReturn(0);
}

/* Writes a string attribute as a null-terminated fixed-length string of its own size. */
static PetscErrorCode attribute_string(DSOutput out, const char *object, const char *name, const char *value)
{
  hid_t  type;
  size_t len;

  PetscFunctionBeginUser;
  PetscCall(PetscStrlen(value, &len));
  type = H5Tcopy(H5T_C_S1);
  CheckH5(out, type, "create the string type of attribute", name);
  CheckH5(out, H5Tset_size(type, len + 1), "size the string type of attribute", name);
  CheckH5(out, H5Tset_strpad(type, H5T_STR_NULLTERM), "set the padding of attribute", name);
  PetscCall(write_attribute(out, object, name, type, type, value));
  CheckH5(out, H5Tclose(type), "close the string type of attribute", name);
  PetscFunctionReturn(0);
}

/* The current UTC time in ISO 8601 (YYYY-MM-DDTHH:MM:SSZ), or "unknown". Local. */
static PetscErrorCode utc_now(char text[], size_t len)
{
  time_t    now = time(NULL);
  struct tm utc;

  PetscFunctionBeginUser;
  if (!gmtime_r(&now, &utc) || !strftime(text, len, "%Y-%m-%dT%H:%M:%SZ", &utc)) PetscCall(PetscStrncpy(text, "unknown", len));
  PetscFunctionReturn(0);
}

/* Writes the run description and provenance as attributes of the root group. Host,
   creation time and options text are rank 0's, so every rank writes the same values. */
static PetscErrorCode write_root_attributes(DSOutput out, const DSOptions *opts, const DSBandwidth *bandwidth)
{
  char        host[256] = "unknown", created[32] = "", petsc[64], hdf5[32];
  char       *options = NULL, *shared_host, *shared_created, *shared_options;
  unsigned    major, minor, release;
  PetscInt    pmajor, pminor, psubminor, prelease;
  PetscMPIInt size;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(out->comm, &size));
  if (out->rank == 0) {
    if (gethostname(host, sizeof(host))) PetscCall(PetscStrncpy(host, "unknown", sizeof(host)));
    host[sizeof(host) - 1] = 0;
    PetscCall(utc_now(created, sizeof(created)));
    PetscCall(PetscOptionsGetAll(NULL, &options));
  }
  PetscCall(broadcast_text(out, host, &shared_host));
  PetscCall(broadcast_text(out, created, &shared_created));
  PetscCall(broadcast_text(out, options, &shared_options));
  PetscCall(PetscFree(options));
  PetscCall(PetscGetVersionNumber(&pmajor, &pminor, &psubminor, &prelease));
  PetscCall(PetscSNPrintf(petsc, sizeof(petsc), "%" PetscInt_FMT ".%" PetscInt_FMT ".%" PetscInt_FMT "%s", pmajor, pminor, psubminor, prelease ? "" : "-dev"));
  CheckH5(out, H5get_libversion(&major, &minor, &release), "report its version for", "the root attributes");
  PetscCall(PetscSNPrintf(hdf5, sizeof(hdf5), "%u.%u.%u", major, minor, release));

  PetscCall(attribute_int(out, "/", "n", opts->n));
  PetscCall(attribute_int(out, "/", "dim", opts->dim));
  PetscCall(attribute_int(out, "/", "ranks", size));
  PetscCall(attribute_int(out, "/", "seed", opts->seed));
  PetscCall(attribute_real(out, "/", "bandwidth", bandwidth->h0));
  PetscCall(attribute_string(out, "/", "bandwidth_rule", DSBandwidthRules[bandwidth->rule]));
  PetscCall(attribute_real(out, "/", "bandwidth_h0", bandwidth->h0));
  PetscCall(attribute_real(out, "/", "bandwidth_anneal", bandwidth->anneal));
  PetscCall(attribute_real(out, "/", "bandwidth_min", bandwidth->h_min));
  const DSFieldTypeInfo *field_type;
  PetscCall(ds_field_type_find(opts->field, &field_type));
  if (field_type->takes_temperatures) {
    char list[DS_MAX_TEMPERATURES * 32] = "";
    for (PetscInt k = 0; k < opts->ntemperatures; k++) {
      char one[32];
      snprintf(one, sizeof(one), "%s%.15g", k ? "," : "", (double)opts->temperatures[k]);
      PetscCall(PetscStrlcat(list, one, sizeof(list)));
    }
    PetscCall(attribute_string(out, "/", "temperatures", list));
  }
  PetscCall(attribute_string(out, "/", "field", opts->field));
  PetscCall(attribute_string(out, "/", "kernel", DSKernelTypes[opts->kernel]));
  PetscCall(attribute_real(out, "/", "imq_beta", opts->imq_beta));
  PetscCall(attribute_real(out, "/", "cutoff_tol", opts->cutoff_tol));
  PetscCall(attribute_string(out, "/", "self", DSSelfPairs[opts->self]));
  PetscCall(attribute_string(out, "/", "target", DSTargetTypes[opts->target]));
  PetscCall(attribute_int(out, "/", "target_samples", opts->target_samples));
  PetscCall(attribute_real(out, "/", "target_scale", opts->target_scale));
  PetscCall(attribute_string(out, "/", "init", DSInitTypes[opts->init]));
  PetscCall(attribute_real(out, "/", "init_mean", opts->init_mean));
  PetscCall(attribute_real(out, "/", "init_scale", opts->init_scale));
  PetscCall(attribute_string(out, "/", "version", DS_VERSION));
  PetscCall(attribute_string(out, "/", "git_revision", DS_GIT_REVISION));
  PetscCall(attribute_string(out, "/", "compiler", DS_COMPILER));
  PetscCall(attribute_string(out, "/", "build_flags", DS_BUILD_FLAGS));
  PetscCall(attribute_string(out, "/", "petsc_version", petsc));
  PetscCall(attribute_string(out, "/", "hdf5_version", hdf5));
  PetscCall(attribute_string(out, "/", "host", shared_host));
  PetscCall(attribute_string(out, "/", "created", shared_created));
  PetscCall(attribute_string(out, "/", "options", shared_options));
  PetscCall(PetscFree(shared_host));
  PetscCall(PetscFree(shared_created));
  PetscCall(PetscFree(shared_options));
  PetscFunctionReturn(0);
}

/* Creates the group at `path`. */
static PetscErrorCode create_group(DSOutput out, const char *path)
{
  hid_t group;

  PetscFunctionBeginUser;
  group = H5Gcreate2(out->file, path, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  CheckH5(out, group, "create group", path);
  CheckH5(out, H5Gclose(group), "close group", path);
  PetscFunctionReturn(0);
}

/* Creates the dataset at `path` of file type `type` and shape `dims`. With `chunk`, it is
   extendable along its first dimension (created with length 0, dims[0] ignored) and
   chunked as `chunk`; without, it has the fixed shape `dims` and contiguous storage.
   Fill values are never written: every element is written before it is read. */
static PetscErrorCode create_dataset(DSOutput out, const char *path, hid_t type, int ndims, const hsize_t dims[], const hsize_t chunk[], Dataset *ds)
{
  hsize_t current[MAX_RANK], maximum[MAX_RANK];
  hid_t   space, dcpl;

  PetscFunctionBeginUser;
  for (int k = 0; k < ndims; k++) current[k] = maximum[k] = dims[k];
  if (chunk) {
    current[0] = 0;
    maximum[0] = H5S_UNLIMITED;
  }
  space = H5Screate_simple(ndims, current, maximum);
  CheckH5(out, space, "create the dataspace of", path);
  dcpl = H5Pcreate(H5P_DATASET_CREATE);
  CheckH5(out, dcpl, "create the creation properties of", path);
  if (chunk) CheckH5(out, H5Pset_chunk(dcpl, ndims, chunk), "set the chunk shape of", path);
  CheckH5(out, H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER), "set the fill time of", path);
  ds->id = H5Dcreate2(out->file, path, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  CheckH5(out, ds->id, "create dataset", path);
  PetscCall(PetscStrallocpy(path, &ds->path));
  CheckH5(out, H5Pclose(dcpl), "close the creation properties of", path);
  CheckH5(out, H5Sclose(space), "close the dataspace of", path);
  PetscFunctionReturn(0);
}

/* Closes a dataset opened by create_dataset. */
static PetscErrorCode close_dataset(DSOutput out, Dataset *ds)
{
  PetscFunctionBeginUser;
  CheckH5(out, H5Dclose(ds->id), "close dataset", ds->path);
  PetscCall(PetscFree(ds->path));
  ds->id = H5I_INVALID_HID;
  PetscFunctionReturn(0);
}

/* Writes this rank's block [start, start + count) of `ds` from the contiguous buffer `buf`
   of memory type `memtype`. Collective: a rank whose block is empty (a zero in count)
   takes part with empty memory and file selections. */
static PetscErrorCode write_block(DSOutput out, const Dataset *ds, hid_t memtype, const hsize_t start[], const hsize_t count[], const void *buf)
{
  hid_t     filespace, memspace;
  int       ndims;
  PetscBool empty = PETSC_FALSE;

  PetscFunctionBeginUser;
  filespace = H5Dget_space(ds->id);
  CheckH5(out, filespace, "get the dataspace of", ds->path);
  ndims = H5Sget_simple_extent_ndims(filespace);
  CheckH5(out, ndims, "get the rank of", ds->path);
  for (int k = 0; k < ndims; k++) empty = (PetscBool)(empty || count[k] == 0);
  if (empty) {
    const hsize_t one = 1;

    CheckH5(out, H5Sselect_none(filespace), "select nothing in", ds->path);
    memspace = H5Screate_simple(1, &one, NULL);
    CheckH5(out, memspace, "create the memory dataspace of", ds->path);
    CheckH5(out, H5Sselect_none(memspace), "select nothing in the memory of", ds->path);
  } else {
    CheckH5(out, H5Sselect_hyperslab(filespace, H5S_SELECT_SET, start, NULL, count, NULL), "select a block of", ds->path);
    memspace = H5Screate_simple(ndims, count, NULL);
    CheckH5(out, memspace, "create the memory dataspace of", ds->path);
  }
  CheckH5(out, H5Dwrite(ds->id, memtype, memspace, filespace, out->dxpl, buf), "write", ds->path);
  CheckH5(out, H5Sclose(memspace), "close the memory dataspace of", ds->path);
  CheckH5(out, H5Sclose(filespace), "close the dataspace of", ds->path);
  PetscFunctionReturn(0);
}

/* The rank and shape of dataset `ds`. */
static PetscErrorCode dataset_shape(DSOutput out, const Dataset *ds, int *ndims, hsize_t dims[MAX_RANK])
{
  hid_t space;

  PetscFunctionBeginUser;
  space = H5Dget_space(ds->id);
  CheckH5(out, space, "get the dataspace of", ds->path);
  *ndims = H5Sget_simple_extent_ndims(space);
  CheckH5(out, *ndims, "get the rank of", ds->path);
  PetscCheck(*ndims >= 1 && *ndims <= MAX_RANK, out->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has rank %d", out->path, ds->path, *ndims);
  CheckH5(out, H5Sget_simple_extent_dims(space, dims, NULL), "get the shape of", ds->path);
  CheckH5(out, H5Sclose(space), "close the dataspace of", ds->path);
  PetscFunctionReturn(0);
}

/* Grows the extendable dataset `ds` by one row along its first dimension and writes this
   rank's part of the new row: the block at start[1..] of extent count[1..], with count[0]
   1 (or a zero anywhere in count for no part; start[0] is ignored). Collective, as
   H5Dset_extent must be called by every rank. */
static PetscErrorCode append_row(DSOutput out, const Dataset *ds, hid_t memtype, const hsize_t start[], const hsize_t count[], const void *buf)
{
  hsize_t dims[MAX_RANK], offset[MAX_RANK];
  int     ndims;

  PetscFunctionBeginUser;
  PetscCall(dataset_shape(out, ds, &ndims, dims));
  dims[0]++;
  CheckH5(out, H5Dset_extent(ds->id, dims), "extend", ds->path);
  for (int k = 0; k < ndims; k++) offset[k] = start[k];
  offset[0] = dims[0] - 1;
  PetscCall(write_block(out, ds, memtype, offset, count, buf));
  PetscFunctionReturn(0);
}

/* Appends one value, the same on every rank, to a 1-D series; rank 0 writes it. */
static PetscErrorCode append_value(DSOutput out, const Dataset *ds, hid_t memtype, const void *value)
{
  const hsize_t start = 0, count = out->rank == 0 ? 1 : 0;

  PetscFunctionBeginUser;
  PetscCall(append_row(out, ds, memtype, &start, &count, value));
  PetscFunctionReturn(0);
}

/* Appends one [N][d] row to `ds` from this rank's particles of the blocked Vec v. */
static PetscErrorCode append_particles(DSOutput out, const Dataset *ds, Vec v)
{
  const PetscScalar *a;
  PetscInt           rstart, rend;
  hsize_t            start[3], count[3];

  PetscFunctionBeginUser;
  PetscCall(VecGetOwnershipRange(v, &rstart, &rend));
  start[0] = 0;
  start[1] = (hsize_t)(rstart / out->dim);
  start[2] = 0;
  count[0] = 1;
  count[1] = (hsize_t)((rend - rstart) / out->dim);
  count[2] = (hsize_t)out->dim;
  PetscCall(VecGetArrayRead(v, &a));
  PetscCall(append_row(out, ds, DS_H5_REAL, start, count, a));
  PetscCall(VecRestoreArrayRead(v, &a));
  PetscFunctionReturn(0);
}

/* Creates the fixed-shape float64 dataset `path` and writes this rank's block
   [start, start + count) of it from buf. Collective. */
static PetscErrorCode write_array(DSOutput out, const char *path, int ndims, const hsize_t dims[], const hsize_t start[], const hsize_t count[], const PetscReal *buf)
{
  Dataset ds;

  PetscFunctionBeginUser;
  PetscCall(create_dataset(out, path, H5T_IEEE_F64LE, ndims, dims, NULL, &ds));
  PetscCall(write_block(out, &ds, DS_H5_REAL, start, count, buf));
  PetscCall(close_dataset(out, &ds));
  PetscFunctionReturn(0);
}

/* Writes /target: the mixture description (rank 0's copy) when the target has one, and
   the samples, from each rank's rows or, when every rank holds all of them, rank 0's. */
static PetscErrorCode write_target(DSOutput out, const DSTarget *target)
{
  const hsize_t d = (hsize_t)target->dim, K = (hsize_t)(target->mixture ? target->mixture->components : 0), M = (hsize_t)target->samples_global;
  const hsize_t mine = out->rank == 0 ? K : 0;

  PetscFunctionBeginUser;
  PetscCall(create_group(out, "/target"));
  if (K > 0) {
    PetscCall(write_array(out, "/target/weights", 1, (hsize_t[]){K}, (hsize_t[]){0}, (hsize_t[]){mine}, target->mixture->weights));
    PetscCall(write_array(out, "/target/means", 2, (hsize_t[]){K, d}, (hsize_t[]){0, 0}, (hsize_t[]){mine, d}, target->mixture->means));
    PetscCall(write_array(out, "/target/covariances", 3, (hsize_t[]){K, d, d}, (hsize_t[]){0, 0, 0}, (hsize_t[]){mine, d, d}, target->mixture->covariances));
  }
  if (M > 0) {
    const hsize_t first = target->replicated ? 0 : (hsize_t)target->samples_start;
    const hsize_t rows  = target->replicated ? (out->rank == 0 ? M : 0) : (hsize_t)target->samples_local;

    PetscCall(write_array(out, "/target/samples", 2, (hsize_t[]){M, d}, (hsize_t[]){first, 0}, (hsize_t[]){rows, d}, target->samples));
  }
  PetscFunctionReturn(0);
}

/* The sidecar of the output `path`: the path without a final .h5, plus .xmf. */
static PetscErrorCode sidecar_path(const char *path, char sidecar[], size_t len)
{
  size_t plen;

  PetscFunctionBeginUser;
  PetscCall(PetscStrlen(path, &plen));
  if (plen >= 3 && !strcmp(path + plen - 3, ".h5")) plen -= 3;
  PetscCheck(plen + sizeof(".xmf") <= len, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "%s: the name of its XDMF description is too long", path);
  PetscCall(PetscStrncpy(sidecar, path, plen + 1));
  PetscCall(PetscStrlcat(sidecar, ".xmf", len));
  PetscFunctionReturn(0);
}

/* Writes `text` with XML's special characters escaped. */
static void xml_text(FILE *f, const char *text)
{
  for (; *text; text++) {
    switch (*text) {
    case '&':
      fputs("&amp;", f);
      break;
    case '<':
      fputs("&lt;", f);
      break;
    case '>':
      fputs("&gt;", f);
      break;
    case '"':
      fputs("&quot;", f);
      break;
    default:
      fputc(*text, f);
    }
  }
}

/* Writes a HyperSlab DataItem selecting snapshot t, [1][N][d] from start [t 0 0] with
   stride [1 1 1], of the [T][N][d] float64 dataset `dataset` in the file `h5`. */
static void xml_snapshot(FILE *f, DSOutput out, PetscInt t, const char *h5, const char *dataset)
{
  const PetscInt T = out->nsnapshots, n = out->n, d = out->dim;

  fprintf(f, "          <DataItem ItemType=\"HyperSlab\" Dimensions=\"1 %" PetscInt_FMT " %" PetscInt_FMT "\" Type=\"HyperSlab\">\n", n, d);
  fprintf(f, "            <DataItem Dimensions=\"3 3\" Format=\"XML\">%" PetscInt_FMT " 0 0 1 1 1 1 %" PetscInt_FMT " %" PetscInt_FMT "</DataItem>\n", t, n, d);
  fprintf(f, "            <DataItem Dimensions=\"%" PetscInt_FMT " %" PetscInt_FMT " %" PetscInt_FMT "\" NumberType=\"Float\" Precision=\"8\" Format=\"HDF\">", T, n, d);
  xml_text(f, h5);
  fprintf(f, ":%s</DataItem>\n", dataset);
  fprintf(f, "          </DataItem>\n");
}

/* Writes the XDMF 2 description of the snapshots: a temporal collection with one Uniform
   grid per snapshot, N Polyvertex points whose geometry (XY or XYZ) and velocity vectors
   are hyperslabs of /particles in the file `h5`, at the snapshot's time. */
static void xml_write(FILE *f, DSOutput out, const char *h5)
{
  fprintf(f, "<?xml version=\"1.0\" ?>\n<!DOCTYPE Xdmf SYSTEM \"Xdmf.dtd\" []>\n<Xdmf Version=\"2.0\">\n  <Domain>\n");
  fprintf(f, "    <Grid Name=\"particles\" GridType=\"Collection\" CollectionType=\"Temporal\">\n");
  for (PetscInt t = 0; t < out->nsnapshots; t++) {
    fprintf(f, "      <Grid Name=\"step %" PetscInt_FMT "\" GridType=\"Uniform\">\n", out->steps[t]);
    fprintf(f, "        <Time Value=\"%.17g\"/>\n", (double)out->times[t]);
    fprintf(f, "        <Topology TopologyType=\"Polyvertex\" NumberOfElements=\"%" PetscInt_FMT "\" NodesPerElement=\"1\"/>\n", out->n);
    fprintf(f, "        <Geometry GeometryType=\"%s\">\n", out->dim == 2 ? "XY" : "XYZ");
    xml_snapshot(f, out, t, h5, "/particles/position");
    fprintf(f, "        </Geometry>\n");
    if (out->has_velocity) {
      fprintf(f, "        <Attribute Name=\"velocity\" AttributeType=\"Vector\" Center=\"Node\">\n");
      xml_snapshot(f, out, t, h5, "/particles/velocity");
      fprintf(f, "        </Attribute>\n");
    }
    fprintf(f, "      </Grid>\n");
  }
  fprintf(f, "    </Grid>\n  </Domain>\n</Xdmf>\n");
}

/* Rank 0 (re)writes the sidecar, called after the file was flushed: into a temporary file
   renamed over the old one, so a killed job leaves one that describes flushed snapshots.
   There is none without snapshots, nor in 1-D (XDMF has no one-coordinate geometry, and
   XY would need a column of zeros the file does not hold); an old one is removed then. A
   failure is raised on every rank. */
static PetscErrorCode sidecar_write(DSOutput out)
{
  char tmp[PETSC_MAX_PATH_LEN + 8];
  int  err = 0;

  PetscFunctionBeginUser;
  if (out->rank == 0) {
    if ((out->dim != 2 && out->dim != 3) || !out->nsnapshots) {
      if (unlink(out->sidecar) && errno != ENOENT) err = errno;
    } else {
      const char *slash = strrchr(out->path, '/');
      FILE       *f;

      PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", out->sidecar));
      f = fopen(tmp, "w");
      if (!f) err = errno;
      else {
        xml_write(f, out, slash ? slash + 1 : out->path); /* relative: the pair can move together */
        if (ferror(f)) err = EIO;
        else if (fflush(f) || fsync(fileno(f))) err = errno;
        if (fclose(f) && !err) err = errno;
        if (!err && rename(tmp, out->sidecar)) err = errno;
        if (err) unlink(tmp);
      }
    }
  }
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, out->comm));
  PetscCheck(!err, out->comm, PETSC_ERR_FILE_WRITE, "%s: could not write its XDMF description %s (%s)", out->path, out->sidecar, strerror(err));
  PetscFunctionReturn(0);
}

/* Remembers the step and time of a snapshot in the file, for the sidecar. */
static PetscErrorCode remember_snapshot(DSOutput out, PetscInt step, PetscReal time)
{
  PetscFunctionBeginUser;
  if (out->nsnapshots == out->maxsnapshots) {
    out->maxsnapshots = PetscMax(16, 2 * out->maxsnapshots);
    PetscCall(PetscRealloc(sizeof(PetscInt) * (size_t)out->maxsnapshots, &out->steps));
    PetscCall(PetscRealloc(sizeof(PetscReal) * (size_t)out->maxsnapshots, &out->times));
  }
  out->steps[out->nsnapshots] = step;
  out->times[out->nsnapshots] = time;
  out->nsnapshots++;
  PetscFunctionReturn(0);
}

/* A handle for the options' output file with its collective transfer properties and
   sidecar name; no file is open yet. */
static PetscErrorCode output_new(MPI_Comm comm, const DSOptions *opts, DSOutput *out)
{
  DSOutput o;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&o));
  o->comm = comm;
  PetscCallMPI(MPI_Comm_rank(comm, &o->rank));
  PetscCall(PetscStrncpy(o->path, opts->output, sizeof(o->path)));
  PetscCheck(o->path[0], comm, PETSC_ERR_ARG_WRONG, "no output file given (-drift_output)");
  PetscCall(sidecar_path(o->path, o->sidecar, sizeof(o->sidecar)));
  o->n    = opts->n;
  o->dim  = opts->dim;
  o->file = H5I_INVALID_HID;
  o->dxpl = H5Pcreate(H5P_DATASET_XFER);
  CheckH5(o, o->dxpl, "create the transfer properties of", "the file");
  CheckH5(o, H5Pset_dxpl_mpio(o->dxpl, H5FD_MPIO_COLLECTIVE), "set collective transfers for", "the file");
  *out = o;
  PetscFunctionReturn(0);
}

/* File access properties of an output file: MPI-IO over the handle's communicator, and
   the 1.8 format, which stores attributes over 64 KiB (a long options text) densely and is
   read by every HDF5 since 1.8. */
static PetscErrorCode file_access(DSOutput out, hid_t *fapl)
{
  PetscFunctionBeginUser;
  *fapl = H5Pcreate(H5P_FILE_ACCESS);
  CheckH5(out, *fapl, "create the access properties of", "the file");
  CheckH5(out, H5Pset_fapl_mpio(*fapl, out->comm, MPI_INFO_NULL), "set MPI-IO access for", "the file");
  CheckH5(out, H5Pset_libver_bounds(*fapl, H5F_LIBVER_V18, H5F_LIBVER_V18), "set the format version of", "the file");
  PetscFunctionReturn(0);
}

/* Body of ds_output_open: creates the file through MPI-IO (replacing an old one), writes
   the root attributes and /target, flushes, and removes the sidecar of an old file. */
static PetscErrorCode output_open(MPI_Comm comm, const DSOptions *opts, const DSTarget *target, const DSBandwidth *bandwidth, DSOutput *out)
{
  DSOutput o;
  hid_t    fapl;

  PetscFunctionBeginUser;
  PetscCall(output_new(comm, opts, &o));
  PetscCall(file_access(o, &fapl));
  o->file = H5Fcreate(o->path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  PetscCheck(o->file >= 0, comm, PETSC_ERR_FILE_OPEN, "%s: HDF5 could not create the file", o->path);
  CheckH5(o, H5Pclose(fapl), "close the access properties of", "the file");
  PetscCall(write_root_attributes(o, opts, bandwidth));
  if (target) PetscCall(write_target(o, target));
  CheckH5(o, H5Fflush(o->file, H5F_SCOPE_GLOBAL), "flush", "the file");
  PetscCall(sidecar_write(o));
  *out = o;
  PetscFunctionReturn(0);
}

/* Creates the file collectively (see output_open). */
PetscErrorCode ds_output_open(MPI_Comm comm, const DSOptions *opts, const DSTarget *target, const DSBandwidth *bandwidth, DSOutput *out)
{
  PetscFunctionBeginUser;
  PetscCall(ds_log_register());
  QUIET_HDF5(output_open(comm, opts, target, bandwidth, out));
  PetscFunctionReturn(0);
}

/* Creates /particles with its series, sized for the run's N and d. */
static PetscErrorCode create_particles(DSOutput out, PetscBool velocity)
{
  const hsize_t n = (hsize_t)out->n, d = (hsize_t)out->dim;
  const hsize_t rows = PetscMin(n, PetscMax(1, CHUNK_BYTES / (sizeof(double) * d)));
  const hsize_t dims[3] = {0, n, d}, chunk[3] = {1, rows, d}, series = SERIES_CHUNK;

  PetscFunctionBeginUser;
  PetscCall(create_group(out, "/particles"));
  PetscCall(create_dataset(out, "/particles/step", H5T_STD_I64LE, 1, dims, &series, &out->particle_step));
  PetscCall(create_dataset(out, "/particles/time", H5T_IEEE_F64LE, 1, dims, &series, &out->particle_time));
  PetscCall(create_dataset(out, "/particles/position", H5T_IEEE_F64LE, 3, dims, chunk, &out->position));
  if (velocity) PetscCall(create_dataset(out, "/particles/velocity", H5T_IEEE_F64LE, 3, dims, chunk, &out->velocity));
  out->has_particles = PETSC_TRUE;
  out->has_velocity  = velocity;
  PetscFunctionReturn(0);
}

/* Checks that v holds the run's N particles of dimension d, laid out like X when X is given. */
static PetscErrorCode check_particle_vec(DSOutput out, const char *what, Vec v, Vec X)
{
  PetscInt size, bs, rstart, rend, xstart, xend;
  int      same, all;

  PetscFunctionBeginUser;
  PetscCall(VecGetSize(v, &size));
  PetscCall(VecGetBlockSize(v, &bs));
  PetscCheck(bs == out->dim && size == out->n * out->dim, out->comm, PETSC_ERR_ARG_SIZ, "%s: %s has %" PetscInt_FMT " entries in blocks of %" PetscInt_FMT ", the run has %" PetscInt_FMT " particles of dimension %" PetscInt_FMT, out->path, what, size, bs, out->n, out->dim);
  if (X) {
    PetscCall(VecGetOwnershipRange(v, &rstart, &rend));
    PetscCall(VecGetOwnershipRange(X, &xstart, &xend));
    same = rstart == xstart && rend == xend;
    PetscCallMPI(MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_LAND, out->comm));
    PetscCheck(all, out->comm, PETSC_ERR_ARG_INCOMP, "%s: the velocity Vec is distributed differently from the positions", out->path);
  }
  PetscFunctionReturn(0);
}

/* Body of ds_output_write_particles: checks the Vecs, creates /particles on the first
   call, appends step, time, positions (and velocities), flushes, and rewrites the sidecar. */
static PetscErrorCode output_particles(DSOutput out, PetscInt step, PetscReal time, Vec X, Vec V)
{
  PetscFunctionBeginUser;
  PetscCall(check_particle_vec(out, "the position Vec", X, NULL));
  if (V) PetscCall(check_particle_vec(out, "the velocity Vec", V, X));
  if (!out->has_particles) PetscCall(create_particles(out, (PetscBool)(V != NULL)));
  PetscCheck(out->has_velocity == (V != NULL), out->comm, PETSC_ERR_ARG_WRONG, "%s: the first snapshot was written %s velocities, every later one must be too", out->path, out->has_velocity ? "with" : "without");
  PetscCall(append_value(out, &out->particle_step, DS_H5_INT, &step));
  PetscCall(append_value(out, &out->particle_time, DS_H5_REAL, &time));
  PetscCall(append_particles(out, &out->position, X));
  if (V) PetscCall(append_particles(out, &out->velocity, V));
  CheckH5(out, H5Fflush(out->file, H5F_SCOPE_GLOBAL), "flush", "the file");
  PetscCall(remember_snapshot(out, step, time));
  PetscCall(sidecar_write(out));
  PetscFunctionReturn(0);
}

/* Appends a snapshot collectively (see output_particles). */
PetscErrorCode ds_output_write_particles(DSOutput out, PetscInt step, PetscReal time, Vec X, Vec V)
{
  PetscFunctionBeginUser;
  QUIET_HDF5(output_particles(out, step, time, X, V));
  PetscFunctionReturn(0);
}

/* Creates /diagnostics with step, time and one series per name. */
static PetscErrorCode create_diagnostics(DSOutput out, PetscInt count, const char *const names[])
{
  const hsize_t dims = 0, chunk = SERIES_CHUNK;
  char          path[PETSC_MAX_PATH_LEN];

  PetscFunctionBeginUser;
  PetscCall(create_group(out, DIAGNOSTICS));
  PetscCall(PetscMalloc1(count + 2, &out->diagnostics));
  PetscCall(create_dataset(out, DIAGNOSTICS "/step", H5T_STD_I64LE, 1, &dims, &chunk, &out->diagnostics[0]));
  PetscCall(create_dataset(out, DIAGNOSTICS "/time", H5T_IEEE_F64LE, 1, &dims, &chunk, &out->diagnostics[1]));
  for (PetscInt k = 0; k < count; k++) {
    PetscCall(PetscSNPrintf(path, sizeof(path), DIAGNOSTICS "/%s", names[k]));
    PetscCall(create_dataset(out, path, H5T_IEEE_F64LE, 1, &dims, &chunk, &out->diagnostics[k + 2]));
  }
  out->ndiagnostics = count + 2;
  PetscFunctionReturn(0);
}

/* Opens the existing dataset at `path`. */
static PetscErrorCode open_dataset(DSOutput out, const char *path, Dataset *ds)
{
  PetscFunctionBeginUser;
  ds->id = H5Dopen2(out->file, path, H5P_DEFAULT);
  CheckH5(out, ds->id, "open dataset", path);
  PetscCall(PetscStrallocpy(path, &ds->path));
  PetscFunctionReturn(0);
}

/* Opens the /diagnostics series of a reopened file in the order of `names`. The file must
   hold step, time and exactly these names; nothing is opened otherwise. */
static PetscErrorCode open_diagnostics(DSOutput out, PetscInt count, const char *const names[])
{
  char   path[PETSC_MAX_PATH_LEN];
  htri_t exists;

  PetscFunctionBeginUser;
  PetscCheck(count + 2 == out->reopened_series, out->comm, PETSC_ERR_ARG_WRONG, "%s: %" PetscInt_FMT " diagnostics given, the file has %" PetscInt_FMT, out->path, count, out->reopened_series - 2);
  for (PetscInt k = 0; k < count; k++) {
    PetscCall(PetscSNPrintf(path, sizeof(path), DIAGNOSTICS "/%s", names[k]));
    exists = H5Lexists(out->file, path, H5P_DEFAULT);
    CheckH5(out, exists, "look for", path);
    PetscCheck(exists, out->comm, PETSC_ERR_ARG_WRONG, "%s: diagnostic %" PetscInt_FMT " is named %s, which the file does not have", out->path, k, names[k]);
  }
  PetscCall(PetscMalloc1(count + 2, &out->diagnostics));
  PetscCall(open_dataset(out, DIAGNOSTICS "/step", &out->diagnostics[0]));
  PetscCall(open_dataset(out, DIAGNOSTICS "/time", &out->diagnostics[1]));
  for (PetscInt k = 0; k < count; k++) {
    PetscCall(PetscSNPrintf(path, sizeof(path), DIAGNOSTICS "/%s", names[k]));
    PetscCall(open_dataset(out, path, &out->diagnostics[k + 2]));
  }
  out->ndiagnostics = count + 2;
  PetscFunctionReturn(0);
}

/* Body of ds_output_write_diagnostics: creates /diagnostics on the first call (or opens the
   series of a reopened file), checks the names against it, appends step, time and the
   values, and flushes. */
static PetscErrorCode output_diagnostics(DSOutput out, PetscInt step, PetscReal time, PetscInt count, const char *const names[], const PetscReal values[])
{
  PetscFunctionBeginUser;
  if (!out->ndiagnostics) PetscCall(out->reopened_series ? open_diagnostics(out, count, names) : create_diagnostics(out, count, names));
  PetscCheck(count + 2 == out->ndiagnostics, out->comm, PETSC_ERR_ARG_WRONG, "%s: %" PetscInt_FMT " diagnostics given, the first row had %" PetscInt_FMT, out->path, count, out->ndiagnostics - 2);
  for (PetscInt k = 0; k < count; k++) {
    const char *name = out->diagnostics[k + 2].path + sizeof(DIAGNOSTICS); /* past "/diagnostics/" */
    PetscBool   same;

    PetscCall(PetscStrcmp(name, names[k], &same));
    PetscCheck(same, out->comm, PETSC_ERR_ARG_WRONG, "%s: diagnostic %" PetscInt_FMT " is named %s, in the first row it was %s", out->path, k, names[k], name);
  }
  PetscCall(append_value(out, &out->diagnostics[0], DS_H5_INT, &step));
  PetscCall(append_value(out, &out->diagnostics[1], DS_H5_REAL, &time));
  for (PetscInt k = 0; k < count; k++) PetscCall(append_value(out, &out->diagnostics[k + 2], DS_H5_REAL, &values[k]));
  CheckH5(out, H5Fflush(out->file, H5F_SCOPE_GLOBAL), "flush", "the file");
  PetscFunctionReturn(0);
}

/* Appends a diagnostics row collectively (see output_diagnostics). */
PetscErrorCode ds_output_write_diagnostics(DSOutput out, PetscInt step, PetscReal time, PetscInt count, const char *const names[], const PetscReal values[])
{
  PetscFunctionBeginUser;
  QUIET_HDF5(output_diagnostics(out, step, time, count, names, values));
  PetscFunctionReturn(0);
}

/* Body of ds_output_close: closes every dataset, the transfer properties and the file. */
static PetscErrorCode output_close(DSOutput *out)
{
  DSOutput o = *out;

  PetscFunctionBeginUser;
  if (o->has_particles) {
    PetscCall(close_dataset(o, &o->particle_step));
    PetscCall(close_dataset(o, &o->particle_time));
    PetscCall(close_dataset(o, &o->position));
    if (o->has_velocity) PetscCall(close_dataset(o, &o->velocity));
  }
  for (PetscInt k = 0; k < o->ndiagnostics; k++) PetscCall(close_dataset(o, &o->diagnostics[k]));
  PetscCall(PetscFree(o->diagnostics));
  PetscCall(PetscFree(o->steps));
  PetscCall(PetscFree(o->times));
  CheckH5(o, H5Pclose(o->dxpl), "close the transfer properties of", "the file");
  CheckH5(o, H5Fclose(o->file), "close", "the file");
  PetscCall(PetscFree(*out));
  PetscFunctionReturn(0);
}

/* Closes the file collectively (see output_close); a NULL handle is a no-op. */
PetscErrorCode ds_output_close(DSOutput *out)
{
  PetscFunctionBeginUser;
  if (!*out) PetscFunctionReturn(0);
  QUIET_HDF5(output_close(out));
  PetscFunctionReturn(0);
}

/* Rows of `ds` along its first dimension. */
static PetscErrorCode dataset_rows(DSOutput out, const Dataset *ds, PetscInt *rows)
{
  hsize_t dims[MAX_RANK];
  int     ndims;

  PetscFunctionBeginUser;
  *rows = 0;
  PetscCall(dataset_shape(out, ds, &ndims, dims));
  *rows = (PetscInt)dims[0];
  PetscFunctionReturn(0);
}

/* Cuts the extendable dataset `ds` to its first `rows` rows. Collective. */
static PetscErrorCode cut_rows(DSOutput out, const Dataset *ds, PetscInt rows)
{
  hsize_t dims[MAX_RANK];
  hid_t   space;

  PetscFunctionBeginUser;
  space = H5Dget_space(ds->id);
  CheckH5(out, space, "get the dataspace of", ds->path);
  CheckH5(out, H5Sget_simple_extent_dims(space, dims, NULL), "get the shape of", ds->path);
  CheckH5(out, H5Sclose(space), "close the dataspace of", ds->path);
  dims[0] = (hsize_t)rows;
  CheckH5(out, H5Dset_extent(ds->id, dims), "cut", ds->path);
  PetscFunctionReturn(0);
}

/* Reads the first `rows` values of the 1-D series `ds` as memtype into buf, on every rank. */
static PetscErrorCode read_series(DSOutput out, const Dataset *ds, hid_t memtype, PetscInt rows, void *buf)
{
  const hsize_t start = 0, count = (hsize_t)rows;
  hid_t         filespace, memspace;

  PetscFunctionBeginUser;
  if (!rows) PetscFunctionReturn(0);
  filespace = H5Dget_space(ds->id);
  CheckH5(out, filespace, "get the dataspace of", ds->path);
  CheckH5(out, H5Sselect_hyperslab(filespace, H5S_SELECT_SET, &start, NULL, &count, NULL), "select the rows of", ds->path);
  memspace = H5Screate_simple(1, &count, NULL);
  CheckH5(out, memspace, "create the memory dataspace of", ds->path);
  CheckH5(out, H5Dread(ds->id, memtype, memspace, filespace, out->dxpl, buf), "read", ds->path);
  CheckH5(out, H5Sclose(memspace), "close the memory dataspace of", ds->path);
  CheckH5(out, H5Sclose(filespace), "close the dataspace of", ds->path);
  PetscFunctionReturn(0);
}

/* Waits until every rank has read the series it is about to cut. Shrinking a chunked
   dataset (H5Dset_extent) writes fill values into the chunk it cuts, and a rank can run
   ahead through the cuts (the root of HDF5's metadata broadcasts does not wait), so
   without this a slow rank could read a cut step series, keep other rows than the rest
   and leave HDF5's collective calls out of step: a hang. */
static PetscErrorCode wait_for_readers(DSOutput out)
{
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Barrier(out->comm));
  PetscFunctionReturn(0);
}

/* Rows to keep of series with `rows` complete rows whose steps are steps[]: those before
   restart_step (the series only grow, so their steps increase). The checkpoint of a step
   is written before that step's rows, so the restarted run writes them again. */
static PetscInt rows_to_keep(PetscInt rows, const PetscInt steps[], PetscInt restart_step)
{
  PetscInt keep = 0;

  while (keep < rows && steps[keep] < restart_step) keep++;
  return keep;
}

/* Opens /particles of a reopened file, when present, and cuts its series to the snapshots
   before restart_step (and to the shortest series, should a job have been killed within an
   append); remembers their steps and times for the sidecar. */
static PetscErrorCode reopen_particles(DSOutput out, PetscInt restart_step)
{
  Dataset  *series[4] = {&out->particle_step, &out->particle_time, &out->position, &out->velocity};
  PetscInt  rows = PETSC_MAX_INT, length, keep, nseries, *steps;
  PetscReal *times;
  htri_t    exists;

  PetscFunctionBeginUser;
  exists = H5Lexists(out->file, "/particles", H5P_DEFAULT);
  CheckH5(out, exists, "look for", "/particles");
  if (!exists) PetscFunctionReturn(0);
  exists = H5Lexists(out->file, "/particles/velocity", H5P_DEFAULT);
  CheckH5(out, exists, "look for", "/particles/velocity");
  out->has_particles = PETSC_TRUE;
  out->has_velocity  = exists ? PETSC_TRUE : PETSC_FALSE;
  nseries            = out->has_velocity ? 4 : 3;
  PetscCall(open_dataset(out, "/particles/step", &out->particle_step));
  PetscCall(open_dataset(out, "/particles/time", &out->particle_time));
  PetscCall(open_dataset(out, "/particles/position", &out->position));
  if (out->has_velocity) PetscCall(open_dataset(out, "/particles/velocity", &out->velocity));
  for (PetscInt k = 0; k < nseries; k++) {
    PetscCall(dataset_rows(out, series[k], &length));
    rows = PetscMin(rows, length);
  }
  PetscCall(PetscMalloc2(rows, &steps, rows, &times));
  PetscCall(read_series(out, &out->particle_step, DS_H5_INT, rows, steps));
  PetscCall(read_series(out, &out->particle_time, DS_H5_REAL, rows, times));
  keep = rows_to_keep(rows, steps, restart_step);
  PetscCall(wait_for_readers(out));
  for (PetscInt k = 0; k < nseries; k++) PetscCall(cut_rows(out, series[k], keep));
  for (PetscInt t = 0; t < keep; t++) PetscCall(remember_snapshot(out, steps[t], times[t]));
  PetscCall(PetscFree2(steps, times));
  PetscFunctionReturn(0);
}

/* Cuts every series of /diagnostics of a reopened file, when present, to the rows up to
   restart_step (and to the shortest series). The series are opened again by the names of
   the next row (open_diagnostics): the file does not keep the order of the names. */
static PetscErrorCode reopen_diagnostics(DSOutput out, PetscInt restart_step)
{
  char       name[256], path[PETSC_MAX_PATH_LEN];
  Dataset   *series;
  H5G_info_t info;
  PetscInt   nseries, rows = PETSC_MAX_INT, length, keep, step = -1, *steps;
  hid_t      group;
  htri_t     exists;

  PetscFunctionBeginUser;
  exists = H5Lexists(out->file, DIAGNOSTICS, H5P_DEFAULT);
  CheckH5(out, exists, "look for", DIAGNOSTICS);
  if (!exists) PetscFunctionReturn(0);
  group = H5Gopen2(out->file, DIAGNOSTICS, H5P_DEFAULT);
  CheckH5(out, group, "open group", DIAGNOSTICS);
  CheckH5(out, H5Gget_info(group, &info), "list group", DIAGNOSTICS);
  nseries = (PetscInt)info.nlinks;
  PetscCall(PetscMalloc1(nseries, &series));
  for (PetscInt k = 0; k < nseries; k++) {
    const ssize_t len = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, (hsize_t)k, name, sizeof(name), H5P_DEFAULT);
    PetscBool     is_step;

    CheckH5(out, len, "list group", DIAGNOSTICS);
    PetscCheck((size_t)len < sizeof(name), out->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: a name in %s is longer than %zu characters", out->path, DIAGNOSTICS, sizeof(name) - 1);
    PetscCall(PetscSNPrintf(path, sizeof(path), DIAGNOSTICS "/%s", name));
    PetscCall(open_dataset(out, path, &series[k]));
    PetscCall(dataset_rows(out, &series[k], &length));
    rows = PetscMin(rows, length);
    PetscCall(PetscStrcmp(name, "step", &is_step));
    if (is_step) step = k;
  }
  CheckH5(out, H5Gclose(group), "close group", DIAGNOSTICS);
  PetscCheck(step >= 0, out->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has no step series", out->path, DIAGNOSTICS);
  PetscCall(PetscMalloc1(rows, &steps));
  PetscCall(read_series(out, &series[step], DS_H5_INT, rows, steps));
  keep = rows_to_keep(rows, steps, restart_step);
  PetscCall(wait_for_readers(out));
  for (PetscInt k = 0; k < nseries; k++) {
    PetscCall(cut_rows(out, &series[k], keep));
    PetscCall(close_dataset(out, &series[k]));
  }
  PetscCall(PetscFree(steps));
  PetscCall(PetscFree(series));
  out->reopened_series = nseries;
  PetscFunctionReturn(0);
}

/* Appends "restarted at step S from CHECKPOINT on UTC-TIME with P ranks" as a line of the
   root string attribute `restarts`, created by the first restart. An attribute cannot
   grow, so the old one is read, deleted and written again longer. */
static PetscErrorCode note_restart(DSOutput out, const DSOptions *opts, PetscInt restart_step)
{
  char        now[32] = "", *when, *old = NULL, *text;
  size_t      old_len = 0, len;
  PetscMPIInt size;
  htri_t      exists;
  hid_t       attr, type;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(out->comm, &size));
  if (out->rank == 0) PetscCall(utc_now(now, sizeof(now)));
  PetscCall(broadcast_text(out, now, &when));
  exists = H5Aexists(out->file, "restarts");
  CheckH5(out, exists, "look for attribute", "restarts");
  if (exists) {
    attr = H5Aopen(out->file, "restarts", H5P_DEFAULT);
    CheckH5(out, attr, "open attribute", "restarts");
    type = H5Aget_type(attr);
    CheckH5(out, type, "get the type of attribute", "restarts");
    PetscCheck(H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) == 0, out->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute restarts is not a fixed-length string", out->path);
    old_len = H5Tget_size(type);
    PetscCall(PetscCalloc1(old_len + 1, &old));
    CheckH5(out, H5Aread(attr, type, old), "read attribute", "restarts");
    CheckH5(out, H5Tclose(type), "close the type of attribute", "restarts");
    CheckH5(out, H5Aclose(attr), "close attribute", "restarts");
    CheckH5(out, H5Adelete(out->file, "restarts"), "delete attribute", "restarts");
  }
  len = old_len + sizeof(opts->restart) + 128;
  PetscCall(PetscMalloc1(len, &text));
  PetscCall(PetscSNPrintf(text, len, "%s%srestarted at step %" PetscInt_FMT " from %s on %s with %d ranks", old ? old : "", old && old[0] ? "\n" : "", restart_step, opts->restart[0] ? opts->restart : "(no checkpoint named)", when, size));
  PetscCall(attribute_string(out, "/", "restarts", text));
  PetscCall(PetscFree(text));
  PetscCall(PetscFree(old));
  PetscCall(PetscFree(when));
  PetscFunctionReturn(0);
}

/* Reads the int64 root attribute `name` into *value; *found tells whether it exists. */
static PetscErrorCode read_int_attribute(DSOutput out, const char *name, PetscInt *value, PetscBool *found)
{
  htri_t exists;
  hid_t  attr;

  PetscFunctionBeginUser;
  exists = H5Aexists(out->file, name);
  CheckH5(out, exists, "look for attribute", name);
  *found = exists ? PETSC_TRUE : PETSC_FALSE;
  if (!exists) PetscFunctionReturn(0);
  attr = H5Aopen(out->file, name, H5P_DEFAULT);
  CheckH5(out, attr, "open attribute", name);
  CheckH5(out, H5Aread(attr, DS_H5_INT, value), "read attribute", name);
  CheckH5(out, H5Aclose(attr), "close attribute", name);
  PetscFunctionReturn(0);
}

/* Body of ds_output_reopen: rank 0 tells whether the file exists and is HDF5; a missing one
   is created as by output_open. An existing one is opened read-write and must describe N
   particles of dimension d; its rows after restart_step are cut, the restart is noted, the
   file is flushed and its sidecar rewritten. Refusals close the file first. */
static PetscErrorCode output_reopen(MPI_Comm comm, const DSOptions *opts, const DSTarget *target, const DSBandwidth *bandwidth, PetscInt restart_step, DSOutput *out)
{
  DSOutput    o;
  hid_t       fapl;
  PetscInt    n = -1, dim = -1;
  PetscBool   has_n, has_dim, same;
  PetscMPIInt rank;
  int         state = 0; /* 0: missing, 1: HDF5, 2: something else */

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0 && !access(opts->output, F_OK)) state = H5Fis_hdf5(opts->output) > 0 ? 1 : 2;
  PetscCallMPI(MPI_Bcast(&state, 1, MPI_INT, 0, comm));
  if (!state) {
    PetscCall(output_open(comm, opts, target, bandwidth, out));
    PetscFunctionReturn(0);
  }
  PetscCheck(state == 1, comm, PETSC_ERR_USER_INPUT, "-drift_output %s is not an HDF5 file: the restarted run cannot append to it", opts->output);
  PetscCall(output_new(comm, opts, &o));
  PetscCall(file_access(o, &fapl));
  o->file = H5Fopen(o->path, H5F_ACC_RDWR, fapl);
  PetscCheck(o->file >= 0, comm, PETSC_ERR_FILE_OPEN, "%s: HDF5 could not open the file for appending", o->path);
  CheckH5(o, H5Pclose(fapl), "close the access properties of", "the file");
  PetscCall(read_int_attribute(o, "n", &n, &has_n));
  PetscCall(read_int_attribute(o, "dim", &dim, &has_dim));
  same = (PetscBool)(has_n && has_dim && n == opts->n && dim == opts->dim);
  if (!same) PetscCall(output_close(&o));
  PetscCheck(has_n && has_dim, comm, PETSC_ERR_USER_INPUT, "-drift_output %s is not driftsim output (it has no attributes n and dim): the restarted run cannot append to it", opts->output);
  PetscCheck(same, comm, PETSC_ERR_USER_INPUT, "-drift_output %s holds %" PetscInt_FMT " particles of dimension %" PetscInt_FMT ", the restarted run has %" PetscInt_FMT " of dimension %" PetscInt_FMT, opts->output, n, dim, opts->n, opts->dim);
  PetscCall(reopen_particles(o, restart_step));
  PetscCall(reopen_diagnostics(o, restart_step));
  PetscCall(note_restart(o, opts, restart_step));
  CheckH5(o, H5Fflush(o->file, H5F_SCOPE_GLOBAL), "flush", "the file");
  PetscCall(sidecar_write(o));
  *out = o;
  PetscFunctionReturn(0);
}

/* Reopens the file for a restart collectively (see output_reopen). */
PetscErrorCode ds_output_reopen(MPI_Comm comm, const DSOptions *opts, const DSTarget *target, const DSBandwidth *bandwidth, PetscInt restart_step, DSOutput *out)
{
  PetscFunctionBeginUser;
  PetscCall(ds_log_register());
  QUIET_HDF5(output_reopen(comm, opts, target, bandwidth, restart_step, out));
  PetscFunctionReturn(0);
}
