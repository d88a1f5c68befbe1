/* Tests of the bandwidth rules: every rule against its formula evaluated here on the gathered
   particles and samples (sigma by a two-pass sum, the median over the pairs redrawn from
   ds_rng, the mixture's sigma in closed form), each value bit-identical to the same
   computation on PETSC_COMM_SELF (the one-rank run), the annealing schedule, and the refused
   cases (h_min > h0, too few points). N = 37 is not a multiple of 2, 3 or 4, N = 3 is fewer
   than 4 ranks, and M != N. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <petscvec.h>
#include "ds_bandwidth.h"
#include "ds_init.h"
#include "ds_rng.h"
#include "ds_target.h"
#include "ds_test.h"

/* Bandwidth options on a gaussian initial cloud (conservative field, gaussian kernel: the
   defaults); the rate rule's constant c = 1.5 only with the rate rule, as the program allows. */
static DSOptions bandwidth_options(DSBandwidthRule rule, DSTargetType target, PetscInt samples, PetscBool replicate, PetscInt n, PetscInt dim)
{
  DSOptions o = ds_test_options();

  o.n               = n;
  o.dim             = dim;
  o.seed            = 11;
  o.bandwidth       = 0.8;
  o.bandwidth_rule  = rule;
  o.bandwidth_scale = rule == DS_BANDWIDTH_RATE ? 1.5 : 0.0;
  o.bandwidth_pairs = 101;
  o.target          = target;
  o.target_samples  = samples;
  o.target_scale    = 1.3;
  o.replicate_data  = replicate;
  o.init_mean       = 0.5;
  o.init_scale      = 1.5;
  return o;
}

/* Validates the options and builds their target and initial cloud on comm, as the program
   does, then the bandwidth;
   the error code of ds_bandwidth_create (printing silenced) in *ierr. */
static PetscErrorCode bandwidth_on(MPI_Comm comm, const DSOptions *o, DSBandwidth *bw, PetscErrorCode *ierr)
{
  DSTarget *t = NULL;
  Vec       X;

  PetscFunctionBeginUser;
  PetscCall(ds_options_validate(comm, o));
  PetscCall(ds_target_create(comm, o, &t));
  PetscCall(ds_init_create_particles(comm, o->n, o->dim, &X));
  PetscCall(ds_init_cloud(o, X));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  *ierr = ds_bandwidth_create(comm, o, t, X, bw);
  PetscCall(PetscPopErrorHandler());
  PetscCall(VecDestroy(&X));
  PetscCall(ds_target_destroy(&t));
  PetscFunctionReturn(0);
}

/* h0 of the options on PETSC_COMM_WORLD and on PETSC_COMM_SELF; asserts both succeeded. */
static void h0_world_and_self(const DSOptions *o, PetscReal *world, PetscReal *self)
{
  DSBandwidth    bw;
  PetscErrorCode ierr = 1;

  DS_ASSERT_PETSC(bandwidth_on(PETSC_COMM_WORLD, o, &bw, &ierr));
  DS_ASSERT_ALL(ierr == 0, "ds_bandwidth_create (-drift_bandwidth_rule %s) failed on PETSC_COMM_WORLD with error %d", DSBandwidthRules[o->bandwidth_rule], (int)ierr);
  *world = bw.h0;
  DS_ASSERT_PETSC(bandwidth_on(PETSC_COMM_SELF, o, &bw, &ierr));
  DS_ASSERT_ALL(ierr == 0, "ds_bandwidth_create (-drift_bandwidth_rule %s) failed on PETSC_COMM_SELF with error %d", DSBandwidthRules[o->bandwidth_rule], (int)ierr);
  *self = bw.h0;
}

/* Asserts h0 on PETSC_COMM_WORLD is within relative `tolerance` of `expected` and equal bit
   for bit to h0 on PETSC_COMM_SELF. */
static void check_h0(const DSOptions *o, double expected, double tolerance, const char *label)
{
  PetscReal world = NAN, self = NAN;

  h0_world_and_self(o, &world, &self);
  DS_ASSERT_ALL(ds_test_reldiff(world, expected, 1e-300) < tolerance, "%s, -drift_bandwidth_rule %s: h0 = %.17g, the formula gives %.17g", label, DSBandwidthRules[o->bandwidth_rule], (double)world, expected);
  DS_ASSERT_ALL(memcmp(&world, &self, sizeof(world)) == 0, "%s, -drift_bandwidth_rule %s: h0 = %.17g on %d ranks but %.17g on one", label, DSBandwidthRules[o->bandwidth_rule], (double)world, PetscGlobalSize, (double)self);
}

/* Every rank's copy of the initial cloud of the options (N rows of d), built on
   PETSC_COMM_WORLD and gathered. */
static double *gather_particles(const DSOptions *o)
{
  Vec     X;
  double *copy;

  ds_init_create_particles(PETSC_COMM_WORLD, o->n, o->dim, &X);
  ds_init_cloud(o, X);
  copy = ds_test_gather_vec(X);
  VecDestroy(&X);
  return copy;
}

/* Every rank's copy of the M target samples of the options (M rows of d), built on
   PETSC_COMM_WORLD (partitioned or replicated as the options say) and gathered. */
static double *gather_samples(const DSOptions *o)
{
  DSTarget *t = NULL;
  double   *all;

  ds_target_create(PETSC_COMM_WORLD, o, &t);
  all = ds_test_gather_samples(t);
  ds_target_destroy(&t);
  return all;
}

/* Sample standard deviation sqrt(trace(Cov) / d), Cov with 1/(M-1): the mean vector, then the
   squared deviations of every row from it. */
static double reference_sigma(PetscInt M, PetscInt d, const double *y)
{
  double mean[8] = {0}, squares = 0;

  for (PetscInt i = 0; i < M; i++)
    for (PetscInt j = 0; j < d; j++) mean[j] += y[i * d + j];
  for (PetscInt j = 0; j < d; j++) mean[j] /= M;
  for (PetscInt i = 0; i < M; i++)
    for (PetscInt j = 0; j < d; j++) squares += (y[i * d + j] - mean[j]) * (y[i * d + j] - mean[j]);
  return sqrt(squares / (M - 1) / d);
}

static int compare_doubles(const void *a, const void *b)
{
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median rule's definition, serially: pool = particles then samples; pair p from the
   uniforms (u0, u1) of (seed, DS_STREAM_PAIRS, p, 0): a = floor(u0 P), b = floor(u1 (P-1)),
   b += b >= a; the median of the L distances |z_a - z_b|. */
static double reference_median(const DSOptions *o, const double *particles, PetscInt M, const double *samples)
{
  const PetscInt d = o->dim, N = o->n, P = N + M, L = o->bandwidth_pairs;
  double        *distance = malloc(L * sizeof(double)), median;

  for (PetscInt p = 0; p < L; p++) {
    double         u[2], r2 = 0;
    PetscInt       a, b;
    const double  *za, *zb;

    ds_rng_uniforms((uint64_t)o->seed, DS_STREAM_PAIRS, (uint64_t)p, 0, 2, u);
    a = (PetscInt)floor(u[0] * P);
    b = (PetscInt)floor(u[1] * (P - 1));
    if (b >= a) b++;
    za = a < N ? &particles[a * d] : &samples[(a - N) * d];
    zb = b < N ? &particles[b * d] : &samples[(b - N) * d];
    for (PetscInt j = 0; j < d; j++) r2 += (za[j] - zb[j]) * (za[j] - zb[j]);
    distance[p] = sqrt(r2);
  }
  qsort(distance, L, sizeof(double), compare_doubles);
  median = L % 2 ? distance[L / 2] : (distance[L / 2 - 1] + distance[L / 2]) / 2;
  free(distance);
  return median;
}

/* fixed: h0 = -drift_bandwidth; rate: h0 = c N^(-1/(d+4)) = c exp(-log N / (d + 4)), d = 1..3. */
START_TEST(test_fixed_and_rate)
{
  for (PetscInt d = 1; d <= 3; d++) {
    DSOptions o = bandwidth_options(DS_BANDWIDTH_FIXED, DS_TARGET_GAUSSIAN, 0, PETSC_FALSE, 37, d);

    check_h0(&o, 0.8, 1e-15, "fixed");
    o.bandwidth_rule  = DS_BANDWIDTH_RATE;
    o.bandwidth_scale = 1.5;
    check_h0(&o, 1.5 * exp(-log(37.0) / (d + 4)), 1e-14, "rate");
  }
}
END_TEST

/* silverman h0 = sigma (4 / ((d + 2) N))^(1/(d+4)) and scott h0 = sigma N^(-1/(d+4)), sigma
   from the gathered samples: gaussian (d = 3) and gmm8 (d = 2) targets, M = 23 and 53,
   samples partitioned and replicated. */
START_TEST(test_silverman_scott_from_samples)
{
  const struct {
    DSTargetType type;
    PetscInt     dim;
  } targets[] = {{DS_TARGET_GAUSSIAN, 3}, {DS_TARGET_GMM8, 2}};
  const PetscInt sample_counts[] = {23, 53};

  for (int c = 0; c < 2; c++)
    for (int m = 0; m < 2; m++)
      for (int replicate = 0; replicate < 2; replicate++) {
        DSOptions    o     = bandwidth_options(DS_BANDWIDTH_SILVERMAN, targets[c].type, sample_counts[m], (PetscBool)replicate, 37, targets[c].dim);
        const double d     = (double)o.dim;
        double      *y     = gather_samples(&o);
        const double sigma = reference_sigma(o.target_samples, o.dim, y);
        char         label[128];

        snprintf(label, sizeof(label), "%s target, M = %d, replicate %d", DSTargetTypes[o.target], (int)o.target_samples, replicate);
        check_h0(&o, sigma * pow(4.0 / ((d + 2) * 37.0), 1.0 / (d + 4)), 1e-13, label);
        o.bandwidth_rule = DS_BANDWIDTH_SCOTT;
        check_h0(&o, sigma * pow(37.0, -1.0 / (d + 4)), 1e-13, label);
        PetscFree(y);
      }
}
END_TEST

/* Analytic targets: sigma from the mixture's moments in closed form. gmm8 at scale s has
   each coordinate's variance (0.2 s)^2 + (2 s)^2 / 2 (component variance plus that of the
   mode circle); the gaussian N(0, s^2 I) has sigma = s. */
START_TEST(test_silverman_scott_analytic)
{
  const struct {
    DSTargetType type;
    PetscInt     dim;
  } targets[] = {{DS_TARGET_GMM8, 2}, {DS_TARGET_GAUSSIAN, 3}};

  for (int c = 0; c < 2; c++) {
    DSOptions    o     = bandwidth_options(DS_BANDWIDTH_SILVERMAN, targets[c].type, 0, PETSC_FALSE, 37, targets[c].dim);
    const double s     = o.target_scale, d = (double)o.dim;
    const double sigma = o.target == DS_TARGET_GMM8 ? sqrt(PetscSqr(0.2 * s) + PetscSqr(2.0 * s) / 2.0) : s;

    check_h0(&o, sigma * pow(4.0 / ((d + 2) * 37.0), 1.0 / (d + 4)), 1e-14, DSTargetTypes[o.target]);
    o.bandwidth_rule = DS_BANDWIDTH_SCOTT;
    check_h0(&o, sigma * pow(37.0, -1.0 / (d + 4)), 1e-14, DSTargetTypes[o.target]);
  }
}
END_TEST

/* median: the pairs redrawn here from ds_rng over the gathered pool; samples partitioned and
   replicated, an analytic target (particles only), N = 37 and N = 3, L odd, even and 1. */
START_TEST(test_median_of_the_drawn_pairs)
{
  const struct {
    DSTargetType type;
    PetscInt     dim, n, samples;
    PetscBool    replicate;
  } cases[] = {
    {DS_TARGET_GAUSSIAN, 3, 37, 23, PETSC_FALSE}, {DS_TARGET_GAUSSIAN, 3, 37, 23, PETSC_TRUE}, {DS_TARGET_GMM8, 2, 37, 0, PETSC_FALSE},
    {DS_TARGET_MOONS, 2, 3, 5, PETSC_FALSE},      {DS_TARGET_MOONS, 2, 3, 5, PETSC_TRUE},
  };
  const PetscInt pairs[] = {101, 100, 1};

  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    DSOptions o = bandwidth_options(DS_BANDWIDTH_MEDIAN, cases[c].type, cases[c].samples, cases[c].replicate, cases[c].n, cases[c].dim);
    double   *x = gather_particles(&o);
    double   *y = o.target_samples ? gather_samples(&o) : NULL;

    for (int l = 0; l < 3; l++) {
      char label[128];

      o.bandwidth_pairs = pairs[l];
      snprintf(label, sizeof(label), "%s target, N = %d, M = %d, replicate %d, %d pairs", DSTargetTypes[o.target], (int)o.n, (int)o.target_samples, (int)o.replicate_data, (int)o.bandwidth_pairs);
      check_h0(&o, reference_median(&o, x, o.target_samples, y), 1e-14, label);
    }
    PetscFree(x);
    PetscFree(y);
  }
}
END_TEST

/* h(t) = max(h_min, h0 exp(-r t)): h0 at t = 0, the formula on both sides of the crossing
   t* = log(h0 / h_min) / r, h_min exactly from there on, never increasing; h0 at every t
   without annealing. Also with a rule-derived h0 (scott from samples). */
START_TEST(test_annealing_schedule)
{
  const double   times[] = {0.0, 0.05, 0.1, 0.3, 0.49, 0.5, 1.0, 10.0, 1e3};
  DSOptions      o       = bandwidth_options(DS_BANDWIDTH_FIXED, DS_TARGET_GAUSSIAN, 0, PETSC_FALSE, 37, 2);
  DSBandwidth    bw;
  PetscErrorCode ierr     = 1;
  int            monotone = 1;

  for (int rule = 0; rule < 2; rule++) {
    o.bandwidth_rule   = rule ? DS_BANDWIDTH_SCOTT : DS_BANDWIDTH_FIXED;
    o.target_samples   = rule ? 29 : 0;
    o.bandwidth_anneal = 2.0;
    o.bandwidth_min    = rule ? 0.1 : 0.3;
    DS_ASSERT_PETSC(bandwidth_on(PETSC_COMM_WORLD, &o, &bw, &ierr));
    DS_ASSERT_ALL(ierr == 0, "annealed -drift_bandwidth_rule %s refused (error %d)", DSBandwidthRules[o.bandwidth_rule], (int)ierr);
    DS_ASSERT_ALL(bw.rule == o.bandwidth_rule && bw.anneal == 2.0 && bw.h_min == o.bandwidth_min && (rule || bw.h0 == 0.8), "DSBandwidth holds rule %d h0 %g r %g h_min %g", (int)bw.rule, (double)bw.h0, (double)bw.anneal, (double)bw.h_min);
    DS_ASSERT_ALL(ds_bandwidth_at(&bw, 0.0) == bw.h0, "h(0) = %g, h0 = %g", (double)ds_bandwidth_at(&bw, 0.0), (double)bw.h0);
    for (size_t k = 0; k < sizeof(times) / sizeof(times[0]); k++) {
      const double expected = fmax(o.bandwidth_min, bw.h0 * exp(-2.0 * times[k]));

      DS_ASSERT_ALL(ds_test_reldiff(ds_bandwidth_at(&bw, times[k]), expected, 1e-300) < 1e-15, "%s: h(%g) = %.17g, max(h_min, h0 exp(-r t)) = %.17g", DSBandwidthRules[o.bandwidth_rule], times[k], (double)ds_bandwidth_at(&bw, times[k]), expected);
    }
    DS_ASSERT_ALL(ds_bandwidth_at(&bw, 1e3) == o.bandwidth_min, "h(1000) = %.17g is not the floor %g", (double)ds_bandwidth_at(&bw, 1e3), (double)o.bandwidth_min);
    for (int k = 1; k <= 1000; k++) monotone = monotone && ds_bandwidth_at(&bw, 0.01 * k) <= ds_bandwidth_at(&bw, 0.01 * (k - 1));
    DS_ASSERT_ALL(monotone, "%s: h(t) increases somewhere in [0, 10]", DSBandwidthRules[o.bandwidth_rule]);
  }

  o = bandwidth_options(DS_BANDWIDTH_FIXED, DS_TARGET_GAUSSIAN, 0, PETSC_FALSE, 37, 2);
  DS_ASSERT_PETSC(bandwidth_on(PETSC_COMM_WORLD, &o, &bw, &ierr));
  DS_ASSERT_ALL(ierr == 0 && bw.anneal == 0.0, "fixed bandwidth without annealing refused (error %d) or annealed (r = %g)", (int)ierr, (double)bw.anneal);
  for (size_t k = 0; k < sizeof(times) / sizeof(times[0]); k++) DS_ASSERT_ALL(ds_bandwidth_at(&bw, times[k]) == 0.8, "h(%g) = %g without annealing, h0 = 0.8", times[k], (double)ds_bandwidth_at(&bw, times[k]));
}
END_TEST

/* h_min > h0 with annealing is refused with PETSC_ERR_USER_INPUT on every rank, with a
   message naming -drift_bandwidth_min, both numbers and the rule; h_min = h0 is accepted. */
START_TEST(test_min_above_h0_refused)
{
  const struct {
    DSBandwidthRule rule;
    PetscReal       h, h_min;
    const char     *message;
  } cases[] = {
    {DS_BANDWIDTH_FIXED, 1.0, 2.0, "-drift_bandwidth_min 2 is larger than the initial bandwidth h0 = 1 (-drift_bandwidth_rule fixed)"},
    {DS_BANDWIDTH_FIXED, 0.25, 0.3, "-drift_bandwidth_min 0.3 is larger than the initial bandwidth h0 = 0.25 (-drift_bandwidth_rule fixed)"},
    {DS_BANDWIDTH_RATE, 0.0, 0.6, "-drift_bandwidth_min 0.6 is larger than the initial bandwidth h0 = 0.547814 (-drift_bandwidth_rule rate)"}, /* 37^(-1/6) */
  };

  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    DSOptions      o = bandwidth_options(cases[c].rule, DS_TARGET_GAUSSIAN, 0, PETSC_FALSE, 37, 2);
    DSBandwidth    bw;
    PetscErrorCode ierr = 0;
    char          *message = NULL;

    o.bandwidth        = cases[c].h;
    o.bandwidth_scale  = cases[c].rule == DS_BANDWIDTH_RATE ? 1.0 : 0.0;
    o.bandwidth_anneal = 0.5;
    o.bandwidth_min    = cases[c].h_min;
    DS_ASSERT_PETSC(bandwidth_on(PETSC_COMM_WORLD, &o, &bw, &ierr));
    DS_ASSERT_ALL(ierr == PETSC_ERR_USER_INPUT, "h_min %g > h0 (-drift_bandwidth_rule %s): error %d, expected PETSC_ERR_USER_INPUT (%d)", (double)o.bandwidth_min, DSBandwidthRules[o.bandwidth_rule], (int)ierr, PETSC_ERR_USER_INPUT);
    PetscErrorMessage(ierr, NULL, &message);
    DS_ASSERT_ALL(message && strstr(message, cases[c].message), "message '%s' does not contain '%s'", message ? message : "(none)", cases[c].message);
  }
  {
    DSOptions      o = bandwidth_options(DS_BANDWIDTH_FIXED, DS_TARGET_GAUSSIAN, 0, PETSC_FALSE, 37, 2);
    DSBandwidth    bw;
    PetscErrorCode ierr = 1;

    o.bandwidth_anneal = 0.5;
    o.bandwidth_min    = o.bandwidth;
    DS_ASSERT_PETSC(bandwidth_on(PETSC_COMM_WORLD, &o, &bw, &ierr));
    DS_ASSERT_ALL(ierr == 0 && ds_bandwidth_at(&bw, 5.0) == o.bandwidth, "h_min = h0 refused (error %d) or not constant", (int)ierr);
  }
}
END_TEST

/* Too few points for the rule: the median of a one-point pool (N = 1, analytic target) and
   the standard deviation of one sample are refused with PETSC_ERR_USER_INPUT on every rank. */
START_TEST(test_too_few_points_refused)
{
  const struct {
    DSBandwidthRule rule;
    PetscInt        n, samples;
    const char     *names;
  } cases[] = {
    {DS_BANDWIDTH_MEDIAN, 1, 0, "-drift_bandwidth_rule median"},
    {DS_BANDWIDTH_SILVERMAN, 37, 1, "-drift_bandwidth_rule silverman"},
    {DS_BANDWIDTH_SCOTT, 37, 1, "-drift_bandwidth_rule scott"},
  };

  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    for (int replicate = 0; replicate < 2; replicate++) {
      const DSOptions o = bandwidth_options(cases[c].rule, DS_TARGET_GAUSSIAN, cases[c].samples, (PetscBool)replicate, cases[c].n, 2);
      DSBandwidth     bw;
      PetscErrorCode  ierr = 0;
      char           *message = NULL;

      DS_ASSERT_PETSC(bandwidth_on(PETSC_COMM_WORLD, &o, &bw, &ierr));
      DS_ASSERT_ALL(ierr == PETSC_ERR_USER_INPUT, "-drift_bandwidth_rule %s, N = %d, M = %d: error %d, expected PETSC_ERR_USER_INPUT (%d)", DSBandwidthRules[o.bandwidth_rule], (int)o.n, (int)o.target_samples, (int)ierr, PETSC_ERR_USER_INPUT);
      PetscErrorMessage(ierr, NULL, &message);
      DS_ASSERT_ALL(message && strstr(message, cases[c].names), "message '%s' does not name '%s'", message ? message : "(none)", cases[c].names);
    }
  }
}
END_TEST

Suite *ds_suite_bandwidth(void)
{
  Suite *s       = suite_create("bandwidth");
  TCase *rules   = tcase_create("rules");
  TCase *anneal  = tcase_create("annealing");
  TCase *refused = tcase_create("refused");

  tcase_set_timeout(rules, 120);
  tcase_add_test(rules, test_fixed_and_rate);
  tcase_add_test(rules, test_silverman_scott_from_samples);
  tcase_add_test(rules, test_silverman_scott_analytic);
  tcase_add_test(rules, test_median_of_the_drawn_pairs);
  tcase_add_test(anneal, test_annealing_schedule);
  tcase_add_test(refused, test_min_above_h0_refused);
  tcase_add_test(refused, test_too_few_points_refused);
  suite_add_tcase(s, rules);
  suite_add_tcase(s, anneal);
  suite_add_tcase(s, refused);
  return s;
}
