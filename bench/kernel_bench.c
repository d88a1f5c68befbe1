/* Pair rate of the micro-kernels on one core: ds_kernel_sums of a block of query points
   against a block of source points, as the field's ring visit does. Usage:
     kernel_bench KERNEL WEIGHT DIM [N] [SECONDS]   (KERNEL gaussian|laplace|imq, WEIGHT value|gradient)
   Prints one line: kernel=... dim=... pairs_per_s=... */
#include <petscsys.h>
#include <petsctime.h>
#include "ds_kernels.h"
#include "ds_rng.h"

int main(int argc, char **argv)
{
  PetscInt       dim = 2, n = 4096;
  PetscReal      seconds = 2.0;
  DSKernel       K;
  DSKernelType   type   = DS_KERNEL_GAUSSIAN;
  DSWeight       weight = DS_WEIGHT_GRADIENT;
  PetscLogDouble t0, t1;
  double         pairs = 0;

  PetscCall(PetscInitializeNoArguments());
  if (argc < 4) {
    fprintf(stderr, "usage: %s gaussian|laplace|imq value|gradient DIM [N] [SECONDS]\n", argv[0]);
    return 2;
  }
  type   = !strcmp(argv[1], "laplace") ? DS_KERNEL_LAPLACE : !strcmp(argv[1], "imq") ? DS_KERNEL_IMQ : DS_KERNEL_GAUSSIAN;
  weight = !strcmp(argv[2], "value") ? DS_WEIGHT_VALUE : DS_WEIGHT_GRADIENT;
  dim    = atoi(argv[3]);
  if (argc > 4) n = atoi(argv[4]);
  if (argc > 5) seconds = atof(argv[5]);

  PetscReal *x, *value, *moment;
  PetscCall(PetscMalloc3(dim * n, &x, n, &value, dim * n, &moment));
  /* A unit Gaussian cloud and h = 0.5: most pairs within a few bandwidths, as in a run. */
  for (PetscInt i = 0; i < n; i++) {
    double z[64];
    ds_rng_normals(1, DS_STREAM_INIT, (uint64_t)i, 0, dim, z);
    for (PetscInt c = 0; c < dim; c++) x[c * n + i] = z[c];
  }
  ds_kernel_setup(type, 0.5, 0.5, &K);
  DSBlock      block = {n, dim, n, 0, x, NULL};
  DSKernelSums sums  = {n, value, moment, NULL};
  PetscCall(PetscTime(&t0));
  do {
    ds_kernel_sums(&K, weight, &block, &block, PETSC_TRUE, &sums);
    pairs += (double)n * n;
    PetscCall(PetscTime(&t1));
  } while (t1 - t0 < seconds);
  printf("kernel=%s weight=%s dim=%d n=%d pairs_per_s=%.4e checksum=%.6e\n", argv[1], argv[2], (int)dim, (int)n, pairs / (t1 - t0), value[0]);
  PetscCall(PetscFree3(x, value, moment));
  PetscCall(PetscFinalize());
  return 0;
}
