/* Parallel HDF5 output (ds_output.h). Every dataset is written collectively through one
   MPI-IO file (ds_h5util.h); a rank with nothing to write takes part with an empty
   selection. Series that grow during the run are chunked and extendable along their first
   dimension and grow by one row per call; values that are identical on every rank are
   written by rank 0's selection alone. After every append the file is flushed and only
   then the group's complete_rows attribute counts the new row (ds_output_commit_rows), so
   a job killed at any moment leaves the rows it counts readable. Rank 0 keeps
   an XDMF sidecar describing the snapshots for ParaView and VisIt (ds_xdmf.h), rewritten
   atomically after each flush. Reopening for a restart is output_restart.c. */
#include <errno.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "output_impl.h"
#include "ds_log.h"
#include "ds_provenance.h"
#include "ds_xdmf.h"
#include "ds_field.h"

#define CHUNK_BYTES   (4 << 20)  /* upper bound of a particle chunk */
#define SERIES_CHUNK  1024       /* rows per chunk of a 1-D series */
#define SERIES_ROOM   (16 << 10) /* metadata of one series grown by a row: B-tree nodes */
#define METADATA_ROOM DS_OUTPUT_METADATA_ROOM
#define DIAGNOSTICS   DS_OUTPUT_DIAGNOSTICS
#define ROWS          DS_OUTPUT_ROWS

/* Particles per chunk of /particles/position and /particles/velocity: {1, rows, d}. */
static hsize_t particle_chunk_rows(const struct DSOutput_ *out)
{
  return (hsize_t)PetscMin(out->n, PetscMax(1, CHUNK_BYTES / (PetscInt)(sizeof(double) * (size_t)out->dim)));
}

/* The most a row of one particle series (position or velocity) allocates: its chunks. */
static hsize_t particle_row_room(const struct DSOutput_ *out)
{
  const hsize_t rows = particle_chunk_rows(out), chunks = ((hsize_t)out->n + rows - 1) / rows;

  return chunks * rows * (hsize_t)out->dim * sizeof(double) + SERIES_ROOM;
}

/* The most `count` 1-D series grown by a row allocate: a chunk and its metadata each. */
static hsize_t series_row_room(PetscInt count)
{
  return (hsize_t)count * (SERIES_CHUNK * sizeof(double) + SERIES_ROOM);
}

PetscErrorCode ds_output_commit_rows(DSOutput out, const char *group, PetscInt rows)
{
  PetscFunctionBeginUser;
  PetscCall(ds_h5_file_flush(&out->file));
  PetscCall(ds_h5_attribute_write_int(&out->file, group, ROWS, rows));
  PetscCall(ds_h5_file_flush(&out->file));
  PetscFunctionReturn(0);
}

/* Cuts every series back to its complete rows (a failed append may have extended some) and
   sets complete_rows to match, closes the file and frees the handle; each HDF5 call agreed
   by every rank. */
static PetscErrorCode roll_back(DSOutput out)
{
  const DSH5File *f = &out->file;

  PetscFunctionBeginUser;
  if (out->has_particles) {
    PetscCall(ds_h5_cut_rows(f, &out->particle_step, out->nsnapshots));
    PetscCall(ds_h5_cut_rows(f, &out->particle_time, out->nsnapshots));
    PetscCall(ds_h5_cut_rows(f, &out->position, out->nsnapshots));
    if (out->has_velocity) PetscCall(ds_h5_cut_rows(f, &out->velocity, out->nsnapshots));
    PetscCall(ds_h5_attribute_write_int(f, "/particles", ROWS, out->nsnapshots));
  }
  for (PetscInt k = 0; k < out->ndiagnostics; k++) PetscCall(ds_h5_cut_rows(f, &out->diagnostics[k], out->diagnostic_rows));
  if (out->ndiagnostics) PetscCall(ds_h5_attribute_write_int(f, DIAGNOSTICS, ROWS, out->diagnostic_rows));
  PetscCall(ds_output_destroy(&out));
  PetscFunctionReturn(0);
}

/* Passes `ierr`, the result of writing `what` (of `step` when it is >= 0), on. After an
   agreed write failure (ds_h5_agree) the file is rolled back to its last flush and closed
   (roll_back; it stays open, as on disk, when that fails too) and every rank raises the
   error again naming what was being written and what the file keeps. Any other error
   passes unchanged. */
static PetscErrorCode name_the_write(DSOutput out, PetscErrorCode ierr, const char *what, PetscInt step)
{
  char           cause[2 * PETSC_MAX_PATH_LEN], when[64] = "", kept[128];
  char          *message = NULL;
  PetscErrorCode closed;
  const MPI_Comm comm = out->file.comm;

  PetscFunctionBeginUser;
  if (!ierr || !ds_h5_failure_agreed()) PetscCall(ierr);
  if (!ierr) PetscFunctionReturn(0);
  PetscCall(PetscErrorMessage(ierr, NULL, &message));
  PetscCall(PetscStrncpy(cause, message ? message : "HDF5 failed", sizeof(cause)));
  if (step >= 0) PetscCall(PetscSNPrintf(when, sizeof(when), " of step %" PetscInt_FMT, step));
  PetscCall(PetscSNPrintf(kept, sizeof(kept), "%" PetscInt_FMT " complete snapshot%s, %" PetscInt_FMT " diagnostics row%s", out->nsnapshots, out->nsnapshots == 1 ? "" : "s", out->diagnostic_rows, out->diagnostic_rows == 1 ? "" : "s"));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  DS_H5_QUIETLY_STATUS(ds_events.output, roll_back(out), closed);
  PetscCall(PetscPopErrorHandler());
  if (closed) PetscCall(ds_h5_watch_rest()); /* the file is still open: MPI_Finalize may hang closing it */
  SETERRQ(comm, PETSC_ERR_FILE_WRITE, "%s, writing %s%s; the file keeps %s%s", cause, what, when, kept, closed ? ", but it could not be closed cleanly and may not be readable" : "");
}

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

/* Writes the run description and provenance as attributes of the root group, the same
   values on every rank (ds_provenance_get). */
static PetscErrorCode write_root_attributes(DSOutput out, const DSOptions *opts, const DSBandwidth *bandwidth)
{
  const DSH5File *f = &out->file;
  DSProvenance    p;
  size_t          options;

  PetscFunctionBeginUser;
  PetscCall(ds_provenance_get(f->comm, &p));
  PetscCall(ds_h5_attribute_write_int(f, "/", "n", opts->n));
  PetscCall(ds_h5_attribute_write_int(f, "/", "dim", opts->dim));
  PetscCall(ds_h5_attribute_write_int(f, "/", "ranks", p.ranks));
  PetscCall(ds_h5_attribute_write_int(f, "/", "seed", opts->seed));
  PetscCall(ds_h5_attribute_write_real(f, "/", "bandwidth", bandwidth->h0));
  PetscCall(ds_h5_attribute_write_string(f, "/", "bandwidth_rule", DSBandwidthRules[bandwidth->rule]));
  PetscCall(ds_h5_attribute_write_real(f, "/", "bandwidth_h0", bandwidth->h0));
  PetscCall(ds_h5_attribute_write_real(f, "/", "bandwidth_anneal", bandwidth->anneal));
  PetscCall(ds_h5_attribute_write_real(f, "/", "bandwidth_min", bandwidth->h_min));
  const DSFieldTypeInfo *field_type;
  PetscCall(ds_field_type_find(opts->field, &field_type));
  if (field_type->takes_temperatures) {
    char list[DS_MAX_TEMPERATURES * 32];
    PetscCall(ds_options_temperatures_text(opts, list, sizeof(list)));
    PetscCall(ds_h5_attribute_write_string(f, "/", "temperatures", list));
  }
  PetscCall(ds_h5_attribute_write_string(f, "/", "field", opts->field));
  if (field_type->joint_columns) PetscCall(ds_h5_attribute_write_string(f, "/", "joint_floor", DSJointFloors[opts->joint_floor]));
  PetscCall(ds_h5_attribute_write_string(f, "/", "kernel", DSKernelTypes[opts->kernel]));
  PetscCall(ds_h5_attribute_write_real(f, "/", "imq_beta", opts->imq_beta));
  PetscCall(ds_h5_attribute_write_string(f, "/", "sum", DSSumMethods[opts->sum]));
  PetscCall(ds_h5_attribute_write_real(f, "/", "sum_tol", opts->sum_tol));
  PetscCall(ds_h5_attribute_write_int(f, "/", "sum_applied", ds_options_fast_sums_apply(opts)));
  PetscCall(ds_h5_attribute_write_string(f, "/", "self", DSSelfPairs[opts->self]));
  PetscCall(ds_h5_attribute_write_string(f, "/", "pair_schedule", DSPairSchedules[opts->pair_schedule]));
  PetscCall(ds_h5_attribute_write_string(f, "/", "target", DSTargetTypes[opts->target]));
  PetscCall(ds_h5_attribute_write_int(f, "/", "target_samples", opts->target_samples));
  PetscCall(ds_h5_attribute_write_real(f, "/", "target_scale", opts->target_scale));
  PetscCall(ds_h5_attribute_write_string(f, "/", "init", DSInitTypes[opts->init]));
  PetscCall(ds_h5_attribute_write_real(f, "/", "init_mean", opts->init_mean));
  PetscCall(ds_h5_attribute_write_real(f, "/", "init_scale", opts->init_scale));
  PetscCall(ds_h5_attribute_write_string(f, "/", "version", p.version));
  PetscCall(ds_h5_attribute_write_string(f, "/", "git_revision", p.git_revision));
  PetscCall(ds_h5_attribute_write_string(f, "/", "compiler", p.compiler));
  PetscCall(ds_h5_attribute_write_string(f, "/", "build_flags", p.build_flags));
  PetscCall(ds_h5_attribute_write_string(f, "/", "vector_isa", p.vector_isa));
  PetscCall(ds_h5_attribute_write_string(f, "/", "petsc_version", p.petsc_version));
  PetscCall(ds_h5_attribute_write_string(f, "/", "hdf5_version", p.hdf5_version));
  PetscCall(ds_h5_attribute_write_string(f, "/", "host", p.host));
  PetscCall(ds_h5_attribute_write_string(f, "/", "created", p.created));
  PetscCall(PetscStrlen(p.options, &options));
  PetscCall(ds_h5_file_reserve(f, (hsize_t)options + METADATA_ROOM));
  PetscCall(ds_h5_attribute_write_string(f, "/", "options", p.options));
  PetscCall(ds_provenance_free(&p));
  PetscFunctionReturn(0);
}

/* Creates the fixed-shape float64 dataset `path` and writes this rank's block
   [start, start + count) of it from buf. Collective. */
static PetscErrorCode write_array(DSOutput out, const char *path, int ndims, const hsize_t dims[], const hsize_t start[], const hsize_t count[], const PetscReal *buf)
{
  DSH5Dataset ds;

  PetscFunctionBeginUser;
  PetscCall(ds_h5_dataset_create(&out->file, path, H5T_IEEE_F64LE, ndims, dims, NULL, &ds));
  PetscCall(ds_h5_write_block(&out->file, &ds, DS_H5_REAL, start, count, buf));
  PetscCall(ds_h5_dataset_close(&out->file, &ds));
  PetscFunctionReturn(0);
}

/* Writes /target: the mixture description (rank 0's copy) when the target has one, and
   the samples, from each rank's rows or, when every rank holds all of them, rank 0's. */
static PetscErrorCode write_target(DSOutput out, const DSTarget *target)
{
  const PetscMPIInt rank = out->file.rank;
  const hsize_t     d = (hsize_t)target->dim, K = (hsize_t)(target->mixture ? target->mixture->components : 0), M = (hsize_t)target->samples_global;
  const hsize_t     mine = rank == 0 ? K : 0;

  PetscFunctionBeginUser;
  PetscCall(ds_h5_file_reserve(&out->file, (M * d + K * (1 + d + d * d)) * sizeof(double) + 4 * SERIES_ROOM + METADATA_ROOM));
  PetscCall(ds_h5_group_create(&out->file, "/target"));
  if (K > 0) {
    PetscCall(write_array(out, "/target/weights", 1, (hsize_t[]){K}, (hsize_t[]){0}, (hsize_t[]){mine}, target->mixture->weights));
    PetscCall(write_array(out, "/target/means", 2, (hsize_t[]){K, d}, (hsize_t[]){0, 0}, (hsize_t[]){mine, d}, target->mixture->means));
    PetscCall(write_array(out, "/target/covariances", 3, (hsize_t[]){K, d, d}, (hsize_t[]){0, 0, 0}, (hsize_t[]){mine, d, d}, target->mixture->covariances));
  }
  if (M > 0) {
    const hsize_t first = target->replicated ? 0 : (hsize_t)target->samples_start;
    const hsize_t rows  = target->replicated ? (rank == 0 ? M : 0) : (hsize_t)target->samples_local;

    PetscCall(write_array(out, "/target/samples", 2, (hsize_t[]){M, d}, (hsize_t[]){first, 0}, (hsize_t[]){rows, d}, target->samples));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode ds_output_update_sidecar(DSOutput out)
{
  const char  *slash = strrchr(out->file.path, '/'), *views_slash = strrchr(out->views, '/');
  DSXdmfSeries series;
  int          err = 0;
  PetscBool    failed;

  PetscFunctionBeginUser;
  series.h5       = slash ? slash + 1 : out->file.path;
  series.views    = views_slash ? views_slash + 1 : out->views;
  series.n        = out->n;
  series.dim      = out->dim;
  series.count    = out->nsnapshots;
  series.steps    = out->steps;
  series.times    = out->times;
  series.velocity = out->has_velocity;
  if (out->file.rank == 0) PetscCall(ds_xdmf_update(out->sidecar, out->views, &series, &err));
  errno = err;
  PetscCall(ds_h5_agree(out->file.comm, (PetscBool)!err, &failed, &err)); /* agreed: reported like a failed write */
  PetscCheck(!failed, out->file.comm, PETSC_ERR_FILE_WRITE, "%s: could not write its XDMF description %s (%s)", out->file.path, out->sidecar, err ? strerror(err) : "it failed");
  PetscFunctionReturn(0);
}

PetscErrorCode ds_output_remember_snapshot(DSOutput out, PetscInt step, PetscReal time)
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

PetscErrorCode ds_output_handle_new(MPI_Comm comm, const DSOptions *opts, DSOutput *out)
{
  DSOutput o;

  PetscFunctionBeginUser;
  PetscCheck(opts->output[0], comm, PETSC_ERR_ARG_WRONG, "no output file given (-drift_output)");
  PetscCall(PetscNew(&o));
  PetscCall(ds_xdmf_paths(opts->output, o->sidecar, o->views, sizeof(o->sidecar)));
  o->n       = opts->n;
  o->dim     = opts->dim;
  o->file.id = H5I_INVALID_HID;
  *out       = o;
  PetscFunctionReturn(0);
}

/* Creates the file through MPI-IO (replacing an old one), writes the root attributes and
   /target, flushes, and removes the sidecar of an old file. */
PetscErrorCode ds_output_create_file(MPI_Comm comm, const DSOptions *opts, const DSTarget *target, const DSBandwidth *bandwidth, DSOutput *out)
{
  DSOutput o;

  PetscFunctionBeginUser;
  PetscCall(ds_output_handle_new(comm, opts, &o));
  PetscCall(ds_h5_file_open(comm, opts->output, PETSC_TRUE, &o->file));
  PetscCall(write_root_attributes(o, opts, bandwidth));
  if (target) PetscCall(write_target(o, target));
  PetscCall(ds_h5_file_flush(&o->file));
  PetscCall(ds_output_update_sidecar(o));
  *out = o;
  PetscFunctionReturn(0);
}

/* Creates the file collectively (see ds_output_create_file). */
PetscErrorCode ds_output_open(MPI_Comm comm, const DSOptions *opts, const DSTarget *target, const DSBandwidth *bandwidth, DSOutput *out)
{
  PetscFunctionBeginUser;
  PetscCall(ds_log_register());
  DS_H5_QUIETLY(ds_events.output, ds_output_create_file(comm, opts, target, bandwidth, out));
  PetscFunctionReturn(0);
}

/* Creates /particles with its series, sized for the run's N and d. */
static PetscErrorCode create_particles(DSOutput out, PetscBool velocity)
{
  const DSH5File *f = &out->file;
  const hsize_t   n = (hsize_t)out->n, d = (hsize_t)out->dim;
  const hsize_t   dims[3] = {0, n, d}, chunk[3] = {1, particle_chunk_rows(out), d}, series = SERIES_CHUNK;

  PetscFunctionBeginUser;
  PetscCall(ds_h5_group_create(f, "/particles"));
  PetscCall(ds_h5_dataset_create(f, "/particles/step", H5T_STD_I64LE, 1, dims, &series, &out->particle_step));
  PetscCall(ds_h5_dataset_create(f, "/particles/time", H5T_IEEE_F64LE, 1, dims, &series, &out->particle_time));
  PetscCall(ds_h5_dataset_create(f, "/particles/position", H5T_IEEE_F64LE, 3, dims, chunk, &out->position));
  if (velocity) PetscCall(ds_h5_dataset_create(f, "/particles/velocity", H5T_IEEE_F64LE, 3, dims, chunk, &out->velocity));
  PetscCall(ds_h5_attribute_write_int(f, "/particles", ROWS, 0));
  out->has_particles = PETSC_TRUE;
  out->has_velocity  = velocity;
  PetscFunctionReturn(0);
}

/* Appends one value, the same on every rank, to a 1-D series; rank 0 writes it. */
static PetscErrorCode append_value(DSOutput out, const DSH5Dataset *ds, hid_t memtype, const void *value)
{
  const hsize_t start = 0, count = out->file.rank == 0 ? 1 : 0;

  PetscFunctionBeginUser;
  PetscCall(ds_h5_append_row(&out->file, ds, memtype, &start, &count, value));
  PetscFunctionReturn(0);
}

/* Appends one [N][d] row to `ds` from this rank's particles of the blocked Vec v. */
static PetscErrorCode append_particles(DSOutput out, const DSH5Dataset *ds, Vec v)
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
  PetscCall(ds_h5_append_row(&out->file, ds, DS_H5_REAL, start, count, a));
  PetscCall(VecRestoreArrayRead(v, &a));
  PetscFunctionReturn(0);
}

/* Checks that v holds the run's N particles of dimension d, laid out like X when X is given. */
static PetscErrorCode check_particle_vec(DSOutput out, const char *what, Vec v, Vec X)
{
  const DSH5File *f = &out->file;
  PetscInt        size, bs, rstart, rend, xstart, xend;
  int             same, all;

  PetscFunctionBeginUser;
  PetscCall(VecGetSize(v, &size));
  PetscCall(VecGetBlockSize(v, &bs));
  PetscCheck(bs == out->dim && size == out->n * out->dim, f->comm, PETSC_ERR_ARG_SIZ, "%s: %s has %" PetscInt_FMT " entries in blocks of %" PetscInt_FMT ", the run has %" PetscInt_FMT " particles of dimension %" PetscInt_FMT, f->path, what, size, bs, out->n, out->dim);
  if (X) {
    PetscCall(VecGetOwnershipRange(v, &rstart, &rend));
    PetscCall(VecGetOwnershipRange(X, &xstart, &xend));
    same = rstart == xstart && rend == xend;
    PetscCallMPI(MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_LAND, f->comm));
    PetscCheck(all, f->comm, PETSC_ERR_ARG_INCOMP, "%s: the velocity Vec is distributed differently from the positions", f->path);
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
  PetscCall(ds_h5_file_reserve(&out->file, (V ? 2 : 1) * particle_row_room(out) + series_row_room(2) + METADATA_ROOM));
  if (!out->has_particles) PetscCall(create_particles(out, (PetscBool)(V != NULL)));
  PetscCheck(out->has_velocity == (V != NULL), out->file.comm, PETSC_ERR_ARG_WRONG, "%s: the first snapshot was written %s velocities, every later one must be too", out->file.path, out->has_velocity ? "with" : "without");
  PetscCall(append_value(out, &out->particle_step, DS_H5_INT, &step));
  PetscCall(append_value(out, &out->particle_time, DS_H5_REAL, &time));
  PetscCall(append_particles(out, &out->position, X));
  if (V) PetscCall(append_particles(out, &out->velocity, V));
  PetscCall(ds_output_commit_rows(out, "/particles", out->nsnapshots + 1));
  PetscCall(ds_output_remember_snapshot(out, step, time));
  PetscCall(ds_output_update_sidecar(out));
  PetscFunctionReturn(0);
}

/* Appends a snapshot collectively (see output_particles). */
PetscErrorCode ds_output_write_particles(DSOutput out, PetscInt step, PetscReal time, Vec X, Vec V)
{
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  DS_H5_QUIETLY_STATUS(ds_events.output, output_particles(out, step, time, X, V), ierr);
  PetscCall(name_the_write(out, ierr, "the snapshot", step));
  PetscFunctionReturn(0);
}

/* Creates /diagnostics with step, time and one series per name. */
static PetscErrorCode create_diagnostics(DSOutput out, PetscInt count, const char *const names[])
{
  const DSH5File *f    = &out->file;
  const hsize_t   dims = 0, chunk = SERIES_CHUNK;
  char            path[PETSC_MAX_PATH_LEN];

  PetscFunctionBeginUser;
  PetscCall(ds_h5_group_create(f, DIAGNOSTICS));
  PetscCall(PetscMalloc1(count + 2, &out->diagnostics));
  PetscCall(ds_h5_dataset_create(f, DIAGNOSTICS "/step", H5T_STD_I64LE, 1, &dims, &chunk, &out->diagnostics[0]));
  PetscCall(ds_h5_dataset_create(f, DIAGNOSTICS "/time", H5T_IEEE_F64LE, 1, &dims, &chunk, &out->diagnostics[1]));
  for (PetscInt k = 0; k < count; k++) {
    PetscCall(PetscSNPrintf(path, sizeof(path), DIAGNOSTICS "/%s", names[k]));
    PetscCall(ds_h5_dataset_create(f, path, H5T_IEEE_F64LE, 1, &dims, &chunk, &out->diagnostics[k + 2]));
  }
  PetscCall(ds_h5_attribute_write_int(f, DIAGNOSTICS, ROWS, 0));
  out->ndiagnostics = count + 2;
  PetscFunctionReturn(0);
}

/* Opens the /diagnostics series of a reopened file in the order of `names`. The file must
   hold step, time and exactly these names; nothing is opened otherwise. */
static PetscErrorCode open_diagnostics(DSOutput out, PetscInt count, const char *const names[])
{
  const DSH5File *f = &out->file;
  char            path[PETSC_MAX_PATH_LEN];
  htri_t          exists;

  PetscFunctionBeginUser;
  PetscCheck(count + 2 == out->reopened_series, f->comm, PETSC_ERR_ARG_WRONG, "%s: %" PetscInt_FMT " diagnostics given, the file has %" PetscInt_FMT, f->path, count, out->reopened_series - 2);
  for (PetscInt k = 0; k < count; k++) {
    PetscCall(PetscSNPrintf(path, sizeof(path), DIAGNOSTICS "/%s", names[k]));
    exists = H5Lexists(f->id, path, H5P_DEFAULT);
    DS_H5_CHECK(f, exists, "look for", path);
    PetscCheck(exists, f->comm, PETSC_ERR_ARG_WRONG, "%s: diagnostic %" PetscInt_FMT " is named %s, which the file does not have", f->path, k, names[k]);
  }
  PetscCall(PetscMalloc1(count + 2, &out->diagnostics));
  PetscCall(ds_h5_dataset_open(f, DIAGNOSTICS "/step", &out->diagnostics[0]));
  PetscCall(ds_h5_dataset_open(f, DIAGNOSTICS "/time", &out->diagnostics[1]));
  for (PetscInt k = 0; k < count; k++) {
    PetscCall(PetscSNPrintf(path, sizeof(path), DIAGNOSTICS "/%s", names[k]));
    PetscCall(ds_h5_dataset_open(f, path, &out->diagnostics[k + 2]));
  }
  out->ndiagnostics = count + 2;
  PetscFunctionReturn(0);
}

/* Body of ds_output_write_diagnostics: creates /diagnostics on the first call (or opens the
   series of a reopened file), checks the names against it, appends step, time and the
   values, and flushes. */
static PetscErrorCode output_diagnostics(DSOutput out, PetscInt step, PetscReal time, PetscInt count, const char *const names[], const PetscReal values[])
{
  const DSH5File *f = &out->file;

  PetscFunctionBeginUser;
  PetscCall(ds_h5_file_reserve(f, series_row_room(count + 2) + METADATA_ROOM));
  if (!out->ndiagnostics) PetscCall(out->reopened_series ? open_diagnostics(out, count, names) : create_diagnostics(out, count, names));
  PetscCheck(count + 2 == out->ndiagnostics, f->comm, PETSC_ERR_ARG_WRONG, "%s: %" PetscInt_FMT " diagnostics given, the first row had %" PetscInt_FMT, f->path, count, out->ndiagnostics - 2);
  for (PetscInt k = 0; k < count; k++) {
    const char *name = out->diagnostics[k + 2].path + sizeof(DIAGNOSTICS); /* past "/diagnostics/" */
    PetscBool   same;

    PetscCall(PetscStrcmp(name, names[k], &same));
    PetscCheck(same, f->comm, PETSC_ERR_ARG_WRONG, "%s: diagnostic %" PetscInt_FMT " is named %s, in the first row it was %s", f->path, k, names[k], name);
  }
  PetscCall(append_value(out, &out->diagnostics[0], DS_H5_INT, &step));
  PetscCall(append_value(out, &out->diagnostics[1], DS_H5_REAL, &time));
  for (PetscInt k = 0; k < count; k++) PetscCall(append_value(out, &out->diagnostics[k + 2], DS_H5_REAL, &values[k]));
  PetscCall(ds_output_commit_rows(out, DIAGNOSTICS, out->diagnostic_rows + 1));
  out->diagnostic_rows++;
  PetscFunctionReturn(0);
}

/* Appends a diagnostics row collectively (see output_diagnostics). */
PetscErrorCode ds_output_write_diagnostics(DSOutput out, PetscInt step, PetscReal time, PetscInt count, const char *const names[], const PetscReal values[])
{
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  DS_H5_QUIETLY_STATUS(ds_events.output, output_diagnostics(out, step, time, count, names, values), ierr);
  PetscCall(name_the_write(out, ierr, "the diagnostics", step));
  PetscFunctionReturn(0);
}

static PetscErrorCode output_summary(DSOutput out, PetscInt count, const char *const names[], const PetscReal values[])
{
  PetscFunctionBeginUser;
  PetscCall(ds_h5_file_reserve(&out->file, METADATA_ROOM));
  for (PetscInt k = 0; k < count; k++) PetscCall(ds_h5_attribute_write_real(&out->file, "/", names[k], values[k]));
  PetscCall(ds_h5_file_flush(&out->file));
  PetscFunctionReturn(0);
}

/* Writes the run's summary values as root attributes, collectively (see output_summary). */
PetscErrorCode ds_output_write_summary(DSOutput out, PetscInt count, const char *const names[], const PetscReal values[])
{
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  DS_H5_QUIETLY_STATUS(ds_events.output, output_summary(out, count, names, values), ierr);
  PetscCall(name_the_write(out, ierr, "the summary at the end of the run", -1));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_output_destroy(DSOutput *out)
{
  DSOutput        o = *out;
  const DSH5File *f = &o->file;

  PetscFunctionBeginUser;
  if (o->has_particles) {
    PetscCall(ds_h5_dataset_close(f, &o->particle_step));
    PetscCall(ds_h5_dataset_close(f, &o->particle_time));
    PetscCall(ds_h5_dataset_close(f, &o->position));
    if (o->has_velocity) PetscCall(ds_h5_dataset_close(f, &o->velocity));
  }
  for (PetscInt k = 0; k < o->ndiagnostics; k++) PetscCall(ds_h5_dataset_close(f, &o->diagnostics[k]));
  PetscCall(PetscFree(o->diagnostics));
  PetscCall(PetscFree(o->steps));
  PetscCall(PetscFree(o->times));
  PetscCall(ds_h5_file_close(&o->file));
  PetscCall(PetscFree(*out));
  PetscFunctionReturn(0);
}

/* Closes the file collectively (see ds_output_destroy); a NULL handle is a no-op. */
PetscErrorCode ds_output_close(DSOutput *out)
{
  PetscFunctionBeginUser;
  if (!*out) PetscFunctionReturn(0);
  DS_H5_QUIETLY(ds_events.output, ds_output_destroy(out));
  PetscFunctionReturn(0);
}
