/* Shared by the sinkhorn suite's files (check_sinkhorn.c: the solver, field, divergence
   and LSE kernel against a dense long-double Sinkhorn; check_sinkhorn_convergence.c: warm
   start, eps-scaling, non-convergence): the point sets and a solver over them. */
#ifndef SINKHORN_TEST_H
#define SINKHORN_TEST_H

#include "ds_test.h"
#include "ds_sinkhorn.h"

#define N_PARTICLES 37    /* not a multiple of 2, 3 or 4 */
#define M_SAMPLES   23
#define AGREE       1e-10 /* the agreement asked of driftsim at -drift_sinkhorn_tol 1e-13 */

/* A solver configuration: dimension, cost, samples replicated or partitioned, eps. */
typedef struct {
  PetscInt       d;
  DSSinkhornCost cost;
  PetscBool      replicated;
  double         eps;
} Case;

/* count rows [count][d] of irregular points on [-1.5, 1.5)^d + shift, one set per seed. */
void sinkhorn_points(PetscInt count, PetscInt d, double seed, double shift, double *rows);

/* The case's settings: tol 1e-13, at most 5000 iterations, eps-scaling 0.5, warm start
   extrapolated, Anderson mixing of 5 differences (the defaults but the tolerance and iterations). */
DSSinkhornSettings sinkhorn_case_settings(const Case *k);

/* A solver on PETSC_COMM_WORLD over this rank's share (PETSc's split) of the particles X
   (n rows) and of the samples Y (m rows; all of them when replicated). */
DSSinkhorn sinkhorn_case_solver(const Case *k, const DSSinkhornSettings *s, PetscInt n, const double *X, PetscInt m, const double *Y);

/* Every rank's copy of a potential of count points from this rank's values `local`: over
   the particles, or over the samples (samples: as the case holds them). */
void sinkhorn_gather_potential(const Case *k, const PetscReal *local, PetscBool samples, PetscInt count, double *all);

/* Shifts two-sided potentials (f + c, g - c) into the gauge <a, f> = <b, g>. */
void sinkhorn_fix_gauge(PetscInt n, double *f, PetscInt m, double *g);

/* A test case of the suite named for CK_RUN_CASE, whose failing PETSc calls return their
   error to the assertions on every rank. */
TCase *sinkhorn_test_case(Suite *s, const char *name);

/* Adds the test case "convergence" (check_sinkhorn_convergence.c) to s. */
void sinkhorn_test_add_convergence(Suite *s);

#endif
