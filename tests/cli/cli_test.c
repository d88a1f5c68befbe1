/* Helpers of the CLI suite (cli_test.h): running driftsim and reading or writing its files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "cli_test.h"

char workdir[256];

void slurp(const char *path, char *buf, size_t len)
{
  FILE  *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, len - 1, f) : 0;
  buf[n]   = 0;
  if (f) fclose(f);
}

const char *driftsim_program(void)
{
  const char *program = getenv("DS_DRIFTSIM");
  return program && program[0] ? program : "bin/driftsim";
}

/* Runs driftsim on `ranks` ranks with `args`; captures exit code, stdout and stderr.
   Open MPI's daemon answers a rank's non-zero exit by killing the job's processes: SIGTERM,
   then odls_base_sigkill_timeout (1 s) before SIGKILL, twice, even when every rank has
   already exited; these runs receive no signal, so the wait is set to 0 (2 s less for each
   refused run: most of the suite's time before). */
void run_driftsim(Run *r, int ranks, const char *args)
{
  char cmd[4096];
  snprintf(cmd, sizeof(cmd), "OMPI_MCA_odls_base_sigkill_timeout=0 tools/mpiexec-local -n %d %s %s >%s/out 2>%s/err", ranks, driftsim_program(), args, workdir, workdir);
  int status = system(cmd);
  r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  snprintf(cmd, sizeof(cmd), "%s/out", workdir);
  slurp(cmd, r->out, sizeof(r->out));
  snprintf(cmd, sizeof(cmd), "%s/err", workdir);
  slurp(cmd, r->err, sizeof(r->err));
}

char *read_file(const char *path, long *size)
{
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *size = ftell(f);
  rewind(f);
  char *bytes = malloc((size_t)*size + 1);
  ck_assert(fread(bytes, 1, (size_t)*size, f) == (size_t)*size);
  fclose(f);
  return bytes;
}

int count_occurrences(const char *text, const char *needle)
{
  int n = 0;
  for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) n++;
  return n;
}

double read_attribute(hid_t file, const char *name)
{
  double value = NAN;
  hid_t  attr  = H5Aopen(file, name, H5P_DEFAULT);
  ck_assert_msg(attr >= 0, "attribute %s missing", name);
  H5Aread(attr, H5T_NATIVE_DOUBLE, &value);
  H5Aclose(attr);
  return value;
}

double target_value(int i, int k) { return sin(1.0 + 3.0 * i + k) * 5.0 / 3.0; }
double cloud_value(int i, int k) { return cos(2.0 + 5.0 * i + k) * 7.0 / 3.0; }

double *read_dataset(hid_t file, const char *name, int *rank, hsize_t dims[3])
{
  hid_t dset = H5Dopen2(file, name, H5P_DEFAULT);
  ck_assert_msg(dset >= 0, "dataset %s missing", name);
  hid_t space = H5Dget_space(dset);
  *rank       = H5Sget_simple_extent_ndims(space);
  H5Sget_simple_extent_dims(space, dims, NULL);
  size_t count = 1;
  for (int k = 0; k < *rank; k++) count *= dims[k];
  double *data = malloc(count * sizeof(double) + 1);
  ck_assert(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
  H5Sclose(space);
  H5Dclose(dset);
  return data;
}

/* Writes the float64 table [rows][cols] `values` as dataset `name` of a new file `path`. */
void write_table(const char *path, const char *name, int rows, int cols, const double *values)
{
  const hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
  hid_t         file    = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ck_assert_msg(file >= 0, "cannot create %s", path);
  hid_t space = H5Screate_simple(2, dims, NULL);
  hid_t dset  = H5Dcreate2(file, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ck_assert_msg(dset >= 0 && H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) >= 0, "cannot write %s in %s", name, path);
  H5Dclose(dset);
  H5Sclose(space);
  ck_assert(H5Fclose(file) >= 0);
}

/* A table [rows][cols] of value(i, k), with a NaN at row `nan_row` (none when negative). */
double *make_table(int rows, int cols, double (*value)(int, int), int nan_row)
{
  double *t = malloc(sizeof(double) * (size_t)(rows * cols));
  for (int i = 0; i < rows; i++)
    for (int k = 0; k < cols; k++) t[i * cols + k] = value(i, k);
  if (nan_row >= 0) t[nan_row * cols + cols - 1] = NAN;
  return t;
}

/* Runs driftsim on `ranks` ranks with the bad `args` and an existing output file: it must
   fail with one clean error line containing `names`, and leave the file as it was. */
void cli_check_refused_at(int ranks, const char *args, const char *names)
{
  const char *contents = "keep me";
  char        keep[300], all[4096], seen[64];
  Run         r;
  snprintf(keep, sizeof(keep), "%s/keep.h5", workdir);
  FILE *f = fopen(keep, "w");
  fputs(contents, f);
  fclose(f);
  snprintf(all, sizeof(all), "%s -drift_output %s", args, keep);
  run_driftsim(&r, ranks, all);
  ck_assert_msg(r.exit_code != 0, "'%s' at %d ranks exited 0", args, ranks);
  ck_assert_msg(count_occurrences(r.err, "driftsim: error:") == 1, "'%s' at %d ranks: expected one error line, stderr: %s", args, ranks, r.err);
  ck_assert_msg(strstr(r.err, names) != NULL, "'%s' at %d ranks: message does not name '%s': %s", args, ranks, names, r.err);
  ck_assert_msg(!strstr(r.err, "PETSC ERROR") && !strstr(r.out, "PETSC ERROR"), "'%s' at %d ranks: a PETSc traceback instead of a message: %s", args, ranks, r.err);
  slurp(keep, seen, sizeof(seen));
  ck_assert_msg(!strcmp(seen, contents), "'%s' at %d ranks destroyed the existing output file", args, ranks);
}

int cli_refusal_ranks(int ranks)
{
  const char *forced = getenv("DS_CLI_REFUSAL_RANKS");
  return forced && atoi(forced) > 0 ? atoi(forced) : ranks;
}

void cli_check_refused(const char *args, const char *names)
{
  cli_check_refused_at(cli_refusal_ranks(2), args, names);
}
