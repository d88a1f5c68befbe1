/* Reopening the output of a restarted run (ds_output_reopen in ds_output.h). The file is
   opened read-write and every series is cut to the rows written before the checkpoint's
   step: the checkpoint of a step is written before that step's rows, so the restarted run
   writes them again and appends from there. Rows beyond a group's complete_rows (a job
   killed within an append) are cut too. */
#include "output_impl.h"
#include "ds_log.h"
#include "ds_provenance.h"

#define DIAGNOSTICS DS_OUTPUT_DIAGNOSTICS
#define ROWS        DS_OUTPUT_ROWS
#define METADATA_ROOM DS_OUTPUT_METADATA_ROOM

/* The rows of the series under `group` known complete: at most `rows` (the shortest
   series), and at most the group's complete_rows attribute when it has one (files written
   before it existed have none). */
static PetscErrorCode complete_rows(DSOutput out, const char *group, PetscInt *rows)
{
  PetscInt  complete;
  PetscBool found;

  PetscFunctionBeginUser;
  PetscCall(ds_h5_attribute_read_int(&out->file, group, ROWS, &complete, &found));
  if (found) *rows = PetscMax(0, PetscMin(*rows, complete));
  PetscFunctionReturn(0);
}

/* Reads the first `rows` values of the 1-D series `ds` as memtype into buf, on every rank. */
static PetscErrorCode read_series(DSOutput out, const DSH5Dataset *ds, hid_t memtype, PetscInt rows, void *buf)
{
  const hsize_t start = 0, count = (hsize_t)rows;

  PetscFunctionBeginUser;
  if (!rows) PetscFunctionReturn(0);
  PetscCall(ds_h5_read_block(&out->file, ds, memtype, &start, &count, buf));
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
  PetscCallMPI(MPI_Barrier(out->file.comm));
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
   before restart_step (and to the complete rows, should a job have been killed within an
   append); remembers their steps and times for the sidecar. */
static PetscErrorCode reopen_particles(DSOutput out, PetscInt restart_step)
{
  const DSH5File *f         = &out->file;
  DSH5Dataset    *series[4] = {&out->particle_step, &out->particle_time, &out->position, &out->velocity};
  PetscInt        rows = PETSC_MAX_INT, length, keep, nseries, *steps;
  PetscReal      *times;
  htri_t          exists;

  PetscFunctionBeginUser;
  exists = H5Lexists(f->id, "/particles", H5P_DEFAULT);
  DS_H5_CHECK(f, exists, "look for", "/particles");
  if (!exists) PetscFunctionReturn(0);
  exists = H5Lexists(f->id, "/particles/velocity", H5P_DEFAULT);
  DS_H5_CHECK(f, exists, "look for", "/particles/velocity");
  out->has_particles = PETSC_TRUE;
  out->has_velocity  = exists ? PETSC_TRUE : PETSC_FALSE;
  nseries            = out->has_velocity ? 4 : 3;
  PetscCall(ds_h5_dataset_open(f, "/particles/step", &out->particle_step));
  PetscCall(ds_h5_dataset_open(f, "/particles/time", &out->particle_time));
  PetscCall(ds_h5_dataset_open(f, "/particles/position", &out->position));
  if (out->has_velocity) PetscCall(ds_h5_dataset_open(f, "/particles/velocity", &out->velocity));
  for (PetscInt k = 0; k < nseries; k++) {
    PetscCall(ds_h5_dataset_rows(f, series[k], &length));
    rows = PetscMin(rows, length);
  }
  PetscCall(complete_rows(out, "/particles", &rows));
  PetscCall(PetscMalloc2(rows, &steps, rows, &times));
  PetscCall(read_series(out, &out->particle_step, DS_H5_INT, rows, steps));
  PetscCall(read_series(out, &out->particle_time, DS_H5_REAL, rows, times));
  keep = rows_to_keep(rows, steps, restart_step);
  PetscCall(wait_for_readers(out));
  for (PetscInt k = 0; k < nseries; k++) PetscCall(ds_h5_cut_rows(f, series[k], keep));
  PetscCall(ds_h5_attribute_write_int(f, "/particles", ROWS, keep));
  for (PetscInt t = 0; t < keep; t++) PetscCall(ds_output_remember_snapshot(out, steps[t], times[t]));
  PetscCall(PetscFree2(steps, times));
  PetscFunctionReturn(0);
}

/* Cuts every series of /diagnostics of a reopened file, when present, to the rows up to
   restart_step (and to the complete rows). The series are opened again by the names of
   the next row (output.c): the file does not keep the order of the names. */
static PetscErrorCode reopen_diagnostics(DSOutput out, PetscInt restart_step)
{
  const DSH5File *f = &out->file;
  char            name[256], path[PETSC_MAX_PATH_LEN];
  DSH5Dataset    *series;
  H5G_info_t      info;
  PetscInt        nseries, rows = PETSC_MAX_INT, length, keep, step = -1, *steps;
  hid_t           group;
  htri_t          exists;

  PetscFunctionBeginUser;
  exists = H5Lexists(f->id, DIAGNOSTICS, H5P_DEFAULT);
  DS_H5_CHECK(f, exists, "look for", DIAGNOSTICS);
  if (!exists) PetscFunctionReturn(0);
  group = H5Gopen2(f->id, DIAGNOSTICS, H5P_DEFAULT);
  DS_H5_CHECK(f, group, "open group", DIAGNOSTICS);
  DS_H5_CHECK(f, H5Gget_info(group, &info), "list group", DIAGNOSTICS);
  nseries = (PetscInt)info.nlinks;
  PetscCall(PetscMalloc1(nseries, &series));
  for (PetscInt k = 0; k < nseries; k++) {
    const ssize_t len = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, (hsize_t)k, name, sizeof(name), H5P_DEFAULT);
    PetscBool     is_step;

    DS_H5_CHECK(f, len, "list group", DIAGNOSTICS);
    PetscCheck((size_t)len < sizeof(name), f->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: a name in %s is longer than %zu characters", f->path, DIAGNOSTICS, sizeof(name) - 1);
    PetscCall(PetscSNPrintf(path, sizeof(path), DIAGNOSTICS "/%s", name));
    PetscCall(ds_h5_dataset_open(f, path, &series[k]));
    PetscCall(ds_h5_dataset_rows(f, &series[k], &length));
    rows = PetscMin(rows, length);
    PetscCall(PetscStrcmp(name, "step", &is_step));
    if (is_step) step = k;
  }
  DS_H5_CHECK(f, H5Gclose(group), "close group", DIAGNOSTICS);
  PetscCheck(step >= 0, f->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has no step series", f->path, DIAGNOSTICS);
  PetscCall(complete_rows(out, DIAGNOSTICS, &rows));
  PetscCall(PetscMalloc1(rows, &steps));
  PetscCall(read_series(out, &series[step], DS_H5_INT, rows, steps));
  keep = rows_to_keep(rows, steps, restart_step);
  PetscCall(wait_for_readers(out));
  for (PetscInt k = 0; k < nseries; k++) {
    PetscCall(ds_h5_cut_rows(f, &series[k], keep));
    PetscCall(ds_h5_dataset_close(f, &series[k]));
  }
  PetscCall(ds_h5_attribute_write_int(f, DIAGNOSTICS, ROWS, keep));
  PetscCall(PetscFree(steps));
  PetscCall(PetscFree(series));
  out->reopened_series = nseries;
  out->diagnostic_rows = keep;
  PetscFunctionReturn(0);
}

/* Appends "restarted at step S from CHECKPOINT on UTC-TIME with P ranks" as a line of the
   root string attribute `restarts`, created by the first restart. An attribute cannot
   grow, so the old one is read, deleted and written again longer. */
static PetscErrorCode note_restart(DSOutput out, const DSOptions *opts, PetscInt restart_step)
{
  const DSH5File *f = &out->file;
  char           *when, *old, *text;
  size_t          old_len = 0, len;
  PetscMPIInt     size;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(f->comm, &size));
  PetscCall(ds_provenance_now(f->comm, &when));
  PetscCall(ds_h5_attribute_read_string(f, "restarts", &old));
  if (old) {
    PetscCall(PetscStrlen(old, &old_len));
    DS_H5_CHECK(f, H5Adelete(f->id, "restarts"), "delete attribute", "restarts");
  }
  len = old_len + sizeof(opts->restart) + 128;
  PetscCall(PetscMalloc1(len, &text));
  PetscCall(PetscSNPrintf(text, len, "%s%srestarted at step %" PetscInt_FMT " from %s on %s with %d ranks", old ? old : "", old && old[0] ? "\n" : "", restart_step, opts->restart[0] ? opts->restart : "(no checkpoint named)", when, size));
  PetscCall(ds_h5_attribute_write_string(f, "/", "restarts", text));
  PetscCall(PetscFree(text));
  PetscCall(PetscFree(old));
  PetscCall(PetscFree(when));
  PetscFunctionReturn(0);
}

/* Body of ds_output_reopen: rank 0 tells whether the file exists and is HDF5; a missing one
   is created as by ds_output_open. An existing one is opened read-write and must describe
   N particles of dimension d; its rows after restart_step are cut, the restart is noted,
   the file is flushed and its sidecar rewritten. Refusals close the file first. */
static PetscErrorCode output_reopen(MPI_Comm comm, const DSOptions *opts, const DSTarget *target, const DSBandwidth *bandwidth, PetscInt restart_step, DSOutput *out)
{
  DSOutput  o;
  DSH5Probe probe;
  PetscInt  n = -1, dim = -1;
  PetscBool has_n, has_dim, same;

  PetscFunctionBeginUser;
  PetscCall(ds_h5_probe(comm, opts->output, &probe));
  if (probe.kind == DS_H5_FILE_MISSING || probe.kind == DS_H5_FILE_INACCESSIBLE) {
    PetscCall(ds_output_create_file(comm, opts, target, bandwidth, out));
    PetscFunctionReturn(0);
  }
  PetscCheck(probe.kind == DS_H5_FILE_HDF5, comm, PETSC_ERR_USER_INPUT, "-drift_output %s is not an HDF5 file: the restarted run cannot append to it", opts->output);
  PetscCall(ds_output_handle_new(comm, opts, &o));
  PetscCall(ds_h5_file_open(comm, opts->output, PETSC_FALSE, &o->file));
  PetscCall(ds_h5_file_reserve(&o->file, 2 * METADATA_ROOM)); /* cuts free space; `restarts` grows */
  PetscCall(ds_h5_attribute_read_int(&o->file, "/", "n", &n, &has_n));
  PetscCall(ds_h5_attribute_read_int(&o->file, "/", "dim", &dim, &has_dim));
  same = (PetscBool)(has_n && has_dim && n == opts->n && dim == opts->dim);
  if (!same) PetscCall(ds_output_destroy(&o));
  PetscCheck(has_n && has_dim, comm, PETSC_ERR_USER_INPUT, "-drift_output %s is not driftsim output (it has no attributes n and dim): the restarted run cannot append to it", opts->output);
  PetscCheck(same, comm, PETSC_ERR_USER_INPUT, "-drift_output %s holds %" PetscInt_FMT " particles of dimension %" PetscInt_FMT ", the restarted run has %" PetscInt_FMT " of dimension %" PetscInt_FMT, opts->output, n, dim, opts->n, opts->dim);
  PetscCall(reopen_particles(o, restart_step));
  PetscCall(reopen_diagnostics(o, restart_step));
  PetscCall(note_restart(o, opts, restart_step));
  PetscCall(ds_h5_file_flush(&o->file));
  PetscCall(ds_output_update_sidecar(o));
  *out = o;
  PetscFunctionReturn(0);
}

/* Reopens the file for a restart collectively (see output_reopen). */
PetscErrorCode ds_output_reopen(MPI_Comm comm, const DSOptions *opts, const DSTarget *target, const DSBandwidth *bandwidth, PetscInt restart_step, DSOutput *out)
{
  PetscFunctionBeginUser;
  PetscCall(ds_log_register());
  DS_H5_QUIETLY(ds_events.output, output_reopen(comm, opts, target, bandwidth, restart_step, out));
  PetscFunctionReturn(0);
}
