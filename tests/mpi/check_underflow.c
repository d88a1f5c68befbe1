/* The underflowed_particles diagnostic of the conservative, displacement and joint fields
   against a brute-force count: the particles whose kernel value to every other particle
   and every target sample underflowed (each then feels no drift). Bandwidths from "nothing
   underflows" through "some particles" to "all of them", at whatever rank count. */
#include <math.h>
#include "ds_test.h"

/* The program's kernel values below 2^(-1021 - 1/32) of the peak are 0 (kernels.c); its
   exponential has a relative error of about eps, so a value within 1e-3 of that line may
   fall either side. */
#define FLUSH_LINE 4.3839e-308

/* Brute force: particles whose kernel value to every other particle and every target
   sample is below the flush line: at least *lower of them (values clearly below) and at
   most *upper (values not clearly above). */
static void brute_force_count(const DSTestRun *run, PetscInt *lower, PetscInt *upper)
{
  const PetscInt d = run->opts.dim, n = run->opts.n, m = run->target->samples_global;
  double        *x = ds_test_gather_vec(run->X), *y = ds_test_gather_samples(run->target);
  *lower = *upper = 0;
  for (PetscInt i = 0; i < n; i++) {
    double largest = 0; /* the largest kernel value of particle i */
    for (PetscInt c = 0; c < m; c++) largest = fmax(largest, ds_test_kernel(run->opts.kernel, run->opts.bandwidth, run->opts.imq_beta, ds_test_squared_distance(&x[i * d], &y[c * d], d)));
    for (PetscInt j = 0; j < n; j++)
      if (j != i) largest = fmax(largest, ds_test_kernel(run->opts.kernel, run->opts.bandwidth, run->opts.imq_beta, ds_test_squared_distance(&x[i * d], &x[j * d], d)));
    *lower += largest < 0.999 * FLUSH_LINE;
    *upper += largest < 1.001 * FLUSH_LINE;
  }
  PetscFree(x);
  PetscFree(y);
}

START_TEST(underflowed_particles_match_brute_force)
{
  static const struct {
    const char  *field;
    DSKernelType kernel;
    PetscInt     dim;
  } fields[] = {
    {"conservative", DS_KERNEL_GAUSSIAN, 2},
    {"displacement", DS_KERNEL_LAPLACE, 3},
    {"joint", DS_KERNEL_LAPLACE, 3},
    {"joint", DS_KERNEL_GAUSSIAN, 2},
  };
  const PetscReal bandwidths[] = {0.5, 0.05, 3e-3, 1e-3, 1e-6};
  int             some         = 0; /* configurations with 0 < count < N: the count is exercised */
  for (size_t fi = 0; fi < sizeof(fields) / sizeof(fields[0]); fi++)
    for (size_t b = 0; b < sizeof(bandwidths) / sizeof(bandwidths[0]); b++) {
      DSTestRun run;
      DSOptions o = ds_test_options();
      o.n = 37, o.dim = fields[fi].dim, o.seed = 7, o.target_samples = 23, o.kernel = fields[fi].kernel, o.bandwidth = bandwidths[b];
      o.init_mean = 0.5, o.init_scale = 1.5, o.monitor_every = 0;
      snprintf(o.field, sizeof(o.field), "%s", fields[fi].field);
      o.self = !strcmp(o.field, "joint") ? DS_SELF_EXCLUDE : DS_SELF_INCLUDE;
      ds_test_run_setup(&run, o);
      PetscInt  want, upper;
      PetscReal got = NAN;
      brute_force_count(&run, &want, &upper);
      DS_ASSERT_PETSC(ds_field_set_diagnostics(run.field, PETSC_TRUE));
      DS_ASSERT_PETSC(ds_field_evaluate(run.field, o.bandwidth, run.X, run.V));
      DS_ASSERT_PETSC(ds_field_get_diagnostic(run.field, "underflowed_particles", &got));
      DS_ASSERT_ALL(got >= (PetscReal)want && got <= (PetscReal)upper, "%s %s d %d h %g: underflowed_particles %g, brute force %d to %d", o.field, DSKernelTypes[o.kernel], (int)o.dim, (double)o.bandwidth, (double)got, (int)want, (int)upper);
      if (b == sizeof(bandwidths) / sizeof(bandwidths[0]) - 1) DS_ASSERT_ALL(want == o.n, "%s: h = 1e-6 does not underflow every particle (%d)", o.field, (int)want);
      if (b == 0) DS_ASSERT_ALL(want == 0, "%s: h = 0.5 underflows %d particles", o.field, (int)want);
      some += want > 0 && want < o.n;
      ds_test_run_teardown(&run);
    }
  DS_ASSERT_ALL(some >= 2, "only %d configurations with some but not all particles underflowed", some);
}
END_TEST

/* An analytic target's exact score always acts: no particle is counted, whatever h. */
START_TEST(analytic_target_counts_none)
{
  DSTestRun run;
  DSOptions o = ds_test_options();
  PetscReal got = NAN;
  o.n = 37, o.bandwidth = 1e-6, o.monitor_every = 0;
  ds_test_run_setup(&run, o);
  DS_ASSERT_PETSC(ds_field_set_diagnostics(run.field, PETSC_TRUE));
  DS_ASSERT_PETSC(ds_field_evaluate(run.field, o.bandwidth, run.X, run.V));
  DS_ASSERT_PETSC(ds_field_get_diagnostic(run.field, "underflowed_particles", &got));
  DS_ASSERT_ALL(got == 0, "analytic target: underflowed_particles %g", (double)got);
  ds_test_run_teardown(&run);
}
END_TEST

Suite *ds_suite_underflow(void)
{
  Suite *s  = suite_create("underflow");
  TCase *tc = tcase_create("underflow");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, underflowed_particles_match_brute_force);
  tcase_add_test(tc, analytic_target_counts_none);
  suite_add_tcase(s, tc);
  return s;
}
