/* Tests of the parallel HDF5 output (src/output.c, src/output_restart.c). Every rank writes its share collectively;
   rank 0 then reopens the file serially and compares each dataset and attribute with
   values it computes from formulas of the global indices, with no communication. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <hdf5.h>
#include <petscvec.h>
#include "ds_output.h"
#include "ds_version.h"
#include "ds_test.h"

#define DIM           2
#define SNAPSHOTS     3
#define DIAG_ROWS     2
#define COMPONENTS    2
#define SAMPLES       5
#define MARKER_OPTION "-ds_output_test_marker"
#define MARKER_VALUE  "output-marker-4711"
#define LONG_OPTION   70000 /* characters of an option value longer than a compact attribute */

/* The values every test writes and rank 0 expects, from global indices alone. */

/* The bandwidth recorded by every test file: a fixed h0 = 0.125. */
static const DSBandwidth bandwidth = {DS_BANDWIDTH_FIXED, 0.125, 0.0, 0.0};
static double position_value(PetscInt t, PetscInt i, PetscInt k) { return 100.0 * t + 10.0 * i + k; }
static double velocity_value(PetscInt t, PetscInt i, PetscInt k) { return 0.5 - (1000.0 * t + 10.0 * i + k); }
static double sample_value(PetscInt j, PetscInt k) { return 1000.0 + 10.0 * j + k; }
static double weight_value(PetscInt c) { return c ? 0.75 : 0.25; }
static double mean_value(PetscInt c, PetscInt k) { return 3.0 * c - k; }
static double covariance_value(PetscInt c, PetscInt a, PetscInt b) { return a == b ? 1.0 + c : 0.1 * (c + 1); }
static PetscInt snapshot_step(PetscInt t) { return 5 * t; }
static double snapshot_time(PetscInt t) { return 0.25 * t; }
static PetscInt diag_step(PetscInt r) { return 10 * r + 1; }
static double diag_time(PetscInt r) { return 0.5 * r; }
static double diag_value(PetscInt r, PetscInt k) { return k ? 0.125 - 2.0 * r : 1.5 + r; }
static const char *const diag_names[] = {"rms_velocity", "mmd2"};

/* Distributions the write test runs through: particle count, whether the last rank owns
   every particle and rank 0 every sample (all other ranks own none), and whether the
   samples are replicated on every rank. */
static const struct {
  PetscInt  n;
  PetscBool lumped, replicated;
} configs[] = {
  {7, PETSC_FALSE, PETSC_FALSE},
  {3, PETSC_FALSE, PETSC_TRUE },
  {7, PETSC_TRUE,  PETSC_FALSE},
  {3, PETSC_FALSE, PETSC_FALSE},
};

/* The XDMF sidecar of the output `path`: the path without .h5, plus .xmf. */
static void sidecar_of(const char *path, char xmf[], size_t len)
{
  const size_t plen = strlen(path);

  snprintf(xmf, len, "%.*s.xmf", (int)(plen > 3 && !strcmp(path + plen - 3, ".h5") ? plen - 3 : plen), path);
}

/* Rank 0 removes the output `path` and its sidecar. */
static void remove_output(const char *path)
{
  char xmf[PETSC_MAX_PATH_LEN];

  sidecar_of(path, xmf, sizeof(xmf));
  unlink(path);
  unlink(xmf);
}

/* Rank 0 writes `text` to `path` (replacing it); every rank waits for it. */
static PetscErrorCode write_text_file(const char *path, const char *text)
{
  PetscFunctionBeginUser;
  if (PetscGlobalRank == 0) {
    FILE *f = fopen(path, "w");

    PetscCheck(f && fputs(text, f) >= 0 && fclose(f) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s", path);
  }
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  PetscFunctionReturn(0);
}

/* Copies the file `from` to `to` byte for byte (serial). */
static int copy_file(const char *from, const char *to)
{
  FILE  *in = fopen(from, "rb"), *out = fopen(to, "wb");
  char   buf[65536];
  size_t got;
  int    ok = in && out;

  while (ok && (got = fread(buf, 1, sizeof(buf), in)) > 0) ok = fwrite(buf, 1, got, out) == got;
  ok = ok && !ferror(in);
  if (in) fclose(in);
  if (out) ok = fclose(out) == 0 && ok;
  return ok;
}

/* Gives rank 0's verdict to every rank. */
static PetscErrorCode share_verdict(int *ok)
{
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Bcast(ok, 1, MPI_INT, 0, PETSC_COMM_WORLD));
  PetscFunctionReturn(0);
}

/* Options of a small run, writing to `path`. */
static void fill_options(PetscInt n, PetscInt dim, const char *path, DSOptions *opts)
{
  memset(opts, 0, sizeof(*opts));
  opts->n              = n;
  opts->dim            = dim;
  opts->seed           = 42;
  opts->field          = DS_FIELD_DISPLACEMENT;
  opts->kernel         = DS_KERNEL_LAPLACE;
  opts->imq_beta       = 0.5;
  opts->self           = DS_SELF_EXCLUDE;
  opts->target         = DS_TARGET_GMM8;
  opts->target_samples = SAMPLES;
  opts->target_scale   = 2.0;
  opts->init           = DS_INIT_UNIFORM;
  opts->init_scale     = 3.0;
  snprintf(opts->output, sizeof(opts->output), "%s", path);
}

/* A mixture target of COMPONENTS components in dimension `dim`, with `samples` samples
   split over the ranks (all on rank 0 when lumped, on every rank when replicated). */
static PetscErrorCode make_target(PetscInt dim, PetscInt samples, PetscBool lumped, PetscBool replicated, DSTarget *t)
{
  PetscInt local = PETSC_DECIDE, end;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(t, sizeof(*t)));
  t->type       = DS_TARGET_GMM8;
  t->dim        = dim;
  t->components = COMPONENTS;
  PetscCall(PetscMalloc3(COMPONENTS, &t->weights, COMPONENTS * dim, &t->means, COMPONENTS * dim * dim, &t->covariances));
  for (PetscInt c = 0; c < COMPONENTS; c++) {
    t->weights[c] = weight_value(c);
    for (PetscInt a = 0; a < dim; a++) {
      t->means[c * dim + a] = mean_value(c, a);
      for (PetscInt b = 0; b < dim; b++) t->covariances[(c * dim + a) * dim + b] = covariance_value(c, a, b);
    }
  }
  t->samples_global = samples;
  t->replicated     = replicated;
  if (replicated) local = samples;
  else if (lumped) local = PetscGlobalRank == 0 ? samples : 0;
  else PetscCall(PetscSplitOwnership(PETSC_COMM_WORLD, &local, &samples));
  if (replicated) end = local;
  else PetscCallMPI(MPI_Scan(&local, &end, 1, MPIU_INT, MPI_SUM, PETSC_COMM_WORLD));
  t->samples_local = local;
  t->samples_start = end - local;
  PetscCall(PetscMalloc1(local * dim, &t->samples));
  for (PetscInt j = 0; j < local; j++)
    for (PetscInt k = 0; k < dim; k++) t->samples[j * dim + k] = sample_value(t->samples_start + j, k);
  PetscFunctionReturn(0);
}

/* Frees what make_target allocated. */
static PetscErrorCode free_target(DSTarget *t)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree3(t->weights, t->means, t->covariances));
  PetscCall(PetscFree(t->samples));
  PetscFunctionReturn(0);
}

/* A particle Vec of n particles in blocks of dim: PETSc's split, or all on the last rank. */
static PetscErrorCode make_particles(PetscInt n, PetscInt dim, PetscBool lumped, Vec *X)
{
  PetscMPIInt size;
  PetscInt    local = PETSC_DECIDE;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  if (lumped) local = PetscGlobalRank == size - 1 ? n * dim : 0;
  PetscCall(VecCreate(PETSC_COMM_WORLD, X));
  PetscCall(VecSetSizes(*X, local, n * dim));
  PetscCall(VecSetBlockSize(*X, dim));
  PetscCall(VecSetType(*X, VECSTANDARD));
  PetscFunctionReturn(0);
}

/* Sets entry (i, k) of the blocked Vec to value(t, i, k). */
static PetscErrorCode fill_particles(Vec X, PetscInt t, double (*value)(PetscInt, PetscInt, PetscInt))
{
  PetscScalar *a;
  PetscInt     rstart, rend, bs;

  PetscFunctionBeginUser;
  PetscCall(VecGetBlockSize(X, &bs));
  PetscCall(VecGetOwnershipRange(X, &rstart, &rend));
  PetscCall(VecGetArray(X, &a));
  for (PetscInt g = rstart; g < rend; g++) a[g - rstart] = value(t, g / bs, g % bs);
  PetscCall(VecRestoreArray(X, &a));
  PetscFunctionReturn(0);
}

/* Reads the whole dataset `name` as memtype into buf after checking its file type and shape
   (serial, rank 0). */
static int read_dataset(hid_t file, const char *name, hid_t filetype, hid_t memtype, int ndims, const hsize_t dims[], void *buf)
{
  hsize_t shape[3];
  hid_t   dset, space, type;
  int     ok;

  dset = H5Dopen2(file, name, H5P_DEFAULT);
  if (dset < 0) {
    fprintf(stderr, "dataset %s is missing\n", name);
    return 0;
  }
  space = H5Dget_space(dset);
  type  = H5Dget_type(dset);
  ok    = H5Sget_simple_extent_ndims(space) == ndims && H5Sget_simple_extent_dims(space, shape, NULL) == ndims && H5Tequal(type, filetype) > 0;
  for (int k = 0; ok && k < ndims; k++) ok = shape[k] == dims[k];
  if (!ok) fprintf(stderr, "dataset %s has the wrong type, rank or shape\n", name);
  else ok = H5Dread(dset, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
  H5Tclose(type);
  H5Sclose(space);
  H5Dclose(dset);
  return ok;
}

/* Compares count doubles with the expected ones, naming the dataset of the first mismatch. */
static int same_values(const char *name, PetscInt count, const double *got, const double *expected)
{
  for (PetscInt j = 0; j < count; j++) {
    if (got[j] != expected[j]) {
      fprintf(stderr, "%s[%" PetscInt_FMT "] = %g, expected %g\n", name, j, got[j], expected[j]);
      return 0;
    }
  }
  return 1;
}

/* Reads a float64 dataset of shape dims and compares it with `expected`. */
static int check_doubles(hid_t file, const char *name, int ndims, const hsize_t dims[], const double *expected)
{
  PetscInt count = 1;
  double  *got;
  int      ok;

  for (int k = 0; k < ndims; k++) count *= (PetscInt)dims[k];
  got = (double *)malloc(sizeof(double) * (size_t)(count ? count : 1));
  ok  = read_dataset(file, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, ndims, dims, got) && same_values(name, count, got, expected);
  free(got);
  return ok;
}

/* Reads an int64 series of length `count` and compares it with `expected`. */
static int check_steps(hid_t file, const char *name, PetscInt count, const int64_t *expected)
{
  const hsize_t dims = (hsize_t)count;
  int64_t       got[16];
  int           ok = count <= 16 && read_dataset(file, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &dims, got);

  for (PetscInt j = 0; ok && j < count; j++) ok = got[j] == expected[j];
  if (!ok) fprintf(stderr, "%s differs from the expected steps\n", name);
  return ok;
}

/* Checks /particles after `snapshots` snapshots of n particles in dimension dim. */
static int check_particles(hid_t file, PetscInt snapshots, PetscInt n, PetscInt dim, PetscBool velocity)
{
  const hsize_t dims[3] = {(hsize_t)snapshots, (hsize_t)n, (hsize_t)dim};
  double        x[SNAPSHOTS * 8 * 3], v[SNAPSHOTS * 8 * 3], times[SNAPSHOTS];
  int64_t       steps[SNAPSHOTS];
  hsize_t       chunk[3], maxdims[3];
  hid_t         dset, dcpl, space;
  int           ok;

  if (snapshots > SNAPSHOTS || n > 8 || dim > 3) return 0;
  for (PetscInt t = 0; t < snapshots; t++) {
    steps[t] = snapshot_step(t);
    times[t] = snapshot_time(t);
    for (PetscInt i = 0; i < n; i++)
      for (PetscInt k = 0; k < dim; k++) {
        x[(t * n + i) * dim + k] = position_value(t, i, k);
        v[(t * n + i) * dim + k] = velocity_value(t, i, k);
      }
  }
  ok = check_doubles(file, "/particles/position", 3, dims, x) && check_doubles(file, "/particles/time", 1, dims, times) && check_steps(file, "/particles/step", snapshots, steps);
  if (velocity) ok = ok && check_doubles(file, "/particles/velocity", 3, dims, v);
  else if (H5Lexists(file, "/particles/velocity", H5P_DEFAULT) != 0) {
    fprintf(stderr, "/particles/velocity was written without velocities\n");
    ok = 0;
  }
  /* One snapshot per chunk, extendable along T. */
  dset  = H5Dopen2(file, "/particles/position", H5P_DEFAULT);
  dcpl  = H5Dget_create_plist(dset);
  space = H5Dget_space(dset);
  if (H5Pget_chunk(dcpl, 3, chunk) != 3 || chunk[0] != 1 || chunk[1] != (hsize_t)n || chunk[2] != (hsize_t)dim || H5Sget_simple_extent_dims(space, NULL, maxdims) != 3 || maxdims[0] != H5S_UNLIMITED) {
    fprintf(stderr, "/particles/position is not chunked [1][N][d] and extendable\n");
    ok = 0;
  }
  H5Sclose(space);
  H5Pclose(dcpl);
  H5Dclose(dset);
  return ok;
}

/* Checks /diagnostics after `rows` rows of the first `count` diagnostic names. */
static int check_diagnostics(hid_t file, PetscInt rows, PetscInt count)
{
  const hsize_t dims = (hsize_t)rows;
  double        times[DIAG_ROWS], values[DIAG_ROWS];
  int64_t       steps[DIAG_ROWS];
  char          name[64];
  int           ok;

  if (rows > DIAG_ROWS) return 0;
  for (PetscInt r = 0; r < rows; r++) {
    steps[r] = diag_step(r);
    times[r] = diag_time(r);
  }
  ok = check_steps(file, "/diagnostics/step", rows, steps) && check_doubles(file, "/diagnostics/time", 1, &dims, times);
  for (PetscInt k = 0; ok && k < count; k++) {
    for (PetscInt r = 0; r < rows; r++) values[r] = diag_value(r, k);
    snprintf(name, sizeof(name), "/diagnostics/%s", diag_names[k]);
    ok = check_doubles(file, name, 1, &dims, values);
  }
  return ok;
}

/* Checks /target: the mixture, and the samples when `samples` > 0 (absent otherwise). */
static int check_target(hid_t file, PetscInt dim, PetscInt samples)
{
  const hsize_t K = COMPONENTS, d = (hsize_t)dim, M = (hsize_t)samples;
  double        w[COMPONENTS], m[COMPONENTS * 3], c[COMPONENTS * 9], y[SAMPLES * 3];
  int           ok;

  if (dim > 3 || samples > SAMPLES) return 0;
  for (PetscInt k = 0; k < COMPONENTS; k++) {
    w[k] = weight_value(k);
    for (PetscInt a = 0; a < dim; a++) {
      m[k * dim + a] = mean_value(k, a);
      for (PetscInt b = 0; b < dim; b++) c[(k * dim + a) * dim + b] = covariance_value(k, a, b);
    }
  }
  for (PetscInt j = 0; j < samples; j++)
    for (PetscInt k = 0; k < dim; k++) y[j * dim + k] = sample_value(j, k);
  ok = check_doubles(file, "/target/weights", 1, &K, w) && check_doubles(file, "/target/means", 2, (hsize_t[]){K, d}, m) && check_doubles(file, "/target/covariances", 3, (hsize_t[]){K, d, d}, c);
  if (samples) ok = ok && check_doubles(file, "/target/samples", 2, (hsize_t[]){M, d}, y);
  else if (H5Lexists(file, "/target/samples", H5P_DEFAULT) != 0) {
    fprintf(stderr, "/target/samples was written for a target without samples\n");
    ok = 0;
  }
  return ok;
}

/* Reads the root attribute `name`, an int64, into value. */
static int read_int_attribute(hid_t file, const char *name, int64_t *value)
{
  hid_t attr = H5Aopen(file, name, H5P_DEFAULT), type;
  int   ok;

  if (attr < 0) {
    fprintf(stderr, "attribute %s is missing\n", name);
    return 0;
  }
  type = H5Aget_type(attr);
  ok   = H5Tequal(type, H5T_STD_I64LE) > 0 && H5Aread(attr, H5T_NATIVE_INT64, value) >= 0;
  if (!ok) fprintf(stderr, "attribute %s is not an int64\n", name);
  H5Tclose(type);
  H5Aclose(attr);
  return ok;
}

/* Reads the root attribute `name`, a null-terminated fixed-length string, into a malloc'd
   string (NULL when it is missing or of another type). */
static char *read_string_attribute(hid_t file, const char *name)
{
  hid_t attr = H5Aopen(file, name, H5P_DEFAULT), type;
  char *text = NULL;

  if (attr < 0) {
    fprintf(stderr, "attribute %s is missing\n", name);
    return NULL;
  }
  type = H5Aget_type(attr);
  if (H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) == 0 && H5Tget_strpad(type) == H5T_STR_NULLTERM) {
    size_t size = H5Tget_size(type);

    text = (char *)calloc(size + 1, 1);
    if (H5Aread(attr, type, text) < 0) {
      free(text);
      text = NULL;
    }
  }
  if (!text) fprintf(stderr, "attribute %s is not a fixed-length null-terminated string\n", name);
  H5Tclose(type);
  H5Aclose(attr);
  return text;
}

/* Compares the int64 root attribute `name` with `expected`. */
static int check_int_attribute(hid_t file, const char *name, int64_t expected)
{
  int64_t value = 0;
  int     ok    = read_int_attribute(file, name, &value) && value == expected;

  if (!ok) fprintf(stderr, "attribute %s = %lld, expected %lld\n", name, (long long)value, (long long)expected);
  return ok;
}

/* Checks that the string root attribute `name` equals `expected` (or, with `contained`,
   contains it). */
static int check_string_attribute(hid_t file, const char *name, const char *expected, PetscBool contained)
{
  char *text = read_string_attribute(file, name);
  int   ok   = text && (contained ? strstr(text, expected) != NULL : !strcmp(text, expected));

  if (!ok) fprintf(stderr, "attribute %s = \"%s\", expected %s \"%s\"\n", name, text ? text : "(unreadable)", contained ? "to contain" : "", expected);
  free(text);
  return ok;
}

/* Checks the root attributes of a file written with fill_options(n, dim) at `ranks` ranks
   while the marker option was set. */
static int check_attributes(hid_t file, PetscInt n, PetscInt dim, int ranks)
{
  double recorded_bandwidth = 0;
  hid_t  attr;
  char  *created;
  int    ok;

  ok = check_int_attribute(file, "n", n) && check_int_attribute(file, "dim", dim) && check_int_attribute(file, "ranks", ranks) && check_int_attribute(file, "seed", 42) && check_int_attribute(file, "target_samples", SAMPLES);
  ok = ok && check_string_attribute(file, "field", "displacement", PETSC_FALSE) && check_string_attribute(file, "kernel", "laplace", PETSC_FALSE) && check_string_attribute(file, "self", "exclude", PETSC_FALSE) && check_string_attribute(file, "target", "gmm8", PETSC_FALSE) && check_string_attribute(file, "init", "uniform", PETSC_FALSE);
  ok = ok && check_string_attribute(file, "version", DS_VERSION, PETSC_FALSE) && check_string_attribute(file, "options", MARKER_OPTION " " MARKER_VALUE, PETSC_TRUE);
  ok = ok && check_string_attribute(file, "git_revision", "", PETSC_TRUE) && check_string_attribute(file, "compiler", "", PETSC_TRUE) && check_string_attribute(file, "build_flags", "", PETSC_TRUE) && check_string_attribute(file, "host", "", PETSC_TRUE);
  attr = H5Aopen(file, "bandwidth", H5P_DEFAULT);
  ok   = ok && attr >= 0 && H5Aread(attr, H5T_NATIVE_DOUBLE, &recorded_bandwidth) >= 0 && recorded_bandwidth == bandwidth.h0;
  ok   = ok && check_string_attribute(file, "bandwidth_rule", "fixed", PETSC_FALSE);
  if (attr >= 0) H5Aclose(attr);
  /* UTC ISO 8601: YYYY-MM-DDTHH:MM:SSZ */
  created = read_string_attribute(file, "created");
  ok      = ok && created && strlen(created) == 20 && created[4] == '-' && created[10] == 'T' && created[19] == 'Z';
  free(created);
  if (!ok) fprintf(stderr, "the root attributes differ from the options\n");
  return ok;
}

/* Writes SNAPSHOTS snapshots with velocities, DIAG_ROWS diagnostics rows and a target with
   samples, in one distribution of configs[_i]; rank 0 then reads everything back. */
START_TEST(test_write_and_read_back)
{
  const PetscInt n = configs[_i].n;
  char           path[PETSC_MAX_PATH_LEN];
  DSOptions      opts;
  DSTarget       target;
  DSOutput       out = NULL;
  Vec            X, V;
  PetscMPIInt    size;
  ssize_t        objects;
  int            ok = 1;

  DS_ASSERT_PETSC(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  DS_ASSERT_PETSC(ds_test_path("output", "roundtrip.h5", path, sizeof(path)));
  fill_options(n, DIM, path, &opts);
  DS_ASSERT_PETSC(make_target(DIM, SAMPLES, configs[_i].lumped, configs[_i].replicated, &target));
  DS_ASSERT_PETSC(make_particles(n, DIM, configs[_i].lumped, &X));
  DS_ASSERT_PETSC(VecDuplicate(X, &V));

  DS_ASSERT_PETSC(PetscOptionsSetValue(NULL, MARKER_OPTION, MARKER_VALUE));
  objects = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  DS_ASSERT_PETSC(ds_output_open(PETSC_COMM_WORLD, &opts, &target, &bandwidth, &out));
  DS_ASSERT_PETSC(PetscOptionsClearValue(NULL, MARKER_OPTION));
  for (PetscInt t = 0; t < SNAPSHOTS; t++) {
    DS_ASSERT_PETSC(fill_particles(X, t, position_value));
    DS_ASSERT_PETSC(fill_particles(V, t, velocity_value));
    DS_ASSERT_PETSC(ds_output_write_particles(out, snapshot_step(t), snapshot_time(t), X, V));
  }
  for (PetscInt r = 0; r < DIAG_ROWS; r++) {
    const PetscReal values[2] = {diag_value(r, 0), diag_value(r, 1)};

    DS_ASSERT_PETSC(ds_output_write_diagnostics(out, diag_step(r), diag_time(r), 2, diag_names, values));
  }
  DS_ASSERT_PETSC(ds_output_close(&out));
  DS_ASSERT_ALL(out == NULL, "ds_output_close left the handle set");
  DS_ASSERT_ALL(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) == objects, "HDF5 files or objects left open after ds_output_close");

  if (PetscGlobalRank == 0) {
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);

    ok = file >= 0 && check_particles(file, SNAPSHOTS, n, DIM, PETSC_TRUE) && check_diagnostics(file, DIAG_ROWS, 2) && check_target(file, DIM, SAMPLES) && check_attributes(file, n, DIM, size);
    if (file >= 0) H5Fclose(file);
    remove_output(path);
  }
  DS_ASSERT_PETSC(share_verdict(&ok));
  DS_ASSERT_ALL(ok, "the file read back differs from what was written (N = %d, lumped %d, replicated %d)", (int)n, (int)configs[_i].lumped, (int)configs[_i].replicated);
  DS_ASSERT_PETSC(VecDestroy(&X));
  DS_ASSERT_PETSC(VecDestroy(&V));
  DS_ASSERT_PETSC(free_target(&target));
}
END_TEST

/* What a job killed now would leave of the open file at `path`: rank 0 copies it and
   checks that the copy holds `snapshots` snapshots (without velocities), `rows`
   diagnostics rows (of one name) and the analytic target; the verdict goes to every rank. */
static PetscErrorCode check_killed_copy(const char *path, PetscInt snapshots, PetscInt rows, PetscInt n, PetscInt dim, int *ok)
{
  PetscFunctionBeginUser;
  *ok = 1;
  if (PetscGlobalRank == 0) {
    char  copy[PETSC_MAX_PATH_LEN + 8];
    hid_t file;

    PetscCall(PetscSNPrintf(copy, sizeof(copy), "%s.copy", path));
    *ok  = copy_file(path, copy);
    file = *ok ? H5Fopen(copy, H5F_ACC_RDONLY, H5P_DEFAULT) : H5I_INVALID_HID;
    *ok  = file >= 0 && check_particles(file, snapshots, n, dim, PETSC_FALSE) && check_target(file, dim, 0);
    if (rows) *ok = *ok && check_diagnostics(file, rows, 1);
    else *ok = *ok && H5Lexists(file, "/diagnostics", H5P_DEFAULT) == 0;
    if (file >= 0) H5Fclose(file);
    unlink(copy);
  }
  PetscCall(share_verdict(ok));
  PetscFunctionReturn(0);
}

/* Calls ds_output_write_particles or _diagnostics expecting error `code` on every rank. */
static int fails_with(PetscErrorCode code, PetscErrorCode (*call)(DSOutput, Vec), DSOutput out, Vec v)
{
  PetscErrorCode ierr;

  PetscPushErrorHandler(PetscReturnErrorHandler, NULL);
  ierr = call(out, v);
  PetscPopErrorHandler();
  return ierr == code;
}

/* The misuses fails_with tries. */
static PetscErrorCode write_with_velocity(DSOutput out, Vec v) { return ds_output_write_particles(out, 99, 9.0, v, v); }
static PetscErrorCode write_unblocked(DSOutput out, Vec v) { return ds_output_write_particles(out, 99, 9.0, v, NULL); }
static PetscErrorCode write_renamed_diagnostic(DSOutput out, Vec v)
{
  const char *const names[] = {"other"};
  const PetscReal   value   = 1;

  (void)v;
  return ds_output_write_diagnostics(out, 99, 9.0, 1, names, &value);
}
static PetscErrorCode write_extra_diagnostic(DSOutput out, Vec v)
{
  const PetscReal values[2] = {1, 2};

  (void)v;
  return ds_output_write_diagnostics(out, 99, 9.0, 2, diag_names, values);
}

/* Opening replaces an old file; an options text over 64 KiB is stored; snapshots without
   velocities write none; each append is in the file before close (flushed: a killed job
   keeps what it wrote); a target without samples writes no /target/samples; misuses
   (velocities added later, a Vec without the run's block size, other diagnostic names)
   are refused on every rank without damaging the file. */
START_TEST(test_append_rules)
{
  const PetscInt n = 5, dim = 3;
  char           path[PETSC_MAX_PATH_LEN];
  DSOptions      opts;
  DSTarget       target;
  DSOutput       out = NULL;
  Vec            X, unblocked;
  char          *long_value;
  int            ok = 1;

  DS_ASSERT_PETSC(ds_test_path("output", "rules.h5", path, sizeof(path)));
  DS_ASSERT_PETSC(write_text_file(path, "not an HDF5 file\n"));
  fill_options(n, dim, path, &opts);
  DS_ASSERT_PETSC(make_target(dim, 0, PETSC_FALSE, PETSC_FALSE, &target));
  DS_ASSERT_PETSC(make_particles(n, dim, PETSC_FALSE, &X));
  DS_ASSERT_PETSC(VecCreateMPI(PETSC_COMM_WORLD, PETSC_DECIDE, n * dim, &unblocked));

  /* An options text over HDF5's 64 KiB limit of compact attributes. */
  DS_ASSERT_PETSC(PetscMalloc1(LONG_OPTION + 1, &long_value));
  memset(long_value, 'x', LONG_OPTION);
  long_value[LONG_OPTION] = 0;
  DS_ASSERT_PETSC(PetscOptionsSetValue(NULL, "-ds_output_test_long", long_value));
  DS_ASSERT_PETSC(ds_output_open(PETSC_COMM_WORLD, &opts, &target, &bandwidth, &out));
  DS_ASSERT_PETSC(PetscOptionsClearValue(NULL, "-ds_output_test_long"));
  for (PetscInt t = 0; t < 2; t++) {
    DS_ASSERT_PETSC(fill_particles(X, t, position_value));
    DS_ASSERT_PETSC(ds_output_write_particles(out, snapshot_step(t), snapshot_time(t), X, NULL));
    DS_ASSERT_PETSC(check_killed_copy(path, t + 1, 0, n, dim, &ok));
    DS_ASSERT_ALL(ok, "snapshot %d is not in the file before close", (int)t);
  }
  DS_ASSERT_PETSC(ds_output_write_diagnostics(out, diag_step(0), diag_time(0), 1, diag_names, (const PetscReal[]){diag_value(0, 0)}));
  DS_ASSERT_PETSC(check_killed_copy(path, 2, 1, n, dim, &ok));
  DS_ASSERT_ALL(ok, "the diagnostics row is not in the file before close");

  DS_ASSERT_ALL(fails_with(PETSC_ERR_ARG_WRONG, write_with_velocity, out, X), "velocities after a snapshot without them were accepted");
  DS_ASSERT_ALL(fails_with(PETSC_ERR_ARG_SIZ, write_unblocked, out, unblocked), "a Vec without block size d was accepted");
  DS_ASSERT_ALL(fails_with(PETSC_ERR_ARG_WRONG, write_renamed_diagnostic, out, NULL), "a renamed diagnostic was accepted");
  DS_ASSERT_ALL(fails_with(PETSC_ERR_ARG_WRONG, write_extra_diagnostic, out, NULL), "an extra diagnostic was accepted");

  DS_ASSERT_PETSC(fill_particles(X, 2, position_value));
  DS_ASSERT_PETSC(ds_output_write_particles(out, snapshot_step(2), snapshot_time(2), X, NULL));
  DS_ASSERT_PETSC(ds_output_close(&out));
  if (PetscGlobalRank == 0) {
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);

    ok = file >= 0 && check_particles(file, 3, n, dim, PETSC_FALSE) && check_diagnostics(file, 1, 1) && check_string_attribute(file, "options", long_value, PETSC_TRUE);
    if (file >= 0) H5Fclose(file);
    remove_output(path);
  }
  DS_ASSERT_PETSC(share_verdict(&ok));
  DS_ASSERT_ALL(ok, "the file is wrong after refused calls");
  DS_ASSERT_PETSC(VecDestroy(&X));
  DS_ASSERT_PETSC(VecDestroy(&unblocked));
  DS_ASSERT_PETSC(free_target(&target));
  DS_ASSERT_PETSC(PetscFree(long_value));
}
END_TEST

/* True on every rank when ds_output_check_path refuses `path` with PETSC_ERR_USER_INPUT and
   a message naming the option and containing `reason`. */
static int refuses(const char *path, const char *reason)
{
  PetscErrorCode ierr;
  const char    *text;
  char          *specific = NULL;

  PetscPushErrorHandler(PetscReturnErrorHandler, NULL);
  ierr = ds_output_check_path(PETSC_COMM_WORLD, "-drift_output", path);
  PetscPopErrorHandler();
  if (ierr != PETSC_ERR_USER_INPUT) return 0;
  PetscErrorMessage(ierr, &text, &specific);
  if (!specific || !strstr(specific, "-drift_output") || !strstr(specific, reason)) {
    fprintf(stderr, "message \"%s\" does not say \"%s\"\n", specific ? specific : "", reason);
    return 0;
  }
  return 1;
}

/* A missing directory, a regular file used as a directory, a directory as the file and an
   empty path are refused on every rank, and nothing is created. */
START_TEST(test_check_path_refuses)
{
  char missing[PETSC_MAX_PATH_LEN], plain[PETSC_MAX_PATH_LEN], path[2 * PETSC_MAX_PATH_LEN];
  int  ok = 1;

  DS_ASSERT_PETSC(ds_test_path("output", "missing", missing, sizeof(missing)));
  DS_ASSERT_PETSC(ds_test_path("output", "plain", plain, sizeof(plain)));
  snprintf(path, sizeof(path), "%s/out.h5", missing);
  DS_ASSERT_ALL(refuses(path, "does not exist"), "a path in a missing directory was accepted");
  if (PetscGlobalRank == 0) ok = access(missing, F_OK) != 0;
  DS_ASSERT_PETSC(share_verdict(&ok));
  DS_ASSERT_ALL(ok, "checking a path created its directory");

  DS_ASSERT_PETSC(write_text_file(plain, "a regular file\n"));
  snprintf(path, sizeof(path), "%s/out.h5", plain);
  DS_ASSERT_ALL(refuses(path, "is not a directory"), "a path under a regular file was accepted");
  DS_ASSERT_ALL(refuses("/tmp", "is a directory"), "a directory was accepted as the file");
  DS_ASSERT_ALL(refuses("", "empty"), "an empty path was accepted");
  if (PetscGlobalRank == 0) unlink(plain);
}
END_TEST

/* A new file in a writable directory and an existing writable file are accepted, and
   checking neither creates the first nor truncates the second. */
START_TEST(test_check_path_accepts)
{
  const char *text = "keep me\n";
  char        fresh[PETSC_MAX_PATH_LEN], existing[PETSC_MAX_PATH_LEN];
  struct stat st;
  int         ok = 1;

  DS_ASSERT_PETSC(ds_test_path("output", "fresh.h5", fresh, sizeof(fresh)));
  DS_ASSERT_PETSC(ds_test_path("output", "existing.h5", existing, sizeof(existing)));
  DS_ASSERT_PETSC(write_text_file(existing, text));
  DS_ASSERT_PETSC(ds_output_check_path(PETSC_COMM_WORLD, "-drift_output", fresh));
  DS_ASSERT_PETSC(ds_output_check_path(PETSC_COMM_WORLD, "-drift_output", existing));
  if (PetscGlobalRank == 0) {
    ok = access(fresh, F_OK) != 0 && stat(existing, &st) == 0 && (size_t)st.st_size == strlen(text);
    unlink(existing);
  }
  DS_ASSERT_PETSC(share_verdict(&ok));
  DS_ASSERT_ALL(ok, "checking a path created or truncated a file");
}
END_TEST

/* Occurrences of `needle` in `text`. */
static int count_text(const char *text, const char *needle)
{
  int count = 0;

  for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) count++;
  return count;
}

/* A diagnostics row with the right count but a name the file does not have. */
static PetscErrorCode write_misnamed_diagnostics(DSOutput out, Vec v)
{
  const char *const names[]   = {"rms_velocity", "other"};
  const PetscReal   values[2] = {1, 2};

  (void)v;
  return ds_output_write_diagnostics(out, 99, 9.0, 2, names, values);
}

/* The whole text file `path` (free with free), or NULL. */
static char *read_text_file(const char *path)
{
  FILE  *f = fopen(path, "rb");
  char  *text;
  long   size;
  size_t got;

  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  size = ftell(f);
  rewind(f);
  text = (char *)malloc((size_t)(size > 0 ? size : 0) + 1);
  got  = fread(text, 1, (size_t)(size > 0 ? size : 0), f);
  fclose(f);
  text[got] = 0;
  return text;
}

/* Shape of dataset `name` of the file (up to 3 dimensions); its rank, or -1 when missing. */
static int dataset_shape(hid_t file, const char *name, hsize_t dims[3])
{
  hid_t dset, space;
  int   ndims;

  if (H5Lexists(file, "/particles", H5P_DEFAULT) <= 0 || H5Lexists(file, name, H5P_DEFAULT) <= 0) return -1;
  dset  = H5Dopen2(file, name, H5P_DEFAULT);
  space = H5Dget_space(dset);
  ndims = H5Sget_simple_extent_ndims(space);
  if (ndims > 3 || H5Sget_simple_extent_dims(space, dims, NULL) < 0) ndims = -1;
  H5Sclose(space);
  H5Dclose(dset);
  return ndims;
}

/* Checks the HyperSlab DataItem at or after `from` (and before `end`): it selects snapshot
   t ([t 0 0], [1 1 1], [1 N d]) of a DataItem whose Dimensions are the shape of the dataset
   it names as `name`:`dataset`, which exists in the file. */
static int check_slab(const char *from, const char *end, hid_t file, const char *name, const char *dataset, PetscInt t, PetscInt n, PetscInt dim)
{
  const char *slab = strstr(from, "ItemType=\"HyperSlab\""), *sel, *item, *ref, *close;
  long long   s[9], xdims[3];
  hsize_t     dims[3];
  char        target[PETSC_MAX_PATH_LEN + 64], expected[PETSC_MAX_PATH_LEN + 64];
  int         ok;

  sel  = slab ? strstr(slab, "Format=\"XML\">") : NULL;
  item = sel ? strstr(sel, "<DataItem Dimensions=\"") : NULL;
  ref  = item ? strstr(item, "Format=\"HDF\">") : NULL;
  close = ref ? strstr(ref, "</DataItem>") : NULL;
  if (!close || close > end) {
    fprintf(stderr, "snapshot %d: no HyperSlab DataItem for %s\n", (int)t, dataset);
    return 0;
  }
  ok = sscanf(sel + strlen("Format=\"XML\">"), "%lld %lld %lld %lld %lld %lld %lld %lld %lld", &s[0], &s[1], &s[2], &s[3], &s[4], &s[5], &s[6], &s[7], &s[8]) == 9;
  ok = ok && s[0] == t && s[1] == 0 && s[2] == 0 && s[3] == 1 && s[4] == 1 && s[5] == 1 && s[6] == 1 && s[7] == n && s[8] == dim;
  if (!ok) fprintf(stderr, "snapshot %d: the hyperslab of %s does not select [%d, 0, 0] + [1, %d, %d]\n", (int)t, dataset, (int)t, (int)n, (int)dim);
  snprintf(target, sizeof(target), "%.*s", (int)(close - ref - strlen("Format=\"HDF\">")), ref + strlen("Format=\"HDF\">"));
  snprintf(expected, sizeof(expected), "%s:%s", name, dataset);
  if (ok && strcmp(target, expected)) {
    fprintf(stderr, "snapshot %d: the DataItem refers to %s, expected %s\n", (int)t, target, expected);
    ok = 0;
  }
  if (ok && (dataset_shape(file, dataset, dims) != 3 || sscanf(item + strlen("<DataItem Dimensions=\""), "%lld %lld %lld", &xdims[0], &xdims[1], &xdims[2]) != 3 || xdims[0] != (long long)dims[0] || xdims[1] != (long long)dims[1] || xdims[2] != (long long)dims[2])) {
    fprintf(stderr, "snapshot %d: the Dimensions of %s differ from the dataset's shape\n", (int)t, dataset);
    ok = 0;
  }
  return ok;
}

/* Checks the XDMF sidecar text against the HDF5 file it describes (open as `file`, named
   `name` in the sidecar): `snapshots` Uniform grids, grid t at time /particles/time[t] with
   N Polyvertex points, XY or XYZ geometry and a velocity attribute exactly when the file has
   velocities, each a hyperslab of snapshot t. Serial (rank 0). */
static int check_sidecar(const char *text, hid_t file, const char *name, PetscInt snapshots, PetscInt n, PetscInt dim)
{
  const PetscBool velocity = H5Lexists(file, "/particles/velocity", H5P_DEFAULT) > 0 ? PETSC_TRUE : PETSC_FALSE;
  const hsize_t   T        = (hsize_t)snapshots;
  char            points[64], geometry[64];
  const char     *grid     = text;
  double          times[16];
  int             ok;

  if (!text || snapshots > 16) return 0;
  ok = strstr(text, "<Xdmf Version=\"2.0\">") && strstr(text, "CollectionType=\"Temporal\"") && count_text(text, "GridType=\"Uniform\"") == snapshots;
  if (!ok) fprintf(stderr, "the sidecar is not a temporal collection of %d grids\n", (int)snapshots);
  ok = ok && read_dataset(file, "/particles/time", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &T, times);
  snprintf(points, sizeof(points), "TopologyType=\"Polyvertex\" NumberOfElements=\"%d\"", (int)n);
  snprintf(geometry, sizeof(geometry), "GeometryType=\"%s\"", dim == 2 ? "XY" : "XYZ");
  for (PetscInt t = 0; ok && t < snapshots; t++) {
    const char *end, *time, *shape, *attribute;

    grid      = strstr(grid, "GridType=\"Uniform\"");
    end       = grid ? strstr(grid, "</Grid>") : NULL;
    time      = end ? strstr(grid, "<Time Value=\"") : NULL;
    shape     = end ? strstr(grid, geometry) : NULL;
    attribute = end ? strstr(grid, "<Attribute Name=\"velocity\" AttributeType=\"Vector\"") : NULL;
    ok        = time && time < end && strtod(time + strlen("<Time Value=\""), NULL) == times[t];
    if (!ok) fprintf(stderr, "grid %d: no time, or not /particles/time[%d] = %g\n", (int)t, (int)t, times[t]);
    ok = ok && strstr(grid, points) && strstr(grid, points) < end && shape && shape < end;
    ok = ok && check_slab(shape, end, file, name, "/particles/position", t, n, dim);
    if (velocity) ok = ok && attribute && attribute < end && check_slab(attribute, end, file, name, "/particles/velocity", t, n, dim);
    else ok = ok && (!attribute || attribute > end);
    if (!ok) fprintf(stderr, "grid %d of the sidecar is wrong\n", (int)t);
    grid = end;
  }
  return ok;
}

/* What a job killed now would leave: rank 0 checks the sidecar of `path` against a copy of
   the HDF5 file (no temporary sidecar left behind); the verdict goes to every rank. */
static PetscErrorCode check_sidecar_now(const char *path, PetscInt snapshots, PetscInt n, PetscInt dim, int *ok)
{
  PetscFunctionBeginUser;
  *ok = 1;
  if (PetscGlobalRank == 0) {
    char        xmf[PETSC_MAX_PATH_LEN], tmp[PETSC_MAX_PATH_LEN + 8], copy[PETSC_MAX_PATH_LEN + 8];
    const char *name = strrchr(path, '/') + 1;
    char       *text;
    hid_t       file;

    sidecar_of(path, xmf, sizeof(xmf));
    snprintf(tmp, sizeof(tmp), "%s.tmp", xmf);
    snprintf(copy, sizeof(copy), "%s.copy", path);
    text = read_text_file(xmf);
    *ok  = copy_file(path, copy);
    file = *ok ? H5Fopen(copy, H5F_ACC_RDONLY, H5P_DEFAULT) : H5I_INVALID_HID;
    *ok  = file >= 0 && check_sidecar(text, file, name, snapshots, n, dim) && access(tmp, F_OK) != 0;
    if (file >= 0) H5Fclose(file);
    free(text);
    unlink(copy);
  }
  PetscCall(share_verdict(ok));
  PetscFunctionReturn(0);
}

/* The XDMF sidecar in d = 2 (with velocities) and d = 3 (without) describes the file after
   every snapshot, while it is still open; a stale sidecar goes when the file is created; in
   d = 1 there is none. */
START_TEST(test_xdmf_sidecar)
{
  const PetscInt  n = 7, dim = _i + 1;
  const PetscBool velocity = dim == 2 ? PETSC_TRUE : PETSC_FALSE;
  char            path[PETSC_MAX_PATH_LEN], xmf[PETSC_MAX_PATH_LEN], tag[32];
  DSOptions       opts;
  DSTarget        target;
  DSOutput        out = NULL;
  Vec             X, V;
  int             ok = 1;

  snprintf(tag, sizeof(tag), "xdmf%d.h5", (int)dim);
  DS_ASSERT_PETSC(ds_test_path("output", tag, path, sizeof(path)));
  sidecar_of(path, xmf, sizeof(xmf));
  DS_ASSERT_PETSC(write_text_file(xmf, "stale\n"));
  fill_options(n, dim, path, &opts);
  DS_ASSERT_PETSC(make_target(dim, SAMPLES, PETSC_FALSE, PETSC_FALSE, &target));
  DS_ASSERT_PETSC(make_particles(n, dim, PETSC_FALSE, &X));
  DS_ASSERT_PETSC(VecDuplicate(X, &V));
  DS_ASSERT_PETSC(ds_output_open(PETSC_COMM_WORLD, &opts, &target, &bandwidth, &out));
  if (PetscGlobalRank == 0) ok = access(xmf, F_OK) != 0;
  DS_ASSERT_PETSC(share_verdict(&ok));
  DS_ASSERT_ALL(ok, "creating the file left the stale sidecar %s", xmf);
  for (PetscInt t = 0; t < SNAPSHOTS; t++) {
    DS_ASSERT_PETSC(fill_particles(X, t, position_value));
    DS_ASSERT_PETSC(fill_particles(V, t, velocity_value));
    /* times with 17 significant digits: the sidecar must carry them exactly */
    DS_ASSERT_PETSC(ds_output_write_particles(out, snapshot_step(t), snapshot_time(t) + 1.0 / 3.0, X, velocity ? V : NULL));
    if (dim > 1) DS_ASSERT_PETSC(check_sidecar_now(path, t + 1, n, dim, &ok));
    else if (PetscGlobalRank == 0) ok = access(xmf, F_OK) != 0;
    DS_ASSERT_PETSC(share_verdict(&ok));
    DS_ASSERT_ALL(ok, "after snapshot %d in d = %d, the sidecar does not describe the file", (int)t, (int)dim);
  }
  DS_ASSERT_PETSC(ds_output_close(&out));
  if (dim > 1) DS_ASSERT_PETSC(check_sidecar_now(path, SNAPSHOTS, n, dim, &ok));
  DS_ASSERT_ALL(ok, "after close in d = %d, the sidecar does not describe the file", (int)dim);
  if (PetscGlobalRank == 0) remove_output(path);
  DS_ASSERT_PETSC(VecDestroy(&X));
  DS_ASSERT_PETSC(VecDestroy(&V));
  DS_ASSERT_PETSC(free_target(&target));
}
END_TEST

/* Values of the run continued after a restart (different from the first run's). */
static PetscInt restart_row(PetscInt step) { return step + 10; }

/* Writes snapshots (with velocities) and diagnostics rows for steps [from, to) into `out`,
   the values of step s those of row `row(s)`. */
static PetscErrorCode write_steps(DSOutput out, Vec X, Vec V, PetscInt from, PetscInt to, PetscInt (*row)(PetscInt))
{
  PetscFunctionBeginUser;
  for (PetscInt s = from; s < to; s++) {
    const PetscReal values[2] = {diag_value(row(s), 0), diag_value(row(s), 1)};

    PetscCall(fill_particles(X, row(s), position_value));
    PetscCall(fill_particles(V, row(s), velocity_value));
    PetscCall(ds_output_write_particles(out, s, snapshot_time(s), X, V));
    PetscCall(ds_output_write_diagnostics(out, s, snapshot_time(s), 2, diag_names, values));
  }
  PetscFunctionReturn(0);
}

/* The identity, for the rows of the first run. */
static PetscInt same_row(PetscInt step) { return step; }

/* Checks every series of a file holding steps 0..steps-1 once each, the values of step s
   those of the first run up to `kept` and of the continued run after it (serial). */
static int check_continued(hid_t file, PetscInt steps, PetscInt kept, PetscInt n, PetscInt dim)
{
  const hsize_t dims[3] = {(hsize_t)steps, (hsize_t)n, (hsize_t)dim};
  double        x[16 * 8 * 3], v[16 * 8 * 3], times[16], values[2][16];
  int64_t       expected_steps[16];
  char          name[64];
  int           ok;

  if (steps > 16 || n > 8 || dim > 3) return 0;
  for (PetscInt s = 0; s < steps; s++) {
    const PetscInt row = s <= kept ? s : restart_row(s);

    expected_steps[s] = s;
    times[s]          = snapshot_time(s);
    for (PetscInt k = 0; k < 2; k++) values[k][s] = diag_value(row, k);
    for (PetscInt i = 0; i < n; i++)
      for (PetscInt k = 0; k < dim; k++) {
        x[(s * n + i) * dim + k] = position_value(row, i, k);
        v[(s * n + i) * dim + k] = velocity_value(row, i, k);
      }
  }
  ok = check_steps(file, "/particles/step", steps, expected_steps) && check_doubles(file, "/particles/time", 1, dims, times);
  ok = ok && check_doubles(file, "/particles/position", 3, dims, x) && check_doubles(file, "/particles/velocity", 3, dims, v);
  ok = ok && check_steps(file, "/diagnostics/step", steps, expected_steps) && check_doubles(file, "/diagnostics/time", 1, dims, times);
  for (PetscInt k = 0; ok && k < 2; k++) {
    snprintf(name, sizeof(name), "/diagnostics/%s", diag_names[k]);
    ok = check_doubles(file, name, 1, dims, values[k]);
  }
  return ok;
}

/* A run writes steps 0..4, restarts from the checkpoint of step 3 and writes steps 3..6:
   every series holds 0..6 once each, rows 0..2 as first written, the root attributes as
   they were plus `restarts`, and the sidecar describes the 7 snapshots. Diagnostics with
   other names are refused after the reopen without harm; a second restart adds a line;
   reopening a missing file creates it. */
START_TEST(test_reopen_for_restart)
{
  const PetscInt n = 7, dim = 2;
  char           path[PETSC_MAX_PATH_LEN], fresh[PETSC_MAX_PATH_LEN], line[128];
  DSOptions      opts;
  DSTarget       target;
  DSOutput       out = NULL;
  Vec            X, V;
  PetscMPIInt    size;
  char          *created = NULL, *after = NULL, *restarts = NULL;
  int            ok = 1;

  DS_ASSERT_PETSC(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  DS_ASSERT_PETSC(ds_test_path("output", "reopen.h5", path, sizeof(path)));
  DS_ASSERT_PETSC(ds_test_path("output", "reopen_fresh.h5", fresh, sizeof(fresh)));
  fill_options(n, dim, path, &opts);
  snprintf(opts.restart, sizeof(opts.restart), "/tmp/run.chk");
  DS_ASSERT_PETSC(make_target(dim, SAMPLES, PETSC_FALSE, PETSC_FALSE, &target));
  DS_ASSERT_PETSC(make_particles(n, dim, PETSC_FALSE, &X));
  DS_ASSERT_PETSC(VecDuplicate(X, &V));

  DS_ASSERT_PETSC(ds_output_open(PETSC_COMM_WORLD, &opts, &target, &bandwidth, &out));
  DS_ASSERT_PETSC(write_steps(out, X, V, 0, 5, same_row));
  DS_ASSERT_PETSC(ds_output_close(&out));
  if (PetscGlobalRank == 0) {
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);

    created = read_string_attribute(file, "created");
    H5Fclose(file);
  }
  /* HDF5 locks open files: no rank may reopen the file before rank 0 has closed it. */
  DS_ASSERT_PETSC(MPI_Barrier(PETSC_COMM_WORLD));

  DS_ASSERT_PETSC(ds_output_reopen(PETSC_COMM_WORLD, &opts, &target, &bandwidth, 3, &out));
  DS_ASSERT_PETSC(check_sidecar_now(path, 3, n, dim, &ok));
  DS_ASSERT_ALL(ok, "after the reopen, the sidecar does not describe the 3 kept snapshots");
  DS_ASSERT_ALL(fails_with(PETSC_ERR_ARG_WRONG, write_renamed_diagnostic, out, NULL), "a different diagnostic count was accepted after the reopen");
  DS_ASSERT_ALL(fails_with(PETSC_ERR_ARG_WRONG, write_misnamed_diagnostics, out, NULL), "other diagnostic names were accepted after the reopen");
  DS_ASSERT_PETSC(write_steps(out, X, V, 3, 7, restart_row));
  DS_ASSERT_PETSC(ds_output_close(&out));
  DS_ASSERT_PETSC(check_sidecar_now(path, 7, n, dim, &ok));
  DS_ASSERT_ALL(ok, "after the continued run, the sidecar does not describe the 7 snapshots");
  if (PetscGlobalRank == 0) {
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);

    snprintf(line, sizeof(line), "restarted at step 3 from /tmp/run.chk on ");
    after    = read_string_attribute(file, "created");
    restarts = read_string_attribute(file, "restarts");
    ok       = file >= 0 && check_continued(file, 7, 2, n, dim) && check_target(file, dim, SAMPLES) && check_int_attribute(file, "n", n);
    ok       = ok && created && after && !strcmp(created, after) && restarts && !strncmp(restarts, line, strlen(line)) && !strchr(restarts, '\n');
    snprintf(line, sizeof(line), " with %d ranks", (int)size);
    ok = ok && strstr(restarts, line) && strlen(restarts) == strlen("restarted at step 3 from /tmp/run.chk on YYYY-MM-DDTHH:MM:SSZ") + strlen(line);
    if (!ok) fprintf(stderr, "restarts = \"%s\"\n", restarts ? restarts : "(missing)");
    if (file >= 0) H5Fclose(file);
    free(restarts);
  }
  DS_ASSERT_PETSC(share_verdict(&ok));
  DS_ASSERT_ALL(ok, "the continued file is not steps 0..6 once each with the first run's rows kept");

  /* A second restart, from step 6: rows 6 go, a second line is added. */
  DS_ASSERT_PETSC(ds_output_reopen(PETSC_COMM_WORLD, &opts, &target, &bandwidth, 6, &out));
  DS_ASSERT_PETSC(ds_output_close(&out));
  if (PetscGlobalRank == 0) {
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);

    restarts = read_string_attribute(file, "restarts");
    ok       = file >= 0 && check_continued(file, 6, 2, n, dim) && restarts && count_text(restarts, "\n") == 1 && strstr(strchr(restarts, '\n'), "restarted at step 6 from /tmp/run.chk");
    if (file >= 0) H5Fclose(file);
    free(restarts);
  }
  DS_ASSERT_PETSC(check_sidecar_now(path, 6, n, dim, &ok));
  DS_ASSERT_ALL(ok, "a second restart did not cut step 6 and add a line to restarts");

  /* A missing file is created as by ds_output_open. */
  snprintf(opts.output, sizeof(opts.output), "%s", fresh);
  DS_ASSERT_PETSC(ds_output_reopen(PETSC_COMM_WORLD, &opts, &target, &bandwidth, 2, &out));
  DS_ASSERT_PETSC(ds_output_close(&out));
  if (PetscGlobalRank == 0) {
    hid_t file = H5Fopen(fresh, H5F_ACC_RDONLY, H5P_DEFAULT);

    ok = file >= 0 && check_target(file, dim, SAMPLES) && check_int_attribute(file, "n", n) && H5Aexists(file, "restarts") == 0 && H5Lexists(file, "/particles", H5P_DEFAULT) == 0;
    if (file >= 0) H5Fclose(file);
    remove_output(fresh);
    remove_output(path);
  }
  DS_ASSERT_PETSC(share_verdict(&ok));
  DS_ASSERT_ALL(ok, "reopening a missing file did not create it like ds_output_open");
  free(created);
  free(after);
  DS_ASSERT_PETSC(VecDestroy(&X));
  DS_ASSERT_PETSC(VecDestroy(&V));
  DS_ASSERT_PETSC(free_target(&target));
}
END_TEST

Suite *ds_suite_output(void)
{
  Suite *s    = suite_create("output");
  TCase *tc   = tcase_create("hdf5");
  int    runs = (int)(sizeof(configs) / sizeof(configs[0]));

  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, test_write_and_read_back, 0, runs);
  tcase_add_test(tc, test_append_rules);
  tcase_add_test(tc, test_check_path_refuses);
  tcase_add_test(tc, test_check_path_accepts);
  tcase_add_loop_test(tc, test_xdmf_sidecar, 0, 3);
  tcase_add_test(tc, test_reopen_for_restart);
  suite_add_tcase(s, tc);
  return s;
}
