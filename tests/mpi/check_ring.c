/* Ring engine: every block visits every rank exactly once with its own contents,
   travelling accumulators come home with the sum of every rank's contributions, the
   caller's own messages on its communicator are never confused with the ring's, and the
   symmetric (half-ring) pass computes every pair of points exactly once. */
#include "ds_test.h"
#include "ds_ring.h"

typedef struct {
  int    *visits;     /* [global count] times each point was seen */
  int     contents_ok;
  double  rank_weight;
} RingProbe;

static double coordinate_of(PetscInt global, PetscInt c) { return 1000.0 * global + c; }

static PetscErrorCode probe_visit(void *ctx, const DSBlock *b, PetscReal *acc)
{
  RingProbe *p = (RingProbe *)ctx;
  for (PetscInt j = 0; j < b->n; j++) {
    p->visits[b->start + j]++;
    for (PetscInt c = 0; c < b->dim; c++) p->contents_ok &= b->x[c * b->ld + j] == coordinate_of(b->start + j, c);
    if (acc)
      for (PetscInt a = 0; a < 2; a++) acc[a * b->n + j] += (a + 1) * p->rank_weight;
  }
  return 0;
}

/* The tags the ring once used on the caller's communicator. */
enum { OLD_TAG_COORDINATES = 7101, OLD_TAG_TRAVELLING = 7102, USER_MESSAGES = 2 };

/* The caller's own traffic around a ring pass: before it, each rank sends to its right
   neighbour on PETSC_COMM_WORLD with the tags the ring once used (a ring on the caller's
   communicator would take these messages for its blocks); after it, each rank receives
   from its left neighbour, and the caller's messages must arrive intact. */
typedef struct {
  double      sent[USER_MESSAGES], received[USER_MESSAGES][64];
  MPI_Request requests[2 * USER_MESSAGES];
} UserTraffic;

static double user_payload(PetscMPIInt from, int message) { return -1.0 - 10.0 * from - message; }

static const int user_tags[USER_MESSAGES] = {OLD_TAG_COORDINATES, OLD_TAG_TRAVELLING};

static void user_traffic_send(UserTraffic *u, PetscMPIInt rank, PetscMPIInt size)
{
  for (int m = 0; m < USER_MESSAGES; m++) {
    u->sent[m] = user_payload(rank, m);
    (void)MPI_Isend(&u->sent[m], 1, MPI_DOUBLE, (rank + 1) % size, user_tags[m], PETSC_COMM_WORLD, &u->requests[USER_MESSAGES + m]);
  }
}

static int user_traffic_intact(UserTraffic *u, PetscMPIInt rank, PetscMPIInt size)
{
  MPI_Status statuses[2 * USER_MESSAGES];
  int        ok = 1;

  for (int m = 0; m < USER_MESSAGES; m++) (void)MPI_Irecv(u->received[m], 64, MPI_DOUBLE, (rank + size - 1) % size, user_tags[m], PETSC_COMM_WORLD, &u->requests[m]);
  (void)MPI_Waitall(2 * USER_MESSAGES, u->requests, statuses);
  for (int m = 0; m < USER_MESSAGES; m++) {
    int count;
    MPI_Get_count(&statuses[m], MPI_DOUBLE, &count);
    ok &= count == 1 && u->received[m][0] == user_payload((rank + size - 1) % size, m);
  }
  return ok;
}

/* A layout with uneven counts, some ranks empty: rank r holds pattern[r % 5] (at most 5)
   points, point g with coordinates coordinate_of(g, c), on a ring of dimension dim carrying
   up to nvalues travelling values. Returns the ring, this rank's block, its coordinates x
   (allocated: the caller frees them) and the global count. */
static void uneven_layout(PetscInt dim, PetscInt nvalues, DSRing *ring, DSBlock *block, PetscReal **coordinates, PetscInt *total)
{
  static const PetscInt pattern[] = {5, 0, 3, 1, 4};
  PetscMPIInt           rank;
  PetscInt              start;
  PetscReal            *x;

  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  const PetscInt n = pattern[rank % 5];
  DS_ASSERT_PETSC(ds_ring_create(PETSC_COMM_WORLD, dim, n, nvalues, ring));
  DS_ASSERT_PETSC(ds_ring_get_layout(*ring, &start, total));
  PetscMalloc1(dim * PetscMax(n, 1), &x);
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt c = 0; c < dim; c++) x[c * n + i] = coordinate_of(start + i, c);
  *block       = (DSBlock){n, dim, n, start, x, NULL};
  *coordinates = x;
}

/* Every block visits every rank once, over the uneven layout. With user_traffic, the
   caller's messages are in flight during the pass. */
static void run_ring(PetscInt naccumulators, PetscBool user_traffic)
{
  UserTraffic traffic;
  PetscMPIInt rank, size;
  PetscInt    total;
  DSRing      ring;
  DSBlock     block;
  PetscReal  *x, home[2 * 5];

  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  uneven_layout(3, naccumulators, &ring, &block, &x, &total);
  const PetscInt n = block.n;
  RingProbe      probe = {NULL, 1, rank + 1.0};
  PetscCalloc1(total, &probe.visits);
  for (PetscInt i = 0; i < 2 * n; i++) home[i] = 0;
  if (user_traffic) user_traffic_send(&traffic, rank, size);
  DS_ASSERT_PETSC(ds_ring_pass(ring, &block, probe_visit, &probe, naccumulators, naccumulators ? home : NULL));
  if (user_traffic) DS_ASSERT_ALL(user_traffic_intact(&traffic, rank, size), "the caller's messages to rank %d were disturbed by the ring", rank);

  int once = 1;
  for (PetscInt g = 0; g < total; g++) once &= probe.visits[g] == 1;
  DS_ASSERT_ALL(once, "a point did not visit rank %d exactly once", rank);
  DS_ASSERT_ALL(probe.contents_ok, "a visiting block's coordinates were wrong on rank %d", rank);
  if (naccumulators) {
    int home_ok = 1;
    for (PetscInt i = 0; i < n; i++)
      for (PetscInt a = 0; a < 2; a++) home_ok &= home[a * n + i] == (a + 1) * size * (size + 1) / 2.0;
    DS_ASSERT_ALL(home_ok, "accumulators that came home to rank %d miss contributions", rank);
  }
  PetscFree(probe.visits);
  PetscFree(x);
  DS_ASSERT_PETSC(ds_ring_destroy(&ring));
}

/* A symmetric pass's visits: each computed pair (i, j) counted in pairs[i][j] (i the home
   point), and the pairs of each visiting point added to its travelling value. */
typedef struct {
  const DSBlock *home;
  PetscInt       total;
  int           *pairs; /* [total][total] */
  int            contents_ok;
} PairProbe;

static PetscErrorCode probe_pairs(void *ctx, const DSBlock *b, PetscReal *travelling, const DSRingPairs *pairs)
{
  PairProbe *p = (PairProbe *)ctx;
  for (PetscInt j = 0; j < b->n; j++)
    for (PetscInt c = 0; c < b->dim; c++) p->contents_ok &= b->x[c * b->ld + j] == coordinate_of(b->start + j, c);
  p->contents_ok &= pairs->diagonal == (b->start == p->home->start && b->n == p->home->n);
  for (PetscInt i = pairs->home[0]; i < pairs->home[1]; i++)
    for (PetscInt j = pairs->visiting[0]; j < pairs->visiting[1]; j++) {
      if (pairs->diagonal && j < i) continue;
      p->pairs[(p->home->start + i) * p->total + b->start + j]++;
      if (travelling && !(pairs->diagonal && i == j)) travelling[j] += 1;
    }
  return 0;
}

/* The symmetric pass over the uneven layout: every unordered pair of points,
   self pairs included, computed exactly once on some rank (the counts summed over the
   ranks), and each point's pairs counted at home plus those that travelled home with it
   make all N of them. */
START_TEST(symmetric_pass_visits_each_pair_once)
{
  PetscMPIInt rank;
  PetscInt    total;
  DSRing      ring;
  DSBlock     block;
  PetscReal  *x, travelling[5] = {0};

  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  uneven_layout(2, 1, &ring, &block, &x, &total);
  const PetscInt n = block.n, start = block.start;
  PairProbe      probe = {&block, total, NULL, 1};
  PetscCalloc1(total * total, &probe.pairs);
  DS_ASSERT_PETSC(ds_ring_pass_symmetric(ring, &block, probe_pairs, &probe, 1, travelling));
  MPI_Allreduce(MPI_IN_PLACE, probe.pairs, (int)(total * total), MPI_INT, MPI_SUM, PETSC_COMM_WORLD);
  int once = 1, came_home = 1;
  for (PetscInt i = 0; i < total; i++)
    for (PetscInt j = i; j < total; j++) once &= probe.pairs[i * total + j] + (i == j ? 0 : probe.pairs[j * total + i]) == 1;
  for (PetscInt i = 0; i < n; i++) { /* the pairs with point start + i on the visiting side, its self pair aside */
    int visiting = -probe.pairs[(start + i) * total + start + i];
    for (PetscInt g = 0; g < total; g++) visiting += probe.pairs[g * total + start + i];
    came_home &= travelling[i] == visiting;
  }
  DS_ASSERT_ALL(once, "a pair was not computed exactly once (rank %d)", rank);
  DS_ASSERT_ALL(came_home, "the travelling values that came home to rank %d miss pairs or carry others", rank);
  DS_ASSERT_ALL(probe.contents_ok, "a visiting block's coordinates or diagonal flag were wrong on rank %d", rank);
  PetscFree(probe.pairs);
  PetscFree(x);
  DS_ASSERT_PETSC(ds_ring_destroy(&ring));
}
END_TEST

START_TEST(every_block_visits_every_rank) { run_ring(0, PETSC_FALSE); }
END_TEST

START_TEST(accumulators_travel_home) { run_ring(2, PETSC_FALSE); }
END_TEST

START_TEST(caller_messages_untouched) { run_ring(2, PETSC_TRUE); }
END_TEST

Suite *ds_suite_ring(void)
{
  Suite *s  = suite_create("ring");
  TCase *tc = tcase_create("ring");
  tcase_add_test(tc, every_block_visits_every_rank);
  tcase_add_test(tc, accumulators_travel_home);
  tcase_add_test(tc, caller_messages_untouched);
  tcase_add_test(tc, symmetric_pass_visits_each_pair_once);
  suite_add_tcase(s, tc);
  return s;
}
