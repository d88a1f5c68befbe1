/* The kernel table's scalar parts (ds_kernels.h, ds_kernels_floor.h, ds_kernels_lse.h),
   compiled once: a kernel's setup, gradient factor, normalisation, Laplacian at 0 and cutoff
   radius, whether the symmetric micro-kernel serves a sum, the floored modes' rules and the
   Sinkhorn costs. The pair loops, compiled once per ISA level, are in kernels.c,
   kernels_floor.c and kernels_lse.c. */
#include <math.h>
#include "kernels_isa.h"

void ds_kernel_setup(DSKernelType type, PetscReal h, PetscReal beta, DSKernel *kernel)
{
  kernel->type   = type;
  kernel->h      = h;
  kernel->beta   = beta;
  kernel->inv_h  = 1.0 / h;
  kernel->inv_h2 = 1.0 / (h * h);
  /* k = 2^(log2_scale r^2) gaussian, 2^(log2_scale r) laplace: log2(e) folded in once;
     imq (a power, not an exponential) has none. */
  kernel->log2_scale = type == DS_KERNEL_GAUSSIAN ? -0.5 * kernel->inv_h2 * M_LOG2E : type == DS_KERNEL_LAPLACE ? -kernel->inv_h * M_LOG2E : NAN;
  kernel->imq_halves = type == DS_KERNEL_IMQ && 2 * beta == floor(2 * beta) && 2 * beta >= 1 && 2 * beta <= 4 ? (int)(2 * beta) : 0;
}

PetscReal ds_kernel_gradient_factor(const DSKernel *kernel, PetscReal r)
{
  switch (kernel->type) {
  case DS_KERNEL_GAUSSIAN: return -ds_kernel_value(kernel, r) * kernel->inv_h2;
  case DS_KERNEL_LAPLACE: return r > 0 ? -ds_kernel_value(kernel, r) * kernel->inv_h / r : 0.0;
  case DS_KERNEL_IMQ: return -2.0 * kernel->beta * kernel->inv_h2 * pow(1.0 + r * r * kernel->inv_h2, -kernel->beta - 1.0);
  }
  return NAN;
}

PetscBool ds_kernel_symmetric_apply(const DSKernel *kernel, DSWeight weight, PetscInt dim, const DSKernelSums *sums)
{
  return ds_fused_moment_scale(kernel, weight) != 0 && dim <= 3 && !ds_kernel_sums_extended(sums) ? PETSC_TRUE : PETSC_FALSE;
}

PetscReal ds_kernel_normalisation(const DSKernel *kernel, PetscInt dim)
{
  const PetscReal d = (PetscReal)dim, log_pi = log(PETSC_PI);

  switch (kernel->type) {
  case DS_KERNEL_GAUSSIAN: return pow(2.0 * PETSC_PI * kernel->h * kernel->h, 0.5 * d);
  case DS_KERNEL_LAPLACE: return 2.0 * exp(d * log(kernel->h) + 0.5 * d * log_pi + lgamma(d) - lgamma(0.5 * d));
  case DS_KERNEL_IMQ:
    if (!(2.0 * kernel->beta > d)) return INFINITY;
    return exp(d * log(kernel->h) + 0.5 * d * log_pi + lgamma(kernel->beta - 0.5 * d) - lgamma(kernel->beta));
  }
  return NAN;
}

PetscReal ds_kernel_laplacian_at_zero(const DSKernel *kernel, PetscInt dim)
{
  switch (kernel->type) {
  case DS_KERNEL_GAUSSIAN: return -(PetscReal)dim * kernel->inv_h2;
  case DS_KERNEL_LAPLACE: return NAN;
  case DS_KERNEL_IMQ: return -2.0 * kernel->beta * (PetscReal)dim * kernel->inv_h2;
  }
  return NAN;
}

PetscReal ds_kernel_cutoff_radius(const DSKernel *kernel, PetscReal eps)
{
  switch (kernel->type) {
  case DS_KERNEL_GAUSSIAN: return kernel->h * sqrt(2.0 * log(1.0 / eps));
  case DS_KERNEL_LAPLACE: return kernel->h * log(1.0 / eps);
  case DS_KERNEL_IMQ: return INFINITY;
  }
  return INFINITY;
}

DSFloorRule ds_floor_rule(DSJointFloor floor, PetscReal unit)
{
  if (floor == DS_JOINT_FLOOR_LARGE_SCALE) return (DSFloorRule){floor, DS_LARGE_SCALE_MIN_R2, PetscSqrtReal(DS_LARGE_SCALE_MIN_R2) + DS_LARGE_SCALE_SELF_OFFSET * unit};
  return (DSFloorRule){floor, 0.0, DS_TUTORIAL_SELF_DISTANCE};
}

PetscReal ds_lse_cost(DSSinkhornCost cost, PetscReal r) { return cost == DS_SINKHORN_COST_SQUARED ? 0.5 * r * r : r; }

void ds_lse_sums_reset(PetscInt n, PetscInt dim, DSLseSums *sums)
{
  for (PetscInt i = 0; i < n; i++) {
    sums->max[i]   = -INFINITY;
    sums->value[i] = 0;
    if (sums->moment)
      for (PetscInt c = 0; c < dim; c++) sums->moment[c * sums->ld + i] = 0;
  }
}
