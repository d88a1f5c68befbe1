/* The divergence guard (guard.c) against brute force written here: its centre and extent
   from every particle and target point gathered on every rank; its verdict on states just
   inside and just outside its radius, and the fastest particle it names; and the speed
   bounds it adds per step, checked against the fields evaluated at ordinary and
   adversarial states (each field's largest speed must stay below the bound of the
   smallest ball holding the particles and the data, as guard.c derives). */
#include <math.h>
#include <stdlib.h>
#include "ds_test.h"
#include "ds_guard.h"

/* Brute force over every point gathered on every rank: the middle c of the bounding box of
   the particles x [n][d] and the target (samples y [m][d], or the mixture's means, as
   component balls of DS_GUARD_COMPONENT_RADII RMS radii when component_radii), into centre,
   and the largest distance E from c to one of them, returned. */
static double brute_force_ball(const DSTestRun *run, PetscBool component_radii, double *centre)
{
  const PetscInt   d = run->opts.dim, n = run->opts.n;
  const DSMixture *mix = run->target->mixture;
  const PetscBool  analytic = run->target->analytic;
  const PetscInt   m = analytic ? mix->components : run->target->samples_global;
  double          *x = ds_test_gather_vec(run->X), *y = analytic ? NULL : ds_test_gather_samples(run->target);
  double           lo[8], hi[8], extent = 0, *radius = calloc((size_t)m + 1, sizeof(double));
  ck_assert(d <= 8 && radius);
  for (PetscInt k = 0; k < m; k++) {
    double trace = 0;
    for (PetscInt j = 0; analytic && j < d; j++) trace += mix->covariances[k * d * d + j * d + j];
    radius[k] = analytic && component_radii ? 3.0 * sqrt(trace) : 0.0;
  }
  const double *point[2] = {x, analytic ? mix->means : y};
  const PetscInt count[2] = {n, m};
  for (PetscInt j = 0; j < d; j++) lo[j] = INFINITY, hi[j] = -INFINITY;
  for (int s = 0; s < 2; s++)
    for (PetscInt p = 0; p < count[s]; p++)
      for (PetscInt j = 0; j < d; j++) {
        const double r = s ? radius[p] : 0.0;
        lo[j]          = fmin(lo[j], point[s][p * d + j] - r);
        hi[j]          = fmax(hi[j], point[s][p * d + j] + r);
      }
  for (PetscInt j = 0; j < d; j++) centre[j] = 0.5 * (lo[j] + hi[j]);
  for (int s = 0; s < 2; s++)
    for (PetscInt p = 0; p < count[s]; p++) extent = fmax(extent, sqrt(ds_test_squared_distance(&point[s][p * d], centre, d)) + (s ? radius[p] : 0.0));
  free(radius);
  PetscFree(x);
  PetscFree(y);
  return extent;
}

/* The configurations: options changed from the defaults. */
static DSOptions configuration(int which)
{
  DSOptions o = ds_test_options();
  o.n = 37, o.seed = 5, o.monitor_every = 0, o.init_mean = 0.5, o.init_scale = 1.5;
  switch (which) {
  case 0: o.target_samples = 23; break;                                 /* gaussian samples, distributed */
  case 1: o.target_samples = 23, o.replicate_data = PETSC_TRUE; break;  /* replicated */
  case 2: o.target = DS_TARGET_GMM8, o.target_samples = 0, o.target_scale = 0.7; break; /* analytic mixture */
  case 3: o.dim = 3, o.init = DS_INIT_UNIFORM, o.init_mean = -4, o.target_samples = 11, o.target_scale = 0.3; break;
  default: o.target = DS_TARGET_GAUSSIAN, o.target_samples = 0, o.init_mean = 30; break; /* analytic, far cloud */
  }
  return o;
}
#define NCONFIGURATIONS 5

START_TEST(ball_matches_brute_force)
{
  for (int c = 0; c < NCONFIGURATIONS; c++) {
    DSTestRun run;
    DSGuard   guard;
    double    centre[8], extent;
    ds_test_run_setup(&run, configuration(c));
    DS_ASSERT_PETSC(ds_guard_create(PETSC_COMM_WORLD, &run.opts, run.target, run.X, &guard));
    extent = brute_force_ball(&run, PETSC_TRUE, centre);
    for (PetscInt j = 0; j < run.opts.dim; j++) DS_ASSERT_ALL(ds_test_reldiff(guard.centre[j], centre[j], 1e-300) < 1e-14, "configuration %d: centre[%d] %.17g, brute force %.17g", c, (int)j, (double)guard.centre[j], centre[j]);
    DS_ASSERT_ALL(ds_test_reldiff(guard.extent, extent, 1e-300) < 1e-14, "configuration %d: extent %.17g, brute force %.17g", c, (double)guard.extent, extent);
    /* R = 4 E + dt v_max(D = 8 E): the conservative gaussian field's bound is D / h^2 with
       samples, 2 D / h^2 with a mixture. */
    const double dt = 0.3, h = run.opts.bandwidth, v_max = (run.target->analytic ? 2.0 : 1.0) * 8.0 * extent / (h * h);
    DS_ASSERT_ALL(ds_test_reldiff(ds_guard_radius(&guard, dt, h), 4.0 * extent + dt * v_max, 1e-300) < 1e-14, "configuration %d: radius %.17g, expected %.17g", c, (double)ds_guard_radius(&guard, dt, h), 4.0 * extent + dt * v_max);
    DS_ASSERT_PETSC(ds_guard_destroy(&guard));
    ds_test_run_teardown(&run);
  }
}
END_TEST

/* X = c + s (P - c) for the previous state P, every rank's rows. */
static void scale_about(Vec X, Vec P, const DSGuard *guard, double s)
{
  const PetscScalar *p;
  PetscScalar       *x;
  PetscInt           n;
  VecGetLocalSize(X, &n);
  VecGetArrayRead(P, &p);
  VecGetArray(X, &x);
  for (PetscInt i = 0; i < n; i++) x[i] = guard->centre[i % guard->dim] + s * (p[i] - guard->centre[i % guard->dim]);
  VecRestoreArray(X, &x);
  VecRestoreArrayRead(P, &p);
}

/* States scaled about the centre so that the farthest particle is just inside, then just
   outside the radius: only the second trips, naming the particle that moved farthest
   (brute force over the gathered states); a NaN position trips too. */
START_TEST(trips_only_outside_and_names_the_fastest)
{
  for (int c = 0; c < NCONFIGURATIONS; c++) {
    DSTestRun run;
    DSGuard   guard;
    Vec       X;
    char      problem[1024];
    ds_test_run_setup(&run, configuration(c));
    DS_ASSERT_PETSC(ds_guard_create(PETSC_COMM_WORLD, &run.opts, run.target, run.X, &guard));
    VecDuplicate(run.X, &X);
    const double dt = 0.05, h = run.opts.bandwidth, radius = ds_guard_radius(&guard, dt, h);
    const PetscInt d = run.opts.dim;
    double *p = ds_test_gather_vec(run.X), far = 0;
    for (PetscInt i = 0; i < run.opts.n; i++) far = fmax(far, sqrt(ds_test_squared_distance(&p[i * d], guard.centre, d)));
    const double factors[2] = {0.999 * radius / far, 1.001 * radius / far};
    for (int k = 0; k < 2; k++) {
      scale_about(X, run.X, &guard, factors[k]);
      DS_ASSERT_PETSC(ds_guard_check(&guard, X, run.X, 12, 0.6, dt, h, problem, sizeof(problem)));
      if (!k) {
        DS_ASSERT_ALL(!problem[0], "configuration %d: a state inside the radius tripped: %s", c, problem);
        continue;
      }
      /* Brute force: the particle with the largest |x_i - p_i| (the first of equals). */
      double  *x = ds_test_gather_vec(X), best = -1, speed;
      PetscInt fastest = -1;
      for (PetscInt i = 0; i < run.opts.n; i++) {
        const double move = sqrt(ds_test_squared_distance(&x[i * d], &p[i * d], d));
        if (move > best) best = move, fastest = i;
      }
      speed = best / dt;
      char expected[256];
      snprintf(expected, sizeof(expected), "the fastest particle over the step is particle %d, at speed ", (int)fastest);
      const char *at = strstr(problem, expected);
      DS_ASSERT_ALL(strstr(problem, "left the guard's ball at step 12 (t = 0.6") && at, "configuration %d: expected '%s...' in: %s", c, expected, problem);
      DS_ASSERT_ALL(ds_test_reldiff(atof(at + strlen(expected)), speed, 1e-300) < 1e-5, "configuration %d: speed %s, brute force %.6g", c, at + strlen(expected), speed);
      PetscFree(x);
    }
    /* A NaN coordinate of the last particle (on the last rank) counts as infinitely far. */
    PetscScalar *x;
    PetscInt     n;
    VecCopy(run.X, X);
    VecGetLocalSize(X, &n);
    VecGetArray(X, &x);
    if (n && PetscGlobalRank == PetscGlobalSize - 1) x[n - 1] = NAN;
    VecRestoreArray(X, &x);
    DS_ASSERT_PETSC(ds_guard_check(&guard, X, run.X, 3, 0.15, dt, h, problem, sizeof(problem)));
    DS_ASSERT_ALL(strstr(problem, "at step 3") != NULL, "configuration %d: a NaN position did not trip: '%s'", c, problem);
    PetscFree(p);
    VecDestroy(&X);
    DS_ASSERT_PETSC(ds_guard_destroy(&guard));
    ds_test_run_teardown(&run);
  }
}
END_TEST

/* Moves the particles of X into two tight clusters at c +- a e_1 (odd and even indices), the
   adversarial state of the displacement-type fields: every particle's mean over the others
   is far from it. */
static void two_clusters(Vec X, const DSGuard *guard, double a)
{
  PetscScalar *x;
  PetscInt     n, start;
  VecGetLocalSize(X, &n);
  VecGetOwnershipRange(X, &start, NULL);
  VecGetArray(X, &x);
  for (PetscInt i = 0; i < n; i++) {
    const PetscInt particle = (start + i) / guard->dim, j = (start + i) % guard->dim;
    x[i] = guard->centre[j] + (j == 0 ? (particle % 2 ? a : -a) : 0.0) + 1e-3 * sin(7.0 * (double)(start + i));
  }
  VecRestoreArray(X, &x);
}

/* Every field's largest speed, at the initial cloud, at two far clusters and at a cloud far
   from the target, is at most the guard's bound for the state's diameter. */
START_TEST(speed_bounds_hold)
{
  static const struct {
    const char  *field;
    DSKernelType kernel;
    PetscInt     samples; /* 0: the analytic target */
    DSSelfPair   self;
  } fields[] = {
    {"conservative", DS_KERNEL_GAUSSIAN, 29, DS_SELF_INCLUDE}, {"conservative", DS_KERNEL_GAUSSIAN, 0, DS_SELF_INCLUDE}, {"conservative", DS_KERNEL_GAUSSIAN, 29, DS_SELF_EXCLUDE},
    {"conservative", DS_KERNEL_IMQ, 29, DS_SELF_INCLUDE},      {"displacement", DS_KERNEL_LAPLACE, 29, DS_SELF_EXCLUDE}, {"displacement", DS_KERNEL_GAUSSIAN, 0, DS_SELF_INCLUDE},
    {"displacement", DS_KERNEL_IMQ, 29, DS_SELF_INCLUDE},      {"joint", DS_KERNEL_LAPLACE, 29, DS_SELF_EXCLUDE},        {"joint", DS_KERNEL_GAUSSIAN, 7, DS_SELF_EXCLUDE},
    {"multitemperature", DS_KERNEL_LAPLACE, 29, DS_SELF_EXCLUDE},
  };
  const double h[2] = {0.4, 2.5};
  for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
    for (int state = 0; state < 3; state++)
      for (int b = 0; b < 2; b++) {
        DSTestRun run;
        DSGuard   guard;
        DSOptions o = ds_test_options();
        o.n = 31, o.seed = 3, o.monitor_every = 0, o.init_scale = 1.2, o.init_mean = state == 2 ? 6.0 : 0.3;
        o.kernel = fields[f].kernel, o.target_samples = fields[f].samples, o.self = fields[f].self, o.bandwidth = h[b];
        snprintf(o.field, sizeof(o.field), "%s", fields[f].field);
        ds_test_run_setup(&run, o);
        DS_ASSERT_PETSC(ds_guard_create(PETSC_COMM_WORLD, &run.opts, run.target, run.X, &guard));
        if (state == 1) two_clusters(run.X, &guard, 5.0);
        DS_ASSERT_PETSC(ds_field_evaluate(run.field, o.bandwidth, run.X, run.V));
        PetscReal speed = 0;
        PetscInt  n;
        const PetscScalar *v;
        VecGetLocalSize(run.V, &n);
        VecGetArrayRead(run.V, &v);
        for (PetscInt i = 0; i < n; i += o.dim) {
          double s2 = 0;
          for (PetscInt j = 0; j < o.dim; j++) s2 += v[i + j] * v[i + j];
          speed = PetscMax(speed, sqrt(s2));
        }
        VecRestoreArrayRead(run.V, &v);
        MPI_Allreduce(MPI_IN_PLACE, &speed, 1, MPIU_REAL, MPI_MAX, PETSC_COMM_WORLD);
        double       centre[8]; /* D: the smallest diameter the bounds may be given, the data a mixture's means */
        const double D = 2 * brute_force_ball(&run, PETSC_FALSE, centre), bound = ds_guard_speed_bound(&guard, D, o.bandwidth);
        DS_ASSERT_ALL(isfinite(bound) && speed <= bound * (1 + 1e-12), "%s %s M %d self %s, state %d, h %g: speed %.6g above the bound %.6g (D = %.6g)", o.field, DSKernelTypes[o.kernel], (int)o.target_samples, DSSelfPairs[o.self], state, o.bandwidth, (double)speed, bound, D);
        DS_ASSERT_PETSC(ds_guard_destroy(&guard));
        ds_test_run_teardown(&run);
      }
}
END_TEST

Suite *ds_suite_guard(void)
{
  Suite *s  = suite_create("guard");
  TCase *tc = tcase_create("guard");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, ball_matches_brute_force);
  tcase_add_test(tc, trips_only_outside_and_names_the_fastest);
  tcase_add_test(tc, speed_bounds_hold);
  suite_add_tcase(s, tc);
  return s;
}
