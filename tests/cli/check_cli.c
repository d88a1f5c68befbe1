/* The driftsim program as a user runs it: through mpiexec, with its HDF5 output read back
   by the HDF5 C API and checked against computations made here (Euler's update from the
   stored velocities, diagnostics recomputed from the stored field, pair counts from N and M),
   the same run at different rank counts, restarts, -help and input files. Every class of
   bad input is in check_cli_errors.c, in the same suite. Runs from the repository root
   (tools/run-tests does), without MPI itself. */
#include <check.h>
#include <hdf5.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli_test.h"

/* A string attribute (fixed or variable length) into buf. */
static void read_string_attribute(hid_t file, const char *name, char *buf, size_t len)
{
  hid_t attr = H5Aopen(file, name, H5P_DEFAULT);
  ck_assert_msg(attr >= 0, "attribute %s missing", name);
  hid_t type = H5Aget_type(attr);
  ck_assert_msg(H5Tget_class(type) == H5T_STRING, "attribute %s is not a string", name);
  if (H5Tis_variable_str(type) > 0) {
    char *text = NULL;
    ck_assert(H5Aread(attr, type, &text) >= 0 && text);
    snprintf(buf, len, "%s", text);
    H5free_memory(text);
  } else {
    const size_t size = H5Tget_size(type);
    ck_assert_msg(size < len, "attribute %s holds %zu characters", name, size);
    ck_assert(H5Aread(attr, type, buf) >= 0);
    buf[size] = 0;
  }
  H5Tclose(type);
  H5Aclose(attr);
}

/* The value of key=... in the PERF_SUMMARY line. */
static double perf_value(const char *out, const char *key)
{
  const char *line = strstr(out, "PERF_SUMMARY ");
  ck_assert_msg(line != NULL, "no PERF_SUMMARY line");
  char pattern[64];
  snprintf(pattern, sizeof(pattern), " %s=", key);
  const char *p = strstr(line, pattern);
  ck_assert_msg(p != NULL, "PERF_SUMMARY has no %s", key);
  return atof(p + strlen(pattern));
}

/* Euler with output every step: x_{k+1} = x_k + dt v(x_k) for the stored x and v; the
   stored diagnostics are the RMS and centre of the stored velocities; time = step * dt. */
START_TEST(run_writes_output_that_reads_back)
{
  const int N = 37, M = 23, d = 2, steps = 4;
  const double dt = 0.05;
  char args[1024], file[300];
  Run  r;
  snprintf(file, sizeof(file), "%s/run.h5", workdir);
  snprintf(args, sizeof(args), "-drift_n %d -drift_dim %d -drift_target gmm8 -drift_target_samples %d -drift_field displacement -drift_bandwidth 0.5 -ts_type euler -ts_dt %g -ts_max_steps %d -drift_output %s -drift_output_every 1 -drift_diagnostics_every 1 -drift_output_velocity -drift_monitor 2", N, d, M, dt, steps, file);
  run_driftsim(&r, 2, args);
  ck_assert_msg(r.exit_code == 0, "driftsim failed: %s", r.err);
  ck_assert_msg(strstr(r.out, "rms_velocity") != NULL, "no progress line");

  hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
  ck_assert(f >= 0);
  ck_assert(read_attribute(f, "n") == N && read_attribute(f, "dim") == d && read_attribute(f, "ranks") == 2 && read_attribute(f, "bandwidth") == 0.5);
  int     rank;
  hsize_t dims[3], vdims[3], sdims[3], tdims[3], ddims[3];
  double *x  = read_dataset(f, "/particles/position", &rank, dims);
  ck_assert(rank == 3 && dims[0] == steps + 1 && dims[1] == (hsize_t)N && dims[2] == (hsize_t)d);
  double *v  = read_dataset(f, "/particles/velocity", &rank, vdims);
  ck_assert(vdims[0] == dims[0] && vdims[1] == dims[1] && vdims[2] == dims[2]);
  double *st = read_dataset(f, "/particles/step", &rank, sdims);
  double *t  = read_dataset(f, "/particles/time", &rank, tdims);
  double *y  = read_dataset(f, "/target/samples", &rank, ddims);
  ck_assert(rank == 2 && ddims[0] == (hsize_t)M && ddims[1] == (hsize_t)d);
  double *rms = read_dataset(f, "/diagnostics/rms_velocity", &rank, ddims);
  ck_assert(ddims[0] == steps + 1);
  double *csq = read_dataset(f, "/diagnostics/center_velocity_sq", &rank, ddims);

  double worst_euler = 0, worst_diag = 0;
  for (int k = 0; k <= steps; k++) {
    ck_assert(st[k] == k && fabs(t[k] - k * dt) < 1e-12);
    double sum2 = 0, center[2] = {0, 0};
    for (int i = 0; i < N; i++)
      for (int c = 0; c < d; c++) {
        const double vk = v[(k * N + i) * d + c];
        sum2 += vk * vk;
        center[c] += vk / N;
        if (k < steps) worst_euler = fmax(worst_euler, fabs(x[((k + 1) * N + i) * d + c] - (x[(k * N + i) * d + c] + dt * vk)));
      }
    worst_diag = fmax(worst_diag, fabs(rms[k] - sqrt(sum2 / N)) / rms[k]);
    worst_diag = fmax(worst_diag, fabs(csq[k] - (center[0] * center[0] + center[1] * center[1])) / fmax(csq[k], 1e-300));
  }
  ck_assert_msg(worst_euler < 1e-13, "positions do not follow x + dt v: %g", worst_euler);
  ck_assert_msg(worst_diag < 1e-12, "diagnostics do not match the stored velocities: %g", worst_diag);

  /* Field evaluations: one per Euler step and one at the final state (the monitor's, reused). */
  const double evals = perf_value(r.out, "rhs_evals");
  ck_assert_msg(evals == steps + 1, "rhs_evals %g, expected %d", evals, steps + 1);
  ck_assert_msg(perf_value(r.out, "pairs") == evals * ((double)N * N + (double)N * M), "pair count is not rhs_evals (N^2 + N M)");
  ck_assert(perf_value(r.out, "ranks") == 2 && perf_value(r.out, "n") == N && perf_value(r.out, "dim") == d);
  free(x); free(v); free(st); free(t); free(y); free(rms); free(csq);
  H5Fclose(f);
}
END_TEST

/* The same seed at 1 and 3 ranks: the same initial cloud bit for bit, the same trajectory
   to rounding (sums are added in another order). */
START_TEST(rank_count_does_not_change_the_run)
{
  double *x[2];
  hsize_t dims[3];
  int     rank, ranks[2] = {1, 3};
  for (int k = 0; k < 2; k++) {
    char args[512], file[300];
    Run  r;
    snprintf(file, sizeof(file), "%s/ranks%d.h5", workdir, ranks[k]);
    snprintf(args, sizeof(args), "-drift_n 50 -drift_target_samples 31 -drift_kernel imq -ts_type rk -ts_rk_type 4 -ts_dt 0.05 -ts_max_steps 6 -drift_monitor 0 -drift_output_every 6 -drift_output %s", file);
    run_driftsim(&r, ranks[k], args);
    ck_assert_msg(r.exit_code == 0, "driftsim failed at %d ranks: %s", ranks[k], r.err);
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    x[k]    = read_dataset(f, "/particles/position", &rank, dims);
    H5Fclose(f);
  }
  ck_assert(dims[0] == 2);
  ck_assert_msg(memcmp(x[0], x[1], 50 * 2 * sizeof(double)) == 0, "initial clouds differ between 1 and 3 ranks");
  double worst = 0, scale = 0;
  for (int i = 50 * 2; i < 2 * 50 * 2; i++) {
    worst = fmax(worst, fabs(x[0][i] - x[1][i]));
    scale = fmax(scale, fabs(x[0][i]));
  }
  ck_assert_msg(worst / scale < 1e-12, "final positions differ between 1 and 3 ranks by %g (relative)", worst / scale);
  free(x[0]);
  free(x[1]);
}
END_TEST

/* Runs driftsim on 2 ranks with `args` and an output file; opens the file and reads
   /diagnostics/time and /diagnostics/bandwidth (rows in *rows). */
static hid_t run_and_read_bandwidth(const char *args, const char *name, double **time, double **bandwidth, hsize_t *rows)
{
  char    all[1024], file[300];
  Run     r;
  int     rank;
  hsize_t dims[3], bdims[3];
  snprintf(file, sizeof(file), "%s/%s.h5", workdir, name);
  snprintf(all, sizeof(all), "%s -drift_monitor 0 -drift_output %s", args, file);
  run_driftsim(&r, 2, all);
  ck_assert_msg(r.exit_code == 0, "driftsim %s failed: %s", args, r.err);
  hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
  ck_assert_msg(f >= 0, "%s not written", file);
  *time      = read_dataset(f, "/diagnostics/time", &rank, dims);
  *bandwidth = read_dataset(f, "/diagnostics/bandwidth", &rank, bdims);
  ck_assert_msg(rank == 1 && bdims[0] == dims[0], "/diagnostics/bandwidth has %d rows, /diagnostics/time %d", (int)bdims[0], (int)dims[0]);
  *rows = dims[0];
  return f;
}

/* Annealing h(t) = max(h_min, h0 exp(-r t)) with h0 = 0.8, r = 2, h_min = 0.3: the recorded
   bandwidth at every diagnostics time follows it (the floor is reached at t = log(8/3)/2 =
   0.49, inside the run), and the root attributes describe the schedule. */
START_TEST(annealed_run_records_its_bandwidth)
{
  const double h0 = 0.8, r = 2.0, h_min = 0.3;
  double      *t, *h, worst = 0;
  hsize_t      rows;
  int          floored = 0, decaying = 0;
  char         rule[64];
  hid_t f = run_and_read_bandwidth("-drift_n 40 -drift_bandwidth 0.8 -drift_bandwidth_anneal 2 -drift_bandwidth_min 0.3 -ts_dt 0.1 -ts_max_steps 10 -drift_diagnostics_every 1", "annealed", &t, &h, &rows);
  ck_assert_msg(rows == 11, "%d diagnostics rows, expected 11 (steps 0..10)", (int)rows);
  for (hsize_t k = 0; k < rows; k++) {
    const double expected = fmax(h_min, h0 * exp(-r * t[k]));
    worst = fmax(worst, fabs(h[k] - expected) / expected);
    floored += expected == h_min;
    decaying += expected > h_min;
  }
  ck_assert_msg(worst < 1e-14, "recorded bandwidth differs from max(h_min, h0 exp(-r t)) by %g (relative)", worst);
  ck_assert_msg(floored > 0 && decaying > 0, "the run does not cover both the decay and the floor");
  read_string_attribute(f, "bandwidth_rule", rule, sizeof(rule));
  ck_assert_msg(!strcmp(rule, "fixed"), "bandwidth_rule is '%s', expected 'fixed'", rule);
  ck_assert_msg(read_attribute(f, "bandwidth_h0") == h0, "bandwidth_h0 is %g", read_attribute(f, "bandwidth_h0"));
  ck_assert_msg(read_attribute(f, "bandwidth_anneal") == r, "bandwidth_anneal is %g", read_attribute(f, "bandwidth_anneal"));
  ck_assert_msg(read_attribute(f, "bandwidth_min") == h_min, "bandwidth_min is %g", read_attribute(f, "bandwidth_min"));
  free(t);
  free(h);
  H5Fclose(f);
}
END_TEST

/* The rate rule h = c N^(-1/(d+4)) with c = 1.5, N = 81, d = 2: 1.5 * 81^(-1/6) recorded at
   every diagnostics row and as the root attribute bandwidth. */
START_TEST(rate_rule_sets_the_bandwidth)
{
  const double expected = 1.5 * pow(81.0, -1.0 / 6.0);
  double      *t, *h, worst = 0;
  hsize_t      rows;
  char         rule[64];
  hid_t f = run_and_read_bandwidth("-drift_bandwidth_rule rate -drift_bandwidth_scale 1.5 -drift_n 81 -drift_dim 2 -ts_dt 0.05 -ts_max_steps 3 -drift_diagnostics_every 1", "rate", &t, &h, &rows);
  ck_assert_msg(rows == 4, "%d diagnostics rows, expected 4 (steps 0..3)", (int)rows);
  for (hsize_t k = 0; k < rows; k++) worst = fmax(worst, fabs(h[k] - expected) / expected);
  ck_assert_msg(worst < 1e-14, "recorded bandwidth differs from 1.5 * 81^(-1/6) = %.17g by %g (relative)", expected, worst);
  ck_assert_msg(fabs(read_attribute(f, "bandwidth") - expected) / expected < 1e-14, "attribute bandwidth is %.17g, expected %.17g", read_attribute(f, "bandwidth"), expected);
  read_string_attribute(f, "bandwidth_rule", rule, sizeof(rule));
  ck_assert_msg(!strcmp(rule, "rate"), "bandwidth_rule is '%s', expected 'rate'", rule);
  free(t);
  free(h);
  H5Fclose(f);
}
END_TEST

START_TEST(help_lists_the_options)
{
  Run r;
  run_driftsim(&r, 1, "-help");
  ck_assert_msg(r.exit_code == 0, "-help exited %d", r.exit_code);
  ck_assert(strstr(r.out, "-drift_n") && strstr(r.out, "-drift_field") && strstr(r.out, "-ts_type"));
  ck_assert_msg(!strstr(r.out, "PERF_SUMMARY"), "-help ran the simulation");
}
END_TEST

/* Targets and initial clouds from files: a run at 3 ranks takes N from the cloud's rows,
   starts from them and keeps the file's samples as /target/samples, all bit for bit. */
START_TEST(file_target_and_cloud_run)
{
  const int M = 23, N = 37, d = 2;
  char      target[300], cloud[300], out[300], args[2048];
  double   *y = make_table(M, d, target_value, -1), *x = make_table(N, d, cloud_value, -1);
  Run       r;
  snprintf(target, sizeof(target), "%s/target.h5", workdir);
  snprintf(cloud, sizeof(cloud), "%s/cloud.h5", workdir);
  snprintf(out, sizeof(out), "%s/from_files.h5", workdir);
  write_table(target, "/y", M, d, y);
  write_table(cloud, "/x", N, d, x);
  snprintf(args, sizeof(args), "-drift_dim %d -drift_target file -drift_target_file %s -drift_target_dataset /y -drift_init file -drift_init_file %s -drift_init_dataset /x -drift_field displacement -drift_bandwidth 0.5 -ts_dt 0.05 -ts_max_steps 2 -drift_output_every 1 -drift_monitor 0 -drift_output %s", d, target, cloud, out);
  run_driftsim(&r, 3, args);
  ck_assert_msg(r.exit_code == 0, "driftsim failed: %s", r.err);

  hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
  ck_assert_msg(f >= 0, "%s not written", out);
  int     rank;
  hsize_t sdims[3], pdims[3];
  double *samples = read_dataset(f, "/target/samples", &rank, sdims);
  ck_assert_msg(rank == 2 && sdims[0] == (hsize_t)M && sdims[1] == (hsize_t)d, "/target/samples is not [%d][%d]", M, d);
  ck_assert_msg(!memcmp(samples, y, sizeof(double) * M * d), "/target/samples differs from the file's rows");
  double *positions = read_dataset(f, "/particles/position", &rank, pdims);
  ck_assert_msg(rank == 3 && pdims[0] == 3 && pdims[1] == (hsize_t)N && pdims[2] == (hsize_t)d, "/particles/position is not [3][%d][%d]", N, d);
  ck_assert_msg(!memcmp(positions, x, sizeof(double) * N * d), "the initial snapshot differs from the cloud's rows");
  ck_assert_msg(read_attribute(f, "n") == N, "attribute n is %g, the cloud has %d rows", read_attribute(f, "n"), N);
  H5Fclose(f);
  free(samples);
  free(positions);
  free(y);
  free(x);
}
END_TEST

/* The long-running options of the restart tests: RK4, so a restart must carry the step size
   and time exactly, and a sampled target, so it must regenerate the same samples. */
#define RESTART_RUN "-drift_n 60 -drift_target gmm8 -drift_target_samples 40 -drift_seed 5 -ts_type rk -ts_rk_type 4 -ts_dt 0.05 -drift_monitor 0 -drift_output_every 1"

/* Positions [T][N][d] and steps of a file, for comparisons. */
typedef struct {
  double *x, *step;
  hsize_t dims[3], steps;
} Trajectory;

static void read_trajectory(const char *file, Trajectory *tr)
{
  int     rank;
  hsize_t sdims[3];
  hid_t   f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
  ck_assert_msg(f >= 0, "cannot open %s", file);
  tr->x    = read_dataset(f, "/particles/position", &rank, tr->dims);
  tr->step = read_dataset(f, "/particles/step", &rank, sdims);
  tr->steps = sdims[0];
  H5Fclose(f);
}

/* K steps, a checkpoint, a restart for K more: the same trajectory bit for bit as 2K steps
   in one go at the same rank count, each step written once; to rounding at another rank count. */
START_TEST(restart_continues_the_run)
{
  char       args[1024], whole[300], split[300], other[300], cp[300];
  Run        r;
  Trajectory a, b, c;
  snprintf(whole, sizeof(whole), "%s/whole.h5", workdir);
  snprintf(split, sizeof(split), "%s/split.h5", workdir);
  snprintf(other, sizeof(other), "%s/other.h5", workdir);
  snprintf(cp, sizeof(cp), "%s/run.checkpoint.h5", workdir);
  snprintf(args, sizeof(args), RESTART_RUN " -ts_max_steps 8 -drift_output %s", whole);
  run_driftsim(&r, 2, args);
  ck_assert_msg(r.exit_code == 0, "uninterrupted run failed: %s", r.err);
  snprintf(args, sizeof(args), RESTART_RUN " -ts_max_steps 4 -drift_checkpoint %s -drift_checkpoint_every 4 -drift_output %s", cp, split);
  run_driftsim(&r, 2, args);
  ck_assert_msg(r.exit_code == 0, "first half failed: %s", r.err);
  snprintf(args, sizeof(args), RESTART_RUN " -ts_max_steps 8 -drift_restart %s -drift_output %s", cp, split);
  run_driftsim(&r, 2, args);
  ck_assert_msg(r.exit_code == 0, "restart failed: %s", r.err);
  snprintf(args, sizeof(args), RESTART_RUN " -ts_max_steps 8 -drift_restart %s -drift_output %s", cp, other);
  run_driftsim(&r, 3, args);
  ck_assert_msg(r.exit_code == 0, "restart at 3 ranks failed: %s", r.err);

  read_trajectory(whole, &a);
  read_trajectory(split, &b);
  read_trajectory(other, &c);
  ck_assert_msg(a.steps == 9 && b.steps == 9, "steps: %d uninterrupted, %d with a restart (expected 9 each)", (int)a.steps, (int)b.steps);
  for (hsize_t k = 0; k < b.steps; k++) ck_assert_msg(b.step[k] == k, "the restarted output holds step %g at row %d", b.step[k], (int)k);
  const size_t snapshot = 60 * 2;
  ck_assert_msg(memcmp(a.x, b.x, 9 * snapshot * sizeof(double)) == 0, "a restart at the same rank count changed the trajectory");
  ck_assert_msg(c.step[c.steps - 1] == 8, "the 3-rank restart ended at step %g", c.step[c.steps - 1]);
  double worst = 0, scale = 0;
  for (size_t i = 0; i < snapshot; i++) {
    worst = fmax(worst, fabs(c.x[(c.steps - 1) * snapshot + i] - a.x[8 * snapshot + i]));
    scale = fmax(scale, fabs(a.x[8 * snapshot + i]));
  }
  ck_assert_msg(worst / scale < 1e-12, "a restart at 3 ranks differs by %g (relative)", worst / scale);
  free(a.x); free(a.step); free(b.x); free(b.step); free(c.x); free(c.step);
}
END_TEST

/* SIGUSR1 (what Slurm's --signal sends) to a running mpiexec: a checkpoint at the end of
   the current step, exit 0 with the restart command; the restart then completes the run. */
START_TEST(sigusr1_checkpoints_and_the_run_restarts)
{
  char  cmd[2048], out[300], file[300], cp[300], text[1 << 16];
  pid_t pid;
  int   status;
  snprintf(file, sizeof(file), "%s/signal.h5", workdir);
  snprintf(cp, sizeof(cp), "%s/signal.checkpoint.h5", workdir);
  snprintf(out, sizeof(out), "%s/signal.out", workdir);
  snprintf(cmd, sizeof(cmd), "exec tools/mpiexec-local -n 2 %s -drift_n 2000 -ts_max_steps 1000000 -drift_monitor 1 -drift_output %s -drift_output_every 1000 >%s 2>&1", driftsim_program(), file, out);
  pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  /* Wait until the run is stepping (a progress line beyond step 2), at most 60 s. */
  for (int tries = 0; tries < 600; tries++) {
    slurp(out, text, sizeof(text));
    if (strstr(text, "step      3")) break;
    usleep(100000);
  }
  ck_assert_msg(strstr(text, "step      3") != NULL, "the run did not start: %s", text);
  kill(pid, SIGUSR1);
  waitpid(pid, &status, 0);
  slurp(out, text, sizeof(text));
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "after SIGUSR1 the run exited with status %d: %s", status, text);
  ck_assert_msg(strstr(text, "-drift_restart") && strstr(text, cp), "no restart instructions: %s", text);

  hid_t f = H5Fopen(cp, H5F_ACC_RDONLY, H5P_DEFAULT);
  ck_assert_msg(f >= 0, "no checkpoint %s", cp);
  const double stopped = read_attribute(f, "step");
  H5Fclose(f);
  char args[1024];
  Run  r;
  snprintf(args, sizeof(args), "-drift_n 2000 -ts_max_steps %d -drift_monitor 0 -drift_restart %s -drift_output %s -drift_output_every 1000", (int)stopped + 2, cp, file);
  run_driftsim(&r, 2, args);
  ck_assert_msg(r.exit_code == 0, "restart after the signal failed: %s", r.err);
  Trajectory tr;
  read_trajectory(file, &tr);
  ck_assert_msg(tr.step[tr.steps - 1] == stopped + 2, "the restarted run ended at step %g, expected %g", tr.step[tr.steps - 1], stopped + 2);
  free(tr.x);
  free(tr.step);
}
END_TEST

static Suite *cli_suite(void)
{
  Suite *s  = suite_create("cli");
  TCase *tc = tcase_create("cli");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, run_writes_output_that_reads_back);
  tcase_add_test(tc, rank_count_does_not_change_the_run);
  tcase_add_test(tc, annealed_run_records_its_bandwidth);
  tcase_add_test(tc, rate_rule_sets_the_bandwidth);
  tcase_add_test(tc, help_lists_the_options);
  tcase_add_test(tc, restart_continues_the_run);
  tcase_add_test(tc, sigusr1_checkpoints_and_the_run_restarts);
  cli_test_add_refusals(tc);
  cli_test_add_typed(tc);
  tcase_add_test(tc, file_target_and_cloud_run);
  suite_add_tcase(s, tc);
  cli_test_add_preflight(s);
  cli_test_add_columns(s);
  cli_test_add_guard(s);
  cli_test_add_sinkhorn(s);
  cli_test_add_ecf(s);
  cli_test_add_isa(s);
  return s;
}

int main(void)
{
  snprintf(workdir, sizeof(workdir), "/tmp/driftsim-cli-XXXXXX");
  if (!mkdtemp(workdir)) return 2;
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  SRunner *runner = srunner_create(cli_suite());
  srunner_set_fork_status(runner, CK_NOFORK);
  srunner_run_all(runner, CK_NORMAL);
  const int failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  char cmd[300];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", workdir);
  if (system(cmd)) return 2;
  return failed ? 1 : 0;
}
