/* Tests of the targets: refused option combinations and the smoothed mixture against
   closed forms, finite differences and quadrature. The sample sets are tested in
   check_target_samples.c, in the same suite. */
#include <math.h>
#include <string.h>
#include "target_test.h"

/* ds_target_create on PETSC_COMM_WORLD with PETSc's error printing silenced; the error code. */
static PetscErrorCode create_quietly(const DSOptions *o, DSTarget **t)
{
  PetscErrorCode ierr;

  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = ds_target_create(PETSC_COMM_WORLD, o, t);
  PetscCall(PetscPopErrorHandler());
  return ierr;
}

/* A planar target outside 2-D and M = 0 for a target without a density are refused with
   PETSC_ERR_USER_INPUT on every rank and leave no target; their legal neighbours are accepted. */
START_TEST(test_refused_combinations)
{
  const struct {
    DSTargetType type;
    PetscInt     dim, samples;
  } refused[] = {
    {DS_TARGET_CHECKERBOARD, 3, 10}, {DS_TARGET_GMM8, 3, 0}, {DS_TARGET_RINGS, 1, 10}, {DS_TARGET_CHECKERBOARD, 2, 0}, {DS_TARGET_MOONS, 2, 0},
  }, accepted[] = {
    {DS_TARGET_CHECKERBOARD, 2, 10}, {DS_TARGET_GMM8, 2, 0}, {DS_TARGET_GAUSSIAN, 3, 0}, {DS_TARGET_GAUSSIAN, 1, 5},
  };

  for (size_t c = 0; c < sizeof(refused) / sizeof(refused[0]); c++) {
    const DSOptions o = target_options(refused[c].type, refused[c].dim, refused[c].samples, 1.0, PETSC_FALSE);
    DSTarget       *t = NULL;
    PetscErrorCode  ierr = create_quietly(&o, &t);

    DS_ASSERT_ALL(ierr == PETSC_ERR_USER_INPUT && !t, "-drift_target %s -drift_dim %d -drift_target_samples %d: error %d, expected PETSC_ERR_USER_INPUT (%d)", DSTargetTypes[o.target], (int)o.dim, (int)o.target_samples, (int)ierr, PETSC_ERR_USER_INPUT);
  }
  for (size_t c = 0; c < sizeof(accepted) / sizeof(accepted[0]); c++) {
    const DSOptions o = target_options(accepted[c].type, accepted[c].dim, accepted[c].samples, 1.0, PETSC_FALSE);
    DSTarget       *t = NULL;
    PetscErrorCode  ierr = create_quietly(&o, &t);

    DS_ASSERT_ALL(ierr == 0 && t && t->analytic == (o.target_samples == 0), "-drift_target %s -drift_dim %d -drift_target_samples %d refused (error %d)", DSTargetTypes[o.target], (int)o.dim, (int)o.target_samples, (int)ierr);
    DS_ASSERT_PETSC(ds_target_destroy(&t));
  }
}
END_TEST

/* Points of dimension d for the density tests: the origin, points near and between modes,
   and points far from every mode. The first NEAR_POINTS lie within 4 scale of the origin; the
   first MODERATE_POINTS within 25 scale (far enough that every mixture term underflows without
   log-sum-exp); the last is 10^3 scale away. */
#define TEST_POINTS     7
#define MODERATE_POINTS 6
#define NEAR_POINTS     5
static void test_points(PetscInt d, PetscReal scale, PetscReal *z)
{
  const PetscReal radius[TEST_POINTS] = {0.0, 1.0, 2.0, 2.05, 4.0, 25.0, 1000.0};
  const PetscReal angle[TEST_POINTS]  = {0.0, 0.3, PETSC_PI / 8.0, 1.5, 2.9, -2.2, 0.77};

  for (int p = 0; p < TEST_POINTS; p++)
    for (PetscInt j = 0; j < d; j++) z[p * d + j] = scale * radius[p] * (j % 2 ? sin(angle[p] + 0.4 * (j / 2)) : cos(angle[p] + 0.4 * (j / 2)));
}

/* Gaussian target N(0, s^2 I), d = 3: nu_h = N(0, (s^2 + h^2) I), so
   log nu_h(z) = -d/2 log(2 pi v) - |z|^2 / (2 v) and score -z / v, v = s^2 + h^2. */
START_TEST(test_gaussian_smoothed_closed_form)
{
  const PetscInt  d = 3;
  const PetscReal s = 1.3, bandwidths[] = {0.0, 0.1, 0.7, 2.0, 0.1};
  const DSOptions o = target_options(DS_TARGET_GAUSSIAN, d, 0, s, PETSC_FALSE);
  DSTarget       *t = NULL;
  PetscReal       z[TEST_POINTS * 3], score[TEST_POINTS * 3];
  int             ok_density = 1, ok_score = 1;

  DS_ASSERT_PETSC(ds_target_create(PETSC_COMM_WORLD, &o, &t));
  test_points(d, s, z);
  for (size_t b = 0; b < sizeof(bandwidths) / sizeof(bandwidths[0]); b++) {
    const PetscReal h = bandwidths[b], v = s * s + h * h;

    DS_ASSERT_PETSC(ds_target_smoothed_score(t, h, TEST_POINTS, z, score));
    for (int p = 0; p < TEST_POINTS; p++) {
      PetscReal logp = 0.0, norm2 = 0.0;

      DS_ASSERT_PETSC(ds_target_smoothed_log_density(t, h, &z[p * d], &logp));
      for (PetscInt j = 0; j < d; j++) norm2 += z[p * d + j] * z[p * d + j];
      ok_density = ok_density && ds_test_reldiff(logp, -0.5 * d * log(2.0 * PETSC_PI * v) - norm2 / (2.0 * v), 1.0) < 1e-13;
      for (PetscInt j = 0; j < d; j++) ok_score = ok_score && ds_test_reldiff(score[p * d + j], -z[p * d + j] / v, 1.0) < 1e-13;
    }
  }
  DS_ASSERT_PETSC(ds_target_destroy(&t));
  DS_ASSERT_ALL(ok_density, "gaussian smoothed log density differs from log N(0, (s^2 + h^2) I)");
  DS_ASSERT_ALL(ok_score, "gaussian smoothed score differs from -z / (s^2 + h^2)");
}
END_TEST

/* Worst difference, relative to max(|score|, 1 / s_h), between the score and central
   differences (f(z + e) - f(z - e)) / 2e of f = log nu_h with e = 1e-5 s_h (s_h the smoothed
   component std) at the points within 25 scale. Bound: truncation e^2 |f'''| / 6 is largest
   at the saddle between two gmm8 modes 2a = 1.53 s apart, where along their axis
   f''' = (a / s_h^2)^3 g'''(u), |g'''| = |(log cosh)'''| <= 0.77, giving
   1.3e-11 (a / s_h)^3 < 1e-9 relative to 1 / s_h; rounding is a few eps |f| / e, relative to
   |score| ~ |z - m| / s_h^2 at most eps |z - m| / e < 1e-9 at 25 scale (and < 1e-10 near the
   modes). Tolerance 1e-7 covers both with a wide margin. */
static PetscErrorCode score_versus_differences(DSTarget *t, PetscReal h, PetscReal smallest_std, PetscReal *worst)
{
  const PetscInt  d    = t->dim;
  const PetscReal step = 1e-5 * smallest_std;
  PetscReal       z[TEST_POINTS * 3], score[TEST_POINTS * 3];

  PetscFunctionBeginUser;
  test_points(d, t->scale, z);
  PetscCall(ds_target_smoothed_score(t, h, MODERATE_POINTS, z, score));
  *worst = 0.0;
  for (int p = 0; p < MODERATE_POINTS; p++) {
    PetscReal norm = 0.0;

    for (PetscInt j = 0; j < d; j++) norm += score[p * d + j] * score[p * d + j];
    norm = PetscMax(sqrt(norm), 1.0 / smallest_std);
    for (PetscInt j = 0; j < d; j++) {
      PetscReal zp[3], zm[3], fp, fm;

      for (PetscInt k = 0; k < d; k++) zp[k] = zm[k] = z[p * d + k];
      zp[j] += step;
      zm[j] -= step;
      PetscCall(ds_target_smoothed_log_density(t, h, zp, &fp));
      PetscCall(ds_target_smoothed_log_density(t, h, zm, &fm));
      *worst = PetscMax(*worst, PetscAbsReal(score[p * d + j] - (fp - fm) / (zp[j] - zm[j])) / norm);
    }
  }
  PetscFunctionReturn(0);
}

/* Gaussian target in d = 3 and gmm8 in 2-D, several bandwidths (the factors are rebuilt
   when h changes and reused when it does not: h repeats). */
START_TEST(test_score_matches_finite_differences)
{
  const DSTargetType types[]      = {DS_TARGET_GAUSSIAN, DS_TARGET_GMM8};
  const PetscInt     dims[]       = {3, 2};
  const PetscReal    scales[]     = {1.3, 1.0};
  const PetscReal    stds[]       = {1.0, 0.2}; /* component std in units of scale */
  const PetscReal    bandwidths[] = {0.05, 0.3, 0.3, 1.0, 0.0};

  for (int c = 0; c < 2; c++) {
    const DSOptions o = target_options(types[c], dims[c], 0, scales[c], PETSC_FALSE);
    DSTarget       *t = NULL;

    DS_ASSERT_PETSC(ds_target_create(PETSC_COMM_WORLD, &o, &t));
    for (size_t b = 0; b < sizeof(bandwidths) / sizeof(bandwidths[0]); b++) {
      const PetscReal h = bandwidths[b], smoothed_std = sqrt(PetscSqr(stds[c] * scales[c]) + h * h);
      PetscReal       worst = 1.0;

      DS_ASSERT_PETSC(score_versus_differences(t, h, smoothed_std, &worst));
      DS_ASSERT_ALL(worst < 1e-7, "%s, h = %g: score and central differences of log nu_h differ by %g (relative)", DSTargetTypes[types[c]], (double)h, (double)worst);
    }
    DS_ASSERT_PETSC(ds_target_destroy(&t));
  }
}
END_TEST

/* Far from every mode the score of gmm8 is the score of the nearest component alone:
   at z = 1000 s (cos, sin)(7/4 pi + 0.01), -(z - m_7) / (0.04 s^2 + h^2), finite. */
START_TEST(test_gmm8_score_far_from_modes)
{
  const PetscReal s = 1.5, h = 0.1, v = PetscSqr(0.2 * s) + h * h, angle = 1.75 * PETSC_PI;
  const DSOptions o = target_options(DS_TARGET_GMM8, 2, 0, s, PETSC_FALSE);
  const PetscReal z[2] = {1000.0 * s * cos(angle + 0.01), 1000.0 * s * sin(angle + 0.01)};
  const PetscReal mode[2] = {2.0 * s * cos(angle), 2.0 * s * sin(angle)};
  DSTarget       *t = NULL;
  PetscReal       score[2] = {NAN, NAN}, logp = NAN;

  DS_ASSERT_PETSC(ds_target_create(PETSC_COMM_WORLD, &o, &t));
  DS_ASSERT_PETSC(ds_target_smoothed_score(t, h, 1, z, score));
  DS_ASSERT_PETSC(ds_target_smoothed_log_density(t, h, z, &logp));
  DS_ASSERT_PETSC(ds_target_destroy(&t));
  DS_ASSERT_ALL(PetscIsNormalReal(logp), "log density far from the modes is %g", (double)logp);
  for (int j = 0; j < 2; j++) DS_ASSERT_ALL(ds_test_reldiff(score[j], -(z[j] - mode[j]) / v, 1.0) < 1e-12, "far score[%d] = %g, nearest component gives %g", j, (double)score[j], (double)(-(z[j] - mode[j]) / v));
}
END_TEST

/* The smoothed gmm8 density integrates to 1: midpoint rule on a square reaching 12 smoothed
   standard deviations past the mode circle, spacing a third of the smoothed std. For a
   Gaussian the rule's error is below 2 exp(-2 pi^2 std^2 / spacing^2) = 2 e^-178 (Poisson
   summation), the tails beyond 12 std hold < e^-72, so only rounding of ~10^5 terms is left:
   tolerance 1e-9. Grid rows are split across the ranks and summed. */
START_TEST(test_gmm8_density_integrates_to_one)
{
  const PetscReal s = 1.0, bandwidths[] = {0.0, 0.1, 0.5};
  const DSOptions o = target_options(DS_TARGET_GMM8, 2, 0, s, PETSC_FALSE);
  DSTarget       *t = NULL;

  DS_ASSERT_PETSC(ds_target_create(PETSC_COMM_WORLD, &o, &t));
  for (size_t b = 0; b < sizeof(bandwidths) / sizeof(bandwidths[0]); b++) {
    const PetscReal h = bandwidths[b], std = sqrt(PetscSqr(0.2 * s) + h * h);
    const PetscReal half = 2.0 * s + 12.0 * std, spacing = std / 3.0;
    const PetscInt  cells = (PetscInt)ceil(2.0 * half / spacing);
    const PetscReal dx = 2.0 * half / cells;
    PetscReal       local = 0.0, total = 0.0;
    PetscErrorCode  ierr = 0;

    for (PetscInt r = PetscGlobalRank; r < cells; r += PetscGlobalSize)
      for (PetscInt c = 0; c < cells && !ierr; c++) {
        const PetscReal z[2] = {-half + (r + 0.5) * dx, -half + (c + 0.5) * dx};
        PetscReal       logp = 0.0;

        ierr = ds_target_smoothed_log_density(t, h, z, &logp);
        local += exp(logp) * dx * dx;
      }
    DS_ASSERT_ALL(!ierr, "ds_target_smoothed_log_density failed (error %d)", (int)ierr);
    MPI_Allreduce(&local, &total, 1, MPIU_REAL, MPI_SUM, PETSC_COMM_WORLD);
    DS_ASSERT_ALL(fabs(total - 1.0) < 1e-9, "gmm8 smoothed density (h = %g) integrates to %.15g", (double)h, (double)total);
  }
  DS_ASSERT_PETSC(ds_target_destroy(&t));
}
END_TEST

/* Determinant and inverse of a 2 x 2 or 3 x 3 row-major matrix by cofactors. */
static double determinant_inverse(PetscInt d, const double *a, double *inverse)
{
  double det;

  if (d == 2) {
    det        = a[0] * a[3] - a[1] * a[2];
    inverse[0] = a[3] / det;
    inverse[1] = -a[1] / det;
    inverse[2] = -a[2] / det;
    inverse[3] = a[0] / det;
    return det;
  }
  det = 0.0;
  for (int j = 0; j < 3; j++) det += a[j] * (a[3 + (j + 1) % 3] * a[6 + (j + 2) % 3] - a[3 + (j + 2) % 3] * a[6 + (j + 1) % 3]);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++)
      inverse[j * 3 + i] = (a[3 * ((i + 1) % 3) + (j + 1) % 3] * a[3 * ((i + 2) % 3) + (j + 2) % 3] - a[3 * ((i + 1) % 3) + (j + 2) % 3] * a[3 * ((i + 2) % 3) + (j + 1) % 3]) / det;
  return det;
}

/* log nu_h(z) and its gradient summed directly, sum_k w_k N(z; m_k, C_k + h^2 I), with the
   cofactor inverse: an evaluation independent of the target's Cholesky and log-sum-exp. */
static void direct_mixture(const DSTarget *t, PetscReal h, const PetscReal *z, double *logp, double *score)
{
  const PetscInt d = t->dim;
  double         density = 0.0, gradient[3] = {0.0, 0.0, 0.0};

  for (PetscInt k = 0; k < t->mixture->components; k++) {
    double smoothed[9], inverse[9], r[3], q = 0.0, solved[3] = {0.0, 0.0, 0.0};

    for (PetscInt e = 0; e < d * d; e++) smoothed[e] = t->mixture->covariances[k * d * d + e] + (e % (d + 1) == 0 ? h * h : 0.0);
    const double det = determinant_inverse(d, smoothed, inverse);
    for (PetscInt i = 0; i < d; i++) r[i] = z[i] - t->mixture->means[k * d + i];
    for (PetscInt i = 0; i < d; i++)
      for (PetscInt j = 0; j < d; j++) solved[i] += inverse[i * d + j] * r[j];
    for (PetscInt i = 0; i < d; i++) q += r[i] * solved[i];
    const double term = t->mixture->weights[k] * exp(-0.5 * q) / sqrt(pow(2.0 * PETSC_PI, (double)d) * det);
    density += term;
    for (PetscInt i = 0; i < d; i++) gradient[i] -= term * solved[i];
  }
  *logp = log(density);
  for (PetscInt i = 0; i < d; i++) score[i] = gradient[i] / density;
}

/* Full (non-diagonal) covariances, set in the public mixture description after creation with
   the factors invalidated: a gaussian target in 3-D with a shifted mean and C = A A^T + 0.1 I,
   and gmm8 with each component stretched along its own direction. Log density and score at
   the points within 4 scale agree with the direct sum to 1e-12 (rounding of two evaluations). */
START_TEST(test_full_covariance_mixture_against_direct_sum)
{
  const DSTargetType types[]      = {DS_TARGET_GAUSSIAN, DS_TARGET_GMM8};
  const PetscInt     dims[]       = {3, 2};
  const PetscReal    bandwidths[] = {0.0, 0.3, 1.0};
  const PetscReal    A[9]         = {1.0, 0.4, -0.3, 0.0, 0.8, 0.5, 0.2, -0.6, 0.7};

  for (int c = 0; c < 2; c++) {
    const PetscInt  d = dims[c];
    const DSOptions o = target_options(types[c], d, 0, 1.2, PETSC_FALSE);
    DSTarget       *t = NULL;
    PetscReal       z[TEST_POINTS * 3], score[TEST_POINTS * 3];
    int             ok = 1;

    DS_ASSERT_PETSC(ds_target_create(PETSC_COMM_WORLD, &o, &t));
    for (PetscInt k = 0; k < t->mixture->components; k++) {
      PetscReal *C = &t->mixture->covariances[k * d * d];

      if (d == 3) {
        for (int i = 0; i < 3; i++) {
          t->mixture->means[i] = 0.3 * (i + 1) * (i % 2 ? -1.0 : 1.0);
          for (int j = 0; j < 3; j++) C[i * 3 + j] = A[i * 3] * A[j * 3] + A[i * 3 + 1] * A[j * 3 + 1] + A[i * 3 + 2] * A[j * 3 + 2] + (i == j ? 0.1 : 0.0);
        }
      } else {
        const double angle = 0.4 + 0.7 * k, along = PetscSqr(0.35 * o.target_scale), across = PetscSqr(0.1 * o.target_scale);
        const double cs = cos(angle), sn = sin(angle);

        C[0] = along * cs * cs + across * sn * sn;
        C[1] = C[2] = (along - across) * cs * sn;
        C[3] = along * sn * sn + across * cs * cs;
      }
    }
    t->mixture->factored_h = -1.0; /* the description changed */
    test_points(d, o.target_scale, z);
    for (size_t b = 0; b < sizeof(bandwidths) / sizeof(bandwidths[0]); b++) {
      const PetscReal h = bandwidths[b];

      DS_ASSERT_PETSC(ds_target_smoothed_score(t, h, NEAR_POINTS, z, score));
      for (int p = 0; p < NEAR_POINTS; p++) {
        double    expected_logp, expected_score[3];
        PetscReal logp = 0.0;

        DS_ASSERT_PETSC(ds_target_smoothed_log_density(t, h, &z[p * d], &logp));
        direct_mixture(t, h, &z[p * d], &expected_logp, expected_score);
        ok = ok && ds_test_reldiff(logp, expected_logp, 1.0) < 1e-12;
        for (PetscInt j = 0; j < d; j++) ok = ok && ds_test_reldiff(score[p * d + j], expected_score[j], 1.0) < 1e-12;
      }
    }
    DS_ASSERT_PETSC(ds_target_destroy(&t));
    DS_ASSERT_ALL(ok, "%s with full covariances: log density or score differs from the direct sum", DSTargetTypes[types[c]]);
  }
}
END_TEST

Suite *ds_suite_target(void)
{
  Suite *s        = suite_create("target");
  TCase *options  = tcase_create("options");
  TCase *density  = tcase_create("density");

  tcase_add_test(options, test_refused_combinations);
  tcase_add_test(density, test_gaussian_smoothed_closed_form);
  tcase_add_test(density, test_score_matches_finite_differences);
  tcase_add_test(density, test_full_covariance_mixture_against_direct_sum);
  tcase_add_test(density, test_gmm8_score_far_from_modes);
  tcase_add_test(density, test_gmm8_density_integrates_to_one);
  suite_add_tcase(s, options);
  suite_add_tcase(s, density);
  suite_add_tcase(s, target_test_samples());
  return s;
}
