/* Shared by the diagnostics suite's files (check_diagnostics.c: the distances;
   check_diagnostics_density.c: the KDE terms and the mixture): the options of a run, the
   run itself (target, particles, diagnostics), every rank's copy of the particles and the
   samples compared with, and the target cases and sizes both halves loop over. */
#ifndef DIAGNOSTICS_TEST_H
#define DIAGNOSTICS_TEST_H

#include <petscvec.h>
#include "ds_test.h"
#include "ds_diagnostics.h"
#include "ds_target.h"

#define MAXD 4

/* The options of a diagnostics run: N = n particles of dimension dim, the displacement
   field with `kernel` (bandwidth 0.6, imq exponent beta), `target` with `samples` samples
   (replicated or partitioned), diagnostics every step, mmd bandwidth 0.7, 16 projections. */
DSOptions make_options(DSTargetType target, PetscInt samples, PetscBool replicate, PetscInt n, PetscInt dim, DSKernelType kernel, PetscReal beta);

/* ---------------------------------------------------------------- runs and gathering */

typedef struct {
  DSOptions     opts;
  DSTarget     *target;
  Vec           X;
  DSDiagnostics diag;
  PetscInt      count;
  const char *const *names;
} Run;

/* Target and initial cloud of the options, validated as the program does; the diagnostics
   come later (run_diagnostics), so a test can place particles or samples by hand first. */
void run_setup(Run *r, DSOptions o);
/* The diagnostics of the run's options, target and particles, and their names. */
void run_diagnostics(Run *r);
void run_teardown(Run *r);

/* All particles X [n][d] and the samples compared with Y [m][d], on every rank. */
typedef struct {
  PetscInt n, m, d;
  double  *X, *Y;
} Cloud;

/* The run's particles and samples (the target's, or for an analytic target redrawn on
   DS_STREAM_DIAGNOSTIC as the diagnostics do) on every rank; free with free_cloud. */
void gather_cloud(const Run *r, Cloud *cl);
void free_cloud(Cloud *cl);

/* Sets this rank's particle rows from all rows [n][d]. */
void set_particles(Vec X, const double *rows);

/* The value of diagnostic `name`, NaN (found 0) when not listed. */
double value_of(const Run *r, const double *values, const char *name, int *found);

/* 1 when every value is bitwise the same on every rank. */
int identical_on_all_ranks(const double *values, PetscInt count);

/* ---------------------------------------------------------------- configurations */

/* The sizes {N, M} every comparison runs at: N not a multiple of the rank count. */
extern const PetscInt sizes[2][2];
#define NSIZES ((int)(sizeof(sizes) / sizeof(sizes[0])))

/* Targets compared with: sampled (partitioned, replicated) gmm8, gaussian in 3-D and
   checkerboard (no mixture), and analytic gmm8 and gaussian (samples drawn for the
   diagnostics: M' given, or 0 for N). */
typedef struct {
  DSTargetType target;
  PetscInt     dim;
  int          analytic, replicate, diagnostic_samples; /* diagnostic_samples: 1 = M', 0 = N */
} TargetCase;

extern const TargetCase target_cases[8];
#define NTARGETS ((int)(sizeof(target_cases) / sizeof(target_cases[0])))

/* The options of a target case at N = n and M = m (M' = m when the case draws M'). */
DSOptions target_options(const TargetCase *tc, PetscInt n, PetscInt m, DSKernelType kernel, PetscReal beta);

/* Adds the tests of check_diagnostics_density.c (kernel normalisation, KDE, mixture) to tc. */
void diagnostics_test_add_density(TCase *tc);

#endif
