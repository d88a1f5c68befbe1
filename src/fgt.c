/* The fast Gauss transform (ds_fgt.h; the bound's derivation in doc/performance.md "The
   fast Gauss transform's bound"; the distribution in doc/design.md "Fast sums").
   Distribution: moments are exchanged, not points. Every rank anterpolates its own sources
   onto the nodes of their boxes, one MPI_Allreduce sums the node weights of the union of the
   ranks' source boxes, each rank translates them to its share of the union of the query
   boxes, and one MPI_Allgatherv gives every rank every query box's expansions, which it
   interpolates at its own queries. */
#include <math.h>
#include "ds_fgt.h"
#include "ds_log.h"

/* The box sides ds_fgt_choose tries, in units of h. */
static const PetscReal ladder[] = {0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0, 5.6, 8.0, 11.3, 16.0};
#define LADDER ((int)(sizeof(ladder) / sizeof(ladder[0])))

struct DSFgt_ {
  MPI_Comm    comm;
  PetscMPIInt size, rank;
  /* The ladder's plans at h = 1 for one dimension and tolerance (a plan scales with h: box,
     cut radius and the moments' errors by h, the second moment's by h^2). */
  PetscInt  unit_dim;
  PetscReal unit_eps;
  DSFgtPlan unit[LADDER];
};

/* Box coordinates are packed into a 64-bit key, 21 bits per coordinate. */
#define KEY_BITS 21
#define KEY_LIMIT (1 << KEY_BITS)

/* The factors along one coordinate: f_m(t) = t^m phi(t), m = 0 (phi: the value), 1 (psi:
   the moments), 2 (the second moment). max |f_m(t)| over |t| >= gap: at t = sqrt(m) h, or
   at the gap beyond it. */
#define POWERS 3
static double peak(int m, double h, double gap)
{
  const double t = PetscMax(gap, sqrt((double)m) * h);
  return pow(t, m) * exp(-0.5 * t * t / (h * h));
}

/* The bound 4 M rho^-n / (rho - 1) on |f - I_n f| (Trefethen, ATAP thm 8.2) for the
   degree-n interpolant in Chebyshev points on an interval of half-width `half` of f_m of
   t = z - s, s fixed, |Re t| >= gap (the boxes' gap along the coordinate), minimised over
   the Bernstein ellipse's rho: on E_rho, |Im t| <= b = half (rho - 1/rho) / 2, and with
   |a + ib|^m <= (|a| + b)^m = sum_j C(m, j) |a|^j b^(m-j),
   |f_m| <= exp(b^2 / 2h^2) sum_j C(m, j) peak_j(gap) b^(m-j). */
static double interpolation_error(PetscInt n, double half, double h, double gap, int m)
{
  static const double binomial[POWERS][POWERS] = {{1, 0, 0}, {1, 1, 0}, {1, 2, 1}};
  double              best = INFINITY;

  /* any rho > 1 bounds the error: rho - 1 from 1e-3 to 1e4 in 240 steps of 7% */
  for (int i = 0; i <= 240; i++) {
    const double rho = 1.0 + pow(10.0, -3.0 + 7.0 * i / 240.0);
    const double b   = 0.5 * half * (rho - 1.0 / rho);
    double       sum = 0;
    for (int j = 0; j <= m; j++) sum += binomial[m][j] * peak(j, h, gap) * pow(b, m - j);
    best = PetscMin(best, log(4.0) + b * b / (2.0 * h * h) + log(sum) - (double)n * log(rho) - log(rho - 1.0));
  }
  return exp(best);
}

/* The factors' bounds along one coordinate for boxes `gap` apart: the largest |f_m| over
   real t with |t| >= gap, and their interpolation errors in z and in s,
   |f - I_z I_s f| <= (1 + Lambda_n) E (Lambda_n <= 2/pi ln(n + 1) + 1, ATAP thm 15.2). */
typedef struct {
  double peak[POWERS], error[POWERS];
} FactorBound;

static FactorBound factor_bound(PetscInt nodes, double box, double h, double gap)
{
  const PetscInt n        = nodes - 1;
  const double   lebesgue = 2.0 / PETSC_PI * log(n + 1.0) + 1.0;
  FactorBound    f;
  for (int m = 0; m < POWERS; m++) f.peak[m] = peak(m, h, gap), f.error[m] = (1.0 + lebesgue) * interpolation_error(n, 0.5 * box, h, gap, m);
  return f;
}

/* A product of d factors |f_c| <= m_c, each off by at most e_c, is off by at most
   prod (m_c + e_c) - prod m_c: here f_m on `axis` and phi on the others (axis -1: phi on
   all); *size = prod m_c, the largest the product is. */
static double product_bound(PetscInt d, const FactorBound *f[], PetscInt axis, int m, double *size)
{
  double with = 1, without = 1;
  for (PetscInt c = 0; c < d; c++) {
    const int k = c == axis ? m : 0;
    with *= f[c]->peak[k] + f[c]->error[k], without *= f[c]->peak[k];
  }
  *size = without;
  return with - without;
}

/* A pair's bounds: the value's (phi on every axis), the largest moment component's (psi on
   one axis) and the second moment's (the sum over the axes of t^2 phi on one axis); and the
   largest each term can be (`sizes`, for the rounding allowance). */
static void pair_bounds(PetscInt d, const FactorBound *f[], double bounds[3], double sizes[3])
{
  double size;
  bounds[0] = product_bound(d, f, -1, 0, &sizes[0]);
  bounds[1] = bounds[2] = sizes[1] = sizes[2] = 0;
  for (PetscInt c = 0; c < d; c++) {
    bounds[1] = PetscMax(bounds[1], product_bound(d, f, c, 1, &size));
    sizes[1]  = PetscMax(sizes[1], size);
    bounds[2] += product_bound(d, f, c, 2, &size);
    sizes[2] += size;
  }
}

void ds_fgt_plan(PetscInt dim, PetscReal h, PetscReal eps, PetscReal box_over_h, DSFgtPlan *plan)
{
  double cut = PetscMin(eps, 0.25);

  /* phi(r) = cut at r = h sqrt(2 ln(1/cut)) >= sqrt(2) h, beyond which r phi(r) and
     r^2 phi(r) decrease: below eps h and eps h^2 there. */
  while (PetscMax(sqrt(2.0 * log(1.0 / cut)), 2.0 * log(1.0 / cut)) * cut > eps) cut *= 0.5;
  *plan = (DSFgtPlan){.dim = dim, .h = h, .box = box_over_h * h, .nodes = 0, .cut_radius = h * sqrt(2.0 * log(1.0 / cut)), .cut_value = cut, .error_value = INFINITY, .error_moment = INFINITY, .error_second = INFINITY};
  for (PetscInt p = 2; p <= DS_FGT_MAX_NODES; p++) {
    const FactorBound  adjacent = factor_bound(p, plan->box, h, 0.0);
    const FactorBound *f[3]     = {&adjacent, &adjacent, &adjacent};
    double             e[3], sizes[3];
    pair_bounds(dim, f, e, sizes);
    if (e[0] <= eps && e[1] <= eps * h && e[2] <= eps * h * h) {
      plan->nodes        = p;
      plan->error_value  = e[0];
      plan->error_moment = e[1];
      plan->error_second = e[2];
      break;
    }
  }
}

static PetscInt power(PetscInt base, PetscInt exponent)
{
  PetscInt r = 1;
  for (PetscInt k = 0; k < exponent; k++) r *= base;
  return r;
}

/* Translations along one coordinate per box pair: 2 (phi, psi) in 1-D, 5 in 2-D, 9 in 3-D
   (m2l_pair's tree: stage k makes k + 2 arrays). */
static PetscInt translations(PetscInt dim) { return (dim + 1) * (dim + 2) / 2 - 1; }

void ds_fgt_choose(DSFgt fgt, PetscInt dim, PetscReal h, PetscReal eps, const PetscReal extent[], PetscReal nq, PetscReal ns, DSFgtPlan *plan, PetscReal *flops)
{
  if (fgt->unit_dim != dim || fgt->unit_eps != eps) {
    for (int k = 0; k < LADDER; k++) ds_fgt_plan(dim, 1.0, eps, ladder[k], &fgt->unit[k]);
    fgt->unit_dim = dim, fgt->unit_eps = eps;
  }
  *flops      = INFINITY;
  plan->nodes = 0;
  for (int k = 0; k < LADDER; k++) {
    DSFgtPlan candidate = fgt->unit[k];
    PetscReal boxes = 1, reach = 1;
    PetscBool fits  = PETSC_TRUE;

    if (!candidate.nodes) continue;
    candidate.h = h, candidate.box *= h, candidate.cut_radius *= h, candidate.error_moment *= h, candidate.error_second *= h * h;
    for (PetscInt c = 0; c < dim; c++) {
      const PetscReal along = floor(extent[c] / candidate.box) + 1;
      fits               = fits && along < KEY_LIMIT ? PETSC_TRUE : PETSC_FALSE;
      boxes *= along;
      reach *= PetscMin(along, 2 * ceil(candidate.cut_radius / candidate.box) + 1);
    }
    if (!fits) continue;
    const PetscReal p = candidate.nodes, pd = pow(p, (double)dim);
    /* anterpolation, interpolation (value and d moments), translations */
    const PetscReal cost = ns * pd + nq * (dim + 1) * pd + PetscMin(boxes, nq) * PetscMin(reach, PetscMin(boxes, ns)) * translations(dim) * pd * p;
    if (cost < *flops) *flops = cost, *plan = candidate;
  }
}

PetscErrorCode ds_fgt_create(MPI_Comm comm, DSFgt *fgt)
{
  PetscFunctionBeginUser;
  PetscCall(PetscNew(fgt));
  (*fgt)->comm     = comm;
  (*fgt)->unit_dim = -1;
  PetscCallMPI(MPI_Comm_size(comm, &(*fgt)->size));
  PetscCallMPI(MPI_Comm_rank(comm, &(*fgt)->rank));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_fgt_destroy(DSFgt *fgt)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(*fgt));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_fgt_bounding_box(DSFgt fgt, const DSBlock *q, const DSBlock *s, PetscReal lo[], PetscReal hi[])
{
  const PetscInt d = q->dim;
  PetscReal      box[6];

  PetscFunctionBeginUser;
  PetscCheck(d >= 1 && d <= 3, PETSC_COMM_SELF, PETSC_ERR_SUP, "the fast Gauss transform is for dimensions 1 to 3, not %" PetscInt_FMT, d);
  for (PetscInt c = 0; c < d; c++) {
    box[c] = PETSC_MAX_REAL, box[d + c] = PETSC_MAX_REAL; /* min x, min -x */
    for (PetscInt i = 0; i < q->n; i++) box[c] = PetscMin(box[c], q->x[c * q->ld + i]), box[d + c] = PetscMin(box[d + c], -q->x[c * q->ld + i]);
    for (PetscInt j = 0; j < s->n; j++) box[c] = PetscMin(box[c], s->x[c * s->ld + j]), box[d + c] = PetscMin(box[d + c], -s->x[c * s->ld + j]);
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, box, (PetscMPIInt)(2 * d), MPIU_REAL, MPI_MIN, fgt->comm));
  for (PetscInt c = 0; c < d; c++) {
    lo[c] = box[c], hi[c] = -box[d + c];
    if (!(lo[c] <= hi[c])) lo[c] = hi[c] = 0; /* no points at all */
  }
  PetscFunctionReturn(0);
}

/* The lattice of one transform: origin, box side, boxes per coordinate, nodes. */
typedef struct {
  PetscInt  d, p, pd;
  PetscReal lo[3], box;
  PetscInt  count[3];
  PetscReal node[DS_FGT_MAX_NODES], barycentric[DS_FGT_MAX_NODES];
} Lattice;

static void point_box(const Lattice *g, const DSBlock *b, PetscInt i, PetscInt cell[3])
{
  for (PetscInt c = 0; c < 3; c++) {
    const PetscReal u = c < g->d ? floor((b->x[c * b->ld + i] - g->lo[c]) / g->box) : 0;
    cell[c]           = (PetscInt)PetscMax(0, PetscMin(u, (PetscReal)(g->count[c] - 1)));
  }
}

static PetscInt64 box_key(const PetscInt cell[3]) { return (PetscInt64)cell[0] | (PetscInt64)cell[1] << KEY_BITS | (PetscInt64)cell[2] << (2 * KEY_BITS); }

/* Index of key in the sorted keys[n], -1 when absent. */
static PetscInt find_key(PetscInt n, const PetscInt64 *keys, PetscInt64 key)
{
  PetscInt lo = 0, hi = n;
  while (lo < hi) {
    const PetscInt mid = lo + (hi - lo) / 2;
    if (keys[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && keys[lo] == key ? lo : -1;
}

/* Sorts and removes duplicates; returns the new count. */
static PetscErrorCode sort_unique(PetscInt *n, PetscInt64 *keys)
{
  PetscInt m = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscSortInt64(*n, keys));
  for (PetscInt i = 0; i < *n; i++)
    if (!m || keys[i] != keys[m - 1]) keys[m++] = keys[i];
  *n = m;
  PetscFunctionReturn(0);
}

/* The sorted distinct boxes of the points of b on every rank (of this rank only when
   `local`), in a new array. */
static PetscErrorCode union_of_boxes(DSFgt fgt, const Lattice *g, const DSBlock *b, PetscBool local, PetscInt *nkeys, PetscInt64 **keys)
{
  PetscInt     n = b->n, total = 0;
  PetscInt64  *mine, *all;
  PetscMPIInt *counts, *displs, count;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(PetscMax(n, 1), &mine));
  for (PetscInt i = 0; i < n; i++) {
    PetscInt cell[3];
    point_box(g, b, i, cell);
    mine[i] = box_key(cell);
  }
  PetscCall(sort_unique(&n, mine));
  if (local || fgt->size == 1) {
    *nkeys = n, *keys = mine;
    PetscFunctionReturn(0);
  }
  PetscCall(PetscMPIIntCast(n, &count));
  PetscCall(PetscMalloc2(fgt->size, &counts, fgt->size, &displs));
  PetscCallMPI(MPI_Allgather(&count, 1, MPI_INT, counts, 1, MPI_INT, fgt->comm));
  for (PetscMPIInt r = 0; r < fgt->size; r++) displs[r] = (PetscMPIInt)total, total += counts[r];
  PetscCall(PetscMalloc1(PetscMax(total, 1), &all));
  PetscCallMPI(MPI_Allgatherv(mine, count, MPI_INT64_T, all, counts, displs, MPI_INT64_T, fgt->comm));
  PetscCall(sort_unique(&total, all));
  PetscCall(PetscFree(mine));
  PetscCall(PetscFree2(counts, displs));
  *nkeys = total, *keys = all;
  PetscFunctionReturn(0);
}

/* The p Lagrange polynomials of the box's Chebyshev points at coordinate c of point x
   (barycentric formula of the second kind); l[0] = 1 for an absent coordinate. */
static void lagrange(const Lattice *g, const PetscInt cell[3], PetscInt c, PetscReal x, PetscReal *l)
{
  if (c >= g->d) {
    l[0] = 1;
    return;
  }
  const PetscReal u   = (x - (g->lo[c] + (cell[c] + 0.5) * g->box)) / (0.5 * g->box);
  PetscReal       sum = 0;
  for (PetscInt a = 0; a < g->p; a++)
    if (u == g->node[a]) {
      for (PetscInt b = 0; b < g->p; b++) l[b] = a == b;
      return;
    }
  for (PetscInt a = 0; a < g->p; a++) sum += l[a] = g->barycentric[a] / (u - g->node[a]);
  for (PetscInt a = 0; a < g->p; a++) l[a] /= sum;
}

/* Y (+)= M X along `axis` for arrays of p^d node values (index a_0 + p a_1 + p^2 a_2);
   Mt is M's transpose (axis 0 runs over it, so that every inner loop is contiguous). */
static void contract_axis(const Lattice *g, PetscInt axis, const PetscReal *M, const PetscReal *Mt, const PetscReal *X, PetscReal *Y, PetscBool add)
{
  const PetscInt p = g->p, stride = power(p, axis), outer = g->pd / (stride * p);

  if (!add) PetscArrayzero(Y, g->pd);
  if (axis == 0) {
    for (PetscInt o = 0; o < outer; o++)
      for (PetscInt b = 0; b < p; b++) {
        const PetscReal x = X[o * p + b], *row = Mt + b * p;
        PetscReal      *y = Y + o * p;
        for (PetscInt a = 0; a < p; a++) y[a] += row[a] * x;
      }
    return;
  }
  for (PetscInt o = 0; o < outer; o++)
    for (PetscInt a = 0; a < p; a++) {
      PetscReal *y = Y + o * stride * p + a * stride;
      for (PetscInt b = 0; b < p; b++) {
        const PetscReal  m = M[a * p + b], *x = X + o * stride * p + b * stride;
        for (PetscInt i = 0; i < stride; i++) y[i] += m * x[i];
      }
    }
}

/* The translation of one source box's node weights W to a query box's expansions
   local[0] (value: phi along every axis), local[1 + c] (moment c: psi along axis c) and,
   when `second`, local[d + 1] (the second moment: sum over c of t^2 phi along axis c), with
   the tables' matrices for the pair's offset along each axis (table[m][c] for f_m, and its
   transpose tablet[m][c]). Stage k contracts axis k of the arrays of stage k - 1: array 0
   by phi (still all phi) and by psi (psi at axis k), the moments by phi, and the second
   moment by phi plus array 0 by t^2 phi; the last stage adds into local. work holds
   2 (d + 2) arrays. */
static void m2l_pair(const Lattice *g, const PetscReal *const table[POWERS][3], const PetscReal *const tablet[POWERS][3], PetscBool second, const PetscReal *W, PetscReal *local, PetscReal *work)
{
  const PetscInt   d = g->d, pd = g->pd, S = (d + 1) * pd;
  PetscReal       *from = work, *to = work + (d + 2) * pd;
  const PetscReal *in = W;

  for (PetscInt k = 0; k < d; k++) {
    const PetscBool last = k == d - 1 ? PETSC_TRUE : PETSC_FALSE;
    PetscReal      *out  = last ? local : to;
    const PetscReal *all_phi = k ? from : in;
    /* arrays of stage k - 1: 0 (all phi) and t = 1..k (psi at axis t - 1) */
    for (PetscInt t = 0; t <= k; t++) contract_axis(g, k, table[0][k], tablet[0][k], k ? from + t * pd : in, out + t * pd, last);
    contract_axis(g, k, table[1][k], tablet[1][k], all_phi, out + (k + 1) * pd, last);
    if (second) {
      if (k) contract_axis(g, k, table[0][k], tablet[0][k], from + S, out + S, last);
      contract_axis(g, k, table[2][k], tablet[2][k], all_phi, out + S, last || k ? PETSC_TRUE : PETSC_FALSE);
    }
    PetscReal *swap = from;
    from = to, to = swap;
  }
}

/* value of sum_a prod_c l_c[a_c] E[a] over the p^d nodes. */
static PetscReal interpolate(const Lattice *g, const PetscReal l[3][DS_FGT_MAX_NODES], const PetscReal *E)
{
  const PetscInt p1 = g->d > 1 ? g->p : 1, p2 = g->d > 2 ? g->p : 1;
  PetscReal      s  = 0;
  for (PetscInt a2 = 0; a2 < p2; a2++)
    for (PetscInt a1 = 0; a1 < p1; a1++) {
      const PetscReal *e = E + (a2 * p1 + a1) * g->p;
      PetscReal        r = 0;
      for (PetscInt a0 = 0; a0 < g->p; a0++) r += l[0][a0] * e[a0];
      s += l[1][a1] * l[2][a2] * r;
    }
  return s;
}

PetscErrorCode ds_fgt_sums(DSFgt fgt, const DSFgtPlan *plan, const PetscReal lo[], const PetscReal hi[], const DSKernel *kernel, DSWeight weight, const DSBlock *query, const DSBlock *source, PetscBool replicated, PetscBool exclude_self, DSKernelSums *sums, PetscReal *bound)
{
  Lattice      g = {.d = plan->dim, .p = plan->nodes, .box = plan->box};
  PetscInt     nsb, nqb, range[3] = {0, 0, 0};
  PetscInt64  *skeys, *qkeys;
  PetscReal   *W, *tables, *E, *work, ns = replicated ? source->n : 0;
  const PetscInt d = g.d;

  PetscFunctionBeginUser;
  PetscCheck(kernel->type == DS_KERNEL_GAUSSIAN && !source->weight && !sums->companion, PETSC_COMM_SELF, PETSC_ERR_SUP, "the fast Gauss transform sums unweighted gaussian values and moments only");
  PetscCheck(plan->nodes >= 2 && d == query->dim && d == source->dim, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "the fast Gauss transform's plan does not fit these blocks");
  g.pd = power(g.p, d);
  for (PetscInt c = 0; c < 3; c++) {
    g.lo[c]    = c < d ? lo[c] : 0;
    g.count[c] = c < d ? (PetscInt)(floor((hi[c] - lo[c]) / g.box) + 1) : 1;
    PetscCheck(g.count[c] >= 1 && g.count[c] < KEY_LIMIT, PETSC_COMM_SELF, PETSC_ERR_SUP, "the fast Gauss transform's boxes: %g across coordinate %d in boxes of %g is over 2^21 boxes", (double)(hi[c] - lo[c]), (int)c, (double)g.box);
    if (c < d) range[c] = PetscMin(g.count[c] - 1, (PetscInt)ceil(plan->cut_radius / g.box) + 1);
  }
  for (PetscInt a = 0; a < g.p; a++) {
    g.node[a]        = cos(PETSC_PI * a / (g.p - 1));
    g.barycentric[a] = (a % 2 ? -1.0 : 1.0) * (a == 0 || a == g.p - 1 ? 0.5 : 1.0);
  }

  /* Anterpolation: each source box's node weights, and its point count in slot pd. */
  PetscCall(union_of_boxes(fgt, &g, source, replicated, &nsb, &skeys));
  PetscCheck((double)nsb * (g.pd + 1) < PETSC_MPI_INT_MAX, PETSC_COMM_SELF, PETSC_ERR_SUP, "the fast Gauss transform: %" PetscInt_FMT " source boxes of %" PetscInt_FMT " nodes are too many for one message", nsb, g.pd);
  PetscCall(PetscCalloc1(nsb * (g.pd + 1), &W));
  for (PetscInt j = 0; j < source->n; j++) {
    PetscInt  cell[3];
    PetscReal l[3][DS_FGT_MAX_NODES];
    point_box(&g, source, j, cell);
    PetscReal *w = W + find_key(nsb, skeys, box_key(cell)) * (g.pd + 1);
    for (PetscInt c = 0; c < 3; c++) lagrange(&g, cell, c, c < d ? source->x[c * source->ld + j] : 0, l[c]);
    const PetscInt p1 = d > 1 ? g.p : 1, p2 = d > 2 ? g.p : 1;
    for (PetscInt a2 = 0; a2 < p2; a2++)
      for (PetscInt a1 = 0; a1 < p1; a1++) {
        const PetscReal f  = l[1][a1] * l[2][a2];
        PetscReal      *wr = w + (a2 * p1 + a1) * g.p;
        for (PetscInt a0 = 0; a0 < g.p; a0++) wr[a0] += f * l[0][a0];
      }
    w[g.pd] += 1;
  }
  if (!replicated) {
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, W, (PetscMPIInt)(nsb * (g.pd + 1)), MPIU_REAL, MPI_SUM, fgt->comm));
    PetscReal n = source->n;
    PetscCallMPI(MPI_Allreduce(&n, &ns, 1, MPIU_REAL, MPI_SUM, fgt->comm));
  }

  /* Translation tables: per power m and coordinate offset delta in [-R, R], f_m at
     t = x_a - y_b = delta L + (L/2)(u_a - u_b) (at [m][delta][a][b]), and the transposes
     (after all of those). */
  const PetscInt R = PetscMax(range[0], PetscMax(range[1], range[2])), pp = g.p * g.p, ntab = 2 * R + 1, transposes = POWERS * ntab * pp;
  PetscCall(PetscMalloc1(2 * transposes, &tables));
  for (int m = 0; m < POWERS; m++)
    for (PetscInt delta = -R; delta <= R; delta++)
      for (PetscInt a = 0; a < g.p; a++)
        for (PetscInt b = 0; b < g.p; b++) {
          const PetscReal t = delta * g.box + 0.5 * g.box * (g.node[a] - g.node[b]), f = pow(t, m) * exp(-0.5 * t * t * kernel->inv_h2);
          const PetscInt  at = (m * ntab + delta + R) * pp;
          tables[at + a * g.p + b]              = f;
          tables[transposes + at + b * g.p + a] = f;
        }

  /* The pair bounds' factors per coordinate offset (ds_fgt_plan's, with the boxes' gap),
     and an allowance for rounding: each pair's share of the anterpolated, translated and
     interpolated sums passes through 2d Lagrange weights of sum |l| <= Lambda each, so we
     allow 8 u Lambda^(2d) per pair times the largest its term is at the boxes' gap: an
     estimate, not a worst-case bound (doc/performance.md). */
  const PetscReal rounding = 8.0 * PETSC_MACHINE_EPSILON * pow(2.0 / PETSC_PI * log((double)g.p) + 1.0, 2.0 * d);
  FactorBound *factors;
  PetscCall(PetscMalloc1(ntab, &factors));
  for (PetscInt delta = -R; delta <= R; delta++) factors[delta + R] = factor_bound(g.p, g.box, plan->h, PetscMax(PetscAbsInt(delta) - 1, 0) * g.box);

  /* Translations into this rank's share of the query boxes: expansions [value | d moments |
     second moment, when asked], then the count of sources in range and the sums of their
     pairs' bounds (value, moment, second moment). */
  PetscCall(union_of_boxes(fgt, &g, query, PETSC_FALSE, &nqb, &qkeys));
  const PetscBool second = sums->second ? PETSC_TRUE : PETSC_FALSE;
  const PetscInt  at_count = (d + 1 + second) * g.pd, esize = at_count + 4, first = nqb * fgt->rank / fgt->size, last = nqb * (fgt->rank + 1) / fgt->size;
  PetscCheck((double)nqb * esize < PETSC_MPI_INT_MAX, PETSC_COMM_SELF, PETSC_ERR_SUP, "the fast Gauss transform: %" PetscInt_FMT " query boxes of %" PetscInt_FMT " nodes are too many for one message", nqb, g.pd);
  PetscCall(PetscCalloc1(nqb * esize, &E));
  PetscCall(PetscMalloc1(2 * (d + 2) * g.pd, &work));
  for (PetscInt t = first; t < last; t++) {
    PetscInt   cell[3], other[3], delta[3];
    PetscReal *e = E + t * esize;
    for (PetscInt c = 0; c < 3; c++) cell[c] = (PetscInt)((qkeys[t] >> (c * KEY_BITS)) & (KEY_LIMIT - 1));
    for (delta[2] = -range[2]; delta[2] <= range[2]; delta[2]++)
      for (delta[1] = -range[1]; delta[1] <= range[1]; delta[1]++)
        for (delta[0] = -range[0]; delta[0] <= range[0]; delta[0]++) {
          PetscReal gap2 = 0;
          PetscBool inside = PETSC_TRUE;
          for (PetscInt c = 0; c < 3; c++) {
            const PetscReal gap = PetscMax(PetscAbsInt(delta[c]) - 1, 0) * g.box;
            other[c]            = cell[c] - delta[c];
            inside              = inside && other[c] >= 0 && other[c] < g.count[c] ? PETSC_TRUE : PETSC_FALSE;
            gap2 += gap * gap;
          }
          if (!inside || gap2 >= plan->cut_radius * plan->cut_radius) continue;
          const PetscInt s = find_key(nsb, skeys, box_key(other));
          if (s < 0) continue;
          const PetscReal   *table[POWERS][3], *tablet[POWERS][3];
          const FactorBound *f[3];
          double             pair[3], sizes[3];
          for (int m = 0; m < POWERS; m++)
            for (PetscInt c = 0; c < d; c++) table[m][c] = tables + (m * ntab + delta[c] + R) * pp, tablet[m][c] = table[m][c] + transposes;
          for (PetscInt c = 0; c < d; c++) f[c] = &factors[delta[c] + R];
          pair_bounds(d, f, pair, sizes);
          m2l_pair(&g, table, tablet, second, W + s * (g.pd + 1), e, work);
          const PetscReal count = W[s * (g.pd + 1) + g.pd];
          e[at_count] += count;
          for (int m = 0; m < 3; m++) e[at_count + 1 + m] += count * (pair[m] + rounding * sizes[m]);
        }
  }
  if (fgt->size > 1) {
    PetscMPIInt *counts, *displs;
    PetscCall(PetscMalloc2(fgt->size, &counts, fgt->size, &displs));
    for (PetscMPIInt r = 0; r < fgt->size; r++) {
      const PetscInt rfirst = nqb * r / fgt->size, rlast = nqb * (r + 1) / fgt->size;
      counts[r] = (PetscMPIInt)((rlast - rfirst) * esize), displs[r] = (PetscMPIInt)(rfirst * esize);
    }
    PetscCallMPI(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, E, counts, displs, MPIU_REAL, fgt->comm));
    PetscCall(PetscFree2(counts, displs));
  }

  /* Interpolation at the queries. */
  const PetscReal moment_scale = weight == DS_WEIGHT_GRADIENT ? -kernel->inv_h2 : 1.0;
  for (PetscInt i = 0; i < query->n; i++) {
    PetscInt  cell[3];
    PetscReal l[3][DS_FGT_MAX_NODES];
    point_box(&g, query, i, cell);
    const PetscReal *e = E + find_key(nqb, qkeys, box_key(cell)) * esize;
    for (PetscInt c = 0; c < 3; c++) lagrange(&g, cell, c, c < d ? query->x[c * query->ld + i] : 0, l[c]);
    sums->value[i] = interpolate(&g, l, e) - (exclude_self ? 1.0 : 0.0);
    if (sums->moment)
      for (PetscInt c = 0; c < d; c++) sums->moment[c * sums->ld + i] = moment_scale * interpolate(&g, l, e + (1 + c) * g.pd);
    if (second) sums->second[i] = interpolate(&g, l, e + (d + 1) * g.pd);
    if (bound) {
      /* each source beyond the cut radius r_c: k <= cut, |z - s| k <= r_c cut, |z - s|^2 k <= r_c^2 cut */
      const PetscReal beyond = (ns - e[at_count]) * plan->cut_value, r = plan->cut_radius;
      bound[i]            = e[at_count + 1] + beyond;
      bound[query->n + i] = PetscAbsReal(moment_scale) * (e[at_count + 2] + r * beyond);
      if (second) bound[2 * query->n + i] = e[at_count + 3] + r * r * beyond;
    }
  }
  PetscCall(PetscFree(work));
  PetscCall(PetscFree(E));
  PetscCall(PetscFree(tables));
  PetscCall(PetscFree(factors));
  PetscCall(PetscFree(W));
  PetscCall(PetscFree(skeys));
  PetscCall(PetscFree(qkeys));
  PetscFunctionReturn(0);
}

/* The queries of a fallback: this rank's queries whose fast sums were not certified,
   packed as runs of consecutive global indices (so that the self pair is excluded by index
   as in ds_kernel_sums), their sums over every pair summed into value and moment. */
typedef struct {
  const DSKernel *kernel;
  DSWeight        weight;
  PetscInt        n, nruns;
  PetscInt       *run_first, *run_start; /* [nruns + 1] position in the pack, [nruns] global index */
  PetscReal      *x, *value, *moment, *second; /* [d][n], [n], [d][n], [n] */
  PetscBool       exclude_self;
  PetscLogDouble  pairs;
} FallbackVisit;

static PetscErrorCode visit_fallback(void *ctx, const DSBlock *visiting, PetscReal *travelling)
{
  FallbackVisit *v = (FallbackVisit *)ctx;

  PetscFunctionBeginUser;
  for (PetscInt r = 0; r < v->nruns; r++) {
    const PetscInt first = v->run_first[r], len = v->run_first[r + 1] - first;
    const DSBlock  query = {len, visiting->dim, v->n, v->run_start[r], v->x + first, NULL};
    DSKernelSums   sums  = {v->n, v->value + first, v->moment ? v->moment + first : NULL, NULL, v->second ? v->second + first : NULL};
    ds_kernel_sums(v->kernel, v->weight, &query, visiting, v->exclude_self, &sums);
  }
  v->pairs += (PetscLogDouble)v->n * visiting->n;
  PetscCall(PetscLogFlops((6.0 * visiting->dim + 2.0) * v->n * visiting->n));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_sums_recompute_uncertified(MPI_Comm comm, DSRing ring, const DSBlock *sources, const DSKernel *kernel, DSWeight weight, const DSBlock *query, PetscBool exclude_self, PetscReal certify, DSKernelSums *sums, PetscReal *bound, PetscInt *count, PetscLogDouble *pairs)
{
  const PetscInt d = query->dim, nq = query->n;
  FallbackVisit  v = {kernel, weight, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, exclude_self, 0};
  PetscInt      *which;
  PetscReal     *moments, *seconds;

  PetscFunctionBeginUser;
  *pairs = 0;
  PetscCall(PetscMalloc1(nq + 1, &which));
  for (PetscInt i = 0; i < nq; i++)
    if (!(sums->value[i] > 0 && bound[i] <= certify * sums->value[i])) which[v.n++] = i;
  PetscCallMPI(MPI_Allreduce(&v.n, count, 1, MPIU_INT, MPI_SUM, comm));
  if (!*count) {
    PetscCall(PetscFree(which));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscMalloc6(v.n + 1, &v.run_first, v.n + 1, &v.run_start, d * v.n + 1, &v.x, v.n + 1, &v.value, d * v.n + 1, &moments, v.n + 1, &seconds));
  v.moment = sums->moment ? moments : NULL;
  v.second = sums->second ? seconds : NULL;
  for (PetscInt k = 0; k < v.n; k++) {
    const PetscInt i = which[k];
    if (!k || !exclude_self || which[k - 1] != i - 1) v.run_first[v.nruns] = k, v.run_start[v.nruns++] = query->start + i;
    for (PetscInt c = 0; c < d; c++) v.x[c * v.n + k] = query->x[c * query->ld + i], moments[c * v.n + k] = 0;
    v.value[k] = seconds[k] = 0;
  }
  v.run_first[v.nruns] = v.n;
  PetscCall(ds_ring_pass(ring, sources, visit_fallback, &v, 0, NULL));
  for (PetscInt k = 0; k < v.n; k++) {
    const PetscInt i = which[k];
    sums->value[i]   = v.value[k];
    for (PetscInt c = 0; c < d && sums->moment; c++) sums->moment[c * sums->ld + i] = moments[c * v.n + k];
    if (sums->second) sums->second[i] = seconds[k], bound[2 * nq + i] = 0;
    bound[i] = bound[nq + i] = 0;
  }
  *pairs = v.pairs;
  PetscCall(PetscFree6(v.run_first, v.run_start, v.x, v.value, moments, seconds));
  PetscCall(PetscFree(which));
  PetscFunctionReturn(0);
}

