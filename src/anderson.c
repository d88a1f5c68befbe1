/* Anderson mixing (ds_anderson.h). The history is a ring of memory + 1 pairs (x_j, G(x_j));
   the differences are taken between pairs adjacent in age. */
#include "ds_anderson.h"

struct DSAnderson_ {
  MPI_Comm   comm;
  PetscInt   n, memory;
  PetscInt   pairs;   /* complete pairs in the history, at most memory + 1 */
  PetscInt   newest;  /* the slot of the newest complete pair */
  PetscInt   pending; /* the slot of the x recorded last, awaiting its G(x); -1: none */
  PetscBool  mixed;   /* the last ds_anderson_mix changed its G(x) */
  PetscReal *x, *g;   /* [memory + 1][n] */
  PetscReal *normal;  /* m x m Gram matrix then its m right sides, m the differences in use */
  PetscReal *delta;   /* [memory] one entry's residual differences */
  PetscReal **x_by_age, **g_by_age; /* [memory + 1] the pairs' rows, oldest first, during a mix */
};

PetscErrorCode ds_anderson_create(MPI_Comm comm, PetscInt local, PetscInt memory, DSAnderson *anderson)
{
  DSAnderson A;

  PetscFunctionBeginUser;
  PetscCheck(memory >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "Anderson mixing needs a memory of at least 1, not %" PetscInt_FMT, memory);
  PetscCall(PetscNew(&A));
  A->comm   = comm;
  A->n      = local;
  A->memory = memory;
  A->pending = -1;
  PetscCall(PetscMalloc6((memory + 1) * PetscMax(local, 1), &A->x, (memory + 1) * PetscMax(local, 1), &A->g, memory * (memory + 1), &A->normal, memory, &A->delta, memory + 1, &A->x_by_age, memory + 1, &A->g_by_age));
  *anderson = A;
  PetscFunctionReturn(0);
}

void ds_anderson_reset(DSAnderson A)
{
  A->pairs   = 0;
  A->pending = -1;
  A->mixed   = PETSC_FALSE;
}

PetscErrorCode ds_anderson_record(DSAnderson A, const PetscReal x[])
{
  PetscFunctionBeginUser;
  A->pending = A->pairs ? (A->newest + 1) % (A->memory + 1) : 0;
  PetscCall(PetscArraycpy(A->x + A->pending * A->n, x, A->n));
  PetscFunctionReturn(0);
}

/* x_by_age and g_by_age: the rows of the history's pairs, oldest first. */
static void order_by_age(DSAnderson A)
{
  for (PetscInt j = 0; j < A->pairs; j++) {
    const PetscInt slot = (A->newest - (A->pairs - 1) + j + A->memory + 1) % (A->memory + 1);
    A->x_by_age[j]      = A->x + slot * A->n;
    A->g_by_age[j]      = A->g + slot * A->n;
  }
}

/* Solves the m x m system `normal` gamma = right side in place by Cholesky's factorisation;
   PETSC_FALSE when a pivot falls below 1e4 machine epsilons of its diagonal entry (a
   difference within an angle of about 1e-6 of the span of the others, or none at all). */
static PetscBool cholesky_solve(PetscInt m, PetscReal *a, PetscReal *b)
{
  for (PetscInt j = 0; j < m; j++) {
    PetscReal pivot = a[j * m + j];
    for (PetscInt k = 0; k < j; k++) pivot -= a[j * m + k] * a[j * m + k];
    if (!(pivot > 1e4 * PETSC_MACHINE_EPSILON * a[j * m + j])) return PETSC_FALSE;
    a[j * m + j] = PetscSqrtReal(pivot);
    for (PetscInt i = j + 1; i < m; i++) {
      PetscReal s = a[i * m + j];
      for (PetscInt k = 0; k < j; k++) s -= a[i * m + k] * a[j * m + k];
      a[i * m + j] = s / a[j * m + j];
    }
  }
  for (PetscInt i = 0; i < m; i++) { /* L z = b */
    for (PetscInt k = 0; k < i; k++) b[i] -= a[i * m + k] * b[k];
    b[i] /= a[i * m + i];
  }
  for (PetscInt i = m - 1; i >= 0; i--) { /* L^T gamma = z */
    for (PetscInt k = i + 1; k < m; k++) b[i] -= a[k * m + i] * b[k];
    b[i] /= a[i * m + i];
  }
  return PETSC_TRUE;
}

PetscErrorCode ds_anderson_mix(DSAnderson A, PetscReal y[])
{
  PetscInt     m;
  PetscReal   *gram = A->normal, *right, *gamma;
  PetscMPIInt  count;

  PetscFunctionBeginUser;
  PetscCheck(A->pending >= 0, A->comm, PETSC_ERR_ORDER, "ds_anderson_mix needs the x of its G(x) recorded first (ds_anderson_record)");
  PetscCall(PetscArraycpy(A->g + A->pending * A->n, y, A->n));
  A->newest  = A->pending;
  A->pending = -1;
  A->mixed   = PETSC_FALSE;
  A->pairs   = PetscMin(A->pairs + 1, A->memory + 1);
  m          = A->pairs - 1;
  if (!m) PetscFunctionReturn(0);
  right = gamma = gram + m * m;
  PetscCall(PetscArrayzero(gram, m * (m + 1)));
  order_by_age(A);
  for (PetscInt i = 0; i < A->n; i++) { /* residuals F_j = G(x_j) - x_j, their differences */
    PetscReal previous = A->g_by_age[0][i] - A->x_by_age[0][i], newest = 0;
    for (PetscInt j = 0; j < m; j++) {
      const PetscReal next = A->g_by_age[j + 1][i] - A->x_by_age[j + 1][i];
      A->delta[j]          = next - previous;
      previous = newest = next;
    }
    for (PetscInt j = 0; j < m; j++) {
      for (PetscInt k = 0; k <= j; k++) gram[j * m + k] += A->delta[j] * A->delta[k];
      right[j] += A->delta[j] * newest;
    }
  }
  PetscCall(PetscMPIIntCast(m * (m + 1), &count));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, gram, count, MPIU_REAL, MPI_SUM, A->comm));
  if (!cholesky_solve(m, gram, right)) { /* every rank decides alike: the sums are the same */
    A->pairs = 1;
    PetscFunctionReturn(0);
  }
  for (PetscInt j = 0; j < m; j++)
    for (PetscInt i = 0; i < A->n; i++) y[i] -= gamma[j] * (A->g_by_age[j + 1][i] - A->g_by_age[j][i]);
  A->mixed = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscBool ds_anderson_fall_back(DSAnderson A, PetscReal y[])
{
  A->pending = -1;
  if (!A->mixed) return PETSC_FALSE;
  for (PetscInt i = 0; i < A->n; i++) y[i] = A->g[A->newest * A->n + i];
  A->pairs = 1;
  A->mixed = PETSC_FALSE;
  return PETSC_TRUE;
}

PetscErrorCode ds_anderson_destroy(DSAnderson *anderson)
{
  PetscFunctionBeginUser;
  if (!*anderson) PetscFunctionReturn(0);
  PetscCall(PetscFree6((*anderson)->x, (*anderson)->g, (*anderson)->normal, (*anderson)->delta, (*anderson)->x_by_age, (*anderson)->g_by_age));
  PetscCall(PetscFree(*anderson));
  PetscFunctionReturn(0);
}
