/* The fast Gauss transform (doc/design.md "Fast sums", doc/performance.md "The fast Gauss
   transform's bound"): the gaussian kernel sums of ds_kernels.h (values, first and second
   moments) of query points against a source set in O(N) for a fixed tolerance in dimensions 1 to 3,
   each with a bound on its error. Boxes of side L on a lattice; in each box the kernel
   k(z - s) = prod_c phi(z_c - s_c), phi(t) = exp(-t^2 / 2h^2), and the moments' factors
   t phi(t) and t^2 phi(t), are interpolated in z and in s at p Chebyshev points of the second
   kind per coordinate: each source box's points are anterpolated onto its p^d nodes, each
   query box gathers the nodes of every source box within the cut radius (the translation
   is separable: a p x p matrix per coordinate, one per box offset), and each query
   interpolates its box's nodes. */
#ifndef DS_FGT_H
#define DS_FGT_H

#include "ds_kernels.h"
#include "ds_ring.h"

/* The cost model of -drift_sum auto (doc/design.md "Fast sums"): pairs of the exact loop
   one operation of ds_fgt_choose's count is worth (the transform's operations ran at
   1.3e9 per second, the fused pair loop at 7e8 pairs per second, on Zen 3). */
#define DS_FGT_PAIRS_PER_OPERATION 0.5

/* Chebyshev points per box edge at most. */
#define DS_FGT_MAX_NODES 40

/* The transform's parameters for one bandwidth, tolerance and box side. Each pair
   (z, s) whose boxes are within the cut radius contributes to a sum with an error of at
   most error_value (value), error_moment (each moment component, in units of |z - s| k)
   and error_second (the second moment, |z - s|^2 k); each pair beyond has
   k <= cut_value and is dropped. They are at most eps, eps h and eps h^2 (ds_fgt_plan). */
typedef struct {
  PetscInt  dim;
  PetscReal h, box;     /* bandwidth and box side L */
  PetscInt  nodes;      /* p Chebyshev points per box edge; 0: no p <= DS_FGT_MAX_NODES reaches eps */
  PetscReal cut_radius; /* box pairs whose nearest points are this far apart are skipped */
  PetscReal cut_value;  /* phi at the cut radius */
  PetscReal error_value, error_moment, error_second;
} DSFgtPlan;

/* The plan for boxes of side box_over_h h: the fewest Chebyshev points p for which the
   interpolation bound (Trefethen, Approximation Theory and Approximation Practice, thm 8.2,
   with the Lebesgue constant of thm 15.2) of the kernel's pair error is at most eps, of
   the moment's at most eps h and of the second moment's at most eps h^2, and the cut radius
   at which k, |z - s| k and |z - s|^2 k fall below the same. Local. */
PETSC_EXTERN void ds_fgt_plan(PetscInt dim, PetscReal h, PetscReal eps, PetscReal box_over_h, DSFgtPlan *plan);

typedef struct DSFgt_ *DSFgt;

/* The cheapest plan over a ladder of box sides (0.5 h to 16 h), by the transform's
   operation count for nq queries and ns sources spread over `extent` (per coordinate);
   *flops is that count (INFINITY when no plan reaches eps). The ladder's plans are kept in
   fgt per dimension and tolerance (they scale with h). Local; the same on every rank
   given the same input. */
PETSC_EXTERN void ds_fgt_choose(DSFgt fgt, PetscInt dim, PetscReal h, PetscReal eps, const PetscReal extent[], PetscReal nq, PetscReal ns, DSFgtPlan *plan, PetscReal *flops);

/* A transform's work space over comm (collective). */
PETSC_EXTERN PetscErrorCode ds_fgt_create(MPI_Comm comm, DSFgt *fgt);

/* The global bounding box of the queries and sources of every rank (collective):
   lo[c], hi[c] for c < dim. With `replicated` the sources are the same on every rank. */
PETSC_EXTERN PetscErrorCode ds_fgt_bounding_box(DSFgt fgt, const DSBlock *query, const DSBlock *source, PetscReal lo[], PetscReal hi[]);

/* sums = the gaussian kernel sums (kernel, weight) of this rank's queries against every
   rank's source block (`replicated`: every rank holds all of them) by the transform of
   `plan`, over the bounding box lo, hi of ds_fgt_bounding_box (collective); with
   exclude_self the self pair's k(0) = 1 is taken off each query's value (the queries are
   the sources' particles). bound[i], bound[nq + i] and, with second moments,
   bound[2 nq + i] (when bound is not NULL) bound the error of query i's value, of each of
   its moment components and of its second moment, in the units of the sums (the moment's
   scaled by 1/h^2 for the gradient weight). Values, moments and second moments
   (sums->second) of unweighted sources only. */
PETSC_EXTERN PetscErrorCode ds_fgt_sums(DSFgt fgt, const DSFgtPlan *plan, const PetscReal lo[], const PetscReal hi[], const DSKernel *kernel, DSWeight weight, const DSBlock *query, const DSBlock *source, PetscBool replicated, PetscBool exclude_self, DSKernelSums *sums, PetscReal *bound);

/* Frees the work space. */
PETSC_EXTERN PetscErrorCode ds_fgt_destroy(DSFgt *fgt);

/* The fraction of its value a fast sum's bound may reach and the sum still be used:
   eps^(3/4) for tolerance eps (doc/design.md "Fast sums"). Above it the sum is recomputed
   over every pair (ds_sums_recompute_uncertified): t_S = M_S / W_S is then within about
   eps^(3/4) (|t_S| + h) of its exact value by the bound, and much closer in practice. */
static inline PetscReal ds_sums_certify(PetscReal eps) { return PetscPowReal(eps, 0.75); }

/* The fast sums' fallback: recomputes over every pair (one pass of `ring`, whose local
   block is `sources`) the sums of the queries whose value bound exceeds `certify` times
   their value, or whose value is not positive, and zeroes their bounds (bound as
   ds_fgt_sums gives it). The queries are packed in runs of consecutive global indices, so
   that with exclude_self the self pair is excluded by index as in ds_kernel_sums.
   *count = the recomputed queries of every rank, *pairs = the pairs this rank summed.
   Collective on comm (the ring's communicator, or a larger one for a local ring). */
PETSC_EXTERN PetscErrorCode ds_sums_recompute_uncertified(MPI_Comm comm, DSRing ring, const DSBlock *sources, const DSKernel *kernel, DSWeight weight, const DSBlock *query, PetscBool exclude_self, PetscReal certify, DSKernelSums *sums, PetscReal *bound, PetscInt *count, PetscLogDouble *pairs);

#endif
