/* The HDF5 helpers of driftsim's output, input and checkpoints: checked calls that turn a
   negative HDF5 return into a PETSc error naming the file, one way to silence HDF5's own
   error printing, PETSc's real and integer types as HDF5 memory types, datasets written and
   read collectively by blocks and rows, attributes, and one probe of what a path holds. */
#ifndef DS_H5UTIL_H
#define DS_H5UTIL_H

#include <petscsys.h>
#include <hdf5.h>

/* HDF5 memory types of PetscReal and PetscInt; driftsim's files always store float64 and
   int64. */
#if defined(PETSC_USE_COMPLEX)
  #error "driftsim's HDF5 files need a real PETSc build"
#elif defined(PETSC_USE_REAL_SINGLE)
  #define DS_H5_REAL H5T_NATIVE_FLOAT
#elif defined(PETSC_USE_REAL_DOUBLE)
  #define DS_H5_REAL H5T_NATIVE_DOUBLE
#else
  #error "driftsim's HDF5 files need PetscReal to be float or double"
#endif
#if defined(PETSC_USE_64BIT_INDICES)
  #define DS_H5_INT H5T_NATIVE_INT64
#else
  #define DS_H5_INT H5T_NATIVE_INT
#endif

#define DS_H5_MAX_RANK 3 /* [T][N][d] is the largest dataset rank driftsim writes */

/* The room kept ahead of a file open for writing (see ds_h5_file_reserve). */
typedef struct {
  int       fd;       /* rank 0: the file, to extend it; -1 on the other ranks */
  hsize_t   bound;    /* rank 0: an upper bound of HDF5's end of allocation (EOA) */
  hsize_t   reserved; /* the length the file was made (rank 0) and checked against (all) */
  PetscBool stopped;  /* a failure was agreed: nothing more is reserved */
} DSH5Room;

/* A file open on every rank of comm through MPI-IO; path names it in error messages. */
typedef struct {
  MPI_Comm    comm;
  PetscMPIInt rank;
  char        path[PETSC_MAX_PATH_LEN];
  hid_t       id;   /* the file, H5I_INVALID_HID while none is open */
  hid_t       dxpl; /* collective transfers */
  DSH5Room   *room; /* NULL while no file is open */
} DSH5File;

/* An open dataset and its full path (for error messages). */
typedef struct {
  hid_t id;
  char *path;
} DSH5Dataset;

/* Every rank of comm says whether its last step of a collective transfer succeeded; when any
   failed, *failed is true on every rank, *err is the system error (errno) of the lowest
   failing rank when it explains a failed write (no space, quota, file too large, I/O error,
   read-only file system; 0 otherwise), and ds_h5_failure_agreed() becomes true. No rank
   goes on to the next collective call alone. Collective. */
PETSC_EXTERN PetscErrorCode ds_h5_agree(MPI_Comm comm, PetscBool ok, PetscBool *failed, int *err);

/* Begins a watched stretch of HDF5 calls (nested stretches are one): should it last
   longer than DRIFTSIM_IO_TIMEOUT seconds (300), the process prints one "driftsim: error:"
   line and exits with 1, and mpiexec ends the other ranks. HDF5 1.10 does not agree on a
   failure inside one of its collective calls: a rank whose write failed there (an I/O
   error the room reserved by ds_h5_file_reserve cannot rule out) goes on to another
   collective than the others, and every rank waits for ever. Local (SIGALRM). */
PETSC_EXTERN PetscErrorCode ds_h5_watch_begin(void);

/* Watches the rest of the process, silently: after a reported failure that left an HDF5
   file open (its close failed), HDF5 closes it again in MPI_Finalize, collectively, and
   may wait there for ever; the process then exits with 1 after DRIFTSIM_IO_TIMEOUT
   seconds. Local. */
PETSC_EXTERN PetscErrorCode ds_h5_watch_rest(void);

/* Ends the stretch begun by the matching ds_h5_watch_begin. Local. */
PETSC_EXTERN PetscErrorCode ds_h5_watch_end(void);

/* True once ds_h5_agree saw a failure: the error being raised is the same on every rank and
   already explains itself, so main reports it once, without a traceback. Local. */
PETSC_EXTERN PetscBool ds_h5_failure_agreed(void);

/* Agrees (ds_h5_agree) on the status of an HDF5 call made by every rank of f's communicator
   and raises PETSC_ERR_FILE_WRITE on every rank, "<file>: HDF5 could not <action> <object>
   (<system error>)", when the call failed on any rank. After a failure nothing more is
   reserved for the file (ds_h5_file_reserve). Collective. */
PETSC_EXTERN PetscErrorCode ds_h5_check(const DSH5File *f, PetscBool ok, const char *action, const char *object);

/* ds_h5_check on an HDF5 call's negative id or status. Collective. */
#define DS_H5_CHECK(f, status, action, object) PetscCall(ds_h5_check((f), (PetscBool)((status) >= 0), (action), (object)))

/* HDF5's error printing as it was before ds_h5_quiet_begin, and the log event it began. */
typedef struct {
  H5E_auto2_t   func;
  void         *data;
  PetscLogEvent event;
} DSH5Quiet;

#define DS_H5_UNLOGGED ((PetscLogEvent)-1) /* no log event around a quiet call */

/* Switches HDF5's automatic error printing off (its failures surface as PETSc errors
   instead), begins `event` unless it is DS_H5_UNLOGGED, and watches the calls until
   ds_h5_quiet_end (ds_h5_watch_begin). Local. */
PETSC_EXTERN PetscErrorCode ds_h5_quiet_begin(PetscLogEvent event, DSH5Quiet *quiet);

/* Ends the event and restores the error printing saved by ds_h5_quiet_begin. Local. */
PETSC_EXTERN PetscErrorCode ds_h5_quiet_end(const DSH5Quiet *quiet);

/* Runs `call` (a PetscErrorCode expression) with HDF5's error printing off and inside
   `event` (or DS_H5_UNLOGGED), restoring both afterwards, and stores its result in `ierr`
   (a PetscErrorCode variable) for the caller to add context to. The one way driftsim
   silences HDF5. */
#define DS_H5_QUIETLY_STATUS(event, call, ierr) \
  do { \
    DSH5Quiet quiet_; \
    PetscCall(ds_h5_quiet_begin(event, &quiet_)); \
    (ierr) = (call); \
    PetscCall(ds_h5_quiet_end(&quiet_)); \
  } while (0)

/* DS_H5_QUIETLY_STATUS raising the error of `call` as it is. */
#define DS_H5_QUIETLY(event, call) \
  do { \
    PetscErrorCode ierr_; \
    DS_H5_QUIETLY_STATUS(event, call, ierr_); \
    PetscCall(ierr_); \
  } while (0)

/* What a path holds, as rank 0 sees it. */
typedef enum {
  DS_H5_FILE_HDF5,         /* a readable HDF5 file */
  DS_H5_FILE_MISSING,      /* nothing (or a path through something that is not a directory) */
  DS_H5_FILE_INACCESSIBLE, /* stat failed otherwise; errno in err */
  DS_H5_FILE_DIRECTORY,    /* a directory */
  DS_H5_FILE_UNREADABLE,   /* not readable; errno in err */
  DS_H5_FILE_UNOPENABLE,   /* HDF5 cannot tell whether it is HDF5 */
  DS_H5_FILE_NOT_HDF5      /* readable, and not HDF5 */
} DSH5FileKind;

typedef struct {
  DSH5FileKind kind;
  int          err; /* errno for DS_H5_FILE_INACCESSIBLE and DS_H5_FILE_UNREADABLE, else 0 */
} DSH5Probe;

/* Rank 0 looks at `path` (stat, read access, H5Fis_hdf5 with HDF5's error printing off)
   and every rank gets its verdict. Collective; creates and opens nothing. */
PETSC_EXTERN PetscErrorCode ds_h5_probe(MPI_Comm comm, const char *path, DSH5Probe *probe);

/* With `create`, creates the file `path` on every rank of comm (replacing an old one) in
   HDF5's 1.8 format, which stores attributes over 64 KiB (a long options text) densely and
   which every HDF5 since 1.8 reads; without, opens the existing file `path` read-write the
   same way. Sets up collective transfers, and reserves room for the first 256 KiB
   (ds_h5_file_reserve; the caller reserves for what it writes next). Collective. */
PETSC_EXTERN PetscErrorCode ds_h5_file_open(MPI_Comm comm, const char *path, PetscBool create, DSH5File *f);

/* 0 when this process may write a file of `bytes` bytes, EFBIG when its file size limit
   (RLIMIT_FSIZE, `ulimit -f`) forbids it. Each rank has its own limit, so each must ask
   before a collective write that could go beyond it. Local. */
PETSC_EXTERN int ds_h5_size_allowed(hsize_t bytes);

/* Before HDF5 calls that together allocate at most `bytes` in the open file f: makes the
   file at least as long on disk as HDF5's end of allocation (EOA) can then be. HDF5 with
   MPI-IO cannot tell its EOA (H5Fget_eoa needs a SWMR driver), so rank 0 keeps an upper
   bound: the file's length after the last flush (which cuts the file to the EOA whenever
   the EOA changed) plus what was reserved since. Every rank checks the length against its
   own file size limit (ds_h5_size_allowed) and rank 0 reserves the space (fallocate,
   else only extends the file); the outcome is agreed, and a failure raised on every rank
   like a failed HDF5 call (ds_h5_check). This way (1) the EOA HDF5 writes into the
   superblock never lies beyond the file's end, even when a job is killed inside a flush
   (HDF5 writes the superblock before it extends the file to the EOA, and rank 0 may write
   it before another rank's raw data), and (2) a full disk, a quota or a file size limit
   on any one rank is met here, before the calls, never by a write inside a collective
   HDF5 call, where HDF5 1.10 does not agree on failures and the other ranks would wait for
   ever. Collective. */
PETSC_EXTERN PetscErrorCode ds_h5_file_reserve(const DSH5File *f, hsize_t bytes);

/* Flushes everything written to the file so far. Collective. */
PETSC_EXTERN PetscErrorCode ds_h5_file_flush(const DSH5File *f);

/* Closes the file and its transfer properties; the room beyond the end of allocation is
   given back (rank 0 cuts the closed file to the EOA it stored). Collective. */
PETSC_EXTERN PetscErrorCode ds_h5_file_close(DSH5File *f);

/* Creates the group at `path`. Collective. */
PETSC_EXTERN PetscErrorCode ds_h5_group_create(const DSH5File *f, const char *path);

/* Creates the dataset at `path` of file type `type` and shape `dims` (ndims <=
   DS_H5_MAX_RANK). With `chunk`, it is extendable along its first dimension (created with
   length 0, dims[0] ignored) and chunked as `chunk`; without, it has the fixed shape `dims`
   and contiguous storage. Fill values are never written: every element is written before
   it is read. Collective. */
PETSC_EXTERN PetscErrorCode ds_h5_dataset_create(const DSH5File *f, const char *path, hid_t type, int ndims, const hsize_t dims[], const hsize_t chunk[], DSH5Dataset *ds);

/* Opens the existing dataset at `path`. Collective. */
PETSC_EXTERN PetscErrorCode ds_h5_dataset_open(const DSH5File *f, const char *path, DSH5Dataset *ds);

/* Closes a dataset opened by ds_h5_dataset_create or ds_h5_dataset_open. Collective. */
PETSC_EXTERN PetscErrorCode ds_h5_dataset_close(const DSH5File *f, DSH5Dataset *ds);

/* The rank (1 to DS_H5_MAX_RANK, otherwise an error) and shape of a dataset. */
PETSC_EXTERN PetscErrorCode ds_h5_dataset_shape(const DSH5File *f, const DSH5Dataset *ds, int *ndims, hsize_t dims[DS_H5_MAX_RANK]);

/* The dataspaces of a transfer of this rank's block [start, start + count) of the open
   dataset `dset`: the dataset's space with the block selected, and a memory space of shape
   count. A zero anywhere in count selects nothing in either, so a rank without a block
   still takes part in a collective transfer. Local. On an HDF5 failure both are
   H5I_INVALID_HID and nothing is left open, for the caller to report; close both after
   the transfer. */
PETSC_EXTERN PetscErrorCode ds_h5_block_spaces(hid_t dset, const hsize_t start[], const hsize_t count[], hid_t *filespace, hid_t *memspace);

/* Writes this rank's block [start, start + count) of `ds` from the contiguous buffer `buf`
   of memory type `memtype`, in one collective transfer (see ds_h5_block_spaces). */
PETSC_EXTERN PetscErrorCode ds_h5_write_block(const DSH5File *f, const DSH5Dataset *ds, hid_t memtype, const hsize_t start[], const hsize_t count[], const void *buf);

/* Reads this rank's block [start, start + count) of `ds` into `buf` as `memtype`, in one
   collective transfer. */
PETSC_EXTERN PetscErrorCode ds_h5_read_block(const DSH5File *f, const DSH5Dataset *ds, hid_t memtype, const hsize_t start[], const hsize_t count[], void *buf);

/* Grows the extendable dataset `ds` by one row along its first dimension and writes this
   rank's part of the new row: the block at start[1..] of extent count[1..], with count[0]
   1 (or a zero anywhere in count for no part; start[0] is ignored). Collective, as
   H5Dset_extent must be called by every rank. */
PETSC_EXTERN PetscErrorCode ds_h5_append_row(const DSH5File *f, const DSH5Dataset *ds, hid_t memtype, const hsize_t start[], const hsize_t count[], const void *buf);

/* Rows of `ds` along its first dimension. */
PETSC_EXTERN PetscErrorCode ds_h5_dataset_rows(const DSH5File *f, const DSH5Dataset *ds, PetscInt *rows);

/* Cuts the extendable dataset `ds` to its first `rows` rows. Collective. */
PETSC_EXTERN PetscErrorCode ds_h5_cut_rows(const DSH5File *f, const DSH5Dataset *ds, PetscInt rows);

/* Writes the scalar attribute `name` of the object at `object` as int64; an existing int64
   attribute of that name is overwritten in place, which a job killed at any moment leaves
   either old or new. Collective: every rank passes the same value. */
PETSC_EXTERN PetscErrorCode ds_h5_attribute_write_int(const DSH5File *f, const char *object, const char *name, PetscInt value);

/* Writes the scalar attribute `name` of the object at `object` as float64. Collective:
   every rank passes the same value. */
PETSC_EXTERN PetscErrorCode ds_h5_attribute_write_real(const DSH5File *f, const char *object, const char *name, PetscReal value);

/* Writes the scalar attribute `name` of the object at `object` as a null-terminated
   fixed-length string of its own size. Collective: every rank passes the same value. */
PETSC_EXTERN PetscErrorCode ds_h5_attribute_write_string(const DSH5File *f, const char *object, const char *name, const char *value);

/* Reads the attribute `name` (an integer) of the object at `object` into *value; *found
   tells whether it exists (*value is untouched when not). Collective. */
PETSC_EXTERN PetscErrorCode ds_h5_attribute_read_int(const DSH5File *f, const char *object, const char *name, PetscInt *value, PetscBool *found);

/* Reads the root attribute `name`, a fixed-length string, into *text (free with PetscFree;
   NULL when it does not exist). Another type is an error. */
PETSC_EXTERN PetscErrorCode ds_h5_attribute_read_string(const DSH5File *f, const char *name, char **text);

#endif
