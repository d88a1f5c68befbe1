/* Fields against a serial brute force written from SCIENCE.md's formulas (kernel-weighted
   means m_S = sum k s / sum k and KDE gradients sum grad k / sum k over all gathered
   particles and samples), at the rank count the suite runs with; N not a multiple of it
   and N smaller than it. Plus V = h^2 b for the gaussian kernel and the symmetry of the
   Jacobians (conservative: symmetric; laplace displacement: not). */
#include <math.h>
#include <petscvec.h>
#include "ds_test.h"
#include "ds_field.h"
#include "ds_init.h"
#include "ds_target.h"

static DSOptions make_options(const char *field, DSKernelType kernel, DSSelfPair self, DSTargetType target, PetscInt samples, PetscBool replicate, PetscInt n, PetscInt dim)
{
  DSOptions o = ds_test_options();
  o.n = n; o.dim = dim; o.seed = 7;
  snprintf(o.field, sizeof(o.field), "%s", field); o.kernel = kernel; o.self = self; o.bandwidth = 0.8;
  o.target = target; o.target_samples = samples; o.replicate_data = replicate;
  o.init_mean = 0.5; o.init_scale = 1.5;
  return o;
}

static double bf_kernel(const DSOptions *o, double r) { return ds_test_kernel(o->kernel, o->bandwidth, o->imq_beta, r * r); }

/* grad_z k(z, w) = factor * (z - w). */
static double bf_gradient_factor(const DSOptions *o, double r)
{
  const double h = o->bandwidth;
  switch (o->kernel) {
  case DS_KERNEL_GAUSSIAN: return -bf_kernel(o, r) / (h * h);
  case DS_KERNEL_LAPLACE: return r > 0 ? -bf_kernel(o, r) / (h * r) : 0;
  case DS_KERNEL_IMQ: return -2 * o->imq_beta / (h * h) * pow(1 + r * r / (h * h), -o->imq_beta - 1);
  }
  return NAN;
}

/* For point z against rows S[n][d] (skipping row `skip`): sum k, sum grad k, sum k s. */
static void bf_sums(const DSOptions *o, const double *z, PetscInt n, const double *S, PetscInt skip, double *W, double *grad, double *mean_num)
{
  const PetscInt d = o->dim;
  *W               = 0;
  for (PetscInt c = 0; c < d; c++) grad[c] = mean_num[c] = 0;
  for (PetscInt j = 0; j < n; j++) {
    if (j == skip) continue;
    double r2 = 0;
    for (PetscInt c = 0; c < d; c++) r2 += (z[c] - S[j * d + c]) * (z[c] - S[j * d + c]);
    const double r = sqrt(r2), k = bf_kernel(o, r), g = bf_gradient_factor(o, r);
    *W += k;
    for (PetscInt c = 0; c < d; c++) {
      grad[c] += g * (z[c] - S[j * d + c]);
      mean_num[c] += k * S[j * d + c];
    }
  }
}

/* The field at z by the formulas of SCIENCE.md items 1 and 2 (gaussian analytic target:
   grad log nu_h(z) = -z / (s^2 + h^2), and m_Y = z + h^2 grad log nu_h for the gaussian kernel). */
static void bf_field(const DSOptions *o, const double *z, PetscInt skip, PetscInt n, const double *X, PetscInt m, const double *Y, double *v)
{
  const PetscInt d = o->dim;
  const double   h = o->bandwidth, s2 = o->target_scale * o->target_scale;
  double         Wx, Wy = 0, gx[8], gy[8], mx[8], my[8];

  bf_sums(o, z, n, X, skip, &Wx, gx, mx);
  if (m) bf_sums(o, z, m, Y, -1, &Wy, gy, my);
  for (PetscInt c = 0; c < d; c++) {
    const double score_y = m ? gy[c] / Wy : -z[c] / (s2 + h * h);
    const double mean_y  = m ? my[c] / Wy : z[c] + h * h * score_y;
    v[c]                 = !strcmp(o->field, "conservative") ? score_y - gx[c] / Wx : mean_y - mx[c] / Wx;
  }
}


/* max_i |v_i - v_i^ref| / max_i |v_i^ref| over all particles (reduced over ranks). */
static double relative_error_against_brute_force(DSOptions o)
{
  DSTestRun run;
  PetscInt rstart, rend, local_error_count;
  double   err = 0, scale = 0, global_err, global_scale;

  ds_test_run_setup(&run, o);
  DS_ASSERT_PETSC(ds_field_evaluate(run.field, o.bandwidth, run.X, run.V));
  double *X = ds_test_gather_vec(run.X);
  double *Y = run.target->analytic ? NULL : ds_test_gather_samples(run.target);
  const PetscScalar *v;
  VecGetOwnershipRange(run.X, &rstart, &rend);
  VecGetArrayRead(run.V, &v);
  local_error_count = 0;
  for (PetscInt i = rstart / o.dim; i < rend / o.dim; i++) {
    double ref[8];
    bf_field(&o, X + i * o.dim, o.self == DS_SELF_EXCLUDE ? i : -1, o.n, X, run.target->analytic ? 0 : run.target->samples_global, Y, ref);
    for (PetscInt c = 0; c < o.dim; c++) {
      err   = ds_test_worst(err, fabs(v[(i - rstart / o.dim) * o.dim + c] - ref[c]));
      scale = PetscMax(scale, fabs(ref[c]));
      local_error_count += !isfinite(v[(i - rstart / o.dim) * o.dim + c]);
    }
  }
  VecRestoreArrayRead(run.V, &v);
  MPI_Allreduce(&err, &global_err, 1, MPI_DOUBLE, MPI_MAX, PETSC_COMM_WORLD);
  MPI_Allreduce(&scale, &global_scale, 1, MPI_DOUBLE, MPI_MAX, PETSC_COMM_WORLD);
  DS_ASSERT_ALL(local_error_count == 0, "non-finite field values");
  PetscFree(X);
  PetscFree(Y);
  ds_test_run_teardown(&run);
  return global_err / global_scale;
}

static const struct {
  const char  *field;
  DSKernelType kernel;
} field_kernels[] = {
  {"conservative", DS_KERNEL_GAUSSIAN}, {"conservative", DS_KERNEL_IMQ}, {"displacement", DS_KERNEL_LAPLACE},
  {"displacement", DS_KERNEL_GAUSSIAN}, {"displacement", DS_KERNEL_IMQ},
};

/* Every field and kernel, self pair in and out, samples partitioned and replicated,
   M != N, N = 37 (not a multiple of 2, 3 or 4) and N = 3 (fewer than 4 ranks), in d = 2
   (the fused micro-kernel) and d = 5 (the wide one, with partial query vectors). */
START_TEST(fields_match_brute_force_with_samples)
{
  static const PetscInt sizes[][2] = {{37, 23}, {3, 5}};
  for (PetscInt dim = 2; dim <= 5; dim += 3)
    for (size_t fk = 0; fk < sizeof(field_kernels) / sizeof(field_kernels[0]); fk++)
      for (int self = 0; self < 2; self++)
        for (int replicate = 0; replicate < 2; replicate++)
          for (int s = 0; s < 2; s++) {
            DSOptions    o   = make_options(field_kernels[fk].field, field_kernels[fk].kernel, (DSSelfPair)self, DS_TARGET_GAUSSIAN, sizes[s][1], (PetscBool)replicate, sizes[s][0], dim);
            const double err = relative_error_against_brute_force(o);
            DS_ASSERT_ALL(err < 1e-12, "%s/%s self %s replicate %d N %d d %d: relative error %g", o.field, DSKernelTypes[o.kernel], DSSelfPairs[o.self], replicate, (int)o.n, (int)dim, err);
          }
}
END_TEST

/* Analytic gaussian target (gaussian kernel): the smoothed score in closed form. */
START_TEST(fields_match_brute_force_analytic)
{
  for (int field = 0; field < 2; field++)
    for (int self = 0; self < 2; self++)
      for (PetscInt dim = 1; dim <= 3; dim++) {
        DSOptions    o   = make_options(field ? "displacement" : "conservative", DS_KERNEL_GAUSSIAN, (DSSelfPair)self, DS_TARGET_GAUSSIAN, 0, PETSC_FALSE, 37, dim);
        const double err = relative_error_against_brute_force(o);
        DS_ASSERT_ALL(err < 1e-12, "analytic %s self %s d %d: relative error %g", o.field, DSSelfPairs[o.self], (int)dim, err);
      }
}
END_TEST

/* The particle-particle sums on both schedules (-drift_pair_schedule): full, and symmetric
   where its micro-kernel serves the sums (gaussian and laplace value sums, gaussian
   gradients, d <= 3; the others fall back to full), with N = 601 (not a multiple of 2, 3
   or 4; several source tiles per block at 1 and 2 ranks), the self pair in and out, M = 5
   samples: the fields match the brute force, and an evaluation counts the N^2 + N M pairs
   of the full schedule on either. */
START_TEST(pair_schedules_match_brute_force)
{
  for (int schedule = 0; schedule < 2; schedule++)
    for (PetscInt dim = 1; dim <= 3; dim++)
      for (size_t fk = 0; fk < sizeof(field_kernels) / sizeof(field_kernels[0]); fk++)
        for (int self = 0; self < 2; self++) {
          DSOptions      o = make_options(field_kernels[fk].field, field_kernels[fk].kernel, (DSSelfPair)self, DS_TARGET_GAUSSIAN, 5, PETSC_FALSE, 601, dim);
          DSTestRun      run;
          PetscLogDouble pairs;
          const double   expected = (double)o.n * (o.n + o.target_samples);

          o.pair_schedule  = (DSPairSchedule)schedule;
          const double err = relative_error_against_brute_force(o);
          DS_ASSERT_ALL(err < 1e-12, "%s schedule, %s/%s self %s d %d: relative error %g", DSPairSchedules[schedule], o.field, DSKernelTypes[o.kernel], DSSelfPairs[o.self], (int)dim, err);
          ds_test_run_setup(&run, o);
          DS_ASSERT_PETSC(ds_field_evaluate(run.field, o.bandwidth, run.X, run.V));
          DS_ASSERT_PETSC(ds_field_get_pair_count(run.field, &pairs));
          MPI_Allreduce(MPI_IN_PLACE, &pairs, 1, MPI_DOUBLE, MPI_SUM, PETSC_COMM_WORLD);
          DS_ASSERT_ALL(pairs == expected, "%s schedule, %s/%s d %d: %g pairs counted for one evaluation, not N (N + M) = %g", DSPairSchedules[schedule], o.field, DSKernelTypes[o.kernel], (int)dim, pairs, expected);
          ds_test_run_teardown(&run);
        }
}
END_TEST

/* SCIENCE.md: with the gaussian kernel and the self pair kept, V = h^2 b exactly. */
START_TEST(gaussian_displacement_is_h2_conservative)
{
  for (PetscInt samples = 0; samples <= 29; samples += 29) {
    DSTestRun  cons, disp;
    PetscReal diff, norm;
    ds_test_run_setup(&cons, make_options("conservative", DS_KERNEL_GAUSSIAN, DS_SELF_INCLUDE, DS_TARGET_GAUSSIAN, samples, PETSC_FALSE, 41, 3));
    ds_test_run_setup(&disp, make_options("displacement", DS_KERNEL_GAUSSIAN, DS_SELF_INCLUDE, DS_TARGET_GAUSSIAN, samples, PETSC_FALSE, 41, 3));
    const PetscReal h = cons.opts.bandwidth;
    DS_ASSERT_PETSC(ds_field_evaluate(cons.field, h, cons.X, cons.V));
    DS_ASSERT_PETSC(ds_field_evaluate(disp.field, h, disp.X, disp.V));
    VecScale(cons.V, h * h);
    VecNorm(disp.V, NORM_INFINITY, &norm);
    VecAXPY(cons.V, -1.0, disp.V);
    VecNorm(cons.V, NORM_INFINITY, &diff);
    DS_ASSERT_ALL(diff / norm < 1e-12, "M = %d: |h^2 b - V| / |V| = %g", (int)samples, (double)(diff / norm));
    ds_test_run_teardown(&cons);
    ds_test_run_teardown(&disp);
  }
}
END_TEST

/* ||J - J^T|| / ||J|| of the field of the run at query point z, J by central differences. */
static double jacobian_asymmetry(DSTestRun *run, const double z[3])
{
  const PetscInt d = PetscMin(run->opts.dim, 3);
  const double   eps = 1e-5;
  double         J[3][3], asym = 0, norm = 0;
  Vec            Z, Vz;

  VecCreateSeq(PETSC_COMM_SELF, d, &Z);
  VecSetBlockSize(Z, d);
  VecDuplicate(Z, &Vz);
  for (PetscInt b = 0; b < d; b++) {
    double vp[3], vm[3];
    for (int side = 0; side < 2; side++) {
      PetscScalar *zz;
      const PetscScalar *vv;
      VecGetArray(Z, &zz);
      for (PetscInt c = 0; c < d; c++) zz[c] = z[c] + (c == b ? (side ? -eps : eps) : 0);
      VecRestoreArray(Z, &zz);
      DS_ASSERT_PETSC(ds_field_evaluate_at(run->field, run->opts.bandwidth, run->X, Z, Vz));
      VecGetArrayRead(Vz, &vv);
      for (PetscInt c = 0; c < d; c++) (side ? vm : vp)[c] = vv[c];
      VecRestoreArrayRead(Vz, &vv);
    }
    for (PetscInt a = 0; a < d; a++) J[a][b] = (vp[a] - vm[a]) / (2 * eps);
  }
  for (PetscInt a = 0; a < d; a++)
    for (PetscInt b = 0; b < d; b++) {
      asym += PetscSqr(J[a][b] - J[b][a]);
      norm += PetscSqr(J[a][b]);
    }
  VecDestroy(&Z);
  VecDestroy(&Vz);
  return sqrt(asym / norm);
}

START_TEST(conservative_jacobian_is_symmetric_laplace_is_not)
{
  const double z[3] = {0.3, -0.2, 0.45};
  for (size_t fk = 0; fk < sizeof(field_kernels) / sizeof(field_kernels[0]); fk++) {
    if (!strcmp(field_kernels[fk].field, "displacement") && field_kernels[fk].kernel != DS_KERNEL_LAPLACE) continue;
    DSTestRun run;
    ds_test_run_setup(&run, make_options(field_kernels[fk].field, field_kernels[fk].kernel, DS_SELF_INCLUDE, DS_TARGET_GAUSSIAN, 31, PETSC_FALSE, 43, 3));
    const double asym = jacobian_asymmetry(&run, z);
    if (!strcmp(field_kernels[fk].field, "conservative"))
      /* Central differences with eps = 1e-5: truncation ~ eps^2 |v'''| ~ 1e-10, rounding ~ 1e-16 |v| / eps ~ 1e-11. */
      DS_ASSERT_ALL(asym < 1e-7, "conservative %s: Jacobian asymmetry %g", DSKernelTypes[run.opts.kernel], asym);
    else DS_ASSERT_ALL(asym > 1e-2, "laplace displacement: Jacobian asymmetry only %g; it is not a gradient field", asym);
    ds_test_run_teardown(&run);
  }
}
END_TEST

/* Largest ratio, over particles, of |v_cutoff - v_all_pairs| to the cutoff's bound (below),
   and the fraction of particles whose bound is below `tight_below` of the field's scale. Every
   omitted pair has k < eps k(0) = eps, so a source set S of n_S points moves the sums by
   |dW| < n_S eps and |d moment| < n_S eps R c (R the largest distance, c = |f / k|: 1/h^2
   for the gaussian gradient, else 1), hence t_S = moment / W by at most
   n_S eps (R c + |t_S|) / W_S: tight where W_S >> n_S eps, loose for isolated particles. */
static void cutoff_error_against_bound(DSOptions o, double tight_below, double *worst_ratio, double *tight_fraction)
{
  DSTestRun run;
  PetscInt  rstart, rend;
  double    ratio = 0, scale = 0, global_scale;
  ds_test_run_setup(&run, o);
  DS_ASSERT_PETSC(ds_field_evaluate(run.field, o.bandwidth, run.X, run.V));
  double *X = ds_test_gather_vec(run.X), *Y = ds_test_gather_samples(run.target);
  const PetscInt    d = o.dim, M = run.target->samples_global;
  const double      c = !strcmp(o.field, "conservative") ? 1 / (o.bandwidth * o.bandwidth) : 1, R = 40.0;
  double           *bounds;
  const PetscScalar *v;
  VecGetOwnershipRange(run.X, &rstart, &rend);
  PetscMalloc1(rend / d - rstart / d + 1, &bounds);
  VecGetArrayRead(run.V, &v);
  for (PetscInt i = rstart / d; i < rend / d; i++) {
    double ref[8], Wx, Wy, gx[8], gy[8], mx[8], my[8], tx = 0, ty = 0, err = 0;
    bf_field(&o, X + i * d, o.self == DS_SELF_EXCLUDE ? i : -1, o.n, X, M, Y, ref);
    bf_sums(&o, X + i * d, o.n, X, o.self == DS_SELF_EXCLUDE ? i : -1, &Wx, gx, mx);
    bf_sums(&o, X + i * d, M, Y, -1, &Wy, gy, my);
    for (PetscInt k = 0; k < d; k++) {
      tx = PetscMax(tx, fabs(!strcmp(o.field, "conservative") ? gx[k] / Wx : X[i * d + k] - mx[k] / Wx));
      ty = PetscMax(ty, fabs(!strcmp(o.field, "conservative") ? gy[k] / Wy : X[i * d + k] - my[k] / Wy));
      err = ds_test_worst(err, fabs(v[(i - rstart / d) * d + k] - ref[k]));
      scale = PetscMax(scale, fabs(ref[k]));
    }
    const double bound = o.sum_tol * (o.n * (R * c + tx) / Wx + M * (R * c + ty) / Wy);
    bounds[i - rstart / d] = bound;
    ratio = ds_test_worst(ratio, err / (bound + 1e-13 * (fabs(ref[0]) + 1)));
  }
  VecRestoreArrayRead(run.V, &v);
  (void)MPI_Allreduce(&scale, &global_scale, 1, MPI_DOUBLE, MPI_MAX, PETSC_COMM_WORLD);
  int tight = 0, all_tight;
  for (PetscInt i = 0; i < rend / d - rstart / d; i++) tight += bounds[i] < tight_below * global_scale;
  (void)MPI_Allreduce(MPI_IN_PLACE, &tight, 1, MPI_INT, MPI_SUM, PETSC_COMM_WORLD);
  (void)MPI_Allreduce(&tight, &all_tight, 1, MPI_INT, MPI_MAX, PETSC_COMM_WORLD);
  (void)MPI_Allreduce(MPI_IN_PLACE, &ratio, 1, MPI_DOUBLE, MPI_MAX, PETSC_COMM_WORLD);
  *worst_ratio    = ratio;
  *tight_fraction = (double)all_tight / o.n;
  PetscFree(bounds);
  PetscFree(X);
  PetscFree(Y);
  ds_test_run_teardown(&run);
}

/* -drift_cutoff_tol 1e-15: every particle's field within the cutoff's bound of the
   all-pairs brute force, the bound tight for most particles (< 1e-10 of the field for the
   gaussian kernel; < 1e-8 for laplace, whose cutoff radius 34.5 h leaves sparser rows at this
   N), in a cloud where cells pay (N = 300, M = 200 in d = 1, 2, 3; cutoff radius about a third
   of the cloud's extent, so most pairs are cut). */
START_TEST(cutoff_fields_within_their_bound)
{
  static const struct {
    const char  *field;
    DSKernelType kernel;
    PetscReal    h;
  } cases[] = {
    {"conservative", DS_KERNEL_GAUSSIAN, 0.3}, {"displacement", DS_KERNEL_GAUSSIAN, 0.3}, {"displacement", DS_KERNEL_LAPLACE, 0.08},
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
    for (int self = 0; self < 2; self++)
      for (PetscInt dim = 1; dim <= 3; dim++) {
        DSOptions o  = make_options(cases[k].field, cases[k].kernel, (DSSelfPair)self, DS_TARGET_GAUSSIAN, 200, PETSC_FALSE, 300, dim);
        o.bandwidth  = cases[k].h;
        o.init_mean  = 0;
        o.init_scale = 1;
        o.sum        = DS_SUM_CUTOFF;
        o.sum_tol    = 1e-15;
        double ratio, tight;
        cutoff_error_against_bound(o, cases[k].kernel == DS_KERNEL_LAPLACE ? 1e-8 : 1e-10, &ratio, &tight);
        DS_ASSERT_ALL(ratio <= 1.0 && tight > 0.5, "cutoff %s/%s self %s d %d: error %g of its bound, bound tight for %.2f of the particles", o.field, DSKernelTypes[o.kernel], DSSelfPairs[o.self], (int)dim, ratio, tight);
      }
}
END_TEST

Suite *ds_suite_fields(void)
{
  Suite *s  = suite_create("fields");
  TCase *tc = tcase_create("fields");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, fields_match_brute_force_with_samples);
  tcase_add_test(tc, fields_match_brute_force_analytic);
  tcase_add_test(tc, pair_schedules_match_brute_force);
  tcase_add_test(tc, gaussian_displacement_is_h2_conservative);
  tcase_add_test(tc, conservative_jacobian_is_symmetric_laplace_is_not);
  tcase_add_test(tc, cutoff_fields_within_their_bound);
  suite_add_tcase(s, tc);
  return s;
}
