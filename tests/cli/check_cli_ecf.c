/* The ecf diagnostics as a user meets them (issue 15): -drift_ecf_shells and
   -drift_ecf_directions refused when unusable, each at 1 and 2 ranks with a non-zero exit,
   one "driftsim: error:" line naming the option, no traceback and an existing output file
   unchanged; and a run with -drift_ecf_shells 1,2 writes ecf_error_K<K> and ecf_floor_K<K>
   with one value per diagnostics row, the floor in closed form, the same at 1 and 2 ranks.
   The values themselves are checked against a direct computation in the MPI suite ecf.
   Part of the CLI suite (check_cli.c registers the test case "ecf"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli_test.h"

#define BASE "-drift_n 40 -ts_max_steps 2 -drift_monitor 0 "

static const struct {
  const char *args, *names;
} refused[] = {
  {"-drift_ecf_shells 1,,2", "-drift_ecf_shells 1,,2: shell 2 is empty"},
  {"-drift_ecf_shells ,1", "-drift_ecf_shells ,1: shell 1 is empty"},
  {"-drift_ecf_shells 1,0", "-drift_ecf_shells 1,0: shell 2 is not > 0"},
  {"-drift_ecf_shells 0.5,-2", "-drift_ecf_shells 0.5,-2: shell 2 is not > 0"},
  {"-drift_ecf_shells nan", "-drift_ecf_shells nan: shell 1 is not > 0"},
  {"-drift_ecf_shells 1,inf", "-drift_ecf_shells 1,inf: shell 2 is not > 0"},
  {"-drift_ecf_shells abc", "-drift_ecf_shells abc is not a comma-separated list of at most 16 shells"},
  {"-drift_ecf_shells 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", "-drift_ecf_shells 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17 has 17 shells; at most 16 are allowed"},
  {"-drift_ecf_shells \"\"", "-drift_ecf_shells is empty: give at least one shell"},
  {"-drift_ecf_shells", "-drift_ecf_shells is empty: give at least one shell"},
  {"-drift_ecf_shells 1,1", "-drift_ecf_shells 1,1: shells 1 and 2 have the same name K1"},
  {"-drift_ecf_shells 2,1,1.0000001", "-drift_ecf_shells 2,1,1.0000001: shells 2 and 3 have the same name K1"},
  {"-drift_ecf_shells 1 -drift_diagnostics mmd2,kde", "-drift_ecf_shells asks for the ecf diagnostics, but -drift_diagnostics leaves the ecf group out"},
  {"-drift_ecf_shells 1 -drift_diagnostics none", "-drift_ecf_shells asks for the ecf diagnostics, but -drift_diagnostics leaves the ecf group out"},
  {"-drift_ecf_directions 8", "-drift_ecf_directions applies to the ecf diagnostics: give their shells with -drift_ecf_shells"},
  {"-drift_ecf_shells 1 -drift_ecf_directions 0", "-drift_ecf_directions 0 is out of range"},
  {"-drift_ecf_shells 1 -drift_ecf_directions 2.5", "-drift_ecf_directions 2.5 is not an integer"},
};

START_TEST(ecf_options_are_refused_by_name)
{
  char args[1024];
  snprintf(args, sizeof(args), BASE "%s", refused[_i].args);
  for (int ranks = cli_refusal_ranks(1); ranks <= cli_refusal_ranks(2); ranks++) cli_check_refused_at(ranks, args, refused[_i].names);
}
END_TEST

/* A run of 3 steps with diagnostics every step and -drift_ecf_shells 1,2 (gaussian target
   N(0, s^2 I), s = 1.3, analytic): the four datasets have one value per row of
   /diagnostics/time; the floor is sqrt((1 - exp(-K^2 s^2)) / N) on every row (|phi(k)|^2 =
   exp(-K^2 s^2) on the whole shell, whatever the directions); the error lies in (0, 2]; and
   the values at 1 and 2 ranks agree (relative 1e-12 at the initial cloud, which is the same
   at every rank count, and 1e-9 after the steps, whose sums differ in rounding). -help lists
   both options. */
START_TEST(run_writes_the_shells)
{
  static const char *const names[4] = {"ecf_error_K1", "ecf_floor_K1", "ecf_error_K2", "ecf_floor_K2"};
  const double             s = 1.3, K[2] = {1, 2};
  const int                N = 40;
  double                  *values[2][4];
  hsize_t                  rows = 0;
  for (int ranks = 1; ranks <= 2; ranks++) {
    char    out[300], args[1024], path[64];
    Run     r;
    int     rank;
    hsize_t dims[3], vdims[3];
    snprintf(out, sizeof(out), "%s/ecf%d.h5", workdir, ranks);
    snprintf(args, sizeof(args), "-drift_n %d -drift_dim 2 -drift_target_scale %g -drift_ecf_shells 1,2 -ts_dt 0.1 -ts_max_steps 3 -drift_diagnostics_every 1 -drift_monitor 0 -drift_output %s", N, s, out);
    run_driftsim(&r, ranks, args);
    ck_assert_msg(r.exit_code == 0, "the run at %d ranks failed: %.1500s", ranks, r.err);
    hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(f >= 0, "%s not written", out);
    free(read_dataset(f, "/diagnostics/time", &rank, dims));
    rows = dims[0];
    ck_assert_msg(rows == 4, "%d diagnostics rows at %d ranks, expected 4 (steps 0..3)", (int)rows, ranks);
    for (int v = 0; v < 4; v++) {
      snprintf(path, sizeof(path), "/diagnostics/%s", names[v]);
      values[ranks - 1][v] = read_dataset(f, path, &rank, vdims);
      ck_assert_msg(rank == 1 && vdims[0] == rows, "%s has %d values at %d ranks, /diagnostics/time %d rows", path, (int)vdims[0], ranks, (int)rows);
      for (hsize_t row = 0; row < rows; row++) {
        const double value = values[ranks - 1][v][row];
        if (v % 2) {
          const double floor_ = sqrt((1 - exp(-K[v / 2] * K[v / 2] * s * s)) / N);
          ck_assert_msg(fabs(value - floor_) <= 1e-14 * floor_, "%s row %d at %d ranks: %.17g, closed form %.17g", path, (int)row, ranks, value, floor_);
        } else ck_assert_msg(value > 0 && value <= 2, "%s row %d at %d ranks: %g outside (0, 2]", path, (int)row, ranks, value);
      }
    }
    H5Fclose(f);
  }
  for (int v = 0; v < 4; v++)
    for (hsize_t row = 0; row < rows; row++) {
      const double one = values[0][v][row], two = values[1][v][row];
      ck_assert_msg(fabs(one - two) <= (row ? 1e-9 : 1e-12) * fabs(one), "%s row %d: %.17g at 1 rank, %.17g at 2", names[v], (int)row, one, two);
    }
  for (int ranks = 0; ranks < 2; ranks++)
    for (int v = 0; v < 4; v++) free(values[ranks][v]);
  Run r;
  run_driftsim(&r, 1, "-help");
  ck_assert_msg(strstr(r.out, "-drift_ecf_shells") && strstr(r.out, "-drift_ecf_directions"), "-help does not list the ecf options");
}
END_TEST

/* A restart continues its checkpoint's ecf series: other shells, none, or another number of
   directions (same names, other values) are refused at 1 and 2 ranks naming the option and
   the checkpoint, the output file unchanged; the same shells and directions restart. */
START_TEST(restart_keeps_the_shells)
{
  static const struct {
    const char *args, *names;
  } contradicting[] = {
    {"-drift_ecf_shells 1,3", "-drift_ecf_shells 1,3 contradicts -drift_restart %s, written with -drift_ecf_shells 1,2"},
    {"", "-drift_ecf_shells none contradicts -drift_restart %s, written with -drift_ecf_shells 1,2"},
    {"-drift_ecf_shells 1,2 -drift_ecf_directions 8", "-drift_ecf_directions 8 contradicts -drift_restart %s, written with -drift_ecf_directions 16"},
  };
  char cp[300], out[300], args[1024], names[1024];
  Run  r;
  snprintf(cp, sizeof(cp), "%s/ecf_cp.h5", workdir);
  snprintf(out, sizeof(out), "%s/ecf_restarted.h5", workdir);
  snprintf(args, sizeof(args), BASE "-drift_ecf_shells 1,2 -drift_checkpoint %s -drift_checkpoint_every 2 -drift_output %s", cp, out);
  run_driftsim(&r, 2, args);
  ck_assert_msg(r.exit_code == 0, "the checkpointed run failed: %.1500s", r.err);
  long  sizes[2];
  char *before[2] = {read_file(cp, &sizes[0]), read_file(out, &sizes[1])};
  ck_assert_msg(before[0] && before[1], "%s or %s not written", cp, out);
  for (size_t c = 0; c < sizeof(contradicting) / sizeof(contradicting[0]); c++)
    for (int ranks = 1; ranks <= 2; ranks++) {
      snprintf(args, sizeof(args), "-drift_n 40 -ts_max_steps 4 -drift_monitor 0 %s -drift_restart %s -drift_output %s", contradicting[c].args, cp, out);
      snprintf(names, sizeof(names), contradicting[c].names, cp);
      run_driftsim(&r, ranks, args);
      ck_assert_msg(r.exit_code != 0, "'%s' at %d ranks exited 0", args, ranks);
      ck_assert_msg(count_occurrences(r.err, "driftsim: error:") == 1 && strstr(r.err, names), "'%s' at %d ranks: not one error line naming '%s': %.1500s", args, ranks, names, r.err);
      ck_assert_msg(!strstr(r.err, "PETSC ERROR") && !strstr(r.out, "PETSC ERROR"), "'%s' at %d ranks: a PETSc traceback: %.1500s", args, ranks, r.err);
      for (int k = 0; k < 2; k++) {
        long  size;
        char *after = read_file(k ? out : cp, &size);
        ck_assert_msg(after && size == sizes[k] && !memcmp(after, before[k], (size_t)size), "'%s' at %d ranks changed %s", args, ranks, k ? out : cp);
        free(after);
      }
    }
  free(before[0]);
  free(before[1]);
  snprintf(args, sizeof(args), "-drift_n 40 -ts_max_steps 4 -drift_monitor 0 -drift_ecf_shells 1,2 -drift_restart %s -drift_output %s", cp, out);
  run_driftsim(&r, 2, args);
  ck_assert_msg(r.exit_code == 0, "the restart with the same shells failed: %.1500s", r.err);
}
END_TEST

void cli_test_add_ecf(Suite *s)
{
  TCase *tc = tcase_create("ecf");
  tcase_set_timeout(tc, 300);
  tcase_add_loop_test(tc, ecf_options_are_refused_by_name, 0, (int)(sizeof(refused) / sizeof(refused[0])));
  tcase_add_test(tc, run_writes_the_shells);
  tcase_add_test(tc, restart_keeps_the_shells);
  suite_add_tcase(s, tc);
}
