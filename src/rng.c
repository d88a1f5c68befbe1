/* Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11) from Random123's
   reference implementation (Debian's header-only librandom123-dev), with driftsim's layout
   of counter and key, uniforms and normals on top. */
#include "ds_rng.h"

#include <math.h>
#include <Random123/philox.h>

/* Philox4x32-10 of counter (index low, index high, stream, counter) under key (seed low, seed high). */
void ds_rng_philox(uint64_t seed, uint32_t stream, uint64_t index, uint32_t counter, uint32_t out[4])
{
  const philox4x32_ctr_t ctr = {{(uint32_t)index, (uint32_t)(index >> 32), stream, counter}};
  const philox4x32_key_t key = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
  const philox4x32_ctr_t block = philox4x32_R(10, ctr, key);

  for (int w = 0; w < 4; w++) out[w] = block.v[w];
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
