/* Distance, KDE and mixture diagnostics (SCIENCE.md: diagnostics the theory speaks of)
   against a DENSE serial brute force written from SCIENCE.md's definitions: every rank
   gathers all N particles and the M samples compared with (the target's, or redrawn with
   ds_target_draw on DS_STREAM_DIAGNOSTIC for an analytic target) and evaluates each
   definition directly: all-pairs V-statistics, the normalised KDE with the kernel's
   closed-form integral (itself checked by quadrature), 1-D W2 on the common refinement of
   the quantile grids (lcm(N, M) cells), moments and component assignment with a Cholesky
   of the test's own. Closed forms: sliced_w2 of a shifted copy and of hand-made 1-D sets,
   mode_coverage of particles placed on the gmm8 modes. N not a multiple of the rank count
   (N = 37 and 3), samples partitioned and replicated, analytic and sampled targets. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <petscvec.h>
#include "ds_test.h"
#include "ds_diagnostics.h"
#include "ds_init.h"
#include "ds_kernels.h"
#include "ds_rng.h"
#include "ds_target.h"

#define MAXD 4
#define ALL_GROUPS ((1 << DS_DIAGNOSTIC_GROUPS) - 1)

static DSOptions make_options(DSTargetType target, PetscInt samples, PetscBool replicate, PetscInt n, PetscInt dim, DSKernelType kernel, PetscReal beta)
{
  DSOptions o = ds_test_options();
  o.n = n; o.dim = dim; o.seed = 11;
  snprintf(o.field, sizeof(o.field), "displacement"); o.kernel = kernel; o.bandwidth = 0.6; o.imq_beta = beta;
  o.target = target; o.target_samples = samples; o.replicate_data = replicate;
  o.init_mean = 0.5; o.init_scale = 1.5;
  o.diagnostics_every = 1;
  o.mmd_bandwidth = 0.7; o.sliced_w2_projections = 16;
  return o;
}

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
static void run_setup(Run *r, DSOptions o)
{
  memset(r, 0, sizeof(*r));
  ds_test_assert_valid(&o);
  r->opts = o;
  DS_ASSERT_PETSC(ds_target_create(PETSC_COMM_WORLD, &r->opts, &r->target));
  DS_ASSERT_PETSC(ds_init_create_particles(PETSC_COMM_WORLD, o.n, o.dim, &r->X));
  DS_ASSERT_PETSC(ds_init_cloud(&r->opts, r->X));
}

static void run_diagnostics(Run *r)
{
  PetscInt local;
  VecGetLocalSize(r->X, &local);
  DS_ASSERT_PETSC(ds_diagnostics_create(PETSC_COMM_WORLD, &r->opts, r->target, local / r->opts.dim, &r->diag));
  DS_ASSERT_PETSC(ds_diagnostics_get_names(r->diag, &r->count, &r->names));
}

static void run_teardown(Run *r)
{
  ds_diagnostics_destroy(&r->diag);
  ds_target_destroy(&r->target);
  VecDestroy(&r->X);
}

/* All particles X [n][d] and the samples compared with Y [m][d], on every rank. */
typedef struct {
  PetscInt n, m, d;
  double  *X, *Y;
} Cloud;

static void gather_cloud(const Run *r, Cloud *cl)
{
  cl->d = r->opts.dim;
  cl->n = r->opts.n;
  cl->X = ds_test_gather_vec(r->X);
  if (r->target->analytic) {
    cl->m = r->opts.diagnostics_samples ? r->opts.diagnostics_samples : r->opts.n;
    PetscMalloc1(cl->m * cl->d, &cl->Y);
    for (PetscInt k = 0; k < cl->m; k++) ds_target_draw(r->opts.target, r->opts.target_scale, cl->d, (uint64_t)r->opts.seed, DS_STREAM_DIAGNOSTIC, k, cl->Y + k * cl->d);
  } else {
    cl->m = r->target->samples_global;
    cl->Y = ds_test_gather_samples(r->target);
  }
}

static void free_cloud(Cloud *cl)
{
  PetscFree(cl->X);
  PetscFree(cl->Y);
}

/* Sets this rank's particle rows from all rows [n][d]. */
static void set_particles(Vec X, const double *rows)
{
  PetscInt     lo, hi;
  PetscScalar *x;
  VecGetOwnershipRange(X, &lo, &hi);
  VecGetArray(X, &x);
  for (PetscInt k = lo; k < hi; k++) x[k - lo] = rows[k];
  VecRestoreArray(X, &x);
}

/* Sets this rank's target samples from all rows [M][d]. */
static void set_samples(DSTarget *t, const double *rows)
{
  for (PetscInt i = 0; i < t->samples_local; i++)
    for (PetscInt c = 0; c < t->dim; c++) t->samples[i * t->dim + c] = rows[(t->samples_start + i) * t->dim + c];
}

/* The value of diagnostic `name`, NaN (found 0) when not listed. */
static double value_of(const Run *r, const double *values, const char *name, int *found)
{
  *found = 0;
  for (PetscInt k = 0; k < r->count; k++)
    if (!strcmp(r->names[k], name)) {
      *found = 1;
      return values[k];
    }
  return NAN;
}

/* 1 when every value is bitwise the same on every rank. */
static int identical_on_all_ranks(const double *values, PetscInt count)
{
  int same = 1;
  for (PetscInt k = 0; k < count; k++) {
    double lo, hi;
    MPI_Allreduce(&values[k], &lo, 1, MPI_DOUBLE, MPI_MIN, PETSC_COMM_WORLD);
    MPI_Allreduce(&values[k], &hi, 1, MPI_DOUBLE, MPI_MAX, PETSC_COMM_WORLD);
    same = same && !memcmp(&lo, &values[k], sizeof(double)) && !memcmp(&hi, &values[k], sizeof(double));
  }
  return same;
}

/* ---------------------------------------------------------------- brute forces */



/* mean over all pairs (i = j included) of f(|a_i - b_j|^2), f a kernel or the distance. */
static double pair_mean(const double *A, PetscInt na, const double *B, PetscInt nb, PetscInt d, double hm, int distance)
{
  double s = 0;
  for (PetscInt i = 0; i < na; i++)
    for (PetscInt j = 0; j < nb; j++) {
      const double r2 = ds_test_squared_distance(A + i * d, B + j * d, d);
      s += distance ? sqrt(r2) : exp(-r2 / (2 * hm * hm));
    }
  return s / ((double)na * nb);
}

/* mmd2 = mean k(x,x') - 2 mean k(x,y) + mean k(y,y'); *scale = the largest term. */
static double bf_mmd2(const Cloud *cl, double hm, double *scale)
{
  const double xx = pair_mean(cl->X, cl->n, cl->X, cl->n, cl->d, hm, 0), xy = pair_mean(cl->X, cl->n, cl->Y, cl->m, cl->d, hm, 0), yy = pair_mean(cl->Y, cl->m, cl->Y, cl->m, cl->d, hm, 0);
  *scale = PetscMax(xx, PetscMax(2 * xy, yy));
  return xx - 2 * xy + yy;
}

/* energy = 2 mean|x - y| - mean|x - x'| - mean|y - y'|; *scale = the largest term. */
static double bf_energy(const Cloud *cl, double *scale)
{
  const double xx = pair_mean(cl->X, cl->n, cl->X, cl->n, cl->d, 0, 1), xy = pair_mean(cl->X, cl->n, cl->Y, cl->m, cl->d, 0, 1), yy = pair_mean(cl->Y, cl->m, cl->Y, cl->m, cl->d, 0, 1);
  *scale = PetscMax(2 * xy, PetscMax(xx, yy));
  return 2 * xy - xx - yy;
}

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

static int compare_doubles(const void *a, const void *b)
{
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static PetscInt gcd(PetscInt a, PetscInt b)
{
  return b ? gcd(b, a % b) : a;
}

/* Unit direction l: d normals (seed, DS_STREAM_PROJECTIONS, l), normalised. */
static void direction(PetscInt seed, PetscInt l, PetscInt d, double *theta)
{
  double norm = 0;
  ds_rng_normals((uint64_t)seed, DS_STREAM_PROJECTIONS, (uint64_t)l, 0, d, theta);
  for (PetscInt c = 0; c < d; c++) norm += theta[c] * theta[c];
  for (PetscInt c = 0; c < d; c++) theta[c] /= sqrt(norm);
}

/* sqrt(mean_l W2^2) with W2^2 = int_0^1 (F_X^{-1} - F_Y^{-1})^2 evaluated on the G = lcm(N, M)
   cells [k/G, (k+1)/G), on which both quantile functions are constant. */
static double bf_sliced_w2(const Cloud *cl, PetscInt seed, PetscInt L)
{
  const PetscInt N = cl->n, M = cl->m, d = cl->d, G = N / gcd(N, M) * M;
  double        *px, *py, total = 0;
  PetscMalloc2(N, &px, M, &py);
  for (PetscInt l = 0; l < L; l++) {
    double theta[MAXD], w2 = 0;
    direction(seed, l, d, theta);
    for (PetscInt i = 0; i < N; i++) {
      px[i] = 0;
      for (PetscInt c = 0; c < d; c++) px[i] += cl->X[i * d + c] * theta[c];
    }
    for (PetscInt j = 0; j < M; j++) {
      py[j] = 0;
      for (PetscInt c = 0; c < d; c++) py[j] += cl->Y[j * d + c] * theta[c];
    }
    qsort(px, N, sizeof(double), compare_doubles);
    qsort(py, M, sizeof(double), compare_doubles);
    for (PetscInt k = 0; k < G; k++) w2 += (px[k / (G / N)] - py[k / (G / M)]) * (px[k / (G / N)] - py[k / (G / M)]);
    total += w2 / G;
  }
  PetscFree2(px, py);
  return sqrt(total / L);
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

/* ---------------------------------------------------------------- configurations */

static const PetscInt sizes[][2] = {{37, 23}, {3, 5}};
#define NSIZES ((int)(sizeof(sizes) / sizeof(sizes[0])))

/* Targets compared with: sampled (partitioned, replicated) gmm8, gaussian in 3-D and
   checkerboard (no mixture), and analytic gmm8 and gaussian (samples drawn for the
   diagnostics: M' given, or 0 for N). */
typedef struct {
  DSTargetType target;
  PetscInt     dim;
  int          analytic, replicate, diagnostic_samples; /* diagnostic_samples: 1 = M', 0 = N */
} TargetCase;

static const TargetCase target_cases[] = {
  {DS_TARGET_GMM8, 2, 0, 0, 0},     {DS_TARGET_GMM8, 2, 0, 1, 0},     {DS_TARGET_GAUSSIAN, 3, 0, 0, 0}, {DS_TARGET_GAUSSIAN, 3, 0, 1, 0},
  {DS_TARGET_CHECKERBOARD, 2, 0, 0, 0}, {DS_TARGET_GMM8, 2, 1, 0, 1}, {DS_TARGET_GMM8, 2, 1, 0, 0}, {DS_TARGET_GAUSSIAN, 3, 1, 0, 0},
};
#define NTARGETS ((int)(sizeof(target_cases) / sizeof(target_cases[0])))

static DSOptions target_options(const TargetCase *tc, PetscInt n, PetscInt m, DSKernelType kernel, PetscReal beta)
{
  DSOptions o = make_options(tc->target, tc->analytic ? 0 : m, (PetscBool)tc->replicate, n, tc->dim, kernel, beta);
  o.diagnostics_samples = tc->analytic && tc->diagnostic_samples ? m : 0;
  return o;
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

/* The names: ds_diagnostics.h's order, only the groups switched on and the ones that apply
   (laplace: no self_interaction; imq with 2 beta <= d: min_occupancy only; no mixture
   group without a mixture description). */
START_TEST(names_follow_groups_kernel_and_target)
{
  static const struct {
    DSTargetType target;
    DSKernelType kernel;
    double       beta;
    PetscInt     groups;
    const char  *want;
  } cases[] = {
    {DS_TARGET_GMM8, DS_KERNEL_GAUSSIAN, 0.5, ALL_GROUPS, "mmd2 energy_distance sliced_w2 reciprocal_kde self_interaction min_occupancy mean_error covariance_error mode_coverage"},
    {DS_TARGET_GMM8, DS_KERNEL_LAPLACE, 0.5, ALL_GROUPS, "mmd2 energy_distance sliced_w2 reciprocal_kde min_occupancy mean_error covariance_error mode_coverage"},
    {DS_TARGET_GMM8, DS_KERNEL_IMQ, 0.5, ALL_GROUPS, "mmd2 energy_distance sliced_w2 min_occupancy mean_error covariance_error mode_coverage"},
    {DS_TARGET_GMM8, DS_KERNEL_IMQ, 1.0, ALL_GROUPS, "mmd2 energy_distance sliced_w2 min_occupancy mean_error covariance_error mode_coverage"},
    {DS_TARGET_GMM8, DS_KERNEL_IMQ, 1.5, ALL_GROUPS, "mmd2 energy_distance sliced_w2 reciprocal_kde self_interaction min_occupancy mean_error covariance_error mode_coverage"},
    {DS_TARGET_MOONS, DS_KERNEL_GAUSSIAN, 0.5, ALL_GROUPS, "mmd2 energy_distance sliced_w2 reciprocal_kde self_interaction min_occupancy"},
    {DS_TARGET_GMM8, DS_KERNEL_GAUSSIAN, 0.5, DS_DIAGNOSTIC_MIXTURE | DS_DIAGNOSTIC_SLICED_W2, "sliced_w2 mean_error covariance_error mode_coverage"},
    {DS_TARGET_GMM8, DS_KERNEL_GAUSSIAN, 0.5, DS_DIAGNOSTIC_KDE | DS_DIAGNOSTIC_MMD2, "mmd2 reciprocal_kde self_interaction min_occupancy"},
    {DS_TARGET_CHECKERBOARD, DS_KERNEL_LAPLACE, 0.5, DS_DIAGNOSTIC_MIXTURE | DS_DIAGNOSTIC_ENERGY, "energy_distance"},
    {DS_TARGET_GMM8, DS_KERNEL_GAUSSIAN, 0.5, 0, ""},
  };
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
    for (int analytic = 0; analytic < 2; analytic++) {
      if (analytic && (cases[c].target != DS_TARGET_GMM8 || cases[c].kernel != DS_KERNEL_GAUSSIAN)) continue; /* the density serves the gaussian kernel only */
      Run       r;
      DSOptions o   = make_options(cases[c].target, analytic ? 0 : 23, PETSC_FALSE, 37, 2, cases[c].kernel, cases[c].beta);
      o.diagnostics = cases[c].groups;
      run_setup(&r, o);
      run_diagnostics(&r);
      char got[512] = "";
      for (PetscInt k = 0; k < r.count; k++) {
        if (k) strcat(got, " ");
        strcat(got, r.names[k]);
      }
      DS_ASSERT_ALL(!strcmp(got, cases[c].want), "target %s kernel %s beta %g groups %d analytic %d: names \"%s\", want \"%s\"", DSTargetTypes[cases[c].target], DSKernelTypes[cases[c].kernel], cases[c].beta, (int)cases[c].groups, analytic, got, cases[c].want);
      run_teardown(&r);
    }
}
END_TEST

/* mmd2 and energy_distance (normwise against the largest of their three terms, 1e-12) and
   sliced_w2 (relative 1e-12) vs the brute force, for every target case and size; computed
   twice, the second time at particles scaled by 0.8 (accumulators reset), and identical on
   every rank. */
START_TEST(distances_match_brute_force)
{
  for (int tc = 0; tc < NTARGETS; tc++)
    for (int s = 0; s < NSIZES; s++) {
      Run r;
      run_setup(&r, target_options(&target_cases[tc], sizes[s][0], sizes[s][1], DS_KERNEL_GAUSSIAN, 0.5));
      run_diagnostics(&r);
      for (int pass = 0; pass < 2; pass++) {
        Cloud  cl;
        double values[16], mmd_scale, energy_scale;
        int    found[3];
        if (pass) VecScale(r.X, 0.8);
        gather_cloud(&r, &cl);
        DS_ASSERT_PETSC(ds_diagnostics_compute(r.diag, r.X, r.opts.bandwidth, values));
        const double mmd = value_of(&r, values, "mmd2", &found[0]), energy = value_of(&r, values, "energy_distance", &found[1]), sw2 = value_of(&r, values, "sliced_w2", &found[2]);
        const double mmd_ref = bf_mmd2(&cl, r.opts.mmd_bandwidth, &mmd_scale), energy_ref = bf_energy(&cl, &energy_scale), sw2_ref = bf_sliced_w2(&cl, r.opts.seed, r.opts.sliced_w2_projections);
        char         cfg[160];
        snprintf(cfg, sizeof(cfg), "target %s d %d analytic %d replicate %d N %d M %d pass %d", DSTargetTypes[r.opts.target], (int)cl.d, target_cases[tc].analytic, target_cases[tc].replicate, (int)cl.n, (int)cl.m, pass);
        DS_ASSERT_ALL(found[0] && found[1] && found[2], "%s: mmd2, energy_distance or sliced_w2 not listed", cfg);
        DS_ASSERT_ALL(fabs(mmd - mmd_ref) / mmd_scale < 1e-12, "%s: mmd2 %.17g, brute force %.17g (largest term %.3g): normwise %g", cfg, mmd, mmd_ref, mmd_scale, fabs(mmd - mmd_ref) / mmd_scale);
        DS_ASSERT_ALL(fabs(energy - energy_ref) / energy_scale < 1e-12, "%s: energy_distance %.17g, brute force %.17g (largest term %.3g): normwise %g", cfg, energy, energy_ref, energy_scale, fabs(energy - energy_ref) / energy_scale);
        DS_ASSERT_ALL(ds_test_reldiff(sw2, sw2_ref, 0) < 1e-12, "%s: sliced_w2 %.17g, brute force %.17g: relative %g", cfg, sw2, sw2_ref, ds_test_reldiff(sw2, sw2_ref, 0));
        DS_ASSERT_ALL(identical_on_all_ranks(values, r.count), "%s: values differ between ranks", cfg);
        free_cloud(&cl);
      }
      run_teardown(&r);
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

/* sliced_w2 in closed form (relative 1e-12, samples partitioned and replicated):
   - Y = X + a, N = M: each projected W2^2 is (a . theta)^2, so sliced_w2 = sqrt(mean_l (a . theta_l)^2)
     (d = 2, 3) and |a| in 1-D (theta = +-1);
   - 1-D X = {0, 1}, Y = {0, 1/2, 1}: W2^2 = 1/4 (1/2 - 1/3) + 1/4 (2/3 - 1/2) = 1/12;
   - 1-D X = {0}, Y = {1, ..., 5}: W2^2 = mean y^2 = 11;
   - d = 2, X = {0}, Y = 5 points: W2^2 = mean_j (y_j . theta)^2 per direction. */
START_TEST(sliced_w2_closed_forms)
{
  for (int replicate = 0; replicate < 2; replicate++) {
    /* Shifted copies. */
    for (PetscInt d = 1; d <= 3; d++)
      for (int s = 0; s < NSIZES; s++) {
        const double a[3] = {0.45, -0.7, 0.2};
        const PetscInt n  = sizes[s][0];
        Run            r;
        double         values[16], *rows, want = 0;
        int            found;
        DSOptions      o = make_options(DS_TARGET_GAUSSIAN, n, (PetscBool)replicate, n, d, DS_KERNEL_GAUSSIAN, 0.5);
        o.diagnostics    = DS_DIAGNOSTIC_SLICED_W2;
        run_setup(&r, o);
        rows = ds_test_gather_samples(r.target);
        for (PetscInt i = 0; i < n; i++)
          for (PetscInt c = 0; c < d; c++) rows[i * d + c] -= a[c]; /* X = Y - a */
        set_particles(r.X, rows);
        run_diagnostics(&r);
        DS_ASSERT_PETSC(ds_diagnostics_compute(r.diag, r.X, r.opts.bandwidth, values));
        for (PetscInt l = 0; l < o.sliced_w2_projections; l++) {
          double theta[MAXD], at = 0;
          direction(o.seed, l, d, theta);
          for (PetscInt c = 0; c < d; c++) at += a[c] * theta[c];
          want += at * at / o.sliced_w2_projections;
        }
        want = d == 1 ? fabs(a[0]) : sqrt(want);
        const double got = value_of(&r, values, "sliced_w2", &found);
        DS_ASSERT_ALL(found && ds_test_reldiff(got, want, 0) < 1e-12, "shift d %d N = M = %d replicate %d: sliced_w2 %.17g, closed form %.17g", (int)d, (int)n, replicate, got, want);
        PetscFree(rows);
        run_teardown(&r);
      }
    /* Hand-made sets with N != M. */
    static const struct {
      PetscInt d, n, m;
      double   x[2], y[10];
    } sets[] = {
      {1, 2, 3, {0, 1}, {0, 0.5, 1}},
      {1, 1, 5, {0}, {1, 2, 3, 4, 5}},
      {2, 1, 5, {0, 0}, {1, 0.5, -2, 1, 0.25, 3, -1, -1, 2, -0.5}},
    };
    for (size_t c = 0; c < sizeof(sets) / sizeof(sets[0]); c++) {
      Run       r;
      double    values[16], want = 0;
      int       found;
      DSOptions o   = make_options(DS_TARGET_GAUSSIAN, sets[c].m, (PetscBool)replicate, sets[c].n, sets[c].d, DS_KERNEL_GAUSSIAN, 0.5);
      o.diagnostics = DS_DIAGNOSTIC_SLICED_W2;
      run_setup(&r, o);
      set_particles(r.X, sets[c].x);
      set_samples(r.target, sets[c].y);
      run_diagnostics(&r);
      DS_ASSERT_PETSC(ds_diagnostics_compute(r.diag, r.X, r.opts.bandwidth, values));
      if (c == 0) want = sqrt(1.0 / 12.0);
      else if (c == 1) want = sqrt(11.0);
      else {
        for (PetscInt l = 0; l < o.sliced_w2_projections; l++) {
          double theta[MAXD];
          direction(o.seed, l, 2, theta);
          for (PetscInt j = 0; j < 5; j++) want += pow(sets[c].y[2 * j] * theta[0] + sets[c].y[2 * j + 1] * theta[1], 2) / (5.0 * o.sliced_w2_projections);
        }
        want = sqrt(want);
      }
      const double got = value_of(&r, values, "sliced_w2", &found);
      DS_ASSERT_ALL(found && ds_test_reldiff(got, want, 0) < 1e-12, "hand set %d (d %d N %d M %d) replicate %d: sliced_w2 %.17g, closed form %.17g", (int)c, (int)sets[c].d, (int)sets[c].n, (int)sets[c].m, replicate, got, want);
      run_teardown(&r);
    }
  }
}
END_TEST

Suite *ds_suite_diagnostics(void)
{
  Suite *s  = suite_create("diagnostics");
  TCase *tc = tcase_create("diagnostics");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, kernel_normalisation_and_laplacian);
  tcase_add_test(tc, names_follow_groups_kernel_and_target);
  tcase_add_test(tc, distances_match_brute_force);
  tcase_add_test(tc, kde_matches_brute_force);
  tcase_add_test(tc, mixture_matches_brute_force);
  tcase_add_test(tc, mode_coverage_of_placed_particles);
  tcase_add_test(tc, sliced_w2_closed_forms);
  suite_add_tcase(s, tc);
  return s;
}
