/* The driftsim program refusing what it cannot do, as a user meets it: every class of bad
   input, input files and outputs that cannot be used, a run that diverges, a checkpoint of
   another run; each with a non-zero exit and one clean message. Part of the CLI suite
   (check_cli.c registers these tests). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli_test.h"

/* Bad input: non-zero exit, one clean message on stderr naming the option, no traceback,
   and an existing output file left untouched. */
static const struct {
  const char *args;
  const char *names;
} bad_inputs[] = {
  {"-drift_n 0", "-drift_n 0"},
  {"-drift_n -3", "-drift_n -3"},
  {"-drift_n abc", "-drift_n abc"},
  {"-drift_dim 0", "-drift_dim 0"},
  {"-drift_bandwidth 0", "-drift_bandwidth 0"},
  {"-drift_bandwidth -0.5", "-drift_bandwidth -0.5"},
  {"-drift_bandwidth nan", "-drift_bandwidth nan"},
  {"-drift_field conservative -drift_kernel laplace", "-drift_kernel laplace"},
  {"-drift_kernel imq -drift_target_samples 0", "-drift_target_samples 0"},
  {"-drift_target checkerboard -drift_target_samples 0", "-drift_target_samples 0"},
  {"-drift_target moons -drift_dim 3", "-drift_target moons"},
  {"-drift_field curl", "-drift_field curl"},
  {"-drift_self maybe", "-drift_self maybe"},
  {"-drift_nn 5", "-drift_nn"},
  {"-drift_output_every 0", "-drift_output_every 0"},
  {"-drift_init_scale 0", "-drift_init_scale 0"},
  {"-drift_output_velocity perhaps", "-drift_output_velocity perhaps"},
  {"-ts_type bogus", "bogus"},
  {"-options_file /nonexistent/x.opts", "-options_file /nonexistent/x.opts"},
  {"-drift_cutoff_tol 1", "-drift_sum_tol must be in (0, 1)"},
  {"-drift_cutoff_tol 1e-12 -drift_kernel imq", "-drift_sum cutoff needs a kernel that decays fast"},
  {"-drift_cutoff_tol 1e-12 -drift_field joint", "-drift_sum cutoff applies to -drift_field conservative and displacement"},
  {"-drift_cutoff_tol 1e-8 -drift_sum_tol 1e-8", "-drift_cutoff_tol is the old spelling of -drift_sum cutoff -drift_sum_tol eps: give one or the other"},
  {"-drift_sum fgt", "-drift_sum fgt needs its tolerance: give -drift_sum_tol eps"},
  {"-drift_sum_tol 1e-8", "-drift_sum_tol is the tolerance of -drift_sum cutoff, fgt or auto"},
  {"-drift_sum fgt -drift_sum_tol 0", "-drift_sum_tol 0 is"},
  {"-drift_sum fgt -drift_sum_tol 1e-8 -drift_field displacement -drift_kernel laplace", "-drift_sum fgt is the fast Gauss transform: it needs -drift_kernel gaussian (-drift_kernel laplace given)"},
  {"-drift_sum fgt -drift_sum_tol 1e-8 -drift_dim 4", "-drift_sum fgt serves dimensions 1 to 3 (-drift_dim 4 given)"},
  {"-drift_sum fgt -drift_sum_tol 1e-16", "-drift_sum_tol 1e-16 is below what -drift_sum fgt reaches in double precision"},
  {"-drift_sum auto -drift_sum_tol 1e-8 -drift_kernel imq", "-drift_sum auto needs a kernel that decays fast"},
  {"-drift_sum fast -drift_sum_tol 1e-8", "-drift_sum fast is not known; allowed: exact, cutoff, fgt, auto"},
  {"-drift_restart /nonexistent/run.checkpoint.h5", "-drift_restart /nonexistent/run.checkpoint.h5"},
  {"-drift_restart /etc/hostname", "-drift_restart /etc/hostname: not a driftsim checkpoint"},
  {"-drift_temperatures 0.1,-2 -drift_field multitemperature", "-drift_temperatures"},
  {"-drift_field multitemperature -drift_temperatures", "-drift_temperatures"},
  {"-drift_field multitemperature -drift_temperatures 0,0.1", "-drift_temperatures"},
  {"-drift_bandwidth_rule rate", "-drift_bandwidth_scale"},
  {"-drift_bandwidth_anneal 1", "-drift_bandwidth_min"},
  {"-drift_bandwidth_rule nonsense", "-drift_bandwidth_rule nonsense"},
  {"-drift_bandwidth_anneal 0.5 -drift_bandwidth_min 2 -drift_bandwidth 1", "-drift_bandwidth_min 2 is larger than the initial bandwidth h0 = 1"},
  {"-drift_target file -drift_target_file /nonexistent.h5 -drift_target_dataset /y", "-drift_target_file /nonexistent.h5, dataset /y: the file does not exist"},
};

START_TEST(bad_input_is_refused_cleanly)
{
  cli_check_refused(bad_inputs[_i].args, bad_inputs[_i].names);
}
END_TEST

/* Input files that cannot be used: a target of another dimension than -drift_dim and an
   initial cloud with a NaN, each refused with one clean line naming the file, the dataset
   and the problem, before the existing output file is touched. */
START_TEST(bad_input_files_are_refused_cleanly)
{
  char    target[300], cloud[300], args[1024], names[1024];
  double *y = make_table(23, 2, target_value, -1), *x = make_table(37, 2, cloud_value, 11);
  snprintf(target, sizeof(target), "%s/target2d.h5", workdir);
  snprintf(cloud, sizeof(cloud), "%s/cloud_nan.h5", workdir);
  write_table(target, "/samples", 23, 2, y);
  write_table(cloud, "/cloud", 37, 2, x);

  snprintf(args, sizeof(args), "-drift_dim 3 -drift_target file -drift_target_file %s -drift_target_dataset /samples", target);
  snprintf(names, sizeof(names), "-drift_target_file %s, dataset /samples: has rows of 2 numbers, but -drift_dim is 3", target);
  cli_check_refused(args, names);
  snprintf(args, sizeof(args), "-drift_dim 2 -drift_init file -drift_init_file %s -drift_init_dataset /cloud", cloud);
  snprintf(names, sizeof(names), "-drift_init_file %s, dataset /cloud: row 11 (counting from 0) is not finite", cloud);
  cli_check_refused(args, names);
  free(y);
  free(x);
}
END_TEST

/* An output path that cannot be written: refused before anything runs. */
START_TEST(unwritable_output_is_refused)
{
  const char *paths[] = {"/nonexistent/dir/out.h5", "/etc/passwd/out.h5", "/tmp"};
  for (int k = 0; k < 3; k++) {
    char args[512];
    Run  r;
    snprintf(args, sizeof(args), "-drift_output %s", paths[k]);
    run_driftsim(&r, 2, args);
    ck_assert_msg(r.exit_code != 0, "output %s accepted", paths[k]);
    ck_assert_msg(count_occurrences(r.err, "driftsim: error:") == 1 && strstr(r.err, "-drift_output") && strstr(r.err, paths[k]), "output %s: unclear message: %s", paths[k], r.err);
    ck_assert_msg(!strstr(r.out, "PERF_SUMMARY"), "output %s: the run went ahead", paths[k]);
  }
}
END_TEST

/* A state that diverges: the guard stops the run naming the step, with a checkpoint of the
   last good state. Euler with dt = 10 multiplies the cloud by about -7 each step (analytic
   gaussian target, h = 0.5): from the mean 1e150 (1, 1) the state at step k is near
   (-7)^k 1e150 (1, 1). The guard's centre is 0.5e150 (1, 1), its extent E about
   0.5e150 sqrt(2), its radius 4 E + dt 2 (8 E) / h^2 = 644 E: |(-7)^k - 0.5| > 322 first at
   k = 3 (343.5), long before the overflow at step 5 that stopped this run before the guard. */
START_TEST(diverging_state_stops_with_a_checkpoint)
{
  char args[1024], cp[300];
  Run  r;
  snprintf(cp, sizeof(cp), "%s/overflow.checkpoint.h5", workdir);
  snprintf(args, sizeof(args), "-drift_n 40 -drift_init_mean 1e150 -ts_dt 10 -ts_max_steps 20 -drift_checkpoint %s", cp);
  run_driftsim(&r, 2, args);
  ck_assert_msg(r.exit_code != 0, "a diverging run exited 0");
  ck_assert_msg(count_occurrences(r.err, "driftsim: error:") == 1 && strstr(r.err, "left the guard's ball at step 3") && strstr(r.err, cp), "unclear message: %s", r.err);
  hid_t f = H5Fopen(cp, H5F_ACC_RDONLY, H5P_DEFAULT);
  ck_assert_msg(f >= 0, "no checkpoint of the last good state");
  ck_assert_msg(read_attribute(f, "step") == 2, "the checkpoint holds step %g, not the last good step 2", read_attribute(f, "step"));
  H5Fclose(f);
}
END_TEST

/* A checkpoint of another run (N differs), and an output file given as a checkpoint, are
   refused, naming the option. */
START_TEST(restart_from_another_run_is_refused)
{
  char args[1024], cp[300];
  Run  r;
  snprintf(cp, sizeof(cp), "%s/small.checkpoint.h5", workdir);
  char out[300];
  snprintf(out, sizeof(out), "%s/small.h5", workdir);
  snprintf(args, sizeof(args), "-drift_n 30 -ts_max_steps 2 -drift_monitor 0 -drift_checkpoint %s -drift_checkpoint_every 2 -drift_output %s", cp, out);
  run_driftsim(&r, 2, args);
  ck_assert_msg(r.exit_code == 0, "checkpointed run failed: %s", r.err);
  snprintf(args, sizeof(args), "-drift_n 30 -ts_max_steps 4 -drift_monitor 0 -drift_restart %s", out);
  run_driftsim(&r, 2, args);
  ck_assert_msg(r.exit_code != 0 && count_occurrences(r.err, "driftsim: error:") == 1 && strstr(r.err, "not a driftsim checkpoint"), "an output file was accepted as a checkpoint: %s", r.err);
  snprintf(args, sizeof(args), "-drift_n 31 -ts_max_steps 4 -drift_monitor 0 -drift_restart %s", cp);
  run_driftsim(&r, 2, args);
  ck_assert_msg(r.exit_code != 0 && count_occurrences(r.err, "driftsim: error:") == 1 && strstr(r.err, "-drift_restart") && strstr(r.err, "30 particles") && strstr(r.err, "-drift_n 31"), "a checkpoint of 30 particles was not refused clearly for N = 31: %s", r.err);
}
END_TEST

void cli_test_add_refusals(TCase *tc)
{
  tcase_add_test(tc, diverging_state_stops_with_a_checkpoint);
  tcase_add_test(tc, restart_from_another_run_is_refused);
  tcase_add_loop_test(tc, bad_input_is_refused_cleanly, 0, sizeof(bad_inputs) / sizeof(bad_inputs[0]));
  tcase_add_test(tc, unwritable_output_is_refused);
  tcase_add_test(tc, bad_input_files_are_refused_cleanly);
}
