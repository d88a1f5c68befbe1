/* Tests of what the output leaves for a killed job or a full file (src/output.c,
   src/h5util.c): the complete_rows count a restart trusts over the series' lengths, the
   file cut back to its end of allocation on close, and a file size limit on one rank only
   met by the room reserved ahead of HDF5, on every rank. Rank 0 reads the files serially. */
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include "output_test.h"

#define WRITTEN SNAPSHOTS /* snapshots the first run writes */

/* Reads the int64 attribute complete_rows of /particles (serial, rank 0); -1 if missing. */
static int64_t complete_rows(hid_t file)
{
  int64_t rows = -1;
  hid_t   attr = H5Aopen_by_name(file, "/particles", "complete_rows", H5P_DEFAULT, H5P_DEFAULT);

  if (attr >= 0 && H5Aread(attr, H5T_NATIVE_INT64, &rows) < 0) rows = -1;
  if (attr >= 0) H5Aclose(attr);
  return rows;
}

/* Whether every /particles series has `rows` rows; with `grow`, each that has is then grown
   by one row without touching complete_rows: what a job killed within an append leaves
   (serial, rank 0). */
static int series_have(hid_t file, hsize_t rows, PetscBool grow)
{
  const char *const names[] = {"/particles/step", "/particles/time", "/particles/position", "/particles/velocity"};
  int               ok      = 1;

  for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
    hid_t   ds = H5Dopen2(file, names[k], H5P_DEFAULT), space = ds >= 0 ? H5Dget_space(ds) : -1;
    hsize_t dims[3] = {0, 0, 0};

    ok = ok && space >= 0 && H5Sget_simple_extent_dims(space, dims, NULL) >= 1 && dims[0] == rows;
    if (!ok) fprintf(stderr, "%s has %llu rows, expected %llu\n", names[k], (unsigned long long)dims[0], (unsigned long long)rows);
    dims[0]++;
    ok = ok && (!grow || H5Dset_extent(ds, dims) >= 0);
    if (space >= 0) H5Sclose(space);
    if (ds >= 0) H5Dclose(ds);
  }
  return ok;
}

/* Whether the closed file `path` ends at the end of allocation its superblock stores. */
static int ends_at_eoa(const char *path)
{
  hid_t       file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  haddr_t     eoa  = 0;
  struct stat st;
  int         ok = file >= 0 && H5Fget_eoa(file, &eoa) >= 0 && !stat(path, &st) && (haddr_t)st.st_size == eoa;

  if (!ok) fprintf(stderr, "%s: length %lld, stored EOA %llu\n", path, (long long)st.st_size, (unsigned long long)eoa);
  if (file >= 0) H5Fclose(file);
  return ok;
}

/* A run writes WRITTEN snapshots; then a killed append is simulated (every series one row
   longer, complete_rows untouched). The closed file ends at its stored EOA (the room given
   back), complete_rows counts the WRITTEN rows, and a restart after all of them keeps
   exactly those. */
START_TEST(test_restart_trusts_complete_rows)
{
  const PetscInt n = 7, dim = 2;
  char           path[PETSC_MAX_PATH_LEN];
  DSOptions      opts;
  DSTarget       target;
  DSOutput       out = NULL;
  Vec            X, V;
  int            ok  = 1;

  DS_ASSERT_PETSC(ds_test_path("output_rows", "killed.h5", path, sizeof(path)));
  fill_options(n, dim, path, &opts);
  DS_ASSERT_PETSC(make_target(dim, SAMPLES, PETSC_FALSE, PETSC_FALSE, &target));
  DS_ASSERT_PETSC(make_particles(n, dim, PETSC_FALSE, &X));
  DS_ASSERT_PETSC(VecDuplicate(X, &V));
  DS_ASSERT_PETSC(ds_output_open(PETSC_COMM_WORLD, &opts, &target, &output_test_bandwidth, &out));
  for (PetscInt s = 0; s < WRITTEN; s++) {
    DS_ASSERT_PETSC(fill_particles(X, s, position_value));
    DS_ASSERT_PETSC(fill_particles(V, s, velocity_value));
    DS_ASSERT_PETSC(ds_output_write_particles(out, snapshot_step(s), snapshot_time(s), X, V));
  }
  DS_ASSERT_PETSC(ds_output_close(&out));
  if (PetscGlobalRank == 0) {
    hid_t file;

    ok   = ends_at_eoa(path);
    file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ok   = ok && file >= 0 && complete_rows(file) == WRITTEN && series_have(file, WRITTEN, PETSC_TRUE);
    if (file >= 0) H5Fclose(file);
  }
  DS_ASSERT_PETSC(share_verdict(&ok));
  DS_ASSERT_ALL(ok, "the closed output does not end at its EOA or does not count its %d rows", WRITTEN);
  DS_ASSERT_PETSC(MPI_Barrier(PETSC_COMM_WORLD)); /* rank 0 has closed the file */

  snprintf(opts.restart, sizeof(opts.restart), "/tmp/run.chk");
  DS_ASSERT_PETSC(ds_output_reopen(PETSC_COMM_WORLD, &opts, &target, &output_test_bandwidth, 1000, &out));
  DS_ASSERT_PETSC(ds_output_close(&out));
  if (PetscGlobalRank == 0) {
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);

    ok = file >= 0 && complete_rows(file) == WRITTEN && series_have(file, WRITTEN, PETSC_FALSE) && check_particles(file, WRITTEN, n, dim, PETSC_TRUE);
    if (file >= 0) H5Fclose(file);
    remove_output(path);
  }
  DS_ASSERT_PETSC(share_verdict(&ok));
  DS_ASSERT_ALL(ok, "the restart kept the uncounted row of a killed append");
  DS_ASSERT_PETSC(VecDestroy(&X));
  DS_ASSERT_PETSC(VecDestroy(&V));
  DS_ASSERT_PETSC(free_target(&target));
}
END_TEST

/* A snapshot without velocities, for fails_with. */
static PetscErrorCode write_snapshot(DSOutput out, Vec X) { return ds_output_write_particles(out, 0, 0.0, X, NULL); }

/* The last rank's file size limit is set just above the new file's length: the snapshot's
   room cannot be reserved, every rank fails with PETSC_ERR_FILE_WRITE (no hang), and the
   file, closed by the failure, still opens. */
START_TEST(test_one_rank_limit_is_agreed)
{
  const PetscInt n = 7, dim = 2;
  char           path[PETSC_MAX_PATH_LEN];
  DSOptions      opts;
  DSTarget       target;
  DSOutput       out = NULL;
  Vec            X;
  struct rlimit  saved, limit;
  struct stat    st;
  PetscMPIInt    size;
  int            ok;

  DS_ASSERT_PETSC(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  DS_ASSERT_PETSC(ds_test_path("output_rows", "limited.h5", path, sizeof(path)));
  fill_options(n, dim, path, &opts);
  DS_ASSERT_PETSC(make_target(dim, SAMPLES, PETSC_FALSE, PETSC_FALSE, &target));
  DS_ASSERT_PETSC(make_particles(n, dim, PETSC_FALSE, &X));
  DS_ASSERT_PETSC(fill_particles(X, 0, position_value));
  DS_ASSERT_PETSC(ds_output_open(PETSC_COMM_WORLD, &opts, &target, &output_test_bandwidth, &out));
  ok = !getrlimit(RLIMIT_FSIZE, &saved) && !stat(path, &st);
  if (ok && PetscGlobalRank == size - 1) {
    limit          = saved;
    limit.rlim_cur = (rlim_t)st.st_size + 1024;
    ok             = signal(SIGXFSZ, SIG_IGN) != SIG_ERR && !setrlimit(RLIMIT_FSIZE, &limit);
  }
  DS_ASSERT_ALL(ok, "the file size limit could not be set");
  ok = fails_with(PETSC_ERR_FILE_WRITE, write_snapshot, out, X);
  if (PetscGlobalRank == size - 1) (void)setrlimit(RLIMIT_FSIZE, &saved);
  DS_ASSERT_ALL(ok, "a file size limit on rank %d only did not fail the snapshot on every rank", (int)size - 1);
  if (PetscGlobalRank == 0) {
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);

    ok = file >= 0 && check_int_attribute(file, "n", n);
    if (file >= 0) H5Fclose(file);
    remove_output(path);
  }
  DS_ASSERT_PETSC(share_verdict(&ok));
  DS_ASSERT_ALL(ok, "the output does not open after the failed snapshot");
  DS_ASSERT_PETSC(VecDestroy(&X));
  DS_ASSERT_PETSC(free_target(&target));
}
END_TEST

Suite *ds_suite_output_rows(void)
{
  Suite *s  = suite_create("output_rows");
  TCase *tc = tcase_create("rows");

  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_restart_trusts_complete_rows);
  tcase_add_test(tc, test_one_rank_limit_is_agreed);
  suite_add_tcase(s, tc);
  return s;
}
