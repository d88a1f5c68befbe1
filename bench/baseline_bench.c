/* The baseline of `make bench` (issue 16): the kernel sums of ds_kernel_sums as a user would
   write them in plain C, a blocked loop that the compiler vectorises (-O3 -march=native
   -ffast-math: glibc's vector exp and sqrt), so that driftsim's micro-kernels are measured
   against what any C code reaches on the same core. Per query i and block of sources:
   squared distances, k = exp(-r^2 / (2 h^2)) (gaussian) or exp(-r / h) (laplace), then
   sum_j k and sum_j k (z_i - s_j); h = 0.5, N points of a unit Gaussian cloud against
   themselves, as kernel_bench. Usage: baseline_bench gaussian|laplace DIM [N] [SECONDS];
   prints one line of key=value results. No PETSc, no MPI: built on its own flags. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCK 256

static double now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* Adds the sums of every query against every source: value[i] and moment[c * n + i]. */
static void sums(int laplace, int dim, int n, const double *x, double *value, double *moment)
{
  const double scale = laplace ? -1.0 / 0.5 : -0.5 / (0.5 * 0.5);
  double       r2[BLOCK], k[BLOCK];

  for (int i = 0; i < n; i++)
    for (int j0 = 0; j0 < n; j0 += BLOCK) {
      const int nb = n - j0 < BLOCK ? n - j0 : BLOCK;
      double    v  = 0;
      for (int j = 0; j < nb; j++) r2[j] = 0;
      for (int c = 0; c < dim; c++) {
        const double  z = x[c * n + i], *s = x + c * n + j0;
        for (int j = 0; j < nb; j++) r2[j] += (z - s[j]) * (z - s[j]);
      }
      if (laplace)
        for (int j = 0; j < nb; j++) k[j] = exp(scale * sqrt(r2[j]));
      else
        for (int j = 0; j < nb; j++) k[j] = exp(scale * r2[j]);
      for (int j = 0; j < nb; j++) v += k[j];
      value[i] += v;
      for (int c = 0; c < dim; c++) {
        const double  z = x[c * n + i], *s = x + c * n + j0;
        double        m = 0;
        for (int j = 0; j < nb; j++) m += k[j] * (z - s[j]);
        moment[c * n + i] += m;
      }
    }
}

int main(int argc, char **argv)
{
  if (argc < 3) {
    fprintf(stderr, "usage: %s gaussian|laplace DIM [N] [SECONDS]\n", argv[0]);
    return 2;
  }
  const int    laplace = !strcmp(argv[1], "laplace"), dim = atoi(argv[2]);
  const int    n       = argc > 3 ? atoi(argv[3]) : 4096;
  const double seconds = argc > 4 ? atof(argv[4]) : 3;
  double      *x = malloc(sizeof(double) * dim * n), *value = calloc(n, sizeof(double)), *moment = calloc((size_t)dim * n, sizeof(double));
  double       pairs = 0, t0, t1;
  unsigned long long state = 1;

  /* Unit normal coordinates (Box-Muller on a 64-bit LCG's top 53 bits). */
  for (int k = 0; k < dim * n; k++) {
    double u[2];
    for (int l = 0; l < 2; l++) state = state * 6364136223846793005ULL + 1442695040888963407ULL, u[l] = ((state >> 11) + 0.5) / 9007199254740992.0;
    x[k] = sqrt(-2 * log(u[0])) * cos(2 * M_PI * u[1]);
  }
  t0 = now();
  do {
    sums(laplace, dim, n, x, value, moment);
    pairs += (double)n * n;
    t1 = now();
  } while (t1 - t0 < seconds);
  printf("baseline kernel=%s dim=%d n=%d pairs_per_s=%.4e checksum=%.6e\n", argv[1], dim, n, pairs / (t1 - t0), value[0] / (pairs / n / n));
  free(x);
  free(value);
  free(moment);
  return 0;
}
