/* The joint fields' extra columns refused when unusable, as a user meets it: weights files of
   the wrong length, with a negative, a NaN or only zeros, negatives of the wrong dimension or
   missing, and the options given where they do not apply or without their partner. Each run
   exits non-zero with one clean message naming the option and the file, and leaves an
   existing output file as it was (cli_check_refused). Part of the CLI suite. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "cli_test.h"

#define BASE "-drift_field joint -drift_n 37 -drift_target_samples 23 -ts_max_steps 1 -drift_monitor 0"

/* Writes a column of `rows` weights, all `value` but `odd` at row `at` (none when at < 0). */
static void write_weights(const char *path, int rows, double value, int at, double odd)
{
  double *w = malloc(rows * sizeof(*w));
  for (int i = 0; i < rows; i++) w[i] = i == at ? odd : value;
  write_table(path, "/w", rows, 1, w);
  free(w);
}

START_TEST(unusable_columns_are_refused_cleanly)
{
  char    p36[300], negative[300], nan_w[300], zeros[300], neg3d[300], neg_nan[300], args[2048], names[1024];
  double *g3 = make_table(11, 3, target_value, -1), *gnan = make_table(11, 2, target_value, 4);
  snprintf(p36, sizeof(p36), "%s/weights36.h5", workdir);
  snprintf(negative, sizeof(negative), "%s/weights_negative.h5", workdir);
  snprintf(nan_w, sizeof(nan_w), "%s/weights_nan.h5", workdir);
  snprintf(zeros, sizeof(zeros), "%s/weights_zero.h5", workdir);
  snprintf(neg3d, sizeof(neg3d), "%s/negatives3d.h5", workdir);
  snprintf(neg_nan, sizeof(neg_nan), "%s/negatives_nan.h5", workdir);
  write_weights(p36, 36, 1.0, -1, 0);
  write_weights(negative, 23, 0.5, 5, -0.25);
  write_weights(nan_w, 23, 0.5, 3, NAN);
  write_weights(zeros, 11, 0.0, -1, 0);
  write_table(neg3d, "/g", 11, 3, g3);
  write_table(neg_nan, "/g", 11, 2, gnan);

  const struct {
    const char *format, *names;
    const char *file;
  } cases[] = {
    {BASE " -drift_particle_weights_file %s -drift_particle_weights_dataset /w", "-drift_particle_weights_file %s, dataset /w: has 36 weights, but there are 37 particles (-drift_n)", p36},
    {BASE " -drift_data_weights_file %s -drift_data_weights_dataset /w", "-drift_data_weights_file %s, dataset /w: weight 5 (counting from 0) is negative", negative},
    {BASE " -drift_data_weights_file %s -drift_data_weights_dataset /w -drift_replicate_data", "-drift_data_weights_file %s, dataset /w: row 3 (counting from 0) is not finite", nan_w},
    {BASE " -drift_negatives_file %s -drift_negatives_dataset /g -drift_dim 2", "-drift_negatives_file %s, dataset /g: has rows of 3 numbers, but -drift_dim is 2", neg3d},
    {BASE " -drift_negatives_file %s -drift_negatives_dataset /g", "-drift_negatives_file %s, dataset /g: row 4 (counting from 0) is not finite", neg_nan},
    {BASE " -drift_particle_weights_file %s", "-drift_particle_weights_file and -drift_particle_weights_dataset go together", p36},
    {BASE " -drift_negatives_weights_file %s -drift_negatives_weights_dataset /w", "-drift_negatives_weights_file weighs the negative samples", zeros},
    {"-drift_field displacement -drift_data_weights_file %s -drift_data_weights_dataset /w", "-drift_data_weights_file applies to -drift_field joint and multitemperature (-drift_field displacement given)", zeros},
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    snprintf(args, sizeof(args), cases[k].format, cases[k].file);
    snprintf(names, sizeof(names), cases[k].names, cases[k].file);
    cli_check_refused(args, names);
  }
  /* all-zero weights of the negatives: the negatives themselves are fine */
  double *g = make_table(11, 2, target_value, -1);
  char    neg[300];
  snprintf(neg, sizeof(neg), "%s/negatives.h5", workdir);
  write_table(neg, "/g", 11, 2, g);
  snprintf(args, sizeof(args), BASE " -drift_negatives_file %s -drift_negatives_dataset /g -drift_negatives_weights_file %s -drift_negatives_weights_dataset /w", neg, zeros);
  snprintf(names, sizeof(names), "-drift_negatives_weights_file %s, dataset /w: every weight is 0; at least one must be > 0", zeros);
  cli_check_refused(args, names);
  /* Every input at once (the init, target and negatives files and the three weights
     files), the last of them being the output: the clash is found and named (a list of
     the inputs too short for them once wrote past its end and printed garbage). */
  char keep[300], every[3000];
  snprintf(keep, sizeof(keep), "%s/keep.h5", workdir);
  snprintf(every, sizeof(every),
           "-drift_field joint -drift_n 37 -ts_max_steps 1 -drift_init file -drift_init_file %s -drift_init_dataset /g -drift_target file -drift_target_file %s -drift_target_dataset /g"
           " -drift_negatives_file %s -drift_negatives_dataset /g -drift_particle_weights_file %s -drift_particle_weights_dataset /w -drift_negatives_weights_file %s"
           " -drift_negatives_weights_dataset /w -drift_data_weights_file %s -drift_data_weights_dataset /w",
           neg3d, neg_nan, neg, p36, zeros, keep);
  cli_check_refused(every, "-drift_data_weights_file");
  cli_check_refused("-drift_negatives_file /nonexistent/neg.h5 -drift_negatives_dataset /g -drift_field multitemperature -drift_n 37 -drift_target_samples 23", "-drift_negatives_file /nonexistent/neg.h5, dataset /g: the file does not exist");
  cli_check_refused("-drift_joint_floor large_scale", "-drift_joint_floor applies to -drift_field joint and multitemperature (-drift_field conservative given)");
  cli_check_refused("-drift_field joint -drift_joint_floor bogus", "-drift_joint_floor bogus is not known; allowed: exact, tutorial, large_scale");
  free(g);
  free(g3);
  free(gnan);
}
END_TEST

/* A restart takes its floor from the command line: a floor other than the checkpoint's is
   refused, naming both, and the same floor continues. */
START_TEST(restart_with_another_floor_is_refused)
{
  char cp[300], args[1024];
  Run  r;
  snprintf(cp, sizeof(cp), "%s/floor.checkpoint.h5", workdir);
  snprintf(args, sizeof(args), BASE " -drift_checkpoint %s -drift_checkpoint_every 1", cp);
  run_driftsim(&r, 2, args);
  ck_assert_msg(r.exit_code == 0, "the checkpointed joint run failed: %s", r.err);
  snprintf(args, sizeof(args), BASE " -drift_joint_floor exact -drift_restart %s", cp);
  cli_check_refused(args, "-drift_joint_floor exact contradicts -drift_restart");
  snprintf(args, sizeof(args), BASE " -ts_max_steps 2 -drift_restart %s", cp);
  run_driftsim(&r, 2, args);
  ck_assert_msg(r.exit_code == 0, "the restart with the checkpoint's floor failed: %s", r.err);
}
END_TEST

void cli_test_add_columns(Suite *s)
{
  TCase *tc = tcase_create("columns");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, unusable_columns_are_refused_cleanly);
  tcase_add_test(tc, restart_with_another_floor_is_refused);
  suite_add_tcase(s, tc);
}
