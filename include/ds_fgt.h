/* The fast Gauss transform (doc/design.md "Fast sums", doc/performance.md "The fast Gauss
   transform's bound"): the gaussian kernel sums of ds_kernels.h (values and first moments)
   of query points against a source set in O(N) for a fixed tolerance in dimensions 1 to 3,
   each with a bound on its error. Boxes of side L on a lattice; in each box the kernel
   k(z - s) = prod_c phi(z_c - s_c), phi(t) = exp(-t^2 / 2h^2), and the moment factor
   psi(t) = t phi(t), are interpolated in z and in s at p Chebyshev points of the second
   kind per coordinate: each source box's points are anterpolated onto its p^d nodes, each
   query box gathers the nodes of every source box within the cut radius (the translation
   is separable: a p x p matrix per coordinate, one per box offset), and each query
   interpolates its box's nodes. */
#ifndef DS_FGT_H
#define DS_FGT_H

#include "ds_kernels.h"

/* Chebyshev points per box edge at most. */
#define DS_FGT_MAX_NODES 40

/* The transform's parameters for one bandwidth, tolerance and box side. Each pair
   (z, s) whose boxes are within the cut radius contributes to a sum with an error of at
   most error_value (value) and error_moment (each moment component, in units of
   |z - s| k); each pair beyond has k <= cut_value and |z - s| k <= cut_radius cut_value
   and is dropped. All four are at most eps, resp. eps h (ds_fgt_plan). */
typedef struct {
  PetscInt  dim;
  PetscReal h, box;     /* bandwidth and box side L */
  PetscInt  nodes;      /* p Chebyshev points per box edge; 0: no p <= DS_FGT_MAX_NODES reaches eps */
  PetscReal cut_radius; /* box pairs whose nearest points are this far apart are skipped */
  PetscReal cut_value;  /* phi at the cut radius */
  PetscReal error_value, error_moment;
} DSFgtPlan;

/* The plan for boxes of side box_over_h h: the fewest Chebyshev points p for which the
   interpolation bound (Trefethen, Approximation Theory and Approximation Practice, thm 8.2,
   with the Lebesgue constant of thm 15.2) of the kernel's pair error is at most eps, and of
   the moment's at most eps h, and the cut radius at which k and |z - s| k fall below the
   same. Local. */
PETSC_EXTERN void ds_fgt_plan(PetscInt dim, PetscReal h, PetscReal eps, PetscReal box_over_h, DSFgtPlan *plan);

/* The cheapest plan over a ladder of box sides, by the transform's operation count for
   nq queries and ns sources spread over `extent` (per coordinate); *flops is that count
   (INFINITY when no plan reaches eps). Local; the same on every rank given the same input. */
PETSC_EXTERN void ds_fgt_choose(PetscInt dim, PetscReal h, PetscReal eps, const PetscReal extent[], PetscReal nq, PetscReal ns, DSFgtPlan *plan, PetscReal *flops);

typedef struct DSFgt_ *DSFgt;

/* A transform's work space over comm (collective). */
PETSC_EXTERN PetscErrorCode ds_fgt_create(MPI_Comm comm, DSFgt *fgt);

/* The global bounding box of the queries and sources of every rank (collective):
   lo[c], hi[c] for c < dim. With `replicated` the sources are the same on every rank. */
PETSC_EXTERN PetscErrorCode ds_fgt_bounding_box(DSFgt fgt, const DSBlock *query, const DSBlock *source, PetscReal lo[], PetscReal hi[]);

/* sums = the gaussian kernel sums (kernel, weight) of this rank's queries against every
   rank's source block (`replicated`: every rank holds all of them) by the transform of
   `plan`, over the bounding box lo, hi of ds_fgt_bounding_box (collective); with
   exclude_self the self pair's k(0) = 1 is taken off each query's value (the queries are
   the sources' particles). bound[i] and bound[nq + i] (when bound is not NULL) bound the
   error of query i's value and of each of its moment components, in the units of the
   sums (the moment's scaled by 1/h^2 for the gradient weight). Unweighted sources only. */
PETSC_EXTERN PetscErrorCode ds_fgt_sums(DSFgt fgt, const DSFgtPlan *plan, const PetscReal lo[], const PetscReal hi[], const DSKernel *kernel, DSWeight weight, const DSBlock *query, const DSBlock *source, PetscBool replicated, PetscBool exclude_self, DSKernelSums *sums, PetscReal *bound);

/* Frees the work space. */
PETSC_EXTERN PetscErrorCode ds_fgt_destroy(DSFgt *fgt);

#endif
