/* The divergence guard (ds_guard.h).

   Why a ball. A converging run carries the initial cloud onto the target: its particles stay,
   up to fluctuations, in the region the two span. A diverging run (explicit Euler beyond its
   stability limit, dt above about 2 h^2 for the conservative field) multiplies the cloud's
   distance from that region by a factor every step, and the old guard, which waited for a
   non-finite number, stopped it only near |x| ~ 1e148 and saved a state already blown up.
   The guard takes the ball B(c, K E) as the region of healthy states: c the middle of the
   bounding box of the initial cloud and the target, E the largest distance from c to one of
   their points, K = DS_GUARD_EXTENT_MULTIPLE = 4. One step from a healthy state moves a
   particle by at most dt v_max, v_max a bound of the field's speed at any state whose
   particles and data lie in that ball (diameter D = 2 K E); a state farther than
   R = K E + dt v_max cannot have been reached by a step from a healthy one, so the run is
   stopped there, and the state before the step, still inside, is the one worth saving.

   The speed bounds (ds_guard_speed_bound), for particles and data in a ball of diameter D.
   A kernel-weighted mean m_S(z) = sum k(z, s) s / sum k(z, s) is a convex combination of
   points of S, so |m_Y(z) - m_X(z)| <= D and |m_S(z) - z| <= D.
   - conservative, gaussian kernel: grad log mu_h(z) = (m_X(z) - z) / h^2. With samples
     grad log nu_h = (m_Y - z) / h^2, so b = (m_Y - m_X) / h^2 and |b| <= D / h^2. With a
     mixture grad log nu_h = sum_k r_k S_k^-1 (m_k - z), r_k responsibilities summing to 1,
     S_k = C_k + h^2 I >= h^2 I, so |grad log nu_h| <= max_k |m_k - z| / h^2 <= D / h^2 (the
     means are points of the target) and |b| <= 2 D / h^2.
   - conservative, imq kernel: for one pair |grad k| / k = 2 beta r / (h^2 + r^2) <= beta / h
     (h^2 + r^2 >= 2 h r), so each log-gradient of a kernel sum, a k-weighted mean of these,
     is at most beta / h, and |b| <= 2 beta / h whatever the positions.
   - displacement: V = m_Y - m_X, |V| <= D; with a mixture m_Y = z + h^2 grad log nu_h
     (gaussian kernel), |V| <= |h^2 grad log nu_h| + |m_X - z| <= 2 D.
   - joint: V_i = P_i Q_i (ybar_i - xbar_i) with A-weighted means ybar_i, xbar_i, so
     |V_i| <= P_i Q_i D. Since K_ic <= C_c, A_ic = K_ic / sqrt(R_i C_c) <= sqrt(K_ic / R_i);
     Cauchy-Schwarz over the M data columns and the N - 1 particle columns gives
     P_i <= sqrt(M f) and Q_i <= sqrt(N (1 - f)), f the data's share of R_i, so
     P_i Q_i <= sqrt(N M) / 2.
   - multitemperature: each V^tau / RMS(V^tau) has RMS 1 over the N d coordinates, so one
     particle's is at most sqrt(N d) long; the distance scale s is a mean distance, <= D; so
     |V_i| <= (s / sqrt(d)) T sqrt(N d) <= T sqrt(N) D for T temperatures.
   - sinkhorn: with the squared cost V = T_nu - T_mu, two barycentric projections, each a
     convex combination of points, so |V| <= D; with the euclidean cost V is a difference
     of two plan-weighted means of unit vectors, |V| <= 2.
   The ball is a heuristic for "converging", not a theorem: a run whose particles
   legitimately spread beyond four extents is stopped too (the guide says so). */
#include "ds_guard.h"

/* Squared length of a - b over d entries; +infinity when it is not finite. Real scalars
   (driftsim refuses a complex PETSc build). */
static PetscReal distance2(PetscInt d, const PetscReal a[], const PetscReal b[])
{
  PetscReal r2 = 0.0;

  for (PetscInt j = 0; j < d; j++) r2 += (a[j] - b[j]) * (a[j] - b[j]);
  return r2 <= PETSC_MAX_REAL ? r2 : PETSC_INFINITY;
}

/* The points the guard's bounding box is made of, `count` of them: the ball of radius
   radius[p] (0 for a point) around points[p * d ..]. */
typedef struct {
  PetscInt         count;
  const PetscReal *points;
  const PetscReal *radius; /* NULL: every radius 0 */
} PointSet;

static PetscReal radius_of(const PointSet *s, PetscInt p) { return s->radius ? s->radius[p] : 0.0; }

/* Widens box ([d] negated lower ends, then [d] upper ends: one MPI_MAX reduces both) by the set. */
static void widen_box(PetscInt dim, const PointSet *s, PetscReal box[])
{
  for (PetscInt p = 0; p < s->count; p++)
    for (PetscInt j = 0; j < dim; j++) {
      box[j]       = PetscMax(box[j], -(s->points[p * dim + j] - radius_of(s, p)));
      box[dim + j] = PetscMax(box[dim + j], s->points[p * dim + j] + radius_of(s, p));
    }
}

/* The largest distance from c to a point of the set (its ball's farthest point). */
static PetscReal farthest(PetscInt dim, const PetscReal c[], const PointSet *s)
{
  PetscReal far = 0.0;

  for (PetscInt p = 0; p < s->count; p++) far = PetscMax(far, PetscSqrtReal(distance2(dim, &s->points[p * dim], c)) + radius_of(s, p));
  return far;
}

PetscErrorCode ds_guard_create(MPI_Comm comm, const DSOptions *opts, const DSTarget *target, Vec cloud, DSGuard *guard)
{
  const PetscInt     d = opts->dim;
  const PetscScalar *x;
  PetscReal         *box, *component_radius = NULL, far;
  PetscInt           local;
  PointSet           sets[2];
  const DSFieldTypeInfo *type;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(guard, sizeof(*guard)));
  PetscCall(ds_field_type_find(opts->field, &type));
  guard->dim           = d;
  guard->speed         = type ? type->guard_speed : DS_GUARD_SPEED_UNKNOWN;
  guard->gaussian      = opts->kernel == DS_KERNEL_GAUSSIAN ? PETSC_TRUE : PETSC_FALSE;
  guard->imq           = opts->kernel == DS_KERNEL_IMQ ? PETSC_TRUE : PETSC_FALSE;
  guard->analytic      = target->analytic;
  guard->imq_beta      = opts->imq_beta;
  guard->euclidean_cost = opts->sinkhorn_cost == DS_SINKHORN_COST_EUCLIDEAN ? PETSC_TRUE : PETSC_FALSE;
  guard->n             = opts->n;
  guard->m             = target->samples_global;
  guard->ntemperatures = opts->ntemperatures;
  PetscCall(VecGetLocalSize(cloud, &local));
  PetscCall(VecGetArrayRead(cloud, &x));
  sets[0] = (PointSet){local / d, x, NULL};
  if (target->analytic) {
    const DSMixture *mix = target->mixture;
    PetscCall(PetscMalloc1(mix->components, &component_radius));
    for (PetscInt k = 0; k < mix->components; k++) {
      PetscReal trace = 0.0;
      for (PetscInt j = 0; j < d; j++) trace += mix->covariances[(k * d + j) * d + j];
      component_radius[k] = DS_GUARD_COMPONENT_RADII * PetscSqrtReal(trace);
    }
    sets[1] = (PointSet){mix->components, mix->means, component_radius};
  } else sets[1] = (PointSet){target->samples_local, target->samples, NULL};
  PetscCall(PetscMalloc1(2 * d, &box));
  PetscCall(PetscMalloc1(d, &guard->centre));
  for (PetscInt j = 0; j < 2 * d; j++) box[j] = PETSC_MIN_REAL;
  for (int s = 0; s < 2; s++) widen_box(d, &sets[s], box);
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, box, (PetscMPIInt)(2 * d), MPIU_REAL, MPI_MAX, comm));
  for (PetscInt j = 0; j < d; j++) guard->centre[j] = 0.5 * (box[d + j] - box[j]);
  far = PetscMax(farthest(d, guard->centre, &sets[0]), farthest(d, guard->centre, &sets[1]));
  PetscCallMPI(MPI_Allreduce(&far, &guard->extent, 1, MPIU_REAL, MPI_MAX, comm));
  PetscCall(VecRestoreArrayRead(cloud, &x));
  PetscCall(PetscFree(box));
  PetscCall(PetscFree(component_radius));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_guard_destroy(DSGuard *guard)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(guard->centre));
  PetscFunctionReturn(0);
}

PetscReal ds_guard_speed_bound(const DSGuard *guard, PetscReal D, PetscReal h)
{
  const PetscReal target_terms = guard->analytic ? 2.0 : 1.0;

  switch (guard->speed) {
  case DS_GUARD_SPEED_CONSERVATIVE:
    if (guard->imq) return 2.0 * guard->imq_beta / h;
    return guard->gaussian ? target_terms * D / (h * h) : PETSC_INFINITY;
  case DS_GUARD_SPEED_DISPLACEMENT:
    return target_terms * D;
  case DS_GUARD_SPEED_JOINT:
    return 0.5 * PetscSqrtReal((PetscReal)guard->n * (PetscReal)guard->m) * D;
  case DS_GUARD_SPEED_MULTITEMPERATURE:
    return (PetscReal)guard->ntemperatures * PetscSqrtReal((PetscReal)guard->n) * D;
  case DS_GUARD_SPEED_SINKHORN:
    return guard->euclidean_cost ? 2.0 : D;
  default:
    return PETSC_INFINITY;
  }
}

PetscReal ds_guard_radius(const DSGuard *guard, PetscReal dt, PetscReal h)
{
  const PetscReal inner = (PetscReal)DS_GUARD_EXTENT_MULTIPLE * guard->extent;

  return inner + dt * ds_guard_speed_bound(guard, 2.0 * inner, h);
}

/* The particle with the largest |x_i - previous_i| (the first of equals) and that length,
   on every rank. */
static PetscErrorCode largest_move(Vec X, Vec previous, PetscInt *particle, PetscReal *length)
{
  const PetscScalar *x, *p;
  PetscInt           n, start, d, local = PETSC_MAX_INT;
  PetscReal          best = -1.0, global;

  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(X, &n));
  PetscCall(VecGetOwnershipRange(X, &start, NULL));
  PetscCall(VecGetBlockSize(X, &d));
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(VecGetArrayRead(previous, &p));
  for (PetscInt i = 0; i < n / d; i++) {
    const PetscReal r2 = distance2(d, &x[i * d], &p[i * d]);
    if (r2 > best) {
      best  = r2;
      local = start / d + i;
    }
  }
  PetscCall(VecRestoreArrayRead(previous, &p));
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscCallMPI(MPI_Allreduce(&best, &global, 1, MPIU_REAL, MPI_MAX, PetscObjectComm((PetscObject)X)));
  if (best != global) local = PETSC_MAX_INT;
  PetscCallMPI(MPI_Allreduce(&local, particle, 1, MPIU_INT, MPI_MIN, PetscObjectComm((PetscObject)X)));
  *length = PetscSqrtReal(global);
  PetscFunctionReturn(0);
}

PetscErrorCode ds_guard_check(const DSGuard *guard, Vec X, Vec previous, PetscInt step, PetscReal t, PetscReal dt, PetscReal h, char problem[], size_t len)
{
  const PetscInt     d      = guard->dim;
  const PetscReal    radius = ds_guard_radius(guard, dt, h);
  const PetscScalar *x;
  PetscInt           n, fastest;
  PetscReal          far2 = 0.0, global, move = 0.0;

  PetscFunctionBeginUser;
  problem[0] = 0;
  PetscCall(VecGetLocalSize(X, &n));
  PetscCall(VecGetArrayRead(X, &x));
  for (PetscInt i = 0; i < n / d; i++) far2 = PetscMax(far2, distance2(d, &x[i * d], guard->centre));
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscCallMPI(MPI_Allreduce(&far2, &global, 1, MPIU_REAL, MPI_MAX, PetscObjectComm((PetscObject)X)));
  if (global <= radius * radius) PetscFunctionReturn(0);
  PetscCall(largest_move(X, previous, &fastest, &move));
  PetscCall(PetscSNPrintf(problem, len, "the particles left the guard's ball at step %" PetscInt_FMT " (t = %g): one is %g from the centre of the initial cloud and the target, beyond the radius %g = %d x their extent %g + dt %g x the field's speed bound %g; the fastest particle over the step is particle %" PetscInt_FMT ", at speed %g", step,
                          (double)t, (double)PetscSqrtReal(global), (double)radius, DS_GUARD_EXTENT_MULTIPLE, (double)guard->extent, (double)dt, (double)ds_guard_speed_bound(guard, 2.0 * DS_GUARD_EXTENT_MULTIPLE * guard->extent, h), fastest, (double)(move / dt)));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_guard_first_nonfinite(Vec V, PetscInt *particle)
{
  const PetscScalar *v;
  PetscInt           n, start, dim, local = PETSC_MAX_INT, global;

  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(V, &n));
  PetscCall(VecGetOwnershipRange(V, &start, NULL));
  PetscCall(VecGetBlockSize(V, &dim));
  PetscCall(VecGetArrayRead(V, &v));
  for (PetscInt i = 0; i < n && local == PETSC_MAX_INT; i++)
    if (PetscIsInfOrNanReal(PetscRealPart(v[i]))) local = (start + i) / dim;
  PetscCall(VecRestoreArrayRead(V, &v));
  PetscCallMPI(MPI_Allreduce(&local, &global, 1, MPIU_INT, MPI_MIN, PetscObjectComm((PetscObject)V)));
  *particle = global == PETSC_MAX_INT ? -1 : global;
  PetscFunctionReturn(0);
}
