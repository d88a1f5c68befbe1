/* The log-sum-exp pair loops of the Sinkhorn iterations (SCIENCE.md, "Sinkhorn drift"):
   sums of exp(w_j - c(z_i, s_j) / eps) over source points, kept stable by a running
   maximum per query point, on the vector layer of the micro-kernels (kernels_lse.c). */
#ifndef DS_KERNELS_LSE_H
#define DS_KERNELS_LSE_H

#include "ds_options.h"
#include "ds_block.h"

/* Running log-sum-exp accumulators of query point i, with e_ij = w_j - c(z_i, s_j) / eps:
   max[i] = m_i, a shift (-INFINITY before any term) that the sums raise so that
   m_i <= max_j e_ij <= m_i + 900 ln 2 (no term beyond 2^900), value[i] = sum_j exp(e_ij - m_i)
   and, when moment is not NULL, moment[c * ld + i] = sum_j exp(e_ij - m_i) d_c(z_i, s_j) with
   d = grad_z c(z, s): z - s for the squared cost, (z - s) / |z - s| (0 at z = s) for the
   euclidean one. So log sum_j exp(e_ij) = m_i + log value[i] and moment / value is the
   gradient of -eps times that log-sum-exp, free of cancellation. */
typedef struct {
  PetscInt   ld;
  PetscReal *max;
  PetscReal *value;
  PetscReal *moment;
} DSLseSums;

/* The cost c(z, s) of a pair at distance r: r^2 / 2 (squared) or r (euclidean). */
PETSC_EXTERN PetscReal ds_lse_cost(DSSinkhornCost cost, PetscReal r);

/* Adds every pair (query z_i, source s_j) to the running sums, w_j = source->weight[j] the
   sources' log-weights (NULL: 0), pairs of the same global index (query->start + i ==
   source->start + j) left out when exclude_same_index. A query's first terms set its shift
   to their maximum, so no term overflows and a query whose every term would underflow in
   plain exp still has its largest term exact. */
PETSC_EXTERN void ds_kernel_lse_sums(DSSinkhornCost cost, PetscReal epsilon, const DSBlock *query, const DSBlock *source, PetscBool exclude_same_index, DSLseSums *sums);

/* Sets every query's accumulators to the empty sum (max -INFINITY, value and moments 0). */
PETSC_EXTERN void ds_lse_sums_reset(PetscInt n, PetscInt dim, DSLseSums *sums);

#endif
