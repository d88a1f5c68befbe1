/* Targets: analytic Gaussian mixtures with their exact smoothed score, and the built-in
   sample sets, every sample a pure function of (type, scale, dim, seed, stream, index).

   Target definitions (s = -drift_target_scale, u, u', u'' uniforms in (0, 1), n, n' standard
   normals; every planar target is 2-D):
     gaussian     N(0, s^2 I) in any dimension d (a mixture with K = 1).
     gmm8         8 equal-weight components N(m_k, (0.2 s)^2 I), m_k = 2 s (cos(2 pi k/8), sin(2 pi k/8));
                  the component of a sample is k = floor(8 u).
     checkerboard FFJORD's: x1 = 4u - 2, x2 = u' - 2 floor(2u'') + (floor(x1) mod 2 in {0, 1}),
                  y = 2 s (x1, x2): uniform on the 8 cells of [-4s, 4s]^2 of side 2s with
                  floor(y1 / 2s) + floor(y2 / 2s) even.
     swissroll    t = 1.5 pi (1 + 2u), y = s ((t cos t, t sin t) / 5 + 0.1 (n, n')).
     moons        sklearn's make_moons with noise 0.1, then FFJORD's 2 p + (-1, -0.2), times s:
                  a = pi u, p = (cos a, sin a) for even indices (upper moon),
                  p = (1 - cos a, 0.5 - sin a) for odd ones (lower moon),
                  y = s (2 p + (-1, -0.2) + 0.2 (n, n')).
     rings        ring j = index mod 4, radius (j + 1) s / 2, angle 2 pi u,
                  y = s ((j + 1)/2 (cos, sin)(2 pi u) + 0.05 (n, n')). */
#include "ds_target.h"
#include "ds_h5input.h"
#include "ds_init.h"

#include <math.h>

#define GMM8_COMPONENTS 8
#define GMM8_RADIUS     2.0 /* mode radius, in units of scale */
#define GMM8_STD        0.2 /* component standard deviation, in units of scale */
#define RINGS_COUNT     4

/* Philox counters of the draws of one sample: shape uniforms use blocks 0 and 1, noise
   normals start at block 2, so the two never overlap. */
#define COUNTER_SHAPE 0
#define COUNTER_NOISE 2

/* Mean of gmm8 component k: radius GMM8_RADIUS * scale, angle 2 pi k / 8. */
static void gmm8_mean(PetscInt k, PetscReal scale, PetscReal mean[2])
{
  const PetscReal angle = 2.0 * PETSC_PI * (PetscReal)k / GMM8_COMPONENTS;

  mean[0] = GMM8_RADIUS * scale * cos(angle);
  mean[1] = GMM8_RADIUS * scale * sin(angle);
}

/* Noise-free point p of a planar target at unit scale from three shape uniforms u, and the
   standard deviation (unit scale) of the isotropic normal noise added to it. */
static PetscErrorCode planar_shape(DSTargetType type, PetscInt index, const double u[3], PetscReal p[2], PetscReal *noise_std)
{
  PetscFunctionBeginUser;
  switch (type) {
  case DS_TARGET_GMM8:
    gmm8_mean((PetscInt)floor(GMM8_COMPONENTS * u[0]), 1.0, p);
    *noise_std = GMM8_STD;
    break;
  case DS_TARGET_CHECKERBOARD: {
    const PetscReal x1     = 4.0 * u[0] - 2.0;
    const PetscReal column = (PetscReal)(((PetscInt)floor(x1) + 2) % 2);

    p[0]       = 2.0 * x1;
    p[1]       = 2.0 * (u[1] - 2.0 * floor(2.0 * u[2]) + column);
    *noise_std = 0.0;
    break;
  }
  case DS_TARGET_SWISSROLL: {
    const PetscReal t = 1.5 * PETSC_PI * (1.0 + 2.0 * u[0]);

    p[0]       = t * cos(t) / 5.0;
    p[1]       = t * sin(t) / 5.0;
    *noise_std = 0.1;
    break;
  }
  case DS_TARGET_MOONS: {
    const PetscReal a     = PETSC_PI * u[0];
    const PetscBool upper = (index % 2 == 0) ? PETSC_TRUE : PETSC_FALSE;

    p[0]       = 2.0 * (upper ? cos(a) : 1.0 - cos(a)) - 1.0;
    p[1]       = 2.0 * (upper ? sin(a) : 0.5 - sin(a)) - 0.2;
    *noise_std = 2.0 * 0.1; /* sklearn noise 0.1, doubled with the point */
    break;
  }
  case DS_TARGET_RINGS: {
    const PetscReal radius = (PetscReal)(index % RINGS_COUNT + 1) / 2.0;
    const PetscReal angle  = 2.0 * PETSC_PI * u[0];

    p[0]       = radius * cos(angle);
    p[1]       = radius * sin(angle);
    *noise_std = 0.05;
    break;
  }
  default:
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "target type %d is not planar", (int)type);
  }
  PetscFunctionReturn(0);
}

/* Sample `index` of the target: gaussian from d normals, planar targets from their shape
   uniforms plus noise normals (see the definitions at the top of this file). */
PetscErrorCode ds_target_draw(DSTargetType type, PetscReal scale, PetscInt dim, uint64_t seed, DSRngStream stream, PetscInt index, PetscReal *y)
{
  PetscFunctionBeginUser;
  PetscCheck(type == DS_TARGET_GAUSSIAN || dim == 2, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "target %s is only defined in 2 dimensions (dimension %" PetscInt_FMT " given)", DSTargetTypes[type], dim);
  PetscCheck(index >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "sample index %" PetscInt_FMT " is negative", index);
  if (type == DS_TARGET_GAUSSIAN) {
    ds_rng_normals(seed, (uint32_t)stream, (uint64_t)index, COUNTER_NOISE, dim, y);
    for (PetscInt j = 0; j < dim; j++) y[j] *= scale;
  } else {
    double    u[3], noise[2] = {0.0, 0.0};
    PetscReal p[2], noise_std;

    ds_rng_uniforms(seed, (uint32_t)stream, (uint64_t)index, COUNTER_SHAPE, 3, u);
    PetscCall(planar_shape(type, index, u, p, &noise_std));
    if (noise_std > 0.0) ds_rng_normals(seed, (uint32_t)stream, (uint64_t)index, COUNTER_NOISE, 2, noise);
    for (PetscInt j = 0; j < 2; j++) y[j] = scale * (p[j] + noise_std * noise[j]);
  }
  PetscFunctionReturn(0);
}

PetscBool ds_target_has_density(DSTargetType target)
{
  return (target == DS_TARGET_GAUSSIAN || target == DS_TARGET_GMM8) ? PETSC_TRUE : PETSC_FALSE;
}

PetscBool ds_target_is_planar(DSTargetType target)
{
  return (target == DS_TARGET_GAUSSIAN || target == DS_TARGET_FILE) ? PETSC_FALSE : PETSC_TRUE;
}

PetscInt ds_target_default_samples(DSTargetType target, DSKernelType kernel, PetscBool needs_samples, PetscInt n)
{
  return (ds_target_has_density(target) && kernel == DS_KERNEL_GAUSSIAN && !needs_samples) ? 0 : n;
}

/* Refuses a planar target outside 2-D. */
static PetscErrorCode check_dimension(MPI_Comm comm, DSTargetType target, PetscInt dim)
{
  PetscFunctionBeginUser;
  PetscCheck(!(ds_target_is_planar(target) && dim != 2), comm, PETSC_ERR_USER_INPUT, "-drift_target %s is only defined in 2 dimensions (-drift_dim %" PetscInt_FMT " given)", DSTargetTypes[target], dim);
  PetscFunctionReturn(0);
}

/* Refuses M = 0 (the analytic density) for a target without a density. */
static PetscErrorCode check_samples(MPI_Comm comm, DSTargetType target, PetscInt samples)
{
  PetscFunctionBeginUser;
  PetscCheck(samples > 0 || ds_target_has_density(target), comm, PETSC_ERR_USER_INPUT, "-drift_target_samples 0 asks for the analytic density, but -drift_target %s has none; give a sample count M >= 1", DSTargetTypes[target]);
  PetscFunctionReturn(0);
}

PetscErrorCode ds_target_check_options(MPI_Comm comm, const DSOptions *opts)
{
  PetscFunctionBeginUser;
  PetscCall(check_dimension(comm, opts->target, opts->dim));
  PetscCall(check_samples(comm, opts->target, opts->target_samples));
  PetscCheck(opts->target_samples > 0 || opts->kernel == DS_KERNEL_GAUSSIAN, comm, PETSC_ERR_USER_INPUT,
             "-drift_target_samples 0 (analytic %s target) needs -drift_kernel gaussian, the only kernel with an exact smoothed density (-drift_kernel %s given); give a sample count M >= 1 instead",
             DSTargetTypes[opts->target], DSKernelTypes[opts->kernel]);
  PetscFunctionReturn(0);
}

/* Mixture description of a target with a density: gaussian as K = 1, gmm8 as K = 8. */
static PetscErrorCode mixture_create(DSTarget *t)
{
  const PetscInt  d        = t->dim;
  const PetscBool gaussian = (t->type == DS_TARGET_GAUSSIAN) ? PETSC_TRUE : PETSC_FALSE;
  const PetscInt  K        = gaussian ? 1 : GMM8_COMPONENTS;
  const PetscReal std      = gaussian ? t->scale : GMM8_STD * t->scale;
  DSMixture      *m;

  PetscFunctionBeginUser;
  PetscCall(ds_mixture_create(d, K, &t->mixture));
  m = t->mixture;
  for (PetscInt k = 0; k < K; k++) {
    m->weights[k] = 1.0 / (PetscReal)K;
    if (!gaussian) gmm8_mean(k, t->scale, &m->means[k * d]);
    for (PetscInt j = 0; j < d; j++) m->covariances[(k * d + j) * d + j] = std * std;
  }
  PetscFunctionReturn(0);
}

/* This rank's rows of the M samples, drawn from stream DS_STREAM_TARGET: its share, split
   like particles (ds_split_rows), or all of them when replicated. */
static PetscErrorCode samples_create(MPI_Comm comm, PetscBool replicated, DSTarget *t)
{
  PetscFunctionBeginUser;
  t->replicated    = replicated;
  t->samples_local = t->samples_global;
  t->samples_start = 0;
  if (!replicated) PetscCall(ds_split_rows(comm, t->samples_global, &t->samples_local, &t->samples_start));
  PetscCall(PetscMalloc1(t->samples_local * t->dim, &t->samples));
  for (PetscInt i = 0; i < t->samples_local; i++) PetscCall(ds_target_draw(t->type, t->scale, t->dim, (uint64_t)t->seed, DS_STREAM_TARGET, t->samples_start + i, &t->samples[i * t->dim]));
  PetscFunctionReturn(0);
}

/* This rank's rows of the M samples of -drift_target_file, read in parallel. */
static PetscErrorCode samples_read(MPI_Comm comm, const DSOptions *opts, DSTarget *t)
{
  DSH5InputRows rows;

  PetscFunctionBeginUser;
  PetscCall(ds_h5input_read_split(comm, opts->target_file, opts->target_dataset, "-drift_target_file", t->dim, opts->replicate_data, &rows));
  t->replicated     = opts->replicate_data;
  t->samples_global = rows.global;
  t->samples_local  = rows.local;
  t->samples_start  = rows.start;
  t->samples        = rows.values;
  PetscFunctionReturn(0);
}

/* Builds the target of the options; refuses a planar target outside 2-D and M = 0 for a
   target without a density (both verdicts depend only on the options: same on every rank).
   A file target has no density; its M is the row count of -drift_target_dataset, and the
   file's problems are raised on every rank by ds_h5input, leaving no target. */
PetscErrorCode ds_target_create(MPI_Comm comm, const DSOptions *opts, DSTarget **target)
{
  const PetscBool file    = (opts->target == DS_TARGET_FILE) ? PETSC_TRUE : PETSC_FALSE;
  PetscInt        samples = opts->target_samples;
  DSTarget       *t;
  PetscErrorCode  ierr;

  PetscFunctionBeginUser;
  *target = NULL;
  PetscCall(check_dimension(comm, opts->target, opts->dim));
  if (file) PetscCall(ds_h5input_shape(comm, opts->target_file, opts->target_dataset, "-drift_target_file", opts->dim, &samples));
  PetscCall(check_samples(comm, opts->target, samples));
  PetscCall(PetscCalloc1(1, &t));
  t->type           = opts->target;
  t->dim            = opts->dim;
  t->scale          = opts->target_scale;
  t->seed           = opts->seed;
  t->analytic       = (samples == 0) ? PETSC_TRUE : PETSC_FALSE;
  t->samples_global = samples;
  if (ds_target_has_density(t->type)) PetscCall(mixture_create(t));
  if (file) {
    ierr = samples_read(comm, opts, t);
    if (ierr) PetscCall(ds_target_destroy(&t));
    PetscCall(ierr);
  } else PetscCall(samples_create(comm, opts->replicate_data, t));
  *target = t;
  PetscFunctionReturn(0);
}

/* Frees the mixture and the samples. */
PetscErrorCode ds_target_destroy(DSTarget **target)
{
  PetscFunctionBeginUser;
  if (!*target) PetscFunctionReturn(0);
  PetscCall(ds_mixture_destroy(&(*target)->mixture));
  PetscCall(PetscFree((*target)->samples));
  PetscCall(PetscFree(*target));
  PetscFunctionReturn(0);
}

/* Checks that the target has a density, whose smoothed version is asked for. */
static PetscErrorCode check_density(const DSTarget *t)
{
  PetscFunctionBeginUser;
  PetscCheck(t->mixture, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE, "target %s has no density, so no smoothed score or log density", DSTargetTypes[t->type]);
  PetscFunctionReturn(0);
}

/* The mixture's smoothed score (mixture.c). */
PetscErrorCode ds_target_smoothed_score(DSTarget *target, PetscReal h, PetscInt npoints, const PetscReal *z, PetscReal *score)
{
  PetscFunctionBeginUser;
  PetscCall(check_density(target));
  PetscCall(ds_mixture_score(target->mixture, h, npoints, z, score));
  PetscFunctionReturn(0);
}

/* The mixture's smoothed log density (mixture.c). */
PetscErrorCode ds_target_smoothed_log_density(DSTarget *target, PetscReal h, const PetscReal *z, PetscReal *logp)
{
  PetscFunctionBeginUser;
  PetscCall(check_density(target));
  PetscCall(ds_mixture_log_density(target->mixture, h, z, logp));
  PetscFunctionReturn(0);
}
