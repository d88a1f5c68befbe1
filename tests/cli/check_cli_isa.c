/* The ISA levels of the pair loops as a user meets them (issue 16): every level this CPU
   runs, by CPUID (cpu_runs), forced by -drift_isa at 2
   ranks, is named in PERF_SUMMARY and in the output's vector_isa attribute, and its run ends
   where every other level's does (positions after 5 steps within 1e-12 relative: the
   levels sum the same pairs in other orders); -drift_isa auto takes the best of them; a
   level the CPU lacks, and a name that is no level, are refused by name with no file
   touched. The levels' sums themselves are checked against brute force by the MPI suites,
   run at each level (tools/run-tests). Part of the CLI suite (check_cli.c registers the
   test case "isa"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli_test.h"

static const char *const levels[] = {"generic", "avx2", "avx512"};
#define LEVELS 3

#if defined(__x86_64__)
  #include <cpuid.h>

/* Whether every bit of `mask` is set in register `reg` (0 eax, 1 ebx, 2 ecx, 3 edx) of CPUID
   leaf `leaf`, subleaf `sub`; 0 where the CPU has no such leaf. */
static int cpuid_has(unsigned leaf, unsigned sub, int reg, unsigned mask)
{
  unsigned r[4] = {0, 0, 0, 0};
  if (!__get_cpuid_count(leaf, sub, &r[0], &r[1], &r[2], &r[3])) return 0;
  return (r[reg] & mask) == mask;
}

/* Whether the operating system saves every state component of `mask` (XCR0, read by xgetbv;
   only when CPUID says OSXSAVE). */
static int os_saves(unsigned mask)
{
  unsigned lo, hi;
  if (!cpuid_has(1, 0, 2, 1u << 27)) return 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (lo & mask) == mask;
}
#endif

/* Whether this CPU runs level l (x86-64 builds have all three levels), from CPUID itself
   rather than /proc/cpuinfo, whose flags may lack some (one Zen 5 VM's kernel listed no
   "abm", LZCNT, which CPUID reports and which executes), or the compiler's
   __builtin_cpu_supports, which the program uses. x86-64-v3: FMA, MOVBE, XSAVE, AVX, F16C
   (leaf 1 ecx), BMI1, AVX2, BMI2 (leaf 7 ebx), LZCNT (leaf 0x80000001 ecx), with the SSE and
   AVX registers saved by the OS; x86-64-v4 adds AVX512F, DQ, CD, BW, VL (leaf 7 ebx) and the
   opmask and ZMM registers saved. */
static int cpu_runs(int l)
{
#if defined(__x86_64__)
  const int v3 = cpuid_has(1, 0, 2, 1u << 12 | 1u << 22 | 1u << 26 | 1u << 28 | 1u << 29) && cpuid_has(7, 0, 1, 1u << 3 | 1u << 5 | 1u << 8) && cpuid_has(0x80000001u, 0, 2, 1u << 5) && os_saves(0x6);
  if (l == 1) return v3;
  if (l == 2) return v3 && cpuid_has(7, 0, 1, 1u << 16 | 1u << 17 | 1u << 28 | 1u << 30 | 1u << 31) && os_saves(0xE6);
  return 1;
#else
  return l == 0;
#endif
}

/* The root's string attribute `name` of `file` into value. */
static void read_string_attribute(hid_t file, const char *name, char *value, size_t len)
{
  hid_t a = H5Aopen(file, name, H5P_DEFAULT), type = a >= 0 ? H5Aget_type(a) : -1;
  ck_assert_msg(a >= 0 && type >= 0 && H5Tget_size(type) <= len, "no string attribute %s", name);
  ck_assert(H5Aread(a, type, value) >= 0);
  H5Tclose(type);
  H5Aclose(a);
}

START_TEST(each_level_runs_alike_and_says_so)
{
  double *first = NULL, *position;
  int     best  = 0, rank;
  hsize_t dims[3];
  for (int l = 0; l < LEVELS; l++) {
    char out[300], args[1024], isa[64] = "", said[80];
    Run  r;
    if (!cpu_runs(l)) continue;
    best = l;
    snprintf(out, sizeof(out), "%s/isa_%s.h5", workdir, levels[l]);
    snprintf(args, sizeof(args), "-drift_n 301 -drift_dim 2 -ts_dt 0.1 -ts_max_steps 5 -drift_monitor 0 -drift_diagnostics none -drift_isa %s -drift_output %s", levels[l], out);
    run_driftsim(&r, 2, args);
    ck_assert_msg(r.exit_code == 0, "-drift_isa %s failed on a CPU that has it: %.1500s", levels[l], r.err);
    snprintf(said, sizeof(said), " vector_isa=%s\n", levels[l]);
    ck_assert_msg(strstr(r.out, said), "PERF_SUMMARY does not say%s: %.1500s", said, r.out);
    hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(f >= 0, "%s not written", out);
    read_string_attribute(f, "vector_isa", isa, sizeof(isa));
    ck_assert_msg(!strcmp(isa, levels[l]), "vector_isa is '%s', the run asked for %s", isa, levels[l]);
    position = read_dataset(f, "/particles/position", &rank, dims);
    H5Fclose(f);
    const size_t count = (size_t)(dims[0] * dims[1] * dims[2]), last = (size_t)((dims[0] - 1) * dims[1] * dims[2]);
    if (!first) first = position;
    else {
      double worst = 0, scale = 0;
      for (size_t k = last; k < count; k++) worst = fmax(worst, fabs(position[k] - first[k])), scale = fmax(scale, fabs(first[k]));
      ck_assert_msg(worst <= 1e-12 * scale, "-drift_isa %s ends %g (relative %g) away from -drift_isa generic", levels[l], worst, worst / scale);
      free(position);
    }
  }
  free(first);
  /* auto: the best level the CPU runs. */
  char said[80];
  Run  r;
  run_driftsim(&r, 2, "-drift_n 64 -ts_max_steps 1 -drift_monitor 0 -drift_diagnostics none");
  snprintf(said, sizeof(said), " vector_isa=%s\n", levels[best]);
  ck_assert_msg(r.exit_code == 0 && strstr(r.out, said), "-drift_isa auto does not run the best level, %s: %.1500s", levels[best], r.out);
}
END_TEST

START_TEST(missing_levels_are_refused_by_name)
{
  char args[256], names[256];
  for (int l = 0; l < LEVELS; l++) {
    if (cpu_runs(l)) continue;
    snprintf(args, sizeof(args), "-drift_n 40 -ts_max_steps 1 -drift_isa %s", levels[l]);
    snprintf(names, sizeof(names), "-drift_isa %s: ", levels[l]);
    cli_check_refused(args, names);
  }
  cli_check_refused("-drift_n 40 -ts_max_steps 1 -drift_isa sse9", "-drift_isa sse9 is not known; allowed: generic, avx2, avx512, auto");
}
END_TEST

void cli_test_add_isa(Suite *s)
{
  TCase *tc = tcase_create("isa");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, each_level_runs_alike_and_says_so);
  tcase_add_test(tc, missing_levels_are_refused_by_name);
  suite_add_tcase(s, tc);
}
