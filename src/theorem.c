/* The theorem's state-independent quantities (ds_theorem.h): the initial entropy
   KL(rho_0 || nu_h), in closed form or by seeded Monte Carlo, and the mean-field moment ODE
   of the gaussian/gaussian case with its centre velocity C_inf(t). */
#include <string.h>
#include "ds_theorem.h"
#include "ds_init.h"
#include "ds_rng.h"

/* log rho_0(x) of the options' initial law (gaussian or uniform cloud). */
static PetscReal initial_log_density(const DSOptions *o, const PetscReal *x)
{
  const PetscReal s = o->init_scale;
  PetscReal       r2 = 0;

  if (o->init == DS_INIT_UNIFORM) return -o->dim * PetscLogReal(2 * s);
  for (PetscInt c = 0; c < o->dim; c++) r2 += PetscSqr(x[c] - o->init_mean);
  return -0.5 * o->dim * PetscLogReal(2 * PETSC_PI * s * s) - r2 / (2 * s * s);
}

PetscErrorCode ds_theorem_initial_kl(MPI_Comm comm, const DSOptions *o, DSTarget *target, PetscReal h, PetscInt draws, PetscReal *kl, PetscReal *standard_error)
{
  const PetscInt d = o->dim;
  PetscInt       local, start;
  PetscReal     *value, *x, *z, local_sum[2] = {0, 0}, sum[2];

  PetscFunctionBeginUser;
  *kl             = NAN;
  *standard_error = 0;
  if (!target->mixture || o->init == DS_INIT_FILE) PetscFunctionReturn(0);
  if (o->init == DS_INIT_GAUSSIAN && target->type == DS_TARGET_GAUSSIAN) {
    const PetscReal s2 = PetscSqr(o->init_scale), tau2 = PetscSqr(target->scale) + h * h;
    *kl = 0.5 * (d * s2 / tau2 + d * PetscSqr(o->init_mean) / tau2 - d + d * PetscLogReal(tau2 / s2));
    PetscFunctionReturn(0);
  }
  PetscCheck(draws >= 2, comm, PETSC_ERR_ARG_OUTOFRANGE, "the Monte-Carlo KL needs at least 2 draws (%" PetscInt_FMT " given)", draws);
  PetscCall(ds_split_rows(comm, draws, &local, &start));
  PetscCall(PetscMalloc3(PetscMax(local, 1), &value, d, &x, d, &z));
  for (PetscInt i = 0; i < local; i++) {
    PetscReal log_nu;
    (o->init == DS_INIT_GAUSSIAN ? ds_rng_normals : ds_rng_uniforms)((uint64_t)o->seed, DS_STREAM_ENTROPY, (uint64_t)(start + i), 0, d, z);
    for (PetscInt c = 0; c < d; c++) x[c] = o->init_mean + o->init_scale * (o->init == DS_INIT_GAUSSIAN ? z[c] : 2 * z[c] - 1);
    PetscCall(ds_target_smoothed_log_density(target, h, x, &log_nu));
    value[i] = initial_log_density(o, x) - log_nu;
    local_sum[0] += value[i];
  }
  PetscCallMPI(MPI_Allreduce(local_sum, sum, 1, MPIU_REAL, MPI_SUM, comm));
  *kl = sum[0] / draws;
  for (PetscInt i = 0; i < local; i++) local_sum[1] += PetscSqr(value[i] - *kl);
  PetscCallMPI(MPI_Allreduce(local_sum + 1, sum + 1, 1, MPIU_REAL, MPI_SUM, comm));
  *standard_error = PetscSqrtReal(sum[1] / (draws - 1) / draws);
  PetscCall(PetscFree3(value, x, z));
  PetscFunctionReturn(0);
}

PetscBool ds_meanfield_applies(const DSOptions *o)
{
  return (!strcmp(o->field, "conservative") && o->kernel == DS_KERNEL_GAUSSIAN && o->target == DS_TARGET_GAUSSIAN && o->target_samples == 0 && o->init == DS_INIT_GAUSSIAN) ? PETSC_TRUE : PETSC_FALSE;
}

void ds_meanfield_start(const DSOptions *o, DSMeanField *mf)
{
  mf->dim             = o->dim;
  mf->target_variance = PetscSqr(o->target_scale);
  mf->time            = 0;
  mf->mean            = o->init_mean;
  mf->variance        = PetscSqr(o->init_scale);
}

/* (dm/dt, ds/dt) of the moment ODE at (m, s) with bandwidth h. */
static void moment_rates(PetscReal sigma2, PetscReal h, PetscReal m, PetscReal s, PetscReal rate[2])
{
  const PetscReal a = 1 / (sigma2 + h * h), b = 1 / (s + h * h);
  rate[0] = -a * m;
  rate[1] = 2 * s * (b - a);
}

void ds_meanfield_advance(DSMeanField *mf, PetscReal (*bandwidth)(const void *, PetscReal), const void *ctx, PetscReal t)
{
  while (mf->time < t) {
    const PetscReal h0 = bandwidth(ctx, mf->time);
    const PetscReal dt = PetscMin(t - mf->time, 0.02 * PetscMin(h0 * h0, mf->target_variance + h0 * h0));
    const PetscReal t0 = mf->time, m = mf->mean, s = mf->variance, hm = bandwidth(ctx, t0 + dt / 2), h1 = bandwidth(ctx, t0 + dt);
    PetscReal       k1[2], k2[2], k3[2], k4[2];

    moment_rates(mf->target_variance, h0, m, s, k1);
    moment_rates(mf->target_variance, hm, m + dt / 2 * k1[0], s + dt / 2 * k1[1], k2);
    moment_rates(mf->target_variance, hm, m + dt / 2 * k2[0], s + dt / 2 * k2[1], k3);
    moment_rates(mf->target_variance, h1, m + dt * k3[0], s + dt * k3[1], k4);
    mf->mean     = m + dt / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]);
    mf->variance = s + dt / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]);
    mf->time     = (t - t0 <= dt) ? t : t0 + dt;
  }
}

PetscReal ds_meanfield_centre_velocity(const DSMeanField *mf, PetscReal h)
{
  const PetscReal a = 1 / (mf->target_variance + h * h), b = 1 / (mf->variance + h * h);
  return mf->dim * (mf->variance * PetscSqr(b - a) + a * a * PetscSqr(mf->mean));
}

/* Trapezoid step of `integral` from (t0, f0) to (t1, f1). */
static void trapezoid(PetscReal *integral, PetscReal t0, PetscReal f0, PetscReal t1, PetscReal f1)
{
  *integral += 0.5 * (t1 - t0) * (f0 + f1);
}

void ds_theorem_integrals_add(DSTheoremIntegrals *run, PetscReal t, PetscReal c, PetscReal self_term, PetscReal c_inf)
{
  if (run->count > 0) {
    trapezoid(&run->centre_velocity_integral, run->time, run->centre_velocity, t, c);
    trapezoid(&run->self_term_integral, run->time, run->self_term, t, self_term);
    trapezoid(&run->meanfield_velocity_integral, run->time, run->meanfield_velocity, t, c_inf);
  }
  run->count++;
  run->time               = t;
  run->centre_velocity    = c;
  run->self_term          = self_term;
  run->meanfield_velocity = c_inf;
}

void ds_theorem_integrals_add_stein(DSTheoremIntegrals *run, PetscReal t, PetscReal sd)
{
  if (run->stein_count > 0) trapezoid(&run->stein_drift_integral, run->stein_time, run->stein_drift, t, sd);
  run->stein_count++;
  run->stein_time  = t;
  run->stein_drift = sd;
}

void ds_theorem_identity(const DSTheoremIntegrals *run, PetscReal kl, PetscReal *left, PetscReal *right, PetscReal *excess)
{
  const PetscReal T = run->time;

  *left = *right = *excess = NAN;
  if (!(T > 0)) return;
  *left   = run->stein_time > 0 ? run->stein_drift_integral / run->stein_time : NAN;
  *right  = kl / T + run->self_term_integral / T;
  *excess = (run->centre_velocity_integral - run->meanfield_velocity_integral) / T;
}
