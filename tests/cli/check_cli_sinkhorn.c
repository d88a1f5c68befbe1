/* The sinkhorn field's and sinkhorn_divergence diagnostic's options refused by name (eps,
   tol, scaling, Anderson memory out of range, no samples, options that apply to neither the
   field nor the diagnostic in the run), at 1 and 2 ranks: non-zero exit, one
   "driftsim: error:" line naming the option, no traceback, the files of the case's
   directory byte-identical and no new one. And a run whose Sinkhorn iterations do not
   converge: a clean error naming -drift_sinkhorn_max_iterations, its output readable with
   the rows written before.
   Part of the CLI suite (check_cli.c registers the test case "sinkhorn"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli_test.h"

#define BASE    "-drift_n 40 -drift_dim 2 -ts_max_steps 2 -drift_monitor 0 -drift_diagnostics none -drift_target gaussian"
#define FIELD   " -drift_field sinkhorn -drift_target_samples 30"
#define DIVERGE " -drift_diagnostics sinkhorn -drift_target_samples 30"

static const struct {
  const char *args, *names;
} refused[] = {
  {FIELD " -drift_sinkhorn_epsilon 0", "-drift_sinkhorn_epsilon 0 is out of range: it must be > 0"},
  {FIELD " -drift_sinkhorn_epsilon -1", "-drift_sinkhorn_epsilon -1 is out of range: it must be > 0"},
  {FIELD " -drift_sinkhorn_tol 0", "-drift_sinkhorn_tol 0 is out of range: it must be > 0"},
  {DIVERGE " -drift_sinkhorn_tol 0", "-drift_sinkhorn_tol 0 is out of range: it must be > 0"},
  {DIVERGE " -drift_sinkhorn_divergence_epsilon 0", "-drift_sinkhorn_divergence_epsilon 0 is out of range: it must be > 0"},
  {FIELD " -drift_sinkhorn_scaling 1", "-drift_sinkhorn_scaling 1"},
  {FIELD " -drift_sinkhorn_scaling 1", "must be below 1"},
  {FIELD " -drift_sinkhorn_anderson_memory -1", "-drift_sinkhorn_anderson_memory -1 is out of range"},
  {" -drift_sinkhorn_anderson_memory 3", "-drift_sinkhorn_* solver options apply to -drift_field sinkhorn and the sinkhorn_divergence diagnostic"},
  {" -drift_sinkhorn_extrapolate 0", "-drift_sinkhorn_* solver options apply to -drift_field sinkhorn and the sinkhorn_divergence diagnostic"},
  {" -drift_field sinkhorn -drift_target_samples 0", "-drift_field sinkhorn"},
  {" -drift_field sinkhorn -drift_target_samples 0", "-drift_target_samples"},
  {" -drift_field displacement -drift_target_samples 30 -drift_sinkhorn_epsilon 0.1", "-drift_sinkhorn_epsilon applies to -drift_field sinkhorn"},
  {" -drift_field sinkhorn -drift_target_samples 30 -drift_sinkhorn_divergence_epsilon 0.1", "-drift_sinkhorn_divergence_epsilon applies to the sinkhorn_divergence diagnostic"},
  {" -drift_sinkhorn_tol 1e-6", "-drift_sinkhorn_* solver options apply to -drift_field sinkhorn and the sinkhorn_divergence diagnostic"},
  {" -drift_sinkhorn_max_iterations 5", "-drift_sinkhorn_* solver options apply to -drift_field sinkhorn and the sinkhorn_divergence diagnostic"},
};
#define NREFUSED (int)(sizeof(refused) / sizeof(refused[0]))

static const char kept_contents[] = "keep me\0 byte for byte\n";

/* The case's directory <workdir>/sinkhorn, made afresh holding keep.h5 only. */
static void fresh_directory(char *dir, size_t len)
{
  char cmd[600];
  snprintf(dir, len, "%s/sinkhorn", workdir);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir '%s'", dir, dir);
  ck_assert(system(cmd) == 0);
  snprintf(cmd, sizeof(cmd), "%s/keep.h5", dir);
  FILE *f = fopen(cmd, "wb");
  ck_assert(f && fwrite(kept_contents, 1, sizeof(kept_contents), f) == sizeof(kept_contents));
  fclose(f);
}

/* Asserts one clean error line naming `names` and no traceback. */
static void assert_clean_error(const Run *r, int ranks, const char *args, const char *names)
{
  ck_assert_msg(r->exit_code != 0, "'%s' at %d ranks exited 0", args, ranks);
  ck_assert_msg(count_occurrences(r->err, "driftsim: error:") == 1, "'%s' at %d ranks: expected one error line, stderr: %.1500s", args, ranks, r->err);
  ck_assert_msg(strstr(r->err, names) != NULL, "'%s' at %d ranks: the message does not name '%s': %.1500s", args, ranks, names, r->err);
  ck_assert_msg(!strstr(r->err, "PETSC ERROR") && !strstr(r->out, "PETSC ERROR") && !strstr(r->err, "HDF5-DIAG"), "'%s' at %d ranks: a traceback: %.1500s", args, ranks, r->err);
}

START_TEST(sinkhorn_options_are_refused_by_name)
{
  for (int ranks = cli_refusal_ranks(1); ranks <= cli_refusal_ranks(2); ranks++)
    for (int k = 0; k < NREFUSED; k++) {
      char dir[300], args[2048], path[400], seen[64] = {0};
      Run  r;
      fresh_directory(dir, sizeof(dir));
      snprintf(args, sizeof(args), BASE " -drift_output %s/keep.h5 -drift_checkpoint %s/cp.h5%s", dir, dir, refused[k].args);
      run_driftsim(&r, ranks, args);
      assert_clean_error(&r, ranks, refused[k].args, refused[k].names);
      snprintf(path, sizeof(path), "%s/keep.h5", dir);
      FILE        *f = fopen(path, "rb");
      const size_t n = f ? fread(seen, 1, sizeof(seen), f) : 0;
      if (f) fclose(f);
      ck_assert_msg(n == sizeof(kept_contents) && !memcmp(seen, kept_contents, n), "'%s' at %d ranks changed the existing output file", refused[k].args, ranks);
      snprintf(path, sizeof(path), "%s/cp.h5", dir);
      struct stat st;
      ck_assert_msg(stat(path, &st) != 0, "'%s' at %d ranks wrote the checkpoint %s", refused[k].args, ranks, path);
    }
}
END_TEST

/* Runs `args` (after BASE FIELD) on `ranks` ranks with -drift_output <dir>/keep.h5: they
   must stop with one clean error saying the Sinkhorn iterations did not converge and
   naming -drift_sinkhorn_max_iterations. */
static void run_unconverged(int ranks, const char *args, char *dir, size_t len)
{
  char all[2048];
  Run  r;
  fresh_directory(dir, len);
  snprintf(all, sizeof(all), BASE FIELD " %s -drift_output %s/keep.h5", args, dir);
  run_driftsim(&r, ranks, all);
  assert_clean_error(&r, ranks, args, "-drift_sinkhorn_max_iterations");
  ck_assert_msg(strstr(r.err, "did not converge"), "'%s' at %d ranks: the message does not say the iterations did not converge: %.1500s", args, ranks, r.err);
}

/* 2 iterations cannot converge (eps-scaling from the diameter's cost down to eps): the
   run stops at its first evaluation, before the output is opened, which stays as it was.
   400 iterations converge at step 0 (43 taken, 262 without Anderson mixing) but not after a
   step of dt 20 has thrown the particles far: the run stops with the rows of step 0 written
   and readable. */
START_TEST(unconverged_sinkhorn_stops_the_run_cleanly)
{
  for (int ranks = 1; ranks <= 2; ranks++) {
    char    dir[300], out[400], seen[64] = {0};
    int     rank;
    hsize_t dims[3], sdims[3], xdims[3];
    run_unconverged(ranks, "-drift_sinkhorn_epsilon 0.01 -drift_sinkhorn_max_iterations 2", dir, sizeof(dir));
    snprintf(out, sizeof(out), "%s/keep.h5", dir);
    FILE        *f = fopen(out, "rb");
    const size_t n = f ? fread(seen, 1, sizeof(seen), f) : 0;
    if (f) fclose(f);
    ck_assert_msg(n == sizeof(kept_contents) && !memcmp(seen, kept_contents, n), "at %d ranks: the run stopped at its first evaluation changed the existing output file", ranks);

    run_unconverged(ranks, "-drift_sinkhorn_epsilon 0.1 -drift_sinkhorn_max_iterations 400 -ts_dt 20 -drift_output_every 1", dir, sizeof(dir));
    hid_t file = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(file >= 0, "at %d ranks: the output %s of the stopped run is not a readable HDF5 file", ranks, out);
    double *step = read_dataset(file, "/particles/step", &rank, sdims), *x = read_dataset(file, "/particles/position", &rank, xdims);
    double *iterations = read_dataset(file, "/diagnostics/sinkhorn_iterations", &rank, dims);
    ck_assert_msg(sdims[0] == 1 && step[0] == 0 && xdims[0] == 1 && xdims[1] == 40, "at %d ranks: the output holds %d rows (first step %g), expected step 0's", ranks, (int)sdims[0], step[0]);
    ck_assert_msg(dims[0] == 1 && iterations[0] >= 1 && iterations[0] <= 400, "at %d ranks: step 0's sinkhorn_iterations %g", ranks, iterations[0]);
    for (hsize_t k = 0; k < xdims[1] * xdims[2]; k++) ck_assert_msg(isfinite(x[k]), "at %d ranks: position %d of step 0 is not finite", ranks, (int)k);
    free(step);
    free(x);
    free(iterations);
    H5Fclose(file);
  }
}
END_TEST

void cli_test_add_sinkhorn(Suite *s)
{
  TCase *tc = tcase_create("sinkhorn");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, sinkhorn_options_are_refused_by_name);
  tcase_add_test(tc, unconverged_sinkhorn_stops_the_run_cleanly);
  suite_add_tcase(s, tc);
}
