/* Kernel table and micro-kernel: gradients against finite differences of the values, and
   the tiled block sums against a plain double loop over the single-pair formulas. */
#include <float.h>
#include <math.h>
#include "ds_test.h"
#include "ds_kernels.h"

static const DSKernelType all_kernels[] = {DS_KERNEL_GAUSSIAN, DS_KERNEL_LAPLACE, DS_KERNEL_IMQ};

static double distance(int dim, const double *z, const double *w)
{
  double r2 = 0;
  for (int c = 0; c < dim; c++) r2 += (z[c] - w[c]) * (z[c] - w[c]);
  return sqrt(r2);
}

/* Points spread over a few bandwidths, deterministic. */
static double point_coordinate(int i, int c) { return sin(1.7 * i + 0.9 * c + 0.3) * 1.3 + 0.05 * c; }

/* The kernels' exponential 2^y against long double exp2l: within 1 ulp for y >= -1021,
   exactly 0 for y <= -1021.0625 (the flush happens at -1021 - 1/32), never subnormal.
   10^6 arguments over [-1030, 0]. */
START_TEST(exponential_matches_long_double)
{
  double worst = 0;
  int    flushed = 1, subnormal = 0;
  for (int i = 0; i <= 1000000; i++) {
    const double      y   = -1030.0 * i / 1000000.0, got = ds_exp2_nonpositive(y);
    const long double ref = exp2l((long double)y);
    if (y >= -1021) worst = ds_test_worst(worst, (double)(fabsl(got - ref) / ref));
    else if (y <= -1021.0625) flushed &= got == 0.0;
    subnormal |= got != 0.0 && got < DBL_MIN;
  }
  DS_ASSERT_ALL(worst <= DBL_EPSILON && flushed && !subnormal, "2^y: worst relative error %g (%.2f ulp), flushed below 2^-1021.0625 %d, subnormal results %d", worst, worst / DBL_EPSILON, flushed, subnormal);
}
END_TEST

/* Gaussian and laplace kernel values against exp(x) in long double, x = -r^2 / (2 h^2) or
   -r / h, for x in [-740, 0]. The argument y = x log2(e) is formed in double from the
   rounded scale (at most 4 roundings: h*h, 1/., log2(e), the product) and r^2 (1) and
   their product (1): a relative error of 6 2^-53 in y, so 3 eps |x| in the value, plus
   the 1 ulp of 2^y, for values from 2 DBL_MIN (2^-1021) up. Values below 1.9 DBL_MIN
   must be 0. */
START_TEST(kernel_values_within_rounding_bound)
{
  const double h_values[] = {0.7, 0.05};
  double       worst = 0;
  int          flushed = 1;
  for (int t = 0; t < 2; t++)
    for (int hv = 0; hv < 2; hv++) {
      const double h = h_values[hv];
      DSKernel     K;
      ds_kernel_setup(all_kernels[t], h, 0.5, &K);
      for (int i = 1; i <= 200000; i++) {
        const double      x = -740.0 * i / 200000.0;
        const double      r = all_kernels[t] == DS_KERNEL_GAUSSIAN ? h * sqrt(-2.0 * x) : -h * x;
        const long double lr = r, lh = h, ex = all_kernels[t] == DS_KERNEL_GAUSSIAN ? -lr * lr / (2 * lh * lh) : -lr / lh, ref = expl(ex);
        const double      got = ds_kernel_value(&K, r);
        if (ref >= 2.0L * DBL_MIN) worst = ds_test_worst(worst, (double)(fabsl(got - ref) / ref / (DBL_EPSILON * (1 + 3 * fabsl(ex)))));
        else if (ref < 1.9L * DBL_MIN) flushed &= got == 0.0;
      }
    }
  DS_ASSERT_ALL(worst <= 1 && flushed, "kernel values: worst error %.3f of the rounding bound eps (1 + 3 |x|), flushed below 1.9 DBL_MIN %d", worst, flushed);
}
END_TEST

/* Imq kernel values x^(-beta), x = 1 + r^2 / h^2, against long double powl of the same
   double x, for the betas the pair loops take by square root, products and a division
   (2 beta = 1 to 4): at most 3 roundings, 3 2^-53 relative. A beta off the half-integers
   goes to pow: the same as pow. r / h from 0 to 10^6, 200000 points, evenly in log r. */
START_TEST(imq_values_within_rounding_bound)
{
  const double betas[] = {0.5, 1.0, 1.5, 2.0}, h = 0.3;
  double       worst = 0;
  int          halves_set = 1, off_half_same = 1;
  DSKernel     K;
  for (size_t b = 0; b < sizeof(betas) / sizeof(betas[0]); b++) {
    ds_kernel_setup(DS_KERNEL_IMQ, h, betas[b], &K);
    halves_set &= K.imq_halves == (int)(2 * betas[b]);
    for (int i = 0; i <= 200000; i++) {
      const double      r = i == 0 ? 0.0 : h * pow(10.0, -6.0 + 12.0 * i / 200000.0), x = 1.0 + r * r * K.inv_h2;
      const long double ref = powl((long double)x, -(long double)betas[b]);
      worst                 = ds_test_worst(worst, (double)(fabsl(ds_kernel_value(&K, r) - ref) / ref));
    }
  }
  ds_kernel_setup(DS_KERNEL_IMQ, h, 0.75, &K);
  for (int i = 0; i <= 1000; i++) {
    const double r = 0.01 * i;
    off_half_same &= ds_kernel_value(&K, r) == pow(1.0 + r * r * K.inv_h2, -0.75);
  }
  DS_ASSERT_ALL(halves_set && K.imq_halves == 0, "imq_halves: 2 beta not recorded for beta = 1/2 to 2, or recorded for beta = 0.75 (%d)", K.imq_halves);
  DS_ASSERT_ALL(worst <= 3 * DBL_EPSILON / 2, "imq values: worst relative error %g (%.2f eps), bound 1.5 eps", worst, worst / DBL_EPSILON);
  DS_ASSERT_ALL(off_half_same, "imq values at beta = 0.75 differ from pow");
}
END_TEST

START_TEST(gradient_matches_finite_differences)
{
  const int    dim = 3;
  const double eps = 1e-6;
  double       worst = 0;

  for (size_t t = 0; t < 3; t++) {
    DSKernel K;
    ds_kernel_setup(all_kernels[t], 0.7, 0.5, &K);
    for (int i = 0; i < 20; i++) {
      double z[3], w[3];
      for (int c = 0; c < dim; c++) { z[c] = point_coordinate(i, c); w[c] = point_coordinate(i + 50, c); }
      const double g = ds_kernel_gradient_factor(&K, distance(dim, z, w));
      for (int c = 0; c < dim; c++) {
        double zp[3], zm[3];
        memcpy(zp, z, sizeof(z)); memcpy(zm, z, sizeof(z));
        zp[c] += eps; zm[c] -= eps;
        const double fd = (ds_kernel_value(&K, distance(dim, zp, w)) - ds_kernel_value(&K, distance(dim, zm, w))) / (2 * eps);
        /* Central differences: truncation ~ eps^2 k''' ~ 1e-12, rounding ~ 1e-16 / eps = 1e-10. */
        worst = ds_test_worst(worst, fabs(fd - g * (z[c] - w[c])) / PetscMax(fabs(fd), 1e-3));
      }
    }
  }
  DS_ASSERT_ALL(worst < 1e-7, "kernel gradient differs from finite differences by %g", worst);
}
END_TEST

START_TEST(values_match_table)
{
  DSKernel g, l, q;
  ds_kernel_setup(DS_KERNEL_GAUSSIAN, 0.5, 0.5, &g);
  ds_kernel_setup(DS_KERNEL_LAPLACE, 0.5, 0.5, &l);
  ds_kernel_setup(DS_KERNEL_IMQ, 0.5, 1.5, &q);
  const double r = 0.8;
  int          ok = fabs(ds_kernel_value(&g, r) - exp(-r * r / (2 * 0.25))) < 1e-15 && fabs(ds_kernel_value(&l, r) - exp(-r / 0.5)) < 1e-15 &&
         fabs(ds_kernel_value(&q, r) - pow(1 + r * r / 0.25, -1.5)) < 1e-15 && ds_kernel_gradient_factor(&l, 0.0) == 0.0;
  DS_ASSERT_ALL(ok, "kernel values differ from SCIENCE.md's table");
}
END_TEST

/* Query block of 37 points (more than a panel of the wide micro-kernel, not a multiple of
   its register block or of a SIMD vector) that are source points 50..86 of a 601-point
   source block (longer than a tile, its last vector partial), so self pairs fall inside it
   and across the boundary of the wide micro-kernel's first tile at d = 16 (64 sources);
   source weights w_j = 1 + j mod 3; dim coordinates. */
enum { NQ = 37, NS = 601, DIM_MAX = 100, DIM = 3, SOURCE_START = 3, QUERY_OFFSET = 50 };
static double zq[DIM_MAX * NQ], ss[DIM_MAX * NS], sw[NS];

static void fill_blocks(int dim, DSBlock *query, DSBlock *source)
{
  for (int i = 0; i < NQ; i++)
    for (int c = 0; c < dim; c++) zq[c * NQ + i] = point_coordinate(i + QUERY_OFFSET, c);
  for (int j = 0; j < NS; j++) {
    sw[j] = 1 + j % 3;
    for (int c = 0; c < dim; c++) ss[c * NS + j] = point_coordinate(j, c);
  }
  *query  = (DSBlock){NQ, dim, NQ, SOURCE_START + QUERY_OFFSET, zq, NULL};
  *source = (DSBlock){NS, dim, NS, SOURCE_START, ss, NULL};
}

/* The block sums of every kernel and weight, with and without the self pair, source
   weights and the companion and second-moment sums, against a double loop over the
   single-pair formulas, in dimensions that take each micro-kernel: unweighted sums without
   the companion (but the laplace gradient's) go to the fused (d <= 3) or the wide one
   (d = 5: a partial chunk of coordinates; d = 16: two full ones), the others to the tiled
   one. Value-only sums (moment NULL) give the same values
   and companion sums, bit for bit. */
START_TEST(block_sums_match_double_loop)
{
  static const int dims[] = {1, 2, 3, 5, 16, 100}; /* 100: the wide micro-kernel's smallest panel and tile */
  DSBlock          query, source;
  double           worst = 0;
  int              values_only_same = 1;

  for (size_t di = 0; di < sizeof(dims) / sizeof(dims[0]); di++)
    for (int cs = 0; cs < 3 * 2 * 2 * 2 * 2; cs++) {
      const int    dim = dims[di], t = cs % 3, weight = cs / 3 % 2, exclude = cs / 6 % 2, weighted = cs / 12 % 2, with_companion = cs / 24;
      DSKernel     K;
      double       value[NQ] = {0}, moment[DIM_MAX * NQ] = {0}, companion[NQ] = {0}, second[NQ] = {0}, value_only[NQ] = {0}, companion_only[NQ] = {0};
      DSKernelSums sums = {.ld = NQ, .value = value, .moment = moment, .companion = with_companion ? companion : NULL, .second = with_companion ? second : NULL}, values = {.ld = NQ, .value = value_only, .moment = NULL, .companion = with_companion ? companion_only : NULL};
      fill_blocks(dim, &query, &source);
      source.weight = weighted ? sw : NULL;
      ds_kernel_setup(all_kernels[t], 0.6, exclude ? 0.75 : 0.5, &K); /* imq: beta = 1/2 by products, 3/4 by pow */
      ds_kernel_sums(&K, (DSWeight)weight, &query, &source, (PetscBool)exclude, &sums);
      ds_kernel_sums(&K, (DSWeight)weight, &query, &source, (PetscBool)exclude, &values);
      values_only_same &= !memcmp(value, value_only, sizeof(value)) && !memcmp(companion, companion_only, sizeof(companion));
      for (int i = 0; i < NQ; i++) {
        double z[DIM_MAX], ref_value = 0, ref_moment[DIM_MAX] = {0}, ref_magnitude[DIM_MAX] = {0}, ref_companion = 0, ref_second = 0; /* moments and sums of their terms' sizes */
        for (int c = 0; c < dim; c++) z[c] = zq[c * NQ + i];
        for (int j = 0; j < NS; j++) {
          if (exclude && query.start + i == source.start + j) continue;
          double s[DIM_MAX];
          for (int c = 0; c < dim; c++) s[c] = ss[c * NS + j];
          const double w = weighted ? sw[j] : 1, r = distance(dim, z, s), k = ds_kernel_value(&K, r);
          const double f = weight == DS_WEIGHT_VALUE ? k : ds_kernel_gradient_factor(&K, r);
          ref_value += w * k;
          ref_companion += w * (K.h + r) * k;
          ref_second += w * k * r * r;
          for (int c = 0; c < dim; c++) ref_moment[c] += w * f * (z[c] - s[c]), ref_magnitude[c] += fabs(w * f * (z[c] - s[c]));
        }
        worst = ds_test_worst(worst, ds_test_reldiff(value[i], ref_value, 1e-300));
        if (with_companion) worst = ds_test_worst(worst, PetscMax(ds_test_reldiff(companion[i], ref_companion, 1e-300), ds_test_reldiff(second[i], ref_second, 1e-300)));
        for (int c = 0; c < dim; c++) worst = ds_test_worst(worst, ds_test_reldiff(moment[c * NQ + i], ref_moment[c], ref_magnitude[c])); /* relative to the terms: the sums cancel */
      }
    }
  DS_ASSERT_ALL(worst < 1e-12, "block sums differ from the double loop by %g (relative)", worst);
  DS_ASSERT_ALL(values_only_same, "value-only kernel sums differ from the values of the full sums");
}
END_TEST

/* The symmetric micro-kernel against a double loop over the single-pair formulas, for the
   sums it serves (gaussian and imq value and gradient, laplace value; d = 1, 2, 3): a diagonal block
   of 601 points (three source tiles, the last partial; query groups and a remainder), with
   the self pair in and out, and an off-diagonal pair of blocks, 37 points of one (query groups
   and a remainder) against 601 of another. Both sides' sums are checked: the queries' and the
   partners' (each source's sums against the queries); moments relative to the sum of their
   terms' sizes, since on one curve of points they cancel. */
START_TEST(symmetric_sums_match_double_loop)
{
  enum { ND = 601 };
  static const struct {
    DSKernelType kernel;
    DSWeight     weight;
  } served[] = {{DS_KERNEL_GAUSSIAN, DS_WEIGHT_VALUE}, {DS_KERNEL_GAUSSIAN, DS_WEIGHT_GRADIENT}, {DS_KERNEL_LAPLACE, DS_WEIGHT_VALUE}, {DS_KERNEL_IMQ, DS_WEIGHT_VALUE}, {DS_KERNEL_IMQ, DS_WEIGHT_GRADIENT}};
  static double x[3 * ND], qv[ND], qm[3 * ND], pv[ND], pm[3 * ND];
  double        worst = 0;
  int           applies = 1;

  for (int dim = 1; dim <= 3; dim++)
    for (size_t k = 0; k < sizeof(served) / sizeof(served[0]); k++)
      for (int cs = 0; cs < 3; cs++) { /* 0, 1: the diagonal with the self pair in, out; 2: off-diagonal */
        const PetscBool diagonal = cs < 2 ? PETSC_TRUE : PETSC_FALSE, exclude = cs == 1 ? PETSC_TRUE : PETSC_FALSE;
        const int       nq = diagonal ? ND : NQ, ns = diagonal ? ND : NS;
        DSKernel        K;
        DSBlock         query, source;
        ds_kernel_setup(served[k].kernel, 0.6, exclude ? 0.75 : 0.5, &K); /* imq: beta = 1/2 by products, 3/4 by pow */
        if (diagonal) {
          for (int i = 0; i < ND; i++)
            for (int c = 0; c < dim; c++) x[c * ND + i] = point_coordinate(i, c);
          query = source = (DSBlock){ND, dim, ND, 0, x, NULL};
        } else fill_blocks(dim, &query, &source);
        for (int i = 0; i < ND; i++) {
          qv[i] = pv[i] = 0;
          for (int c = 0; c < dim; c++) qm[c * ND + i] = pm[c * ND + i] = 0;
        }
        DSKernelSums sums = {.ld = ND, .value = qv, .moment = qm}, partner = {.ld = ND, .value = pv, .moment = pm};
        applies &= ds_kernel_symmetric_apply(&K, served[k].weight, dim, &sums);
        ds_kernel_sums_symmetric(&K, served[k].weight, &query, &source, diagonal, exclude, &sums, &partner);
        /* On the diagonal each point's sums are its query side plus its partner side. */
        for (int side = 0; side < (diagonal ? 1 : 2); side++) {
          const DSBlock *a = side ? &source : &query, *b = side ? &query : &source;
          for (int i = 0; i < (side ? ns : nq); i++) {
            double z[3], ref_value = 0, ref_moment[3] = {0}, ref_magnitude[3] = {0}; /* moments and sums of their terms' sizes */
            for (int c = 0; c < dim; c++) z[c] = a->x[c * a->ld + i];
            for (int j = 0; j < (side ? nq : ns); j++) {
              if (diagonal && exclude && i == j) continue;
              double w[3];
              for (int c = 0; c < dim; c++) w[c] = b->x[c * b->ld + j];
              const double r = distance(dim, z, w), kv = ds_kernel_value(&K, r), f = served[k].weight == DS_WEIGHT_VALUE ? kv : ds_kernel_gradient_factor(&K, r);
              ref_value += kv;
              for (int c = 0; c < dim; c++) ref_moment[c] += f * (z[c] - w[c]), ref_magnitude[c] += fabs(f * (z[c] - w[c]));
            }
            const double value = side ? pv[i] : qv[i] + (diagonal ? pv[i] : 0);
            worst              = ds_test_worst(worst, ds_test_reldiff(value, ref_value, 1e-300));
            for (int c = 0; c < dim; c++) {
              const double moment = side ? pm[c * ND + i] : qm[c * ND + i] + (diagonal ? pm[c * ND + i] : 0);
              worst               = ds_test_worst(worst, ds_test_reldiff(moment, ref_moment[c], ref_magnitude[c])); /* relative to the terms: the sums cancel */
            }
          }
        }
      }
  DS_ASSERT_ALL(applies, "ds_kernel_symmetric_apply refused sums the symmetric micro-kernel serves");
  DS_ASSERT_ALL(worst < 1e-12, "symmetric sums differ from the double loop by %g (relative)", worst);
}
END_TEST

/* Row and column sums of the kernel matrix against a double loop, in d = 1, 2, 3 and 5,
   and the distance sum. */
START_TEST(row_column_and_distance_sums_match_double_loop)
{
  static const int dims[] = {1, 2, 3, 5};
  DSBlock          query, source;
  double           worst = 0;

  for (size_t di = 0; di < sizeof(dims) / sizeof(dims[0]); di++)
    for (size_t t = 0; t < 3; t++)
      for (int exclude = 0; exclude < 2; exclude++) {
        const int dim = dims[di];
        DSKernel  K;
        double    row[NQ] = {0}, column[NS] = {0}, ref_row[NQ] = {0}, ref_column[NS] = {0};
        fill_blocks(dim, &query, &source);
        ds_kernel_setup(all_kernels[t], 0.6, 0.5, &K);
        ds_kernel_row_column_sums(&K, &query, &source, (PetscBool)exclude, row, column);
        for (int i = 0; i < NQ; i++)
          for (int j = 0; j < NS; j++) {
            if (exclude && query.start + i == source.start + j) continue;
            double z[DIM_MAX], s[DIM_MAX];
            for (int c = 0; c < dim; c++) z[c] = zq[c * NQ + i], s[c] = ss[c * NS + j];
            const double k = ds_kernel_value(&K, distance(dim, z, s));
            ref_row[i] += k;
            ref_column[j] += k;
          }
        for (int i = 0; i < NQ; i++) worst = ds_test_worst(worst, ds_test_reldiff(row[i], ref_row[i], 1e-300));
        for (int j = 0; j < NS; j++) worst = ds_test_worst(worst, ds_test_reldiff(column[j], ref_column[j], 1e-300));
      }
  fill_blocks(DIM, &query, &source);
  double ref_distance = 0;
  for (int i = 0; i < NQ; i++)
    for (int j = 0; j < NS; j++) {
      double z[DIM], s[DIM];
      for (int c = 0; c < DIM; c++) z[c] = zq[c * NQ + i], s[c] = ss[c * NS + j];
      ref_distance += distance(DIM, z, s);
    }
  worst = ds_test_worst(worst, ds_test_reldiff(ds_kernel_distance_sum(&query, &source), ref_distance, 1e-300));
  DS_ASSERT_ALL(worst < 1e-12, "row, column or distance sums differ from the double loop by %g (relative)", worst);
}
END_TEST

/* Cell-list sums against all-pairs sums: every omitted pair has k < eps, so the value sums
   differ by at most n eps and each moment by at most n eps (max distance 4) |f / k|; the
   bandwidths put the cutoff radius near 0.15, so most pairs are omitted (checked too). d = 1, 2, 3, gaussian (value
   and gradient) and laplace (value), self pair in and out, queries from the block itself
   and from outside its bounding box. */
START_TEST(cell_sums_match_all_pairs_within_bound)
{
  enum { NP = 3000 };
  static double x[3 * NP], out_of_box[3 * 4];
  const double  eps = 1e-12;
  double        worst = 0;
  int           within = 1;

  for (int j = 0; j < NP; j++)
    for (int c = 0; c < 3; c++) x[c * NP + j] = point_coordinate(j, c);
  for (int i = 0; i < 4; i++)
    for (int c = 0; c < 3; c++) out_of_box[c * 4 + i] = (i % 2 ? 1.31 : -1.26) + 0.01 * c;
  for (int dim = 1; dim <= 3; dim++)
    for (int t = 0; t < 3; t++) {
      const DSKernelType type   = t == 2 ? DS_KERNEL_LAPLACE : DS_KERNEL_GAUSSIAN;
      const DSWeight     weight = t == 1 ? DS_WEIGHT_GRADIENT : DS_WEIGHT_VALUE;
      DSKernel           K;
      DSCells            cells = {0};
      ds_kernel_setup(type, type == DS_KERNEL_GAUSSIAN ? 0.02 : 0.005, 0.5, &K); /* cutoff radius ~0.15 either way */
      const double factor = weight == DS_WEIGHT_GRADIENT ? K.inv_h2 : 1.0;
      DSBlock      source = {NP, dim, NP, 0, x, NULL};
      ck_assert(ds_cells_build(&source, ds_kernel_cutoff_radius(&K, eps), &cells) == 0);
      int grid = 1, neighbourhood = 1;
      for (int k = 0; k < dim; k++) grid *= (int)cells.count[k], neighbourhood *= 3;
      within &= grid > 4 * neighbourhood; /* far more cells than one neighbourhood: most pairs are skipped */
      for (int exclude = 0; exclude < 2; exclude++)
        for (int outside = 0; outside < 2; outside++) {
          const int    nq    = outside ? 4 : 200;
          DSBlock      query = outside ? (DSBlock){4, dim, 4, -100, out_of_box, NULL} : (DSBlock){nq, dim, NP, 0, x, NULL};
          double       v1[200] = {0}, m1[3 * 200] = {0}, v2[200] = {0}, m2[3 * 200] = {0};
          DSKernelSums all = {.ld = nq, .value = v1, .moment = m1, .companion = NULL}, near = {.ld = nq, .value = v2, .moment = m2, .companion = NULL};
          ds_kernel_sums(&K, weight, &query, &source, (PetscBool)exclude, &all);
          ds_kernel_sums_cells(&K, weight, &query, &cells, (PetscBool)exclude, &near);
          for (int i = 0; i < nq; i++) {
            worst = ds_test_worst(worst, fabs(v1[i] - v2[i]) / (NP * eps));
            for (int c = 0; c < dim; c++) worst = ds_test_worst(worst, fabs(m1[c * nq + i] - m2[c * nq + i]) / (NP * eps * 4.0 * factor));
          }
        }
      ck_assert(ds_cells_destroy(&cells) == 0);
    }
  DS_ASSERT_ALL(within && worst <= 1.0, "cell-list sums exceed their bound: %g of the bound (grid large enough %d)", worst, within);
}
END_TEST

Suite *ds_suite_kernels(void)
{
  Suite *s  = suite_create("kernels");
  TCase *tc = tcase_create("kernels");
  tcase_add_test(tc, values_match_table);
  tcase_add_test(tc, exponential_matches_long_double);
  tcase_add_test(tc, kernel_values_within_rounding_bound);
  tcase_add_test(tc, imq_values_within_rounding_bound);
  tcase_add_test(tc, gradient_matches_finite_differences);
  tcase_add_test(tc, block_sums_match_double_loop);
  tcase_add_test(tc, symmetric_sums_match_double_loop);
  tcase_add_test(tc, row_column_and_distance_sums_match_double_loop);
  tcase_add_test(tc, cell_sums_match_all_pairs_within_bound);
  suite_add_tcase(s, tc);
  return s;
}
