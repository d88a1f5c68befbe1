/* Tests of the theorem's state-dependent quantities (ds_stein.h) and of the identity the
   program reports, against computations written here:
   - SD_t against central differences of the field's divergence (ds_field_evaluate_at at
     x_i +- e e_c, the particles held fixed) plus v . grad log nu_h in closed form (analytic
     target) or from the samples' KDE by a double loop (sample target), to 1e-7;
   - J_t's Monte Carlo against a dense Simpson quadrature of integral rho_h |v|^2 in d = 1,
     v and rho_h by double loops, within 3 standard errors;
   - the identity's gap (right side minus left side, the program's own output attribute)
     over 20 seeds at small N: its mean is >= 0 within its standard error.
   N is never a multiple of the rank count (37, 29, 13 particles at 1 to 4 ranks). */
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <hdf5.h>
#include "ds_test.h"
#include "ds_stein.h"
#include "ds_simulation.h"

/* grad log of the samples' gaussian KDE at z (d <= 3), by a double loop. */
static void sample_score(const double *Y, PetscInt m, PetscInt d, double h, const double *z, double *grad)
{
  double w = 0, g[3] = {0, 0, 0};
  for (PetscInt k = 0; k < m; k++) {
    const double kk = exp(-ds_test_squared_distance(z, Y + k * d, d) / (2 * h * h));
    w += kk;
    for (PetscInt c = 0; c < d; c++) g[c] += kk * (Y[k * d + c] - z[c]) / (h * h);
  }
  for (PetscInt c = 0; c < d; c++) grad[c] = g[c] / w;
}

START_TEST(stein_drift_matches_divergence_differences)
{
  const char *cases[] = {"-drift_n 37 -drift_dim 2 -drift_bandwidth 0.5 -drift_init_scale 1.2 -drift_init_mean 0.3 -drift_target_scale 0.8",
                         "-drift_n 37 -drift_dim 3 -drift_bandwidth 0.6 -drift_init_scale 1.0 -drift_target_samples 23 -drift_seed 4"};
  for (int cs = 0; cs < 2; cs++) {
    DSTestRun run;
    DSStein   stein;
    PetscReal sd;
    ds_test_run_setup(&run, ds_test_read_options(cases[cs]));
    const DSOptions *o = &run.opts;
    const PetscInt   d = o->dim, N = o->n;
    const double     h = o->bandwidth, e = 1e-5;
    PetscInt         local, start;
    VecGetLocalSize(run.X, &local);
    DS_ASSERT_PETSC(ds_stein_create(PETSC_COMM_WORLD, o, run.target, run.field, local / d, &stein));
    DS_ASSERT_PETSC(ds_stein_drift(stein, run.X, h, &sd));
    DS_ASSERT_PETSC(ds_field_evaluate(run.field, h, run.X, run.V));
    double *X = ds_test_gather_vec(run.X), *V = ds_test_gather_vec(run.V), *Y = run.target->analytic ? NULL : ds_test_gather_samples(run.target);

    /* Central differences of v at x_i +- e e_c for this rank's particles. */
    Vec Z, W;
    VecGetOwnershipRange(run.X, &start, NULL);
    const PetscInt n = local / d;
    VecCreateMPI(PETSC_COMM_WORLD, 2 * d * n * d, PETSC_DETERMINE, &Z);
    VecSetBlockSize(Z, d);
    VecDuplicate(Z, &W);
    PetscScalar *z;
    VecGetArray(Z, &z);
    for (PetscInt i = 0; i < n; i++)
      for (PetscInt c = 0; c < d; c++)
        for (int s = 0; s < 2; s++)
          for (PetscInt a = 0; a < d; a++) z[((i * d + c) * 2 + s) * d + a] = X[(start / d + i) * d + a] + (a == c ? (s ? -e : e) : 0);
    VecRestoreArray(Z, &z);
    DS_ASSERT_PETSC(ds_field_evaluate_at(run.field, h, run.X, Z, W));
    const PetscScalar *w;
    double             local_sum = 0, total;
    VecGetArrayRead(W, &w);
    for (PetscInt i = 0; i < n; i++) {
      const double *x = &X[(start / d + i) * d], *v = &V[(start / d + i) * d];
      double        divergence = 0, grad_nu[3], drift = 0;
      for (PetscInt c = 0; c < d; c++) divergence += (w[((i * d + c) * 2 + 0) * d + c] - w[((i * d + c) * 2 + 1) * d + c]) / (2 * e);
      if (Y) sample_score(Y, run.target->samples_global, d, h, x, grad_nu);
      else
        for (PetscInt c = 0; c < d; c++) grad_nu[c] = -x[c] / (PetscSqr(o->target_scale) + h * h);
      for (PetscInt c = 0; c < d; c++) drift += v[c] * grad_nu[c];
      local_sum += divergence + drift;
    }
    VecRestoreArrayRead(W, &w);
    (void)MPI_Allreduce(&local_sum, &total, 1, MPI_DOUBLE, MPI_SUM, PETSC_COMM_WORLD);
    const double ref = total / N;
    DS_ASSERT_ALL(fabs(sd - ref) <= 1e-7 * fabs(ref), "case %d: SD %.12g, divergence differences %.12g", cs, (double)sd, ref);
    VecDestroy(&Z);
    VecDestroy(&W);
    PetscFree(X);
    PetscFree(V);
    PetscFree(Y);
    ds_stein_destroy(&stein);
    ds_test_run_teardown(&run);
  }
}
END_TEST

START_TEST(fisher_matches_quadrature_in_one_dimension)
{
  DSTestRun run;
  DSStein   stein;
  PetscReal J, se;
  PetscInt  local;
  ds_test_run_setup(&run, ds_test_read_options("-drift_n 29 -drift_dim 1 -drift_bandwidth 0.5 -drift_init_scale 1.5 -drift_target_scale 0.7 -drift_fisher_draws 64 -drift_seed 3"));
  const double h = run.opts.bandwidth, sigma2 = PetscSqr(run.opts.target_scale);
  const int    N = (int)run.opts.n;
  VecGetLocalSize(run.X, &local);
  DS_ASSERT_PETSC(ds_stein_create(PETSC_COMM_WORLD, &run.opts, run.target, run.field, local, &stein));
  DS_ASSERT_PETSC(ds_stein_fisher(stein, run.X, h, 5, &J, &se));
  double *X = ds_test_gather_vec(run.X), lo = X[0], hi = X[0], sum = 0;
  for (int j = 0; j < N; j++) lo = PetscMin(lo, X[j]), hi = PetscMax(hi, X[j]);
  lo -= 12 * h;
  hi += 12 * h;
  const int n = 40000;
  for (int q = 0; q <= n; q++) {
    const double x = lo + (hi - lo) * q / n;
    double       k = 0, m = 0;
    for (int j = 0; j < N; j++) {
      const double kj = exp(-PetscSqr(x - X[j]) / (2 * h * h));
      k += kj;
      m += kj * (X[j] - x) / (h * h);
    }
    const double rho = k / N / sqrt(2 * M_PI * h * h), v = -x / (sigma2 + h * h) - m / k;
    sum += (q == 0 || q == n ? 1 : q % 2 ? 4 : 2) * rho * v * v;
  }
  const double ref = sum * (hi - lo) / n / 3;
  DS_ASSERT_ALL(se > 0 && fabs(J - ref) <= 3 * se, "J %.8g +- %.2g, quadrature %.8g", (double)J, (double)se, ref);
  PetscFree(X);
  ds_stein_destroy(&stein);
  ds_test_run_teardown(&run);
}
END_TEST

/* The program run on one rank (PETSC_COMM_SELF) on a fresh options database holding `args`:
   its root attribute `name` in *value; 0 on success. */
static PetscErrorCode run_attribute_alone(const char *args, const char *path, const char *name, double *value)
{
  PetscOptions db;
  hid_t        f, a;

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsCreate(&db));
  PetscCall(PetscOptionsPush(db));
  PetscCall(PetscOptionsInsertString(NULL, args));
  const PetscErrorCode ierr = ds_simulation_run(PETSC_COMM_SELF);
  PetscCall(PetscOptionsPop());
  PetscCall(PetscOptionsDestroy(&db));
  PetscCall(ierr);
  PetscCheck((f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open %s", path);
  PetscCheck((a = H5Aopen(f, name, H5P_DEFAULT)) >= 0 && H5Aread(a, H5T_NATIVE_DOUBLE, value) >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "no attribute %s in %s", name, path);
  H5Aclose(a);
  H5Fclose(f);
  unlink(path);
  PetscFunctionReturn(0);
}

/* The identity's gap over 20 seeds: each run on one rank, the seeds dealt round the ranks
   (the runs are rank-count independent, which suite cli tests; in one communicator the 20
   small runs' collectives cost more than their arithmetic, 47 s at 4 oversubscribed ranks
   against 5 s at 1), the gaps summed over the ranks. */
START_TEST(identity_gap_is_nonnegative_over_seeds)
{
  enum { SEEDS = 20 };
  char        base[PETSC_MAX_PATH_LEN], path[PETSC_MAX_PATH_LEN + 16], args[PETSC_MAX_PATH_LEN + 512];
  double      gap[SEEDS] = {0}, mean = 0, var = 0;
  int         ok         = 1;
  PetscMPIInt rank, size;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  DS_ASSERT_PETSC(ds_test_path("stein", "identity", base, sizeof(base)));
  for (int s = rank; s < SEEDS; s += size) {
    snprintf(path, sizeof(path), "%s_%d.h5", base, s);
    snprintf(args, sizeof(args), "-drift_n 13 -drift_dim 1 -drift_bandwidth 0.5 -drift_init_scale 1.5 -drift_init_mean 0.5 -ts_dt 0.01 -ts_max_steps 100 -drift_seed %d -drift_output %s -drift_diagnostics theorem -drift_diagnostics_every 1 -drift_monitor 0", s + 1, path);
    ok = ok && !run_attribute_alone(args, path, "identity_gap", &gap[s]);
  }
  DS_ASSERT_ALL(ok, "a run of the seeds failed on rank %d", (int)rank);
  (void)MPI_Allreduce(MPI_IN_PLACE, gap, SEEDS, MPI_DOUBLE, MPI_SUM, PETSC_COMM_WORLD);
  for (int s = 0; s < SEEDS; s++) mean += gap[s] / SEEDS;
  for (int s = 0; s < SEEDS; s++) var += PetscSqr(gap[s] - mean) / (SEEDS - 1);
  const double se = sqrt(var / SEEDS);
  DS_ASSERT_ALL(isfinite(mean) && mean >= -se, "identity gap over %d seeds: mean %g, standard error %g", SEEDS, mean, se);
}
END_TEST

Suite *ds_suite_stein(void)
{
  Suite *s  = suite_create("stein");
  TCase *tc = tcase_create("stein");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, stein_drift_matches_divergence_differences);
  tcase_add_test(tc, fisher_matches_quadrature_in_one_dimension);
  suite_add_tcase(s, tc);
  /* Tagged "size" (left out of the instrumented runs, tools/run-tests): a statistic over 20
     runs through the paths of one, which the instrumented command-line case cli takes (its
     runs write the theorem group, on by default). */
  TCase *seeds = tcase_create("stein_seeds");
  tcase_set_timeout(seeds, 300);
  tcase_set_tags(seeds, "size");
  tcase_add_test(seeds, identity_gap_is_nonnegative_over_seeds);
  suite_add_tcase(s, seeds);
  return s;
}
