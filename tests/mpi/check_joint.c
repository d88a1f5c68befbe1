/* Joint and multitemperature fields (SCIENCE.md velocity fields, items 3 and 4) and the
   laplace displacement field's companion decomposition, against a DENSE serial brute force
   written from SCIENCE.md's formulas: every rank gathers all N particles and M samples,
   builds the N x (N + M) kernel matrix (columns: particles, then data; K_ii = 0), its row
   and column sums and A = K / sqrt(R C) (0 where a sum is 0), and forms
   V_i = Q_i sum_data A y - P_i sum_particles A x. N not a multiple of the rank count and
   N smaller than it; samples partitioned and replicated; d = 2 and 3. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <petscvec.h>
#include "ds_test.h"
#include "ds_field.h"
#include "ds_init.h"
#include "ds_target.h"

#define MAXD 8

static DSOptions make_options(const char *field, DSKernelType kernel, DSSelfPair self, PetscInt samples, PetscBool replicate, PetscInt n, PetscInt dim, PetscReal h)
{
  DSOptions o = ds_test_options(); /* temperatures 0.02, 0.05, 0.2 */
  o.n = n; o.dim = dim; o.seed = 7;
  snprintf(o.field, sizeof(o.field), "%s", field); o.kernel = kernel; o.self = self; o.bandwidth = h;
  o.target_samples = samples; o.replicate_data = replicate;
  o.init_mean = 0.5; o.init_scale = 1.5;
  o.monitor_every = 0;
  return o;
}

/* ---------------------------------------------------------------- gathering and runs */


/* All particles X [n][d] and samples Y [m][d], on every rank. */
typedef struct {
  PetscInt n, m, d;
  double  *X, *Y;
} Cloud;

static void gather_cloud(const DSTestRun *run, Cloud *cl)
{
  cl->d = run->opts.dim;
  cl->X = ds_test_gather_vec(run->X);
  cl->n = run->opts.n;
  cl->m = run->target->samples_global;
  cl->Y = ds_test_gather_samples(run->target);
}

static void free_cloud(Cloud *cl)
{
  PetscFree(cl->X);
  PetscFree(cl->Y);
}

/* Column c of the joint matrix: particle c (c < n), else sample c - n. */
static const double *column(const Cloud *cl, PetscInt c)
{
  return c < cl->n ? cl->X + c * cl->d : cl->Y + (c - cl->n) * cl->d;
}



/* ---------------------------------------------------------------- dense brute forces */

typedef struct {
  PetscInt zero_rows, zero_columns, live_rows, tiny_products; /* tiny: K > 0 but R C < DBL_MIN */
} JointStats;

/* SCIENCE.md item 3, dense: V [n][d]. */
static void bf_joint(const Cloud *cl, DSKernelType kernel, double h, double beta, double *V, JointStats *stats)
{
  const PetscInt N = cl->n, M = cl->m, d = cl->d, L = N + M;
  double        *K, *R, *C;

  PetscMalloc3(PetscMax(N * L, 1), &K, PetscMax(N, 1), &R, PetscMax(L, 1), &C);
  for (PetscInt c = 0; c < L; c++) C[c] = 0;
  for (PetscInt i = 0; i < N; i++) {
    R[i] = 0;
    for (PetscInt c = 0; c < L; c++) {
      const double k = c == i ? 0.0 : ds_test_kernel(kernel, h, beta, ds_test_squared_distance(cl->X + i * d, column(cl, c), d));
      K[i * L + c]   = k;
      R[i] += k;
      C[c] += k;
    }
  }
  if (stats) {
    memset(stats, 0, sizeof(*stats));
    for (PetscInt i = 0; i < N; i++) {
      if (R[i] == 0) stats->zero_rows++;
      else stats->live_rows++;
      for (PetscInt c = 0; c < L; c++)
        if (K[i * L + c] > 0 && R[i] * C[c] < DBL_MIN) stats->tiny_products++;
    }
    for (PetscInt c = 0; c < L; c++)
      if (C[c] == 0) stats->zero_columns++;
  }
  for (PetscInt i = 0; i < N; i++) {
    double P = 0, Q = 0, sy[MAXD] = {0}, sx[MAXD] = {0};
    for (PetscInt c = 0; c < L; c++) {
      /* sqrt(R) sqrt(C) >= K > 0 never underflows, unlike sqrt(R C). */
      const double a = (R[i] > 0 && C[c] > 0) ? K[i * L + c] / (sqrt(R[i]) * sqrt(C[c])) : 0.0;
      const double *w = column(cl, c);
      if (c < N) {
        Q += a;
        for (PetscInt k = 0; k < d; k++) sx[k] += a * w[k];
      } else {
        P += a;
        for (PetscInt k = 0; k < d; k++) sy[k] += a * w[k];
      }
    }
    for (PetscInt k = 0; k < d; k++) V[i * d + k] = Q * sy[k] - P * sx[k];
  }
  PetscFree3(K, R, C);
}

/* SCIENCE.md item 4, dense: V [n][d], the distance scale s and RMS(V^tau) per temperature. */
static void bf_multitemperature(const Cloud *cl, const DSOptions *o, double *V, double *s_out, double *rms)
{
  const PetscInt N = cl->n, M = cl->m, d = cl->d, L = N + M;
  double         s = 0, *Vt;

  for (PetscInt i = 0; i < N; i++)
    for (PetscInt c = 0; c < L; c++) s += sqrt(ds_test_squared_distance(cl->X + i * d, column(cl, c), d)); /* self pair: 0 */
  s /= (double)N * (double)L;
  *s_out = s;
  PetscMalloc1(N * d, &Vt);
  for (PetscInt k = 0; k < N * d; k++) V[k] = 0;
  for (PetscInt t = 0; t < o->ntemperatures; t++) {
    double sum2 = 0;
    bf_joint(cl, o->kernel, s * o->temperatures[t], o->imq_beta, Vt, NULL);
    for (PetscInt k = 0; k < N * d; k++) sum2 += Vt[k] * Vt[k];
    rms[t] = sqrt(sum2 / ((double)N * d));
    for (PetscInt k = 0; k < N * d; k++) V[k] += Vt[k] / rms[t];
  }
  for (PetscInt k = 0; k < N * d; k++) V[k] *= s / sqrt((double)d);
  PetscFree(Vt);
}

typedef struct {
  double sharp_rms, residual_rms, rho_particles_min, rho_particles_max, rho_data_min, rho_data_max;
} CompanionDiagnostics;

/* For z against the n rows of S (skipping row `skip`), with the laplace kernel k and its
   companion l = (h + r) k: sum k, sum l, sum grad_z l = sum -(z - s) k / h, and sum k s. */
static void companion_sums(const double *z, const double *S, PetscInt n, PetscInt skip, PetscInt d, double h, double *k_sum, double *l_sum, double *grad_l, double *k_s)
{
  for (PetscInt j = 0; j < n; j++) {
    if (j == skip) continue;
    const double *w = S + j * d;
    const double  r = sqrt(ds_test_squared_distance(z, w, d)), k = exp(-r / h);
    *k_sum += k;
    *l_sum += (h + r) * k;
    for (PetscInt c = 0; c < d; c++) {
      grad_l[c] += -(z[c] - w[c]) * k / h;
      k_s[c] += k * w[c];
    }
  }
}

/* SCIENCE.md, laplace displacement companion decomposition: l(r) = (h + r) exp(-r/h),
   rho_S = sum l / sum k, grad log(l*S)(z) = sum grad_z l / sum l, grad_z l = -(z - s) k / h;
   sharp = h rho_X [g_Y - g_X], residual = h (rho_Y - rho_X) g_Y; V = m_Y - m_X directly. */
static void bf_companion(const Cloud *cl, double h, PetscBool exclude_self, double *V, double *sharp, double *residual, CompanionDiagnostics *diag)
{
  const PetscInt N = cl->n, M = cl->m, d = cl->d;
  double         sharp2 = 0, residual2 = 0;

  diag->rho_particles_min = diag->rho_data_min = INFINITY;
  diag->rho_particles_max = diag->rho_data_max = -INFINITY;
  for (PetscInt i = 0; i < N; i++) {
    const double *z = cl->X + i * d;
    double        kx = 0, lx = 0, gx[MAXD] = {0}, mx[MAXD] = {0};
    double        ky = 0, ly = 0, gy[MAXD] = {0}, my[MAXD] = {0};
    companion_sums(z, cl->X, N, exclude_self ? i : -1, d, h, &kx, &lx, gx, mx);
    companion_sums(z, cl->Y, M, -1, d, h, &ky, &ly, gy, my);
    const double rho_x = lx / kx, rho_y = ly / ky;
    diag->rho_particles_min = PetscMin(diag->rho_particles_min, rho_x);
    diag->rho_particles_max = PetscMax(diag->rho_particles_max, rho_x);
    diag->rho_data_min      = PetscMin(diag->rho_data_min, rho_y);
    diag->rho_data_max      = PetscMax(diag->rho_data_max, rho_y);
    for (PetscInt c = 0; c < d; c++) {
      const double glx = gx[c] / lx, gly = gy[c] / ly;
      sharp[i * d + c]    = h * rho_x * (gly - glx);
      residual[i * d + c] = h * (rho_y - rho_x) * gly;
      V[i * d + c]        = my[c] / ky - mx[c] / kx;
      sharp2 += sharp[i * d + c] * sharp[i * d + c];
      residual2 += residual[i * d + c] * residual[i * d + c];
    }
  }
  diag->sharp_rms    = sqrt(sharp2 / N);
  diag->residual_rms = sqrt(residual2 / N);
}

/* ---------------------------------------------------------------- comparisons */

/* max_i |v_i - ref_i| / max_i |ref_i| over all particles (ref: all rows, on every rank);
   INFINITY when v has a non-finite entry anywhere, or when ref is 0 and v is not. */
static double normwise_error(Vec V, const double *ref)
{
  PetscInt           rstart, rend;
  const PetscScalar *v;
  double             loc[2] = {0, 0}, glob[2]; /* error, scale */
  int                bad = 0, any_bad;

  VecGetOwnershipRange(V, &rstart, &rend);
  VecGetArrayRead(V, &v);
  for (PetscInt k = 0; k < rend - rstart; k++) {
    const double r = ref[rstart + k];
    if (!isfinite(v[k])) bad = 1;
    else loc[0] = PetscMax(loc[0], fabs(v[k] - r));
    loc[1] = PetscMax(loc[1], fabs(r));
  }
  VecRestoreArrayRead(V, &v);
  MPI_Allreduce(loc, glob, 2, MPI_DOUBLE, MPI_MAX, PETSC_COMM_WORLD);
  MPI_Allreduce(&bad, &any_bad, 1, MPI_INT, MPI_LOR, PETSC_COMM_WORLD);
  if (any_bad) return INFINITY;
  if (glob[1] > 0) return glob[0] / glob[1];
  return glob[0] > 0 ? INFINITY : 0.0;
}

/* |A - B|_inf / |B|_inf between two distributed Vecs (NaN propagates to a failing verdict). */
static double vec_normwise_error(Vec A, Vec B)
{
  Vec       D;
  PetscReal diff, norm;
  VecDuplicate(A, &D);
  VecWAXPY(D, -1.0, B, A);
  VecNorm(D, NORM_INFINITY, &diff);
  VecNorm(B, NORM_INFINITY, &norm);
  VecDestroy(&D);
  if (PetscIsInfOrNanReal(diff) || PetscIsInfOrNanReal(norm)) return NAN;
  if (norm > 0) return diff / norm;
  return diff > 0 ? INFINITY : 0.0;
}

/* The value of diagnostic `name`, or NAN (found = 0) when the field does not list it. */
static double diagnostic(DSField field, const char *name, int *found)
{
  PetscInt                count  = 0;
  const char *const      *names  = NULL;
  const PetscReal        *values = NULL;
  *found                         = 0;
  if (ds_field_get_diagnostics(field, &count, &names, &values)) return NAN;
  for (PetscInt k = 0; k < count; k++)
    if (names[k] && !strcmp(names[k], name)) {
      *found = 1;
      return values[k];
    }
  return NAN;
}

/* The value of rms_tau_<tau> for temperature tau: the entry named rms_tau_ whose suffix
   parses to tau (any printf format). *found counts the entries that matched. */
static double rms_tau_diagnostic(DSField field, double tau, int *found)
{
  PetscInt           count  = 0;
  const char *const *names  = NULL;
  const PetscReal   *values = NULL;
  double             value  = NAN;
  *found                    = 0;
  if (ds_field_get_diagnostics(field, &count, &names, &values)) return NAN;
  for (PetscInt k = 0; k < count; k++) {
    char *end;
    if (!names[k] || strncmp(names[k], "rms_tau_", 8)) continue;
    const double t = strtod(names[k] + 8, &end);
    if (end == names[k] + 8 || *end) continue;
    if (fabs(t - tau) <= 1e-6 * tau) {
      (*found)++;
      value = values[k];
    }
  }
  return value;
}

/* ---------------------------------------------------------------- joint field */

static const PetscInt sizes[][2] = {{37, 23}, {3, 5}, {20, 20}};
#define NSIZES ((int)(sizeof(sizes) / sizeof(sizes[0])))

/* Joint field vs the dense brute force: laplace and gaussian kernels, two bandwidths,
   the self pair excluded (the joint field drops K_ii by definition; the program refuses
   -drift_self include for it), partitioned and replicated samples, d = 2 and 3,
   N = 37/M = 23, N = 3/M = 5, N = M = 20. Evaluated twice, so accumulators must be reset
   between evaluations. */
START_TEST(joint_matches_dense_brute_force)
{
  static const DSKernelType kernels[] = {DS_KERNEL_LAPLACE, DS_KERNEL_GAUSSIAN};
  static const PetscReal    hs[]      = {0.8, 0.25};
  for (int s = 0; s < NSIZES; s++)
    for (int kk = 0; kk < 2; kk++)
      for (int hh = 0; hh < 2; hh++)
        for (PetscInt dim = 2; dim <= 3; dim++)
          for (int replicate = 0; replicate < 2; replicate++) {
            DSTestRun run;
            Cloud    cl;
            ds_test_run_setup(&run, make_options("joint", kernels[kk], DS_SELF_EXCLUDE, sizes[s][1], (PetscBool)replicate, sizes[s][0], dim, hs[hh]));
            gather_cloud(&run, &cl);
            double *ref;
            PetscMalloc1(cl.n * dim, &ref);
            bf_joint(&cl, run.opts.kernel, run.opts.bandwidth, run.opts.imq_beta, ref, NULL);
            for (int pass = 0; pass < 2; pass++) {
              DS_ASSERT_PETSC(ds_field_evaluate(run.field, run.opts.bandwidth, run.X, run.V));
              const double err = normwise_error(run.V, ref);
              DS_ASSERT_ALL(err < 1e-12, "joint %s h %g d %d N %d M %d replicate %d self %s evaluation %d: relative error %g", DSKernelTypes[run.opts.kernel], (double)run.opts.bandwidth, (int)dim,
                            (int)cl.n, (int)cl.m, replicate, DSSelfPairs[run.opts.self], pass + 1, err);
            }
            PetscFree(ref);
            free_cloud(&cl);
            ds_test_run_teardown(&run);
          }
}
END_TEST

/* Bandwidths so small that kernel values underflow: whole rows and columns of K are 0
   (and some K > 0 have R_i C_c below DBL_MIN). SCIENCE.md: their A entries are 0, nothing
   is NaN. The configurations are asserted to exercise this (they depend only on the seed). */
START_TEST(joint_underflow_is_finite_and_matches)
{
  /* Laplace underflows beyond r = 745 h, gaussian beyond r = 38.6 h. With this seed (N = 37,
     M = 23): laplace 3e-3 in 3-D and gaussian 0.05 keep most rows alive with V = O(1e-3..1e-1)
     but zero some rows and columns and have K > 0 with R_i C_c < DBL_MIN; the others leave
     a few live rows (tiny V) or none. */
  static const struct {
    DSKernelType kernel;
    PetscReal    h;
    PetscInt     dim;
    int          want_live; /* 1: some rows survive; 0: everything underflows */
    int          want_tiny; /* some K_ic > 0 with R_i C_c < DBL_MIN */
  } cases[] = {
    {DS_KERNEL_LAPLACE, 3e-3, 3, 1, 1},  {DS_KERNEL_GAUSSIAN, 0.05, 2, 1, 1}, {DS_KERNEL_GAUSSIAN, 0.05, 3, 1, 1}, {DS_KERNEL_LAPLACE, 1e-3, 3, 1, 1},
    {DS_KERNEL_LAPLACE, 1e-3, 2, 1, 1},  {DS_KERNEL_GAUSSIAN, 3e-3, 2, 1, 0}, {DS_KERNEL_LAPLACE, 1e-6, 2, 0, 0},
  };
  for (size_t cs = 0; cs < sizeof(cases) / sizeof(cases[0]); cs++)
    for (int s = 0; s < NSIZES; s++)
      for (int replicate = 0; replicate < 2; replicate++) {
        DSTestRun   run;
        Cloud      cl;
        JointStats st;
        ds_test_run_setup(&run, make_options("joint", cases[cs].kernel, DS_SELF_EXCLUDE, sizes[s][1], (PetscBool)replicate, sizes[s][0], cases[cs].dim, cases[cs].h));
        gather_cloud(&run, &cl);
        double *ref;
        PetscMalloc1(cl.n * cl.d, &ref);
        bf_joint(&cl, run.opts.kernel, run.opts.bandwidth, run.opts.imq_beta, ref, &st);
        if (s == 0) /* the large cloud must exercise the rule */
          DS_ASSERT_ALL(st.zero_rows > 0 && st.zero_columns > 0 && (cases[cs].want_live ? st.live_rows > 0 : st.live_rows == 0) && (!cases[cs].want_tiny || st.tiny_products > 0),
                        "underflow case %d does not exercise the rule: zero rows %d, zero columns %d, live rows %d, K > 0 with R C < DBL_MIN %d", (int)cs, (int)st.zero_rows, (int)st.zero_columns,
                        (int)st.live_rows, (int)st.tiny_products);
        DS_ASSERT_PETSC(ds_field_evaluate(run.field, run.opts.bandwidth, run.X, run.V));
        const double err = normwise_error(run.V, ref);
        DS_ASSERT_ALL(err < 1e-12, "underflow %s h %g d %d N %d M %d replicate %d (zero rows %d, zero columns %d, live rows %d, K > 0 with R C < DBL_MIN %d): relative error %g (inf: NaN/Inf in V, or V != 0 where the reference is 0)",
                      DSKernelTypes[run.opts.kernel], (double)run.opts.bandwidth, (int)cl.d, (int)cl.n, (int)cl.m, replicate, (int)st.zero_rows, (int)st.zero_columns, (int)st.live_rows, (int)st.tiny_products, err);
        PetscFree(ref);
        free_cloud(&cl);
        ds_test_run_teardown(&run);
      }
}
END_TEST

/* ---------------------------------------------------------------- multitemperature */

/* Multitemperature field vs the dense brute force (kernel laplace, bandwidths s tau),
   temperatures {0.02, 0.05, 0.2} and {0.5}; first without diagnostics, then with them:
   distance_scale == s and rms_tau_<tau> == RMS(V^tau). */
START_TEST(multitemperature_matches_dense_brute_force)
{
  static const PetscReal lists[][3] = {{0.02, 0.05, 0.2}, {0.5, 0, 0}};
  static const PetscInt  counts[]   = {3, 1};
  for (int s = 0; s < NSIZES; s++)
    for (int l = 0; l < 2; l++)
      for (PetscInt dim = 2; dim <= 3; dim++)
        for (int replicate = 0; replicate < 2; replicate++) {
          DSTestRun  run;
          Cloud     cl;
          DSOptions o = make_options("multitemperature", DS_KERNEL_LAPLACE, DS_SELF_EXCLUDE, sizes[s][1], (PetscBool)replicate, sizes[s][0], dim, 0.8);
          double    scale, rms[DS_MAX_TEMPERATURES];
          o.ntemperatures = counts[l];
          for (PetscInt t = 0; t < counts[l]; t++) o.temperatures[t] = lists[l][t];
          ds_test_run_setup(&run, o);
          gather_cloud(&run, &cl);
          double *ref;
          PetscMalloc1(cl.n * dim, &ref);
          bf_multitemperature(&cl, &run.opts, ref, &scale, rms);

          DS_ASSERT_PETSC(ds_field_evaluate(run.field, run.opts.bandwidth, run.X, run.V));
          double err = normwise_error(run.V, ref);
          DS_ASSERT_ALL(err < 1e-12, "multitemperature %d temperatures d %d N %d M %d replicate %d (diagnostics off): relative error %g", (int)counts[l], (int)dim, (int)cl.n, (int)cl.m, replicate, err);

          DS_ASSERT_PETSC(ds_field_set_diagnostics(run.field, PETSC_TRUE));
          DS_ASSERT_PETSC(ds_field_evaluate(run.field, run.opts.bandwidth, run.X, run.V));
          err = normwise_error(run.V, ref);
          DS_ASSERT_ALL(err < 1e-12, "multitemperature %d temperatures d %d N %d M %d replicate %d (diagnostics on): relative error %g", (int)counts[l], (int)dim, (int)cl.n, (int)cl.m, replicate, err);

          int          found;
          const double got_s = diagnostic(run.field, "distance_scale", &found);
          DS_ASSERT_ALL(found, "multitemperature: no diagnostic named distance_scale");
          DS_ASSERT_ALL(ds_test_reldiff(got_s, scale, 0) < 1e-12, "distance_scale %.17g, brute force s %.17g (N %d M %d d %d replicate %d): relative %g", got_s, scale, (int)cl.n, (int)cl.m, (int)dim, replicate,
                        ds_test_reldiff(got_s, scale, 0));
          for (PetscInt t = 0; t < counts[l]; t++) {
            const double got = rms_tau_diagnostic(run.field, lists[l][t], &found);
            DS_ASSERT_ALL(found == 1, "multitemperature: %d diagnostics named rms_tau_<%g> (want exactly 1)", found, (double)lists[l][t]);
            DS_ASSERT_ALL(ds_test_reldiff(got, rms[t], 0) < 1e-12, "rms_tau_%g = %.17g, brute force RMS(V^tau) %.17g (N %d M %d d %d replicate %d): relative %g", (double)lists[l][t], got, rms[t], (int)cl.n, (int)cl.m, (int)dim,
                          replicate, ds_test_reldiff(got, rms[t], 0));
          }
          PetscFree(ref);
          free_cloud(&cl);
          ds_test_run_teardown(&run);
        }
}
END_TEST

/* ---------------------------------------------------------------- companion */

/* Laplace displacement field with samples, self pair in and out: evaluate_companion's V,
   sharp and residual; sharp + residual == V to rounding, V == ds_field_evaluate's V, each
   == the brute force; and the six companion diagnostics == the brute force. */
START_TEST(companion_decomposition_matches_brute_force)
{
  static const PetscReal hs[] = {0.8, 0.3};
  for (int s = 0; s < NSIZES; s++)
    for (int hh = 0; hh < 2; hh++)
      for (PetscInt dim = 2; dim <= 3; dim++)
        for (int replicate = 0; replicate < 2; replicate++)
          for (int self = 0; self < 2; self++) {
            DSTestRun             run;
            Cloud                cl;
            CompanionDiagnostics bd;
            Vec                  Vc, sharp, residual, sum;
            ds_test_run_setup(&run, make_options("displacement", DS_KERNEL_LAPLACE, (DSSelfPair)self, sizes[s][1], (PetscBool)replicate, sizes[s][0], dim, hs[hh]));
            const PetscReal h = run.opts.bandwidth;
            gather_cloud(&run, &cl);
            double *vref, *sref, *rref;
            PetscMalloc3(cl.n * dim, &vref, cl.n * dim, &sref, cl.n * dim, &rref);
            bf_companion(&cl, h, self == DS_SELF_EXCLUDE ? PETSC_TRUE : PETSC_FALSE, vref, sref, rref, &bd);
            VecDuplicate(run.X, &Vc);
            VecDuplicate(run.X, &sharp);
            VecDuplicate(run.X, &residual);
            VecDuplicate(run.X, &sum);

            DS_ASSERT_PETSC(ds_field_set_diagnostics(run.field, PETSC_TRUE));
            DS_ASSERT_PETSC(ds_field_evaluate(run.field, h, run.X, run.V));
            DS_ASSERT_PETSC(ds_field_evaluate_companion(run.field, h, run.X, Vc, sharp, residual));
            char cfg[160];
            snprintf(cfg, sizeof(cfg), "h %g d %d N %d M %d replicate %d self %s", (double)h, (int)dim, (int)cl.n, (int)cl.m, replicate, DSSelfPairs[self]);

            VecWAXPY(sum, 1.0, sharp, residual);
            double err = vec_normwise_error(sum, Vc);
            DS_ASSERT_ALL(err < 1e-13, "companion %s: |sharp + residual - V| / |V| = %g", cfg, err);
            err = vec_normwise_error(Vc, run.V);
            DS_ASSERT_ALL(err < 1e-13, "companion %s: companion V vs ds_field_evaluate V: relative %g", cfg, err);
            err = normwise_error(Vc, vref);
            DS_ASSERT_ALL(err < 1e-12, "companion %s: V vs brute force m_Y - m_X: relative %g", cfg, err);
            err = normwise_error(sharp, sref);
            DS_ASSERT_ALL(err < 1e-12, "companion %s: sharp vs brute force: relative %g", cfg, err);
            err = normwise_error(residual, rref);
            DS_ASSERT_ALL(err < 1e-12, "companion %s: residual vs brute force: relative %g", cfg, err);

            const struct {
              const char *name;
              double      want;
            } diags[] = {
              {"companion_sharp_rms", bd.sharp_rms},   {"companion_residual_rms", bd.residual_rms}, {"rho_particles_min", bd.rho_particles_min},
              {"rho_particles_max", bd.rho_particles_max}, {"rho_data_min", bd.rho_data_min},         {"rho_data_max", bd.rho_data_max},
            };
            for (size_t k = 0; k < sizeof(diags) / sizeof(diags[0]); k++) {
              int          found;
              const double got = diagnostic(run.field, diags[k].name, &found);
              DS_ASSERT_ALL(found, "companion: no diagnostic named %s", diags[k].name);
              DS_ASSERT_ALL(ds_test_reldiff(got, diags[k].want, 0) < 1e-12, "companion %s: %s = %.17g, brute force %.17g: relative %g", cfg, diags[k].name, got, diags[k].want, ds_test_reldiff(got, diags[k].want, 0));
            }
            VecDestroy(&Vc);
            VecDestroy(&sharp);
            VecDestroy(&residual);
            VecDestroy(&sum);
            PetscFree3(vref, sref, rref);
            free_cloud(&cl);
            ds_test_run_teardown(&run);
          }
}
END_TEST

/* ds_field.h: the names are fixed at creation and the values NaN before an evaluation
   computed them (laplace displacement: 6 companion names; multitemperature: distance_scale
   and one rms_tau_ per temperature). */
START_TEST(diagnostics_listed_at_creation_nan_before_evaluation)
{
  for (int which = 0; which < 2; which++) {
    DSTestRun  run;
    DSOptions o = which == 0 ? make_options("displacement", DS_KERNEL_LAPLACE, DS_SELF_INCLUDE, 23, PETSC_FALSE, 37, 2, 0.8)
                             : make_options("multitemperature", DS_KERNEL_LAPLACE, DS_SELF_EXCLUDE, 23, PETSC_FALSE, 37, 2, 0.8);
    ds_test_run_setup(&run, o);
    PetscInt           count  = -1;
    const char *const *names  = NULL;
    const PetscReal   *values = NULL;
    DS_ASSERT_PETSC(ds_field_get_diagnostics(run.field, &count, &names, &values));
    const PetscInt want = which == 0 ? 7 : 1 + o.ntemperatures; /* displacement: 6 companion + underflowed_particles */
    DS_ASSERT_ALL(count == want, "%s field: %d diagnostics listed, want %d", o.field, (int)count, (int)want);
    int nan_ok = 1;
    for (PetscInt k = 0; k < count; k++) nan_ok = nan_ok && values && PetscIsNanReal(values[k]);
    DS_ASSERT_ALL(nan_ok, "%s field: diagnostic values are not NaN before any evaluation", o.field);
    ds_test_run_teardown(&run);
  }
}
END_TEST

Suite *ds_suite_joint(void)
{
  Suite *s  = suite_create("joint");
  TCase *tc = tcase_create("joint");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, joint_matches_dense_brute_force);
  tcase_add_test(tc, joint_underflow_is_finite_and_matches);
  tcase_add_test(tc, multitemperature_matches_dense_brute_force);
  tcase_add_test(tc, companion_decomposition_matches_brute_force);
  tcase_add_test(tc, diagnostics_listed_at_creation_nan_before_evaluation);
  suite_add_tcase(s, tc);
  return s;
}
