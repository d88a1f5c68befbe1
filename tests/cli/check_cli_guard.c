/* The divergence guard as a user meets it (issue 12, "the last good state is useful"). A
   run that diverges (explicit Euler far beyond its stability limit) must stop at the first
   step whose state leaves the guard's ball, report that step, its time and the particle
   with the largest velocity, and save the state of the step before, bit for bit, next to
   the checkpoint or output named. Everything is checked against a second run of one step
   less that writes every snapshot with its velocity: the ball is recomputed here from its
   first snapshot (the initial cloud) and its /target group as the guide states it, each
   stored state must be inside, and the state the next Euler step reaches must be outside;
   a restart from the saved state stops again at the same step with the same line.
   And the runs of the options files in runs/, at 256 particles for their whole length, never trip. Part
   of the CLI suite (check_cli.c registers the test case "guard"). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli_test.h"

#define QUIET "-drift_monitor 0 -drift_diagnostics none"

/* Diverging runs of the conservative gaussian field: the analytic gaussian target, and
   target samples with a wide kernel (a narrow one underflows far from the samples and
   freezes the particles instead). Their bandwidth and step are needed for the ball. */
static const struct {
  const char *args;
  double      h, dt;
  const char *option, *file, *saved; /* the file named, and where the last good state goes */
} diverging[] = {
  {"-drift_n 64 -drift_bandwidth 0.5 -ts_dt 3 -ts_max_steps 60", 0.5, 3.0, "-drift_checkpoint", "cp.h5", "cp.h5"},
  {"-drift_n 64 -drift_bandwidth 5 -drift_target_samples 40 -ts_dt 100 -ts_max_steps 60", 5.0, 100.0, "-drift_output", "a.h5", "a.checkpoint.h5"},
};

/* The largest distance from c of the n points x [n][d]. */
static double farthest(const double *x, int n, int d, const double c[])
{
  double far = 0;
  for (int i = 0; i < n; i++) {
    double r2 = 0;
    for (int j = 0; j < d; j++) r2 += (x[i * d + j] - c[j]) * (x[i * d + j] - c[j]);
    far = fmax(far, sqrt(r2));
  }
  return far;
}

/* The guide's ball from the initial cloud x0 [n][d] and the target of the output file f
   (samples, or mixture components as balls of 3 RMS radii): its centre c (middle of the
   bounding box) into c, and the returned extent E (largest distance from c). */
static double guide_ball(hid_t f, const double *x0, int n, int d, double c[], int *analytic)
{
  int      rank;
  hsize_t  dims[3];
  double   lo[4], hi[4], *y, *radius, extent;
  int      m;
  *analytic = H5Lexists(f, "/target/samples", H5P_DEFAULT) <= 0;
  if (*analytic) {
    y             = read_dataset(f, "/target/means", &rank, dims);
    m             = (int)dims[0];
    double *cov   = read_dataset(f, "/target/covariances", &rank, dims);
    radius        = malloc(sizeof(double) * (size_t)m);
    for (int k = 0; k < m; k++) {
      double trace = 0;
      for (int j = 0; j < d; j++) trace += cov[(k * d + j) * d + j];
      radius[k] = 3 * sqrt(trace);
    }
    free(cov);
  } else {
    y      = read_dataset(f, "/target/samples", &rank, dims);
    m      = (int)dims[0];
    radius = calloc((size_t)m, sizeof(double));
  }
  ck_assert(d <= 4);
  for (int j = 0; j < d; j++) lo[j] = INFINITY, hi[j] = -INFINITY;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < d; j++) lo[j] = fmin(lo[j], x0[i * d + j]), hi[j] = fmax(hi[j], x0[i * d + j]);
  for (int k = 0; k < m; k++)
    for (int j = 0; j < d; j++) lo[j] = fmin(lo[j], y[k * d + j] - radius[k]), hi[j] = fmax(hi[j], y[k * d + j] + radius[k]);
  for (int j = 0; j < d; j++) c[j] = (lo[j] + hi[j]) / 2;
  extent = farthest(x0, n, d, c);
  for (int k = 0; k < m; k++) {
    double r2 = 0;
    for (int j = 0; j < d; j++) r2 += (y[k * d + j] - c[j]) * (y[k * d + j] - c[j]);
    extent = fmax(extent, sqrt(r2) + radius[k]);
  }
  free(y);
  free(radius);
  return extent;
}

/* Case _i / 2 of `diverging` at 1 + _i % 2 ranks. */
START_TEST(diverging_run_stops_at_the_first_step_outside)
{
  const int ranks = 1 + _i % 2, which = _i / 2;
  char      dir[300], args[2048], saved[400];
  Run       r;
  snprintf(dir, sizeof(dir), "%s/guard_%d", workdir, _i);
  ck_assert(mkdir(dir, 0755) == 0);
  snprintf(saved, sizeof(saved), "%s/%s", dir, diverging[which].saved);

  /* The diverging run: one error line naming the step, t, the fastest particle and where
     the last good state went. */
  snprintf(args, sizeof(args), "%s %s %s %s/%s", diverging[which].args, QUIET, diverging[which].option, dir, diverging[which].file);
  const int stray_before = access("driftsim.checkpoint.h5", F_OK) == 0;
  run_driftsim(&r, ranks, args);
  ck_assert_msg(r.exit_code != 0, "'%s' at %d ranks exited 0: the guard did not trip", args, ranks);
  ck_assert_msg(count_occurrences(r.err, "driftsim: error:") == 1 && !strstr(r.err, "PETSC ERROR"), "'%s': expected one error line: %.2000s", args, r.err);
  int    step = -1, fastest = -1;
  double t = NAN, speed = NAN;
  const char *at = strstr(r.err, "left the guard's ball at step ");
  ck_assert_msg(at && sscanf(at, "left the guard's ball at step %d (t = %lf", &step, &t) == 2, "no step in: %.2000s", r.err);
  at = strstr(r.err, "the fastest particle over the step is particle ");
  ck_assert_msg(at && sscanf(at, "the fastest particle over the step is particle %d, at speed %lf", &fastest, &speed) == 2, "no fastest particle in: %.2000s", r.err);
  char where[600];
  snprintf(where, sizeof(where), "the last good state (step %d, t = ", step - 1);
  ck_assert_msg(strstr(r.err, where) && strstr(r.err, saved), "the message does not say that step %d went to %s: %.2000s", step - 1, saved, r.err);
  ck_assert_msg(step >= 2, "tripped at step %d: no earlier step to compare", step);
  ck_assert_msg(stray_before || access("driftsim.checkpoint.h5", F_OK) != 0, "driftsim.checkpoint.h5 written into the working directory");
  char first[4096];
  snprintf(first, sizeof(first), "%.*s", (int)strcspn(strstr(r.err, "driftsim: error:"), "\n"), strstr(r.err, "driftsim: error:"));

  /* The same run for one step less, writing every state and its velocity. */
  char out[400];
  snprintf(out, sizeof(out), "%s/b.h5", dir);
  snprintf(args, sizeof(args), "%s %s -ts_max_steps %d -drift_output %s -drift_output_every 1 -drift_output_velocity", diverging[which].args, QUIET, step - 1, out);
  run_driftsim(&r, ranks, args);
  ck_assert_msg(r.exit_code == 0, "'%s' (the run of one step less) failed: %.2000s", args, r.err);
  hid_t   f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
  int     rank, analytic;
  hsize_t dims[3], vdims[3];
  ck_assert(f >= 0);
  double *x = read_dataset(f, "/particles/position", &rank, dims), *v = read_dataset(f, "/particles/velocity", &rank, vdims);
  const int rows = (int)dims[0], n = (int)dims[1], d = (int)dims[2];
  ck_assert_msg(rows == step, "%d snapshots, expected steps 0 to %d", rows, step - 1);
  double c[4], extent = guide_ball(f, x, n, d, c, &analytic);
  H5Fclose(f);

  /* The guide's radius for the conservative gaussian field: R = 4 E + dt v_max with
     v_max = D / h^2 (samples) or 2 D / h^2 (mixture) and D = 8 E. */
  const double h = diverging[which].h, dt = diverging[which].dt;
  const double radius = 4 * extent + dt * (analytic ? 2 : 1) * 8 * extent / (h * h);
  for (int k = 0; k < rows; k++) ck_assert_msg(farthest(&x[(size_t)k * n * d], n, d, c) <= radius, "step %d is already outside the ball (%g > %g)", k, farthest(&x[(size_t)k * n * d], n, d, c), radius);
  const double *last = &x[(size_t)(rows - 1) * n * d], *vlast = &v[(size_t)(rows - 1) * n * d];
  double       *next = malloc(sizeof(double) * (size_t)(n * d)), best = -1;
  int           argmax = -1;
  for (int i = 0; i < n; i++) {
    double s2 = 0;
    for (int j = 0; j < d; j++) next[i * d + j] = last[i * d + j] + dt * vlast[i * d + j], s2 += vlast[i * d + j] * vlast[i * d + j];
    if (sqrt(s2) > best) best = sqrt(s2), argmax = i;
  }
  ck_assert_msg(farthest(next, n, d, c) > radius, "the Euler step to step %d stays inside the ball (%g <= %g): the guard tripped too early", step, farthest(next, n, d, c), radius);
  ck_assert_msg(fabs(t - step * dt) <= 1e-9 * step * dt, "t = %g at step %d, expected %g", t, step, step * dt);
  ck_assert_msg(fastest == argmax && fabs(speed - best) <= 1e-5 * best, "fastest particle %d at speed %g; the velocities say %d at %g", fastest, speed, argmax, best);

  /* The saved state is step - 1's, bit for bit. */
  f = H5Fopen(saved, H5F_ACC_RDONLY, H5P_DEFAULT);
  ck_assert_msg(f >= 0, "no last good state in %s", saved);
  ck_assert_msg(read_attribute(f, "step") == step - 1, "%s holds step %g, not %d", saved, read_attribute(f, "step"), step - 1);
  double *good = read_dataset(f, "position", &rank, dims);
  ck_assert_msg(dims[0] == (hsize_t)n && dims[1] == (hsize_t)d && !memcmp(good, last, sizeof(double) * (size_t)(n * d)), "the positions in %s differ from step %d's", saved, step - 1);
  H5Fclose(f);
  free(good);

  /* Restarted from it with the same options, the run has the same ball (the initial cloud
     is regenerated, not taken from the checkpoint): it stops at the same step, with the
     same line. */
  snprintf(args, sizeof(args), "%s %s %s %s/%s -drift_restart %s", diverging[which].args, QUIET, diverging[which].option, dir, diverging[which].file, saved);
  run_driftsim(&r, ranks, args);
  ck_assert_msg(r.exit_code != 0 && count_occurrences(r.err, "driftsim: error:") == 1 && strstr(r.err, first), "the restart from the last good state did not stop with the same line '%s': %.2000s", first, r.err);
  free(next);
  free(x);
  free(v);
}
END_TEST

/* Every options file of runs/ for its whole length at N = 256 (2 ranks): the guard never
   trips. runs/official_multitemperature.opts reads the file tools/official-inputs writes,
   here into the scratch directory. */
START_TEST(runs_opts_never_trip)
{
  DIR           *runs = opendir("runs");
  struct dirent *e;
  int            count = 0;
  char           inputs[1024], cmd[1200], official[4400];
  snprintf(inputs, sizeof(inputs), "%s/official_inputs.h5", workdir);
  snprintf(cmd, sizeof(cmd), "tools/official-inputs %s >/dev/null", inputs);
  ck_assert_msg(system(cmd) == 0, "'%s' failed", cmd);
  snprintf(official, sizeof(official), "-drift_target_file %s -drift_data_weights_file %s -drift_negatives_file %s -drift_negatives_weights_file %s", inputs, inputs, inputs, inputs);
  ck_assert(runs);
  while ((e = readdir(runs))) {
    const size_t len = strlen(e->d_name);
    char         args[6000];
    Run          r;
    if (len < 5 || strcmp(e->d_name + len - 5, ".opts")) continue;
    snprintf(args, sizeof(args), "-options_file runs/%s -drift_n 256 %s -drift_output %s/normal_%s.h5 -drift_output_every 1000000 %s", e->d_name, QUIET, workdir, e->d_name, strcmp(e->d_name, "official_multitemperature.opts") ? "" : official);
    run_driftsim(&r, 2, args);
    ck_assert_msg(r.exit_code == 0 && !strstr(r.err, "guard"), "'%s' failed: %.2000s", args, r.err);
    count++;
  }
  closedir(runs);
  ck_assert_msg(count >= 10, "only %d options files found in runs/", count);
}
END_TEST

void cli_test_add_guard(Suite *s)
{
  TCase *tc = tcase_create("guard");
  tcase_set_timeout(tc, 900);
  tcase_add_loop_test(tc, diverging_run_stops_at_the_first_step_outside, 0, 4);
  tcase_add_test(tc, runs_opts_never_trip);
  suite_add_tcase(s, tc);
}
