/* The ecf diagnostics (ds_ecf.h; SCIENCE.md, "Spectral view") against a direct computation
   written here from the contract: every rank gathers all N particles (and the M samples),
   regenerates the directions from Random123's Philox4x32-10 and Box-Muller as ds_rng.h and
   ds_ecf.h state them (not through ds_rng_normals), and sums the complex exponentials in
   long double; phi is the closed form of the mixture written here from target.c's stated
   definitions, itself checked against quadrature (d = 1) and large samples (d = 1..3).
   d = 1, 2, 3; N = 37 and 3 (not a multiple of 2, 3, 4; N < P at 4 ranks); exact phi of
   a skewed 3-component mixture and of the gaussian and gmm8 targets; sample phi from
   partitioned and replicated samples, M != N. The floor test draws clouds from the target. */
#include <math.h>
#include <string.h>
#include <Random123/philox.h>
#include "diagnostics_test.h"
#include "ds_ecf.h"
#include "ds_init.h"
#include "ds_rng.h"

#define MAXK 8   /* mixture components */
#define NSHELLS 4
static const PetscReal shells[NSHELLS] = {0.5, 1.3, 2.5, 4.0}; /* names K0.5, K1.3, K2.5, K4 */

/* A gaussian mixture sum_j w_j N(m_j, C_j) as the test writes it. */
typedef struct {
  PetscInt d, components;
  double   w[MAXK], m[MAXK][3], C[MAXK][3][3];
} RefMixture;

/* The skewed mixture: three components with means off the origin and full covariances (the
   leading d x d blocks of SPD matrices are SPD), so phi has an imaginary part and a sign
   error in the convention shows. */
static RefMixture skewed_mixture(PetscInt d)
{
  static const double w[3] = {0.5, 0.3, 0.2}, m[3][3] = {{0.7, -0.4, 0.25}, {-1.1, 0.8, -0.6}, {1.5, 1.2, -1.3}};
  static const double C[3][3][3] = {{{0.5, 0.2, 0.1}, {0.2, 0.4, -0.05}, {0.1, -0.05, 0.3}}, {{0.2, -0.1, 0}, {-0.1, 0.6, 0.15}, {0, 0.15, 0.25}}, {{1.0, 0.3, -0.2}, {0.3, 0.35, 0}, {-0.2, 0, 0.8}}};
  RefMixture          r = {d, 3, {0}, {{0}}, {{{0}}}};
  memcpy(r.w, w, sizeof(w));
  memcpy(r.m, m, sizeof(m));
  memcpy(r.C, C, sizeof(C));
  return r;
}

/* The targets with a density as target.c states them (scale s): gaussian N(0, s^2 I);
   gmm8 8 equal components N(2 s (cos 2 pi j/8, sin 2 pi j/8), (0.2 s)^2 I). */
static RefMixture target_mixture(DSTargetType type, PetscInt d, double s)
{
  RefMixture r = {d, type == DS_TARGET_GMM8 ? 8 : 1, {0}, {{0}}, {{{0}}}};
  for (PetscInt j = 0; j < r.components; j++) {
    const double std = type == DS_TARGET_GMM8 ? 0.2 * s : s;
    r.w[j]           = 1.0 / r.components;
    if (type == DS_TARGET_GMM8) {
      r.m[j][0] = 2 * s * cos(2 * M_PI * j / 8);
      r.m[j][1] = 2 * s * sin(2 * M_PI * j / 8);
    }
    for (PetscInt c = 0; c < d; c++) r.C[j][c][c] = std * std;
  }
  return r;
}

/* The program's DSMixture of a test mixture. */
static PetscErrorCode to_ds_mixture(const RefMixture *r, DSMixture **mixture)
{
  const PetscInt d = r->d;
  DSMixture     *m;

  PetscFunctionBeginUser;
  PetscCall(ds_mixture_create(d, r->components, &m));
  for (PetscInt j = 0; j < r->components; j++) {
    m->weights[j] = r->w[j];
    for (PetscInt p = 0; p < d; p++) {
      m->means[j * d + p] = r->m[j][p];
      for (PetscInt q = 0; q < d; q++) m->covariances[(j * d + p) * d + q] = r->C[j][p][q];
    }
  }
  *mixture = m;
  PetscFunctionReturn(0);
}

/* Direction l as ds_ecf.h states it: d standard normals (seed, DS_STREAM_ECF, l) by
   Box-Muller on the Philox blocks of counters 0, 1, ... (ds_rng.h: counter (index low, index
   high, stream, counter), key (seed low, seed high); uniforms (top 52 bits + 1/2) 2^-52 of
   the words out[1]:out[0] and out[3]:out[2]), then normalised. */
static void contract_direction(PetscInt seed, PetscInt l, PetscInt d, double theta[])
{
  const philox4x32_key_t key   = {{(uint32_t)(uint64_t)seed, (uint32_t)((uint64_t)seed >> 32)}};
  double                 norm2 = 0;
  for (PetscInt c = 0; c < d; c += 2) {
    const philox4x32_ctr_t ctr = {{(uint32_t)l, 0, DS_STREAM_ECF, (uint32_t)(c / 2)}};
    const philox4x32_ctr_t b   = philox4x32_R(10, ctr, key);
    const double           u0 = ((double)((((uint64_t)b.v[1] << 32) | b.v[0]) >> 12) + 0.5) * 0x1p-52, u1 = ((double)((((uint64_t)b.v[3] << 32) | b.v[2]) >> 12) + 0.5) * 0x1p-52;
    const double           radius = sqrt(-2.0 * log(u0)), angle = 2.0 * PETSC_PI * u1;
    theta[c] = radius * cos(angle);
    if (c + 1 < d) theta[c + 1] = radius * sin(angle);
  }
  for (PetscInt c = 0; c < d; c++) norm2 += theta[c] * theta[c];
  for (PetscInt c = 0; c < d; c++) theta[c] /= sqrt(norm2);
}

/* (1/n) sum_i exp(-i k . p_i) of n points [n][d], in long double: (real, imaginary). */
static void ecf_of(const double *p, PetscInt n, PetscInt d, const double k[], long double out[2])
{
  long double re = 0, im = 0;
  for (PetscInt i = 0; i < n; i++) {
    long double a = 0, sine, cosine;
    for (PetscInt c = 0; c < d; c++) a += (long double)k[c] * p[i * d + c];
    sincosl(a, &sine, &cosine);
    re += cosine;
    im -= sine;
  }
  out[0] = re / n;
  out[1] = im / n;
}

/* phi(k) = E exp(-i k . Y) = sum_j w_j exp(-i k . m_j - k^T C_j k / 2), in long double. */
static void mixture_phi(const RefMixture *r, const double k[], long double out[2])
{
  out[0] = out[1] = 0;
  for (PetscInt j = 0; j < r->components; j++) {
    long double a = 0, q = 0;
    for (PetscInt p = 0; p < r->d; p++) {
      a += (long double)k[p] * r->m[j][p];
      for (PetscInt c = 0; c < r->d; c++) q += (long double)k[p] * r->C[j][p][c] * k[c];
    }
    out[0] += r->w[j] * expl(-q / 2) * cosl(a);
    out[1] -= r->w[j] * expl(-q / 2) * sinl(a);
  }
}

/* What phi is taken from: the mixture's closed form, or the M samples Y [M][d]. */
typedef struct {
  const RefMixture *mixture;
  const double     *Y;
  PetscInt          m;
} PhiSource;

/* The contract's E(K) (values[0..S)) and F(K) (values[S..2S)) for all particles X [n][d],
   directions regenerated here. */
static void direct_ecf(PetscInt seed, PetscInt L, PetscInt d, const PetscReal K[], PetscInt S, const double *X, PetscInt n, const PhiSource *src, double values[])
{
  for (PetscInt s = 0; s < S; s++) {
    long double error = 0, variance = 0;
    for (PetscInt l = 0; l < L; l++) {
      double      theta[3], k[3];
      long double x[2], phi[2];
      contract_direction(seed, l, d, theta);
      for (PetscInt c = 0; c < d; c++) k[c] = K[s] * theta[c];
      ecf_of(X, n, d, k, x);
      if (src->mixture) mixture_phi(src->mixture, k, phi);
      else ecf_of(src->Y, src->m, d, k, phi);
      error += sqrtl((x[0] - phi[0]) * (x[0] - phi[0]) + (x[1] - phi[1]) * (x[1] - phi[1]));
      variance += 1 - (phi[0] * phi[0] + phi[1] * phi[1]);
    }
    values[s]     = (double)(error / L);
    values[S + s] = (double)sqrtl(variance / L * (1.0L / n + (src->mixture ? 0.0L : 1.0L / src->m)));
  }
}

/* An irregular cloud of n points [n][d] (shifted, scaled normals; a pure function of i). */
static double *make_cloud(PetscInt n, PetscInt d, uint64_t seed, double shift, double scale)
{
  double *x;
  PetscMalloc1(PetscMax(n * d, 1), &x);
  for (PetscInt i = 0; i < n; i++) {
    ds_rng_normals(seed, DS_STREAM_INIT, (uint64_t)i, 0, d, &x[i * d]);
    for (PetscInt c = 0; c < d; c++) x[i * d + c] = shift * (c + 1) + scale * x[i * d + c];
  }
  return x;
}

/* ds_ecf on comm (collective there only, so it may run on rank 0's own communicator) with
   the rows of X [n][d] and of the samples Y [m][d] (src) this rank holds there: its share
   (ds_split_rows) or, replicated samples, all of them. Its values, and the diagnostic
   itself in *keep when not NULL. */
static PetscErrorCode program_ecf(MPI_Comm comm, PetscInt seed, PetscInt L, PetscInt d, const double *X, PetscInt n, const PhiSource *src, PetscBool replicated, double values[], DSEcf *keep)
{
  PetscInt   nl, ns, ml = 0, ms = 0;
  DSMixture *exact = NULL;
  DSEcf      E;

  PetscFunctionBeginUser;
  PetscCall(ds_split_rows(comm, n, &nl, &ns));
  if (src->mixture) PetscCall(to_ds_mixture(src->mixture, &exact));
  else if (replicated) ml = src->m;
  else PetscCall(ds_split_rows(comm, src->m, &ml, &ms));
  PetscCall(ds_ecf_create(comm, d, NSHELLS, shells, L, seed, exact, ml, src->Y ? src->Y + ms * d : NULL, replicated, n, &E));
  PetscCall(ds_ecf_compute(E, nl, X + ns * d, values));
  PetscCall(ds_mixture_destroy(&exact));
  if (keep) *keep = E;
  else PetscCall(ds_ecf_destroy(&E));
  PetscFunctionReturn(0);
}

/* Relative difference of every value from the reference, the largest. */
static double worst_reldiff(const double *got, const double *want, PetscInt count)
{
  double worst = 0;
  for (PetscInt k = 0; k < count; k++) worst = ds_test_worst(worst, ds_test_reldiff(got[k], want[k], 0));
  return worst;
}

/* ---------------------------------------------------------------- tests */

/* The directions are the contract's bit for bit (the same expression evaluated here, so
   the same bits), unit vectors, the same on every rank, and the same on one rank (rank 0's
   own communicator) as on all: they depend on (seed, l, d) only. */
START_TEST(directions_follow_the_contract_at_every_rank_count)
{
  for (PetscInt d = 1; d <= 3; d++)
    for (PetscInt L = 5; L <= 16; L += 11) {
      const RefMixture r   = skewed_mixture(d);
      const PhiSource  src = {&r, NULL, 0};
      const double    *theta;
      double           values[2 * NSHELLS], x[3] = {0, 0, 0};
      PetscInt         got_L;
      DSEcf            E;
      int              same = 1, unit = 1;
      MPI_Comm         one;
      DS_ASSERT_PETSC(program_ecf(PETSC_COMM_WORLD, 77, L, d, x, 1, &src, PETSC_FALSE, values, &E));
      DS_ASSERT_PETSC(ds_ecf_get_directions(E, &got_L, &theta));
      for (PetscInt l = 0; l < L; l++) {
        double want[3], norm2 = 0;
        contract_direction(77, l, d, want);
        same = same && !memcmp(want, &theta[l * d], d * sizeof(double));
        for (PetscInt c = 0; c < d; c++) norm2 += theta[l * d + c] * theta[l * d + c];
        unit = unit && fabs(norm2 - 1) < 4e-16;
      }
      DS_ASSERT_ALL(got_L == L && same && unit, "d %d L %d: %d directions, bitwise the contract's %d, unit %d", (int)d, (int)L, (int)got_L, same, unit);
      DS_ASSERT_ALL(identical_on_all_ranks(theta, L * d), "d %d L %d: the directions differ between ranks", (int)d, (int)L);
      MPI_Comm_split(PETSC_COMM_WORLD, PetscGlobalRank == 0 ? 0 : MPI_UNDEFINED, 0, &one);
      if (one != MPI_COMM_NULL) {
        const double *alone;
        DSEcf         E1 = NULL;
        same = !program_ecf(one, 77, L, d, x, 1, &src, PETSC_FALSE, values, &E1) && !ds_ecf_get_directions(E1, &got_L, &alone) && !memcmp(alone, theta, L * d * sizeof(double));
        ds_ecf_destroy(&E1);
        MPI_Comm_free(&one);
      }
      DS_ASSERT_ALL(same, "d %d L %d: the directions at one rank differ from those at all", (int)d, (int)L);
      ds_ecf_destroy(&E);
    }
}
END_TEST

/* ds_ecf_compute against the direct computation, relative 1e-12 (E and F), and identical
   on every rank: d = 1..3, N = 37 and 3, L = 16 and 5, exact phi of the skewed mixture,
   sample phi of M = 23 (N = 37) or 5 (N = 3) samples partitioned and replicated. Then the
   same on rank 0 alone (MPI_Comm_split) against all ranks, relative 1e-12: across rank
   counts the global sums add the same terms in another order, so the values cannot be
   bitwise equal, only equal to rounding. */
START_TEST(ecf_matches_direct_computation_and_one_rank)
{
  static const PetscInt sizes_nm[2][2] = {{37, 23}, {3, 5}};
  for (PetscInt d = 1; d <= 3; d++)
    for (int s = 0; s < 2; s++)
      for (PetscInt L = 5; L <= 16; L += 11)
        for (int mode = 0; mode < 3; mode++) { /* exact, partitioned samples, replicated samples */
          const PetscInt   n = sizes_nm[s][0], m = sizes_nm[s][1];
          const RefMixture r = skewed_mixture(d);
          double          *X = make_cloud(n, d, 5, 0.3, 1.2), *Y = make_cloud(m, d, 6, -0.2, 0.9);
          const PhiSource  src = {mode ? NULL : &r, Y, m};
          double           got[2 * NSHELLS], want[2 * NSHELLS], alone[2 * NSHELLS];
          MPI_Comm         one;
          int              agree = 1;
          DS_ASSERT_PETSC(program_ecf(PETSC_COMM_WORLD, 19, L, d, X, n, &src, (PetscBool)(mode == 2), got, NULL));
          direct_ecf(19, L, d, shells, NSHELLS, X, n, &src, want);
          const double worst = worst_reldiff(got, want, 2 * NSHELLS);
          DS_ASSERT_ALL(worst < 1e-12, "d %d N %d M %d L %d mode %d: E and F differ from the direct computation by %g (E(K4) %.17g, direct %.17g)", (int)d, (int)n, (int)m, (int)L, mode, worst, got[3], want[3]);
          DS_ASSERT_ALL(identical_on_all_ranks(got, 2 * NSHELLS), "d %d N %d mode %d: values differ between ranks", (int)d, (int)n, mode);
          MPI_Comm_split(PETSC_COMM_WORLD, PetscGlobalRank == 0 ? 0 : MPI_UNDEFINED, 0, &one);
          if (one != MPI_COMM_NULL) {
            agree = !program_ecf(one, 19, L, d, X, n, &src, (PetscBool)(mode == 2), alone, NULL) && worst_reldiff(alone, got, 2 * NSHELLS) < 1e-12;
            MPI_Comm_free(&one);
          }
          DS_ASSERT_ALL(agree, "d %d N %d M %d L %d mode %d: one rank and all ranks differ by more than 1e-12", (int)d, (int)n, (int)m, (int)L, mode);
          PetscFree(X);
          PetscFree(Y);
        }
}
END_TEST

/* The diagnostics' shells (of a run with them, through ds_diagnostics) under their names,
   after the fixed diagnostics, whose names and values are those of the same run without
   shells, bit for bit; each value against the direct computation (relative 1e-12) at the
   particles and at the particles scaled by 0.8 (the sums start again). Exact phi for the
   analytic gaussian (d = 1..3) and gmm8 targets, the samples' phi for sampled targets
   (partitioned and replicated, with and without a mixture), N = 37 and 3. */
START_TEST(diagnostics_list_and_compute_the_shells)
{
  static const struct {
    DSTargetType target;
    PetscInt     dim;
    int          analytic, replicate;
  } cases[] = {
    {DS_TARGET_GAUSSIAN, 1, 1, 0}, {DS_TARGET_GAUSSIAN, 2, 1, 0}, {DS_TARGET_GAUSSIAN, 3, 1, 0}, {DS_TARGET_GMM8, 2, 1, 0},      {DS_TARGET_GAUSSIAN, 1, 0, 0},
    {DS_TARGET_GAUSSIAN, 3, 0, 1}, {DS_TARGET_GMM8, 2, 0, 0},     {DS_TARGET_GMM8, 2, 0, 1},     {DS_TARGET_CHECKERBOARD, 2, 0, 0},
  };
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
    for (int s = 0; s < NSIZES; s++) {
      const PetscInt d = cases[c].dim, n = sizes[s][0];
      DSOptions      o = make_options(cases[c].target, cases[c].analytic ? 0 : sizes[s][1], (PetscBool)cases[c].replicate, n, d, DS_KERNEL_GAUSSIAN, 0.5);
      Run            with, without;
      double         values[DS_MAX_STATE_DIAGNOSTICS], plain[DS_MAX_STATE_DIAGNOSTICS];
      char           cfg[128];
      snprintf(cfg, sizeof(cfg), "target %s d %d analytic %d replicate %d N %d", DSTargetTypes[o.target], (int)d, cases[c].analytic, cases[c].replicate, (int)n);
      run_setup(&without, o);
      run_diagnostics(&without);
      o.necf_shells = NSHELLS;
      memcpy(o.ecf_shells, shells, sizeof(shells));
      run_setup(&with, o);
      run_diagnostics(&with);
      int listed = with.count == without.count + 2 * NSHELLS;
      for (PetscInt k = 0; listed && k < with.count; k++) {
        char want[64];
        if (k < without.count) snprintf(want, sizeof(want), "%s", without.names[k]);
        else snprintf(want, sizeof(want), "ecf_%s_K%g", k - without.count < NSHELLS ? "error" : "floor", (double)shells[(k - without.count) % NSHELLS]);
        listed = !strcmp(with.names[k], want);
      }
      DS_ASSERT_ALL(listed, "%s: %d names with shells, %d without; the shells' are not ecf_error_K<K> then ecf_floor_K<K> after the others", cfg, (int)with.count, (int)without.count);
      for (int pass = 0; pass < 2; pass++) {
        double *X = NULL, *Y = NULL, want[2 * NSHELLS], worst = 0;
        int     found = 1;
        if (pass) {
          VecScale(with.X, 0.8);
          VecScale(without.X, 0.8);
        }
        DS_ASSERT_PETSC(ds_diagnostics_compute(with.diag, with.X, o.bandwidth, values));
        DS_ASSERT_PETSC(ds_diagnostics_compute(without.diag, without.X, o.bandwidth, plain));
        DS_ASSERT_ALL(!memcmp(values, plain, without.count * sizeof(double)), "%s pass %d: the shells change the other diagnostics' values", cfg, pass);
        X                    = ds_test_gather_vec(with.X);
        const RefMixture ref = target_mixture(o.target, d, o.target_scale);
        if (!cases[c].analytic) Y = ds_test_gather_samples(with.target);
        const PhiSource src = {cases[c].analytic ? &ref : NULL, Y, with.target->samples_global};
        direct_ecf(o.seed, o.ecf_directions, d, shells, NSHELLS, X, n, &src, want);
        for (PetscInt k = 0; k < 2 * NSHELLS; k++) {
          char name[64];
          int  here;
          snprintf(name, sizeof(name), "ecf_%s_K%g", k < NSHELLS ? "error" : "floor", (double)shells[k % NSHELLS]);
          const double got = value_of(&with, values, name, &here);
          found = found && here;
          worst = ds_test_worst(worst, ds_test_reldiff(got, want[k], 0));
        }
        DS_ASSERT_ALL(found && worst < 1e-12, "%s pass %d: the shells' values differ from the direct computation by %g", cfg, pass, worst);
        DS_ASSERT_ALL(identical_on_all_ranks(values, with.count), "%s pass %d: values differ between ranks", cfg, pass);
        PetscFree(X);
        PetscFree(Y);
      }
      run_teardown(&with);
      run_teardown(&without);
    }
}
END_TEST

/* The closed form phi(k) of the direct computation against integrals of the density:
   - d = 1, skewed mixture: the trapezoid rule on [-14, 14], step 1/256 (spectrally
     accurate for a smooth integrand decaying like exp(-x^2/2.4)), to 1e-12, and ds_ecf's E
     for one particle at x0 = 0.37, mean_l |exp(-i k_l x0) - phi(k_l)| with the quadrature's
     phi, to 1e-12 (links the program's phi to the integral without the closed form);
   - d = 1..3: the ECF of M = 10000 draws (the targets' own sampler ds_target_draw, another
     seed; for the skewed mixture a sampler written here) within 6 standard errors
     sqrt((1 - |phi|^2) / M) of the closed form, at every shell and direction. */
START_TEST(closed_form_matches_quadrature_and_large_samples)
{
  const RefMixture r1 = skewed_mixture(1);
  const double     x0 = 0.37, step = 1.0 / 256;
  double           values[2 * NSHELLS], worst = 0, want[NSHELLS] = {0};
  for (PetscInt s = 0; s < NSHELLS; s++)
    for (PetscInt l = 0; l < 16; l++) {
      double      theta, k;
      long double quad[2] = {0, 0}, closed[2];
      contract_direction(3, l, 1, &theta);
      k = shells[s] * theta;
      for (double x = -14; x <= 14; x += step) {
        long double density = 0;
        for (PetscInt j = 0; j < r1.components; j++) density += r1.w[j] * expl(-(x - r1.m[j][0]) * (x - r1.m[j][0]) / (2 * r1.C[j][0][0])) / sqrtl(2 * M_PI * r1.C[j][0][0]);
        quad[0] += step * density * cosl(k * x);
        quad[1] -= step * density * sinl(k * x);
      }
      mixture_phi(&r1, &k, closed);
      worst = ds_test_worst(worst, (double)hypotl(quad[0] - closed[0], quad[1] - closed[1]));
      want[s] += (double)hypotl(cosl(k * x0) - quad[0], -sinl(k * x0) - quad[1]) / 16;
    }
  DS_ASSERT_ALL(worst < 1e-12, "d = 1: the closed form and the quadrature differ by %g", worst);
  const PhiSource src = {&r1, NULL, 0};
  DS_ASSERT_PETSC(program_ecf(PETSC_COMM_WORLD, 3, 16, 1, &x0, 1, &src, PETSC_FALSE, values, NULL));
  DS_ASSERT_ALL(worst_reldiff(values, want, NSHELLS) < 1e-12, "d = 1: E of one particle against the quadrature's phi: relative %g", worst_reldiff(values, want, NSHELLS));

  static const struct {
    DSTargetType target;
    PetscInt     dim;
    int          skewed; /* the skewed mixture and the sampler written here, not the target */
  } cases[] = {{DS_TARGET_GAUSSIAN, 1, 0}, {DS_TARGET_GAUSSIAN, 2, 0}, {DS_TARGET_GAUSSIAN, 3, 0}, {DS_TARGET_GMM8, 2, 0}, {DS_TARGET_GAUSSIAN, 2, 1}, {DS_TARGET_GAUSSIAN, 3, 1}};
  const PetscInt M = 10000;
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    const PetscInt   d   = cases[c].dim;
    const RefMixture ref = cases[c].skewed ? skewed_mixture(d) : target_mixture(cases[c].target, d, 1.3);
    double          *Y, excess = 0;
    PetscMalloc1(M * d, &Y);
    for (PetscInt i = 0; i < M; i++) {
      if (!cases[c].skewed) ds_target_draw(cases[c].target, 1.3, d, 99, DS_STREAM_TARGET, i, &Y[i * d]);
      else { /* component j with probability w_j, then m_j + chol(C_j) z */
        double   u, z[3], cumulative = 0, chol[3][3] = {{0}};
        PetscInt j = 0;
        ds_rng_uniforms(99, DS_STREAM_TARGET, (uint64_t)i, 0, 1, &u);
        while (j < ref.components - 1 && u > (cumulative += ref.w[j])) j++;
        for (PetscInt p = 0; p < d; p++)
          for (PetscInt q = 0; q <= p; q++) {
            double sum = ref.C[j][p][q];
            for (PetscInt t = 0; t < q; t++) sum -= chol[p][t] * chol[q][t];
            chol[p][q] = p == q ? sqrt(sum) : sum / chol[q][q];
          }
        ds_rng_normals(99, DS_STREAM_TARGET, (uint64_t)i, 1, d, z);
        for (PetscInt p = 0; p < d; p++) {
          Y[i * d + p] = ref.m[j][p];
          for (PetscInt q = 0; q <= p; q++) Y[i * d + p] += chol[p][q] * z[q];
        }
      }
    }
    for (PetscInt s = 0; s < NSHELLS; s++)
      for (PetscInt l = 0; l < 16; l++) {
        double      theta[3], k[3];
        long double sample[2], closed[2];
        contract_direction(3, l, d, theta);
        for (PetscInt p = 0; p < d; p++) k[p] = shells[s] * theta[p];
        ecf_of(Y, M, d, k, sample);
        mixture_phi(&ref, k, closed);
        const double standard_error = sqrt((double)(1 - closed[0] * closed[0] - closed[1] * closed[1]) / M);
        excess                      = ds_test_worst(excess, (double)hypotl(sample[0] - closed[0], sample[1] - closed[1]) / (standard_error + 1e-15));
      }
    DS_ASSERT_ALL(excess < 6, "case %d (d %d): a sample ECF is %.2f standard errors from the closed form", (int)c, (int)d, excess);
    PetscFree(Y);
  }
}
END_TEST

/* A cloud drawn from the target (its own sampler, another seed) sits at the floor: per
   direction, (1/N) sum exp(-i k . x) - phi(k) is nearly a complex gaussian Z of E|Z|^2 =
   (1 - |phi|^2) (1/N + 1/M) (1/M = 0 for the exact phi), and F is the root mean of these
   over the directions, so E / F is near E|Z| / sqrt(E|Z|^2): sqrt(pi)/2 = 0.886 when Z is
   circular (its modulus Rayleigh), sqrt(2/pi) = 0.80 when one of its parts carries the
   variance. One draw is too few for a fixed bound: in d = 1 the directions are +-1, whose
   terms are conjugate, so E is a single |Z|, below F/3 with probability 10% (circular) to
   26% (one part); in d = 2 at small K, Z ~ -i k . (mean error), E / F ~ 0.64 sqrt(chi^2_2),
   below 1/3 with probability 13%. The ratio is therefore averaged over DRAWS independent
   draws (each a new cloud of N = 4096 and, for a sampled target, a new sample set and
   directions: -drift_seed changes), and must lie in [1/3, 3] at every shell (a mean of 16
   half-normal ratios falls below 1/3 with probability ~1e-4). With M = 200 < N the 1/M
   term dominates: a floor without it would put the ratio near 0.85 sqrt(1 + N/M) = 3.9. */
#define DRAWS 16
START_TEST(cloud_from_the_target_sits_at_the_floor)
{
  static const struct {
    DSTargetType target;
    PetscInt     dim, samples;
    int          replicate;
  } cases[] = {
    {DS_TARGET_GAUSSIAN, 1, 0, 0}, {DS_TARGET_GAUSSIAN, 2, 0, 0},   {DS_TARGET_GAUSSIAN, 3, 0, 0},
    {DS_TARGET_GMM8, 2, 0, 0},     {DS_TARGET_GAUSSIAN, 1, 200, 0}, {DS_TARGET_GMM8, 2, 200, 1},
  };
  const PetscInt N = 4096;
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    const PetscInt d     = cases[c].dim;
    double         ratio[NSHELLS] = {0}, *rows;
    int            ok = 1;
    char           text[512] = "";
    PetscMalloc1(N * d, &rows);
    for (int draw = 0; draw < DRAWS; draw++) {
      DSOptions o = make_options(cases[c].target, cases[c].samples, (PetscBool)cases[c].replicate, N, d, DS_KERNEL_GAUSSIAN, 0.5);
      Run       r;
      double    values[DS_MAX_STATE_DIAGNOSTICS];
      o.seed        = 11 + draw;
      o.diagnostics = DS_DIAGNOSTIC_ECF;
      o.necf_shells = NSHELLS;
      memcpy(o.ecf_shells, shells, sizeof(shells));
      run_setup(&r, o);
      for (PetscInt i = 0; i < N; i++) ds_target_draw(o.target, o.target_scale, d, 1000 + draw, DS_STREAM_TARGET, i, &rows[i * d]);
      set_particles(r.X, rows);
      run_diagnostics(&r);
      DS_ASSERT_PETSC(ds_diagnostics_compute(r.diag, r.X, o.bandwidth, values));
      for (PetscInt s = 0; s < NSHELLS; s++) ratio[s] += values[s] / values[NSHELLS + s] / DRAWS; /* the names are the shells' alone: errors, then floors */
      run_teardown(&r);
    }
    for (PetscInt s = 0; s < NSHELLS; s++) {
      ok = ok && ratio[s] >= 1.0 / 3 && ratio[s] <= 3;
      snprintf(text + strlen(text), sizeof(text) - strlen(text), " K %g: %.3f;", (double)shells[s], ratio[s]);
    }
    DS_ASSERT_ALL(ok, "target %s d %d M %d: mean E / F outside [1/3, 3]:%s", DSTargetTypes[cases[c].target], (int)d, (int)cases[c].samples, text);
    PetscFree(rows);
  }
}
END_TEST

Suite *ds_suite_ecf(void)
{
  Suite *s  = suite_create("ecf");
  TCase *tc = tcase_create("ecf");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, directions_follow_the_contract_at_every_rank_count);
  tcase_add_test(tc, ecf_matches_direct_computation_and_one_rank);
  tcase_add_test(tc, diagnostics_list_and_compute_the_shells);
  tcase_add_test(tc, closed_form_matches_quadrature_and_large_samples);
  tcase_add_test(tc, cloud_from_the_target_sits_at_the_floor);
  suite_add_tcase(s, tc);
  return s;
}
