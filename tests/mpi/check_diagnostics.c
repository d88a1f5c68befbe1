/* Distance diagnostics (SCIENCE.md: diagnostics the theory speaks of) and the names of
   all diagnostics, against a DENSE serial brute force written from SCIENCE.md's
   definitions: every rank gathers all N particles and the M samples compared with (the
   target's, or redrawn with ds_target_draw on DS_STREAM_DIAGNOSTIC for an analytic target)
   and evaluates each definition directly: all-pairs V-statistics, 1-D W2 on the common
   refinement of the quantile grids (lcm(N, M) cells). Closed forms: sliced_w2 of a shifted
   copy and of hand-made 1-D sets. N not a multiple of the rank count (N = 37 and 3),
   samples partitioned and replicated, analytic and sampled targets. The KDE and mixture
   diagnostics are tested in check_diagnostics_density.c, in the same suite. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "diagnostics_test.h"
#include "ds_rng.h"

#define ALL_GROUPS DS_DIAGNOSTICS_DEFAULT /* every group but sinkhorn (its own suite) */

/* Sets this rank's target samples from all rows [M][d]. */
static void set_samples(DSTarget *t, const double *rows)
{
  for (PetscInt i = 0; i < t->samples_local; i++)
    for (PetscInt c = 0; c < t->dim; c++) t->samples[i * t->dim + c] = rows[(t->samples_start + i) * t->dim + c];
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

/* ---------------------------------------------------------------- tests */

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
  tcase_add_test(tc, names_follow_groups_kernel_and_target);
  tcase_add_test(tc, distances_match_brute_force);
  diagnostics_test_add_density(tc);
  tcase_add_test(tc, sliced_w2_closed_forms);
  suite_add_tcase(s, tc);
  return s;
}
