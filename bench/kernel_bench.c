/* Pair rate of the micro-kernels on one core: ds_kernel_sums of a block of query points
   against a block of source points, as the field's ring visit does. Usage:
     kernel_bench KERNEL WEIGHT DIM [N] [SECONDS] [full|symmetric]
                                                    (KERNEL gaussian|laplace|imq, WEIGHT value|gradient;
                                                    symmetric: each pair once for both points, N^2 counted)
     kernel_bench lse WEIGHT DIM [N] [SECONDS]       (the Sinkhorn log-sum-exp, eps = 0.25: bandwidth 0.5)
     kernel_bench cutoff KERNEL N H EPS QUERIES      (cell lists against all pairs, d = 2)
     kernel_bench fgt N H EPS QUERIES                (the three -drift_sum methods, d = 2)
     kernel_bench clock                              (the core's clock under load)
     kernel_bench isa                                (the ISA level the pair loops run)
   The pair loops run at the ISA level the environment's DS_ISA names (generic, avx2,
   avx512; default: the best this CPU runs). Prints one line of key=value results. */
#include <petscsys.h>
#include <petsctime.h>
#include "ds_kernels.h"
#include "ds_kernels_lse.h"
#include "ds_rng.h"
#include "ds_isa.h"
#include "ds_fgt.h"

/* Seconds of `reps` calls of the all-pairs or the cell-list sums of `queries` points. */
static double time_sums(const DSKernel *K, DSWeight weight, const DSBlock *q, const DSBlock *all, const DSCells *cells, DSKernelSums *sums)
{
  PetscLogDouble t0, t1;
  for (PetscInt i = 0; i < q->n; i++) {
    sums->value[i] = 0;
    for (PetscInt c = 0; c < q->dim; c++) sums->moment[c * sums->ld + i] = 0;
  }
  PetscTime(&t0);
  if (cells) ds_kernel_sums_cells(K, weight, q, cells, PETSC_TRUE, sums);
  else ds_kernel_sums(K, weight, q, all, PETSC_TRUE, sums);
  PetscTime(&t1);
  return t1 - t0;
}

/* The cutoff path at N points of a unit Gaussian cloud in 2-D: the cell build (once per
   visiting block in a run) and the sums of `queries` sample particles against all N, by
   cell lists and by all pairs; the speed-up for all N queries is extrapolated from the
   per-query times, and the field t = moment / value is compared on the sample. */
static int cutoff_bench(const char *kernel, PetscInt n, PetscReal h, PetscReal eps, PetscInt queries)
{
  const PetscInt dim = 2;
  DSKernel       K;
  DSCells        cells = {0};
  PetscLogDouble t0, t1;
  PetscReal     *x, *v1, *m1, *v2, *m2;
  const DSWeight weight = !strcmp(kernel, "laplace") ? DS_WEIGHT_VALUE : DS_WEIGHT_GRADIENT;

  PetscCall(PetscMalloc5(dim * n, &x, queries, &v1, dim * queries, &m1, queries, &v2, dim * queries, &m2));
  for (PetscInt i = 0; i < n; i++) {
    double z[2];
    ds_rng_normals(1, DS_STREAM_INIT, (uint64_t)i, 0, dim, z);
    x[i] = z[0], x[n + i] = z[1];
  }
  ds_kernel_setup(!strcmp(kernel, "laplace") ? DS_KERNEL_LAPLACE : DS_KERNEL_GAUSSIAN, h, 0.5, &K);
  DSBlock all = {n, dim, n, 0, x, NULL};
  /* The sample: every (n / queries)-th particle, as a block of its own with its global start. */
  PetscReal *qx;
  PetscCall(PetscMalloc1(dim * queries, &qx));
  const PetscInt stride = n / queries;
  for (PetscInt i = 0; i < queries; i++) qx[i] = x[i * stride], qx[queries + i] = x[n + i * stride];
  PetscTime(&t0);
  PetscCall(ds_cells_build(&all, ds_kernel_cutoff_radius(&K, eps), &cells));
  PetscTime(&t1);
  const double build = t1 - t0;
  double       worst = 0, scale = 0;
  double       t_cells = 0, t_all = 0;
  /* One query at a time keeps the self pair: query i is particle i * stride. */
  for (PetscInt i = 0; i < queries; i++) {
    DSBlock      q  = {1, dim, queries, i * stride, qx + i, NULL};
    DSKernelSums sa = {.ld = 1, .value = v1 + i, .moment = m1 + i, .companion = NULL}, sc = {.ld = 1, .value = v2 + i, .moment = m2 + i, .companion = NULL};
    sa.ld = sc.ld = queries;
    t_all += time_sums(&K, weight, &q, &all, NULL, &sa);
    t_cells += time_sums(&K, weight, &q, &all, &cells, &sc);
  }
  for (PetscInt i = 0; i < queries; i++)
    for (PetscInt c = 0; c < dim; c++) {
      const double ta = m1[c * queries + i] / v1[i], tc = m2[c * queries + i] / v2[i];
      worst = PetscMax(worst, PetscAbsReal(ta - tc));
      scale = PetscMax(scale, PetscAbsReal(ta));
    }
  const double all_pairs = t_all / queries * n, with_cells = build + t_cells / queries * n;
  printf("kernel=%s n=%d h=%g eps=%g queries=%d cell=%g cells=%dx%d build_s=%.3f all_pairs_s=%.2f cutoff_s=%.2f speedup=%.1f max_relative_error=%.2e\n", kernel, (int)n, (double)h, (double)eps, (int)queries, (double)cells.cell, (int)cells.count[0], (int)cells.count[1], build,
         all_pairs, with_cells, all_pairs / with_cells, worst / scale);
  PetscCall(ds_cells_destroy(&cells));
  PetscCall(PetscFree5(x, v1, m1, v2, m2));
  PetscCall(PetscFree(qx));
  PetscCall(PetscFinalize());
  return 0;
}

/* One evaluation of the conservative field's sums at N particles of a unit Gaussian cloud
   in 2-D against themselves and against N samples of a second one centred at (0.5, 0.5),
   by each -drift_sum method at tolerance eps: every pair and cell lists timed on `queries`
   sample particles and extrapolated to N (the cell build timed whole), the transform timed
   whole, plus, for the sums it cannot certify (bound > eps^(3/4) value), every pair's time
   for that many queries, as the program recomputes them. The field t_Y - t_X of each method
   is compared with every pair's on the sample (fallbacks taking every pair's values), as the
   largest error over the largest field value. */
static int fgt_bench(PetscInt n, PetscReal h, PetscReal eps, PetscInt queries)
{
  const PetscInt dim = 2, stride = n / queries;
  DSKernel       K;
  DSCells        cells = {0};
  DSFgt          fgt;
  DSFgtPlan      plan;
  PetscLogDouble t0, t1;
  PetscReal     *x[2], *qx, *value, *moment, *bound, *ref[2], *cut[2], *field[3], lo[3], hi[3], extent[3], flops;
  double         t_all = 0, t_cells = 0, t_build = 0, t_fgt = 0, uncertified = 0, worst_fgt = 0, worst_cut = 0, scale = 0;

  ds_kernel_setup(DS_KERNEL_GAUSSIAN, h, 0.5, &K);
  PetscCall(PetscMalloc5(dim * n, &x[0], dim * n, &x[1], dim * queries, &qx, n, &value, dim * n, &moment));
  PetscCall(PetscMalloc5(2 * n, &bound, (1 + dim) * queries, &ref[0], (1 + dim) * queries, &ref[1], (1 + dim) * queries, &cut[0], (1 + dim) * queries, &cut[1]));
  PetscCall(PetscCalloc3(dim * queries, &field[0], dim * queries, &field[1], dim * queries, &field[2]));
  for (PetscInt set = 0; set < 2; set++)
    for (PetscInt i = 0; i < n; i++) {
      double z[2];
      ds_rng_normals(1 + (uint64_t)set, DS_STREAM_INIT, (uint64_t)i, 0, dim, z);
      x[set][i] = z[0] + 0.5 * set, x[set][n + i] = z[1] + 0.5 * set;
    }
  for (PetscInt i = 0; i < queries; i++) qx[i] = x[0][i * stride], qx[queries + i] = x[0][n + i * stride];
  PetscCall(ds_fgt_create(PETSC_COMM_SELF, &fgt));
  for (PetscInt set = 0; set < 2; set++) {
    const DSBlock all = {n, dim, n, 0, x[set], NULL}, particles = {n, dim, n, 0, x[0], NULL};
    PetscTime(&t0);
    PetscCall(ds_cells_build(&all, ds_kernel_cutoff_radius(&K, eps), &cells));
    PetscTime(&t1);
    t_build += t1 - t0;
    for (PetscInt i = 0; i < queries; i++) {
      /* self pairs included, as the conservative field's default -drift_self include */
      DSBlock      q  = {1, dim, queries, -1, qx + i, NULL};
      DSKernelSums sa = {queries, ref[set] + i, ref[set] + queries + i, NULL, NULL}, sc = {queries, cut[set] + i, cut[set] + queries + i, NULL, NULL};
      t_all += time_sums(&K, DS_WEIGHT_GRADIENT, &q, &all, NULL, &sa);
      t_cells += time_sums(&K, DS_WEIGHT_GRADIENT, &q, &all, &cells, &sc);
    }
    PetscTime(&t0);
    PetscCall(ds_fgt_bounding_box(fgt, &particles, &all, lo, hi));
    for (PetscInt c = 0; c < dim; c++) extent[c] = hi[c] - lo[c];
    ds_fgt_choose(fgt, dim, h, eps, extent, n, n, &plan, &flops);
    DSKernelSums sums = {n, value, moment, NULL, NULL};
    PetscCall(ds_fgt_sums(fgt, &plan, lo, hi, &K, DS_WEIGHT_GRADIENT, &particles, &all, PETSC_FALSE, PETSC_FALSE, &sums, bound));
    PetscTime(&t1);
    t_fgt += t1 - t0;
    /* t_S at the sample by each method, into the field t_Y - t_X (fallbacks take every pair's) */
    for (PetscInt i = 0; i < n; i++) uncertified += !(value[i] > 0 && bound[i] <= ds_sums_certify(eps) * value[i]);
    for (PetscInt i = 0; i < queries; i++) {
      const PetscInt  j         = i * stride;
      const PetscBool certified = value[j] > 0 && bound[j] <= ds_sums_certify(eps) * value[j] ? PETSC_TRUE : PETSC_FALSE;
      const double    sign      = set ? 1 : -1;
      for (PetscInt c = 0; c < dim; c++) {
        const double t_exact = ref[set][(1 + c) * queries + i] / ref[set][i];
        field[0][c * queries + i] += sign * t_exact;
        field[1][c * queries + i] += sign * cut[set][(1 + c) * queries + i] / cut[set][i];
        field[2][c * queries + i] += sign * (certified ? moment[c * n + j] / value[j] : t_exact);
      }
    }
  }
  for (PetscInt k = 0; k < dim * queries; k++) {
    worst_cut = PetscMax(worst_cut, PetscAbsReal(field[1][k] - field[0][k]));
    worst_fgt = PetscMax(worst_fgt, PetscAbsReal(field[2][k] - field[0][k]));
    scale     = PetscMax(scale, PetscAbsReal(field[0][k]));
  }
  const double per_query = t_all / (2.0 * queries), exact_s = t_all / queries * n, cutoff_s = t_build + t_cells / queries * n, fgt_s = t_fgt + uncertified * per_query;
  printf("method=fgt n=%d h=%g eps=%g queries=%d box_over_h=%g nodes=%d exact_s=%.1f cutoff_s=%.2f fgt_s=%.2f uncertified=%.0f fgt_speedup=%.1f cutoff_speedup=%.1f fgt_max_relative_error=%.2e cutoff_max_relative_error=%.2e\n", (int)n, (double)h, (double)eps, (int)queries, (double)(plan.box / h), (int)plan.nodes, exact_s, cutoff_s, fgt_s,
         uncertified, exact_s / fgt_s, exact_s / cutoff_s, worst_fgt / scale, worst_cut / scale);
  PetscCall(ds_fgt_destroy(&fgt));
  PetscCall(ds_cells_destroy(&cells));
  PetscCall(PetscFree5(x[0], x[1], qx, value, moment));
  PetscCall(PetscFree5(bound, ref[0], ref[1], cut[0], cut[1]));
  PetscCall(PetscFree3(field[0], field[1], field[2]));
  PetscCall(PetscFinalize());
  return 0;
}

/* The clock the core runs at, from chains of dependent register-register integer additions
   (x = x + x: one per cycle on any x86-64 core): a VM's /proc/cpuinfo reports its nominal
   clock, not this. Not additions of an immediate: Intel cores since Golden Cove fold those
   chains at renaming and run several per cycle (4400 "MHz" on a 2.5 GHz Xeon). 20 chains of
   2 10^8 additions, the fastest one's rate: the time a VM's host takes the core away only
   slows a chain, so the fastest is the nearest the clock (one chain of 4 10^9 read 2463 MHz
   on a Zen 3 VM where five more read 2659 to 3024). */
static int clock_bench(void)
{
#if defined(__x86_64__)
  const long n = 50000000L;
  double     fastest = 0;
  long       x = 0;
  for (int chain = 0; chain < 20; chain++) {
    PetscLogDouble t0, t1;
    PetscCall(PetscTime(&t0));
    for (long i = 0; i < n; i++) __asm__ volatile("add %0, %0\n\tadd %0, %0\n\tadd %0, %0\n\tadd %0, %0" : "+r"(x));
    PetscCall(PetscTime(&t1));
    fastest = PetscMax(fastest, 4.0 * n / (t1 - t0) / 1e6);
  }
  printf("clock_mhz=%.0f\n", fastest);
#else
  printf("clock_mhz=unknown\n");
#endif
  PetscCall(PetscFinalize());
  return 0;
}

/* One sweep of ds_kernel_lse_sums (block against itself, squared cost): with the moments
   (`gradient`, the f update's pass, whose moments give the barycentric projection) or the
   value only (`value`, the g update's and the self problems' passes). */
static void lse_sweep(const DSBlock *block, PetscBool moments, DSLseSums *sums)
{
  DSLseSums s = *sums;
  if (!moments) s.moment = NULL;
  ds_lse_sums_reset(block->n, block->dim, &s);
  ds_kernel_lse_sums(DS_SINKHORN_COST_SQUARED, 0.25, block, block, PETSC_FALSE, &s);
}

int main(int argc, char **argv)
{
  PetscInt       dim = 2, n = 4096;
  PetscReal      seconds = 2.0;
  DSKernel       K;
  DSKernelType   type   = DS_KERNEL_GAUSSIAN;
  DSWeight       weight = DS_WEIGHT_GRADIENT;
  PetscLogDouble t0, t1;
  double         pairs = 0;

  PetscCall(PetscInitializeNoArguments());
  if (argc == 2 && !strcmp(argv[1], "clock")) return clock_bench();
  if (getenv("DS_ISA")) {
    PetscEnum isa;
    PetscBool known;
    PetscCall(PetscEnumFind(DSIsaNames, getenv("DS_ISA"), &isa, &known));
    if (!known || isa == (PetscEnum)DS_ISA_AUTO || !ds_isa_supported((DSIsa)isa)) {
      fprintf(stderr, "kernel_bench: DS_ISA=%s: not a level this CPU and build run\n", getenv("DS_ISA"));
      PetscCall(PetscFinalize());
      return 2;
    }
    ds_isa_select((DSIsa)isa);
  }
  if (argc == 2 && !strcmp(argv[1], "isa")) {
    printf("vector_isa=%s\n", DSIsaNames[ds_isa_current()]);
    PetscCall(PetscFinalize());
    return 0;
  }
  if (argc == 6 && !strcmp(argv[1], "fgt")) return fgt_bench(atoi(argv[2]), atof(argv[3]), atof(argv[4]), atoi(argv[5]));
  if (argc == 7 && !strcmp(argv[1], "cutoff")) return cutoff_bench(argv[2], atoi(argv[3]), atof(argv[4]), atof(argv[5]), atoi(argv[6]));
  if (argc < 4) {
    fprintf(stderr, "usage: %s gaussian|laplace|imq|lse value|gradient DIM [N] [SECONDS] [full|symmetric]\n", argv[0]);
    return 2;
  }
  const PetscBool lse = !strcmp(argv[1], "lse") ? PETSC_TRUE : PETSC_FALSE;
  type   = !strcmp(argv[1], "laplace") ? DS_KERNEL_LAPLACE : !strcmp(argv[1], "imq") ? DS_KERNEL_IMQ : DS_KERNEL_GAUSSIAN;
  weight = !strcmp(argv[2], "value") ? DS_WEIGHT_VALUE : DS_WEIGHT_GRADIENT;
  dim    = atoi(argv[3]);
  if (argc > 4) n = atoi(argv[4]);
  if (argc > 5) seconds = atof(argv[5]);
  const PetscBool symmetric = argc > 6 && !strcmp(argv[6], "symmetric") ? PETSC_TRUE : PETSC_FALSE;

  PetscReal *x, *value, *moment, *max, *log_weight, *partner, *z;
  PetscCall(PetscMalloc5(dim * n, &x, n, &value, dim * n, &moment, n, &max, n, &log_weight));
  PetscCall(PetscMalloc2((1 + dim) * n, &partner, dim, &z));
  /* A unit Gaussian cloud and h = 0.5: most pairs within a few bandwidths, as in a run. */
  for (PetscInt i = 0; i < n; i++) {
    ds_rng_normals(1, DS_STREAM_INIT, (uint64_t)i, 0, dim, z);
    for (PetscInt c = 0; c < dim; c++) x[c * n + i] = z[c];
    log_weight[i] = -PetscLogReal((PetscReal)n); /* a pass's travelling log b + g / eps, g = 0 */
  }
  ds_kernel_setup(type, 0.5, 0.5, &K);
  DSBlock      block = {n, dim, n, 0, x, lse ? log_weight : NULL};
  DSKernelSums sums  = {.ld = n, .value = value, .moment = moment, .companion = NULL};
  DSLseSums    lse_sums = {n, max, value, moment};
  DSKernelSums partner_sums = {.ld = n, .value = partner, .moment = partner + n};
  PetscCheck(!symmetric || ds_kernel_symmetric_apply(&K, weight, dim, &sums), PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "the symmetric micro-kernel does not serve %s %s in %d dimensions", argv[1], argv[2], (int)dim);
  PetscCall(PetscTime(&t0));
  do {
    if (lse) lse_sweep(&block, weight == DS_WEIGHT_GRADIENT, &lse_sums);
    else if (symmetric) { /* the block's own triangle, its partner sums then added, as the field's ring does */
      PetscCall(PetscArrayzero(partner, (1 + dim) * n));
      ds_kernel_sums_symmetric(&K, weight, &block, &block, PETSC_TRUE, PETSC_TRUE, &sums, &partner_sums);
      for (PetscInt i = 0; i < n; i++) value[i] += partner[i];
      for (PetscInt i = 0; i < dim * n; i++) moment[i] += partner[n + i];
    } else ds_kernel_sums(&K, weight, &block, &block, PETSC_TRUE, &sums);
    pairs += (double)n * n;
    PetscCall(PetscTime(&t1));
  } while (t1 - t0 < seconds);
  printf("kernel=%s weight=%s dim=%d n=%d schedule=%s vector_isa=%s pairs_per_s=%.4e checksum=%.6e\n", argv[1], argv[2], (int)dim, (int)n, symmetric ? "symmetric" : "full", DSIsaNames[ds_isa_current()], pairs / (t1 - t0), value[0]);
  PetscCall(PetscFree5(x, value, moment, max, log_weight));
  PetscCall(PetscFree2(partner, z));
  PetscCall(PetscFinalize());
  return 0;
}
