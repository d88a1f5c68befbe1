/* Shared by the output suite's files (check_output.c, check_output_restart.c): the values
   every test writes and rank 0 expects, from global indices alone, and the helpers that
   build runs and read their files back. */
#ifndef OUTPUT_TEST_H
#define OUTPUT_TEST_H

#include <stdint.h>
#include <hdf5.h>
#include <petscvec.h>
#include "ds_output.h"
#include "ds_test.h"

#define DIM           2
#define SNAPSHOTS     3
#define DIAG_ROWS     2
#define COMPONENTS    2
#define SAMPLES       5

/* The values every test writes and rank 0 expects, from global indices alone. */

/* The bandwidth recorded by every test file: a fixed h0 = 0.125. */
extern const DSBandwidth output_test_bandwidth;
static inline double position_value(PetscInt t, PetscInt i, PetscInt k) { return 100.0 * t + 10.0 * i + k; }
static inline double velocity_value(PetscInt t, PetscInt i, PetscInt k) { return 0.5 - (1000.0 * t + 10.0 * i + k); }
static inline double sample_value(PetscInt j, PetscInt k) { return 1000.0 + 10.0 * j + k; }
static inline double weight_value(PetscInt c) { return c ? 0.75 : 0.25; }
static inline double mean_value(PetscInt c, PetscInt k) { return 3.0 * c - k; }
static inline double covariance_value(PetscInt c, PetscInt a, PetscInt b) { return a == b ? 1.0 + c : 0.1 * (c + 1); }
static inline PetscInt snapshot_step(PetscInt t) { return 5 * t; }
static inline double snapshot_time(PetscInt t) { return 0.25 * t; }
static inline PetscInt diag_step(PetscInt r) { return 10 * r + 1; }
static inline double diag_time(PetscInt r) { return 0.5 * r; }
static inline double diag_value(PetscInt r, PetscInt k) { return k ? 0.125 - 2.0 * r : 1.5 + r; }
extern const char *const diag_names[2];

/* A file beside the output `path`: the path without .h5, plus `suffix` (".xmf": the XDMF
   sidecar; ".views.h5": its views file). */
void companion_of(const char *path, const char *suffix, char name[], size_t len);

/* Rank 0 removes the output `path`, its sidecar and its views file. */
void remove_output(const char *path);

/* Rank 0 writes `text` to `path` (replacing it); every rank waits for it. */
PetscErrorCode write_text_file(const char *path, const char *text);

/* Copies the file `from` to `to` byte for byte (serial). */
int copy_file(const char *from, const char *to);

/* Gives rank 0's verdict to every rank. */
PetscErrorCode share_verdict(int *ok);

/* Options of a small run, writing to `path`, validated as the program does: the gmm8 target
   in 2-D (it is planar), the gaussian one otherwise. */
void fill_options(PetscInt n, PetscInt dim, const char *path, DSOptions *opts);

/* A mixture target of COMPONENTS components in dimension `dim`, with `samples` samples
   split over the ranks (all on rank 0 when lumped, on every rank when replicated). */
PetscErrorCode make_target(PetscInt dim, PetscInt samples, PetscBool lumped, PetscBool replicated, DSTarget *t);

/* Frees what make_target allocated. */
PetscErrorCode free_target(DSTarget *t);

/* A particle Vec of n particles in blocks of dim: PETSc's split, or all on the last rank. */
PetscErrorCode make_particles(PetscInt n, PetscInt dim, PetscBool lumped, Vec *X);

/* Sets entry (i, k) of the blocked Vec to value(t, i, k). */
PetscErrorCode fill_particles(Vec X, PetscInt t, double (*value)(PetscInt, PetscInt, PetscInt));

/* Reads the whole dataset `name` as memtype into buf after checking its file type and shape
   (serial, rank 0). */
int read_dataset(hid_t file, const char *name, hid_t filetype, hid_t memtype, int ndims, const hsize_t dims[], void *buf);

/* Compares count doubles with the expected ones, naming the dataset of the first mismatch. */
int same_values(const char *name, PetscInt count, const double *got, const double *expected);

/* Reads a float64 dataset of shape dims and compares it with `expected`. */
int check_doubles(hid_t file, const char *name, int ndims, const hsize_t dims[], const double *expected);

/* Reads an int64 series of length `count` and compares it with `expected`. */
int check_steps(hid_t file, const char *name, PetscInt count, const int64_t *expected);

/* Checks /particles after `snapshots` snapshots of n particles in dimension dim. */
int check_particles(hid_t file, PetscInt snapshots, PetscInt n, PetscInt dim, PetscBool velocity);

/* Checks /diagnostics after `rows` rows of the first `count` diagnostic names. */
int check_diagnostics(hid_t file, PetscInt rows, PetscInt count);

/* Checks /target: the mixture, and the samples when `samples` > 0 (absent otherwise). */
int check_target(hid_t file, PetscInt dim, PetscInt samples);

/* Reads the root attribute `name`, an int64, into value. */
int read_int_attribute(hid_t file, const char *name, int64_t *value);

/* Reads the root attribute `name`, a null-terminated fixed-length string, into a malloc'd
   string (NULL when it is missing or of another type). */
char *read_string_attribute(hid_t file, const char *name);

/* Compares the int64 root attribute `name` with `expected`. */
int check_int_attribute(hid_t file, const char *name, int64_t expected);

/* Checks that the string root attribute `name` equals `expected` (or, with `contained`,
   contains it). */
int check_string_attribute(hid_t file, const char *name, const char *expected, PetscBool contained);

/* Calls ds_output_write_particles or _diagnostics expecting error `code` on every rank. */
int fails_with(PetscErrorCode code, PetscErrorCode (*call)(DSOutput, Vec), DSOutput out, Vec v);

/* A diagnostics row with one name ("other") where the file has others: a misuse
   fails_with tries. */
PetscErrorCode write_renamed_diagnostic(DSOutput out, Vec v);

/* Adds the sidecar and restart tests (check_output_restart.c) to the output suite. */
void output_test_add_restart(TCase *tc);

#endif
