/* HDF5 helpers (ds_h5util.h). Every dataset is transferred collectively through one MPI-IO
   file; a rank with nothing to transfer takes part with empty selections. Each HDF5 call's
   status is agreed by every rank (ds_h5_agree in h5agree.c: a full disk may fail one
   rank's write only) and a failure raised on all of them as a PETSc error naming the file
   and the object. A file open for writing keeps room on disk ahead of HDF5's end of
   allocation (ds_h5_file_reserve). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ds_h5util.h"

#define FIRST_ROOM (256 << 10) /* what H5Fcreate and the first calls may allocate */

int ds_h5_size_allowed(hsize_t bytes)
{
  struct rlimit limit;

  if (getrlimit(RLIMIT_FSIZE, &limit) || limit.rlim_cur == RLIM_INFINITY) return 0;
  return bytes <= (hsize_t)limit.rlim_cur ? 0 : EFBIG;
}

/* The length of the file open as fd, or 0 when it cannot be told. Local. */
static hsize_t file_length(int fd)
{
  struct stat st;

  return fd >= 0 && !fstat(fd, &st) ? (hsize_t)st.st_size : 0;
}

/* Rank 0 makes the file at least `want` bytes long with the space reserved (fallocate;
   where the file system cannot, it only extends the file). Returns 0 or the errno. */
static int extend(int fd, hsize_t want)
{
  const hsize_t length = file_length(fd);

  if (fd < 0 || length >= want) return 0;
  if (!fallocate(fd, 0, (off_t)length, (off_t)(want - length))) return 0;
  if (errno == EOPNOTSUPP && !ftruncate(fd, (off_t)want)) return 0;
  return errno;
}

PetscErrorCode ds_h5_file_reserve(const DSH5File *f, hsize_t bytes)
{
  DSH5Room *room = f->room;
  hsize_t   want = 0;
  int       err  = 0;

  PetscFunctionBeginUser;
  if (room->stopped) PetscFunctionReturn(0);
  if (f->rank == 0) {
    room->bound += bytes;
    want = room->bound;
  }
  PetscCallMPI(MPI_Bcast(&want, 1, MPI_UINT64_T, 0, f->comm));
  if (want > room->reserved) {
    err = ds_h5_size_allowed(want);
    if (!err && f->rank == 0) err = extend(room->fd, want);
    if (!err) room->reserved = want;
  }
  errno = err;
  PetscCall(ds_h5_check(f, (PetscBool)!err, "reserve room in", "the file"));
  PetscFunctionReturn(0);
}

/* Raises, on every rank, the failure agreed by ds_h5_agree (failed, err) of `action` on
   `object`; after one, nothing more is reserved for the file. */
static PetscErrorCode raise_agreed(const DSH5File *f, PetscBool failed, int err, const char *action, const char *object)
{
  PetscFunctionBeginUser;
  if (failed && f->room) f->room->stopped = PETSC_TRUE;
  PetscCheck(!failed, f->comm, PETSC_ERR_FILE_WRITE, "%s: HDF5 could not %s %s%s%s%s", f->path, action, object, err ? " (" : "", err ? strerror(err) : "", err ? ")" : "");
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_check(const DSH5File *f, PetscBool ok, const char *action, const char *object)
{
  PetscBool failed;
  int       err;

  PetscFunctionBeginUser;
  PetscCall(ds_h5_agree(f->comm, ok, &failed, &err));
  PetscCall(raise_agreed(f, failed, err, action, object));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_quiet_begin(PetscLogEvent event, DSH5Quiet *quiet)
{
  PetscFunctionBeginUser;
  quiet->event = event;
  PetscCheck(H5Eget_auto2(H5E_DEFAULT, &quiet->func, &quiet->data) >= 0 && H5Eset_auto2(H5E_DEFAULT, NULL, NULL) >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5 error printing cannot be switched off");
  if (event != DS_H5_UNLOGGED) PetscCall(PetscLogEventBegin(event, 0, 0, 0, 0));
  PetscCall(ds_h5_watch_begin());
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_quiet_end(const DSH5Quiet *quiet)
{
  const herr_t restored = H5Eset_auto2(H5E_DEFAULT, quiet->func, quiet->data);

  PetscFunctionBeginUser;
  PetscCall(ds_h5_watch_end());
  if (quiet->event != DS_H5_UNLOGGED) PetscCall(PetscLogEventEnd(quiet->event, 0, 0, 0, 0));
  PetscCheck(restored >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5 error printing cannot be restored");
  PetscFunctionReturn(0);
}

/* Rank 0's look at `path` (see DSH5FileKind); HDF5's error printing is off. */
static PetscErrorCode probe_locally(const char *path, DSH5Probe *probe)
{
  struct stat st;
  htri_t      hdf5;

  PetscFunctionBeginUser;
  probe->err = 0;
  if (stat(path, &st)) {
    probe->err  = errno;
    probe->kind = errno == ENOENT || errno == ENOTDIR ? DS_H5_FILE_MISSING : DS_H5_FILE_INACCESSIBLE;
  } else if (S_ISDIR(st.st_mode)) probe->kind = DS_H5_FILE_DIRECTORY;
  else if (access(path, R_OK)) {
    probe->err  = errno;
    probe->kind = DS_H5_FILE_UNREADABLE;
  } else {
    hdf5        = H5Fis_hdf5(path);
    probe->kind = hdf5 < 0 ? DS_H5_FILE_UNOPENABLE : hdf5 ? DS_H5_FILE_HDF5 : DS_H5_FILE_NOT_HDF5;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_probe(MPI_Comm comm, const char *path, DSH5Probe *probe)
{
  PetscMPIInt rank;
  int         verdict[2] = {0, 0};

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    DS_H5_QUIETLY(DS_H5_UNLOGGED, probe_locally(path, probe));
    verdict[0] = (int)probe->kind;
    verdict[1] = probe->err;
  }
  PetscCallMPI(MPI_Bcast(verdict, 2, MPI_INT, 0, comm));
  probe->kind = (DSH5FileKind)verdict[0];
  probe->err  = verdict[1];
  PetscFunctionReturn(0);
}

/* Names the file after `path` and sets up collective transfers; no file is open yet. */
static PetscErrorCode file_init(MPI_Comm comm, const char *path, DSH5File *f)
{
  PetscFunctionBeginUser;
  f->comm = comm;
  f->id   = H5I_INVALID_HID;
  f->room = NULL;
  PetscCallMPI(MPI_Comm_rank(comm, &f->rank));
  PetscCall(PetscStrncpy(f->path, path, sizeof(f->path)));
  f->dxpl = H5Pcreate(H5P_DATASET_XFER);
  DS_H5_CHECK(f, f->dxpl, "create the transfer properties of", "the file");
  DS_H5_CHECK(f, H5Pset_dxpl_mpio(f->dxpl, H5FD_MPIO_COLLECTIVE), "set collective transfers for", "the file");
  PetscFunctionReturn(0);
}

/* File access properties: MPI-IO over the file's communicator, and the 1.8 format. */
static PetscErrorCode file_access(const DSH5File *f, hid_t *fapl)
{
  PetscFunctionBeginUser;
  *fapl = H5Pcreate(H5P_FILE_ACCESS);
  DS_H5_CHECK(f, *fapl, "create the access properties of", "the file");
  DS_H5_CHECK(f, H5Pset_fapl_mpio(*fapl, f->comm, MPI_INFO_NULL), "set MPI-IO access for", "the file");
  DS_H5_CHECK(f, H5Pset_libver_bounds(*fapl, H5F_LIBVER_V18, H5F_LIBVER_V18), "set the format version of", "the file");
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_file_open(MPI_Comm comm, const char *path, PetscBool create, DSH5File *f)
{
  hid_t fapl;
  int   fd = -1;

  PetscFunctionBeginUser;
  PetscCall(file_init(comm, path, f));
  PetscCall(file_access(f, &fapl));
  f->id = create ? H5Fcreate(f->path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl) : H5Fopen(f->path, H5F_ACC_RDWR, fapl);
  if (f->id >= 0 && f->rank == 0) fd = open(f->path, O_WRONLY);
  if (f->id >= 0) {
    PetscCall(PetscNew(&f->room));
    f->room->fd    = fd;
    f->room->bound = file_length(fd); /* an open file's EOA is at most its length (this module keeps it so) */
  }
  DS_H5_CHECK(f, f->id >= 0 && (f->rank || fd >= 0) ? 0 : -1, create ? "create" : "open", create ? "the file" : "the file for appending");
  DS_H5_CHECK(f, H5Pclose(fapl), "close the access properties of", "the file");
  if (create) PetscCall(ds_h5_file_reserve(f, FIRST_ROOM));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_file_flush(const DSH5File *f)
{
  const herr_t status = H5Fflush(f->id, H5F_SCOPE_GLOBAL);

  PetscFunctionBeginUser;
  /* The flush cuts the file to the EOA when the EOA changed since its last cut, and leaves
     it otherwise: either way the file's length bounds the EOA again. */
  f->room->bound = f->room->reserved = file_length(f->room->fd); /* 0 but on rank 0: the others check their limit again */
  DS_H5_CHECK(f, status, "flush", "the file");
  PetscFunctionReturn(0);
}

/* Gives back the room of a file HDF5 has closed (when `closed` everywhere): rank 0 reads
   the EOA the close stored (H5Fget_eoa needs the default sec2 driver, not MPI-IO) and cuts
   the file to it. Then forgets the room. */
static PetscErrorCode release_room(DSH5File *f, PetscBool closed)
{
  haddr_t eoa = 0;
  hid_t   file;

  PetscFunctionBeginUser;
  if (!f->room) PetscFunctionReturn(0);
  if (f->room->fd >= 0) {
    if (closed && (file = H5Fopen(f->path, H5F_ACC_RDONLY, H5P_DEFAULT)) >= 0) {
      if (H5Fget_eoa(file, &eoa) < 0) eoa = 0;
      (void)H5Fclose(file);
    }
    if (eoa && file_length(f->room->fd) > eoa) (void)!ftruncate(f->room->fd, (off_t)eoa);
    (void)close(f->room->fd);
  }
  PetscCall(PetscFree(f->room));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_file_close(DSH5File *f)
{
  herr_t    status;
  PetscBool failed;
  int       err;

  PetscFunctionBeginUser;
  DS_H5_CHECK(f, H5Pclose(f->dxpl), "close the transfer properties of", "the file");
  status = H5Fclose(f->id);
  f->dxpl = f->id = H5I_INVALID_HID;
  PetscCall(ds_h5_agree(f->comm, (PetscBool)(status >= 0), &failed, &err));
  /* A close that failed anywhere may have left the EOA of an earlier flush on disk. */
  PetscCall(release_room(f, (PetscBool)!failed));
  PetscCall(raise_agreed(f, failed, err, "close", "the file"));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_group_create(const DSH5File *f, const char *path)
{
  hid_t group;

  PetscFunctionBeginUser;
  group = H5Gcreate2(f->id, path, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  DS_H5_CHECK(f, group, "create group", path);
  DS_H5_CHECK(f, H5Gclose(group), "close group", path);
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_dataset_create(const DSH5File *f, const char *path, hid_t type, int ndims, const hsize_t dims[], const hsize_t chunk[], DSH5Dataset *ds)
{
  hsize_t current[DS_H5_MAX_RANK], maximum[DS_H5_MAX_RANK];
  hid_t   space, dcpl;

  PetscFunctionBeginUser;
  PetscCheck(ndims >= 1 && ndims <= DS_H5_MAX_RANK, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "%s: %s would have rank %d", f->path, path, ndims);
  for (int k = 0; k < ndims; k++) current[k] = maximum[k] = dims[k];
  if (chunk) {
    current[0] = 0;
    maximum[0] = H5S_UNLIMITED;
  }
  space = H5Screate_simple(ndims, current, maximum);
  DS_H5_CHECK(f, space, "create the dataspace of", path);
  dcpl = H5Pcreate(H5P_DATASET_CREATE);
  DS_H5_CHECK(f, dcpl, "create the creation properties of", path);
  if (chunk) DS_H5_CHECK(f, H5Pset_chunk(dcpl, ndims, chunk), "set the chunk shape of", path);
  DS_H5_CHECK(f, H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER), "set the fill time of", path);
  ds->id = H5Dcreate2(f->id, path, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  DS_H5_CHECK(f, ds->id, "create dataset", path);
  PetscCall(PetscStrallocpy(path, &ds->path));
  DS_H5_CHECK(f, H5Pclose(dcpl), "close the creation properties of", path);
  DS_H5_CHECK(f, H5Sclose(space), "close the dataspace of", path);
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_dataset_open(const DSH5File *f, const char *path, DSH5Dataset *ds)
{
  PetscFunctionBeginUser;
  ds->id = H5Dopen2(f->id, path, H5P_DEFAULT);
  DS_H5_CHECK(f, ds->id, "open dataset", path);
  PetscCall(PetscStrallocpy(path, &ds->path));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_dataset_close(const DSH5File *f, DSH5Dataset *ds)
{
  PetscFunctionBeginUser;
  DS_H5_CHECK(f, H5Dclose(ds->id), "close dataset", ds->path);
  PetscCall(PetscFree(ds->path));
  ds->id = H5I_INVALID_HID;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_dataset_shape(const DSH5File *f, const DSH5Dataset *ds, int *ndims, hsize_t dims[DS_H5_MAX_RANK])
{
  hid_t space;

  PetscFunctionBeginUser;
  space = H5Dget_space(ds->id);
  DS_H5_CHECK(f, space, "get the dataspace of", ds->path);
  *ndims = H5Sget_simple_extent_ndims(space);
  DS_H5_CHECK(f, *ndims, "get the rank of", ds->path);
  PetscCheck(*ndims >= 1 && *ndims <= DS_H5_MAX_RANK, f->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has rank %d", f->path, ds->path, *ndims);
  DS_H5_CHECK(f, H5Sget_simple_extent_dims(space, dims, NULL), "get the shape of", ds->path);
  DS_H5_CHECK(f, H5Sclose(space), "close the dataspace of", ds->path);
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_block_spaces(hid_t dset, const hsize_t start[], const hsize_t count[], hid_t *filespace, hid_t *memspace)
{
  const hsize_t one   = 1;
  PetscBool     empty = PETSC_FALSE;
  int           ndims, ok;

  PetscFunctionBeginUser;
  *memspace  = H5I_INVALID_HID;
  *filespace = H5Dget_space(dset);
  ndims      = *filespace >= 0 ? H5Sget_simple_extent_ndims(*filespace) : -1;
  for (int k = 0; k < ndims; k++) empty = (PetscBool)(empty || count[k] == 0);
  if (ndims < 0) ok = 0;
  else if (empty) {
    *memspace = H5Screate_simple(1, &one, NULL);
    ok        = H5Sselect_none(*filespace) >= 0 && *memspace >= 0 && H5Sselect_none(*memspace) >= 0;
  } else {
    *memspace = H5Screate_simple(ndims, count, NULL);
    ok        = H5Sselect_hyperslab(*filespace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 && *memspace >= 0;
  }
  if (!ok) {
    if (*memspace >= 0) H5Sclose(*memspace);
    if (*filespace >= 0) H5Sclose(*filespace);
    *memspace = *filespace = H5I_INVALID_HID;
  }
  PetscFunctionReturn(0);
}

/* Writes `in` (write) or reads `out` (!write), this rank's block of `ds`, in one collective
   transfer; a rank with an empty block may pass NULL. */
static PetscErrorCode transfer_block(const DSH5File *f, const DSH5Dataset *ds, hid_t memtype, const hsize_t start[], const hsize_t count[], PetscBool write, const void *in, void *out)
{
  hid_t filespace, memspace;

  PetscFunctionBeginUser;
  PetscCall(ds_h5_block_spaces(ds->id, start, count, &filespace, &memspace));
  DS_H5_CHECK(f, memspace, "select a block of", ds->path);
  if (write) DS_H5_CHECK(f, H5Dwrite(ds->id, memtype, memspace, filespace, f->dxpl, in), "write", ds->path);
  else DS_H5_CHECK(f, H5Dread(ds->id, memtype, memspace, filespace, f->dxpl, out), "read", ds->path);
  DS_H5_CHECK(f, H5Sclose(memspace), "close the memory dataspace of", ds->path);
  DS_H5_CHECK(f, H5Sclose(filespace), "close the dataspace of", ds->path);
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_write_block(const DSH5File *f, const DSH5Dataset *ds, hid_t memtype, const hsize_t start[], const hsize_t count[], const void *buf)
{
  PetscFunctionBeginUser;
  PetscCall(transfer_block(f, ds, memtype, start, count, PETSC_TRUE, buf, NULL));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_read_block(const DSH5File *f, const DSH5Dataset *ds, hid_t memtype, const hsize_t start[], const hsize_t count[], void *buf)
{
  PetscFunctionBeginUser;
  PetscCall(transfer_block(f, ds, memtype, start, count, PETSC_FALSE, NULL, buf));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_append_row(const DSH5File *f, const DSH5Dataset *ds, hid_t memtype, const hsize_t start[], const hsize_t count[], const void *buf)
{
  hsize_t dims[DS_H5_MAX_RANK], offset[DS_H5_MAX_RANK];
  int     ndims;

  PetscFunctionBeginUser;
  PetscCall(ds_h5_dataset_shape(f, ds, &ndims, dims));
  dims[0]++;
  DS_H5_CHECK(f, H5Dset_extent(ds->id, dims), "extend", ds->path);
  for (int k = 0; k < ndims; k++) offset[k] = start[k];
  offset[0] = dims[0] - 1;
  PetscCall(ds_h5_write_block(f, ds, memtype, offset, count, buf));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_dataset_rows(const DSH5File *f, const DSH5Dataset *ds, PetscInt *rows)
{
  hsize_t dims[DS_H5_MAX_RANK];
  int     ndims;

  PetscFunctionBeginUser;
  *rows = 0;
  PetscCall(ds_h5_dataset_shape(f, ds, &ndims, dims));
  *rows = (PetscInt)dims[0];
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_cut_rows(const DSH5File *f, const DSH5Dataset *ds, PetscInt rows)
{
  hsize_t dims[DS_H5_MAX_RANK];
  int     ndims;

  PetscFunctionBeginUser;
  PetscCall(ds_h5_dataset_shape(f, ds, &ndims, dims));
  dims[0] = (hsize_t)rows;
  DS_H5_CHECK(f, H5Dset_extent(ds->id, dims), "cut", ds->path);
  PetscFunctionReturn(0);
}

/* Overwrites the attribute `name` of the object at `object` with `value` (as memtype) in
   place when it exists and is stored as `filetype` (*done); deletes one of another type.
   (H5Awrite on an attribute opened by H5Aopen_by_name fails in HDF5 1.10: "can't locate
   open attribute", so the object is opened first.) */
static PetscErrorCode attribute_overwrite(const DSH5File *f, const char *object, const char *name, hid_t filetype, hid_t memtype, const void *value, PetscBool *done)
{
  hid_t  obj, attr, type;
  htri_t exists, same;

  PetscFunctionBeginUser;
  *done  = PETSC_FALSE;
  exists = H5Aexists_by_name(f->id, object, name, H5P_DEFAULT);
  DS_H5_CHECK(f, exists, "look for attribute", name);
  if (!exists) PetscFunctionReturn(0);
  obj = H5Oopen(f->id, object, H5P_DEFAULT);
  DS_H5_CHECK(f, obj, "open the object of attribute", name);
  attr = H5Aopen(obj, name, H5P_DEFAULT);
  DS_H5_CHECK(f, attr, "open attribute", name);
  type = H5Aget_type(attr);
  DS_H5_CHECK(f, type, "get the type of attribute", name);
  same = H5Tequal(type, filetype);
  DS_H5_CHECK(f, same, "compare the type of attribute", name);
  DS_H5_CHECK(f, H5Tclose(type), "close the type of attribute", name);
  if (same) DS_H5_CHECK(f, H5Awrite(attr, memtype, value), "write attribute", name);
  DS_H5_CHECK(f, H5Aclose(attr), "close attribute", name);
  if (!same) DS_H5_CHECK(f, H5Adelete(obj, name), "replace attribute", name);
  DS_H5_CHECK(f, H5Oclose(obj), "close the object of attribute", name);
  *done = (PetscBool)(same > 0);
  PetscFunctionReturn(0);
}

/* Writes the scalar attribute `name` of the object at `object`: stored as `filetype`, read
   from `value` as `memtype`. An existing attribute of that name and type is overwritten in
   place (one object header block rewritten at the next flush: a row count updated so
   stays consistent under a kill); one of another type is replaced. */
static PetscErrorCode attribute_write(const DSH5File *f, const char *object, const char *name, hid_t filetype, hid_t memtype, const void *value)
{
  hid_t     space, attr;
  herr_t    status;
  PetscBool done;

  PetscFunctionBeginUser;
  PetscCall(attribute_overwrite(f, object, name, filetype, memtype, value, &done));
  if (done) PetscFunctionReturn(0);
  space = H5Screate(H5S_SCALAR);
  DS_H5_CHECK(f, space, "create the dataspace of attribute", name);
  attr = H5Acreate_by_name(f->id, object, name, filetype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  DS_H5_CHECK(f, attr, "create attribute", name);
  status = H5Awrite(attr, memtype, value);
  DS_H5_CHECK(f, status, "write attribute", name);
  DS_H5_CHECK(f, H5Aclose(attr), "close attribute", name);
  DS_H5_CHECK(f, H5Sclose(space), "close the dataspace of attribute", name);
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_attribute_write_int(const DSH5File *f, const char *object, const char *name, PetscInt value)
{
  PetscFunctionBeginUser;
  PetscCall(attribute_write(f, object, name, H5T_STD_I64LE, DS_H5_INT, &value));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_attribute_write_real(const DSH5File *f, const char *object, const char *name, PetscReal value)
{
  PetscFunctionBeginUser;
  PetscCall(attribute_write(f, object, name, H5T_IEEE_F64LE, DS_H5_REAL, &value));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_attribute_write_string(const DSH5File *f, const char *object, const char *name, const char *value)
{
  hid_t  type;
  size_t len;

  PetscFunctionBeginUser;
  PetscCall(PetscStrlen(value, &len));
  type = H5Tcopy(H5T_C_S1);
  DS_H5_CHECK(f, type, "create the string type of attribute", name);
  DS_H5_CHECK(f, H5Tset_size(type, len + 1), "size the string type of attribute", name);
  DS_H5_CHECK(f, H5Tset_strpad(type, H5T_STR_NULLTERM), "set the padding of attribute", name);
  PetscCall(attribute_write(f, object, name, type, type, value));
  DS_H5_CHECK(f, H5Tclose(type), "close the string type of attribute", name);
  PetscFunctionReturn(0);
}

/* Opens the attribute `name` of the object at `object` when it exists (*attr
   H5I_INVALID_HID otherwise). */
static PetscErrorCode attribute_open(const DSH5File *f, const char *object, const char *name, hid_t *attr)
{
  htri_t exists;

  PetscFunctionBeginUser;
  *attr  = H5I_INVALID_HID;
  exists = H5Aexists_by_name(f->id, object, name, H5P_DEFAULT);
  DS_H5_CHECK(f, exists, "look for attribute", name);
  if (!exists) PetscFunctionReturn(0);
  *attr = H5Aopen_by_name(f->id, object, name, H5P_DEFAULT, H5P_DEFAULT);
  DS_H5_CHECK(f, *attr, "open attribute", name);
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_attribute_read_int(const DSH5File *f, const char *object, const char *name, PetscInt *value, PetscBool *found)
{
  hid_t attr;

  PetscFunctionBeginUser;
  PetscCall(attribute_open(f, object, name, &attr));
  *found = attr >= 0 ? PETSC_TRUE : PETSC_FALSE;
  if (!*found) PetscFunctionReturn(0);
  DS_H5_CHECK(f, H5Aread(attr, DS_H5_INT, value), "read attribute", name);
  DS_H5_CHECK(f, H5Aclose(attr), "close attribute", name);
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_attribute_read_string(const DSH5File *f, const char *name, char **text)
{
  hid_t  attr, type;
  size_t len;

  PetscFunctionBeginUser;
  *text = NULL;
  PetscCall(attribute_open(f, "/", name, &attr));
  if (attr < 0) PetscFunctionReturn(0);
  type = H5Aget_type(attr);
  DS_H5_CHECK(f, type, "get the type of attribute", name);
  PetscCheck(H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) == 0, f->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute %s is not a fixed-length string", f->path, name);
  len = H5Tget_size(type);
  PetscCall(PetscCalloc1(len + 1, text));
  DS_H5_CHECK(f, H5Aread(attr, type, *text), "read attribute", name);
  DS_H5_CHECK(f, H5Tclose(type), "close the type of attribute", name);
  DS_H5_CHECK(f, H5Aclose(attr), "close attribute", name);
  PetscFunctionReturn(0);
}
