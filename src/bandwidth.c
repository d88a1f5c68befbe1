/* Bandwidth rules and annealing. Every rule's value is the same bit for bit at every rank
   count: the median's pair endpoints reach every rank through one sum of zero-filled
   buffers (each coordinate has exactly one nonzero contributor), and the samples' standard
   deviation is summed serially in global sample order. */
#include <math.h>
#include <stdio.h>
#include "ds_bandwidth.h"
#include "ds_rng.h"

/* sigma = sqrt(trace(Cov) / d) of the mixture: Cov = sum_k w_k (C_k + m_k m_k^T) - mu mu^T,
   mu = sum_k w_k m_k, so trace(Cov) = sum_k w_k (tr C_k + |m_k|^2) - |mu|^2. */
static PetscReal mixture_sigma(const DSMixture *mixture)
{
  const PetscInt d     = mixture->dim;
  PetscReal      trace = 0.0;

  for (PetscInt j = 0; j < d; j++) {
    PetscReal mean = 0.0, second = 0.0;

    for (PetscInt k = 0; k < mixture->components; k++) {
      const PetscReal m = mixture->means[k * d + j];

      mean += mixture->weights[k] * m;
      second += mixture->weights[k] * (mixture->covariances[(k * d + j) * d + j] + m * m);
    }
    trace += second - mean * mean;
  }
  return sqrt(trace / (PetscReal)d);
}

/* sigma = sqrt(trace(Cov) / d) of M samples y[M][d] (row-major), two passes in index order:
   mean_j = (1/M) sum_i y_ij, then trace(Cov) = 1/(M-1) sum_j sum_i (y_ij - mean_j)^2. */
static PetscReal samples_sigma(PetscInt M, PetscInt d, const PetscReal *y)
{
  PetscReal squares = 0.0;

  for (PetscInt j = 0; j < d; j++) {
    PetscReal mean = 0.0;

    for (PetscInt i = 0; i < M; i++) mean += y[i * d + j];
    mean /= (PetscReal)M;
    for (PetscInt i = 0; i < M; i++) squares += (y[i * d + j] - mean) * (y[i * d + j] - mean);
  }
  return sqrt(squares / (PetscReal)(M - 1) / (PetscReal)d);
}

/* The target's pooled standard deviation sigma: from the mixture's moments when analytic;
   from the samples otherwise, computed where all of them are in global order (every rank
   when replicated, else rank 0 after a gather) and broadcast, so the value does not depend
   on how the samples are split. */
static PetscErrorCode target_sigma(MPI_Comm comm, const DSOptions *opts, const DSTarget *t, PetscReal *sigma)
{
  const PetscInt d = t->dim;
  PetscMPIInt    rank, size, count, total;
  PetscMPIInt   *counts = NULL, *displs = NULL;
  PetscReal     *all    = NULL;

  PetscFunctionBeginUser;
  if (t->analytic) {
    *sigma = mixture_sigma(t->mixture);
    PetscFunctionReturn(0);
  }
  PetscCheck(t->samples_global >= 2, comm, PETSC_ERR_USER_INPUT, "-drift_bandwidth_rule %s needs the standard deviation of at least 2 target samples (-drift_target_samples %" PetscInt_FMT " given)", DSBandwidthRules[opts->bandwidth_rule], t->samples_global);
  if (t->replicated) {
    *sigma = samples_sigma(t->samples_global, d, t->samples);
    PetscFunctionReturn(0);
  }
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscMPIIntCast(t->samples_local * d, &count));
  if (rank == 0) {
    PetscCall(PetscMPIIntCast(t->samples_global * d, &total)); /* the displacements must fit MPI's int */
    PetscCall(PetscMalloc3(size, &counts, size, &displs, total, &all));
  }
  PetscCallMPI(MPI_Gather(&count, 1, MPI_INT, counts, 1, MPI_INT, 0, comm));
  if (rank == 0) {
    displs[0] = 0;
    for (PetscMPIInt r = 1; r < size; r++) displs[r] = displs[r - 1] + counts[r - 1];
  }
  PetscCallMPI(MPI_Gatherv(t->samples, count, MPIU_REAL, all, counts, displs, MPIU_REAL, 0, comm));
  if (rank == 0) *sigma = samples_sigma(t->samples_global, d, all);
  PetscCallMPI(MPI_Bcast(sigma, 1, MPIU_REAL, 0, comm));
  PetscCall(PetscFree3(counts, displs, all));
  PetscFunctionReturn(0);
}

/* Pool indices (a, b), a != b, of pair p among P points: u from (seed, DS_STREAM_PAIRS, p,
   counter 0), a = floor(u0 P), b = floor(u1 (P - 1)) moved past a. The uniforms are at
   most 1 - 2^-53, so u P rounds below P for every integer P < 2^53: 0 <= a, b <= P - 1. */
static void pair_indices(uint64_t seed, PetscInt p, PetscInt P, PetscInt *a, PetscInt *b)
{
  double u[2];

  ds_rng_uniforms(seed, DS_STREAM_PAIRS, (uint64_t)p, 0, 2, u);
  *a = (PetscInt)floor(u[0] * (double)P);
  *b = (PetscInt)floor(u[1] * (double)(P - 1));
  *b += (*b >= *a);
}

/* Copies pool point `index` into z (d entries) when this rank contributes it: particles
   [0, N) from this rank's rows of X (x, first row `first`, `rows` rows), samples [N, N + M)
   from this rank's share (rank 0 alone when every rank holds them all). Leaves z untouched
   otherwise. */
static void pool_point(const DSTarget *t, PetscMPIInt rank, PetscInt N, const PetscScalar *x, PetscInt first, PetscInt rows, PetscInt index, PetscReal *z)
{
  const PetscInt   d   = t->dim;
  const PetscReal *src = NULL;

  if (index < N) {
    if (index >= first && index < first + rows) src = &x[(index - first) * d];
  } else if (t->replicated) {
    if (rank == 0) src = &t->samples[(index - N) * d];
  } else if (index - N >= t->samples_start && index - N < t->samples_start + t->samples_local) src = &t->samples[(index - N - t->samples_start) * d];
  if (src)
    for (PetscInt j = 0; j < d; j++) z[j] = src[j];
}

/* Median of |z_a - z_b| over L = -drift_bandwidth_pairs pairs of the pool (particles, then
   samples unless analytic): each rank fills the endpoints it holds into a zeroed buffer of
   2 L d coordinates, one MPI_Allreduce(SUM) gives every rank all of them exactly, then the
   distances are sorted and the middle one (mean of the two middle ones for even L) taken. */
static PetscErrorCode median_distance(MPI_Comm comm, const DSOptions *opts, const DSTarget *t, Vec X, PetscReal *median)
{
  const PetscInt     d = opts->dim, N = opts->n, L = opts->bandwidth_pairs;
  const PetscInt     P = N + (t->analytic ? 0 : t->samples_global);
  const PetscScalar *x;
  PetscReal         *ends, *distance;
  PetscInt           first, end;
  PetscMPIInt        rank, count;

  PetscFunctionBeginUser;
  PetscCheck(P >= 2, comm, PETSC_ERR_USER_INPUT, "-drift_bandwidth_rule median needs at least 2 points to pair, but the pool of particles%s holds %" PetscInt_FMT " (-drift_n %" PetscInt_FMT ")", t->analytic ? "" : " and target samples", P, N);
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(PetscMPIIntCast(2 * L * d, &count));
  PetscCall(PetscCalloc1(2 * L * d, &ends));
  PetscCall(PetscMalloc1(L, &distance));
  PetscCall(VecGetOwnershipRange(X, &first, &end));
  PetscCall(VecGetArrayRead(X, &x));
  for (PetscInt p = 0; p < L; p++) {
    PetscInt a, b;

    pair_indices((uint64_t)opts->seed, p, P, &a, &b);
    pool_point(t, rank, N, x, first / d, (end - first) / d, a, &ends[(2 * p) * d]);
    pool_point(t, rank, N, x, first / d, (end - first) / d, b, &ends[(2 * p + 1) * d]);
  }
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, ends, count, MPIU_REAL, MPI_SUM, comm));
  for (PetscInt p = 0; p < L; p++) {
    PetscReal squares = 0.0;

    for (PetscInt j = 0; j < d; j++) squares += (ends[2 * p * d + j] - ends[(2 * p + 1) * d + j]) * (ends[2 * p * d + j] - ends[(2 * p + 1) * d + j]);
    distance[p] = sqrt(squares);
  }
  PetscCall(PetscSortReal(L, distance));
  *median = (L % 2) ? distance[L / 2] : 0.5 * (distance[L / 2 - 1] + distance[L / 2]);
  PetscCall(PetscFree(ends));
  PetscCall(PetscFree(distance));
  PetscFunctionReturn(0);
}

/* h0 by the options' rule (see ds_bandwidth.h), then the annealing parameters; refuses a
   rule that gives no positive bandwidth and h_min > h0 when annealing. */
PetscErrorCode ds_bandwidth_create(MPI_Comm comm, const DSOptions *opts, const DSTarget *target, Vec X, DSBandwidth *bandwidth)
{
  const PetscReal N = (PetscReal)opts->n, d = (PetscReal)opts->dim;
  PetscReal       h0 = 0.0, sigma;
  char            h0_text[32], min_text[32];

  PetscFunctionBeginUser;
  switch (opts->bandwidth_rule) {
  case DS_BANDWIDTH_FIXED:
    h0 = opts->bandwidth;
    break;
  case DS_BANDWIDTH_RATE:
    h0 = opts->bandwidth_scale * pow(N, -1.0 / (d + 4.0));
    break;
  case DS_BANDWIDTH_SILVERMAN:
    PetscCall(target_sigma(comm, opts, target, &sigma));
    h0 = sigma * pow(4.0 / ((d + 2.0) * N), 1.0 / (d + 4.0));
    break;
  case DS_BANDWIDTH_SCOTT:
    PetscCall(target_sigma(comm, opts, target, &sigma));
    h0 = sigma * pow(N, -1.0 / (d + 4.0));
    break;
  case DS_BANDWIDTH_MEDIAN:
    PetscCall(median_distance(comm, opts, target, X, &h0));
    break;
  }
  snprintf(h0_text, sizeof(h0_text), "%g", (double)h0);
  snprintf(min_text, sizeof(min_text), "%g", (double)opts->bandwidth_min);
  PetscCheck(h0 > 0.0 && !PetscIsInfOrNanReal(h0), comm, PETSC_ERR_USER_INPUT, "-drift_bandwidth_rule %s gives the initial bandwidth h0 = %s; a bandwidth must be finite and > 0", DSBandwidthRules[opts->bandwidth_rule], h0_text);
  PetscCheck(!(opts->bandwidth_anneal > 0.0) || opts->bandwidth_min <= h0, comm, PETSC_ERR_USER_INPUT, "-drift_bandwidth_min %s is larger than the initial bandwidth h0 = %s (-drift_bandwidth_rule %s)", min_text, h0_text, DSBandwidthRules[opts->bandwidth_rule]);
  bandwidth->rule   = opts->bandwidth_rule;
  bandwidth->h0     = h0;
  bandwidth->anneal = opts->bandwidth_anneal;
  bandwidth->h_min  = opts->bandwidth_min;
  PetscFunctionReturn(0);
}

/* h(t) = max(h_min, h0 exp(-r t)) when r > 0, else h0. */
PetscReal ds_bandwidth_at(const DSBandwidth *bandwidth, PetscReal t)
{
  if (!(bandwidth->anneal > 0.0)) return bandwidth->h0;
  return PetscMax(bandwidth->h_min, bandwidth->h0 * exp(-bandwidth->anneal * t));
}
