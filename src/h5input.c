/* Input tables from HDF5 files (ds_h5input.h). Rank 0 first looks at the file serially
   (exists, readable, HDF5) so that a missing or foreign file gets a precise reason; then
   every rank opens it through MPI-IO, checks the dataset and reads its rows collectively.
   Each verdict is agreed on before it is raised, so every rank raises the same error, and
   the HDF5 handles are closed first. */
#include <string.h>
#include "ds_h5input.h"
#include "ds_h5util.h"
#include "ds_init.h"

#define REASON_LEN 256

/* An open table: the file, its dataset and the dataset's row count. */
typedef struct {
  hid_t    file, dset;
  PetscInt rows;
} Table;

/* Turns every rank's `reason` ("" = fine) into one verdict: rank 0's reason when it has
   one, otherwise a general one when any other rank failed. */
static PetscErrorCode agree(MPI_Comm comm, char reason[REASON_LEN])
{
  int bad = reason[0] != 0, any = 0;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, comm));
  PetscCallMPI(MPI_Bcast(reason, REASON_LEN, MPI_CHAR, 0, comm));
  if (any && !reason[0]) PetscCall(PetscStrncpy(reason, "HDF5 could not read it on every rank", REASON_LEN));
  PetscFunctionReturn(0);
}

/* Why the file the probe looked at cannot be read as HDF5, or "": a format for the
   probe's errno, by kind. */
static const char *const probe_problems[] = {
  [DS_H5_FILE_HDF5]         = "",
  [DS_H5_FILE_MISSING]      = "the file does not exist",
  [DS_H5_FILE_INACCESSIBLE] = "the file cannot be accessed (%s)",
  [DS_H5_FILE_DIRECTORY]    = "it is a directory, not a file",
  [DS_H5_FILE_UNREADABLE]   = "the file cannot be read (%s)",
  [DS_H5_FILE_UNOPENABLE]   = "HDF5 cannot open the file",
  [DS_H5_FILE_NOT_HDF5]     = "not an HDF5 file",
};

/* Closes what table_open opened. The file was opened read-only, so nothing can be lost
   when closing fails; the statuses are not checked. */
static void table_close(Table *t)
{
  if (t->dset >= 0) H5Dclose(t->dset);
  if (t->file >= 0) H5Fclose(t->file);
  t->dset = t->file = H5I_INVALID_HID;
}

/* Why the open object `dset` is not a 2-D table of numbers with `cols` columns and at least
   one row (for cols == 1, a 1-D dataset too), or ""; its row count in *rows. */
static PetscErrorCode shape_problem(hid_t dset, PetscInt cols, PetscInt *rows, char reason[REASON_LEN])
{
  hsize_t     dims[H5S_MAX_RANK];
  hid_t       space, type;
  int         ndims;
  H5T_class_t kind;

  PetscFunctionBeginUser;
  *rows     = 0;
  space     = H5Dget_space(dset);
  type      = H5Dget_type(dset);
  ndims     = space >= 0 ? H5Sget_simple_extent_dims(space, dims, NULL) : -1;
  kind      = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  if (ndims == 1 && cols == 1) dims[ndims++] = 1; /* a column of numbers: [rows] as [rows][1] */
  if (ndims < 0 || kind == H5T_NO_CLASS) PetscCall(PetscStrncpy(reason, "HDF5 could not read its shape and type", REASON_LEN));
  else if (ndims != 2) PetscCall(PetscSNPrintf(reason, REASON_LEN, "is %d-dimensional, expected a 2-D table [rows][%" PetscInt_FMT "]", ndims, cols));
  else if (kind != H5T_FLOAT && kind != H5T_INTEGER) PetscCall(PetscStrncpy(reason, "does not hold numbers", REASON_LEN));
  else if (dims[1] != (hsize_t)cols) PetscCall(PetscSNPrintf(reason, REASON_LEN, "has rows of %llu numbers, but -drift_dim is %" PetscInt_FMT, (unsigned long long)dims[1], cols));
  else if (dims[0] == 0) PetscCall(PetscStrncpy(reason, "has no rows", REASON_LEN));
  else if (dims[0] > (hsize_t)(PETSC_MAX_INT / cols)) PetscCall(PetscSNPrintf(reason, REASON_LEN, "has %llu rows of %" PetscInt_FMT " numbers, more than the %" PetscInt_FMT " entries that this PETSc build's %d-bit indices can address; use fewer rows, or a PETSc configured with --with-64-bit-indices", (unsigned long long)dims[0], cols, PETSC_MAX_INT, (int)(8 * sizeof(PetscInt))));
  else *rows = (PetscInt)dims[0];
  PetscFunctionReturn(0);
}

/* Opens the table collectively after rank 0 has vouched for the file (ds_h5_probe), and
   checks it; every failure is raised on every rank with nothing left open. */
static PetscErrorCode table_open(MPI_Comm comm, const char *file, const char *dataset, const char *option, PetscInt cols, Table *t)
{
  char      reason[REASON_LEN] = "";
  DSH5Probe probe;
  hid_t     fapl, object;

  PetscFunctionBeginUser;
  t->file = t->dset = H5I_INVALID_HID;
  t->rows = 0;
  PetscCall(ds_h5_probe(comm, file, &probe));
  PetscCall(PetscSNPrintf(reason, REASON_LEN, probe_problems[probe.kind], strerror(probe.err)));
  PetscCheck(!reason[0], comm, PETSC_ERR_USER_INPUT, "%s %s, dataset %s: %s", option, file, dataset, reason);

  fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0 || H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL) < 0) PetscCall(PetscStrncpy(reason, "HDF5 could not set up MPI-IO access", REASON_LEN));
  PetscCall(agree(comm, reason));
  if (!reason[0]) {
    t->file = H5Fopen(file, H5F_ACC_RDONLY, fapl);
    if (t->file < 0) PetscCall(PetscStrncpy(reason, "HDF5 could not open the file", REASON_LEN));
  }
  if (fapl >= 0) H5Pclose(fapl);
  if (t->file >= 0) {
    object = H5Oopen(t->file, dataset, H5P_DEFAULT);
    if (object < 0) PetscCall(PetscStrncpy(reason, "no such dataset in the file", REASON_LEN));
    else if (H5Iget_type(object) != H5I_DATASET) {
      PetscCall(PetscStrncpy(reason, "not a dataset", REASON_LEN));
      H5Oclose(object);
    } else {
      t->dset = object;
      PetscCall(shape_problem(t->dset, cols, &t->rows, reason));
    }
  }
  PetscCall(agree(comm, reason));
  if (reason[0]) table_close(t);
  PetscCheck(!reason[0], comm, PETSC_ERR_USER_INPUT, "%s %s, dataset %s: %s", option, file, dataset, reason);
  PetscFunctionReturn(0);
}

/* Body of ds_h5input_shape. */
static PetscErrorCode input_shape(MPI_Comm comm, const char *file, const char *dataset, const char *option, PetscInt cols, PetscInt *rows)
{
  Table t;

  PetscFunctionBeginUser;
  PetscCall(table_open(comm, file, dataset, option, cols, &t));
  *rows = t.rows;
  table_close(&t);
  PetscFunctionReturn(0);
}

/* Opens and checks the table with HDF5's error printing off (see table_open). */
PetscErrorCode ds_h5input_shape(MPI_Comm comm, const char *file, const char *dataset, const char *option, PetscInt cols, PetscInt *rows)
{
  PetscFunctionBeginUser;
  DS_H5_QUIETLY(DS_H5_UNLOGGED, input_shape(comm, file, dataset, option, cols, rows));
  PetscFunctionReturn(0);
}

/* Reads this rank's block with one collective transfer (an empty block takes part with
   empty selections, ds_h5_block_spaces); the reason of a failure on any rank, or "", in
   reason. */
static PetscErrorCode read_block(MPI_Comm comm, const Table *t, PetscInt first, PetscInt nrows, PetscInt cols, PetscReal *values, char reason[REASON_LEN])
{
  const hsize_t start[2] = {(hsize_t)first, 0}, count[2] = {(hsize_t)nrows, (hsize_t)cols};
  hid_t         filespace, memspace, dxpl;
  PetscReal     unused;
  int           ok;

  PetscFunctionBeginUser;
  PetscCall(ds_h5_block_spaces(t->dset, start, count, &filespace, &memspace));
  dxpl = H5Pcreate(H5P_DATASET_XFER);
  ok   = memspace >= 0 && dxpl >= 0 && H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE) >= 0;
  if (!ok) PetscCall(PetscStrncpy(reason, "HDF5 could not select the rows", REASON_LEN));
  PetscCall(agree(comm, reason));
  if (!reason[0] && H5Dread(t->dset, DS_H5_REAL, memspace, filespace, dxpl, values ? (void *)values : (void *)&unused) < 0) PetscCall(PetscSNPrintf(reason, REASON_LEN, "HDF5 could not read rows %" PetscInt_FMT " to %" PetscInt_FMT, first, first + nrows - 1));
  if (memspace >= 0) H5Sclose(memspace);
  if (filespace >= 0) H5Sclose(filespace);
  if (dxpl >= 0) H5Pclose(dxpl);
  PetscCall(agree(comm, reason));
  PetscFunctionReturn(0);
}

/* Body of ds_h5input_read_rows: opens and checks the table, reads the block, closes, and
   refuses non-finite values by the lowest bad global row over the ranks. */
static PetscErrorCode input_read_rows(MPI_Comm comm, const char *file, const char *dataset, const char *option, PetscInt first, PetscInt nrows, PetscInt cols, PetscReal *values)
{
  char     reason[REASON_LEN] = "";
  Table    t;
  PetscInt bad = PETSC_MAX_INT, first_bad;

  PetscFunctionBeginUser;
  PetscCall(table_open(comm, file, dataset, option, cols, &t));
  if (first < 0 || nrows < 0 || first + nrows > t.rows) PetscCall(PetscSNPrintf(reason, REASON_LEN, "has %" PetscInt_FMT " rows, rows %" PetscInt_FMT " to %" PetscInt_FMT " were asked for", t.rows, first, first + nrows - 1));
  PetscCall(agree(comm, reason));
  if (!reason[0]) PetscCall(read_block(comm, &t, first, nrows, cols, values, reason));
  table_close(&t);
  PetscCheck(!reason[0], comm, PETSC_ERR_USER_INPUT, "%s %s, dataset %s: %s", option, file, dataset, reason);
  for (PetscInt i = 0; i < nrows && bad == PETSC_MAX_INT; i++)
    for (PetscInt j = 0; j < cols; j++)
      if (PetscIsInfOrNanReal(values[i * cols + j])) bad = first + i;
  PetscCallMPI(MPI_Allreduce(&bad, &first_bad, 1, MPIU_INT, MPI_MIN, comm));
  PetscCheck(first_bad == PETSC_MAX_INT, comm, PETSC_ERR_USER_INPUT, "%s %s, dataset %s: row %" PetscInt_FMT " (counting from 0) is not finite (NaN or Inf)", option, file, dataset, first_bad);
  PetscFunctionReturn(0);
}

/* Reads a block of rows with HDF5's error printing off (see input_read_rows). */
PetscErrorCode ds_h5input_read_rows(MPI_Comm comm, const char *file, const char *dataset, const char *option, PetscInt first, PetscInt nrows, PetscInt cols, PetscReal *values)
{
  PetscFunctionBeginUser;
  DS_H5_QUIETLY(DS_H5_UNLOGGED, input_read_rows(comm, file, dataset, option, first, nrows, cols, values));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5input_read_split(MPI_Comm comm, const char *file, const char *dataset, const char *option, PetscInt cols, PetscBool replicated, DSH5InputRows *rows)
{
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(rows, sizeof(*rows)));
  PetscCall(ds_h5input_shape(comm, file, dataset, option, cols, &rows->global));
  rows->local = rows->global;
  if (!replicated) PetscCall(ds_split_rows(comm, rows->global, &rows->local, &rows->start));
  PetscCall(PetscMalloc1(PetscMax(rows->local * cols, 1), &rows->values));
  ierr = ds_h5input_read_rows(comm, file, dataset, option, rows->start, rows->local, cols, rows->values);
  if (ierr) PetscCall(PetscFree(rows->values));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}
