/* The ISA levels of the pair micro-kernels (doc/design.md, "ISA levels"): every level the
   build's architecture has is compiled into the one binary (x86-64: generic, avx2 for
   x86-64-v3 with AVX2 and FMA, avx512 for x86-64-v4; elsewhere, and in the instrumented
   build, generic only), and one is chosen at run time from the CPU's features or by
   -drift_isa. */
#ifndef DS_ISA_H
#define DS_ISA_H

#include <petscsys.h>

typedef enum { DS_ISA_GENERIC, DS_ISA_AVX2, DS_ISA_AVX512, DS_ISA_AUTO } DSIsa;
/* "generic", "avx2", "avx512", "auto", in PETSc's enum-list form (for -drift_isa). */
PETSC_EXTERN const char *const DSIsaNames[];

/* Whether `isa` (not DS_ISA_AUTO) is compiled into this binary and this CPU can run it. */
PETSC_EXTERN PetscBool ds_isa_supported(DSIsa isa);

/* The best level this CPU can run. */
PETSC_EXTERN DSIsa ds_isa_best(void);

/* Makes `isa` (supported) the level every pair loop runs from now on. Until a level is
   selected, the first pair loop selects ds_isa_best(). */
PETSC_EXTERN void ds_isa_select(DSIsa isa);

/* The level the pair loops run (selecting the best first if none is). */
PETSC_EXTERN DSIsa ds_isa_current(void);

/* Selects the level `requested` on every rank of comm (collective): for DS_ISA_AUTO the
   best level every rank can run (the lowest of the ranks' best, so that a job across
   nodes of different generations computes alike everywhere); a level that some rank's CPU
   cannot run, or that this binary lacks, is refused by name (PETSC_ERR_USER_INPUT, naming
   `option` and the levels that rank has). */
PETSC_EXTERN PetscErrorCode ds_isa_choose(MPI_Comm comm, DSIsa requested, const char *option);

#endif
