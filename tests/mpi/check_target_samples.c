/* Tests of the targets' sample sets: rank-count independence, partition, moments and
   shapes. Part of the target suite (check_target.c adds this test case). */
#include <math.h>
#include <string.h>
#include "target_test.h"

#define SIGMAS 5.0 /* a statistic passes within this many standard errors */

/* Gathers the partitioned samples of t on every rank (rows in global order). */
static PetscErrorCode gather_samples(const DSTarget *t, PetscReal *all)
{
  PetscMPIInt size, mine = (PetscMPIInt)(t->samples_local * t->dim), start = (PetscMPIInt)(t->samples_start * t->dim);
  PetscMPIInt *counts, *starts;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(PetscMalloc2(size, &counts, size, &starts));
  PetscCallMPI(MPI_Allgather(&mine, 1, MPI_INT, counts, 1, MPI_INT, PETSC_COMM_WORLD));
  PetscCallMPI(MPI_Allgather(&start, 1, MPI_INT, starts, 1, MPI_INT, PETSC_COMM_WORLD));
  PetscCallMPI(MPI_Allgatherv(t->samples, mine, MPIU_REAL, all, counts, starts, MPIU_REAL, PETSC_COMM_WORLD));
  PetscCall(PetscFree2(counts, starts));
  PetscFunctionReturn(0);
}

#define SAMPLE_COUNT 29
/* M = 29 samples of every target: the partition is PETSc's (rank r holds M/P + (r < M % P)
   rows from r (M/P) + min(r, M % P)); gathered, they equal bit for bit the samples built on
   PETSC_COMM_SELF, as do the replicated ones; each row is ds_target_draw of its index. */
START_TEST(test_samples_bit_identical_partitioned_and_replicated)
{
  const PetscInt     M = SAMPLE_COUNT;
  const DSTargetType types[] = {DS_TARGET_GAUSSIAN, DS_TARGET_GMM8, DS_TARGET_CHECKERBOARD, DS_TARGET_SWISSROLL, DS_TARGET_MOONS, DS_TARGET_RINGS};
  const PetscInt     P = PetscGlobalSize, r = PetscGlobalRank;

  for (size_t c = 0; c < sizeof(types) / sizeof(types[0]); c++) {
    const PetscInt  d           = types[c] == DS_TARGET_GAUSSIAN ? 3 : 2;
    const DSOptions partitioned = target_options(types[c], d, M, 1.7, PETSC_FALSE);
    const DSOptions replicated  = target_options(types[c], d, M, 1.7, PETSC_TRUE);
    DSTarget       *part = NULL, *repl = NULL, *serial = NULL;
    PetscReal       gathered[SAMPLE_COUNT * 3], drawn[SAMPLE_COUNT * 3];

    DS_ASSERT_PETSC(ds_target_create(PETSC_COMM_WORLD, &partitioned, &part));
    DS_ASSERT_PETSC(ds_target_create(PETSC_COMM_WORLD, &replicated, &repl));
    DS_ASSERT_PETSC(ds_target_create(PETSC_COMM_SELF, &partitioned, &serial));
    DS_ASSERT_ALL(part->samples_local == M / P + (r < M % P) && part->samples_start == r * (M / P) + PetscMin(r, M % P) && !part->replicated,
                  "%s: rank holds rows [%d, +%d), expected PETSc's split", DSTargetTypes[types[c]], (int)part->samples_start, (int)part->samples_local);
    DS_ASSERT_ALL(repl->samples_local == M && repl->samples_start == 0 && repl->replicated, "%s: replicated target holds %d rows", DSTargetTypes[types[c]], (int)repl->samples_local);
    DS_ASSERT_PETSC(gather_samples(part, gathered));
    for (PetscInt i = 0; i < M; i++) DS_ASSERT_PETSC(ds_target_draw(types[c], 1.7, d, 4242, DS_STREAM_TARGET, i, &drawn[i * d]));
    DS_ASSERT_ALL(!memcmp(gathered, serial->samples, sizeof(PetscReal) * M * d), "%s: partitioned samples differ from the serial ones", DSTargetTypes[types[c]]);
    DS_ASSERT_ALL(!memcmp(repl->samples, serial->samples, sizeof(PetscReal) * M * d), "%s: replicated samples differ from the serial ones", DSTargetTypes[types[c]]);
    DS_ASSERT_ALL(!memcmp(drawn, serial->samples, sizeof(PetscReal) * M * d), "%s: a sample is not ds_target_draw of its index", DSTargetTypes[types[c]]);
    DS_ASSERT_PETSC(ds_target_destroy(&part));
    DS_ASSERT_PETSC(ds_target_destroy(&repl));
    DS_ASSERT_PETSC(ds_target_destroy(&serial));
  }
}
END_TEST

/* Accumulators of the sample-shape tests, summed over ranks. */
#define STAT_SLOTS 16
typedef struct {
  double sum[STAT_SLOTS];   /* per-slot sums of a statistic */
  double count[STAT_SLOTS]; /* per-slot counts */
  double violations;        /* samples outside their documented set */
} SampleStats;

/* Draws M = 8000 samples of a target partitioned on PETSC_COMM_WORLD and lets `visit`
   accumulate statistics of each (global index, point / scale); sums them over ranks. */
static PetscErrorCode sample_statistics(DSTargetType type, PetscInt d, PetscReal scale, void (*visit)(PetscInt, const PetscReal *, SampleStats *), SampleStats *global)
{
  const DSOptions o = target_options(type, d, 8000, scale, PETSC_FALSE);
  DSTarget       *t = NULL;
  SampleStats     local;
  PetscReal       y[3];

  PetscFunctionBeginUser;
  memset(&local, 0, sizeof(local));
  PetscCall(ds_target_create(PETSC_COMM_WORLD, &o, &t));
  for (PetscInt i = 0; i < t->samples_local; i++) {
    for (PetscInt j = 0; j < d; j++) y[j] = t->samples[i * d + j] / scale;
    visit(t->samples_start + i, y, &local);
  }
  PetscCall(ds_target_destroy(&t));
  PetscCallMPI(MPI_Allreduce(&local, global, sizeof(SampleStats) / sizeof(double), MPI_DOUBLE, MPI_SUM, PETSC_COMM_WORLD));
  PetscFunctionReturn(0);
}

/* Slot s: sum of x. */
static void add(SampleStats *st, int slot, double x)
{
  st->sum[slot] += x;
  st->count[slot] += 1.0;
}

static double average(const SampleStats *st, int slot)
{
  return st->sum[slot] / st->count[slot];
}

/* gaussian (d = 3, unit scale): slots 0-2 coordinates, 3-5 their squares. */
static void visit_gaussian(PetscInt index, const PetscReal *y, SampleStats *st)
{
  (void)index;
  for (int j = 0; j < 3; j++) {
    add(st, j, y[j]);
    add(st, 3 + j, y[j] * y[j]);
  }
}

/* gmm8: slots 0-1 coordinates, 2 radius, 3 squared distance to the nearest mode, 8-15 counts
   of the nearest mode. */
static void visit_gmm8(PetscInt index, const PetscReal *y, SampleStats *st)
{
  const int    nearest = ((int)floor(atan2(y[1], y[0]) / (PETSC_PI / 4.0) + 0.5) + 8) % 8;
  const double mode[2] = {2.0 * cos(nearest * PETSC_PI / 4.0), 2.0 * sin(nearest * PETSC_PI / 4.0)};

  (void)index;
  add(st, 0, y[0]);
  add(st, 1, y[1]);
  add(st, 2, hypot(y[0], y[1]));
  add(st, 3, PetscSqr(y[0] - mode[0]) + PetscSqr(y[1] - mode[1]));
  st->sum[8 + nearest] += 1.0;
}

/* checkerboard: slots 0-15 the cells of side 2 of [-4, 4]^2; violations outside the square or
   in a cell with odd floor(y1 / 2) + floor(y2 / 2). */
static void visit_checkerboard(PetscInt index, const PetscReal *y, SampleStats *st)
{
  const int column = (int)floor(y[0] / 2.0), row = (int)floor(y[1] / 2.0);

  (void)index;
  if (!(fabs(y[0]) < 4.0 && fabs(y[1]) < 4.0) || (column + row) % 2) st->violations += 1.0;
  else st->sum[(column + 2) * 4 + row + 2] += 1.0;
}

/* swissroll: slot 0 radius; slot 1 the squared distance from y to the nearest point of the
   curve (t cos t, t sin t) / 5, t in [1.5 pi, 4.5 pi], among those on the ray through y
   (t = angle of y + 2 pi k) and the two ends; violations outside radius
   [1.5 pi/5 - 0.7, 4.5 pi/5 + 0.7] (the noise-free band widened by 7 noise std). */
static void visit_swissroll(PetscInt index, const PetscReal *y, SampleStats *st)
{
  const double radius = hypot(y[0], y[1]), angle = atan2(y[1], y[0]);
  double       nearest = PETSC_MAX_REAL;

  (void)index;
  for (int k = 0; k < 4; k++) {
    const double t = PetscMin(PetscMax(angle + 2.0 * PETSC_PI * k, 1.5 * PETSC_PI), 4.5 * PETSC_PI);

    nearest = PetscMin(nearest, PetscSqr(y[0] - t * cos(t) / 5.0) + PetscSqr(y[1] - t * sin(t) / 5.0));
  }
  add(st, 0, radius);
  add(st, 1, nearest);
  if (radius < 1.5 * PETSC_PI / 5.0 - 0.7 || radius > 4.5 * PETSC_PI / 5.0 + 0.7) st->violations += 1.0;
}

/* moons: even indices on the circle of radius 2 about (-1, -0.2) above its centre, odd ones on
   the circle about (1, 0.8) below it (noise std 0.2). Slots 0/1 distance to the centre, 2/3 the
   height above (upper) or below (lower) the centre, 4/5 the squared deviation of the distance
   from 2; violations outside the noise-free box
   [-3, 3] x [-1.2, 1.8] widened by 7 noise std. */
static void visit_moons(PetscInt index, const PetscReal *y, SampleStats *st)
{
  const int    upper     = index % 2 == 0;
  const double centre[2] = {upper ? -1.0 : 1.0, upper ? -0.2 : 0.8};

  const double distance  = hypot(y[0] - centre[0], y[1] - centre[1]);

  add(st, upper ? 0 : 1, distance);
  add(st, upper ? 2 : 3, upper ? y[1] - centre[1] : centre[1] - y[1]);
  add(st, upper ? 4 : 5, PetscSqr(distance - 2.0));
  if (fabs(y[0]) > 3.0 + 1.4 || y[1] < -1.2 - 1.4 || y[1] > 1.8 + 1.4) st->violations += 1.0;
}

/* rings: slot j the radius of ring j = index mod 4 (radius (j + 1)/2, noise std 0.05), slot
   4 + j its squared deviation from (j + 1)/2; violations beyond radius 2 + 7 noise std. */
static void visit_rings(PetscInt index, const PetscReal *y, SampleStats *st)
{
  const int    ring   = (int)(index % 4);
  const double radius = hypot(y[0], y[1]);

  add(st, ring, radius);
  add(st, 4 + ring, PetscSqr(radius - (ring + 1) / 2.0));
  if (radius > 2.0 + 0.35) st->violations += 1.0;
}

/* Mean radius of a point at radius R plus isotropic 2-D noise n of std sigma << R:
   |R e + n| = R + n_r + n_t^2 / (2 R) + ..., so E|R e + n| = R + sigma^2 / (2 R) + O(sigma^4 / R^3). */
static double noisy_radius(double R, double sigma)
{
  return R + sigma * sigma / (2.0 * R);
}

/* Mean squared radial deviation, from the same expansion:
   E(|R e + n| - R)^2 = sigma^2 + 3 sigma^4 / (4 R^2) + O(sigma^6 / R^4); its standard deviation
   is about sqrt(2) sigma^2 (that of sigma^2 chi^2_1). */
static double noisy_radial_variance(double R, double sigma)
{
  return sigma * sigma * (1.0 + 3.0 * sigma * sigma / (4.0 * R * R));
}

/* Sample moments and shapes of every target at 8000 samples, in units of scale; each
   statistic within 5 standard errors of its value under the documented definition. */
START_TEST(test_sample_moments_and_shapes)
{
  const double M = 8000.0, s = 1.7;
  SampleStats  st;

  DS_ASSERT_PETSC(sample_statistics(DS_TARGET_GAUSSIAN, 3, s, visit_gaussian, &st));
  for (int j = 0; j < 3; j++) {
    DS_ASSERT_ALL(fabs(average(&st, j)) < SIGMAS / sqrt(M), "gaussian mean[%d] = %g", j, average(&st, j));
    DS_ASSERT_ALL(fabs(average(&st, 3 + j) - 1.0) < SIGMAS * sqrt(2.0 / M), "gaussian E y_%d^2 / s^2 = %g", j, average(&st, 3 + j));
  }

  DS_ASSERT_PETSC(sample_statistics(DS_TARGET_GMM8, 2, s, visit_gmm8, &st));
  /* per-coordinate variance R^2/2 + sigma^2 = 2.04; radius std ~ sigma = 0.2; squared distance to
     the mode sigma^2 chi^2_2, mean 2 sigma^2 = 0.08 and std 0.08; mode counts binomial(M, 1/8) */
  for (int j = 0; j < 2; j++) DS_ASSERT_ALL(fabs(average(&st, j)) < SIGMAS * sqrt(2.04 / M), "gmm8 mean[%d] = %g", j, average(&st, j));
  DS_ASSERT_ALL(fabs(average(&st, 2) - noisy_radius(2.0, 0.2)) < SIGMAS * 0.2 / sqrt(M), "gmm8 mean radius %g, expected %g", average(&st, 2), noisy_radius(2.0, 0.2));
  DS_ASSERT_ALL(fabs(average(&st, 3) - 0.08) < SIGMAS * 0.08 / sqrt(M), "gmm8 mean squared distance to the nearest mode %g, expected 2 (0.2)^2", average(&st, 3));
  for (int k = 0; k < 8; k++) DS_ASSERT_ALL(fabs(st.sum[8 + k] - M / 8.0) < SIGMAS * sqrt(M / 8.0 * 7.0 / 8.0), "gmm8 mode %d holds %g samples of %g", k, st.sum[8 + k], M);

  DS_ASSERT_PETSC(sample_statistics(DS_TARGET_CHECKERBOARD, 2, s, visit_checkerboard, &st));
  DS_ASSERT_ALL(st.violations == 0.0, "%g checkerboard samples outside the 8 dark cells of [-4s, 4s]^2", st.violations);
  for (int cell = 0; cell < 16; cell++) {
    const int dark = (cell / 4 + cell % 4) % 2 == 0;

    DS_ASSERT_ALL(fabs(st.sum[cell] - (dark ? M / 8.0 : 0.0)) <= SIGMAS * sqrt(M / 8.0 * 7.0 / 8.0), "checkerboard cell %d holds %g samples", cell, st.sum[cell]);
  }

  /* noise-free radius t / 5 uniform on [a, b] = [0.3 pi, 0.9 pi]: mean (a + b)/2, std (b - a)/sqrt(12),
     noise bias sigma^2/2 E[1/r] = 0.005 ln(b/a) / (b - a). The curve meets the ray through a point
     at pitch angle psi, tan psi = 1/t, so the radial distance of the noisy point to the curve is
     n_normal / cos psi and its mean square 0.01 (1 + E[1/t^2]), E[1/t^2] = (1/5a - 1/5b) / (5b - 5a);
     its standard deviation is about sqrt(2) 0.01. */
  {
    const double a = 0.3 * PETSC_PI, b = 0.9 * PETSC_PI, expected = (a + b) / 2.0 + 0.005 * log(b / a) / (b - a);
    const double offcurve = 0.01 * (1.0 + (1.0 / (5.0 * a) - 1.0 / (5.0 * b)) / (5.0 * (b - a)));

    DS_ASSERT_PETSC(sample_statistics(DS_TARGET_SWISSROLL, 2, s, visit_swissroll, &st));
    DS_ASSERT_ALL(st.violations == 0.0, "%g swissroll samples outside their radius band", st.violations);
    DS_ASSERT_ALL(fabs(average(&st, 0) - expected) < SIGMAS * sqrt(PetscSqr(b - a) / 12.0 + 0.01) / sqrt(M), "swissroll mean radius %g, expected %g", average(&st, 0), expected);
    DS_ASSERT_ALL(fabs(average(&st, 1) - offcurve) < SIGMAS * sqrt(2.0) * 0.01 / sqrt(M), "swissroll mean squared distance to the spiral %g, expected %g", average(&st, 1), offcurve);
  }

  /* each moon: M/2 samples at distance 2 from its centre (noise 0.2), height 2 sin(a) with
     mean 4/pi and std 2 sqrt(1/2 - 4/pi^2) */
  DS_ASSERT_PETSC(sample_statistics(DS_TARGET_MOONS, 2, s, visit_moons, &st));
  DS_ASSERT_ALL(st.violations == 0.0, "%g moons samples outside their box", st.violations);
  for (int m = 0; m < 2; m++) {
    const double height_std = sqrt(4.0 * (0.5 - 4.0 / PetscSqr(PETSC_PI)) + 0.04);

    DS_ASSERT_ALL(fabs(average(&st, m) - noisy_radius(2.0, 0.2)) < SIGMAS * 0.2 / sqrt(M / 2.0), "moon %d: mean distance to its centre %g, expected %g", m, average(&st, m), noisy_radius(2.0, 0.2));
    DS_ASSERT_ALL(fabs(average(&st, 2 + m) - 4.0 / PETSC_PI) < SIGMAS * height_std / sqrt(M / 2.0), "moon %d: mean height %g, expected 4/pi", m, average(&st, 2 + m));
    DS_ASSERT_ALL(fabs(average(&st, 4 + m) - noisy_radial_variance(2.0, 0.2)) < SIGMAS * sqrt(2.0) * 0.04 / sqrt(M / 2.0), "moon %d: radial noise variance %g, expected %g", m, average(&st, 4 + m), noisy_radial_variance(2.0, 0.2));
  }

  DS_ASSERT_PETSC(sample_statistics(DS_TARGET_RINGS, 2, s, visit_rings, &st));
  DS_ASSERT_ALL(st.violations == 0.0, "%g rings samples beyond the outer ring", st.violations);
  for (int j = 0; j < 4; j++) {
    const double R = (j + 1) / 2.0;

    DS_ASSERT_ALL(fabs(average(&st, j) - noisy_radius(R, 0.05)) < SIGMAS * 0.05 / sqrt(M / 4.0), "ring %d: mean radius %g, expected %g", j, average(&st, j), noisy_radius(R, 0.05));
    DS_ASSERT_ALL(fabs(average(&st, 4 + j) - noisy_radial_variance(R, 0.05)) < SIGMAS * sqrt(2.0) * 0.0025 / sqrt(M / 4.0), "ring %d: radial noise variance %g, expected %g", j, average(&st, 4 + j), noisy_radial_variance(R, 0.05));
  }
}
END_TEST

TCase *target_test_samples(void)
{
  TCase *samples = tcase_create("samples");

  tcase_add_test(samples, test_samples_bit_identical_partitioned_and_replicated);
  tcase_add_test(samples, test_sample_moments_and_shapes);
  return samples;
}
