/* Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11, Random123's constants). */
#include "ds_rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u /* round multipliers */
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u /* Weyl key increments: golden ratio, sqrt(3) - 1 */
#define PHILOX_W1 0xBB67AE85u
#define PHILOX_ROUNDS 10

/* One Philox round: two 32x32 -> 64-bit products, their halves mixed with the key. */
static void philox_round(uint32_t ctr[4], const uint32_t key[2])
{
  uint64_t p0 = (uint64_t)PHILOX_M0 * ctr[0];
  uint64_t p1 = (uint64_t)PHILOX_M1 * ctr[2];
  uint32_t next[4];

  next[0] = (uint32_t)(p1 >> 32) ^ ctr[1] ^ key[0];
  next[1] = (uint32_t)p1;
  next[2] = (uint32_t)(p0 >> 32) ^ ctr[3] ^ key[1];
  next[3] = (uint32_t)p0;
  for (int w = 0; w < 4; w++) ctr[w] = next[w];
}

/* Philox4x32-10 of counter (index low, index high, stream, counter) under key (seed low, seed high). */
void ds_rng_philox(uint64_t seed, uint32_t stream, uint64_t index, uint32_t counter, uint32_t out[4])
{
  uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};

  out[0] = (uint32_t)index;
  out[1] = (uint32_t)(index >> 32);
  out[2] = stream;
  out[3] = counter;
  for (int r = 0; r < PHILOX_ROUNDS; r++) {
    if (r > 0) {
      key[0] += PHILOX_W0;
      key[1] += PHILOX_W1;
    }
    philox_round(out, key);
  }
}

/* Uniform in the open interval (0, 1) from a 64-bit word: the midpoint (k + 1/2) 2^-52 of one
   of 2^52 equal cells, k the top 52 bits. Every such midpoint is a double, so the value is exact
   and never 0 or 1 (with 53 bits, (k + 1/2) 2^-53 would round to 1 for the largest k). */
static double open_uniform(uint64_t word)
{
  return ((double)(word >> 12) + 0.5) * 0x1p-52;
}

/* Two uniforms in (0, 1): words (out[1], out[0]) and (out[3], out[2]) as 64-bit integers. */
void ds_rng_uniform2(uint64_t seed, uint32_t stream, uint64_t index, uint32_t counter, double u[2])
{
  uint32_t out[4];

  ds_rng_philox(seed, stream, index, counter, out);
  u[0] = open_uniform(((uint64_t)out[1] << 32) | out[0]);
  u[1] = open_uniform(((uint64_t)out[3] << 32) | out[2]);
}

/* Standard normals by Box-Muller, both outputs of each block used; an odd n drops the last sine. */
void ds_rng_normals(uint64_t seed, uint32_t stream, uint64_t index, uint32_t first_counter, PetscInt n, double *v)
{
  for (PetscInt i = 0; i < n; i += 2) {
    double u[2];

    ds_rng_uniform2(seed, stream, index, first_counter + (uint32_t)(i / 2), u);
    const double radius = sqrt(-2.0 * log(u[0]));
    const double angle  = 2.0 * PETSC_PI * u[1];
    v[i] = radius * cos(angle);
    if (i + 1 < n) v[i + 1] = radius * sin(angle);
  }
}

/* Uniforms in (0, 1), two per block; an odd n drops the last one. */
void ds_rng_uniforms(uint64_t seed, uint32_t stream, uint64_t index, uint32_t first_counter, PetscInt n, double *v)
{
  for (PetscInt i = 0; i < n; i += 2) {
    double u[2];

    ds_rng_uniform2(seed, stream, index, first_counter + (uint32_t)(i / 2), u);
    v[i] = u[0];
    if (i + 1 < n) v[i + 1] = u[1];
  }
}
