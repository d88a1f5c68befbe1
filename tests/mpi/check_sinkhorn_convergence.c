/* The Sinkhorn solver's warm start, eps-scaling and non-convergence error (ds_sinkhorn.h):
   a solve from converged potentials takes one iteration, eps-scaled and plain cold starts
   reach the same potentials, max_iterations reached is PETSC_ERR_NOT_CONVERGED on every
   rank unless allowed. Part of the sinkhorn suite (check_sinkhorn.c adds the test case
   "convergence"). */
#include <math.h>
#include "sinkhorn_test.h"

START_TEST(test_warm_start_and_scaling)
{
  double X[N_PARTICLES * 2], Y[M_SAMPLES * 2];
  sinkhorn_points(N_PARTICLES, 2, 0.1, 0.0, X);
  sinkhorn_points(M_SAMPLES, 2, 0.7, 0.4, Y);
  for (int replicated = 0; replicated < 2; replicated++) {
    const Case         k      = {2, DS_SINKHORN_COST_SQUARED, (PetscBool)replicated, 0.1};
    DSSinkhornSettings scaled = sinkhorn_case_settings(&k), plain = scaled;
    plain.scaling = 0;
    DSSinkhorn S = sinkhorn_case_solver(&k, &scaled, N_PARTICLES, X, M_SAMPLES, Y), T = sinkhorn_case_solver(&k, &plain, N_PARTICLES, X, M_SAMPLES, Y);
    for (int problem = 0; problem < DS_SINKHORN_PROBLEMS; problem++) {
      PetscInt         cold, warm, unscaled;
      PetscReal        error;
      const PetscReal *a1, *a2, *b1 = NULL, *b2 = NULL;
      double           f1[N_PARTICLES], f2[N_PARTICLES], g1[M_SAMPLES], g2[M_SAMPLES];
      const PetscBool  samples = problem == DS_SINKHORN_TARGET_SELF;
      const PetscInt   n = samples ? M_SAMPLES : N_PARTICLES;
      DS_ASSERT_PETSC(ds_sinkhorn_solve(S, (DSSinkhornProblem)problem, PETSC_FALSE));
      DS_ASSERT_PETSC(ds_sinkhorn_get_convergence(S, (DSSinkhornProblem)problem, &cold, NULL));
      DS_ASSERT_PETSC(ds_sinkhorn_solve(T, (DSSinkhornProblem)problem, PETSC_FALSE));
      DS_ASSERT_PETSC(ds_sinkhorn_get_convergence(T, (DSSinkhornProblem)problem, &unscaled, NULL));
      DS_ASSERT_PETSC(ds_sinkhorn_get_potentials(S, (DSSinkhornProblem)problem, &a1, &b1));
      DS_ASSERT_PETSC(ds_sinkhorn_get_potentials(T, (DSSinkhornProblem)problem, &a2, &b2));
      sinkhorn_gather_potential(&k, a1, samples, n, f1);
      sinkhorn_gather_potential(&k, a2, samples, n, f2);
      if (b1) {
        sinkhorn_gather_potential(&k, b1, PETSC_TRUE, M_SAMPLES, g1);
        sinkhorn_gather_potential(&k, b2, PETSC_TRUE, M_SAMPLES, g2);
        sinkhorn_fix_gauge(N_PARTICLES, f1, M_SAMPLES, g1);
        sinkhorn_fix_gauge(N_PARTICLES, f2, M_SAMPLES, g2);
      }
      double worst = 0, top = k.eps;
      for (PetscInt i = 0; i < n; i++) worst = PetscMax(worst, fabs(f1[i] - f2[i])), top = PetscMax(top, fabs(f2[i]));
      for (PetscInt j = 0; b1 && j < M_SAMPLES; j++) worst = PetscMax(worst, fabs(g1[j] - g2[j])), top = PetscMax(top, fabs(g2[j]));
      DS_ASSERT_ALL(worst < AGREE * top, "problem %d replicated=%d: eps-scaled and plain cold starts differ by %g", problem, replicated, worst);
      DS_ASSERT_ALL(cold > 1 && unscaled > 1, "problem %d: cold starts took %d and %d iterations", problem, (int)cold, (int)unscaled);
      DS_ASSERT_PETSC(ds_sinkhorn_solve(S, (DSSinkhornProblem)problem, PETSC_FALSE));
      DS_ASSERT_PETSC(ds_sinkhorn_get_convergence(S, (DSSinkhornProblem)problem, &warm, &error));
      DS_ASSERT_ALL(warm == 1 && error < scaled.tol, "problem %d replicated=%d: a warm start from converged potentials took %d iterations (error %g)", problem, replicated, (int)warm, error);
    }
    /* warm start off: the same solve starts cold again */
    PetscInt again;
    DS_ASSERT_PETSC(ds_sinkhorn_destroy(&T));
    plain.warm_start = PETSC_FALSE;
    T                = sinkhorn_case_solver(&k, &plain, N_PARTICLES, X, M_SAMPLES, Y);
    DS_ASSERT_PETSC(ds_sinkhorn_solve(T, DS_SINKHORN_PARTICLES_TARGET, PETSC_FALSE));
    DS_ASSERT_PETSC(ds_sinkhorn_solve(T, DS_SINKHORN_PARTICLES_TARGET, PETSC_FALSE));
    DS_ASSERT_PETSC(ds_sinkhorn_get_convergence(T, DS_SINKHORN_PARTICLES_TARGET, &again, NULL));
    DS_ASSERT_ALL(again > 1, "warm start off: the second solve took %d iterations", (int)again);
    DS_ASSERT_PETSC(ds_sinkhorn_destroy(&S));
    DS_ASSERT_PETSC(ds_sinkhorn_destroy(&T));
  }
}
END_TEST

START_TEST(test_unconverged_is_an_error_on_every_rank)
{
  double X[N_PARTICLES * 2], Y[M_SAMPLES * 2];
  sinkhorn_points(N_PARTICLES, 2, 0.1, 0.0, X);
  sinkhorn_points(M_SAMPLES, 2, 0.7, 0.4, Y);
  for (int replicated = 0; replicated < 2; replicated++)
    for (int problem = 0; problem < DS_SINKHORN_PROBLEMS; problem++) {
      const Case         k = {2, DS_SINKHORN_COST_EUCLIDEAN, (PetscBool)replicated, 0.05};
      DSSinkhornSettings s = sinkhorn_case_settings(&k);
      PetscErrorCode     ierr;
      PetscInt           iterations;
      PetscReal          error;
      s.max_iterations = 2;
      DSSinkhorn S     = sinkhorn_case_solver(&k, &s, N_PARTICLES, X, M_SAMPLES, Y);
      ierr = ds_sinkhorn_solve(S, (DSSinkhornProblem)problem, PETSC_FALSE); /* errors return (the fixture) */
      DS_ASSERT_ALL(ierr == PETSC_ERR_NOT_CONVERGED, "problem %d replicated=%d: max_iterations 2 returned %d, not PETSC_ERR_NOT_CONVERGED", problem, replicated, (int)ierr);
      DS_ASSERT_PETSC(ds_sinkhorn_destroy(&S));
      s.allow_unconverged = PETSC_TRUE;
      S                   = sinkhorn_case_solver(&k, &s, N_PARTICLES, X, M_SAMPLES, Y);
      DS_ASSERT_PETSC(ds_sinkhorn_solve(S, (DSSinkhornProblem)problem, PETSC_FALSE));
      DS_ASSERT_PETSC(ds_sinkhorn_get_convergence(S, (DSSinkhornProblem)problem, &iterations, &error));
      DS_ASSERT_ALL(iterations == 2 && error >= s.tol, "problem %d: allowed unconverged: %d iterations, marginal error %g", problem, (int)iterations, error);
      DS_ASSERT_PETSC(ds_sinkhorn_destroy(&S));
    }
}
END_TEST

void sinkhorn_test_add_convergence(Suite *s)
{
  TCase *tc = sinkhorn_test_case(s, "convergence");
  tcase_add_test(tc, test_warm_start_and_scaling);
  tcase_add_test(tc, test_unconverged_is_an_error_on_every_rank);
}
