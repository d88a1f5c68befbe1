/* Tests of the counter-based generator (known answers, conversions, moments) and of the
   initial cloud (bit-identical at every rank count, right law). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <petscvec.h>
#include "ds_init.h"
#include "ds_rng.h"
#include "ds_test.h"

#define DRAWS 100000      /* draws for the moment tests */
#define DRAWS_PER_INDEX 5 /* odd, so the half-used last block is exercised */
#define SIGMAS 5.0        /* a statistic passes within this many standard errors */

/* Sample mean and (biased, two-pass) variance of v[0..n-1]. */
static void mean_variance(PetscInt n, const double *v, double *mean, double *variance)
{
  double sum = 0.0, squares = 0.0;

  for (PetscInt i = 0; i < n; i++) sum += v[i];
  *mean = sum / n;
  for (PetscInt i = 0; i < n; i++) squares += (v[i] - *mean) * (v[i] - *mean);
  *variance = squares / n;
}

/* Random123's kat_vectors for philox4x32 10: counter (4 words), key (2 words), output. */
START_TEST(test_philox_known_answers)
{
  static const struct {
    uint32_t ctr[4], key[2], out[4];
  } kat[] = {
    {{0x00000000, 0x00000000, 0x00000000, 0x00000000}, {0x00000000, 0x00000000}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}, {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}, {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };

  for (size_t v = 0; v < sizeof(kat) / sizeof(kat[0]); v++) {
    uint32_t out[4];

    ds_rng_philox(kat[v].key[0] | ((uint64_t)kat[v].key[1] << 32), kat[v].ctr[2], kat[v].ctr[0] | ((uint64_t)kat[v].ctr[1] << 32), kat[v].ctr[3], out);
    DS_ASSERT_ALL(!memcmp(out, kat[v].out, sizeof(out)), "Philox4x32-10 known answer %zu: got %08x %08x %08x %08x, expected %08x %08x %08x %08x", v, out[0], out[1], out[2], out[3], kat[v].out[0], kat[v].out[1], kat[v].out[2], kat[v].out[3]);
  }
}
END_TEST

/* uniform2 is the midpoint of the 2^-52 cell named by the top 52 bits of each 64-bit word
   (out[1]:out[0] and out[3]:out[2]): u 2^52 - 1/2 is exactly that integer. */
START_TEST(test_uniform2_is_cell_midpoint_of_philox_words)
{
  int ok = 1;

  for (uint64_t index = 0; index < 1000; index++) {
    uint32_t out[4];
    double   u[2];

    ds_rng_philox(12345, DS_STREAM_TARGET, index, 7, out);
    ds_rng_uniform2(12345, DS_STREAM_TARGET, index, 7, u);
    for (int w = 0; w < 2; w++) {
      const uint64_t word = ((uint64_t)out[2 * w + 1] << 32) | out[2 * w];
      const double   cell = ldexp(u[w], 52) - 0.5;

      ok = ok && cell == (double)(word >> 12);
    }
  }
  DS_ASSERT_ALL(ok, "uniform2 is not (top 52 bits + 1/2) 2^-52 of the Philox words");
}
END_TEST

/* 10^5 uniforms: all strictly inside (0, 1); mean 1/2 and variance 1/12 within 5 standard
   errors (sqrt(1/(12 n)) and sqrt((1/80 - 1/144)/n) = sqrt(1/(180 n))). */
START_TEST(test_uniforms_open_interval_and_moments)
{
  double *u = malloc(DRAWS * sizeof(double));
  double  mean, variance;
  int     inside = 1;

  for (PetscInt i = 0; i < DRAWS / DRAWS_PER_INDEX; i++) ds_rng_uniforms(2024, DS_STREAM_INIT, (uint64_t)i, 0, DRAWS_PER_INDEX, &u[i * DRAWS_PER_INDEX]);
  for (PetscInt i = 0; i < DRAWS; i++) inside = inside && u[i] > 0.0 && u[i] < 1.0;
  mean_variance(DRAWS, u, &mean, &variance);
  DS_ASSERT_ALL(inside, "a uniform fell outside the open interval (0, 1)");
  DS_ASSERT_ALL(fabs(mean - 0.5) < SIGMAS * sqrt(1.0 / (12.0 * DRAWS)), "uniform mean %g, expected 1/2", mean);
  DS_ASSERT_ALL(fabs(variance - 1.0 / 12.0) < SIGMAS * sqrt(1.0 / (180.0 * DRAWS)), "uniform variance %g, expected 1/12", variance);
  free(u);
}
END_TEST

/* Draws at neighbouring counters, indices and streams are uncorrelated: sample correlation
   of uniforms within 5 standard errors (1/sqrt(n)) of 0. */
START_TEST(test_uniforms_uncorrelated_across_counters_indices_streams)
{
  const PetscInt n = DRAWS / 2;
  double         sums[3] = {0.0, 0.0, 0.0};

  for (PetscInt i = 0; i < n; i++) {
    double base[2], next_counter[2], next_index[2], other_stream[2];

    ds_rng_uniform2(99, DS_STREAM_INIT, (uint64_t)i, 0, base);
    ds_rng_uniform2(99, DS_STREAM_INIT, (uint64_t)i, 1, next_counter);
    ds_rng_uniform2(99, DS_STREAM_INIT, (uint64_t)i + 1, 0, next_index);
    ds_rng_uniform2(99, DS_STREAM_TARGET, (uint64_t)i, 0, other_stream);
    sums[0] += (base[0] - 0.5) * (next_counter[0] - 0.5);
    sums[1] += (base[0] - 0.5) * (next_index[0] - 0.5);
    sums[2] += (base[0] - 0.5) * (other_stream[0] - 0.5);
  }
  for (int c = 0; c < 3; c++) {
    const double correlation = sums[c] / n * 12.0;

    DS_ASSERT_ALL(fabs(correlation) < SIGMAS / sqrt((double)n), "correlation %d of neighbouring draws is %g", c, correlation);
  }
}
END_TEST

/* Normals are Box-Muller on the uniforms of successive blocks: recomputed here from
   uniform2; an odd count is the prefix of the next even one. */
START_TEST(test_normals_are_box_muller_of_uniform2)
{
  int ok = 1;

  for (uint64_t index = 0; index < 1000; index++) {
    double v[6], w[5], u[2];

    ds_rng_normals(5, DS_STREAM_DIAGNOSTIC, index, 3, 6, v);
    ds_rng_normals(5, DS_STREAM_DIAGNOSTIC, index, 3, 5, w);
    for (int b = 0; b < 3; b++) {
      ds_rng_uniform2(5, DS_STREAM_DIAGNOSTIC, index, 3 + (uint32_t)b, u);
      const double r = sqrt(-2.0 * log(u[0]));
      ok = ok && ds_test_reldiff(v[2 * b], r * cos(2.0 * PETSC_PI * u[1]), 1e-300) < 1e-14;
      ok = ok && ds_test_reldiff(v[2 * b + 1], r * sin(2.0 * PETSC_PI * u[1]), 1e-300) < 1e-14;
    }
    ok = ok && !memcmp(v, w, sizeof(w));
  }
  DS_ASSERT_ALL(ok, "normals differ from Box-Muller of uniform2, or an odd count is not a prefix");
}
END_TEST

/* 10^5 normals: mean 0 and variance 1 within 5 standard errors (1/sqrt(n), sqrt(2/n)). */
START_TEST(test_normals_moments)
{
  double *v = malloc(DRAWS * sizeof(double));
  double  mean, variance;

  for (PetscInt i = 0; i < DRAWS / DRAWS_PER_INDEX; i++) ds_rng_normals(77, DS_STREAM_PAIRS, (uint64_t)i, 0, DRAWS_PER_INDEX, &v[i * DRAWS_PER_INDEX]);
  mean_variance(DRAWS, v, &mean, &variance);
  DS_ASSERT_ALL(fabs(mean) < SIGMAS / sqrt((double)DRAWS), "normal mean %g, expected 0", mean);
  DS_ASSERT_ALL(fabs(variance - 1.0) < SIGMAS * sqrt(2.0 / DRAWS), "normal variance %g, expected 1", variance);
  free(v);
}
END_TEST

/* Options of an initial cloud; every other option its default. */
static DSOptions cloud_options(DSInitType init, PetscInt n, PetscInt dim)
{
  DSOptions o = ds_test_options();

  o.n          = n;
  o.dim        = dim;
  o.seed       = 31337;
  o.init       = init;
  o.init_mean  = 1.0;
  o.init_scale = 0.75;
  ds_test_assert_valid(&o);
  return o;
}

/* The initial cloud of o in a Vec of block size d on comm, split by PETSc. */
static PetscErrorCode cloud_create(MPI_Comm comm, const DSOptions *o, Vec *X)
{
  PetscFunctionBeginUser;
  PetscCall(VecCreate(comm, X));
  PetscCall(VecSetSizes(*X, PETSC_DECIDE, o->n * o->dim));
  PetscCall(VecSetBlockSize(*X, o->dim));
  PetscCall(VecSetType(*X, VECSTANDARD));
  PetscCall(ds_init_cloud(o, *X));
  PetscFunctionReturn(0);
}

/* Builds the cloud on PETSC_COMM_WORLD, gathers it on every rank, and compares it bit for
   bit with the cloud built on PETSC_COMM_SELF; also compares the serial cloud with the law
   mean + scale * draw computed here from ds_rng. */
static PetscErrorCode compare_cloud(const DSOptions *o, PetscBool *identical, PetscBool *follows_law)
{
  const PetscInt     d = o->dim;
  Vec                X, gathered, serial;
  VecScatter         to_all;
  const PetscScalar *g, *s;
  double            *draw;

  PetscFunctionBeginUser;
  PetscCall(cloud_create(PETSC_COMM_WORLD, o, &X));
  PetscCall(VecScatterCreateToAll(X, &to_all, &gathered));
  PetscCall(VecScatterBegin(to_all, X, gathered, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(to_all, X, gathered, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(cloud_create(PETSC_COMM_SELF, o, &serial));
  PetscCall(VecGetArrayRead(gathered, &g));
  PetscCall(VecGetArrayRead(serial, &s));
  *identical = memcmp(g, s, (size_t)(o->n * d) * sizeof(PetscScalar)) ? PETSC_FALSE : PETSC_TRUE;
  *follows_law = PETSC_TRUE;
  PetscCall(PetscMalloc1(d, &draw));
  for (PetscInt i = 0; i < o->n; i++) {
    if (o->init == DS_INIT_GAUSSIAN) ds_rng_normals((uint64_t)o->seed, DS_STREAM_INIT, (uint64_t)i, 0, d, draw);
    else ds_rng_uniforms((uint64_t)o->seed, DS_STREAM_INIT, (uint64_t)i, 0, d, draw);
    for (PetscInt j = 0; j < d; j++) {
      const double expected = o->init_mean + o->init_scale * (o->init == DS_INIT_GAUSSIAN ? draw[j] : 2.0 * draw[j] - 1.0);

      if (ds_test_reldiff(s[i * d + j], expected, 1.0) > 1e-15) *follows_law = PETSC_FALSE;
    }
  }
  PetscCall(PetscFree(draw));
  PetscCall(VecRestoreArrayRead(serial, &s));
  PetscCall(VecRestoreArrayRead(gathered, &g));
  PetscCall(VecScatterDestroy(&to_all));
  PetscCall(VecDestroy(&gathered));
  PetscCall(VecDestroy(&serial));
  PetscCall(VecDestroy(&X));
  PetscFunctionReturn(0);
}

/* N = 37 (no multiple of the rank count) and N = 3 (fewer particles than 4 ranks), both laws. */
START_TEST(test_init_cloud_bit_identical_across_rank_counts)
{
  const PetscInt   counts[] = {37, 3};
  const DSInitType inits[]  = {DS_INIT_GAUSSIAN, DS_INIT_UNIFORM};

  for (int c = 0; c < 2; c++)
    for (int l = 0; l < 2; l++) {
      const DSOptions o = cloud_options(inits[l], counts[c], 3);
      PetscBool       identical = PETSC_FALSE, follows_law = PETSC_FALSE;

      DS_ASSERT_PETSC(compare_cloud(&o, &identical, &follows_law));
      DS_ASSERT_ALL(identical, "%s cloud of N = %d: distributed and serial clouds differ", DSInitTypes[inits[l]], (int)counts[c]);
      DS_ASSERT_ALL(follows_law, "%s cloud of N = %d: a particle is not mean + scale * draw", DSInitTypes[inits[l]], (int)counts[c]);
    }
}
END_TEST

/* Per-coordinate mean and variance of a distributed cloud (block size d), reduced over comm. */
static PetscErrorCode cloud_moments(const DSOptions *o, Vec X, double *mean, double *variance, double *lowest, double *highest)
{
  const PetscScalar *x;
  PetscInt           local;
  double             sums[2] = {0.0, 0.0}, totals[2], extremes[2] = {PETSC_MAX_REAL, PETSC_MAX_REAL}, global_extremes[2];

  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(X, &local));
  PetscCall(VecGetArrayRead(X, &x));
  for (PetscInt e = 0; e < local; e++) {
    sums[0] += x[e];
    sums[1] += (x[e] - o->init_mean) * (x[e] - o->init_mean);
    extremes[0] = PetscMin(extremes[0], x[e]);
    extremes[1] = PetscMin(extremes[1], -x[e]);
  }
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscCallMPI(MPI_Allreduce(sums, totals, 2, MPI_DOUBLE, MPI_SUM, PETSC_COMM_WORLD));
  PetscCallMPI(MPI_Allreduce(extremes, global_extremes, 2, MPI_DOUBLE, MPI_MIN, PETSC_COMM_WORLD));
  *mean     = totals[0] / (double)(o->n * o->dim);
  *variance = totals[1] / (double)(o->n * o->dim);
  *lowest   = global_extremes[0];
  *highest  = -global_extremes[1];
  PetscFunctionReturn(0);
}

/* 20000 particles in 2-D: gaussian N(1, 0.75^2) and uniform on [0.25, 1.75] coordinates have
   their mean and second moment about the mean within 5 standard errors; uniform stays inside. */
START_TEST(test_init_cloud_moments)
{
  const DSInitType inits[] = {DS_INIT_GAUSSIAN, DS_INIT_UNIFORM};

  for (int l = 0; l < 2; l++) {
    const DSOptions o      = cloud_options(inits[l], 20000, 2);
    const double    draws  = (double)(o.n * o.dim), s2 = o.init_scale * o.init_scale;
    /* gaussian: var s^2, 4th central moment 3 s^4; uniform: var s^2/3, 4th moment s^4/5 */
    const double    var    = inits[l] == DS_INIT_GAUSSIAN ? s2 : s2 / 3.0;
    const double    fourth = inits[l] == DS_INIT_GAUSSIAN ? 3.0 * s2 * s2 : s2 * s2 / 5.0;
    Vec             X;
    double          mean = 0.0, second = 0.0, lowest = 0.0, highest = 0.0;

    DS_ASSERT_PETSC(cloud_create(PETSC_COMM_WORLD, &o, &X));
    DS_ASSERT_PETSC(cloud_moments(&o, X, &mean, &second, &lowest, &highest));
    DS_ASSERT_PETSC(VecDestroy(&X));
    DS_ASSERT_ALL(fabs(mean - o.init_mean) < SIGMAS * sqrt(var / draws), "%s cloud mean %g, expected %g", DSInitTypes[inits[l]], mean, o.init_mean);
    DS_ASSERT_ALL(fabs(second - var) < SIGMAS * sqrt((fourth - var * var) / draws), "%s cloud variance %g, expected %g", DSInitTypes[inits[l]], second, var);
    if (inits[l] == DS_INIT_UNIFORM) DS_ASSERT_ALL(lowest > o.init_mean - o.init_scale && highest < o.init_mean + o.init_scale, "uniform cloud leaves (%g, %g): [%g, %g]", o.init_mean - o.init_scale, o.init_mean + o.init_scale, lowest, highest);
  }
}
END_TEST

Suite *ds_suite_rng_init(void)
{
  Suite *s   = suite_create("rng_init");
  TCase *rng = tcase_create("rng");
  TCase *ini = tcase_create("init");

  tcase_add_test(rng, test_philox_known_answers);
  tcase_add_test(rng, test_uniform2_is_cell_midpoint_of_philox_words);
  tcase_add_test(rng, test_uniforms_open_interval_and_moments);
  tcase_add_test(rng, test_uniforms_uncorrelated_across_counters_indices_streams);
  tcase_add_test(rng, test_normals_are_box_muller_of_uniform2);
  tcase_add_test(rng, test_normals_moments);
  tcase_add_test(ini, test_init_cloud_bit_identical_across_rank_counts);
  tcase_add_test(ini, test_init_cloud_moments);
  suite_add_tcase(s, rng);
  suite_add_tcase(s, ini);
  return s;
}
