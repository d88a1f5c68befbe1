/* Bandwidth rules and annealing (SCIENCE.md: bandwidth). */
#ifndef DS_BANDWIDTH_H
#define DS_BANDWIDTH_H

#include <petscvec.h>
#include "ds_options.h"
#include "ds_target.h"

typedef struct {
  DSBandwidthRule rule;
  PetscReal       h0;     /* the rule's value at t = 0 */
  PetscReal       anneal; /* r; 0 = constant h0 */
  PetscReal       h_min;  /* floor of the annealing */
} DSBandwidth;

/* h0 by the options' rule (collective; the same value at every rank count):
     fixed      h0 = -drift_bandwidth
     rate       h0 = c N^(-1/(d+4)),                   c = -drift_bandwidth_scale
     silverman  h0 = sigma (4 / ((d + 2) N))^(1/(d+4))
     scott      h0 = sigma N^(-1/(d+4))
     median     h0 = median of |z_a - z_b| over -drift_bandwidth_pairs pairs (a != b) drawn
                     with the counter-based generator from the pooled initial particles and
                     target samples (particles only for an analytic target)
   where sigma is the target's pooled standard deviation sqrt(trace(Cov) / d) (from the
   samples, 1/(M-1) normalisation, or from the mixture's moments when analytic) and N the
   particle count. Raises PETSC_ERR_USER_INPUT when -drift_bandwidth_min exceeds h0. */
PETSC_EXTERN PetscErrorCode ds_bandwidth_create(MPI_Comm comm, const DSOptions *opts, const DSTarget *target, Vec X, DSBandwidth *bandwidth);

/* h(t) = max(h_min, h0 exp(-r t)), or h0 without annealing. */
PETSC_EXTERN PetscReal ds_bandwidth_at(const DSBandwidth *bandwidth, PetscReal t);

#endif
