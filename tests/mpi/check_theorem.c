/* Tests of the theorem's state-independent quantities (ds_theorem.h) against independent
   computations written here: KL(rho_0 || nu_h) by dense quadrature (closed form to 1e-8 in
   d = 1 and 2; the Monte-Carlo estimate for a mixture target within 4 standard errors), and
   the mean-field moment ODE against its implicit closed-form solution, with C_inf(t) as a
   quadrature of |v_inf|^2 over the limit law. */
#include <math.h>
#include <string.h>
#include "ds_test.h"
#include "ds_theorem.h"
#include "ds_mixture.h"

/* log of sum_k w_k N(x; m_k, C_k + h^2 I) for a 1- or 2-D mixture, written from the
   target's description with the 2x2 inverse by hand. */
static double mixture_log_density(const DSTarget *target, double h, const double *x)
{
  const DSMixture *t = target->mixture;
  const PetscInt   d = t->dim;
  double         total = 0;
  for (PetscInt k = 0; k < t->components; k++) {
    const double *m = t->means + k * d, *C = t->covariances + k * d * d;
    double        q, det;
    if (d == 1) {
      det = C[0] + h * h;
      q   = PetscSqr(x[0] - m[0]) / det;
    } else {
      const double a = C[0] + h * h, b = C[1], c = C[2], e = C[3] + h * h, u = x[0] - m[0], w = x[1] - m[1];
      det = a * e - b * c;
      q   = (e * u * u - (b + c) * u * w + a * w * w) / det;
    }
    total += t->weights[k] * exp(-q / 2) / sqrt(pow(2 * M_PI, d) * det);
  }
  return log(total);
}

/* KL(rho_0 || nu_h) for a gaussian cloud by a tensor Simpson rule over +-12 cloud widths. */
static double kl_quadrature(const DSOptions *o, const DSTarget *t, double h)
{
  const int    n = o->dim == 1 ? 20000 : 1200; /* even */
  const double s = o->init_scale, lo = o->init_mean - 12 * s, step = 24 * s / n;
  double       sum = 0;
  for (int i = 0; i <= n; i++)
    for (int j = 0; j <= (o->dim == 1 ? 0 : n); j++) {
      const double x[2] = {lo + i * step, lo + j * step};
      const double w    = (i == 0 || i == n ? 1 : i % 2 ? 4 : 2) * (o->dim == 1 ? 1 : (j == 0 || j == n ? 1 : j % 2 ? 4 : 2));
      double       r2 = 0;
      for (PetscInt c = 0; c < o->dim; c++) r2 += PetscSqr(x[c] - o->init_mean);
      const double log_rho = -0.5 * o->dim * log(2 * M_PI * s * s) - r2 / (2 * s * s);
      sum += w * exp(log_rho) * (log_rho - mixture_log_density(t, h, x));
    }
  return sum * pow(step / 3, o->dim);
}

START_TEST(initial_kl_closed_form_matches_quadrature)
{
  for (int d = 1; d <= 2; d++) {
    char args[256];
    snprintf(args, sizeof(args), "-drift_dim %d -drift_n 31 -drift_target gaussian -drift_target_scale 1.3 -drift_init_mean 0.7 -drift_init_scale 0.6", d);
    DSOptions o = ds_test_read_options(args);
    DSTarget *t;
    PetscReal kl, se;
    DS_ASSERT_PETSC(ds_target_create(PETSC_COMM_WORLD, &o, &t));
    DS_ASSERT_PETSC(ds_theorem_initial_kl(PETSC_COMM_WORLD, &o, t, 0.4, 0, &kl, &se));
    const double ref = kl_quadrature(&o, t, 0.4);
    DS_ASSERT_ALL(fabs(kl - ref) <= 1e-8 * fabs(ref) && se == 0, "d %d: KL %.15g, quadrature %.15g, se %g", d, (double)kl, ref, (double)se);
    ds_target_destroy(&t);
  }
}
END_TEST

START_TEST(initial_kl_monte_carlo_matches_quadrature)
{
  DSOptions o = ds_test_read_options("-drift_dim 2 -drift_n 31 -drift_target gmm8 -drift_target_samples 0 -drift_init_mean 0.2 -drift_init_scale 0.8");
  DSTarget *t;
  PetscReal kl, se;
  DS_ASSERT_PETSC(ds_target_create(PETSC_COMM_WORLD, &o, &t));
  DS_ASSERT_PETSC(ds_theorem_initial_kl(PETSC_COMM_WORLD, &o, t, 0.3, 40001, &kl, &se));
  const double ref = kl_quadrature(&o, t, 0.3);
  DS_ASSERT_ALL(se > 0 && se < 0.02 * fabs(ref) && fabs(kl - ref) <= 4 * se, "gmm8: KL %.6g +- %.2g, quadrature %.6g", (double)kl, (double)se, ref);
  ds_target_destroy(&t);
}
END_TEST

/* The implicit solution of ds/dt = 2 a s (sigma^2 - s) / (s + h^2) at fixed h:
   F(s) = (h^2 / sigma^2) ln s - ((sigma^2 + h^2) / sigma^2) ln |sigma^2 - s| grows by
   2 t / (sigma^2 + h^2); s moves monotonically from s_0 towards sigma^2 (bisection). */
static double variance_closed_form(double s0, double sigma2, double h, double t)
{
  const double h2 = h * h, goal = h2 / sigma2 * log(s0) - (sigma2 + h2) / sigma2 * log(fabs(sigma2 - s0)) + 2 * t / (sigma2 + h2);
  double       lo = PetscMin(s0, sigma2), hi = PetscMax(s0, sigma2);
  for (int it = 0; it < 200; it++) {
    const double mid = 0.5 * (lo + hi), F = h2 / sigma2 * log(mid) - (sigma2 + h2) / sigma2 * log(fabs(sigma2 - mid));
    /* F increases along the flow: towards sigma^2 from either side. */
    if ((F < goal) == (s0 < sigma2)) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/* E |v_inf(x)|^2 over x ~ N(m 1, s I) by Simpson's rule in each coordinate, with
   v_inf(x) = -(x - 0) / (sigma^2 + h^2) + (x - m 1) / (s + h^2). */
static double centre_velocity_quadrature(PetscInt d, double m, double s, double sigma2, double h)
{
  const int    n = 4000;
  const double sd = sqrt(s), lo = m - 12 * sd, step = 24 * sd / n;
  double       sum = 0;
  for (int i = 0; i <= n; i++) {
    const double x = lo + i * step, v = -x / (sigma2 + h * h) + (x - m) / (s + h * h);
    sum += (i == 0 || i == n ? 1 : i % 2 ? 4 : 2) * exp(-PetscSqr(x - m) / (2 * s)) / sqrt(2 * M_PI * s) * v * v;
  }
  return d * sum * step / 3;
}

static PetscReal fixed_bandwidth(const void *ctx, PetscReal t) { return *(const PetscReal *)ctx; }

START_TEST(meanfield_matches_closed_form)
{
  const char *cases[] = {"-drift_dim 2 -drift_target_scale 1 -drift_init_mean 1 -drift_init_scale 0.5", "-drift_dim 3 -drift_target_scale 0.8 -drift_init_mean -0.4 -drift_init_scale 2"};
  for (int c = 0; c < 2; c++) {
    DSOptions   o = ds_test_read_options(cases[c]);
    DSMeanField mf;
    PetscReal   h = 0.4;
    DS_ASSERT_ALL(ds_meanfield_applies(&o), "the gaussian/gaussian conservative case is not recognised");
    ds_meanfield_start(&o, &mf);
    const double sigma2 = PetscSqr(o.target_scale), a = 1 / (sigma2 + h * h), s0 = PetscSqr(o.init_scale);
    for (int k = 1; k <= 4; k++) {
      const double t = 0.7 * k;
      ds_meanfield_advance(&mf, fixed_bandwidth, &h, t);
      const double m = o.init_mean * exp(-a * t), s = variance_closed_form(s0, sigma2, h, t);
      const double C = ds_meanfield_centre_velocity(&mf, h), Cref = centre_velocity_quadrature(o.dim, m, s, sigma2, h);
      DS_ASSERT_ALL(fabs(mf.mean - m) <= 1e-9 * fabs(m) && fabs(mf.variance - s) <= 1e-9 * s && fabs(C - Cref) <= 1e-8 * Cref,
                    "case %d t %g: m %.12g (%.12g), s %.12g (%.12g), C_inf %.12g (%.12g)", c, t, (double)mf.mean, m, (double)mf.variance, s, (double)C, Cref);
    }
  }
  DSOptions other = ds_test_read_options("-drift_field displacement");
  DS_ASSERT_ALL(!ds_meanfield_applies(&other), "the mean-field reference claimed the displacement field");
}
END_TEST

/* Lap log nu_h of a mixture (gmm8 and a 3-D gaussian) against central differences of its
   score: sum_c (s_c(z + e e_c) - s_c(z - e e_c)) / (2 e). */
START_TEST(mixture_laplacian_matches_score_differences)
{
  const char *cases[] = {"-drift_dim 2 -drift_target gmm8 -drift_target_samples 0", "-drift_dim 3 -drift_target gaussian -drift_target_scale 0.7"};
  double      worst = 0;
  for (int cs = 0; cs < 2; cs++) {
    DSOptions o = ds_test_read_options(cases[cs]);
    DSTarget *t;
    DS_ASSERT_PETSC(ds_target_create(PETSC_COMM_WORLD, &o, &t));
    const PetscInt d = o.dim;
    for (int p = 0; p < 7; p++) {
      double z[3], score[3], lap, zp[3], sp[3], sm[3], fd = 0, e = 1e-5;
      for (PetscInt c = 0; c < d; c++) z[c] = 0.9 * sin(1.7 * p + c) + 0.3 * c;
      DS_ASSERT_PETSC(ds_mixture_score_laplacian(t->mixture, 0.35, 1, z, score, &lap));
      for (PetscInt c = 0; c < d; c++) {
        for (PetscInt a = 0; a < d; a++) zp[a] = z[a] + (a == c ? e : 0);
        DS_ASSERT_PETSC(ds_mixture_score(t->mixture, 0.35, 1, zp, sp));
        for (PetscInt a = 0; a < d; a++) zp[a] = z[a] - (a == c ? e : 0);
        DS_ASSERT_PETSC(ds_mixture_score(t->mixture, 0.35, 1, zp, sm));
        fd += (sp[c] - sm[c]) / (2 * e);
      }
      worst = ds_test_worst(worst, fabs(lap - fd) / PetscMax(fabs(fd), 1.0));
    }
    ds_target_destroy(&t);
  }
  DS_ASSERT_ALL(worst < 1e-7, "Lap log nu_h differs from the differences of the score by %g", worst);
}
END_TEST

Suite *ds_suite_theorem(void)
{
  Suite *s  = suite_create("theorem");
  TCase *tc = tcase_create("theorem");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, initial_kl_closed_form_matches_quadrature);
  tcase_add_test(tc, initial_kl_monte_carlo_matches_quadrature);
  tcase_add_test(tc, meanfield_matches_closed_form);
  tcase_add_test(tc, mixture_laplacian_matches_score_differences);
  suite_add_tcase(s, tc);
  return s;
}
