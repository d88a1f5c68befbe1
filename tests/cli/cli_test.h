/* Shared by the CLI suite's files (check_cli.c: runs that succeed; check_cli_errors.c: the
   bad inputs and failures refused): the scratch directory, running driftsim through
   mpiexec and reading what it wrote, and the HDF5 tables given to it as input. */
#ifndef CLI_TEST_H
#define CLI_TEST_H

#include <check.h>
#include <hdf5.h>
#include <stddef.h>

/* The scratch directory of this test run (made by main, removed at the end). */
extern char workdir[256];

typedef struct {
  int  exit_code;
  char out[1 << 16];
  char err[1 << 16];
} Run;

/* The file at `path` into buf (at most len - 1 characters, terminated); empty when missing. */
void slurp(const char *path, char *buf, size_t len);

/* The driftsim program the suite runs: $DS_DRIFTSIM when set (make check-sanitize points
   it at the instrumented build), else bin/driftsim; relative to the repository root. */
const char *driftsim_program(void);

/* Runs driftsim on `ranks` ranks with `args`; captures exit code, stdout and stderr. */
void run_driftsim(Run *r, int ranks, const char *args);

/* The bytes of the file at `path` (malloc'ed, free with free()), their count in *size; NULL
   when unreadable. */
char *read_file(const char *path, long *size);

/* How many times needle occurs in text. */
int count_occurrences(const char *text, const char *needle);

/* A numeric attribute of the file's root read as a double (asserts that it exists). */
double read_attribute(hid_t file, const char *name);

/* A dataset of `file` read whole as doubles (free with free()); its rank and dims (up to 3)
   returned. Asserts that it exists. */
double *read_dataset(hid_t file, const char *name, int *rank, hsize_t dims[3]);

/* Entries of the test tables: distinct, irregular doubles that use all their bits. */
double target_value(int i, int k);
double cloud_value(int i, int k);

/* Writes the float64 table [rows][cols] `values` as dataset `name` of a new file `path`. */
void write_table(const char *path, const char *name, int rows, int cols, const double *values);

/* A table [rows][cols] of value(i, k), with a NaN at row `nan_row` (none when negative);
   free with free(). */
double *make_table(int rows, int cols, double (*value)(int, int), int nan_row);

/* The rank count a refusal test runs driftsim at where it would run `ranks`: all of them
   $DS_CLI_REFUSAL_RANKS when that is set. The instrumented command-line cases of make check
   set it to 1 (tools/run-tests): a refusal's memory is its rank's, a launch costs seconds
   instrumented, and the plain cases check the agreement of 2 ranks. */
int cli_refusal_ranks(int ranks);

/* Runs driftsim on `ranks` ranks (cli_check_refused: 2) with the bad `args` and an existing
   output file: asserts that it fails with one clean error line containing `names`, no
   traceback, and leaves the file as it was. */
void cli_check_refused_at(int ranks, const char *args, const char *names);
void cli_check_refused(const char *args, const char *names);

/* Adds the test case "columns" of check_cli_columns.c (the joint fields' negatives and
   weights files and floor option refused when unusable) to s. */
void cli_test_add_columns(Suite *s);

/* Adds the tests of check_cli_errors.c (bad input, unusable files and outputs, a run that
   diverges, a checkpoint of another run) to tc. */
void cli_test_add_refusals(TCase *tc);

/* Adds the test case "preflight" of check_cli_preflight.c (runs refused before anything is
   written, at 1 and 2 ranks) to s. */
void cli_test_add_preflight(Suite *s);

/* Adds the tests of check_cli_typed.c (options as typed, options files, the index width,
   a cutoff that does not apply) to tc. */
void cli_test_add_typed(TCase *tc);

/* Adds the test case "guard" of check_cli_guard.c (a diverging run stopped at the first
   step outside the guard's ball with its last good state saved; the options files of runs/ never trip),
   at 1 and 2 ranks, to s. */
void cli_test_add_guard(Suite *s);

/* Adds the test case "sinkhorn" of check_cli_sinkhorn.c (the Sinkhorn options refused by
   name at 1 and 2 ranks; a run whose iterations do not converge stops cleanly) to s. */
void cli_test_add_sinkhorn(Suite *s);

/* Adds the test case "ecf" of check_cli_ecf.c (the ecf diagnostics' options refused, and a
   run that writes their shells), at 1 and 2 ranks, to s. */
void cli_test_add_ecf(Suite *s);

/* Adds the test case "isa": the pair loops' ISA levels forced, recorded and refused
   (check_cli_isa.c). */
void cli_test_add_isa(Suite *s);

#endif
