/* Tests of the output's XDMF sidecar as the file grows and of reopening the output for a
   restart (src/output.c, src/output_restart.c): rank 0 reads the sidecar and the file back
   serially and compares them with values computed from the global indices. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "output_test.h"

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

/* Checks the DataItem at or after `from` (and before `end`): it names
   `views_name`:/<source>/<t> with Dimensions "N d", and that dataset of the views file (open
   as `views`) is an [N][d] virtual dataset mapping [t 0 0] + [1 N d] of /particles/<source>. */
static int check_view(const char *from, const char *end, hid_t views, const char *views_name, const char *source, PetscInt t, PetscInt n, PetscInt dim)
{
  const char *item = strstr(from, "<DataItem Dimensions=\""), *ref = item ? strstr(item, "Format=\"HDF\">") : NULL, *close = ref ? strstr(ref, "</DataItem>") : NULL;
  char        target[PETSC_MAX_PATH_LEN + 64], expected[PETSC_MAX_PATH_LEN + 64], dataset[64], mapped[64] = "", wanted[64];
  long long   xdims[2];
  hsize_t     dims[2] = {0, 0}, first[3] = {1, 1, 1}, last[3] = {0, 0, 0};
  int         ok;

  if (!close || close > end) {
    fprintf(stderr, "snapshot %d: no DataItem for %s\n", (int)t, source);
    return 0;
  }
  snprintf(dataset, sizeof(dataset), "/%s/%d", source, (int)t);
  snprintf(wanted, sizeof(wanted), "/particles/%s", source);
  snprintf(target, sizeof(target), "%.*s", (int)(close - ref - strlen("Format=\"HDF\">")), ref + strlen("Format=\"HDF\">"));
  snprintf(expected, sizeof(expected), "%s:%s", views_name, dataset);
  ok = sscanf(item + strlen("<DataItem Dimensions=\""), "%lld %lld", &xdims[0], &xdims[1]) == 2 && xdims[0] == n && xdims[1] == dim && !strcmp(target, expected);
  if (!ok) fprintf(stderr, "snapshot %d: the DataItem is %s [%lld %lld], expected %s [%d %d]\n", (int)t, target, xdims[0], xdims[1], expected, (int)n, (int)dim);
  if (ok) {
    char group[64];
    snprintf(group, sizeof(group), "/%s", source);
    hid_t dset = H5Lexists(views, group, H5P_DEFAULT) > 0 && H5Lexists(views, dataset, H5P_DEFAULT) > 0 ? H5Dopen2(views, dataset, H5P_DEFAULT) : H5I_INVALID_HID;
    hid_t dcpl = dset >= 0 ? H5Dget_create_plist(dset) : H5I_INVALID_HID, space = dset >= 0 ? H5Dget_space(dset) : H5I_INVALID_HID;
    hid_t src  = dcpl >= 0 && H5Pget_layout(dcpl) == H5D_VIRTUAL ? H5Pget_virtual_srcspace(dcpl, 0) : H5I_INVALID_HID;
    size_t count = 0;
    ok = src >= 0 && H5Pget_virtual_count(dcpl, &count) >= 0 && count == 1 && H5Pget_virtual_dsetname(dcpl, 0, mapped, sizeof(mapped)) > 0 && !strcmp(mapped, wanted);
    ok = ok && H5Sget_select_bounds(src, first, last) >= 0 && first[0] == (hsize_t)t && last[0] == (hsize_t)t && first[1] == 0 && last[1] == (hsize_t)n - 1 && first[2] == 0 && last[2] == (hsize_t)dim - 1;
    ok = ok && H5Sget_simple_extent_dims(space, dims, NULL) == 2 && dims[0] == (hsize_t)n && dims[1] == (hsize_t)dim;
    if (!ok) fprintf(stderr, "snapshot %d: %s of the views file is not the [%d][%d] view of row %d of %s\n", (int)t, dataset, (int)n, (int)dim, (int)t, wanted);
    if (src >= 0) H5Sclose(src);
    if (space >= 0) H5Sclose(space);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (dset >= 0) H5Dclose(dset);
  }
  return ok;
}

/* Checks the XDMF sidecar text against the HDF5 file it describes (open as `file`, named
   `name` in the sidecar): `snapshots` Uniform grids, grid t at time /particles/time[t] with
   N Polyvertex points, XY or XYZ geometry and a velocity attribute exactly when the file has
   velocities, each the view of snapshot t in the views file (open as `views`, named
   `views_name` in the sidecar). Serial (rank 0). */
static int check_sidecar(const char *text, hid_t file, hid_t views, const char *views_name, PetscInt snapshots, PetscInt n, PetscInt dim)
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
    ok = ok && check_view(shape, end, views, views_name, "position", t, n, dim);
    if (velocity) ok = ok && attribute && attribute < end && check_view(attribute, end, views, views_name, "velocity", t, n, dim);
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
    char        xmf[PETSC_MAX_PATH_LEN], views[PETSC_MAX_PATH_LEN + 16], tmp[PETSC_MAX_PATH_LEN + 8], copy[PETSC_MAX_PATH_LEN + 8];
    char       *text;
    hid_t       file, view_file;

    companion_of(path, ".xmf", xmf, sizeof(xmf));
    companion_of(path, ".views.h5", views, sizeof(views));
    snprintf(tmp, sizeof(tmp), "%s.tmp", xmf);
    snprintf(copy, sizeof(copy), "%s.copy", path);
    text = read_text_file(xmf);
    *ok  = copy_file(path, copy);
    file      = *ok ? H5Fopen(copy, H5F_ACC_RDONLY, H5P_DEFAULT) : H5I_INVALID_HID;
    view_file = H5Fopen(views, H5F_ACC_RDONLY, H5P_DEFAULT);
    *ok       = file >= 0 && view_file >= 0 && check_sidecar(text, file, view_file, strrchr(views, '/') + 1, snapshots, n, dim) && access(tmp, F_OK) != 0;
    if (view_file >= 0) H5Fclose(view_file);
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
  companion_of(path, ".xmf", xmf, sizeof(xmf));
  DS_ASSERT_PETSC(write_text_file(xmf, "stale\n"));
  fill_options(n, dim, path, &opts);
  DS_ASSERT_PETSC(make_target(dim, SAMPLES, PETSC_FALSE, PETSC_FALSE, &target));
  DS_ASSERT_PETSC(make_particles(n, dim, PETSC_FALSE, &X));
  DS_ASSERT_PETSC(VecDuplicate(X, &V));
  DS_ASSERT_PETSC(ds_output_open(PETSC_COMM_WORLD, &opts, &target, &output_test_bandwidth, &out));
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

  DS_ASSERT_PETSC(ds_output_open(PETSC_COMM_WORLD, &opts, &target, &output_test_bandwidth, &out));
  DS_ASSERT_PETSC(write_steps(out, X, V, 0, 5, same_row));
  DS_ASSERT_PETSC(ds_output_close(&out));
  if (PetscGlobalRank == 0) {
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);

    created = read_string_attribute(file, "created");
    H5Fclose(file);
  }
  /* HDF5 locks open files: no rank may reopen the file before rank 0 has closed it. */
  DS_ASSERT_PETSC(MPI_Barrier(PETSC_COMM_WORLD));

  DS_ASSERT_PETSC(ds_output_reopen(PETSC_COMM_WORLD, &opts, &target, &output_test_bandwidth, 3, &out));
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
  DS_ASSERT_PETSC(ds_output_reopen(PETSC_COMM_WORLD, &opts, &target, &output_test_bandwidth, 6, &out));
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
  DS_ASSERT_PETSC(ds_output_reopen(PETSC_COMM_WORLD, &opts, &target, &output_test_bandwidth, 2, &out));
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

/* A views file a killed run left broken (here cut to its first 100 bytes, inside HDF5's
   metadata) is made again when the run restarts: the reopen succeeds and the sidecar and
   every view describe the kept snapshots (test_kill9.sh met such a file once in ten kills). */
START_TEST(test_broken_views_made_again)
{
  const PetscInt n = 7, dim = 2;
  char           path[PETSC_MAX_PATH_LEN], views[PETSC_MAX_PATH_LEN + 16];
  DSOptions      opts;
  DSTarget       target;
  DSOutput       out = NULL;
  Vec            X, V;
  int            ok = 1;

  DS_ASSERT_PETSC(ds_test_path("output", "broken_views.h5", path, sizeof(path)));
  companion_of(path, ".views.h5", views, sizeof(views));
  fill_options(n, dim, path, &opts);
  snprintf(opts.restart, sizeof(opts.restart), "/tmp/run.chk");
  DS_ASSERT_PETSC(make_target(dim, SAMPLES, PETSC_FALSE, PETSC_FALSE, &target));
  DS_ASSERT_PETSC(make_particles(n, dim, PETSC_FALSE, &X));
  DS_ASSERT_PETSC(VecDuplicate(X, &V));
  DS_ASSERT_PETSC(ds_output_open(PETSC_COMM_WORLD, &opts, &target, &output_test_bandwidth, &out));
  DS_ASSERT_PETSC(write_steps(out, X, V, 0, 5, same_row));
  DS_ASSERT_PETSC(ds_output_close(&out));
  if (PetscGlobalRank == 0) ok = truncate(views, 100) == 0;
  DS_ASSERT_PETSC(share_verdict(&ok));
  DS_ASSERT_ALL(ok, "could not cut the views file %s", views);
  DS_ASSERT_PETSC(ds_output_reopen(PETSC_COMM_WORLD, &opts, &target, &output_test_bandwidth, 3, &out));
  DS_ASSERT_PETSC(check_sidecar_now(path, 3, n, dim, &ok));
  DS_ASSERT_ALL(ok, "after a reopen over a broken views file, the sidecar and views do not describe the 3 kept snapshots");
  DS_ASSERT_PETSC(ds_output_close(&out));
  if (PetscGlobalRank == 0) remove_output(path);
  DS_ASSERT_PETSC(VecDestroy(&X));
  DS_ASSERT_PETSC(VecDestroy(&V));
  DS_ASSERT_PETSC(free_target(&target));
}
END_TEST

void output_test_add_restart(TCase *tc)
{
  tcase_add_loop_test(tc, test_xdmf_sidecar, 0, 3);
  tcase_add_test(tc, test_reopen_for_restart);
  tcase_add_test(tc, test_broken_views_made_again);
}
