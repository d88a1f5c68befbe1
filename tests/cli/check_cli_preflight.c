/* Runs refused before anything is written (issue 12): paths that coincide by identity (a
   link or another spelling counts) or lie in a missing directory, bad -ts_* values, a
   restart whose checkpoint is damaged or contradicts the options, and an initial field
   that is not finite. Each at 1 and 2 ranks: non-zero exit, one "driftsim: error:" line
   naming the option or file, no traceback or HDF5 stack, every file of the scratch
   directory byte-identical afterwards, no new file there or in the working directory.
   Part of the CLI suite (check_cli.c registers the test case "preflight"). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli_test.h"

#define BASE "-drift_n 64 -ts_max_steps 4 -drift_monitor 0 -drift_diagnostics none"
#define OUT  "-drift_output @/out.h5"
#define INIT "-drift_init file -drift_init_dataset /cloud -drift_init_file "

/* Command lines (after BASE; @ stands for the scratch directory) and what the one error
   line must contain (@ expanded too). */
static const struct {
  const char *args, *names;
} refused[] = {
  /* paths */
  {INIT "@/init.h5 -drift_output @/init.h5", "-drift_output @/init.h5 is the same file as -drift_init_file @/init.h5"},
  {"-drift_target file -drift_target_dataset /samples -drift_target_file @/target.h5 -drift_output @/target_link.h5", "-drift_output @/target_link.h5 is the same file as -drift_target_file @/target.h5"},
  {"-options_file @/run.opts -drift_output @/run.opts", "-drift_output @/run.opts is the same file as -options_file @/run.opts"},
  {OUT " -drift_checkpoint @/../preflight/out.h5", "-drift_output @/out.h5 is the same file as -drift_checkpoint @/../preflight/out.h5"},
  {"-drift_restart @/cp.h5 -drift_output @/cp.h5", "-drift_output @/cp.h5 is the same file as -drift_restart @/cp.h5"},
  {INIT "@/init.h5 " OUT " -drift_checkpoint @/init.h5", "-drift_checkpoint @/init.h5 is the same file as -drift_init_file @/init.h5"},
  {INIT "@/cloud.checkpoint.h5 -drift_output @/cloud.h5", "the checkpoint @/cloud.checkpoint.h5 is the same file as -drift_init_file @/cloud.checkpoint.h5"},
  {"-options_file @/run.opts " OUT " -drift_checkpoint @/run.opts", "-drift_checkpoint @/run.opts is the same file as -options_file @/run.opts"},
  {"-options_file @/outer.opts -drift_output @/inner.opts", "-drift_output @/inner.opts is the same file as -options_file @/inner.opts (included by @/outer.opts)"},
  {"-options_file @/outer.opts " OUT " -drift_checkpoint @/inner.opts", "-drift_checkpoint @/inner.opts is the same file as -options_file @/inner.opts (included by @/outer.opts)"},
  {"-options_file @/chain1.opts -drift_output @/chain9.opts", "-drift_output @/chain9.opts is the same file as -options_file @/chain9.opts (included by @/chain8.opts)"},
  {OUT " -drift_checkpoint @/missing/c.h5", "-drift_checkpoint @/missing/c.h5: directory @/missing does not exist"},
  /* -ts_* */
  {OUT " -ts_dt 0", "-ts_dt 0: the step size must be a finite number > 0"},
  {OUT " -ts_dt -1", "-ts_dt -1: the step size must be a finite number > 0"},
  {OUT " -ts_dt nan", "-ts_dt nan: the step size must be a finite number > 0"},
  {OUT " -ts_max_steps -1", "-ts_max_steps -1: the number of steps must be >= 0"},
  {OUT " -ts_max_time -1", "-ts_max_time -1: the final time must be a finite number > 0"},
  {OUT " -ts_max_time nan", "-ts_max_time nan: the final time must be a finite number > 0"},
  /* a restart: its checkpoint against the options, then damaged checkpoints */
  {OUT " -drift_restart @/cp.h5 -drift_field joint", "-drift_field joint contradicts -drift_restart @/cp.h5, written with -drift_field conservative"},
  {OUT " -drift_restart @/cp.h5 -drift_bandwidth 0.3", "-drift_bandwidth 0.3 contradicts -drift_restart @/cp.h5, written with -drift_bandwidth 0.5"},
  {OUT " -drift_restart @/cp.h5 -drift_diagnostics mmd2", "-drift_diagnostics mmd2 contradicts -drift_restart @/cp.h5, written with -drift_diagnostics none"},
  /* a restart appending to an output that is not the checkpoint's run's, or older */
  {"-drift_output @/other.h5 -drift_restart @/cp.h5", "-drift_output @/other.h5 was written by another run (with -drift_seed 8; -drift_restart @/cp.h5 continues a run with -drift_seed 0)"},
  {"-drift_output @/short.h5 -drift_output_every 1 -drift_restart @/cp.h5", "-drift_output @/short.h5 ends with the snapshot of step 1, but -drift_restart @/cp.h5 (step 4) was written after its run's snapshot of step 3"},
  {OUT " -drift_restart @/cp_nandt.h5", "-drift_restart @/cp_nandt.h5: dt = nan"},
  {OUT " -drift_restart @/cp_nanpos.h5", "-drift_restart @/cp_nanpos.h5: the position of particle 3 is not finite"},
  {OUT " -drift_restart @/cp_truncated.h5", "-drift_restart @/cp_truncated.h5: "},
  {OUT " -drift_restart @/cp_short.h5", "-drift_restart @/cp_short.h5: dataset position holds 126 numbers, not N x d = 64 x 2"},
  {OUT " -drift_restart @/cp_nostep.h5", "-drift_restart @/cp_nostep.h5: the attribute step is missing"},
  {OUT " -drift_restart @/cp_negstep.h5", "-drift_restart @/cp_negstep.h5: step = -2: must be >= 0"},
  /* an initial field that is not finite: the options that cause it are named */
  {OUT " -drift_bandwidth 1e308", "-drift_bandwidth, -drift_init_scale"},
  {OUT " -drift_bandwidth 1e-320", "-drift_bandwidth, -drift_init_scale"},
  {OUT " -drift_init_scale 1e200", "-drift_bandwidth, -drift_init_scale"},
  {OUT " -drift_init_mean 1e308", "-drift_bandwidth, -drift_init_scale, -drift_init_mean"},
  {OUT " -drift_kernel imq -drift_imq_beta 1e308", "-drift_imq_beta"},
  {OUT " -drift_target_scale 1e308", "-drift_target_scale"},
  {"-drift_bandwidth 1e308", "Nothing was written"},
  /* a state that diverges later, with no checkpoint or output named */
  {"-drift_init_mean 1e150 -ts_dt 10 -ts_max_steps 20", "left the guard's ball at step 3 (t = 30.): one is"},
  {"-drift_init_mean 1e150 -ts_dt 10 -ts_max_steps 20", "; nothing was saved (give -drift_checkpoint FILE to keep the last good state)"},
};
#define NREFUSED (int)(sizeof(refused) / sizeof(refused[0]))

static char dir[300];

/* `text` with every @ replaced by the scratch directory, into out. */
static void expand(const char *text, char *out, size_t len)
{
  size_t n = 0;
  for (; *text && n + strlen(dir) + 1 < len; text++) {
    if (*text == '@') n += (size_t)snprintf(out + n, len - n, "%s", dir);
    else out[n++] = *text;
  }
  out[n] = 0;
}

static void write_all(const char *path, const char *bytes, long size)
{
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f && fwrite(bytes, 1, (size_t)size, f) == (size_t)size, "cannot write %s", path);
  fclose(f);
}

/* The regular files of the scratch directory and their contents. */
#define MAX_FILES 64
typedef struct {
  int   count;
  char  name[MAX_FILES][256];
  char *bytes[MAX_FILES];
  long  size[MAX_FILES];
} Snapshot;

static void snapshot_take(Snapshot *s)
{
  DIR           *d = opendir(dir);
  struct dirent *e;
  char           path[600];
  ck_assert(d);
  s->count = 0;
  while ((e = readdir(d))) {
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    if (lstat(path, &st) || !S_ISREG(st.st_mode)) continue;
    ck_assert(s->count < MAX_FILES);
    snprintf(s->name[s->count], sizeof(s->name[0]), "%s", e->d_name);
    s->bytes[s->count] = read_file(path, &s->size[s->count]);
    s->count++;
  }
  closedir(d);
}

/* Puts the directory back as `s` was: its files rewritten, every other regular file removed
   (so that each case starts from the same files whatever an earlier one did). */
static void snapshot_restore(const Snapshot *s)
{
  Snapshot now;
  char     path[600];
  snapshot_take(&now);
  for (int k = 0; k < now.count; k++) {
    snprintf(path, sizeof(path), "%s/%s", dir, now.name[k]);
    ck_assert(unlink(path) == 0);
    free(now.bytes[k]);
  }
  for (int k = 0; k < s->count; k++) {
    snprintf(path, sizeof(path), "%s/%s", dir, s->name[k]);
    write_all(path, s->bytes[k], s->size[k]);
  }
}

/* Asserts that the directory holds exactly the files of `before`, byte for byte. */
static void snapshot_compare(const Snapshot *before, const char *args)
{
  Snapshot after;
  snapshot_take(&after);
  ck_assert_msg(after.count == before->count, "'%s': the directory held %d files, now %d", args, before->count, after.count);
  for (int k = 0; k < before->count; k++) {
    char path[600];
    long size = -1;
    snprintf(path, sizeof(path), "%s/%s", dir, before->name[k]);
    char *bytes = read_file(path, &size);
    ck_assert_msg(bytes && size == before->size[k] && !memcmp(bytes, before->bytes[k], (size_t)size), "'%s' changed %s", args, before->name[k]);
    free(bytes);
  }
  for (int k = 0; k < after.count; k++) free(after.bytes[k]);
}

/* Opens `path` read-write, runs edit on it and closes it. */
static void edit_checkpoint(const char *name, void (*edit)(hid_t file))
{
  char path[400], source[400];
  long size;
  snprintf(source, sizeof(source), "%s/cp.h5", dir);
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  char *bytes = read_file(source, &size);
  write_all(path, bytes, size);
  free(bytes);
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  ck_assert_msg(f >= 0, "cannot open %s", path);
  edit(f);
  ck_assert(H5Fclose(f) >= 0);
}

static void write_scalar(hid_t file, const char *name, hid_t type, const void *value)
{
  hid_t attr = H5Aopen(file, name, H5P_DEFAULT);
  ck_assert(attr >= 0 && H5Awrite(attr, type, value) >= 0);
  H5Aclose(attr);
}

static void nan_dt(hid_t file) { write_scalar(file, "dt", H5T_NATIVE_DOUBLE, &(double){NAN}); }
static void negative_step(hid_t file) { write_scalar(file, "step", H5T_NATIVE_INT, &(int){-2}); }
static void no_step(hid_t file) { ck_assert(H5Adelete(file, "step") >= 0); }

/* Particle 3's second coordinate becomes NaN. */
static void nan_position(hid_t file)
{
  double x[128];
  hid_t  dset = H5Dopen2(file, "position", H5P_DEFAULT);
  ck_assert(dset >= 0 && H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0);
  x[7] = NAN;
  ck_assert(H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0);
  H5Dclose(dset);
}

/* The position dataset replaced by one of 63 rows. */
static void short_positions(hid_t file)
{
  const hsize_t dims[2] = {63, 2};
  double        x[126] = {0};
  ck_assert(H5Ldelete(file, "position", H5P_DEFAULT) >= 0);
  hid_t space = H5Screate_simple(2, dims, NULL);
  hid_t dset  = H5Dcreate2(file, "position", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ck_assert(dset >= 0 && H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0);
  H5Dclose(dset);
  H5Sclose(space);
}

/* The scratch files as prepare made them. */
static Snapshot pristine;

/* The scratch files, made once and kept in `pristine`: an output and a checkpoint of a run
   (out.h5, cp.h5 of step 4, cp.h5.prev), the output of a run of another seed (other.h5)
   and of the same run stopped at step 1 with a snapshot every step (short.h5),
   input tables (init.h5, its copy cloud.checkpoint.h5, target.h5 and a link to it), an
   options file, another (outer.opts) that includes a third (inner.opts), a chain of nine
   (chain1.opts includes chain2.opts, ... chain9.opts), and damaged copies of the
   checkpoint. */
static void prepare(void)
{
  static int done = 0;
  char       path[400], args[1024];
  Run        r;
  long       size;
  if (done) return;
  snprintf(dir, sizeof(dir), "%s/preflight", workdir);
  ck_assert(mkdir(dir, 0755) == 0);
  expand(BASE " " OUT " -drift_checkpoint @/cp.h5 -drift_checkpoint_every 2", args, sizeof(args));
  run_driftsim(&r, 2, args);
  ck_assert_msg(r.exit_code == 0, "the run that makes the checkpoint failed: %.1500s", r.err);
  expand(BASE " -drift_seed 8 -drift_output @/other.h5", args, sizeof(args));
  run_driftsim(&r, 2, args);
  ck_assert_msg(r.exit_code == 0, "the run of another seed failed: %.1500s", r.err);
  expand(BASE " -ts_max_steps 1 -drift_output_every 1 -drift_output @/short.h5", args, sizeof(args));
  run_driftsim(&r, 2, args);
  ck_assert_msg(r.exit_code == 0, "the run of one step failed: %.1500s", r.err);
  double *cloud = make_table(64, 2, cloud_value, -1), *target = make_table(23, 2, target_value, -1);
  snprintf(path, sizeof(path), "%s/init.h5", dir);
  write_table(path, "/cloud", 64, 2, cloud);
  snprintf(path, sizeof(path), "%s/cloud.checkpoint.h5", dir);
  write_table(path, "/cloud", 64, 2, cloud);
  snprintf(path, sizeof(path), "%s/target.h5", dir);
  write_table(path, "/samples", 23, 2, target);
  free(cloud);
  free(target);
  snprintf(path, sizeof(path), "%s/target_link.h5", dir);
  ck_assert(symlink("target.h5", path) == 0);
  snprintf(path, sizeof(path), "%s/run.opts", dir);
  write_all(path, "-drift_seed 7\n", 14);
  snprintf(path, sizeof(path), "%s/inner.opts", dir);
  write_all(path, "-drift_seed 7\n", 14);
  char outer[400];
  snprintf(outer, sizeof(outer), "-options_file %s/inner.opts\n", dir);
  snprintf(path, sizeof(path), "%s/outer.opts", dir);
  write_all(path, outer, (long)strlen(outer));
  for (int k = 1; k <= 9; k++) {
    if (k < 9) snprintf(outer, sizeof(outer), "-options_file %s/chain%d.opts\n", dir, k + 1);
    else snprintf(outer, sizeof(outer), "-drift_seed 7\n");
    snprintf(path, sizeof(path), "%s/chain%d.opts", dir, k);
    write_all(path, outer, (long)strlen(outer));
  }
  edit_checkpoint("cp_nandt.h5", nan_dt);
  edit_checkpoint("cp_negstep.h5", negative_step);
  edit_checkpoint("cp_nostep.h5", no_step);
  edit_checkpoint("cp_nanpos.h5", nan_position);
  edit_checkpoint("cp_short.h5", short_positions);
  snprintf(path, sizeof(path), "%s/cp.h5", dir);
  char *bytes = read_file(path, &size);
  snprintf(path, sizeof(path), "%s/cp_truncated.h5", dir);
  write_all(path, bytes, size / 2);
  free(bytes);
  snapshot_take(&pristine);
  done = 1;
}

/* Case _i / 2 of the table at 1 + _i % 2 ranks. */
START_TEST(refused_before_anything_is_written)
{
  const int ranks = 1 + _i % 2;
  char      args[2048], names[1024], given[1024];
  Run       r;
  prepare();
  snapshot_restore(&pristine);
  const int stray_before = access("driftsim.checkpoint.h5", F_OK) == 0;
  snprintf(given, sizeof(given), "%s %s", BASE, refused[_i / 2].args);
  expand(given, args, sizeof(args));
  expand(refused[_i / 2].names, names, sizeof(names));
  run_driftsim(&r, ranks, args);
  ck_assert_msg(r.exit_code != 0, "'%s' at %d ranks exited 0", args, ranks);
  ck_assert_msg(count_occurrences(r.err, "driftsim: error:") == 1, "'%s' at %d ranks: expected one error line, stderr: %.1500s", args, ranks, r.err);
  ck_assert_msg(strstr(r.err, names), "'%s' at %d ranks: the message does not say '%s': %.1500s", args, ranks, names, r.err);
  ck_assert_msg(!strstr(r.err, "PETSC ERROR") && !strstr(r.err, "HDF5-DIAG") && !strstr(r.err, "MPI_ABORT"), "'%s' at %d ranks: a traceback: %.1500s", args, ranks, r.err);
  ck_assert_msg(!strstr(r.err, "-ts_dt") || strstr(refused[_i / 2].args, "-ts_"), "'%s': the message advises -ts_dt: %.1500s", args, r.err);
  snapshot_compare(&pristine, args);
  ck_assert_msg(stray_before || access("driftsim.checkpoint.h5", F_OK) != 0, "'%s' wrote driftsim.checkpoint.h5 into the working directory", args);
}
END_TEST

void cli_test_add_preflight(Suite *s)
{
  TCase *tc = tcase_create("preflight");
  tcase_set_timeout(tc, 600);
  tcase_add_loop_test(tc, refused_before_anything_is_written, 0, 2 * NREFUSED);
  suite_add_tcase(s, tc);
}
