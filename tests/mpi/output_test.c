/* Helpers of the output suite (output_test.h): runs of small files and serial readers of
   what they wrote. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "output_test.h"

const DSBandwidth       output_test_bandwidth = {DS_BANDWIDTH_FIXED, 0.125, 0.0, 0.0};
const char *const       diag_names[2]         = {"rms_velocity", "mmd2"};

/* A file beside the output `path`: the path without .h5, plus `suffix`. */
void companion_of(const char *path, const char *suffix, char name[], size_t len)
{
  const size_t plen = strlen(path);

  snprintf(name, len, "%.*s%s", (int)(plen > 3 && !strcmp(path + plen - 3, ".h5") ? plen - 3 : plen), path, suffix);
}

/* Rank 0 removes the output `path`, its sidecar and its views file. */
void remove_output(const char *path)
{
  char xmf[PETSC_MAX_PATH_LEN], views[PETSC_MAX_PATH_LEN + 16];

  companion_of(path, ".xmf", xmf, sizeof(xmf));
  companion_of(path, ".views.h5", views, sizeof(views));
  unlink(path);
  unlink(xmf);
  unlink(views);
}

/* Rank 0 writes `text` to `path` (replacing it); every rank waits for it. */
PetscErrorCode write_text_file(const char *path, const char *text)
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
int copy_file(const char *from, const char *to)
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
PetscErrorCode share_verdict(int *ok)
{
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Bcast(ok, 1, MPI_INT, 0, PETSC_COMM_WORLD));
  PetscFunctionReturn(0);
}

/* Options of a small run, writing to `path`. */
void fill_options(PetscInt n, PetscInt dim, const char *path, DSOptions *opts)
{
  *opts                = ds_test_options();
  opts->n              = n;
  opts->dim            = dim;
  opts->seed           = 42;
  snprintf(opts->field, sizeof(opts->field), "displacement");
  opts->kernel         = DS_KERNEL_LAPLACE;
  opts->self           = DS_SELF_EXCLUDE;
  opts->target         = dim == 2 ? DS_TARGET_GMM8 : DS_TARGET_GAUSSIAN;
  opts->target_samples = SAMPLES;
  opts->target_scale   = 2.0;
  opts->init           = DS_INIT_UNIFORM;
  opts->init_scale     = 3.0;
  snprintf(opts->output, sizeof(opts->output), "%s", path);
  ds_test_assert_valid(opts);
}

/* A mixture target of COMPONENTS components in dimension `dim`, with `samples` samples
   split over the ranks (all on rank 0 when lumped, on every rank when replicated). */
PetscErrorCode make_target(PetscInt dim, PetscInt samples, PetscBool lumped, PetscBool replicated, DSTarget *t)
{
  PetscInt local = PETSC_DECIDE, end;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(t, sizeof(*t)));
  t->type       = DS_TARGET_GMM8;
  t->dim        = dim;
  PetscCall(ds_mixture_create(dim, COMPONENTS, &t->mixture));
  for (PetscInt c = 0; c < COMPONENTS; c++) {
    t->mixture->weights[c] = weight_value(c);
    for (PetscInt a = 0; a < dim; a++) {
      t->mixture->means[c * dim + a] = mean_value(c, a);
      for (PetscInt b = 0; b < dim; b++) t->mixture->covariances[(c * dim + a) * dim + b] = covariance_value(c, a, b);
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
PetscErrorCode free_target(DSTarget *t)
{
  PetscFunctionBeginUser;
  PetscCall(ds_mixture_destroy(&t->mixture));
  PetscCall(PetscFree(t->samples));
  PetscFunctionReturn(0);
}

/* A particle Vec of n particles in blocks of dim: PETSc's split, or all on the last rank. */
PetscErrorCode make_particles(PetscInt n, PetscInt dim, PetscBool lumped, Vec *X)
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
PetscErrorCode fill_particles(Vec X, PetscInt t, double (*value)(PetscInt, PetscInt, PetscInt))
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
int read_dataset(hid_t file, const char *name, hid_t filetype, hid_t memtype, int ndims, const hsize_t dims[], void *buf)
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
int same_values(const char *name, PetscInt count, const double *got, const double *expected)
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
int check_doubles(hid_t file, const char *name, int ndims, const hsize_t dims[], const double *expected)
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
int check_steps(hid_t file, const char *name, PetscInt count, const int64_t *expected)
{
  const hsize_t dims = (hsize_t)count;
  int64_t       got[16];
  int           ok = count <= 16 && read_dataset(file, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &dims, got);

  for (PetscInt j = 0; ok && j < count; j++) ok = got[j] == expected[j];
  if (!ok) fprintf(stderr, "%s differs from the expected steps\n", name);
  return ok;
}

/* Checks /particles after `snapshots` snapshots of n particles in dimension dim. */
int check_particles(hid_t file, PetscInt snapshots, PetscInt n, PetscInt dim, PetscBool velocity)
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
int check_diagnostics(hid_t file, PetscInt rows, PetscInt count)
{
  const hsize_t dims = (hsize_t)rows;
  double        times[DIAG_ROWS] = {0}, values[DIAG_ROWS] = {0};
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
int check_target(hid_t file, PetscInt dim, PetscInt samples)
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
int read_int_attribute(hid_t file, const char *name, int64_t *value)
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
char *read_string_attribute(hid_t file, const char *name)
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
int check_int_attribute(hid_t file, const char *name, int64_t expected)
{
  int64_t value = 0;
  int     ok    = read_int_attribute(file, name, &value) && value == expected;

  if (!ok) fprintf(stderr, "attribute %s = %lld, expected %lld\n", name, (long long)value, (long long)expected);
  return ok;
}

/* Checks that the string root attribute `name` equals `expected` (or, with `contained`,
   contains it). */
int check_string_attribute(hid_t file, const char *name, const char *expected, PetscBool contained)
{
  char *text = read_string_attribute(file, name);
  int   ok   = text && (contained ? strstr(text, expected) != NULL : !strcmp(text, expected));

  if (!ok) fprintf(stderr, "attribute %s = \"%s\", expected %s \"%s\"\n", name, text ? text : "(unreadable)", contained ? "to contain" : "", expected);
  free(text);
  return ok;
}

/* Calls ds_output_write_particles or _diagnostics expecting error `code` on every rank. */
int fails_with(PetscErrorCode code, PetscErrorCode (*call)(DSOutput, Vec), DSOutput out, Vec v)
{
  PetscErrorCode ierr;

  PetscPushErrorHandler(PetscReturnErrorHandler, NULL);
  ierr = call(out, v);
  PetscPopErrorHandler();
  return ierr == code;
}

PetscErrorCode write_renamed_diagnostic(DSOutput out, Vec v)
{
  const char *const names[] = {"other"};
  const PetscReal   value   = 1;

  (void)v;
  return ds_output_write_diagnostics(out, 99, 9.0, 1, names, &value);
}
