/* The Sinkhorn solver, field and divergence (ds_sinkhorn.h, ds_kernels_lse.h) against a
   dense log-domain Sinkhorn written here in long double over the gathered points, at the
   rank count the suite runs with: N = 37 particles (not a multiple of 2, 3 or 4) and M = 23
   samples, partitioned and replicated, d = 1, 2, 3 and 5, squared and euclidean costs,
   the self pair kept and excluded. Plus the LSE micro-kernel against long double where
   every term underflows in double. check_sinkhorn_convergence.c adds the warm start, the
   eps-scaling and the non-convergence error. */
#include <math.h>
#include <string.h>
#include "sinkhorn_test.h"
#include "ds_init.h"
#include "ds_kernels_lse.h"

typedef long double LD;

#define MAX_DIM 5

/* Coordinate c of point i of a set (seed): irregular values in [-1.5, 1.5) + shift. */
static double point_value(PetscInt i, PetscInt c, double seed, double shift)
{
  const double s = sin(12.9898 * (i + 1) + 78.233 * (c + 1) + seed) * 43758.5453;
  return 3.0 * (s - floor(s) - 0.5) + shift;
}

void sinkhorn_points(PetscInt count, PetscInt d, double seed, double shift, double *rows)
{
  for (PetscInt i = 0; i < count; i++)
    for (PetscInt c = 0; c < d; c++) rows[i * d + c] = point_value(i, c, seed, shift);
}

/* This rank's share [start, start + local) of count items in PETSc's split. */
static void split(PetscInt count, PetscInt *start, PetscInt *local)
{
  const PetscInt P = PetscGlobalSize, r = PetscGlobalRank;
  *local = count / P + (r < count % P);
  *start = r * (count / P) + PetscMin(r, count % P);
}

/* Every rank's copy of a distributed array of `count` items of `width` numbers, this rank's
   `local` items in `mine`. */
static void gather(const PetscReal *mine, PetscInt local, PetscInt width, PetscInt count, double *all)
{
  PetscMPIInt size, n = (PetscMPIInt)(local * width), counts[64], displs[64];

  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  (void)MPI_Allgather(&n, 1, MPI_INT, counts, 1, MPI_INT, PETSC_COMM_WORLD);
  displs[0] = 0;
  for (int p = 1; p < size; p++) displs[p] = displs[p - 1] + counts[p - 1];
  ck_assert(displs[size - 1] + counts[size - 1] == count * width);
  (void)MPI_Allgatherv(mine, n, MPI_DOUBLE, all, counts, displs, MPI_DOUBLE, PETSC_COMM_WORLD);
}

/* ---- the dense reference, long double ---- */

typedef struct {
  DSSinkhornCost cost;
  LD             eps;
  PetscInt       d;
} Dense;

static LD dense_cost(const Dense *D, const double *x, const double *y)
{
  LD r2 = 0;
  for (PetscInt c = 0; c < D->d; c++) r2 += ((LD)x[c] - y[c]) * ((LD)x[c] - y[c]);
  return D->cost == DS_SINKHORN_COST_SQUARED ? r2 / 2 : sqrtl(r2);
}

/* -eps log sum_j (1/m) exp((pot_j - c(z, y_j)) / eps) over j != skip, by its own
   log-sum-exp (the largest exponent first). */
static LD dense_softmin(const Dense *D, const double *z, PetscInt m, const double *Y, const LD *pot, PetscInt skip)
{
  LD top = -INFINITY, sum = 0;
  for (PetscInt j = 0; j < m; j++)
    if (j != skip) top = fmaxl(top, (pot[j] - dense_cost(D, z, &Y[j * D->d])) / D->eps);
  for (PetscInt j = 0; j < m; j++)
    if (j != skip) sum += expl((pot[j] - dense_cost(D, z, &Y[j * D->d])) / D->eps - top);
  return -D->eps * (top + logl(sum / m));
}

/* The two-sided problem to a fixed point: f at X (n), g at Y (m); the potentials in the
   gauge <a, f> = <b, g>. Returns the iterations taken (asserts convergence). */
static int dense_pair(const Dense *D, PetscInt n, const double *X, PetscInt m, const double *Y, LD *f, LD *g)
{
  int it;
  for (PetscInt k = 0; k < m; k++) g[k] = 0;
  for (it = 1; it < 200000; it++) {
    LD change = 0;
    for (PetscInt i = 0; i < n; i++) f[i] = dense_softmin(D, &X[i * D->d], m, Y, g, -1);
    for (PetscInt k = 0; k < m; k++) {
      const LD next = dense_softmin(D, &Y[k * D->d], n, X, f, -1);
      change        = fmaxl(change, fabsl(next - g[k]));
      g[k]          = next;
    }
    if (change < 1e-17L * D->eps) break;
  }
  ck_assert_msg(it < 200000, "the dense pair solve did not converge");
  LD mean_f = 0, mean_g = 0;
  for (PetscInt i = 0; i < n; i++) mean_f += f[i] / n;
  for (PetscInt k = 0; k < m; k++) mean_g += g[k] / m;
  for (PetscInt i = 0; i < n; i++) f[i] += (mean_g - mean_f) / 2;
  for (PetscInt k = 0; k < m; k++) g[k] -= (mean_g - mean_f) / 2;
  return it;
}

/* The symmetric problem of the points X (n): p = T(p) by the averaged iteration, the pair
   j = i left out when exclude. */
static void dense_self(const Dense *D, PetscInt n, const double *X, PetscBool exclude, LD *p)
{
  LD  next[N_PARTICLES];
  int it;
  ck_assert(n <= N_PARTICLES);
  for (PetscInt i = 0; i < n; i++) p[i] = 0;
  for (it = 1; it < 200000; it++) {
    LD change = 0;
    for (PetscInt i = 0; i < n; i++) next[i] = dense_softmin(D, &X[i * D->d], n, X, p, exclude ? i : -1);
    for (PetscInt i = 0; i < n; i++) {
      change = fmaxl(change, fabsl(next[i] - p[i]));
      p[i]   = (p[i] + next[i]) / 2;
    }
    if (change < 1e-17L * D->eps) break;
  }
  ck_assert_msg(it < 200000, "the dense self solve did not converge");
}

/* grad_x c(x, y) into out (euclidean: 0 at x = y). */
static void dense_cost_gradient(const Dense *D, const double *x, const double *y, LD *out)
{
  LD r2 = 0;
  for (PetscInt c = 0; c < D->d; c++) r2 += ((LD)x[c] - y[c]) * ((LD)x[c] - y[c]);
  for (PetscInt c = 0; c < D->d; c++) out[c] = D->cost == DS_SINKHORN_COST_SQUARED ? (LD)x[c] - y[c] : (r2 > 0 ? ((LD)x[c] - y[c]) / sqrtl(r2) : 0);
}

/* The row-normalised plan's mean at x of grad c (pot the column potentials, skip left
   out), and its barycentric projection sum pi y / sum pi into bary. */
static void dense_plan_means(const Dense *D, const double *x, PetscInt m, const double *Y, const LD *pot, PetscInt skip, LD *gradient, LD *bary)
{
  LD top = -INFINITY, sum = 0, gc[MAX_DIM];
  for (PetscInt c = 0; c < D->d; c++) gradient[c] = bary[c] = 0;
  for (PetscInt j = 0; j < m; j++)
    if (j != skip) top = fmaxl(top, (pot[j] - dense_cost(D, x, &Y[j * D->d])) / D->eps);
  for (PetscInt j = 0; j < m; j++) {
    if (j == skip) continue;
    const LD w = expl((pot[j] - dense_cost(D, x, &Y[j * D->d])) / D->eps - top);
    dense_cost_gradient(D, x, &Y[j * D->d], gc);
    sum += w;
    for (PetscInt c = 0; c < D->d; c++) gradient[c] += w * gc[c], bary[c] += w * Y[j * D->d + c];
  }
  for (PetscInt c = 0; c < D->d; c++) gradient[c] /= sum, bary[c] /= sum;
}

/* Largest relative error of the marginals of the plan pi_ij = exp((u_i + v_j - c_ij) / eps)
   / (n m) (j = i left out when exclude) against 1/n and 1/m: driftsim's potentials in
   double, summed in long double. */
static double plan_marginal_error(const Dense *D, PetscInt n, const double *X, const double *u, PetscInt m, const double *Y, const double *v, PetscBool exclude)
{
  LD     rows[N_PARTICLES] = {0}, cols[N_PARTICLES] = {0};
  double worst = 0;
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt j = 0; j < m; j++)
      if (!(exclude && i == j)) {
        const LD pi = expl(((LD)u[i] + v[j] - dense_cost(D, &X[i * D->d], &Y[j * D->d])) / D->eps) / ((LD)n * m);
        rows[i] += pi;
        cols[j] += pi;
      }
  for (PetscInt i = 0; i < n; i++) worst = ds_test_worst(worst, (double)fabsl(rows[i] * n - 1));
  for (PetscInt j = 0; j < m; j++) worst = ds_test_worst(worst, (double)fabsl(cols[j] * m - 1));
  return worst;
}

/* max |a - b| / (max |b| + floor) over count numbers. */
static double scaled_error(PetscInt count, const double *a, const LD *b, double floor_)
{
  LD worst = 0, top = 0;
  for (PetscInt k = 0; k < count; k++) worst = fmaxl(worst, fabsl(a[k] - b[k])), top = fmaxl(top, fabsl(b[k]));
  return (double)(worst / (top + floor_));
}

/* ---- driftsim's solver on the points of a case ---- */

DSSinkhornSettings sinkhorn_case_settings(const Case *k)
{
  return (DSSinkhornSettings){"check_sinkhorn", "-drift_sinkhorn_epsilon", k->cost, k->eps, 1e-13, 5000, 0.5, PETSC_TRUE, PETSC_TRUE, 5, PETSC_FALSE};
}

/* A solver over this rank's share of X (n rows) and of Y (m rows; all of them when replicated). */
DSSinkhorn sinkhorn_case_solver(const Case *k, const DSSinkhornSettings *s, PetscInt n, const double *X, PetscInt m, const double *Y)
{
  PetscInt   xs, xn, ys, yn;
  DSSinkhorn S = NULL;
  split(n, &xs, &xn);
  split(m, &ys, &yn);
  if (k->replicated) ys = 0, yn = m;
  DS_ASSERT_PETSC(ds_sinkhorn_create(PETSC_COMM_WORLD, k->d, xn, yn, &Y[ys * k->d], k->replicated, s, &S));
  DS_ASSERT_PETSC(ds_sinkhorn_set_particles(S, &X[xs * k->d]));
  return S;
}

/* Gathers one potential of the solver: over the particles (n) or the samples (m). */
void sinkhorn_gather_potential(const Case *k, const PetscReal *local, PetscBool samples, PetscInt count, double *all)
{
  PetscInt start, n;
  split(count, &start, &n);
  if (samples && k->replicated) memcpy(all, local, sizeof(double) * count);
  else gather(local, n, 1, count, all);
}

/* Puts two-sided potentials in the dense reference's gauge <a, f> = <b, g>. */
void sinkhorn_fix_gauge(PetscInt n, double *f, PetscInt m, double *g)
{
  LD mean_f = 0, mean_g = 0;
  for (PetscInt i = 0; i < n; i++) mean_f += (LD)f[i] / n;
  for (PetscInt k = 0; k < m; k++) mean_g += (LD)g[k] / m;
  for (PetscInt i = 0; i < n; i++) f[i] += (double)((mean_g - mean_f) / 2);
  for (PetscInt k = 0; k < m; k++) g[k] -= (double)((mean_g - mean_f) / 2);
}

static LD potential_scale(PetscInt n, const LD *p)
{
  LD top = 0;
  for (PetscInt i = 0; i < n; i++) top = fmaxl(top, fabsl(p[i]));
  return top;
}

/* Asserts driftsim's gradient of `problem` at the particles against the dense plan means
   (pot the dense column potentials over Y, skip_self: the pair j = i left out), and for the
   squared cost x - gradient against the barycentric projection. */
static void check_gradient(const Case *k, const Dense *D, DSSinkhorn S, DSSinkhornProblem problem, PetscInt n, const double *X, PetscInt m, const double *Y, const LD *pot, PetscBool skip_self, const char *what)
{
  PetscInt         start, local;
  const PetscReal *gradient;
  double           all[N_PARTICLES * MAX_DIM];
  LD               grad_bf[N_PARTICLES * MAX_DIM], bary_bf[N_PARTICLES * MAX_DIM], moved[N_PARTICLES * MAX_DIM], bary[MAX_DIM];

  split(n, &start, &local);
  DS_ASSERT_PETSC(ds_sinkhorn_get_gradient(S, problem, &gradient));
  gather(gradient, local, k->d, n, all);
  for (PetscInt i = 0; i < n; i++) {
    dense_plan_means(D, &X[i * k->d], m, Y, pot, skip_self ? i : -1, &grad_bf[i * k->d], bary);
    for (PetscInt c = 0; c < k->d; c++) bary_bf[i * k->d + c] = bary[c], moved[i * k->d + c] = X[i * k->d + c] - all[i * k->d + c];
  }
  const double e = scaled_error(n * k->d, all, grad_bf, 1.0);
  DS_ASSERT_ALL(e < AGREE, "%s d=%d %s%s: gradient off the dense plan mean by %g", what, (int)k->d, DSSinkhornCosts[k->cost], k->replicated ? " replicated" : "", e);
  if (k->cost == DS_SINKHORN_COST_SQUARED) {
    double moved_d[N_PARTICLES * MAX_DIM];
    for (PetscInt j = 0; j < n * k->d; j++) moved_d[j] = (double)moved[j];
    const double b = scaled_error(n * k->d, moved_d, bary_bf, 1.0);
    DS_ASSERT_ALL(b < AGREE, "%s d=%d replicated=%d: x - gradient off the barycentric projection by %g", what, (int)k->d, (int)k->replicated, b);
  }
}

/* The dense references of one point configuration. */
typedef struct {
  LD f[N_PARTICLES], g[N_PARTICLES], p_kept[N_PARTICLES], p_excluded[N_PARTICLES], q[N_PARTICLES];
} DenseSolution;

static void dense_solve_all(const Dense *D, PetscInt n, const double *X, PetscInt m, const double *Y, DenseSolution *s)
{
  dense_pair(D, n, X, m, Y, s->f, s->g);
  dense_self(D, n, X, PETSC_FALSE, s->p_kept);
  dense_self(D, n, X, PETSC_TRUE, s->p_excluded);
  dense_self(D, m, Y, PETSC_FALSE, s->q);
}

/* S_eps = <a, f - p> + <b, g - q> of the dense potentials (self pairs kept). */
static LD dense_divergence(PetscInt n, PetscInt m, const DenseSolution *s)
{
  LD sum = 0;
  for (PetscInt i = 0; i < n; i++) sum += (s->f[i] - s->p_kept[i]) / n;
  for (PetscInt k = 0; k < m; k++) sum += (s->g[k] - s->q[k]) / m;
  return sum;
}

/* The solver of case k on X and Y against the dense solution: the divergence (which solves
   the three problems, self pairs kept), the potentials, the plans' marginals from driftsim's
   potentials, the gradients; then the particles' own problem with the self pair excluded. */
static void check_case(const Case *k, PetscInt n, const double *X, PetscInt m, const double *Y, const DenseSolution *s)
{
  const DSSinkhornSettings settings = sinkhorn_case_settings(k);
  const Dense              D        = {k->cost, k->eps, k->d};
  DSSinkhorn               S        = sinkhorn_case_solver(k, &settings, n, X, m, Y);
  const PetscReal         *first, *second;
  double                   f[N_PARTICLES], g[N_PARTICLES], p[N_PARTICLES], q[N_PARTICLES], e;
  PetscReal                divergence;
  char                     what[128];

  snprintf(what, sizeof(what), "d=%d %s%s", (int)k->d, DSSinkhornCosts[k->cost], k->replicated ? " replicated" : " partitioned");
  DS_ASSERT_PETSC(ds_sinkhorn_divergence(S, &divergence));
  const LD     reference = dense_divergence(n, m, s);
  const double scale     = (double)(potential_scale(n, s->f) + potential_scale(m, s->g) + k->eps);
  DS_ASSERT_ALL(fabs(divergence - (double)reference) < AGREE * scale, "%s: divergence %.17g, dense %.17Lg", what, divergence, reference);
  DS_ASSERT_ALL(divergence > -AGREE * scale && reference > 0, "%s: divergence %.17g (dense %.17Lg) is negative", what, divergence, reference);

  DS_ASSERT_PETSC(ds_sinkhorn_get_potentials(S, DS_SINKHORN_PARTICLES_TARGET, &first, &second));
  sinkhorn_gather_potential(k, first, PETSC_FALSE, n, f);
  sinkhorn_gather_potential(k, second, PETSC_TRUE, m, g);
  e = plan_marginal_error(&D, n, X, f, m, Y, g, PETSC_FALSE);
  DS_ASSERT_ALL(e < AGREE, "%s: the plan of (f, g) misses its marginals by %g", what, e);
  sinkhorn_fix_gauge(n, f, m, g);
  e = PetscMax(scaled_error(n, f, s->f, scale), scaled_error(m, g, s->g, scale));
  DS_ASSERT_ALL(e < AGREE, "%s: f, g off the dense ones by %g", what, e);
  check_gradient(k, &D, S, DS_SINKHORN_PARTICLES_TARGET, n, X, m, Y, s->g, PETSC_FALSE, "particles-target");

  DS_ASSERT_PETSC(ds_sinkhorn_get_potentials(S, DS_SINKHORN_PARTICLES_SELF, &first, NULL));
  sinkhorn_gather_potential(k, first, PETSC_FALSE, n, p);
  e = plan_marginal_error(&D, n, X, p, n, X, p, PETSC_FALSE);
  DS_ASSERT_ALL(e < AGREE, "%s: the plan of p (self kept) misses its marginals by %g", what, e);
  e = scaled_error(n, p, s->p_kept, scale);
  DS_ASSERT_ALL(e < AGREE, "%s: p (self kept) off the dense one by %g", what, e);
  check_gradient(k, &D, S, DS_SINKHORN_PARTICLES_SELF, n, X, n, X, s->p_kept, PETSC_FALSE, "particles-self kept");

  DS_ASSERT_PETSC(ds_sinkhorn_get_potentials(S, DS_SINKHORN_TARGET_SELF, &first, NULL));
  sinkhorn_gather_potential(k, first, PETSC_TRUE, m, q);
  e = plan_marginal_error(&D, m, Y, q, m, Y, q, PETSC_FALSE);
  DS_ASSERT_ALL(e < AGREE, "%s: the plan of q misses its marginals by %g", what, e);
  e = scaled_error(m, q, s->q, scale);
  DS_ASSERT_ALL(e < AGREE, "%s: q off the dense one by %g", what, e);

  DS_ASSERT_PETSC(ds_sinkhorn_solve(S, DS_SINKHORN_PARTICLES_SELF, PETSC_TRUE));
  DS_ASSERT_PETSC(ds_sinkhorn_get_potentials(S, DS_SINKHORN_PARTICLES_SELF, &first, NULL));
  sinkhorn_gather_potential(k, first, PETSC_FALSE, n, p);
  e = plan_marginal_error(&D, n, X, p, n, X, p, PETSC_TRUE);
  DS_ASSERT_ALL(e < AGREE, "%s: the plan of p (self excluded) misses its marginals by %g", what, e);
  e = scaled_error(n, p, s->p_excluded, scale);
  DS_ASSERT_ALL(e < AGREE, "%s: p (self excluded) off the dense one by %g", what, e);
  check_gradient(k, &D, S, DS_SINKHORN_PARTICLES_SELF, n, X, n, X, s->p_excluded, PETSC_TRUE, "particles-self excluded");
  DS_ASSERT_PETSC(ds_sinkhorn_destroy(&S));
}

/* eps of a case: about a third of the mean cost, so the dense reference converges fast. */
static double case_epsilon(PetscInt d, DSSinkhornCost cost) { return cost == DS_SINKHORN_COST_SQUARED ? 0.25 * d : 0.4 * sqrt((double)d); }

START_TEST(test_solver_equals_dense_sinkhorn)
{
  const PetscInt dims[] = {1, 2, 3, 5};
  double         X[N_PARTICLES * MAX_DIM], Y[M_SAMPLES * MAX_DIM];

  for (int a = 0; a < 4; a++)
    for (int cost = 0; cost < 2; cost++) {
      const PetscInt d = dims[a];
      const Dense    D = {(DSSinkhornCost)cost, case_epsilon(d, (DSSinkhornCost)cost), d};
      DenseSolution  s;
      sinkhorn_points(N_PARTICLES, d, 0.1, 0.0, X);
      sinkhorn_points(M_SAMPLES, d, 0.7, 0.4, Y);
      dense_solve_all(&D, N_PARTICLES, X, M_SAMPLES, Y, &s);
      for (int replicated = 0; replicated < 2; replicated++) {
        const Case k = {d, (DSSinkhornCost)cost, (PetscBool)replicated, (double)D.eps};
        check_case(&k, N_PARTICLES, X, M_SAMPLES, Y, &s);
      }
    }
}
END_TEST

/* The samples are the particles: S_eps = 0 to rounding. */
START_TEST(test_divergence_of_identical_clouds_is_zero)
{
  double X[N_PARTICLES * 3];

  for (int cost = 0; cost < 2; cost++)
    for (int replicated = 0; replicated < 2; replicated++) {
      const Case         k = {3, (DSSinkhornCost)cost, (PetscBool)replicated, case_epsilon(3, (DSSinkhornCost)cost)};
      DSSinkhornSettings s = sinkhorn_case_settings(&k);
      PetscReal          divergence;
      const PetscReal   *f;
      sinkhorn_points(N_PARTICLES, 3, 0.3, 0.0, X);
      DSSinkhorn S = sinkhorn_case_solver(&k, &s, N_PARTICLES, X, N_PARTICLES, X);
      DS_ASSERT_PETSC(ds_sinkhorn_divergence(S, &divergence));
      DS_ASSERT_PETSC(ds_sinkhorn_get_potentials(S, DS_SINKHORN_PARTICLES_TARGET, &f, NULL));
      DS_ASSERT_ALL(fabs(divergence) < AGREE * (fabs(f[0]) + k.eps), "%s%s: divergence of a cloud with itself %g", DSSinkhornCosts[cost], replicated ? " replicated" : "", divergence);
      DS_ASSERT_PETSC(ds_sinkhorn_destroy(&S));
    }
}
END_TEST

/* ---- the field through ds_field_create / ds_field_evaluate ---- */

static DSOptions sinkhorn_options(PetscInt d, DSSinkhornCost cost, DSSelfPair self, PetscBool replicate)
{
  DSOptions o = ds_test_options();
  o.n = N_PARTICLES; o.dim = d; o.seed = 11;
  snprintf(o.field, sizeof(o.field), "sinkhorn"); o.self = self;
  o.target = DS_TARGET_GAUSSIAN; o.target_samples = M_SAMPLES; o.target_samples_given = PETSC_TRUE; o.replicate_data = replicate;
  o.init_mean = 0.5; o.init_scale = 1.2;
  o.sinkhorn_epsilon = case_epsilon(d, cost); o.sinkhorn_epsilon_given = PETSC_TRUE;
  o.sinkhorn_cost = cost; o.sinkhorn_tol = 1e-13; o.sinkhorn_max_iterations = 5000; o.sinkhorn_solver_given = PETSC_TRUE;
  return o;
}

/* V = grad f_self - grad f_pair = (for the squared cost) T_nu - T_mu, from the dense plans. */
START_TEST(test_field_equals_dense_sinkhorn)
{
  const PetscInt dims[] = {2, 5};

  for (int a = 0; a < 2; a++)
    for (int cost = 0; cost < 2; cost++)
      for (int self = 0; self < 2; self++) {
        const PetscInt d = dims[a];
        DSTestRun      run;
        ds_test_run_setup(&run, sinkhorn_options(d, (DSSinkhornCost)cost, (DSSelfPair)self, (PetscBool)((a + self) % 2)));
        DS_ASSERT_PETSC(ds_field_evaluate(run.field, run.opts.bandwidth, run.X, run.V));
        double       *X = ds_test_gather_vec(run.X), *V = ds_test_gather_vec(run.V), *Y = ds_test_gather_samples(run.target);
        const Dense   D = {(DSSinkhornCost)cost, run.opts.sinkhorn_epsilon, d};
        LD            f[N_PARTICLES], g[M_SAMPLES], p[N_PARTICLES], v_bf[N_PARTICLES * MAX_DIM], to_target[MAX_DIM], to_self[MAX_DIM], bary[MAX_DIM];
        const PetscBool exclude = self == DS_SELF_EXCLUDE;
        dense_pair(&D, N_PARTICLES, X, M_SAMPLES, Y, f, g);
        dense_self(&D, N_PARTICLES, X, exclude, p);
        for (PetscInt i = 0; i < N_PARTICLES; i++) {
          dense_plan_means(&D, &X[i * d], M_SAMPLES, Y, g, -1, to_target, bary);
          dense_plan_means(&D, &X[i * d], N_PARTICLES, X, p, exclude ? i : -1, to_self, bary);
          for (PetscInt c = 0; c < d; c++) v_bf[i * d + c] = to_self[c] - to_target[c];
        }
        const double e = scaled_error(N_PARTICLES * d, V, v_bf, 1.0);
        DS_ASSERT_ALL(e < AGREE, "field d=%d %s self %s: off the dense field by %g", (int)d, DSSinkhornCosts[cost], DSSelfPairs[self], e);
        PetscFree(X);
        PetscFree(V);
        PetscFree(Y);
        ds_test_run_teardown(&run);
      }
}
END_TEST

/* ---- the LSE micro-kernel ---- */

#define LSE_QUERIES 7
#define LSE_SOURCES 1300 /* three tiles of 512 */
#define LSE_DIM_MAX 16

/* Queries (global indices from q0; on_sources: at the sources of the same index), d <= LSE_DIM_MAX coordinates, against
   sources split in two calls ([0, 700) and [700, M)), all on [-8, 8]^d, with log-weights
   in [-3, 0) and eps = the smallest cost of two distinct points / 1000, so that every term
   underflows in double but a query's own; against long double. */
static void check_lse(DSSinkhornCost cost, PetscInt d, PetscInt q0, PetscBool exclude, PetscBool on_sources)
{
  static double src[LSE_SOURCES * LSE_DIM_MAX], soa[LSE_SOURCES * LSE_DIM_MAX], weight[LSE_SOURCES], part_soa[700 * LSE_DIM_MAX];
  double        qrows[LSE_QUERIES * LSE_DIM_MAX], qsoa[LSE_QUERIES * LSE_DIM_MAX], max[LSE_QUERIES], value[LSE_QUERIES], moment[LSE_DIM_MAX * LSE_QUERIES];
  DSLseSums     sums = {LSE_QUERIES, max, value, moment};
  int           underflows = 1;
  double        nearest = INFINITY;

  for (PetscInt j = 0; j < LSE_SOURCES; j++) {
    for (PetscInt c = 0; c < d; c++) src[j * d + c] = 16.0 / 3.0 * point_value(j, c, 0.9, 0.0);
    weight[j] = point_value(j, 7, 0.2, -1.5); /* log-weights in [-3, 0) */
  }
  for (PetscInt i = 0; i < LSE_QUERIES; i++)
    for (PetscInt c = 0; c < d; c++) qrows[i * d + c] = on_sources ? src[(q0 + i) * d + c] : 16.0 / 3.0 * point_value(i, c, 3.3, 0.0);
  ds_rows_to_soa(LSE_SOURCES, d, src, soa);
  ds_rows_to_soa(LSE_QUERIES, d, qrows, qsoa);
  for (PetscInt i = 0; i < LSE_QUERIES; i++) /* eps: the nearest pair at cost / eps = 1000 */
    for (PetscInt j = 0; j < LSE_SOURCES; j++)
      if (q0 + i != j || !on_sources) nearest = PetscMin(nearest, (double)dense_cost(&(Dense){cost, 1, d}, &qrows[i * d], &src[j * d]));
  const double eps = nearest / 1000;
  const Dense  D   = {cost, eps, d};
  const DSBlock query = {LSE_QUERIES, d, LSE_QUERIES, q0, qsoa, NULL};
  ds_lse_sums_reset(LSE_QUERIES, d, &sums);
  for (int part = 0; part < 2; part++) {
    const PetscInt j0 = part ? 700 : 0, j1 = part ? LSE_SOURCES : 700;
    for (PetscInt c = 0; c < d; c++)
      for (PetscInt j = j0; j < j1; j++) part_soa[c * (j1 - j0) + j - j0] = soa[c * LSE_SOURCES + j];
    const DSBlock source = {j1 - j0, d, j1 - j0, j0, part_soa, weight + j0};
    ds_kernel_lse_sums(cost, eps, &query, &source, exclude, &sums);
  }
  for (PetscInt i = 0; i < LSE_QUERIES; i++) {
    LD top = -INFINITY, sum = 0, mom[LSE_DIM_MAX] = {0}, gc[LSE_DIM_MAX];
    for (PetscInt j = 0; j < LSE_SOURCES; j++)
      if (!(exclude && q0 + i == j)) top = fmaxl(top, weight[j] - dense_cost(&D, &qrows[i * d], &src[j * d]) / eps);
    for (PetscInt j = 0; j < LSE_SOURCES; j++) {
      if (exclude && q0 + i == j) continue;
      const LD e = weight[j] - dense_cost(&D, &qrows[i * d], &src[j * d]) / eps, w = expl(e - top);
      underflows = underflows && exp((double)e) == 0;
      dense_cost_gradient(&D, &qrows[i * d], &src[j * d], gc);
      sum += w;
      for (PetscInt c = 0; c < d; c++) mom[c] += w * gc[c];
    }
    const LD rescaled = value[i] * expl((LD)max[i] - top);
    /* the shift's contract: m_i <= max_j e_ij <= m_i + 900 ln 2 (ds_kernels_lse.h) */
    ck_assert_msg(max[i] <= top + 1e-12L * (1 + fabsl(top)) && top <= max[i] + 900 * logl(2.0L) + 1e-12L * (1 + fabsl(top)), "lse %s d=%d query %d: shift %.17g, largest exponent (long double) %.17Lg", DSSinkhornCosts[cost], (int)d, (int)i, max[i], top);
    ck_assert_msg(value[i] >= 1 && fabsl(rescaled / sum - 1) < 1e-10L, "lse %s d=%d exclude=%d query %d: sum %.17Lg, long double %.17Lg", DSSinkhornCosts[cost], (int)d, (int)exclude, (int)i, rescaled, sum);
    for (PetscInt c = 0; c < d; c++)
      ck_assert_msg(fabsl(moment[c * LSE_QUERIES + i] / value[i] - mom[c] / sum) < 1e-10L * (1 + fabsl(mom[c] / sum)), "lse %s d=%d exclude=%d query %d: moment %d %.17g, long double %.17Lg", DSSinkhornCosts[cost], (int)d, (int)exclude, (int)i, (int)c, moment[c * LSE_QUERIES + i] / value[i], mom[c] / sum);
  }
  if (!on_sources || exclude) ck_assert_msg(underflows, "the case does not make every term underflow in double");
}

START_TEST(test_lse_kernel_keeps_largest_term)
{
  static const PetscInt dims[] = {2, 3, 5, 16}; /* 5 and 16: the loops' general dimension */
  for (int cost = 0; cost < 2; cost++)
    for (size_t di = 0; di < sizeof(dims) / sizeof(dims[0]); di++) {
      const PetscInt d = dims[di];
      check_lse((DSSinkhornCost)cost, d, 0, PETSC_FALSE, PETSC_FALSE);
      check_lse((DSSinkhornCost)cost, d, 600, PETSC_TRUE, PETSC_TRUE);   /* the self pair left out, in the second tile */
      check_lse((DSSinkhornCost)cost, d, 697, PETSC_TRUE, PETSC_TRUE);   /* the self pairs straddle the two calls */
      check_lse((DSSinkhornCost)cost, d, 1200, PETSC_FALSE, PETSC_TRUE); /* the self pair kept: it dominates */
    }
  /* a source block holding only the query's own point leaves the sums empty */
  const double  z[2] = {0.5, -0.25};
  double        max = -INFINITY, value = 0;
  DSLseSums     sums  = {1, &max, &value, NULL};
  const DSBlock block = {1, 2, 1, 4, z, NULL};
  ds_kernel_lse_sums(DS_SINKHORN_COST_SQUARED, 0.1, &block, &block, PETSC_TRUE, &sums);
  ck_assert_msg(max == -INFINITY && value == 0, "the self pair alone was counted: max %g value %g", max, value);
}
END_TEST

/* A failing solve returns its error to the test's assertion on every rank (PETSc's default
   handler would abort the ranks but the first). */
static void return_errors(void) { PetscPushErrorHandler(PetscReturnErrorHandler, NULL); }
static void restore_errors(void) { PetscPopErrorHandler(); }

/* A test case of the suite, named for CK_RUN_CASE. */
TCase *sinkhorn_test_case(Suite *s, const char *name)
{
  TCase *tc = tcase_create(name);
  tcase_set_timeout(tc, 300);
  tcase_add_checked_fixture(tc, return_errors, restore_errors);
  suite_add_tcase(s, tc);
  return tc;
}

Suite *ds_suite_sinkhorn(void)
{
  Suite *s = suite_create("sinkhorn");
  TCase *lse = sinkhorn_test_case(s, "lse"), *solver = sinkhorn_test_case(s, "solver"), *field = sinkhorn_test_case(s, "field");
  tcase_add_test(lse, test_lse_kernel_keeps_largest_term);
  tcase_add_test(solver, test_solver_equals_dense_sinkhorn);
  tcase_add_test(solver, test_divergence_of_identical_clouds_is_zero);
  tcase_add_test(field, test_field_equals_dense_sinkhorn);
  sinkhorn_test_add_convergence(s);
  return s;
}
