/* The Sinkhorn solver's warm start, eps-scaling, Anderson mixing and non-convergence error
   (ds_sinkhorn.h, ds_anderson.h): a solve from converged potentials takes one iteration,
   eps-scaled and mixed cold starts reach the potentials of plain unmixed iterations, the
   mixing alone solves a linear fixed point as GMRES does, the warm start's extrapolation
   follows its formula, max_iterations reached is
   PETSC_ERR_NOT_CONVERGED on every rank unless allowed. Part of the sinkhorn suite
   (check_sinkhorn.c adds the test case "convergence"). */
#include <math.h>
#include "ds_anderson.h"
#include "sinkhorn_test.h"

START_TEST(test_warm_start_and_scaling)
{
  double X[N_PARTICLES * 2], Y[M_SAMPLES * 2];
  sinkhorn_points(N_PARTICLES, 2, 0.1, 0.0, X);
  sinkhorn_points(M_SAMPLES, 2, 0.7, 0.4, Y);
  for (int replicated = 0; replicated < 2; replicated++) {
    const Case         k      = {2, DS_SINKHORN_COST_SQUARED, (PetscBool)replicated, 0.1};
    DSSinkhornSettings scaled = sinkhorn_case_settings(&k), plain = scaled;
    plain.scaling         = 0; /* and plain iterations: the mixed solves of S against them */
    plain.anderson_memory = 0;
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
      for (PetscInt i = 0; i < n; i++) worst = ds_test_worst(worst, fabs(f1[i] - f2[i])), top = PetscMax(top, fabs(f2[i]));
      for (PetscInt j = 0; b1 && j < M_SAMPLES; j++) worst = ds_test_worst(worst, fabs(g1[j] - g2[j])), top = PetscMax(top, fabs(g2[j]));
      DS_ASSERT_ALL(worst < AGREE * top, "problem %d replicated=%d: eps-scaled mixed and plain unmixed cold starts differ by %g", problem, replicated, worst);
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

/* Anderson mixing of memory >= n on an affine contraction x <- A x + b of R^n is GMRES (Walker
   & Ni 2011): it reaches the fixed point (I - A)^(-1) b, solved here by Gaussian elimination,
   within n + 1 mixed iterations, where the plain iteration (contraction 0.9) is still far.
   The vector is split over the ranks as a potential is. */
START_TEST(test_anderson_solves_linear_fixed_point)
{
  enum { n = 7 };
  double      A[n][n], b[n], solution[n], system[n][n + 1], x[n], y[n], plain[n], error = 0, plain_error = 0, top = 0;
  PetscMPIInt rank, size;
  PetscInt    start, local;
  DSAnderson  anderson;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  start = n * rank / size, local = n * (rank + 1) / size - start;
  /* A = 0.9 Q D Q^T: a symmetric matrix with eigenvalues 0.9 cos(pi (j + 1/2) / n), Q from
     Householder's reflection of a fixed vector; b fixed. */
  double v[n], vv = 0;
  for (int i = 0; i < n; i++) v[i] = 1.0 + 0.3 * i, vv += v[i] * v[i], b[i] = sin(1.0 + i);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      A[i][j] = 0;
      for (int k = 0; k < n; k++) {
        const double qik = (i == k) - 2 * v[i] * v[k] / vv, qjk = (j == k) - 2 * v[j] * v[k] / vv;
        A[i][j] += qik * 0.9 * cos(M_PI * (k + 0.5) / n) * qjk;
      }
    }
  for (int i = 0; i < n; i++) { /* (I - A) solution = b by elimination with partial pivoting */
    for (int j = 0; j < n; j++) system[i][j] = (i == j) - A[i][j];
    system[i][n] = b[i];
  }
  for (int c = 0; c < n; c++) {
    int p = c;
    for (int r = c + 1; r < n; r++)
      if (fabs(system[r][c]) > fabs(system[p][c])) p = r;
    for (int j = 0; j <= n; j++) {
      const double t = system[c][j];
      system[c][j] = system[p][j], system[p][j] = t;
    }
    for (int r = c + 1; r < n; r++)
      for (int j = n; j >= c; j--) system[r][j] -= system[r][c] / system[c][c] * system[c][j];
  }
  for (int i = n - 1; i >= 0; i--) {
    solution[i] = system[i][n];
    for (int j = i + 1; j < n; j++) solution[i] -= system[i][j] * solution[j];
    solution[i] /= system[i][i];
  }
  DS_ASSERT_ALL(size <= 64, "the test splits its vector over at most 64 ranks, not %d", (int)size);
  DS_ASSERT_PETSC(ds_anderson_create(PETSC_COMM_WORLD, local, n, &anderson));
  for (int i = 0; i < n; i++) x[i] = plain[i] = 0;
  for (int iteration = 0; iteration <= n; iteration++) {
    int counts[64], displacements[64];
    DS_ASSERT_PETSC(ds_anderson_record(anderson, x + start));
    for (int i = 0; i < n; i++) {
      y[i] = b[i];
      for (int j = 0; j < n; j++) y[i] += A[i][j] * x[j];
    }
    DS_ASSERT_PETSC(ds_anderson_mix(anderson, y + start));
    for (int r = 0; r < size; r++) displacements[r] = n * r / size, counts[r] = n * (r + 1) / size - displacements[r];
    DS_ASSERT_ALL(MPI_Allgatherv(y + start, (int)local, MPI_DOUBLE, x, counts, displacements, MPI_DOUBLE, PETSC_COMM_WORLD) == MPI_SUCCESS, "MPI_Allgatherv failed");
    for (int i = 0; i < n; i++) {
      y[i] = b[i];
      for (int j = 0; j < n; j++) y[i] += A[i][j] * plain[j];
    }
    for (int i = 0; i < n; i++) plain[i] = y[i];
  }
  for (int i = 0; i < n; i++) error = fmax(error, fabs(x[i] - solution[i])), plain_error = fmax(plain_error, fabs(plain[i] - solution[i])), top = fmax(top, fabs(solution[i]));
  DS_ASSERT_ALL(error < 1e-10 * top, "Anderson mixing after %d iterations: error %g against the fixed point's size %g", n + 1, error, top);
  DS_ASSERT_ALL(plain_error > 1e-2 * top, "the plain iteration was already at error %g: the test does not tell mixing from iterating", plain_error);
  DS_ASSERT_PETSC(ds_anderson_destroy(&anderson));
}
END_TEST

/* Anderson mixing against a reference written here: an explicit list of the last memory + 1
   pairs (x, G(x)) and the least-squares problem solved by modified Gram-Schmidt, on an affine
   map of R^5 that is not symmetric, memory 1 to 4 over 14 iterations (the history full and
   wrapping round), a fall back at iteration 9, and at more than one rank rank 0 holding no
   entry. Both continue from the reference's iterate. */
enum { REF_N = 5, REF_ITERATIONS = 14, REF_FALL_BACK = 9 };

static void reference_map(const double *x, double *y)
{
  for (int i = 0; i < REF_N; i++) {
    y[i] = sin(1.0 + i);
    for (int j = 0; j < REF_N; j++) y[i] += 0.35 * sin(1.7 * i + 0.9 * j * j + 0.3) * x[j];
  }
}

/* y -= sum_j gamma_j (G_(j+1) - G_j), gamma minimising |F_newest - sum_j gamma_j (F_(j+1) - F_j)|
   over the `pairs` pairs (x[k], g[k]) of the list, oldest first. */
static void reference_mix(int pairs, double (*x)[REF_N], double (*g)[REF_N], double *y)
{
  const int m = pairs - 1;
  double    q[REF_ITERATIONS][REF_N], r[REF_ITERATIONS][REF_ITERATIONS], gamma[REF_ITERATIONS];
  for (int j = 0; j < m; j++)
    for (int i = 0; i < REF_N; i++) q[j][i] = (g[j + 1][i] - x[j + 1][i]) - (g[j][i] - x[j][i]);
  for (int j = 0; j < m; j++) {
    double norm = 0;
    for (int k = 0; k < j; k++) {
      double d = 0;
      for (int i = 0; i < REF_N; i++) d += q[k][i] * q[j][i];
      r[k][j] = d;
      for (int i = 0; i < REF_N; i++) q[j][i] -= d * q[k][i];
    }
    for (int i = 0; i < REF_N; i++) norm += q[j][i] * q[j][i];
    r[j][j] = sqrt(norm);
    for (int i = 0; i < REF_N; i++) q[j][i] /= r[j][j];
  }
  for (int j = m - 1; j >= 0; j--) {
    gamma[j] = 0;
    for (int i = 0; i < REF_N; i++) gamma[j] += q[j][i] * (g[m][i] - x[m][i]);
    for (int k = j + 1; k < m; k++) gamma[j] -= r[j][k] * gamma[k];
    gamma[j] /= r[j][j];
  }
  for (int j = 0; j < m; j++)
    for (int i = 0; i < REF_N; i++) y[i] -= gamma[j] * (g[j + 1][i] - g[j][i]);
}

START_TEST(test_anderson_against_reference)
{
  PetscMPIInt rank, size;
  int         counts[64], displacements[64];
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  DS_ASSERT_ALL(size <= 64, "the test splits its vector over at most 64 ranks, not %d", (int)size);
  for (int p = 0; p < size; p++) { /* rank 0 holds nothing when there are others */
    const int others = size > 1 ? size - 1 : 1, index = size > 1 ? p - 1 : p;
    displacements[p] = size > 1 && p == 0 ? 0 : REF_N * index / others;
    counts[p]        = size > 1 && p == 0 ? 0 : REF_N * (index + 1) / others - displacements[p];
  }
  for (int memory = 1; memory <= 4; memory++) {
    DSAnderson anderson;
    double     x[REF_N] = {0}, y[REF_N], reference[REF_N], listed_x[REF_ITERATIONS][REF_N], listed_g[REF_ITERATIONS][REF_N], worst = 0;
    int        pairs = 0, start = displacements[rank];
    DS_ASSERT_PETSC(ds_anderson_create(PETSC_COMM_WORLD, counts[rank], memory, &anderson));
    for (int iteration = 0; iteration < REF_ITERATIONS; iteration++) {
      double change = 0, top = 0;
      DS_ASSERT_PETSC(ds_anderson_record(anderson, x + start));
      reference_map(x, y);
      if (iteration == REF_FALL_BACK) { /* back to the newest unmixed G(x), which alone stays listed */
        DS_ASSERT_ALL(ds_anderson_fall_back(anderson, y + start), "memory %d: no mixed iterate to fall back from", memory);
        memcpy(reference, listed_g[pairs - 1], sizeof(reference));
        memcpy(listed_x[0], listed_x[pairs - 1], sizeof(listed_x[0]));
        memcpy(listed_g[0], listed_g[pairs - 1], sizeof(listed_g[0]));
        pairs = 1;
      } else {
        if (pairs == memory + 1) { /* the oldest pair leaves the list */
          memmove(listed_x[0], listed_x[1], sizeof(listed_x[0]) * memory);
          memmove(listed_g[0], listed_g[1], sizeof(listed_g[0]) * memory);
          pairs--;
        }
        memcpy(listed_x[pairs], x, sizeof(x));
        memcpy(listed_g[pairs], y, sizeof(y));
        pairs++;
        memcpy(reference, y, sizeof(reference));
        reference_mix(pairs, listed_x, listed_g, reference);
        DS_ASSERT_PETSC(ds_anderson_mix(anderson, y + start));
      }
      for (int i = 0; i < counts[rank]; i++) change = fmax(change, fabs(y[start + i] - reference[start + i]));
      for (int i = 0; i < REF_N; i++) top = fmax(top, fabs(reference[i]));
      worst = fmax(worst, change / top);
      memcpy(x, reference, sizeof(x));
    }
    DS_ASSERT_ALL(worst < 1e-12, "memory %d: the mixed iterates differ from the reference's by %g of their size", memory, worst);
    DS_ASSERT_PETSC(ds_anderson_destroy(&anderson));
  }
}
END_TEST

/* ds_sinkhorn_extrapolate over M_SAMPLES values split over the ranks as the samples are,
   against its formula computed here on every value, over four calls with solutions g0 to
   g3: no extrapolation at the first two (rho = 0, g centred), g2 + rho (g2 - g1) with rho
   from the two changes at the third, and at the fourth a change opposed to the last (rho
   clamped to 0). */
START_TEST(test_extrapolation_against_formula)
{
  enum { CALLS = 4 };
  double      g[CALLS][M_SAMPLES], centred[CALLS][M_SAMPLES], expect[M_SAMPLES], previous[M_SAMPLES], difference[M_SAMPLES], start[M_SAMPLES], rho_expected[CALLS];
  PetscMPIInt rank, size;
  PetscInt    first_sample, local, seen = 0;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  first_sample = M_SAMPLES * rank / size, local = M_SAMPLES * (rank + 1) / size - first_sample;
  for (int k = 0; k < M_SAMPLES; k++) {
    g[0][k] = 2.0 + cos(1.3 * k) + 0.3 * sin(0.7 * k);
    g[1][k] = g[0][k] - 1.0 - 0.8 * cos(1.3 * k);
    g[2][k] = g[1][k] + 0.4 - 0.3 * cos(1.3 * k) + 0.1 * sin(2.9 * k);
    g[3][k] = g[2][k] + 7.0 + 0.5 * cos(1.3 * k) - 0.2 * sin(2.9 * k); /* against the last change */
  }
  for (int call = 0; call < CALLS; call++) {
    double mean = 0, dot = 0, norm = 0, rho, worst = 0;
    for (int k = 0; k < M_SAMPLES; k++) mean += g[call][k] / M_SAMPLES;
    for (int k = 0; k < M_SAMPLES; k++) centred[call][k] = g[call][k] - mean;
    for (int k = 0; call >= 2 && k < M_SAMPLES; k++) {
      const double last = centred[call][k] - centred[call - 1][k], before = centred[call - 1][k] - centred[call - 2][k];
      dot += last * before, norm += before * before;
    }
    rho_expected[call] = call >= 2 ? fmax(0, fmin(1, dot / norm)) : 0;
    for (int k = 0; k < M_SAMPLES; k++) expect[k] = centred[call][k] + (call >= 1 ? rho_expected[call] * (centred[call][k] - centred[call - 1][k]) : 0);
    for (PetscInt k = 0; k < local; k++) start[k] = g[call][first_sample + k];
    DS_ASSERT_PETSC(ds_sinkhorn_extrapolate(PETSC_COMM_WORLD, local, M_SAMPLES, &seen, previous, difference, start, &rho));
    for (PetscInt k = 0; k < local; k++) worst = fmax(worst, fabs(start[k] - expect[first_sample + k]) + fabs(previous[k] - centred[call][first_sample + k]));
    DS_ASSERT_ALL(fabs(rho - rho_expected[call]) < 1e-14 && worst < 1e-14 && seen == call + 1, "call %d: rho %.17g against %.17g, values off by %g, %d calls counted", call, rho, rho_expected[call], worst, (int)seen);
  }
  DS_ASSERT_ALL(rho_expected[2] > 0.05 && rho_expected[2] < 0.95 && rho_expected[3] == 0, "the test's solutions do not exercise the ratio (%g) and the clamp (%g)", rho_expected[2], rho_expected[3]);
}
END_TEST

void sinkhorn_test_add_convergence(Suite *s)
{
  TCase *tc = sinkhorn_test_case(s, "convergence");
  tcase_add_test(tc, test_warm_start_and_scaling);
  tcase_add_test(tc, test_anderson_solves_linear_fixed_point);
  tcase_add_test(tc, test_anderson_against_reference);
  tcase_add_test(tc, test_extrapolation_against_formula);
  tcase_add_test(tc, test_unconverged_is_an_error_on_every_rank);
}
