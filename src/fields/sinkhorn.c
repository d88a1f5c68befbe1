/* The Sinkhorn drift (SCIENCE.md, "Sinkhorn drift"): minus the gradient of the first
   variation f_{mu,nu} - f_{mu,mu} of the debiased Sinkhorn divergence,
     V(x_i) = -grad f_{mu,nu}(x_i) + grad f_{mu,mu}(x_i),
   each gradient the row-normalised plan's mean of grad_x c (ds_sinkhorn_get_gradient). For
   the squared cost grad f(x) = x - T(x), so V = T_{mu->nu} - T_{mu->mu}, the difference of
   the barycentric projections; for the euclidean cost V is the difference of the plans'
   mean unit vectors towards the samples and towards the particles. The self-transport
   keeps the pair j = i unless -drift_self exclude. Its own diagnostics are the two solves'
   iterations and marginal errors at each evaluation. The field needs samples (an analytic
   target stands in by -drift_target_samples M draws); it has no kernel or bandwidth. */
#include "field_impl.h"
#include "ds_sinkhorn.h"

/* The field's own diagnostics, in slot order. */
static const char *const diagnostic_names[] = {"sinkhorn_iterations", "sinkhorn_marginal_error", "sinkhorn_self_iterations", "sinkhorn_self_marginal_error"};
#define NDIAGNOSTICS 4

typedef struct {
  DSSinkhorn solver;
  PetscInt   slots[NDIAGNOSTICS];
} Sinkhorn;

static PetscErrorCode evaluate_sinkhorn(DSField f, PetscReal h, const PetscReal *x, PetscReal *v)
{
  Sinkhorn         *p        = (Sinkhorn *)f->data;
  const PetscInt    problems[2] = {DS_SINKHORN_PARTICLES_TARGET, DS_SINKHORN_PARTICLES_SELF};
  const PetscReal  *to_target, *to_self;
  PetscLogDouble    before, after;

  PetscFunctionBeginUser;
  PetscCall(ds_sinkhorn_get_pair_count(p->solver, &before));
  PetscCall(ds_sinkhorn_set_particles(p->solver, x));
  PetscCall(ds_sinkhorn_solve(p->solver, DS_SINKHORN_PARTICLES_TARGET, PETSC_FALSE));
  PetscCall(ds_sinkhorn_solve(p->solver, DS_SINKHORN_PARTICLES_SELF, f->exclude_self));
  PetscCall(ds_sinkhorn_get_gradient(p->solver, DS_SINKHORN_PARTICLES_TARGET, &to_target));
  PetscCall(ds_sinkhorn_get_gradient(p->solver, DS_SINKHORN_PARTICLES_SELF, &to_self));
  for (PetscInt k = 0; k < f->local_count * f->dim; k++) v[k] = to_self[k] - to_target[k];
  for (int k = 0; k < 2; k++) {
    PetscInt iterations;
    PetscCall(ds_sinkhorn_get_convergence(p->solver, (DSSinkhornProblem)problems[k], &iterations, &f->diagnostic_values[p->slots[2 * k + 1]]));
    f->diagnostic_values[p->slots[2 * k]] = (PetscReal)iterations;
  }
  PetscCall(ds_sinkhorn_get_pair_count(p->solver, &after));
  f->pairs += after - before;
  PetscFunctionReturn(0);
}

static PetscErrorCode destroy_sinkhorn(DSField f)
{
  Sinkhorn *p = (Sinkhorn *)f->data;

  PetscFunctionBeginUser;
  if (p) PetscCall(ds_sinkhorn_destroy(&p->solver));
  PetscCall(PetscFree(f->data));
  PetscFunctionReturn(0);
}

static PetscErrorCode create_sinkhorn(DSField f)
{
  Sinkhorn          *p;
  DSSinkhornSettings settings;

  PetscFunctionBeginUser;
  PetscCheck(!f->target->analytic, f->comm, PETSC_ERR_USER_INPUT, "-drift_field sinkhorn needs target samples: the plans couple the particles with samples (give -drift_target_samples M >= 1, M draws of the analytic target)");
  PetscCall(PetscNew(&p));
  f->data        = p;
  f->ops.destroy = destroy_sinkhorn;
  ds_sinkhorn_settings(f->opts, PETSC_FALSE, &settings);
  PetscCall(ds_sinkhorn_create(f->comm, f->dim, f->local_count, f->target->samples_local, f->target->samples, f->target->replicated, &settings, &p->solver));
  for (int k = 0; k < NDIAGNOSTICS; k++) PetscCall(ds_field_declare_diagnostic(f, diagnostic_names[k], &p->slots[k]));
  f->ops.evaluate = evaluate_sinkhorn;
  PetscFunctionReturn(0);
}

/* The type as the registry and the options see it (ds_field.h). */
const DSFieldTypeInfo ds_field_sinkhorn = {
  .name           = "sinkhorn",
  .create         = create_sinkhorn,
  .default_kernel = DS_KERNEL_GAUSSIAN,
  .needs_samples  = PETSC_TRUE,
  .scale          = "takes its scale from -drift_sinkhorn_epsilon (the Gibbs kernel exp(-c / eps))",
  .guard_speed    = DS_GUARD_SPEED_SINKHORN,
};
