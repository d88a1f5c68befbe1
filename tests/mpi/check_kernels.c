/* Kernel table and micro-kernel: gradients against finite differences of the values, and
   the tiled block sums against a plain double loop over the single-pair formulas. */
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
        worst = PetscMax(worst, fabs(fd - g * (z[c] - w[c])) / PetscMax(fabs(fd), 1e-3));
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

/* The block sums of every kernel and weight, with and without the self pair, against a
   double loop; blocks longer than one tile and a source block offset in global index. */
START_TEST(block_sums_match_double_loop)
{
  const int nq = 7, ns = 600, dim = 3, source_start = 3;
  double    zq[3 * 7], ss[3 * 600], worst = 0;

  for (int i = 0; i < nq; i++)
    for (int c = 0; c < dim; c++) zq[c * nq + i] = point_coordinate(i + source_start, c);
  for (int j = 0; j < ns; j++)
    for (int c = 0; c < dim; c++) ss[c * ns + j] = point_coordinate(j, c);
  /* Query i is source point i + source_start: the self pairs are inside the block. */
  DSBlock query = {nq, dim, nq, 2 * source_start, zq}, source = {ns, dim, ns, source_start, ss};

  for (size_t t = 0; t < 3; t++)
    for (int weight = 0; weight < 2; weight++)
      for (int exclude = 0; exclude < 2; exclude++) {
        DSKernel     K;
        double       value[7] = {0}, moment[3 * 7] = {0};
        DSKernelSums sums = {nq, value, moment};
        ds_kernel_setup(all_kernels[t], 0.6, 0.5, &K);
        ds_kernel_sums(&K, (DSWeight)weight, &query, &source, (PetscBool)exclude, &sums);
        for (int i = 0; i < nq; i++) {
          double z[3], ref_value = 0, ref_moment[3] = {0};
          for (int c = 0; c < dim; c++) z[c] = zq[c * nq + i];
          for (int j = 0; j < ns; j++) {
            if (exclude && query.start + i == source.start + j) continue;
            double s[3];
            for (int c = 0; c < dim; c++) s[c] = ss[c * ns + j];
            const double r = distance(dim, z, s), k = ds_kernel_value(&K, r);
            const double f = weight == DS_WEIGHT_VALUE ? k : ds_kernel_gradient_factor(&K, r);
            ref_value += k;
            for (int c = 0; c < dim; c++) ref_moment[c] += f * (z[c] - s[c]);
          }
          worst = PetscMax(worst, ds_test_reldiff(value[i], ref_value, 1e-300));
          for (int c = 0; c < dim; c++) worst = PetscMax(worst, ds_test_reldiff(moment[c * nq + i], ref_moment[c], 1e-300));
        }
      }
  DS_ASSERT_ALL(worst < 1e-12, "block sums differ from the double loop by %g (relative)", worst);
}
END_TEST

Suite *ds_suite_kernels(void)
{
  Suite *s  = suite_create("kernels");
  TCase *tc = tcase_create("kernels");
  tcase_add_test(tc, values_match_table);
  tcase_add_test(tc, gradient_matches_finite_differences);
  tcase_add_test(tc, block_sums_match_double_loop);
  suite_add_tcase(s, tc);
  return s;
}
