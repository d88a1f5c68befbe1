/* The empirical characteristic function error (ds_ecf.h). Each rank sums cos(k . x_i) and
   sin(k . x_i) over its particles for every (shell, direction); one reduction of 2 S L
   values makes the global sums, so a row costs O(N S L d) flops and no pair loop. The
   target's phi at every k is computed once at creation: it does not move. */
#include <stdio.h>
#include <string.h>
#include "ds_ecf.h"
#include "ds_rng.h"

struct DSEcf_ {
  MPI_Comm   comm;
  PetscInt   dim, nshells, directions, particles_global;
  PetscReal  shells[DS_MAX_ECF_SHELLS];
  PetscReal *theta;             /* [L][d] unit directions */
  PetscReal *phi;               /* [S][L][2] the target's phi (real, imaginary) */
  PetscReal *sums;              /* [S][L][2] the particles' sums of cos and sin */
  PetscReal  floor[DS_MAX_ECF_SHELLS];
  char      *names[2 * DS_MAX_ECF_SHELLS];
};

/* The name of a shell's diagnostic: ecf_<kind>_K<K> (%g of K). */
static void shell_name(const char *kind, PetscReal K, char name[], size_t len)
{
  snprintf(name, len, "ecf_%s_K%g", kind, (double)K);
}

void ds_ecf_shells_text(PetscInt nshells, const PetscReal shells[], char text[], size_t len)
{
  text[0] = 0;
  for (PetscInt s = 0; s < nshells; s++) snprintf(text + strlen(text), len - strlen(text), "%s%.15g", s ? "," : "", (double)shells[s]);
  if (!nshells) snprintf(text, len, "none");
}

PetscErrorCode ds_ecf_check_shells(MPI_Comm comm, PetscInt nshells, const PetscReal shells[])
{
  char list[DS_ECF_SHELLS_TEXT];

  PetscFunctionBeginUser;
  ds_ecf_shells_text(nshells, shells, list, sizeof(list));
  for (PetscInt s = 0; s < nshells; s++)
    for (PetscInt t = s + 1; t < nshells; t++) {
      char a[64], b[64];
      shell_name("error", shells[s], a, sizeof(a));
      shell_name("error", shells[t], b, sizeof(b));
      PetscCheck(strcmp(a, b), comm, PETSC_ERR_USER_INPUT, "-drift_ecf_shells %s: shells %" PetscInt_FMT " and %" PetscInt_FMT " have the same name %s (their diagnostics are named by 6 significant digits of K); give distinct shells", list, s + 1, t + 1, a + strlen("ecf_error_"));
    }
  PetscFunctionReturn(0);
}

/* theta_l . z: point z projected on direction l; the phase of wave vector k = K theta_l is
   K times it. */
static PetscReal projection(const DSEcf E, PetscInt l, const PetscReal *z)
{
  PetscReal dot = 0;
  for (PetscInt c = 0; c < E->dim; c++) dot += E->theta[l * E->dim + c] * z[c];
  return dot;
}

/* sums[s][l] += (sum_i cos(k . z_i), sum_i sin(k . z_i)) over n points rows z; each point's
   projection on a direction serves every shell. */
static void add_trigonometric_sums(const DSEcf E, PetscInt n, const PetscReal *z, PetscReal *sums)
{
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt l = 0; l < E->directions; l++) {
      const PetscReal p = projection(E, l, &z[i * E->dim]);
      for (PetscInt s = 0; s < E->nshells; s++) {
        const PetscReal a = E->shells[s] * p;
        sums[2 * (s * E->directions + l)] += PetscCosReal(a);
        sums[2 * (s * E->directions + l) + 1] += PetscSinReal(a);
      }
    }
}

/* phi(k) = sum_j w_j exp(-i k . m_j - k^T C_j k / 2) at every (shell, direction). */
static void mixture_phi(DSEcf E, const DSMixture *mixture)
{
  const PetscInt d = E->dim;

  for (PetscInt s = 0; s < E->nshells; s++)
    for (PetscInt l = 0; l < E->directions; l++) {
      PetscReal *phi = &E->phi[2 * (s * E->directions + l)];
      phi[0] = phi[1] = 0;
      for (PetscInt j = 0; j < mixture->components; j++) {
        const PetscReal *C = &mixture->covariances[j * d * d], *theta = &E->theta[l * d];
        PetscReal        quadratic = 0, a = E->shells[s] * projection(E, l, &mixture->means[j * d]);
        for (PetscInt p = 0; p < d; p++)
          for (PetscInt q = 0; q < d; q++) quadratic += theta[p] * C[p * d + q] * theta[q];
        const PetscReal modulus = mixture->weights[j] * PetscExpReal(-0.5 * PetscSqr(E->shells[s]) * quadratic);
        phi[0] += modulus * PetscCosReal(a);
        phi[1] -= modulus * PetscSinReal(a);
      }
    }
}

PetscErrorCode ds_ecf_create(MPI_Comm comm, PetscInt dim, PetscInt nshells, const PetscReal shells[], PetscInt directions, PetscInt seed, const DSMixture *exact, PetscInt samples_local, const PetscReal samples[], PetscBool replicated, PetscInt particles_global, DSEcf *ecf)
{
  DSEcf          E;
  const PetscInt values = 2 * nshells * directions;
  PetscInt       samples_global = 0;

  PetscFunctionBeginUser;
  PetscCheck(nshells >= 1 && nshells <= DS_MAX_ECF_SHELLS, comm, PETSC_ERR_ARG_OUTOFRANGE, "between 1 and %d shells", DS_MAX_ECF_SHELLS);
  PetscCall(PetscNew(&E));
  E->comm             = comm;
  E->dim              = dim;
  E->nshells          = nshells;
  E->directions       = directions;
  E->particles_global = particles_global;
  PetscCall(PetscArraycpy(E->shells, shells, nshells));
  PetscCall(PetscMalloc3(directions * dim, &E->theta, values, &E->phi, values, &E->sums));
  for (PetscInt l = 0; l < directions; l++) {
    PetscReal *theta = &E->theta[l * dim], norm2 = 0;
    ds_rng_normals((uint64_t)seed, DS_STREAM_ECF, (uint64_t)l, 0, dim, theta);
    for (PetscInt c = 0; c < dim; c++) norm2 += theta[c] * theta[c];
    for (PetscInt c = 0; c < dim; c++) theta[c] /= PetscSqrtReal(norm2);
  }
  if (exact) mixture_phi(E, exact);
  else {
    PetscMPIInt n;
    PetscCall(PetscMPIIntCast(values, &n));
    PetscCall(PetscArrayzero(E->phi, values));
    add_trigonometric_sums(E, samples_local, samples, E->phi);
    samples_global = samples_local;
    if (!replicated) {
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, E->phi, n, MPIU_REAL, MPI_SUM, comm));
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &samples_global, 1, MPIU_INT, MPI_SUM, comm));
    }
    for (PetscInt v = 0; v < values; v++) E->phi[v] *= (v % 2 ? -1.0 : 1.0) / (PetscReal)samples_global; /* exp(-i a) = cos a - i sin a */
  }
  for (PetscInt s = 0; s < nshells; s++) {
    PetscReal variance = 0;
    char      name[64];
    for (PetscInt l = 0; l < directions; l++) variance += 1.0 - (PetscSqr(E->phi[2 * (s * directions + l)]) + PetscSqr(E->phi[2 * (s * directions + l) + 1]));
    E->floor[s] = PetscSqrtReal(PetscMax(variance, 0.0) / directions * (1.0 / particles_global + (samples_global ? 1.0 / samples_global : 0.0)));
    shell_name("error", shells[s], name, sizeof(name));
    PetscCall(PetscStrallocpy(name, &E->names[s]));
    shell_name("floor", shells[s], name, sizeof(name));
    PetscCall(PetscStrallocpy(name, &E->names[nshells + s]));
  }
  *ecf = E;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_ecf_get_names(DSEcf E, PetscInt *count, const char *const **names)
{
  PetscFunctionBeginUser;
  *count = 2 * E->nshells;
  if (names) *names = (const char *const *)E->names;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_ecf_get_directions(DSEcf E, PetscInt *directions, const PetscReal **theta)
{
  PetscFunctionBeginUser;
  *directions = E->directions;
  *theta      = E->theta;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_ecf_compute(DSEcf E, PetscInt local, const PetscReal x[], PetscReal values[])
{
  const PetscInt L = E->directions;
  PetscMPIInt    n;

  PetscFunctionBeginUser;
  PetscCall(PetscMPIIntCast(2 * E->nshells * L, &n));
  PetscCall(PetscArrayzero(E->sums, 2 * E->nshells * L));
  add_trigonometric_sums(E, local, x, E->sums);
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, E->sums, n, MPIU_REAL, MPI_SUM, E->comm));
  PetscCall(PetscLogFlops((2.0 * E->dim + 40.0) * local * E->nshells * L));
  for (PetscInt s = 0; s < E->nshells; s++) {
    PetscReal error = 0;
    for (PetscInt l = 0; l < L; l++) {
      const PetscReal *sum = &E->sums[2 * (s * L + l)], *phi = &E->phi[2 * (s * L + l)];
      /* (1/N) sum_i exp(-i a_i) = (cos sum - i sin sum) / N */
      error += PetscSqrtReal(PetscSqr(sum[0] / E->particles_global - phi[0]) + PetscSqr(-sum[1] / E->particles_global - phi[1]));
    }
    values[s]              = error / L;
    values[E->nshells + s] = E->floor[s];
  }
  PetscFunctionReturn(0);
}

PetscErrorCode ds_ecf_destroy(DSEcf *ecf)
{
  DSEcf E = *ecf;

  PetscFunctionBeginUser;
  if (!E) PetscFunctionReturn(0);
  for (PetscInt k = 0; k < 2 * E->nshells; k++) PetscCall(PetscFree(E->names[k]));
  PetscCall(PetscFree3(E->theta, E->phi, E->sums));
  PetscCall(PetscFree(*ecf));
  PetscFunctionReturn(0);
}
