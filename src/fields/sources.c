/* The field types' source sets, ring passes and fast sums (sources.h). */
#include <math.h>
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
  s->block[set]      = (DSBlock){local, f->dim, local, start, s->soa[set], NULL};
  s->replicated[set] = replicated;
  PetscFunctionReturn(0);
}

PetscBool ds_field_sources_symmetric_pairs(DSField f, DSWeight weight)
{
  const DSKernelSums values_and_moments = {0};

  const PetscBool every_pair_possible = f->opts->sum == DS_SUM_EXACT || f->opts->sum == DS_SUM_AUTO ? PETSC_TRUE : PETSC_FALSE;

  return f->opts->pair_schedule == DS_PAIRS_SYMMETRIC && every_pair_possible && ds_kernel_symmetric_apply(&f->kernel, weight, f->dim, &values_and_moments) ? PETSC_TRUE : PETSC_FALSE;
}

PetscErrorCode ds_field_sources_create(DSField f, DSSumMethod method, PetscReal sum_tol, PetscBool symmetric_pairs, DSFieldSources **sources)
{
  DSFieldSources *s;
  const DSTarget *target = f->target;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&s));
  s->method    = method;
  s->sum_tol   = sum_tol;
  s->last      = DS_SUM_EXACT;
  s->symmetric = symmetric_pairs;
  if (method == DS_SUM_FGT || method == DS_SUM_AUTO) PetscCall(ds_fgt_create(f->comm, &s->fgt));
  PetscCall(ds_ring_create(f->comm, f->dim, f->local_count, PetscMax(DS_SOURCES_MAX_TRAVELLING, symmetric_pairs ? 1 + f->dim : 0), &s->ring[DS_SOURCES_PARTICLES]));
  if (s->symmetric) PetscCall(PetscMalloc1((1 + f->dim) * PetscMax(f->local_count, 1), &s->partner));
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

/* A ring visit of ds_field_sources_sum: the query block and where its sums go; with
   cutoff, through cell lists. */
typedef struct {
  DSField         field;
  DSFieldSources *sources;
  DSWeight        weight;
  const DSBlock  *query;
  DSKernelSums   *sums;
  PetscBool       exclude_self;
  PetscBool       cutoff;
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
  if (v->cutoff) {
    /* Sorted into cells on arrival; pairs further than the cutoff radius are skipped (still counted). */
    PetscCall(ds_cells_build(&source, ds_kernel_cutoff_radius(&f->kernel, v->sources->sum_tol), &v->sources->cells));
    ds_kernel_sums_cells(&f->kernel, v->weight, v->query, &v->sources->cells, v->exclude_self, v->sums);
  } else ds_kernel_sums(&f->kernel, v->weight, v->query, &source, v->exclude_self, v->sums);
  f->pairs += (PetscLogDouble)v->query->n * visiting->n;
  /* Distance (3 per coordinate), moment (3 per coordinate), value sum and kernel (2). */
  PetscCall(PetscLogFlops((6.0 * v->query->dim + 2.0) * v->query->n * visiting->n));
  PetscFunctionReturn(0);
}

/* Rows [range[0], range[1]) of a block. */
static DSBlock block_rows(const DSBlock *b, const PetscInt range[2])
{
  return (DSBlock){range[1] - range[0], b->dim, b->ld, b->start + range[0], b->x + range[0], b->weight ? b->weight + range[0] : NULL};
}

/* A symmetric ring visit: the pairs of the home particles (the queries) and the visiting
   particles, each computed once, the home side into the sums, the visiting side into the
   partner sums travelling with the block ([value | moments][visiting->n]). */
static PetscErrorCode visit_pairs(void *ctx, const DSBlock *visiting, PetscReal *travelling, const DSRingPairs *pairs)
{
  SumsVisit     *v = (SumsVisit *)ctx;
  DSField        f = v->field;
  const DSBlock  query = block_rows(v->query, pairs->home), source = block_rows(visiting, pairs->visiting);
  const PetscInt offset = pairs->visiting[0];
  DSKernelSums   home    = {v->sums->ld, v->sums->value + pairs->home[0], v->sums->moment ? v->sums->moment + pairs->home[0] : NULL, NULL, NULL};
  DSKernelSums   partner = {visiting->n, travelling + offset, v->sums->moment ? travelling + visiting->n + offset : NULL, NULL, NULL};
  /* pairs computed: the triangle i < j on the diagonal, every pair elsewhere */
  const PetscLogDouble computed = pairs->diagonal ? 0.5 * query.n * (query.n - 1.0) : (PetscLogDouble)query.n * source.n;

  PetscFunctionBeginUser;
  ds_kernel_sums_symmetric(&f->kernel, v->weight, &query, &source, pairs->diagonal, v->exclude_self, &home, &partner);
  /* The N^2 ordered pairs of the full schedule, each counted where it is computed: the
     diagonal's n^2 (self pairs included, as the full schedule counts them), 2 per pair elsewhere. */
  f->pairs += pairs->diagonal ? (PetscLogDouble)query.n * query.n : 2.0 * computed;
  /* Per pair: distance (3 per coordinate), kernel (2), both values (2), both moments (4 per
     coordinate) and the partner's scale (1). */
  PetscCall(PetscLogFlops((7.0 * query.dim + 5.0) * computed));
  PetscFunctionReturn(0);
}

/* The method of one sum: the sources' own where it serves these sums, auto's choice by the
   cost model (collective: the bounding box; every pair costs half when `symmetric`, the
   half ring), every pair otherwise; for fgt its plan over the bounding box lo, hi. */
static PetscErrorCode choose_method(DSField f, DSFieldSources *s, DSWeight weight, const DSBlock *query, DSSourceSet set, const PetscReal *travelling, const DSKernelSums *sums, PetscBool symmetric, DSSumMethod *method, DSFgtPlan *plan, PetscReal lo[], PetscReal hi[])
{
  DSBlock         source = s->block[set];
  const PetscBool fgt    = f->kernel.type == DS_KERNEL_GAUSSIAN && !travelling && !sums->companion && f->dim <= 3 ? PETSC_TRUE : PETSC_FALSE;
  PetscBool       cutoff;
  PetscInt        ns;
  PetscReal       nq = query->n, extent[3], flops = INFINITY;

  PetscFunctionBeginUser;
  source.weight = travelling;
  cutoff        = s->method != DS_SUM_EXACT && ds_kernel_cells_apply(&f->kernel, weight, &source, sums);
  *method       = DS_SUM_EXACT;
  if (s->method == DS_SUM_CUTOFF && cutoff) *method = DS_SUM_CUTOFF;
  if (!(s->method == DS_SUM_FGT || s->method == DS_SUM_AUTO) || !fgt) {
    if (s->method == DS_SUM_AUTO && cutoff) *method = DS_SUM_CUTOFF;
    PetscFunctionReturn(0);
  }
  PetscCall(ds_fgt_bounding_box(s->fgt, query, &source, lo, hi));
  PetscCall(ds_ring_get_layout(s->ring[set], NULL, &ns));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &nq, 1, MPIU_REAL, MPI_SUM, f->comm));
  for (PetscInt c = 0; c < f->dim; c++) extent[c] = hi[c] - lo[c];
  ds_fgt_choose(s->fgt, f->dim, f->kernel.h, s->sum_tol, extent, nq, (PetscReal)ns, plan, &flops);
  if (s->method == DS_SUM_FGT) {
    PetscCheck(plan->nodes, f->comm, PETSC_ERR_SUP, "-drift_sum fgt: no box side gives -drift_sum_tol %g with at most %d Chebyshev points per box edge at h = %g over a cloud %g across", (double)s->sum_tol, DS_FGT_MAX_NODES, (double)f->kernel.h, (double)extent[0]);
    *method = DS_SUM_FGT;
    PetscFunctionReturn(0);
  }
  /* auto: every pair (each computed once for both particles on the half ring when
     symmetric), cells (the pairs of the 3^d cells around each query), or the transform */
  const PetscReal radius = ds_kernel_cutoff_radius(&f->kernel, s->sum_tol);
  PetscReal       exact = nq * ns * (symmetric ? 0.5 : 1.0), cells = nq * ns, transform = flops * DS_FGT_PAIRS_PER_OPERATION;
  for (PetscInt c = 0; c < f->dim; c++) cells *= PetscMin(1.0, 3.0 * radius / PetscMax(extent[c], PETSC_SMALL));
  cells += ns;
  if (cutoff && cells < exact) *method = DS_SUM_CUTOFF, exact = cells;
  if (plan->nodes && transform < exact) *method = DS_SUM_FGT;
  PetscFunctionReturn(0);
}

/* The cutoff's bounds: each of the ns sources may be dropped, with k < eps and, beyond the
   cutoff radius r_c, |z - s| k <= max(r_c eps, the largest r k(r) at r >= r_c); moments
   of the gradient weight are those of k scaled by |g / k| = 1/h^2 (gaussian). */
static void cutoff_bounds(DSField f, DSFieldSources *s, DSWeight weight, DSSourceSet set, PetscInt nq, PetscReal *bound)
{
  PetscInt        ns;
  const PetscReal radius = ds_kernel_cutoff_radius(&f->kernel, s->sum_tol), h = f->kernel.h;
  const PetscReal reach  = radius >= h ? radius * s->sum_tol : h * ds_kernel_value(&f->kernel, h);
  const PetscReal scale  = weight == DS_WEIGHT_GRADIENT ? f->kernel.inv_h2 : 1.0;

  ds_ring_get_layout(s->ring[set], NULL, &ns);
  for (PetscInt i = 0; i < nq; i++) bound[i] = s->sum_tol * ns, bound[nq + i] = scale * reach * ns;
}

PetscErrorCode ds_field_sources_sum(DSField f, DSFieldSources *s, DSWeight weight, const DSBlock *query, DSSourceSet set, PetscBool exclude_self, PetscReal *travelling, DSKernelSums *sums, PetscReal *bound)
{
  SumsVisit       visit = {f, s, weight, query, sums, exclude_self, PETSC_FALSE};
  const DSBlock  *particles = &s->block[DS_SOURCES_PARTICLES];
  const PetscBool symmetric = s->symmetric && set == DS_SOURCES_PARTICLES && !travelling && query->start >= 0 && ds_kernel_symmetric_apply(&f->kernel, weight, query->dim, sums) ? PETSC_TRUE : PETSC_FALSE;
  DSSumMethod     method;
  DSFgtPlan       plan;
  PetscReal       lo[3], hi[3], *own_bound = NULL;

  PetscFunctionBeginUser;
  PetscCall(choose_method(f, s, weight, query, set, travelling, sums, symmetric, &method, &plan, lo, hi));
  if (s->method == DS_SUM_AUTO && !(s->said[set] & 1u << method)) {
    /* said the first time each method serves a set: field and Fisher evaluations may alternate */
    static const char *const set_names[DS_SOURCE_SETS] = {"particles", "target samples", "negative samples"};
    PetscCall(PetscPrintf(f->comm, "driftsim: -drift_sum auto: the sums over the %s by %s (first at h = %g, %" PetscInt_FMT " queries on rank 0; each evaluation's in sum_method)\n", set_names[set], DSSumMethods[method], (double)f->kernel.h, query->n));
    s->said[set] |= 1u << method;
  }
  s->last = method;
  s->fallbacks = 0;
  PetscCall(PetscArrayzero(sums->value, query->n));
  PetscCall(PetscArrayzero(sums->moment, query->dim * query->n));
  if (sums->companion) PetscCall(PetscArrayzero(sums->companion, query->n));
  if (method != DS_SUM_EXACT && !bound) {
    PetscCall(PetscMalloc1(2 * query->n + 1, &own_bound));
    bound = own_bound;
  }
  if (method == DS_SUM_FGT) {
    PetscCall(ds_fgt_sums(s->fgt, &plan, lo, hi, &f->kernel, weight, query, &s->block[set], s->replicated[set], exclude_self, sums, bound));
    PetscInt ns;
    PetscCall(ds_ring_get_layout(s->ring[set], NULL, &ns));
    f->pairs += (PetscLogDouble)query->n * ns; /* the contributions the transform stands for */
  } else if (symmetric && method == DS_SUM_EXACT) {
    const PetscInt n = particles->n, nvalues = sums->moment ? 1 + query->dim : 1;
    PetscCheck(query->start == particles->start && query->n == n, PETSC_COMM_SELF, PETSC_ERR_PLIB, "symmetric sums: the queries are not this rank's particles");
    PetscCall(PetscArrayzero(s->partner, nvalues * n));
    visit.query = particles;
    PetscCall(ds_ring_pass_symmetric(s->ring[DS_SOURCES_PARTICLES], particles, visit_pairs, &visit, nvalues, s->partner));
    for (PetscInt i = 0; i < n; i++) sums->value[i] += s->partner[i];
    for (PetscInt c = 0; c < nvalues - 1; c++)
      for (PetscInt i = 0; i < n; i++) sums->moment[c * sums->ld + i] += s->partner[(1 + c) * n + i];
  } else {
    visit.cutoff = method == DS_SUM_CUTOFF ? PETSC_TRUE : PETSC_FALSE;
    PetscCall(ds_field_sources_pass(s, set, visit_sums, &visit, 1, travelling));
    if (visit.cutoff) cutoff_bounds(f, s, weight, set, query->n, bound);
  }
  if (method != DS_SUM_EXACT) {
    PetscLogDouble pairs;
    PetscCall(ds_sums_recompute_uncertified(f->comm, s->ring[set], &s->block[set], &f->kernel, weight, query, exclude_self, ds_sums_certify(s->sum_tol), sums, bound, &s->fallbacks, &pairs));
    f->pairs += pairs;
  }
  else if (bound) PetscCall(PetscArrayzero(bound, 2 * query->n));
  PetscCall(PetscFree(own_bound));
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
  PetscCall(ds_fgt_destroy(&s->fgt));
  PetscCall(PetscFree(s->partner));
  PetscCall(PetscFree(*sources));
  PetscFunctionReturn(0);
}
