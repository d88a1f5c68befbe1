/* The fast Gauss transform (ds_fgt.h) and -drift_sum fgt against sums over every pair
   written here: each query's value and moments within the transform's own bound, for
   clouds of several shapes (uniform, clustered, far apart) in d = 1, 2, 3 and bandwidths
   from 0.01 to 10 times the cloud's spread, the sources spread over the ranks or
   replicated; and the conservative and displacement fields at the tightest tolerance within
   1e-10 of the brute-force field relative to its largest value, with the sum_error_bound
   diagnostic above the measured error (less the rounding of sums over every pair). N not a multiple of the rank count, M != N. */
#include <math.h>
#include <petscvec.h>
#include "ds_test.h"
#include "ds_fgt.h"
#include "ds_field.h"
#include "ds_rng.h"
#include "ds_stein.h"

typedef enum { SHAPE_UNIFORM, SHAPE_CLUSTERED, SHAPE_FAR_APART } Shape;
static const char *const shape_names[] = {"uniform", "clustered", "far apart"};

/* Point i of a cloud of unit spread: uniform in [-1.7, 1.7]^d (std 1 per coordinate), five
   tight clusters 1 apart, or two unit gaussians 40 apart (the query cloud `stream` 1 is
   shifted so that the two clouds overlap only in part). */
static void cloud_point(Shape shape, PetscInt d, uint64_t stream, PetscInt i, double *x)
{
  double z[3];
  ds_rng_normals(3 + stream, DS_STREAM_INIT, (uint64_t)i, 0, d, z);
  for (PetscInt c = 0; c < d; c++) {
    const double u = 0.5 * (1 + erf(z[c] / sqrt(2.0))); /* uniform on (0, 1) */
    switch (shape) {
    case SHAPE_UNIFORM: x[c] = 3.4 * u - 1.7; break;
    case SHAPE_CLUSTERED: x[c] = 0.05 * z[c] + (double)((i + c) % 5) - 2.0; break;
    case SHAPE_FAR_APART: x[c] = z[c] + (i % 2 ? 20.0 : -20.0) + (double)stream; break;
    }
  }
}

/* This rank's share [first, last) of n points. */
static void share(PetscInt n, PetscInt *first, PetscInt *last)
{
  PetscMPIInt rank, size;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  *first = n * rank / size, *last = n * (rank + 1) / size;
}

/* A structure-of-arrays block of points [first, last) of a cloud. */
static double *cloud_block(Shape shape, PetscInt d, uint64_t stream, PetscInt first, PetscInt last)
{
  double *x;
  PetscMalloc1(d * (last - first) + 1, &x);
  for (PetscInt i = first; i < last; i++) {
    double p[3];
    cloud_point(shape, d, stream, i, p);
    for (PetscInt c = 0; c < d; c++) x[c * (last - first) + i - first] = p[c];
  }
  return x;
}

/* Largest ratio over this rank's queries of |fgt - every pair| to the transform's bound
   (value, each moment component with the gradient weight, second moment), for n sources
   and m queries. */
static double worst_ratio(Shape shape, PetscInt d, PetscReal h, PetscReal eps, PetscInt n, PetscInt m, PetscBool replicated)
{
  PetscInt  sfirst, slast, qfirst, qlast;
  DSKernel  K;
  DSFgt     fgt;
  DSFgtPlan plan;
  PetscReal lo[3], hi[3], extent[3], flops, ratio = 0;

  share(n, &sfirst, &slast);
  share(m, &qfirst, &qlast);
  if (replicated) sfirst = 0, slast = n;
  double *S = cloud_block(shape, d, 0, 0, n), *s = cloud_block(shape, d, 0, sfirst, slast), *q = cloud_block(shape, d, 1, qfirst, qlast);
  const PetscInt nq = qlast - qfirst;
  DSBlock        source = {slast - sfirst, d, slast - sfirst, sfirst, s, NULL}, query = {nq, d, nq, -1, q, NULL};
  double        *value, *moment, *second, *bound;
  PetscMalloc4(nq + 1, &value, d * nq + 1, &moment, nq + 1, &second, 3 * nq + 1, &bound);
  DSKernelSums sums = {nq, value, moment, NULL, second};
  ds_kernel_setup(DS_KERNEL_GAUSSIAN, h, 0.5, &K);
  DS_ASSERT_PETSC(ds_fgt_create(PETSC_COMM_WORLD, &fgt));
  DS_ASSERT_PETSC(ds_fgt_bounding_box(fgt, &query, &source, lo, hi));
  for (PetscInt c = 0; c < d; c++) extent[c] = hi[c] - lo[c];
  ds_fgt_choose(fgt, d, h, eps, extent, m, n, &plan, &flops);
  DS_ASSERT_ALL(plan.nodes >= 2, "%s d %d h %g eps %g: no plan", shape_names[shape], (int)d, (double)h, (double)eps);
  DS_ASSERT_PETSC(ds_fgt_sums(fgt, &plan, lo, hi, &K, DS_WEIGHT_GRADIENT, &query, &source, replicated, PETSC_FALSE, &sums, bound));
  for (PetscInt i = 0; i < nq; i++) {
    double z[3], v = 0, g[3] = {0, 0, 0}, s2 = 0;
    for (PetscInt c = 0; c < d; c++) z[c] = q[c * nq + i];
    for (PetscInt j = 0; j < n; j++) {
      double r2 = 0;
      for (PetscInt c = 0; c < d; c++) r2 += (z[c] - S[c * n + j]) * (z[c] - S[c * n + j]);
      const double k = exp(-0.5 * r2 / (h * h));
      v += k;
      s2 += k * r2;
      for (PetscInt c = 0; c < d; c++) g[c] -= k * (z[c] - S[c * n + j]) / (h * h);
    }
    ratio = ds_test_worst(ds_test_worst(ratio, fabs(value[i] - v) / bound[i]), fabs(second[i] - s2) / bound[2 * nq + i]);
    for (PetscInt c = 0; c < d; c++) ratio = ds_test_worst(ratio, fabs(moment[c * nq + i] - g[c]) / bound[nq + i]);
  }
  (void)MPI_Allreduce(MPI_IN_PLACE, &ratio, 1, MPI_DOUBLE, MPI_MAX, PETSC_COMM_WORLD);
  ds_fgt_destroy(&fgt);
  PetscFree4(value, moment, second, bound);
  PetscFree(S);
  PetscFree(s);
  PetscFree(q);
  return ratio;
}

/* The grid tests run in two parts, Check's loop index _i: part 0 a sample of the grid that
   takes every path of the code (tcase "fgt", run instrumented too), part 1 the rest of the
   grid (tcase "fgt_grid", tagged "size": left out of the instrumented runs, tools/run-tests). */
static PetscBool in_part(int part, PetscBool sampled) { return (part == 0) == (sampled != 0) ? PETSC_TRUE : PETSC_FALSE; }

/* Every query's value, gradient moments and second moment within the bound the transform
   states, at a loose and a tight tolerance, sources distributed and replicated (the sample:
   h = 0.1 at eps = 1e-12, every shape, dimension and distribution). */
START_TEST(fgt_sums_within_their_bound)
{
  static const PetscReal bandwidths[] = {0.01, 0.1, 1, 10}, tolerances[] = {1e-6, 1e-12};
  for (int shape = 0; shape < 3; shape++)
    for (PetscInt d = 1; d <= 3; d++)
      for (size_t b = 0; b < 4; b++)
        for (size_t t = 0; t < 2; t++)
          for (int replicated = 0; replicated < 2; replicated++) {
            if (!in_part(_i, b == 1 && t == 1)) continue;
            /* in 3-D the sparse clouds of small bandwidths cost the transform p^6 per box pair */
            const PetscInt n = d == 3 ? 89 : 301, m = d == 3 ? 67 : 223;
            const double   ratio = worst_ratio((Shape)shape, d, bandwidths[b], tolerances[t], n, m, (PetscBool)replicated);
            DS_ASSERT_ALL(ratio <= 1.0, "%s d %d h %g eps %g %s: error %g of the bound", shape_names[shape], (int)d, (double)bandwidths[b], (double)tolerances[t], replicated ? "replicated" : "distributed", ratio);
          }
}
END_TEST

/* The field by brute force at particle i: t_Y - t_X (conservative, gradient moments over
   values) or m_Y - m_X (displacement), every pair of the gathered particles X and samples Y. */
static void brute_force_field(const DSOptions *o, const double *X, const double *Y, PetscInt M, PetscInt i, double *v)
{
  const PetscInt d = o->dim;
  const double   h = o->bandwidth;
  double         t[2][3] = {{0}};
  for (int set = 0; set < 2; set++) {
    const double  *S = set ? Y : X;
    const PetscInt n = set ? M : o->n;
    double         W = 0, mom[3] = {0, 0, 0};
    for (PetscInt j = 0; j < n; j++) {
      if (!set && j == i && o->self == DS_SELF_EXCLUDE) continue;
      /* driftsim's kernel values are never subnormal: below 2^(-1021 - 1/32) they are 0 */
      const double y = 0.5 * ds_test_squared_distance(X + i * d, S + j * d, d) / (h * h) * M_LOG2E, k = y > 1021.0 + 1.0 / 32 ? 0.0 : exp(-y / M_LOG2E);
      W += k;
      for (PetscInt c = 0; c < d; c++) mom[c] += k * (X[i * d + c] - S[j * d + c]);
    }
    for (PetscInt c = 0; c < d; c++) t[set][c] = W > 0 ? mom[c] / W : 0;
  }
  for (PetscInt c = 0; c < d; c++) v[c] = !strcmp(o->field, "conservative") ? -(t[1][c] - t[0][c]) / (h * h) : t[0][c] - t[1][c];
}

/* The largest |V - brute force| over the particles of an evaluated run (*err) and the
   largest |brute force| (*scale), over every rank. */
static void field_error(DSTestRun *run, double *err, double *scale)
{
  const PetscInt     d = run->opts.dim;
  double            *X = ds_test_gather_vec(run->X), *Y = ds_test_gather_samples(run->target);
  const PetscScalar *v;
  PetscInt           rstart, rend;
  *err = *scale = 0;
  VecGetOwnershipRange(run->X, &rstart, &rend);
  VecGetArrayRead(run->V, &v);
  for (PetscInt i = rstart / d; i < rend / d; i++) {
    double ref[3];
    brute_force_field(&run->opts, X, Y, run->target->samples_global, i, ref);
    for (PetscInt c = 0; c < d; c++) *err = PetscMax(*err, fabs(v[(i - rstart / d) * d + c] - ref[c])), *scale = PetscMax(*scale, fabs(ref[c]));
  }
  VecRestoreArrayRead(run->V, &v);
  (void)MPI_Allreduce(MPI_IN_PLACE, err, 1, MPI_DOUBLE, MPI_MAX, PETSC_COMM_WORLD);
  (void)MPI_Allreduce(MPI_IN_PLACE, scale, 1, MPI_DOUBLE, MPI_MAX, PETSC_COMM_WORLD);
  PetscFree(X);
  PetscFree(Y);
}

/* -drift_sum fgt -drift_sum_tol 1e-13: the field within 1e-10 of the brute force relative to
   its largest value, and no particle's error above the sum_error_bound diagnostic. The
   shapes as options: a gaussian cloud on gaussian samples, on the 8 tight clusters of gmm8,
   and 25 away from the samples (every particle's sums over the samples underflow the
   transform's tolerance: they are recomputed over every pair). The sample: h = 0.1. */
START_TEST(fgt_fields_match_every_pair)
{
  static const struct {
    DSTargetType target;
    PetscReal    mean, scale;
  } shapes[] = {{DS_TARGET_GAUSSIAN, 0.3, 1.0}, {DS_TARGET_GMM8, 0.0, 1.0}, {DS_TARGET_GAUSSIAN, 25.0, 1.0}};
  static const PetscReal bandwidths[] = {0.01, 0.1, 1, 10};
  static const char     *fields[]     = {"conservative", "displacement"};
  for (size_t sh = 0; sh < 3; sh++)
    for (PetscInt d = 1; d <= 3; d++)
      for (size_t b = 0; b < 4; b++)
        for (int fi = 0; fi < 2; fi++) {
          DSOptions o = ds_test_options();
          DSTestRun run;
          PetscReal bound;
          double    err, scale;
          o.n = d == 3 ? 97 : 157, o.dim = d, o.seed = 5;
          snprintf(o.field, sizeof(o.field), "%s", fields[fi]);
          o.kernel = DS_KERNEL_GAUSSIAN, o.self = fi ? DS_SELF_INCLUDE : DS_SELF_EXCLUDE;
          o.target = shapes[sh].target, o.target_samples = d == 3 ? 71 : 131, o.target_scale = 1.0;
          o.init_mean = shapes[sh].mean, o.init_scale = shapes[sh].scale, o.bandwidth = bandwidths[b];
          o.sum = DS_SUM_FGT, o.sum_tol = 1e-13;
          if (o.target == DS_TARGET_GMM8 && d != 2) continue; /* gmm8 is a 2-D target */
          if (!in_part(_i, b == 1)) continue;
          ds_test_run_setup(&run, o);
          DS_ASSERT_PETSC(ds_field_set_diagnostics(run.field, PETSC_TRUE));
          DS_ASSERT_PETSC(ds_field_evaluate(run.field, o.bandwidth, run.X, run.V));
          DS_ASSERT_PETSC(ds_field_get_diagnostic(run.field, "sum_error_bound", &bound));
          field_error(&run, &err, &scale);
          /* The bound is the approximation's: sums over every pair (bound 0) still round, here
             and in the brute force. The relative criterion holds where the field is resolved:
             the transform's guarantee is absolute (eps per source, in units of h for the
             moments), so a field below eps in its unit (h, resp. 1/h for the conservative
             field) is zero to the tolerance: in 3-D at h = 0.01 every particle is alone. */
          const double unit = fi ? o.bandwidth : 1 / o.bandwidth, resolved = scale > o.sum_tol * unit;
          DS_ASSERT_ALL((err <= 1e-10 * scale || !resolved) && err <= bound + 1e-14 * scale, "%s %s d %d h %g: error %g, %g of the field's scale %g; sum_error_bound %g", fields[fi], DSTargetTypes[o.target], (int)d, (double)o.bandwidth, err, err / scale, scale, (double)bound);
          ds_test_run_teardown(&run);
        }
}
END_TEST

/* The Stein drift SD_t (theorem group) by the transform's S0, S1, S2 against the same by
   every pair (itself tested against divergence differences in suite stein), an analytic
   and a sample target, at -drift_sum_tol 1e-13: within 1e-9 relative (the sample: the 1-D
   case, sums over the particles and over the samples). */
START_TEST(fgt_stein_drift_matches_every_pair)
{
  const char *cases[] = {"-drift_n 301 -drift_dim 2 -drift_bandwidth 0.3 -drift_init_scale 1.2 -drift_init_mean 0.3 -drift_target_scale 0.8",
                         "-drift_n 211 -drift_dim 3 -drift_bandwidth 0.6 -drift_init_scale 1.0 -drift_target_samples 173 -drift_seed 4",
                         "-drift_n 257 -drift_dim 1 -drift_bandwidth 0.05 -drift_target_samples 199 -drift_seed 2"};
  for (int cs = 0; cs < 3; cs++) {
    PetscReal sd[2];
    if (!in_part(_i, cs == 2)) continue;
    for (int fast = 0; fast < 2; fast++) {
      DSOptions o = ds_test_read_options(cases[cs]);
      DSTestRun run;
      DSStein   stein;
      PetscInt  local;
      if (fast) o.sum = DS_SUM_FGT, o.sum_tol = 1e-13;
      ds_test_run_setup(&run, o);
      VecGetLocalSize(run.X, &local);
      DS_ASSERT_PETSC(ds_stein_create(PETSC_COMM_WORLD, &run.opts, run.target, run.field, local / o.dim, &stein));
      DS_ASSERT_PETSC(ds_stein_drift(stein, run.X, o.bandwidth, &sd[fast]));
      ds_stein_destroy(&stein);
      ds_test_run_teardown(&run);
    }
    DS_ASSERT_ALL(fabs(sd[1] - sd[0]) <= 1e-9 * fabs(sd[0]), "case %d: SD_t %.15g by the transform, %.15g by every pair", cs, sd[1], sd[0]);
  }
}
END_TEST

/* -drift_sum auto sums every pair for 40 particles and 37 samples at h = 3 (the cells' cutoff radius, 18,
   spans the cloud: they would only add their build) and takes the transform for 30000 at
   h = 0.3 in 1-D (30000^2 pairs against a few hundred operations per particle), and records
   which in sum_method (0 exact, 2 fgt). Where it sums every pair it takes the half ring of
   the symmetric schedule (the default), and the field is the brute force's to 1e-12. */
START_TEST(auto_chooses_by_cost)
{
  static const struct {
    PetscInt  n, samples;
    PetscReal h, method;
  } cases[] = {{40, 37, 3.0, DS_SUM_EXACT}, {30000, 0, 0.3, DS_SUM_FGT}};
  for (int k = 0; k < 2; k++) {
    DSOptions o = ds_test_options();
    DSTestRun run;
    PetscReal method;
    o.n = cases[k].n, o.dim = 1, o.bandwidth = cases[k].h, o.target_samples = cases[k].samples;
    o.sum = DS_SUM_AUTO, o.sum_tol = 1e-8;
    ds_test_run_setup(&run, o);
    DS_ASSERT_PETSC(ds_field_set_diagnostics(run.field, PETSC_TRUE));
    DS_ASSERT_PETSC(ds_field_evaluate(run.field, o.bandwidth, run.X, run.V));
    DS_ASSERT_PETSC(ds_field_get_diagnostic(run.field, "sum_method", &method));
    DS_ASSERT_ALL(method == cases[k].method, "N = %d: sum_method %g, expected %g", (int)o.n, (double)method, (double)cases[k].method);
    if (method == DS_SUM_EXACT) {
      double err, scale;
      field_error(&run, &err, &scale);
      DS_ASSERT_ALL(err <= 1e-12 * scale, "N = %d by every pair under auto: error %g of the field's scale %g", (int)o.n, err, scale);
    }
    ds_test_run_teardown(&run);
  }
}
END_TEST

Suite *ds_suite_fgt(void)
{
  Suite *s    = suite_create("fgt");
  TCase *tc   = tcase_create("fgt");
  TCase *grid = tcase_create("fgt_grid");
  tcase_set_timeout(tc, 300);
  tcase_add_loop_test(tc, fgt_sums_within_their_bound, 0, 1);
  tcase_add_loop_test(tc, fgt_fields_match_every_pair, 0, 1);
  tcase_add_loop_test(tc, fgt_stein_drift_matches_every_pair, 0, 1);
  tcase_add_test(tc, auto_chooses_by_cost);
  suite_add_tcase(s, tc);
  tcase_set_timeout(grid, 300);
  tcase_set_tags(grid, "size");
  tcase_add_loop_test(grid, fgt_sums_within_their_bound, 1, 2);
  tcase_add_loop_test(grid, fgt_fields_match_every_pair, 1, 2);
  tcase_add_loop_test(grid, fgt_stein_drift_matches_every_pair, 1, 2);
  suite_add_tcase(s, grid);
  return s;
}
