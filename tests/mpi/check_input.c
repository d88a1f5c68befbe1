/* Tests of the HDF5 input (src/h5input.c) through its two users: file targets
   (ds_target_create) and file initial clouds (ds_init_resolve, ds_init_cloud). Rank 0
   writes small files under /tmp serially while the other ranks wait; then every rank reads
   them collectively. Values must come back bit for bit, partitioned and replicated, and
   every bad file must be refused with PETSC_ERR_USER_INPUT on every rank, with a message
   naming the file and the dataset, leaving no HDF5 object open. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <hdf5.h>
#include <petscvec.h>
#include "ds_init.h"
#include "ds_target.h"
#include "ds_test.h"

#define DIM       3
#define ROWS      37 /* rows of the files with bad values */
#define NAN_ROW   17 /* first bad row: a NaN, with an Inf further down */
#define INF_ROW   30
#define STR_BYTES 8  /* characters of each element of the string dataset */

/* Entry (i, k) of every table: irrational-looking doubles that use all their bits. */
static double cell(PetscInt i, PetscInt k) { return sin(1.0 + 7.0 * (double)i + (double)k) * 1000.0 / 3.0; }

/* The table [rows][DIM] of cell values (free with PetscFree). */
static PetscErrorCode make_table(PetscInt rows, double **values)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(PetscMax(rows * DIM, 1), values));
  for (PetscInt i = 0; i < rows; i++)
    for (PetscInt k = 0; k < DIM; k++) (*values)[i * DIM + k] = cell(i, k);
  PetscFunctionReturn(0);
}

/* Rank 0 writes the float64 table [rows][cols] of cell values as `name` in `path`. */
static PetscErrorCode write_table(const char *path, const char *name, PetscInt rows, PetscInt cols)
{
  const hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
  double       *values;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(PetscMax(rows * cols, 1), &values));
  for (PetscInt i = 0; i < rows; i++)
    for (PetscInt k = 0; k < cols; k++) values[i * cols + k] = cell(i, k);
  PetscCall(ds_test_write_dataset(path, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, dims, values));
  PetscCall(PetscFree(values));
  PetscFunctionReturn(0);
}

/* Options reading the target from `dataset` of `path` in dimension DIM (N = 1024, the default),
   validated as the program does. */
static DSOptions target_options(const char *path, const char *dataset, PetscBool replicate)
{
  DSOptions o = ds_test_options();

  o.dim            = DIM;
  o.seed           = 7;
  o.target         = DS_TARGET_FILE;
  o.target_samples = ds_target_default_samples(o.target, o.kernel, PETSC_FALSE, o.n); /* N, as the program leaves it: ignored */
  o.replicate_data = replicate;
  o.init_scale     = 1.0;
  snprintf(o.target_file, sizeof(o.target_file), "%s", path);
  snprintf(o.target_dataset, sizeof(o.target_dataset), "%s", dataset);
  ds_test_assert_valid(&o);
  return o;
}

/* Options reading the initial cloud from `dataset` of `path` in dimension DIM (N = 1024, the
   default of -drift_n, not given). */
static DSOptions init_options(const char *path, const char *dataset)
{
  DSOptions o = ds_test_options();

  o.dim  = DIM;
  o.seed = 7;
  o.init = DS_INIT_FILE;
  snprintf(o.init_file, sizeof(o.init_file), "%s", path);
  snprintf(o.init_dataset, sizeof(o.init_dataset), "%s", dataset);
  return o;
}

/* The initial cloud of the options on PETSC_COMM_WORLD, as a program run builds it:
   validate the options, resolve N, create the particles, fill them. X is NULL when it failed. */
static PetscErrorCode init_cloud(DSOptions *o, Vec *X)
{
  PetscFunctionBeginUser;
  *X = NULL;
  PetscCall(ds_options_validate(PETSC_COMM_WORLD, o));
  PetscCall(ds_init_resolve(PETSC_COMM_WORLD, o));
  PetscCall(ds_init_create_particles(PETSC_COMM_WORLD, o->n, o->dim, X));
  PetscCall(ds_init_cloud(o, *X));
  PetscFunctionReturn(0);
}

/* The row counts and distributions the reading tests run through. */
static const struct {
  PetscInt  rows;
  PetscBool replicated;
} layouts[] = {
  {37, PETSC_FALSE},
  {37, PETSC_TRUE },
  {3,  PETSC_FALSE},
  {3,  PETSC_TRUE },
};

/* A file target of N rows: no density, M = N, this rank's rows where the generated samples
   would be (PETSc's split) or all of them when replicated, equal to the file's bit for bit,
   and no HDF5 object left open. */
START_TEST(test_target_reads_rows)
{
  const PetscInt  rows = layouts[_i].rows;
  const PetscBool replicated = layouts[_i].replicated;
  char            path[PETSC_MAX_PATH_LEN];
  DSOptions       o;
  DSTarget       *t = NULL;
  double         *expected, *all;
  PetscInt        local = PETSC_DECIDE, global = rows, end;
  ssize_t         objects;

  DS_ASSERT_PETSC(ds_test_path("input", "target.h5", path, sizeof(path)));
  DS_ASSERT_PETSC(write_table(path, "/data/samples", rows, DIM));
  DS_ASSERT_PETSC(make_table(rows, &expected));
  o       = target_options(path, "/data/samples", replicated);
  objects = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  DS_ASSERT_PETSC(ds_target_create(PETSC_COMM_WORLD, &o, &t));
  DS_ASSERT_ALL(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) == objects, "reading the target left HDF5 objects open");
  DS_ASSERT_ALL(t->type == DS_TARGET_FILE && !t->mixture && !t->analytic && t->samples_global == rows && t->replicated == replicated, "file target of %d rows: type %d, mixture %d, analytic %d, M %d", (int)rows, (int)t->type, t->mixture != NULL, (int)t->analytic, (int)t->samples_global);
  if (replicated) local = end = rows;
  else {
    DS_ASSERT_PETSC(PetscSplitOwnership(PETSC_COMM_WORLD, &local, &global));
    DS_ASSERT_PETSC(MPI_Scan(&local, &end, 1, MPIU_INT, MPI_SUM, PETSC_COMM_WORLD));
  }
  DS_ASSERT_ALL(t->samples_local == local && t->samples_start == end - local, "rank %d holds rows [%d, %d), expected [%d, %d)", PetscGlobalRank, (int)t->samples_start, (int)(t->samples_start + t->samples_local), (int)(end - local), (int)end);
  DS_ASSERT_ALL(local == 0 || !memcmp(t->samples, &expected[(end - local) * DIM], sizeof(double) * local * DIM), "rank %d's samples differ from the file's rows", PetscGlobalRank);
  all = ds_test_gather_samples(t);
  DS_ASSERT_ALL(!memcmp(all, expected, sizeof(double) * rows * DIM), "the gathered samples differ from the file");
  DS_ASSERT_PETSC(PetscFree(all));
  DS_ASSERT_PETSC(PetscFree(expected));
  DS_ASSERT_PETSC(ds_target_destroy(&t));
  if (PetscGlobalRank == 0) unlink(path);
}
END_TEST

/* A file initial cloud of N rows: N becomes the row count (from -drift_n's default, or
   agreeing with a given -drift_n), each rank's particles equal its rows bit for bit, and no
   HDF5 object is left open. Other initial clouds keep -drift_n. */
START_TEST(test_init_reads_rows)
{
  const PetscInt rows = _i ? 3 : 37;
  char           path[PETSC_MAX_PATH_LEN];
  DSOptions      o, given, gaussian = init_options("", "");
  Vec            X;
  double        *expected;
  PetscInt       first, end;
  const double  *x;
  ssize_t        objects;

  DS_ASSERT_PETSC(ds_test_path("input", "init.h5", path, sizeof(path)));
  DS_ASSERT_PETSC(write_table(path, "cloud", rows, DIM));
  DS_ASSERT_PETSC(make_table(rows, &expected));
  o       = init_options(path, "cloud");
  objects = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  DS_ASSERT_PETSC(init_cloud(&o, &X));
  DS_ASSERT_ALL(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) == objects, "reading the cloud left HDF5 objects open");
  DS_ASSERT_ALL(o.n == rows, "N = %d after ds_init_resolve, the file has %d rows", (int)o.n, (int)rows);
  DS_ASSERT_PETSC(VecGetOwnershipRange(X, &first, &end));
  DS_ASSERT_PETSC(VecGetArrayRead(X, &x));
  DS_ASSERT_ALL(end == first || !memcmp(x, &expected[first], sizeof(double) * (size_t)(end - first)), "rank %d's particles differ from the file's rows", PetscGlobalRank);
  DS_ASSERT_PETSC(VecRestoreArrayRead(X, &x));
  DS_ASSERT_PETSC(VecDestroy(&X));

  given         = init_options(path, "cloud");
  given.n       = rows;
  given.n_given = PETSC_TRUE;
  DS_ASSERT_PETSC(ds_init_resolve(PETSC_COMM_WORLD, &given));
  DS_ASSERT_ALL(given.n == rows, "an agreeing -drift_n %d became %d", (int)rows, (int)given.n);
  gaussian.init = DS_INIT_GAUSSIAN;
  gaussian.n    = 5;
  DS_ASSERT_PETSC(ds_init_resolve(PETSC_COMM_WORLD, &gaussian));
  DS_ASSERT_ALL(gaussian.n == 5, "ds_init_resolve changed N of a gaussian cloud to %d", (int)gaussian.n);
  DS_ASSERT_PETSC(PetscFree(expected));
  if (PetscGlobalRank == 0) unlink(path);
}
END_TEST

/* The bad files, each with the dataset the options name and what the message must say. */
typedef enum { BAD_MISSING, BAD_TEXT, BAD_NO_DATASET, BAD_GROUP, BAD_FLAT, BAD_CUBE, BAD_COLUMNS, BAD_EMPTY, BAD_STRINGS, BAD_NAN, BAD_INF_LAST } Bad;
static const struct {
  const char *tag, *dataset, *says;
} bad_files[] = {
  [BAD_MISSING]    = {"missing", "/data", "the file does not exist"},
  [BAD_TEXT]       = {"text", "/data", "not an HDF5 file"},
  [BAD_NO_DATASET] = {"nodataset", "/nope", "no such dataset"},
  [BAD_GROUP]      = {"group", "/group", "not a dataset"},
  [BAD_FLAT]       = {"flat", "/data", "is 1-dimensional, expected a 2-D table [rows][3]"},
  [BAD_CUBE]       = {"cube", "/data", "is 3-dimensional, expected a 2-D table [rows][3]"},
  [BAD_COLUMNS]    = {"columns", "/data", "has rows of 2 numbers, but -drift_dim is 3"},
  [BAD_EMPTY]      = {"empty", "/data", "has no rows"},
  [BAD_STRINGS]    = {"strings", "/data", "does not hold numbers"},
  [BAD_NAN]        = {"nan", "/data", "row 17 (counting from 0) is not finite"},
  [BAD_INF_LAST]   = {"inf", "/data", "row 36 (counting from 0) is not finite"},
};

/* Rank 0 writes the bad file of kind `bad` to `path` (nothing for a missing file). */
static PetscErrorCode write_bad_file(Bad bad, const char *path)
{
  double *values;

  PetscFunctionBeginUser;
  if (PetscGlobalRank == 0) unlink(path);
  switch (bad) {
  case BAD_MISSING:
    break;
  case BAD_TEXT:
    if (PetscGlobalRank == 0) {
      FILE *f = fopen(path, "w");

      PetscCheck(f && fputs("x y z\n1 2 3\n", f) >= 0 && fclose(f) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s", path);
    }
    break;
  case BAD_NO_DATASET:
    PetscCall(write_table(path, "/data", ROWS, DIM));
    break;
  case BAD_GROUP:
    PetscCall(write_table(path, "/group/inside", ROWS, DIM));
    break;
  case BAD_FLAT:
    PetscCall(make_table(ROWS, &values));
    PetscCall(ds_test_write_dataset(path, "/data", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, (hsize_t[]){ROWS}, values));
    PetscCall(PetscFree(values));
    break;
  case BAD_CUBE:
    PetscCall(make_table(ROWS, &values));
    PetscCall(ds_test_write_dataset(path, "/data", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 3, (hsize_t[]){1, ROWS, DIM}, values));
    PetscCall(PetscFree(values));
    break;
  case BAD_COLUMNS:
    PetscCall(write_table(path, "/data", ROWS, 2));
    break;
  case BAD_EMPTY:
    PetscCall(ds_test_write_dataset(path, "/data", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, (hsize_t[]){0, DIM}, NULL));
    break;
  case BAD_STRINGS: {
    char  text[2 * DIM][STR_BYTES];
    hid_t type = H5Tcopy(H5T_C_S1);

    for (int k = 0; k < 2 * DIM; k++) snprintf(text[k], STR_BYTES, "v%d", k);
    PetscCheck(type >= 0 && H5Tset_size(type, STR_BYTES) >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "cannot make a string type");
    PetscCall(ds_test_write_dataset(path, "/data", type, type, 2, (hsize_t[]){2, DIM}, text));
    H5Tclose(type);
    break;
  }
  case BAD_NAN:
  case BAD_INF_LAST:
    PetscCall(make_table(ROWS, &values));
    if (bad == BAD_NAN) {
      values[NAN_ROW * DIM + 1] = NAN;
      values[INF_ROW * DIM]     = -INFINITY;
    } else values[(ROWS - 1) * DIM + 2] = INFINITY;
    PetscCall(ds_test_write_dataset(path, "/data", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, (hsize_t[]){ROWS, DIM}, values));
    PetscCall(PetscFree(values));
    break;
  }
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  PetscFunctionReturn(0);
}

/* True on every rank when ierr is PETSC_ERR_USER_INPUT and PETSc's message names the file
   and the dataset and contains `says`. */
static int refused(PetscErrorCode ierr, const char *what, const char *path, const char *dataset, const char *says)
{
  char *message = NULL;
  int   ok;

  if (ierr != PETSC_ERR_USER_INPUT) {
    fprintf(stderr, "%s of %s: error %d, expected PETSC_ERR_USER_INPUT\n", what, path, (int)ierr);
    return ds_test_all(0);
  }
  PetscErrorMessage(ierr, NULL, &message);
  ok = message && strstr(message, path) && strstr(message, dataset) && strstr(message, says);
  if (!ok) fprintf(stderr, "%s: message \"%s\" does not name %s and %s and say \"%s\"\n", what, message ? message : "", path, dataset, says);
  return ds_test_all(ok);
}

/* Every bad file is refused by the target (partitioned and replicated) and by the initial
   cloud, on every rank, with no target or Vec left and no HDF5 object open. */
START_TEST(test_bad_files_are_refused)
{
  const Bad bad = (Bad)_i;
  char      path[PETSC_MAX_PATH_LEN], tag[64];
  DSOptions o;
  DSTarget *t;
  Vec       X;
  ssize_t   objects;
  PetscErrorCode ierr;

  DS_ASSERT_PETSC(PetscSNPrintf(tag, sizeof(tag), "bad_%s.h5", bad_files[bad].tag));
  DS_ASSERT_PETSC(ds_test_path("input", tag, path, sizeof(path)));
  DS_ASSERT_PETSC(write_bad_file(bad, path));
  objects = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  for (int replicate = 0; replicate < 2; replicate++) {
    o = target_options(path, bad_files[bad].dataset, (PetscBool)replicate);
    t = NULL;
    DS_ASSERT_PETSC(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
    ierr = ds_target_create(PETSC_COMM_WORLD, &o, &t);
    DS_ASSERT_PETSC(PetscPopErrorHandler());
    DS_ASSERT_ALL(refused(ierr, "-drift_target file", path, bad_files[bad].dataset, bad_files[bad].says) && !t, "the %s target file (replicated %d) was not refused cleanly", bad_files[bad].tag, replicate);
  }
  o = init_options(path, bad_files[bad].dataset);
  DS_ASSERT_PETSC(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = init_cloud(&o, &X);
  DS_ASSERT_PETSC(PetscPopErrorHandler());
  DS_ASSERT_ALL(refused(ierr, "-drift_init file", path, bad_files[bad].dataset, bad_files[bad].says), "the %s initial cloud file was not refused cleanly", bad_files[bad].tag);
  DS_ASSERT_PETSC(VecDestroy(&X));
  DS_ASSERT_ALL(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) == objects, "refusing the %s file left HDF5 objects open", bad_files[bad].tag);
  if (PetscGlobalRank == 0) unlink(path);
}
END_TEST

/* A given -drift_n that disagrees with the file's rows is refused on every rank with the
   message "-drift_n 100 disagrees with the 37 rows of /x in FILE". */
START_TEST(test_disagreeing_n_is_refused)
{
  char           path[PETSC_MAX_PATH_LEN], says[2 * PETSC_MAX_PATH_LEN];
  DSOptions      o;
  PetscErrorCode ierr;

  DS_ASSERT_PETSC(ds_test_path("input", "count.h5", path, sizeof(path)));
  DS_ASSERT_PETSC(write_table(path, "/x", ROWS, DIM));
  o         = init_options(path, "/x");
  o.n       = 100;
  o.n_given = PETSC_TRUE;
  DS_ASSERT_PETSC(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = ds_init_resolve(PETSC_COMM_WORLD, &o);
  DS_ASSERT_PETSC(PetscPopErrorHandler());
  DS_ASSERT_PETSC(PetscSNPrintf(says, sizeof(says), "-drift_n 100 disagrees with the 37 rows of /x in %s", path));
  DS_ASSERT_ALL(refused(ierr, "-drift_n 100", path, "/x", says) && o.n == 100, "a disagreeing -drift_n was not refused cleanly");
  if (PetscGlobalRank == 0) unlink(path);
}
END_TEST

Suite *ds_suite_input(void)
{
  Suite *s  = suite_create("input");
  TCase *tc = tcase_create("hdf5");

  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, test_target_reads_rows, 0, (int)(sizeof(layouts) / sizeof(layouts[0])));
  tcase_add_loop_test(tc, test_init_reads_rows, 0, 2);
  tcase_add_loop_test(tc, test_bad_files_are_refused, 0, (int)(sizeof(bad_files) / sizeof(bad_files[0])));
  tcase_add_test(tc, test_disagreeing_n_is_refused);
  suite_add_tcase(s, tc);
  return s;
}
