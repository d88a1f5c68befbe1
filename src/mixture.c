/* Gaussian mixtures and their smoothed densities (SCIENCE.md: the smoothed target
   nu_h = nu * N(0, h^2 I)). Each smoothed component S_k = C_k + h^2 I is factored once per
   bandwidth, S_k = L_k L_k^T (Cholesky), and kept with log det S_k: a component's log density
   is then log w_k - (d log(2 pi) + log det S_k + |L_k^{-1} (z - m_k)|^2) / 2, and the mixture's
   is their log-sum-exp, which stays finite far from every mode. The score and the log
   densities share that one evaluation. */
#include <math.h>
#include "ds_mixture.h"

PetscErrorCode ds_mixture_create(PetscInt dim, PetscInt components, DSMixture **mixture)
{
  DSMixture *m;

  PetscFunctionBeginUser;
  PetscCheck(dim >= 1 && components >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "a mixture needs d >= 1 and K >= 1 (d = %" PetscInt_FMT ", K = %" PetscInt_FMT " given)", dim, components);
  PetscCall(PetscNew(&m));
  m->dim        = dim;
  m->components = components;
  m->factored_h = -1.0;
  PetscCall(PetscCalloc3(components, &m->weights, components * dim, &m->means, components * dim * dim, &m->covariances));
  PetscCall(PetscCalloc3(components * dim * dim, &m->cholesky, components, &m->logdet, components, &m->inverse_trace));
  *mixture = m;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_mixture_duplicate(const DSMixture *mixture, DSMixture **copy)
{
  const PetscInt d = mixture->dim, K = mixture->components;

  PetscFunctionBeginUser;
  PetscCall(ds_mixture_create(d, K, copy));
  PetscCall(PetscArraycpy((*copy)->weights, mixture->weights, K));
  PetscCall(PetscArraycpy((*copy)->means, mixture->means, K * d));
  PetscCall(PetscArraycpy((*copy)->covariances, mixture->covariances, K * d * d));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_mixture_destroy(DSMixture **mixture)
{
  PetscFunctionBeginUser;
  if (!*mixture) PetscFunctionReturn(0);
  PetscCall(PetscFree3((*mixture)->weights, (*mixture)->means, (*mixture)->covariances));
  PetscCall(PetscFree3((*mixture)->cholesky, (*mixture)->logdet, (*mixture)->inverse_trace));
  PetscCall(PetscFree(*mixture));
  PetscFunctionReturn(0);
}

/* Cholesky factor L (lower triangle, upper zeroed) of the d x d row-major SPD matrix a, in
   place; log det a = 2 sum log L_jj. Returns PETSC_FALSE when a pivot is not positive. */
static PetscBool cholesky(PetscInt d, PetscReal *a, PetscReal *logdet)
{
  *logdet = 0.0;
  for (PetscInt j = 0; j < d; j++) {
    PetscReal pivot = a[j * d + j];

    for (PetscInt k = 0; k < j; k++) pivot -= a[j * d + k] * a[j * d + k];
    if (!(pivot > 0.0)) return PETSC_FALSE;
    a[j * d + j] = sqrt(pivot);
    *logdet += 2.0 * log(a[j * d + j]);
    for (PetscInt i = j + 1; i < d; i++) {
      PetscReal v = a[i * d + j];

      for (PetscInt k = 0; k < j; k++) v -= a[i * d + k] * a[j * d + k];
      a[i * d + j] = v / a[j * d + j];
      a[j * d + i] = 0.0;
    }
  }
  return PETSC_TRUE;
}

/* Solves L x = b in place (b overwritten by x), L lower triangular row-major. */
static void solve_lower(PetscInt d, const PetscReal *L, PetscReal *b)
{
  for (PetscInt i = 0; i < d; i++) {
    for (PetscInt k = 0; k < i; k++) b[i] -= L[i * d + k] * b[k];
    b[i] /= L[i * d + i];
  }
}

/* Solves L^T x = b in place, L lower triangular row-major. */
static void solve_lower_transpose(PetscInt d, const PetscReal *L, PetscReal *b)
{
  for (PetscInt i = d - 1; i >= 0; i--) {
    for (PetscInt k = i + 1; k < d; k++) b[i] -= L[k * d + i] * b[k];
    b[i] /= L[i * d + i];
  }
}

/* Factors S_k = C_k + h^2 I of every component, unless h is the bandwidth the factors
   already belong to. */
static PetscErrorCode factor(DSMixture *m, PetscReal h)
{
  const PetscInt d = m->dim;

  PetscReal     *column;

  PetscFunctionBeginUser;
  PetscCheck(h >= 0.0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "bandwidth h = %g must be >= 0", (double)h);
  if (h == m->factored_h) PetscFunctionReturn(0);
  PetscCall(PetscMalloc1(d, &column));
  for (PetscInt k = 0; k < m->components; k++) {
    PetscReal *L = &m->cholesky[k * d * d];

    for (PetscInt e = 0; e < d * d; e++) L[e] = m->covariances[k * d * d + e];
    for (PetscInt j = 0; j < d; j++) L[j * d + j] += h * h;
    PetscCheck(cholesky(d, L, &m->logdet[k]), PETSC_COMM_SELF, PETSC_ERR_MAT_CH_ZRPVT, "covariance of component %" PetscInt_FMT " plus h^2 I (h = %g) is not positive definite", k, (double)h);
    /* tr S_k^{-1} = sum_j |L_k^{-1} e_j|^2. */
    m->inverse_trace[k] = 0.0;
    for (PetscInt j = 0; j < d; j++) {
      for (PetscInt i = 0; i < d; i++) column[i] = i == j ? 1.0 : 0.0;
      solve_lower(d, L, column);
      for (PetscInt i = 0; i < d; i++) m->inverse_trace[k] += column[i] * column[i];
    }
  }
  PetscCall(PetscFree(column));
  m->factored_h = h;
  PetscFunctionReturn(0);
}

/* For every component k, from the current factors: log(w_k N(z; m_k, S_k)) into logterm[k]
   and the whitened residual L_k^{-1} (z - m_k) into whitened[k][d]. */
static void component_log_terms(const DSMixture *m, const PetscReal *z, PetscReal *logterm, PetscReal *whitened)
{
  const PetscInt d = m->dim;

  for (PetscInt k = 0; k < m->components; k++) {
    PetscReal *w = &whitened[k * d];
    PetscReal  q = 0.0;

    for (PetscInt j = 0; j < d; j++) w[j] = z[j] - m->means[k * d + j];
    solve_lower(d, &m->cholesky[k * d * d], w);
    for (PetscInt j = 0; j < d; j++) q += w[j] * w[j];
    logterm[k] = log(m->weights[k]) - 0.5 * ((PetscReal)d * log(2.0 * PETSC_PI) + m->logdet[k] + q);
  }
}

/* log sum_k exp(logterm[k]), the largest term subtracted first. */
static PetscReal log_sum_exp(PetscInt K, const PetscReal *logterm)
{
  PetscReal largest = -PETSC_INFINITY, sum = 0.0;

  for (PetscInt k = 0; k < K; k++) largest = PetscMax(largest, logterm[k]);
  for (PetscInt k = 0; k < K; k++) sum += exp(logterm[k] - largest);
  return largest + log(sum);
}

/* grad log nu_h(z) = sum_k r_k(z) g_k, g_k = -(S_k)^{-1} (z - m_k), r_k = w_k N(z; m_k, S_k) / nu_h(z),
   and, when laplacian is not NULL,
   Lap log nu_h(z) = sum_k r_k (|g_k|^2 - tr S_k^{-1}) - |grad log nu_h(z)|^2
   (Lap nu_h / nu_h minus the squared score). */
static PetscErrorCode score_and_laplacian(DSMixture *mixture, PetscReal h, PetscInt npoints, const PetscReal *z, PetscReal *score, PetscReal *laplacian)
{
  const PetscInt d = mixture->dim, K = mixture->components;
  PetscReal     *logterm, *whitened;

  PetscFunctionBeginUser;
  PetscCall(factor(mixture, h));
  PetscCall(PetscMalloc2(K, &logterm, K * d, &whitened));
  for (PetscInt p = 0; p < npoints; p++) {
    PetscReal *s = &score[p * d], curvature = 0.0, s2 = 0.0;

    component_log_terms(mixture, &z[p * d], logterm, whitened);
    const PetscReal lognu = log_sum_exp(K, logterm);
    for (PetscInt j = 0; j < d; j++) s[j] = 0.0;
    for (PetscInt k = 0; k < K; k++) {
      const PetscReal responsibility = exp(logterm[k] - lognu);
      PetscReal      *w              = &whitened[k * d], g2 = 0.0;

      solve_lower_transpose(d, &mixture->cholesky[k * d * d], w);
      for (PetscInt j = 0; j < d; j++) s[j] -= responsibility * w[j];
      if (!laplacian) continue;
      for (PetscInt j = 0; j < d; j++) g2 += w[j] * w[j];
      curvature += responsibility * (g2 - mixture->inverse_trace[k]);
    }
    if (!laplacian) continue;
    for (PetscInt j = 0; j < d; j++) s2 += s[j] * s[j];
    laplacian[p] = curvature - s2;
  }
  PetscCall(PetscFree2(logterm, whitened));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_mixture_score(DSMixture *mixture, PetscReal h, PetscInt npoints, const PetscReal *z, PetscReal *score)
{
  PetscFunctionBeginUser;
  PetscCall(score_and_laplacian(mixture, h, npoints, z, score, NULL));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_mixture_score_laplacian(DSMixture *mixture, PetscReal h, PetscInt npoints, const PetscReal *z, PetscReal *score, PetscReal *laplacian)
{
  PetscFunctionBeginUser;
  PetscCall(score_and_laplacian(mixture, h, npoints, z, score, laplacian));
  PetscFunctionReturn(0);
}

/* log nu_h(z) = log sum_k w_k N(z; m_k, C_k + h^2 I). */
PetscErrorCode ds_mixture_log_density(DSMixture *mixture, PetscReal h, const PetscReal *z, PetscReal *logp)
{
  PetscReal *logterm, *whitened;

  PetscFunctionBeginUser;
  PetscCall(factor(mixture, h));
  PetscCall(PetscMalloc2(mixture->components, &logterm, mixture->components * mixture->dim, &whitened));
  component_log_terms(mixture, z, logterm, whitened);
  *logp = log_sum_exp(mixture->components, logterm);
  PetscCall(PetscFree2(logterm, whitened));
  PetscFunctionReturn(0);
}

/* log(w_k N(z; m_k, C_k + h^2 I)) per point and component. */
PetscErrorCode ds_mixture_component_log_densities(DSMixture *mixture, PetscReal h, PetscInt npoints, const PetscReal *z, PetscReal *logp)
{
  const PetscInt d = mixture->dim, K = mixture->components;
  PetscReal     *whitened;

  PetscFunctionBeginUser;
  PetscCall(factor(mixture, h));
  PetscCall(PetscMalloc1(K * d, &whitened));
  for (PetscInt p = 0; p < npoints; p++) component_log_terms(mixture, &z[p * d], &logp[p * K], whitened);
  PetscCall(PetscFree(whitened));
  PetscFunctionReturn(0);
}

/* mu = sum_k w_k m_k, then Sigma = sum_k w_k (C_k + (m_k - mu)(m_k - mu)^T). */
PetscErrorCode ds_mixture_moments(const DSMixture *mixture, PetscReal *mu, PetscReal *sigma)
{
  const PetscInt   d = mixture->dim, K = mixture->components;
  const PetscReal *w = mixture->weights, *m = mixture->means, *C = mixture->covariances;

  PetscFunctionBeginUser;
  PetscCall(PetscArrayzero(mu, d));
  PetscCall(PetscArrayzero(sigma, d * d));
  for (PetscInt k = 0; k < K; k++)
    for (PetscInt a = 0; a < d; a++) mu[a] += w[k] * m[k * d + a];
  for (PetscInt k = 0; k < K; k++)
    for (PetscInt a = 0; a < d; a++)
      for (PetscInt b = 0; b < d; b++) sigma[a * d + b] += w[k] * (C[(k * d + a) * d + b] + (m[k * d + a] - mu[a]) * (m[k * d + b] - mu[b]));
  PetscFunctionReturn(0);
}
