/* The field types' source sets and ring passes (sources.h). */
#include "sources.h"

PetscErrorCode ds_field_sources_add(DSField f, DSFieldSources *s, DSSourceSet set, PetscInt local, const PetscReal *rows, PetscBool replicated)
{
  PetscInt start;

  PetscFunctionBeginUser;
  /* Replicated points are all local: a ring over one rank visits them without messages. */
  PetscCall(ds_ring_create(replicated ? PETSC_COMM_SELF : f->comm, f->dim, local, DS_SOURCES_MAX_TRAVELLING, &s->ring[set]));
  PetscCall(ds_ring_get_layout(s->ring[set], &start, NULL));
  PetscCall(PetscMalloc1(f->dim * PetscMax(local, 1), &s->soa[set]));
  ds_rows_to_soa(local, f->dim, rows, s->soa[set]);
  s->block[set] = (DSBlock){local, f->dim, local, start, s->soa[set], NULL};
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_sources_create(DSField f, PetscReal cutoff_tol, DSFieldSources **sources)
{
  DSFieldSources *s;
  const DSTarget *target = f->target;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&s));
  s->cutoff_tol = cutoff_tol;
  PetscCall(ds_ring_create(f->comm, f->dim, f->local_count, DS_SOURCES_MAX_TRAVELLING, &s->ring[DS_SOURCES_PARTICLES]));
  PetscCall(PetscMalloc1(f->dim * PetscMax(f->local_count, 1), &s->soa[DS_SOURCES_PARTICLES]));
  s->block[DS_SOURCES_PARTICLES] = (DSBlock){f->local_count, f->dim, f->local_count, f->particle_start, s->soa[DS_SOURCES_PARTICLES], NULL};
  if (!target->analytic) PetscCall(ds_field_sources_add(f, s, DS_SOURCES_DATA, target->samples_local, target->samples, target->replicated));
  *sources = s;
  PetscFunctionReturn(0);
}

void ds_field_sources_load(DSField f, DSFieldSources *s, const PetscReal *x)
{
  ds_rows_to_soa(f->local_count, f->dim, x, s->soa[DS_SOURCES_PARTICLES]);
}

PetscErrorCode ds_field_sources_pass(DSFieldSources *s, DSSourceSet set, DSRingVisitor visit, void *ctx, PetscInt nvalues, PetscReal *travelling)
{
  PetscFunctionBeginUser;
  PetscCall(ds_ring_pass(s->ring[set], &s->block[set], visit, ctx, travelling ? nvalues : 0, travelling));
  PetscFunctionReturn(0);
}

/* A ring visit of ds_field_sources_sum: the query block and where its sums go. */
typedef struct {
  DSField         field;
  DSFieldSources *sources;
  DSWeight        weight;
  const DSBlock  *query;
  DSKernelSums   *sums;
  PetscBool       exclude_self;
} SumsVisit;

/* Kernel sums of the query block against the visiting block, whose points are weighted by
   the travelling values when the ring carries them. */
static PetscErrorCode visit_sums(void *ctx, const DSBlock *visiting, PetscReal *travelling)
{
  SumsVisit *v      = (SumsVisit *)ctx;
  DSField    f      = v->field;
  DSBlock    source = *visiting;

  PetscFunctionBeginUser;
  source.weight = travelling;
  if (v->sources->cutoff_tol > 0 && ds_kernel_cells_apply(&f->kernel, v->weight, &source, v->sums)) {
    /* Sorted into cells on arrival; pairs further than the cutoff radius are skipped (still counted). */
    PetscCall(ds_cells_build(&source, ds_kernel_cutoff_radius(&f->kernel, v->sources->cutoff_tol), &v->sources->cells));
    ds_kernel_sums_cells(&f->kernel, v->weight, v->query, &v->sources->cells, v->exclude_self, v->sums);
  } else ds_kernel_sums(&f->kernel, v->weight, v->query, &source, v->exclude_self, v->sums);
  f->pairs += (PetscLogDouble)v->query->n * visiting->n;
  /* Distance (3 per coordinate), moment (3 per coordinate), value sum and kernel (2). */
  PetscCall(PetscLogFlops((6.0 * v->query->dim + 2.0) * v->query->n * visiting->n));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_sources_sum(DSField f, DSFieldSources *s, DSWeight weight, const DSBlock *query, DSSourceSet set, PetscBool exclude_self, PetscReal *travelling, DSKernelSums *sums)
{
  SumsVisit visit = {f, s, weight, query, sums, exclude_self};

  PetscFunctionBeginUser;
  PetscCall(PetscArrayzero(sums->value, query->n));
  PetscCall(PetscArrayzero(sums->moment, query->dim * query->n));
  if (sums->companion) PetscCall(PetscArrayzero(sums->companion, query->n));
  PetscCall(ds_field_sources_pass(s, set, visit_sums, &visit, 1, travelling));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_sources_destroy(DSFieldSources **sources)
{
  DSFieldSources *s = *sources;

  PetscFunctionBeginUser;
  if (!s) PetscFunctionReturn(0);
  for (int k = 0; k < DS_SOURCE_SETS; k++) {
    PetscCall(ds_ring_destroy(&s->ring[k]));
    PetscCall(PetscFree(s->soa[k]));
  }
  PetscCall(ds_cells_destroy(&s->cells));
  PetscCall(PetscFree(*sources));
  PetscFunctionReturn(0);
}
