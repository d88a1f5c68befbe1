/* The joint fields' floors, negatives and column weights (SCIENCE.md items 3 and 4 and "The
   official codes' floors") against a DENSE serial brute force written here from those
   formulas and the authors' code: every rank gathers all N particles, the C negatives and
   the M samples, builds the N x (N + C + M) kernel matrix (columns: particles, negatives,
   data), its row sums and its column sums over the particle rows, the affinities of each
   floor mode (exact: w K / sqrt(R C), K_ii = 0; tutorial: w K / sqrt(max(R C, 1e-12)), the
   self pair at distance 1e6; large scale: w sqrt(max(p q, 1e-6)), p = K / R, q = K / C,
   distances sqrt(max(r^2, 1e-8)), the self pair 100 units further), and
   V_i = Q_i sum_data A (y - x_i) - P_i sum_{particles, negatives} A (c - x_i). The
   multitemperature brute force follows drift_loss: weighted scale s, bandwidths
   max(s, 1e-3) tau, and the forces in coordinates divided by max(s / sqrt(d), 1e-3), each
   divided by sqrt(max(mean square, 1e-8)). N = 37 (a multiple of no rank count 2..4),
   M = 23, C = 11; overlapping clouds, clouds far apart, and bandwidths so small that every
   pair is at the tutorial's floor. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "ds_test.h"
#include "ds_init.h"

#define MAXD 5 /* the largest dimension the tests use */
#define KERNEL_UNDERFLOW 0x1.f50765b6e4540p-1022 /* 2^(-1021 - 1/32): kernel values below are 0 */

/* ---------------------------------------------------------------- the columns */

/* Every point and weight, on every rank: particles X [n], negatives G [c], data Y [m]. */
typedef struct {
  PetscInt n, c, m, d;
  double  *X, *G, *Y, *wx, *wg, *wy;
} Columns;

/* Column k of the joint matrix (particles, negatives, data) and its weight. */
static const double *column(const Columns *cl, PetscInt k, double *w)
{
  if (k < cl->n) { *w = cl->wx[k]; return cl->X + k * cl->d; }
  k -= cl->n;
  if (k < cl->c) { *w = cl->wg[k]; return cl->G + k * cl->d; }
  k -= cl->c;
  *w = cl->wy[k];
  return cl->Y + k * cl->d;
}

/* Deterministic test points and weights: weights in [0.25, 1.75] with a few zeros. */
static double negative_coordinate(PetscInt i, PetscInt k) { return 0.3 + 1.2 * sin(3.0 * i + 1.7 * k); }
static double weight(PetscInt i, PetscInt set) { return (i % 7 == 3) ? 0.0 : 0.25 + 0.5 * (double)((i * (set + 3)) % 4); }

/* The files of a case: negatives [c][d] and the three weights datasets, written by rank 0. */
typedef struct {
  char negatives[PETSC_MAX_PATH_LEN], weights[3][PETSC_MAX_PATH_LEN];
} Files;

static void write_files(Files *f, PetscInt n, PetscInt c, PetscInt m, PetscInt d, int ones)
{
  const PetscInt counts[3] = {n, c, m};
  double        *neg, *w;
  const hsize_t  dims[2] = {(hsize_t)c, (hsize_t)d};

  PetscMalloc1(c * d, &neg);
  for (PetscInt i = 0; i < c; i++)
    for (PetscInt k = 0; k < d; k++) neg[i * d + k] = negative_coordinate(i, k);
  DS_ASSERT_PETSC(ds_test_path("joint_floor", "negatives.h5", f->negatives, sizeof(f->negatives)));
  DS_ASSERT_PETSC(ds_test_write_dataset(f->negatives, "/negatives", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, dims, neg));
  for (int set = 0; set < 3; set++) {
    const hsize_t len = (hsize_t)counts[set];
    char          tag[32];
    PetscMalloc1(counts[set], &w);
    for (PetscInt i = 0; i < counts[set]; i++) w[i] = ones ? 1.0 : weight(i, set);
    snprintf(tag, sizeof(tag), "weights%d.h5", set);
    DS_ASSERT_PETSC(ds_test_path("joint_floor", tag, f->weights[set], sizeof(f->weights[set])));
    DS_ASSERT_PETSC(ds_test_write_dataset(f->weights[set], "/w", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &len, w));
    PetscFree(w);
  }
  PetscFree(neg);
}

/* Removes a case's files once every rank has read them. */
static void remove_files(const Files *f)
{
  MPI_Barrier(PETSC_COMM_WORLD);
  if (PetscGlobalRank != 0) return;
  unlink(f->negatives);
  for (int set = 0; set < 3; set++) unlink(f->weights[set]);
}

/* Options of a case; with_columns adds the negatives and the three weights files. */
static DSOptions case_options(const char *field, DSJointFloor floor, DSKernelType kernel, PetscReal h, PetscInt n, PetscInt m, PetscInt dim, PetscReal init_mean, PetscBool replicate, const Files *files)
{
  DSOptions o = ds_test_options();
  o.n = n; o.dim = dim; o.seed = 11;
  snprintf(o.field, sizeof(o.field), "%s", field);
  o.kernel = kernel; o.self = DS_SELF_EXCLUDE; o.bandwidth = h; o.joint_floor = floor;
  o.target_samples = m; o.replicate_data = replicate;
  o.init_mean = init_mean; o.init_scale = 1.5; o.monitor_every = 0;
  if (files) {
    snprintf(o.negatives_file, sizeof(o.negatives_file), "%s", files->negatives);
    snprintf(o.negatives_dataset, sizeof(o.negatives_dataset), "/negatives");
    for (int set = 0; set < DS_COLUMN_SETS; set++) {
      const int file = set == DS_COLUMNS_PARTICLES ? 0 : set == DS_COLUMNS_NEGATIVES ? 1 : 2;
      snprintf(o.weights_file[set], sizeof(o.weights_file[set]), "%s", files->weights[file]);
      snprintf(o.weights_dataset[set], sizeof(o.weights_dataset[set]), "/w");
    }
  }
  return o;
}

/* Gathers the run's particles and samples; the negatives and weights as the files hold them
   (all 1 and none without files). */
static void gather_columns(const DSTestRun *run, PetscInt c, int with_files, Columns *cl)
{
  cl->d = run->opts.dim;
  cl->n = run->opts.n;
  cl->m = run->target->samples_global;
  cl->c = with_files ? c : 0;
  cl->X = ds_test_gather_vec(run->X);
  cl->Y = ds_test_gather_samples(run->target);
  PetscMalloc4(PetscMax(cl->c * cl->d, 1), &cl->G, cl->n, &cl->wx, PetscMax(cl->c, 1), &cl->wg, cl->m, &cl->wy);
  for (PetscInt i = 0; i < cl->c; i++)
    for (PetscInt k = 0; k < cl->d; k++) cl->G[i * cl->d + k] = negative_coordinate(i, k);
  for (PetscInt i = 0; i < cl->n; i++) cl->wx[i] = with_files ? weight(i, 0) : 1.0;
  for (PetscInt i = 0; i < cl->c; i++) cl->wg[i] = weight(i, 1);
  for (PetscInt i = 0; i < cl->m; i++) cl->wy[i] = with_files ? weight(i, 2) : 1.0;
}

static void free_columns(Columns *cl)
{
  PetscFree(cl->X);
  PetscFree(cl->Y);
  PetscFree4(cl->G, cl->wx, cl->wg, cl->wy);
}

/* ---------------------------------------------------------------- dense brute force */

/* The floor's per-particle shares of P and Q and the pairs at the floor. */
typedef struct {
  double *share_p, *share_q;
  double  pairs, live; /* pairs at the floor; pairs with K > 0 */
} FloorStats;

/* One joint field, dense: V [n][d] with bandwidth h, large-scale distance unit `unit`. */
static void bf_joint(const Columns *cl, DSJointFloor floor, DSKernelType kernel, double h, double unit, double *V, FloorStats *fs)
{
  const PetscInt N = cl->n, d = cl->d, L = cl->n + cl->c + cl->m, first_data = cl->n + cl->c;
  double        *K, *R, *C;

  PetscMalloc3(N * L, &K, N, &R, L, &C);
  for (PetscInt k = 0; k < L; k++) C[k] = 0;
  for (PetscInt i = 0; i < N; i++) {
    R[i] = 0;
    for (PetscInt k = 0; k < L; k++) {
      double        w;
      const double *y  = column(cl, k, &w);
      const double  r2 = ds_test_squared_distance(cl->X + i * d, y, d);
      double        kv;
      if (floor == DS_JOINT_FLOOR_EXACT) kv = k == i ? 0.0 : ds_test_kernel(kernel, h, 0.5, r2);
      else if (floor == DS_JOINT_FLOOR_TUTORIAL) kv = ds_test_kernel(kernel, h, 0.5, k == i ? 1e12 : r2);
      else {
        const double dist = sqrt(fmax(r2, 1e-8)) + (k == i ? 100.0 * unit : 0.0);
        kv                = ds_test_kernel(kernel, h, 0.5, dist * dist);
      }
      if (kv < KERNEL_UNDERFLOW) kv = 0; /* the program's documented flush (doc/design.md), which decides K > 0 */
      K[i * L + k] = kv;
      R[i] += kv;
      C[k] += kv;
    }
  }
  fs->pairs = fs->live = 0;
  for (PetscInt i = 0; i < N; i++) {
    double P = 0, Q = 0, fp = 0, fq = 0, my[MAXD] = {0}, mx[MAXD] = {0};
    for (PetscInt k = 0; k < L; k++) {
      double        w, a;
      const double *y       = column(cl, k, &w);
      const double  kv      = K[i * L + k];
      int           floored = 0;
      if (floor == DS_JOINT_FLOOR_EXACT) a = (R[i] > 0 && C[k] > 0) ? w * kv / (sqrt(R[i]) * sqrt(C[k])) : 0.0;
      else if (floor == DS_JOINT_FLOOR_TUTORIAL) {
        a       = w * kv / sqrt(fmax(R[i] * C[k], 1e-12));
        floored = R[i] * C[k] < 1e-12 && kv > 0;
      } else {
        const double p = R[i] > 0 ? kv / R[i] : 0.0, q = C[k] > 0 ? kv / C[k] : 0.0;
        a       = w * sqrt(fmax(p * q, 1e-6));
        floored = p * q < 1e-6;
      }
      fs->pairs += floored;
      fs->live += kv > 0;
      for (PetscInt c = 0; c < d; c++) (k < first_data ? mx : my)[c] += a * (y[c] - cl->X[i * d + c]);
      if (k < first_data) { Q += a; fq += floored ? a : 0.0; }
      else { P += a; fp += floored ? a : 0.0; }
    }
    for (PetscInt c = 0; c < d; c++) V[i * d + c] = Q * my[c] - P * mx[c];
    fs->share_p[i] = P > 0 ? fp / P : 0.0;
    fs->share_q[i] = Q > 0 ? fq / Q : 0.0;
  }
  PetscFree3(K, R, C);
}

/* The multitemperature field, dense, as drift_loss computes it (large scale) or as
   SCIENCE.md item 4 writes it (exact, tutorial); s and the RMS of each temperature out. */
static void bf_multitemperature(const Columns *cl, DSJointFloor floor, const DSOptions *o, double *V, double *s_out, double *rms, FloorStats *fs)
{
  const PetscInt N = cl->n, d = cl->d, L = cl->n + cl->c + cl->m;
  const int      large = floor == DS_JOINT_FLOOR_LARGE_SCALE;
  double         num = 0, den = 0, *Vt;

  for (PetscInt k = 0; k < L; k++) {
    double w;
    (void)column(cl, k, &w);
    den += w;
    for (PetscInt i = 0; i < N; i++) num += w * sqrt(fmax(ds_test_squared_distance(cl->X + i * d, column(cl, k, &w), d), large ? 1e-8 : 0.0));
  }
  const double s = num / (N * den), unit = large ? fmax(s, 1e-3) : s, u = large ? fmax(s / sqrt((double)d), 1e-3) : s / sqrt((double)d);
  *s_out = s;
  PetscMalloc1(N * d, &Vt);
  for (PetscInt k = 0; k < N * d; k++) V[k] = 0;
  for (PetscInt t = 0; t < o->ntemperatures; t++) {
    double sum2 = 0;
    bf_joint(cl, floor, o->kernel, unit * o->temperatures[t], unit, Vt, &fs[t]);
    for (PetscInt k = 0; k < N * d; k++) sum2 += Vt[k] * Vt[k];
    rms[t] = sqrt(sum2 / ((double)N * d));
    /* drift_loss: forces in coordinates divided by u, each over sqrt(max(mean square, 1e-8)) */
    const double norm = large ? sqrt(fmax(sum2 / ((double)N * d) / (u * u), 1e-8)) : rms[t] / u;
    for (PetscInt k = 0; k < N * d; k++) V[k] += Vt[k] / u / norm;
  }
  for (PetscInt k = 0; k < N * d; k++) V[k] *= u;
  PetscFree(Vt);
}

/* ---------------------------------------------------------------- comparisons */

/* max_i |v_i - ref_i| / max_i |ref_i| (INFINITY for a non-finite v or a zero reference). */
static double normwise_error(Vec V, const double *ref)
{
  PetscInt           rstart, rend;
  const PetscScalar *v;
  double             loc[2] = {0, 0}, glob[2];
  int                bad = 0, any_bad;

  VecGetOwnershipRange(V, &rstart, &rend);
  VecGetArrayRead(V, &v);
  for (PetscInt k = 0; k < rend - rstart; k++) {
    if (!isfinite(v[k])) bad = 1;
    else loc[0] = PetscMax(loc[0], fabs(v[k] - ref[rstart + k]));
    loc[1] = PetscMax(loc[1], fabs(ref[rstart + k]));
  }
  VecRestoreArrayRead(V, &v);
  MPI_Allreduce(loc, glob, 2, MPI_DOUBLE, MPI_MAX, PETSC_COMM_WORLD);
  MPI_Allreduce(&bad, &any_bad, 1, MPI_INT, MPI_LOR, PETSC_COMM_WORLD);
  return (any_bad || glob[1] == 0) ? INFINITY : glob[0] / glob[1];
}

/* Relative difference of a diagnostic and its reference (absolute below 1e-300). */
static double diagnostic_error(DSField field, const char *name, double want)
{
  PetscReal got = NAN;
  if (ds_field_get_diagnostic(field, name, &got)) return INFINITY;
  return ds_test_reldiff(got, want, 1e-300);
}

/* The floor diagnostics (suffix "" or _tau_<t>) against the brute force's: mean and max of
   the shares and the pair count, to relative 1e-12. */
static double floor_diagnostics_error(DSField field, const char *suffix, const FloorStats *fs, PetscInt n)
{
  double mean_p = 0, max_p = 0, mean_q = 0, max_q = 0, err = 0;
  char   name[64];
  for (PetscInt i = 0; i < n; i++) {
    mean_p += fs->share_p[i] / n;
    mean_q += fs->share_q[i] / n;
    max_p = fmax(max_p, fs->share_p[i]);
    max_q = fmax(max_q, fs->share_q[i]);
  }
  const struct { const char *name; double want; } want[] = {
    {"floor_share_p_mean", mean_p}, {"floor_share_p_max", max_p}, {"floor_share_q_mean", mean_q}, {"floor_share_q_max", max_q}, {"floor_pairs", fs->pairs},
  };
  for (int k = 0; k < 5; k++) {
    snprintf(name, sizeof(name), "%s%s", want[k].name, suffix);
    err = fmax(err, diagnostic_error(field, name, want[k].want));
  }
  return err;
}

/* ---------------------------------------------------------------- the cases */

typedef struct {
  const char  *name;
  PetscReal    init_mean; /* the particle cloud's centre; the data and negatives sit near 0 */
  PetscReal    h;         /* the joint field's bandwidth */
  DSKernelType kernel;
} Geometry;

static const Geometry geometries[] = {
  {"overlapping", 0.5, 0.6, DS_KERNEL_LAPLACE},
  {"overlapping gaussian", 0.5, 0.9, DS_KERNEL_GAUSSIAN},
  {"far apart", 25.0, 0.5, DS_KERNEL_LAPLACE},
  {"every pair at the tutorial floor", 0.5, 0.003, DS_KERNEL_LAPLACE},
  {"wide (the large-scale self pair's kernel counts)", 0.5, 40.0, DS_KERNEL_LAPLACE},
  {"overlapping imq", 0.5, 0.6, DS_KERNEL_IMQ},
};
#define NGEOMETRIES ((int)(sizeof(geometries) / sizeof(geometries[0])))
#define NNEG 11

/* Joint field, each floor, with and without negatives and weights, partitioned and
   replicated samples, d = 1, 2, 3 (the floored loops' fixed dimensions) and 5 (their
   general one): V and the floor diagnostics equal the brute force. */
START_TEST(joint_floors_match_dense_brute_force)
{
  static const PetscInt dims[] = {1, 2, 3, 5};
  Files                 files;
  for (size_t di = 0; di < sizeof(dims) / sizeof(dims[0]); di++) {
    const PetscInt dim = dims[di];
    write_files(&files, 37, NNEG, 23, dim, 0);
    for (int g = 0; g < NGEOMETRIES; g++)
      for (int floor = 0; floor < 3; floor++)
        for (int with_files = 0; with_files < 2; with_files++)
          for (int replicate = 0; replicate < 2; replicate++) {
            /* The tutorial floor's geometry is set for d = 2 and 3: in d = 1 the points lie
               closer than its h (some pairs are off the floor), in d = 5 farther (every
               kernel value underflows, V = 0). */
            if (g == 3 && dim != 2 && dim != 3) continue;
            DSTestRun  run;
            Columns    cl;
            FloorStats fs;
            ds_test_run_setup(&run, case_options("joint", (DSJointFloor)floor, geometries[g].kernel, geometries[g].h, 37, 23, dim, geometries[g].init_mean, (PetscBool)replicate, with_files ? &files : NULL));
            gather_columns(&run, NNEG, with_files, &cl);
            double *ref;
            PetscMalloc3(cl.n * dim, &ref, cl.n, &fs.share_p, cl.n, &fs.share_q);
            bf_joint(&cl, (DSJointFloor)floor, run.opts.kernel, run.opts.bandwidth, 1.0, ref, &fs);
            if (g == 3 && floor == DS_JOINT_FLOOR_TUTORIAL) /* the case must exercise what it is named after */
              DS_ASSERT_ALL(fs.pairs == fs.live && fs.live > 10 * cl.n, "tutorial floor, h %g: %g pairs at the floor, want every one of the %g with K > 0", (double)run.opts.bandwidth, fs.pairs, fs.live);
            if (g == 2 && floor != DS_JOINT_FLOOR_EXACT) DS_ASSERT_ALL(fs.pairs >= (double)cl.n * cl.m, "far apart: only %g pairs at the floor", fs.pairs);
            DS_ASSERT_PETSC(ds_field_set_diagnostics(run.field, PETSC_TRUE));
            for (int pass = 0; pass < 2; pass++) {
              DS_ASSERT_PETSC(ds_field_evaluate(run.field, run.opts.bandwidth, run.X, run.V));
              const double err = normwise_error(run.V, ref);
              DS_ASSERT_ALL(err < 1e-12, "joint %s floor %s d %d negatives and weights %d replicate %d evaluation %d: relative error %g", geometries[g].name, DSJointFloors[floor], (int)dim, with_files, replicate, pass + 1, err);
            }
            if (floor != DS_JOINT_FLOOR_EXACT) {
              const double err = floor_diagnostics_error(run.field, "", &fs, cl.n);
              DS_ASSERT_ALL(err < 1e-12, "joint %s floor %s d %d files %d replicate %d: floor diagnostics relative error %g", geometries[g].name, DSJointFloors[floor], (int)dim, with_files, replicate, err);
            }
            PetscFree3(ref, fs.share_p, fs.share_q);
            free_columns(&cl);
            ds_test_run_teardown(&run);
          }
    remove_files(&files);
  }
}
END_TEST

/* Multitemperature field, each floor, with and without negatives and weights: V, s, the
   RMS and the floor diagnostics of each temperature equal the brute force. */
START_TEST(multitemperature_floors_match_dense_brute_force)
{
  Files files;
  write_files(&files, 37, NNEG, 23, 2, 0);
  for (int g = 0; g < 3; g += 2)
    for (int floor = 0; floor < 3; floor++)
      for (int with_files = 0; with_files < 2; with_files++)
        for (int replicate = 0; replicate < 2; replicate++) {
          DSTestRun  run;
          Columns    cl;
          FloorStats fs[3];
          double     s, rms[3], *ref;
          ds_test_run_setup(&run, case_options("multitemperature", (DSJointFloor)floor, DS_KERNEL_LAPLACE, 1.0, 37, 23, 2, geometries[g].init_mean, (PetscBool)replicate, with_files ? &files : NULL));
          gather_columns(&run, NNEG, with_files, &cl);
          PetscMalloc1(cl.n * cl.d, &ref);
          for (int t = 0; t < 3; t++) PetscMalloc2(cl.n, &fs[t].share_p, cl.n, &fs[t].share_q);
          bf_multitemperature(&cl, (DSJointFloor)floor, &run.opts, ref, &s, rms, fs);
          DS_ASSERT_PETSC(ds_field_set_diagnostics(run.field, PETSC_TRUE));
          DS_ASSERT_PETSC(ds_field_evaluate(run.field, run.opts.bandwidth, run.X, run.V));
          double err = normwise_error(run.V, ref);
          DS_ASSERT_ALL(err < 1e-12, "multitemperature %s floor %s files %d replicate %d: relative error %g", geometries[g].name, DSJointFloors[floor], with_files, replicate, err);
          err = diagnostic_error(run.field, "distance_scale", s);
          for (int t = 0; t < 3; t++) {
            char name[64];
            snprintf(name, sizeof(name), "rms_tau_%g", (double)run.opts.temperatures[t]);
            err = fmax(err, diagnostic_error(run.field, name, rms[t]));
            snprintf(name, sizeof(name), "_tau_%g", (double)run.opts.temperatures[t]);
            if (floor != DS_JOINT_FLOOR_EXACT) err = fmax(err, floor_diagnostics_error(run.field, name, &fs[t], cl.n));
          }
          DS_ASSERT_ALL(err < 1e-12, "multitemperature %s floor %s files %d replicate %d: diagnostics relative error %g", geometries[g].name, DSJointFloors[floor], with_files, replicate, err);
          for (int t = 0; t < 3; t++) PetscFree2(fs[t].share_p, fs[t].share_q);
          PetscFree(ref);
          free_columns(&cl);
          ds_test_run_teardown(&run);
        }
  remove_files(&files);
}
END_TEST

/* Weights of 1 read from files change the exact joint field by not one bit: the exact
   mode keeps the micro-kernels' code path, with w_c / sqrt(C_c) = 1 / sqrt(C_c). */
START_TEST(exact_joint_unit_weights_are_bit_identical)
{
  Files files;
  write_files(&files, 37, 1, 23, 2, 1);
  for (int replicate = 0; replicate < 2; replicate++) {
    DSTestRun plain, weighted;
    Files     weights_only = files;
    DSOptions o            = case_options("joint", DS_JOINT_FLOOR_EXACT, DS_KERNEL_LAPLACE, 0.6, 37, 23, 2, 0.5, (PetscBool)replicate, &weights_only);
    o.negatives_file[0] = o.negatives_dataset[0] = 0;
    o.weights_file[DS_COLUMNS_NEGATIVES][0] = o.weights_dataset[DS_COLUMNS_NEGATIVES][0] = 0;
    ds_test_run_setup(&plain, case_options("joint", DS_JOINT_FLOOR_EXACT, DS_KERNEL_LAPLACE, 0.6, 37, 23, 2, 0.5, (PetscBool)replicate, NULL));
    ds_test_run_setup(&weighted, o);
    DS_ASSERT_PETSC(ds_field_evaluate(plain.field, 0.6, plain.X, plain.V));
    DS_ASSERT_PETSC(ds_field_evaluate(weighted.field, 0.6, weighted.X, weighted.V));
    const PetscScalar *a, *b;
    PetscInt           n;
    int                same = 1;
    VecGetLocalSize(plain.V, &n);
    VecGetArrayRead(plain.V, &a);
    VecGetArrayRead(weighted.V, &b);
    same = !memcmp(a, b, n * sizeof(*a));
    VecRestoreArrayRead(plain.V, &a);
    VecRestoreArrayRead(weighted.V, &b);
    DS_ASSERT_ALL(same, "exact joint field with unit weights from files differs from the unweighted one (replicate %d)", replicate);
    ds_test_run_teardown(&plain);
    ds_test_run_teardown(&weighted);
  }
  remove_files(&files);
}
END_TEST

/* The large-scale multitemperature field at N = M = 4096 (drift_loss's batch sizes): the
   floor's share of P and Q and the pairs at the floor are what the dense computation gives. */
START_TEST(large_scale_floor_share_at_4096)
{
  DSTestRun  run;
  Columns    cl;
  FloorStats fs[3];
  double     s, rms[3], *ref;
  ds_test_run_setup(&run, case_options("multitemperature", DS_JOINT_FLOOR_LARGE_SCALE, DS_KERNEL_LAPLACE, 1.0, 4096, 4096, 2, 0.5, PETSC_FALSE, NULL));
  gather_columns(&run, 0, 0, &cl);
  PetscMalloc1(cl.n * cl.d, &ref);
  for (int t = 0; t < 3; t++) PetscMalloc2(cl.n, &fs[t].share_p, cl.n, &fs[t].share_q);
  bf_multitemperature(&cl, DS_JOINT_FLOOR_LARGE_SCALE, &run.opts, ref, &s, rms, fs);
  DS_ASSERT_PETSC(ds_field_set_diagnostics(run.field, PETSC_TRUE));
  DS_ASSERT_PETSC(ds_field_evaluate(run.field, run.opts.bandwidth, run.X, run.V));
  double err = normwise_error(run.V, ref);
  DS_ASSERT_ALL(err < 1e-12, "large-scale multitemperature at N = M = 4096: relative error %g", err);
  for (int t = 0; t < 3; t++) {
    char name[64];
    snprintf(name, sizeof(name), "_tau_%g", (double)run.opts.temperatures[t]);
    err = floor_diagnostics_error(run.field, name, &fs[t], cl.n);
    DS_ASSERT_ALL(err < 1e-12, "large-scale floor diagnostics%s at N = M = 4096: relative error %g", name, err);
    DS_ASSERT_ALL(fs[t].pairs > 0, "N = M = 4096, tau %g: no pair at the floor, the test shows nothing", (double)run.opts.temperatures[t]);
    PetscFree2(fs[t].share_p, fs[t].share_q);
  }
  PetscFree(ref);
  free_columns(&cl);
  ds_test_run_teardown(&run);
}
END_TEST

/* A bandwidth so small that every kernel value underflows (R_i = C_c = 0): with the
   tutorial's floor every A is 0, V = 0 and every particle is counted in
   underflowed_particles; with the large-scale floor every affinity is at the floor, V is the
   brute force's and no particle is counted, since each still feels the floor's drift. */
START_TEST(underflowed_rows_under_each_floor)
{
  Files files;
  write_files(&files, 37, NNEG, 23, 2, 0);
  for (int floor = DS_JOINT_FLOOR_TUTORIAL; floor <= DS_JOINT_FLOOR_LARGE_SCALE; floor++) {
    DSTestRun  run;
    Columns    cl;
    FloorStats fs;
    PetscReal  underflowed = -1, vmax;
    double    *ref;
    ds_test_run_setup(&run, case_options("joint", (DSJointFloor)floor, DS_KERNEL_LAPLACE, 1e-5, 37, 23, 2, 0.5, PETSC_FALSE, &files));
    gather_columns(&run, NNEG, 1, &cl);
    PetscMalloc3(cl.n * cl.d, &ref, cl.n, &fs.share_p, cl.n, &fs.share_q);
    bf_joint(&cl, (DSJointFloor)floor, DS_KERNEL_LAPLACE, 1e-5, 1.0, ref, &fs);
    DS_ASSERT_ALL(fs.live == 0, "h 1e-5: %g kernel values did not underflow", fs.live);
    DS_ASSERT_PETSC(ds_field_set_diagnostics(run.field, PETSC_TRUE));
    DS_ASSERT_PETSC(ds_field_evaluate(run.field, 1e-5, run.X, run.V));
    DS_ASSERT_PETSC(ds_field_get_diagnostic(run.field, "underflowed_particles", &underflowed));
    VecNorm(run.V, NORM_INFINITY, &vmax);
    if (floor == DS_JOINT_FLOOR_TUTORIAL) DS_ASSERT_ALL(vmax == 0 && underflowed == cl.n, "tutorial floor, every kernel 0: max |V| %g (want 0), underflowed_particles %g (want %d)", (double)vmax, (double)underflowed, (int)cl.n);
    else {
      const double err = normwise_error(run.V, ref);
      DS_ASSERT_ALL(err < 1e-12 && underflowed == 0, "large-scale floor, every kernel 0: relative error %g, underflowed_particles %g (want 0)", err, (double)underflowed);
    }
    PetscFree3(ref, fs.share_p, fs.share_q);
    free_columns(&cl);
    ds_test_run_teardown(&run);
  }
  remove_files(&files);
}
END_TEST

Suite *ds_suite_joint_floor(void)
{
  Suite *s  = suite_create("joint_floor");
  TCase *tc = tcase_create("joint_floor");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, joint_floors_match_dense_brute_force);
  tcase_add_test(tc, multitemperature_floors_match_dense_brute_force);
  tcase_add_test(tc, exact_joint_unit_weights_are_bit_identical);
  tcase_add_test(tc, underflowed_rows_under_each_floor);
  suite_add_tcase(s, tc);
  /* Tagged "size" (left out of the instrumented runs, tools/run-tests): the large-scale floor
     at drift_loss's batch size, through the paths multitemperature_floors_match_dense_brute_force
     takes at 37 particles. */
  TCase *large = tcase_create("joint_floor_4096");
  tcase_set_timeout(large, 600);
  tcase_set_tags(large, "size");
  tcase_add_test(large, large_scale_floor_share_at_4096);
  suite_add_tcase(s, large);
  return s;
}
