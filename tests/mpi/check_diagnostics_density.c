/* KDE and mixture diagnostics (SCIENCE.md: diagnostics the theory speaks of) against a
   DENSE serial brute force written from SCIENCE.md's definitions, with the runs and
   gathered clouds of diagnostics_test.h: the normalised KDE with the kernel's closed-form
   integral (itself checked by quadrature), moments and component assignment with a
   Cholesky of the test's own. Closed form: mode_coverage of particles placed on the gmm8
   modes. Part of the diagnostics suite (check_diagnostics.c registers these tests). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "diagnostics_test.h"
#include "ds_kernels.h"

/* ---------------------------------------------------------------- brute forces */

/* Integral of k over R^d in closed form (gamma functions), INFINITY when divergent. */
static double bf_normalisation(DSKernelType kernel, double h, double beta, PetscInt d)
{
  switch (kernel) {
  case DS_KERNEL_GAUSSIAN: return pow(2 * M_PI * h * h, d / 2.0);
  case DS_KERNEL_LAPLACE: return pow(h, d) * 2 * pow(M_PI, d / 2.0) * tgamma(d) / tgamma(d / 2.0);
  case DS_KERNEL_IMQ: return 2 * beta > d ? pow(h, d) * pow(M_PI, d / 2.0) * tgamma(beta - d / 2.0) / tgamma(beta) : INFINITY;
  }
  return NAN;
}

/* Integrand of int_0^1 dt after r = t / (1 - t): k(r) r^{d-1} / (1 - t)^2. */
static double radial_integrand(DSKernelType kernel, double h, double beta, PetscInt d, double t)
{
  const double r = t / (1 - t);
  return ds_test_kernel(kernel, h, beta, r * r) * pow(r, d - 1) / ((1 - t) * (1 - t));
}

/* Integral of k over R^d by quadrature: |S^{d-1}| int_0^inf k(r) r^{d-1} dr, composite
   Simpson in t (the t = 1 end, a finite limit, taken at 1 - 1e-9). */
static double quadrature_normalisation(DSKernelType kernel, double h, double beta, PetscInt d)
{
  const int n = 200000;
  double    s = radial_integrand(kernel, h, beta, d, 0) + radial_integrand(kernel, h, beta, d, 1 - 1e-9);
  for (int k = 1; k < n; k++) s += (k % 2 ? 4 : 2) * radial_integrand(kernel, h, beta, d, (double)k / n);
  return 2 * pow(M_PI, d / 2.0) / tgamma(d / 2.0) * s / (3.0 * n);
}

typedef struct {
  double reciprocal_kde, self_interaction, min_occupancy;
} KDETerms;

/* SCIENCE.md: q(x_i) = sum_j K_h(x_i - x_j) / N (self included), K_h = k / Z;
   R_N = 1/N sum 1/q(x_i); self_interaction = |Laplacian K_h(0)| R_N / N with Laplacian
   K_h(0) = -d K_h(0) / h^2 (gaussian), -2 beta d K_h(0) / h^2 (imq). */
static KDETerms bf_kde(const Cloud *cl, DSKernelType kernel, double h, double beta)
{
  const PetscInt N = cl->n, d = cl->d;
  const double   Z = bf_normalisation(kernel, h, beta, d);
  KDETerms       t = {0, 0, INFINITY};
  for (PetscInt i = 0; i < N; i++) {
    double occupancy = 0;
    for (PetscInt j = 0; j < N; j++) occupancy += ds_test_kernel(kernel, h, beta, ds_test_squared_distance(cl->X + i * d, cl->X + j * d, d));
    t.min_occupancy = PetscMin(t.min_occupancy, occupancy);
    t.reciprocal_kde += 1 / (occupancy / (N * Z)) / N;
  }
  const double laplacian = kernel == DS_KERNEL_GAUSSIAN ? -d / (Z * h * h) : -2 * beta * d / (Z * h * h);
  t.self_interaction     = fabs(laplacian) * t.reciprocal_kde / N;
  return t;
}

/* log N(x; m, C) with a Cholesky factor of C of the test's own. */
static double log_normal(PetscInt d, const double *m, const double *C, const double *x)
{
  double L[MAXD * MAXD], w[MAXD], logdet = 0, q = 0;
  for (PetscInt i = 0; i < d; i++)
    for (PetscInt j = 0; j <= i; j++) {
      double s = C[i * d + j];
      for (PetscInt k = 0; k < j; k++) s -= L[i * d + k] * L[j * d + k];
      L[i * d + j] = i == j ? sqrt(s) : s / L[j * d + j];
    }
  for (PetscInt i = 0; i < d; i++) {
    w[i] = x[i] - m[i];
    for (PetscInt k = 0; k < i; k++) w[i] -= L[i * d + k] * w[k];
    w[i] /= L[i * d + i];
    q += w[i] * w[i];
    logdet += 2 * log(L[i * d + i]);
  }
  return -0.5 * (d * log(2 * M_PI) + logdet + q);
}

typedef struct {
  double mean_error, covariance_error, mode_coverage;
} MixtureTerms;

/* mu = sum w_k m_k, Sigma = sum w_k (C_k + m_k m_k^T) - mu mu^T; mean and 1/N covariance of
   X; particle i assigned to argmax_k log w_k + log N(x_i; m_k, C_k); component k covered
   when it holds at least w_k N / 2 particles. */
static MixtureTerms bf_mixture(const Cloud *cl, const DSTarget *t)
{
  const PetscInt N = cl->n, d = cl->d, K = t->mixture->components;
  double         mu[MAXD] = {0}, sigma[MAXD * MAXD] = {0}, mean[MAXD] = {0}, cov[MAXD * MAXD] = {0}, counts[16] = {0};
  MixtureTerms   r = {0, 0, 0};
  for (PetscInt k = 0; k < K; k++)
    for (PetscInt a = 0; a < d; a++) mu[a] += t->mixture->weights[k] * t->mixture->means[k * d + a];
  for (PetscInt k = 0; k < K; k++)
    for (PetscInt a = 0; a < d; a++)
      for (PetscInt b = 0; b < d; b++) sigma[a * d + b] += t->mixture->weights[k] * (t->mixture->covariances[(k * d + a) * d + b] + t->mixture->means[k * d + a] * t->mixture->means[k * d + b]);
  for (PetscInt a = 0; a < d; a++)
    for (PetscInt b = 0; b < d; b++) sigma[a * d + b] -= mu[a] * mu[b];
  for (PetscInt i = 0; i < N; i++)
    for (PetscInt a = 0; a < d; a++) mean[a] += cl->X[i * d + a] / N;
  for (PetscInt i = 0; i < N; i++)
    for (PetscInt a = 0; a < d; a++)
      for (PetscInt b = 0; b < d; b++) cov[a * d + b] += (cl->X[i * d + a] - mean[a]) * (cl->X[i * d + b] - mean[b]) / N;
  for (PetscInt a = 0; a < d; a++) r.mean_error += (mean[a] - mu[a]) * (mean[a] - mu[a]);
  for (PetscInt e = 0; e < d * d; e++) r.covariance_error += (cov[e] - sigma[e]) * (cov[e] - sigma[e]);
  r.mean_error       = sqrt(r.mean_error);
  r.covariance_error = sqrt(r.covariance_error);
  for (PetscInt i = 0; i < N; i++) {
    PetscInt best = 0;
    double   best_log = -INFINITY;
    for (PetscInt k = 0; k < K; k++) {
      const double l = log(t->mixture->weights[k]) + log_normal(d, t->mixture->means + k * d, t->mixture->covariances + k * d * d, cl->X + i * d);
      if (l > best_log) best = k, best_log = l;
    }
    counts[best]++;
  }
  for (PetscInt k = 0; k < K; k++) r.mode_coverage += counts[k] >= t->mixture->weights[k] * N / 2 ? 1.0 / K : 0.0;
  return r;
}

/* ---------------------------------------------------------------- tests */

/* ds_kernel_normalisation against quadrature of the radial integral (1e-9), INFINITY for
   imq with 2 beta <= d; ds_kernel_laplacian_at_zero against second differences of
   ds_kernel_value (1e-6), NaN for laplace. */
START_TEST(kernel_normalisation_and_laplacian)
{
  static const struct {
    DSKernelType kernel;
    double       beta;
  } kernels[] = {{DS_KERNEL_GAUSSIAN, 0}, {DS_KERNEL_LAPLACE, 0}, {DS_KERNEL_IMQ, 0.5}, {DS_KERNEL_IMQ, 1.0}, {DS_KERNEL_IMQ, 1.5}, {DS_KERNEL_IMQ, 2.5}};
  for (size_t k = 0; k < sizeof(kernels) / sizeof(kernels[0]); k++)
    for (PetscInt d = 1; d <= 3; d++)
      for (int hh = 0; hh < 2; hh++) {
        const double h = hh ? 1.3 : 0.4;
        DSKernel     K;
        ds_kernel_setup(kernels[k].kernel, h, kernels[k].beta, &K);
        const double Z = ds_kernel_normalisation(&K, d), lap = ds_kernel_laplacian_at_zero(&K, d);
        if (kernels[k].kernel == DS_KERNEL_IMQ && !(2 * kernels[k].beta > d)) DS_ASSERT_ALL(isinf(Z) && Z > 0, "imq beta %g d %d: normalisation %g, want INFINITY", kernels[k].beta, (int)d, Z);
        else {
          const double q = quadrature_normalisation(kernels[k].kernel, h, kernels[k].beta, d);
          DS_ASSERT_ALL(ds_test_reldiff(Z, q, 0) < 1e-9, "%s beta %g d %d h %g: normalisation %.17g, quadrature %.17g", DSKernelTypes[kernels[k].kernel], kernels[k].beta, (int)d, h, Z, q);
        }
        if (kernels[k].kernel == DS_KERNEL_LAPLACE) DS_ASSERT_ALL(isnan(lap), "laplace: Laplacian at 0 %g, want NaN", lap);
        else {
          const double e = 1e-4 * h, fd = d * (2 * ds_kernel_value(&K, e) - 2 * ds_kernel_value(&K, 0)) / (e * e);
          DS_ASSERT_ALL(ds_test_reldiff(lap, fd, 0) < 1e-6, "%s beta %g d %d h %g: Laplacian at 0 %.17g, second differences %.17g", DSKernelTypes[kernels[k].kernel], kernels[k].beta, (int)d, h, lap, fd);
        }
      }
}
END_TEST

/* reciprocal_kde, self_interaction and min_occupancy vs the brute force (relative 1e-12):
   gaussian, laplace (no self_interaction), imq with 2 beta > d, imq with 2 beta <= d
   (min_occupancy only); two bandwidths, d = 2 and 3, both sizes, samples partitioned and
   replicated. */
START_TEST(kde_matches_brute_force)
{
  static const struct {
    DSKernelType kernel;
    double       beta;
  } kernels[] = {{DS_KERNEL_GAUSSIAN, 0.5}, {DS_KERNEL_LAPLACE, 0.5}, {DS_KERNEL_IMQ, 2.5}, {DS_KERNEL_IMQ, 0.5}};
  static const double hs[] = {0.3, 1.1};
  for (size_t k = 0; k < sizeof(kernels) / sizeof(kernels[0]); k++)
    for (int hh = 0; hh < 2; hh++)
      for (PetscInt d = 2; d <= 3; d++)
        for (int s = 0; s < NSIZES; s++)
          for (int replicate = 0; replicate < 2; replicate++) {
            Run       r;
            Cloud     cl;
            double    values[16];
            DSOptions o   = make_options(DS_TARGET_GAUSSIAN, sizes[s][1], (PetscBool)replicate, sizes[s][0], d, kernels[k].kernel, kernels[k].beta);
            o.diagnostics = DS_DIAGNOSTIC_KDE;
            run_setup(&r, o);
            run_diagnostics(&r);
            gather_cloud(&r, &cl);
            DS_ASSERT_PETSC(ds_diagnostics_compute(r.diag, r.X, hs[hh], values));
            const KDETerms ref          = bf_kde(&cl, kernels[k].kernel, hs[hh], kernels[k].beta);
            const int      normalisable = kernels[k].kernel != DS_KERNEL_IMQ || 2 * kernels[k].beta > d;
            const int      smooth       = normalisable && kernels[k].kernel != DS_KERNEL_LAPLACE;
            const struct {
              const char *name;
              int         listed;
              double      want;
            } terms[] = {{"reciprocal_kde", normalisable, ref.reciprocal_kde}, {"self_interaction", smooth, ref.self_interaction}, {"min_occupancy", 1, ref.min_occupancy}};
            for (int t = 0; t < 3; t++) {
              int          found;
              const double got = value_of(&r, values, terms[t].name, &found);
              DS_ASSERT_ALL(found == terms[t].listed, "%s beta %g d %d: %s listed %d, want %d", DSKernelTypes[kernels[k].kernel], kernels[k].beta, (int)d, terms[t].name, found, terms[t].listed);
              if (found)
                DS_ASSERT_ALL(ds_test_reldiff(got, terms[t].want, 0) < 1e-12, "%s beta %g h %g d %d N %d replicate %d: %s %.17g, brute force %.17g: relative %g", DSKernelTypes[kernels[k].kernel], kernels[k].beta, hs[hh], (int)d, (int)cl.n, replicate, terms[t].name, got,
                              terms[t].want, ds_test_reldiff(got, terms[t].want, 0));
            }
            DS_ASSERT_ALL(identical_on_all_ranks(values, r.count), "kde: values differ between ranks");
            free_cloud(&cl);
            run_teardown(&r);
          }
}
END_TEST

/* mean_error and covariance_error (relative 1e-12) and mode_coverage (exactly) vs the brute
   force, for the targets with a mixture description, at the initial cloud and at the cloud
   shifted by (1, ..., 1). */
START_TEST(mixture_matches_brute_force)
{
  for (int tc = 0; tc < NTARGETS; tc++) {
    if (target_cases[tc].target == DS_TARGET_CHECKERBOARD) continue;
    for (int s = 0; s < NSIZES; s++) {
      Run       r;
      DSOptions o   = target_options(&target_cases[tc], sizes[s][0], sizes[s][1], DS_KERNEL_GAUSSIAN, 0.5);
      o.diagnostics = DS_DIAGNOSTIC_MIXTURE;
      o.init_scale  = 2.5; /* spread over several gmm8 modes */
      run_setup(&r, o);
      run_diagnostics(&r);
      for (int pass = 0; pass < 2; pass++) {
        Cloud  cl;
        double values[16];
        int    found[3];
        if (pass) VecShift(r.X, 1.0);
        gather_cloud(&r, &cl);
        DS_ASSERT_PETSC(ds_diagnostics_compute(r.diag, r.X, r.opts.bandwidth, values));
        const MixtureTerms ref = bf_mixture(&cl, r.target);
        const double       me = value_of(&r, values, "mean_error", &found[0]), ce = value_of(&r, values, "covariance_error", &found[1]), mc = value_of(&r, values, "mode_coverage", &found[2]);
        char               cfg[160];
        snprintf(cfg, sizeof(cfg), "target %s d %d analytic %d N %d pass %d", DSTargetTypes[r.opts.target], (int)cl.d, target_cases[tc].analytic, (int)cl.n, pass);
        DS_ASSERT_ALL(found[0] && found[1] && found[2] && r.count == 3, "%s: %d diagnostics listed, want the mixture group's 3", cfg, (int)r.count);
        DS_ASSERT_ALL(ds_test_reldiff(me, ref.mean_error, 0) < 1e-12, "%s: mean_error %.17g, brute force %.17g", cfg, me, ref.mean_error);
        DS_ASSERT_ALL(ds_test_reldiff(ce, ref.covariance_error, 0) < 1e-12, "%s: covariance_error %.17g, brute force %.17g", cfg, ce, ref.covariance_error);
        DS_ASSERT_ALL(mc == ref.mode_coverage, "%s: mode_coverage %.17g, brute force %.17g", cfg, mc, ref.mode_coverage);
        DS_ASSERT_ALL(identical_on_all_ranks(values, r.count), "%s: values differ between ranks", cfg);
        free_cloud(&cl);
      }
      run_teardown(&r);
    }
  }
}
END_TEST

/* Particles placed exactly on gmm8 modes (w_k = 1/8, so a mode is covered with at least
   N/16 particles): N = 37 with counts {10, 8, 3, 2, 14, 0, 0, 0} covers modes 0, 1, 2, 4
   (2 < 37/16 = 2.3125 <= 3): 1/2; N = 37 as {5, 5, 5, 5, 5, 4, 4, 4}: 1; N = 3 all on mode
   5: 1/8; N = 3 on modes 0, 3, 6: 3/8; N = 16 as {1, 1, 0, 2, 12, 0, 0, 0}: exactly N/16 = 1
   counts, so 1/2. Also == the brute force's assignment. */
START_TEST(mode_coverage_of_placed_particles)
{
  static const struct {
    PetscInt n;
    PetscInt counts[8];
    double   want;
  } cases[] = {{37, {10, 8, 3, 2, 14, 0, 0, 0}, 0.5}, {37, {5, 5, 5, 5, 5, 4, 4, 4}, 1.0}, {3, {0, 0, 0, 0, 0, 3, 0, 0}, 0.125}, {3, {1, 0, 0, 1, 0, 0, 1, 0}, 0.375}, {16, {1, 1, 0, 2, 12, 0, 0, 0}, 0.5}};
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
    for (int analytic = 0; analytic < 2; analytic++) {
      Run       r;
      Cloud     cl;
      double    values[16], *rows;
      int       found;
      DSOptions o   = make_options(DS_TARGET_GMM8, analytic ? 0 : 23, PETSC_FALSE, cases[c].n, 2, DS_KERNEL_GAUSSIAN, 0.5);
      o.diagnostics = DS_DIAGNOSTIC_MIXTURE;
      o.target_scale = 1.7;
      run_setup(&r, o);
      PetscMalloc1(2 * cases[c].n, &rows);
      PetscInt i = 0;
      for (PetscInt k = 0; k < 8; k++) /* modes in a scattered order of particles */
        for (PetscInt j = 0; j < cases[c].counts[k]; j++, i++) {
          const PetscInt row = (i * 7) % cases[c].n; /* 7 is prime to 37, 3 and 16 */
          rows[2 * row]      = r.target->mixture->means[2 * k];
          rows[2 * row + 1]  = r.target->mixture->means[2 * k + 1];
        }
      set_particles(r.X, rows);
      run_diagnostics(&r);
      gather_cloud(&r, &cl);
      DS_ASSERT_PETSC(ds_diagnostics_compute(r.diag, r.X, r.opts.bandwidth, values));
      const double got = value_of(&r, values, "mode_coverage", &found);
      DS_ASSERT_ALL(found && got == cases[c].want, "placed case %d analytic %d: mode_coverage %.17g, want %g", (int)c, analytic, got, cases[c].want);
      DS_ASSERT_ALL(bf_mixture(&cl, r.target).mode_coverage == cases[c].want, "placed case %d: brute force disagrees with the hand count", (int)c);
      const double me = value_of(&r, values, "mean_error", &found);
      DS_ASSERT_ALL(found && ds_test_reldiff(me, bf_mixture(&cl, r.target).mean_error, 1e-15) < 1e-12, "placed case %d: mean_error %.17g, brute force %.17g", (int)c, me, bf_mixture(&cl, r.target).mean_error);
      PetscFree(rows);
      free_cloud(&cl);
      run_teardown(&r);
    }
}
END_TEST

void diagnostics_test_add_density(TCase *tc)
{
  tcase_add_test(tc, kernel_normalisation_and_laplacian);
  tcase_add_test(tc, kde_matches_brute_force);
  tcase_add_test(tc, mixture_matches_brute_force);
  tcase_add_test(tc, mode_coverage_of_placed_particles);
}
