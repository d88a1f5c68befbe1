/* The ISA levels of the pair micro-kernels (ds_isa.h): each level's entry points (compiled
   from the same sources with the level's flags, kernels_isa.h) gathered in one table per
   level, the CPU's features read once, and the public entry points of ds_kernels*.h, each
   a call through the selected level's table. */
#include "ds_isa.h"
#include "kernels_isa.h"

const char *const DSIsaNames[] = {"generic", "avx2", "avx512", "auto", "DSIsa", "DS_ISA_", NULL};

/* One level's entry points, by their public names. */
typedef struct {
#define DS_ISA_FIELD(ret, name, params, args) ret(*name) params;
  DS_KERNEL_VOID_ENTRIES(DS_ISA_FIELD)
  DS_KERNEL_VALUE_ENTRIES(DS_ISA_FIELD)
#undef DS_ISA_FIELD
} Entries;

#define DS_ISA_DECLARE(ret, name, params, args) ret DS_ISA_NAME(name, LEVEL) params;
#define DS_ISA_TABLE_ENTRY(ret, name, params, args) DS_ISA_NAME(name, LEVEL),
/* The table of LEVEL (its entry points declared first). */
#define DS_ISA_LEVEL_TABLE \
  DS_KERNEL_VOID_ENTRIES(DS_ISA_DECLARE) \
  DS_KERNEL_VALUE_ENTRIES(DS_ISA_DECLARE) \
  static const Entries DS_ISA_NAME(entries, LEVEL) = {DS_KERNEL_VOID_ENTRIES(DS_ISA_TABLE_ENTRY) DS_KERNEL_VALUE_ENTRIES(DS_ISA_TABLE_ENTRY)};

/* The levels the Makefile compiled (DS_KERNEL_ISA_<level>: x86-64 builds have the three,
   others generic; the instrumented build generic only); generic always. */
#define LEVEL generic
DS_ISA_LEVEL_TABLE
#undef LEVEL
#if defined(DS_KERNEL_ISA_avx2)
  #define LEVEL avx2
DS_ISA_LEVEL_TABLE
  #undef LEVEL
  #define DS_ISA_AVX2_ENTRIES &entries_avx2
#else
  #define DS_ISA_AVX2_ENTRIES NULL
#endif
#if defined(DS_KERNEL_ISA_avx512)
  #define LEVEL avx512
DS_ISA_LEVEL_TABLE
  #undef LEVEL
  #define DS_ISA_AVX512_ENTRIES &entries_avx512
#else
  #define DS_ISA_AVX512_ENTRIES NULL
#endif
static const Entries *const levels[] = {&entries_generic, DS_ISA_AVX2_ENTRIES, DS_ISA_AVX512_ENTRIES};

static const Entries *selected;
static DSIsa          selected_isa;

PetscBool ds_isa_supported(DSIsa isa)
{
  if (isa < DS_ISA_GENERIC || isa >= DS_ISA_AUTO || !levels[isa]) return PETSC_FALSE;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (isa == DS_ISA_AVX2) return __builtin_cpu_supports("x86-64-v3") ? PETSC_TRUE : PETSC_FALSE;
  if (isa == DS_ISA_AVX512) return __builtin_cpu_supports("x86-64-v4") ? PETSC_TRUE : PETSC_FALSE;
#endif
  return PETSC_TRUE;
}

DSIsa ds_isa_best(void)
{
  DSIsa best = DS_ISA_GENERIC;
  for (int isa = DS_ISA_GENERIC; isa < DS_ISA_AUTO; isa++)
    if (ds_isa_supported((DSIsa)isa)) best = (DSIsa)isa;
  return best;
}

void ds_isa_select(DSIsa isa)
{
  selected_isa = isa;
  selected     = levels[isa];
}

/* The selected level's table, the best level's until one is selected. */
static const Entries *entries(void)
{
  if (!selected) ds_isa_select(ds_isa_best());
  return selected;
}

DSIsa ds_isa_current(void)
{
  (void)entries();
  return selected_isa;
}

PetscErrorCode ds_isa_choose(MPI_Comm comm, DSIsa requested, const char *option)
{
  int best = (int)ds_isa_best(), common, runs;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allreduce(&best, &common, 1, MPI_INT, MPI_MIN, comm));
  if (requested == DS_ISA_AUTO) requested = (DSIsa)common;
  runs = ds_isa_supported(requested);
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &runs, 1, MPI_INT, MPI_LAND, comm));
  PetscCheck(runs, comm, PETSC_ERR_USER_INPUT, "%s %s: %s; the best level every rank runs is %s (or give %s auto)", option, DSIsaNames[requested],
             levels[requested] ? "not every rank's CPU has its instructions" : "this build of driftsim has no such level (a plain x86-64 build has generic, avx2 and avx512)", DSIsaNames[common], option);
  ds_isa_select(requested);
  PetscFunctionReturn(0);
}

/* The public entry points: the selected level's. */
#define DS_ISA_VOID_CALL(ret, name, params, args) \
  ret name params { entries()->name args; }
#define DS_ISA_VALUE_CALL(ret, name, params, args) \
  ret name params { return entries()->name args; }
DS_KERNEL_VOID_ENTRIES(DS_ISA_VOID_CALL)
DS_KERNEL_VALUE_ENTRIES(DS_ISA_VALUE_CALL)
