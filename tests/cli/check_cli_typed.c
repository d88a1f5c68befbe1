/* Options as a user types them, and the sizes a 32-bit PETSc can index: empty values, a
   --drift_* spelling, integers too large, temperature lists PETSc would cut, options files
   PETSc would crash on, sizes beyond PETSC_MAX_INT, and a cutoff that does not apply. Each
   refusal at 1 and 2 ranks: non-zero exit, one error line naming the option or file, no
   traceback, an existing output file byte-identical. Part of the CLI suite (check_cli.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli_test.h"

/* Each case's args are completed by the scratch directory (%s, at most twice). */
static const struct {
  const char *args;
  const char *names;
} typed_inputs[] = {
  {"-drift_n \"\"", "-drift_n is given without a value"},
  {"-drift_bandwidth \"\"", "-drift_bandwidth is given without a value"},
  {"-drift_kernel \"\"", "-drift_kernel is given without a value"},
  {"-drift_diagnostics \"\"", "-drift_diagnostics is given without a value"},
  {"-drift_n", "-drift_n is given without a value"},
  {"--drift_n 5", "--drift_n is not an option"},
  {"-drift_n 99999999999999999999", "-drift_n 99999999999999999999 is out of range"},
  {"-drift_field multitemperature -drift_temperatures 0.1,,0.2", "-drift_temperatures 0.1,,0.2: temperature 2 is empty"},
  {"-drift_field multitemperature -drift_temperatures 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", "has 17 temperatures; at most 16"},
  {"-drift_n 1073741824 -drift_dim 2", "-drift_n 1073741824 -drift_dim 2: the positions N d: 2147483648 entries"},
  {"-drift_n 50000 -drift_fisher_draws 30000", "-drift_fisher_draws 30000 -drift_n 50000 -drift_dim 2"},
  {"-drift_target_samples 800000000 -drift_dim 3", "-drift_target_samples 800000000 -drift_dim 3"},
  {"-options_file", "-options_file needs a file name"},
  {"-options_file %s/self.opts", "-options_file %s/self.opts includes itself"},
  {"-options_file %s/ping.opts", "-options_file %s/ping.opts includes itself (through %s/pong.opts)"},
  {"-options_file %s", "-options_file %s is not a regular file (a directory)"},
  {"-options_file %s/garbage.opts", "-options_file %s/garbage.opts, line 1"},
};

/* Writes `text` to the scratch file `name`. */
static void write_scratch(const char *name, const char *text, size_t len)
{
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", workdir, name);
  FILE *f = fopen(path, "wb");
  fwrite(text, 1, len, f);
  fclose(f);
}

/* The options files of the cases: one that includes itself, two that include each other,
   and bytes that are no options file. */
static void write_options_files(void)
{
  char       text[1024];
  const char garbage[] = "\x7f" "ELF\x02\x01\x01\x00\x00\x00 \x89PNG\r\n\x1a\n";
  snprintf(text, sizeof(text), "-drift_n 16\n-options_file %s/self.opts\n", workdir);
  write_scratch("self.opts", text, strlen(text));
  snprintf(text, sizeof(text), "# ping\n-options_file %s/pong.opts\n", workdir);
  write_scratch("ping.opts", text, strlen(text));
  snprintf(text, sizeof(text), "-drift_n 16\n-options_file %s/ping.opts\n", workdir);
  write_scratch("pong.opts", text, strlen(text));
  write_scratch("garbage.opts", garbage, sizeof(garbage) - 1);
}

/* Runs the refused `args` on `ranks` ranks with an existing output file named first. */
static void check_typed_refusal(int ranks, const char *args, const char *names)
{
  const char contents[] = "keep me\0 byte for byte\n";
  char       keep[300], all[2048], seen[64];
  Run        r;
  snprintf(keep, sizeof(keep), "%s/keep.h5", workdir);
  write_scratch("keep.h5", contents, sizeof(contents));
  snprintf(all, sizeof(all), "-drift_output %s -ts_max_steps 2 -drift_monitor 0 %s", keep, args);
  run_driftsim(&r, ranks, all);
  ck_assert_msg(r.exit_code != 0, "'%s' at %d ranks exited 0", args, ranks);
  ck_assert_msg(count_occurrences(r.err, "driftsim: error:") == 1, "'%s' at %d ranks: expected one error line, stderr: %.1500s", args, ranks, r.err);
  ck_assert_msg(strstr(r.err, names) != NULL, "'%s' at %d ranks: message does not name '%s': %.1500s", args, ranks, names, r.err);
  ck_assert_msg(!strstr(r.err, "PETSC ERROR") && !strstr(r.out, "PETSC ERROR"), "'%s' at %d ranks: a PETSc traceback: %.1500s", args, ranks, r.err);
  FILE        *f = fopen(keep, "rb");
  const size_t n = fread(seen, 1, sizeof(seen), f);
  fclose(f);
  ck_assert_msg(n == sizeof(contents) && !memcmp(seen, contents, n), "'%s' at %d ranks changed the existing output file", args, ranks);
}

START_TEST(typed_input_is_refused_by_name)
{
  char args[1024], names[1024];
  write_options_files();
  snprintf(args, sizeof(args), typed_inputs[_i].args, workdir, workdir);
  snprintf(names, sizeof(names), typed_inputs[_i].names, workdir, workdir);
  for (int ranks = cli_refusal_ranks(1); ranks <= cli_refusal_ranks(2); ranks++) check_typed_refusal(ranks, args, names);
}
END_TEST

/* A file table of 2^30 rows of 2 numbers (never written, so the file is small) is 2^31
   entries, one more than 32-bit indices address: refused naming the file and the limit. */
START_TEST(table_beyond_the_index_width_is_refused)
{
  char    path[300], args[1024], names[1024];
  hsize_t dims[2] = {1073741824, 2};
  snprintf(path, sizeof(path), "%s/huge.h5", workdir);
  hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t space = H5Screate_simple(2, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_LATE);
  H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
  hid_t dset = H5Dcreate2(file, "/cloud", H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  ck_assert_msg(dset >= 0, "could not make the huge table");
  H5Dclose(dset);
  H5Pclose(dcpl);
  H5Sclose(space);
  H5Fclose(file);
  snprintf(args, sizeof(args), "-drift_init file -drift_init_file %s -drift_init_dataset /cloud", path);
  snprintf(names, sizeof(names), "-drift_init_file %s, dataset /cloud: has 1073741824 rows of 2 numbers, more than the 2147483647 entries", path);
  for (int ranks = cli_refusal_ranks(1); ranks <= cli_refusal_ranks(2); ranks++) check_typed_refusal(ranks, args, names);
}
END_TEST

/* The old spelling -drift_cutoff_tol runs as -drift_sum cutoff, said once (not on every
   rank); in d = 4 the cutoff that does not apply is said once too and recorded as
   sum_applied = 0; in d = 2 it is applied and recorded as 1. */
START_TEST(cutoff_that_does_not_apply_is_said)
{
  for (int ranks = 1; ranks <= 2; ranks++)
    for (int dim = 2; dim <= 4; dim += 2) {
      char args[1024], out[300];
      Run  r;
      snprintf(out, sizeof(out), "%s/cutoff%d.h5", workdir, dim);
      snprintf(args, sizeof(args), "-drift_n 40 -drift_dim %d -drift_cutoff_tol 1e-8 -ts_max_steps 2 -drift_monitor 0 -drift_diagnostics none -drift_output %s", dim, out);
      run_driftsim(&r, ranks, args);
      ck_assert_msg(r.exit_code == 0, "d = %d at %d ranks failed: %.1500s", dim, ranks, r.err);
      const int renamed = count_occurrences(r.out, "driftsim: note: -drift_cutoff_tol 1e-08 is spelled -drift_sum cutoff -drift_sum_tol 1e-08 now; running as such");
      const int notes   = count_occurrences(r.out, "driftsim: note: -drift_sum cutoff is not applied: its fast sums need -drift_dim <= 3 (4 given)");
      ck_assert_msg(renamed == 1 && notes == (dim == 4 ? 1 : 0), "d = %d at %d ranks: %d renaming notes, %d notes: %.1500s", dim, ranks, renamed, notes, r.out);
      hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
      ck_assert_msg(read_attribute(f, "sum_applied") == (dim == 4 ? 0 : 1), "d = %d: sum_applied wrong", dim);
      H5Fclose(f);
    }
}
END_TEST

/* -drift_sum auto says its choice once per source set and method, on rank 0 only: here
   the transform for 30000 particles in 1-D, over a run of 3 steps (4 evaluations). */
START_TEST(auto_says_its_choice_once)
{
  for (int ranks = 1; ranks <= 2; ranks++) {
    char out[300], args[1024];
    Run  r;
    snprintf(out, sizeof(out), "%s/auto.h5", workdir);
    snprintf(args, sizeof(args), "-drift_n 30000 -drift_dim 1 -drift_bandwidth 0.3 -drift_sum auto -drift_sum_tol 1e-8 -ts_max_steps 3 -drift_monitor 0 -drift_diagnostics none -drift_output %s", out);
    run_driftsim(&r, ranks, args);
    ck_assert_msg(r.exit_code == 0, "at %d ranks failed: %.1500s", ranks, r.err);
    const int said = count_occurrences(r.out, "driftsim: -drift_sum auto: the sums over the particles by fgt"), any = count_occurrences(r.out, "-drift_sum auto:");
    ck_assert_msg(said == 1 && any == 1, "at %d ranks: said %d times (%d lines in all): %.1500s", ranks, said, any, r.out);
  }
}
END_TEST

void cli_test_add_typed(TCase *tc)
{
  tcase_add_loop_test(tc, typed_input_is_refused_by_name, 0, (int)(sizeof(typed_inputs) / sizeof(typed_inputs[0])));
  tcase_add_test(tc, table_beyond_the_index_width_is_refused);
  tcase_add_test(tc, cutoff_that_does_not_apply_is_said);
  tcase_add_test(tc, auto_says_its_choice_once);
}
