/* Counter-based random numbers (Philox4x32-10, Random123's implementation): every draw is a
   pure function of (seed, stream, index, counter), so a particle or sample is the same at
   any rank count. */
#ifndef DS_RNG_H
#define DS_RNG_H

#include <petscsys.h>
#include <stdint.h>

/* Independent streams: one per purpose, so adding a draw in one never shifts another. */
typedef enum {
  DS_STREAM_INIT = 1,          /* initial particle cloud */
  DS_STREAM_TARGET = 2,        /* target samples */
  DS_STREAM_DIAGNOSTIC = 3,    /* samples drawn for diagnostics */
  DS_STREAM_PROJECTIONS = 4,   /* sliced-W2 directions */
  DS_STREAM_PAIRS = 5,         /* pair sampling (median heuristic) */
  DS_STREAM_ENTROPY = 6,       /* draws from the initial law for KL(rho_0 || nu_h) */
  DS_STREAM_FISHER = 7,        /* the Fisher discrepancy's Gaussian offsets */
  DS_STREAM_ECF = 8            /* the characteristic function's directions */
} DSRngStream;

/* Philox4x32-10 block: four 32-bit words for counter (index, stream, counter) under key seed. */
PETSC_EXTERN void ds_rng_philox(uint64_t seed, uint32_t stream, uint64_t index, uint32_t counter, uint32_t out[4]);

/* Two uniforms in the open interval (0, 1), 52 bits each ((k + 1/2) 2^-52), from one Philox block. */
PETSC_EXTERN void ds_rng_uniform2(uint64_t seed, uint32_t stream, uint64_t index, uint32_t counter, double u[2]);

/* Fills v[0..n-1] with standard normals (Box-Muller on successive Philox blocks of
   (seed, stream, index), counters first_counter, first_counter + 1, ...). */
PETSC_EXTERN void ds_rng_normals(uint64_t seed, uint32_t stream, uint64_t index, uint32_t first_counter, PetscInt n, double *v);

/* Fills v[0..n-1] with uniforms in (0, 1) from successive blocks, as ds_rng_normals. */
PETSC_EXTERN void ds_rng_uniforms(uint64_t seed, uint32_t stream, uint64_t index, uint32_t first_counter, PetscInt n, double *v);

#endif
