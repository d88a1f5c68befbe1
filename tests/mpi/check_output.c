/* Tests of the parallel HDF5 output (src/output.c). Every rank writes its share
   collectively; rank 0 then reopens the file serially and compares each dataset and attribute with
   values it computes from formulas of the global indices, with no communication. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ds_isa.h"
#include "ds_version.h"
#include "output_test.h"

#define MARKER_OPTION "-ds_output_test_marker"
#define MARKER_VALUE  "output-marker-4711"
#define LONG_OPTION   70000 /* characters of an option value longer than a compact attribute */

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
  ok = ok && check_string_attribute(file, "vector_isa", DSIsaNames[ds_isa_current()], PETSC_FALSE); /* the level the driver selected */
  attr = H5Aopen(file, "bandwidth", H5P_DEFAULT);
  ok   = ok && attr >= 0 && H5Aread(attr, H5T_NATIVE_DOUBLE, &recorded_bandwidth) >= 0 && recorded_bandwidth == output_test_bandwidth.h0;
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
  DS_ASSERT_PETSC(ds_output_open(PETSC_COMM_WORLD, &opts, &target, &output_test_bandwidth, &out));
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

/* The misuses fails_with tries. */
static PetscErrorCode write_with_velocity(DSOutput out, Vec v) { return ds_output_write_particles(out, 99, 9.0, v, v); }
static PetscErrorCode write_unblocked(DSOutput out, Vec v) { return ds_output_write_particles(out, 99, 9.0, v, NULL); }
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
  DS_ASSERT_PETSC(ds_output_open(PETSC_COMM_WORLD, &opts, &target, &output_test_bandwidth, &out));
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
  output_test_add_restart(tc);
  suite_add_tcase(s, tc);
  return s;
}
