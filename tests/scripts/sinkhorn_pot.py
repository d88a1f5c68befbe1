"""The Sinkhorn field and sinkhorn_divergence of driftsim against POT (tests/scripts/test_sinkhorn_pot.sh).

  sinkhorn_pot.py write DIR       writes the point sets DIR/<case>.h5 (/particles, /samples)
  sinkhorn_pot.py check DIR RUN...  compares each run's output DIR/RUN.h5 with POT, RUN named
                                    <case>_<cost>_<eps>_<self>_<ranks>

The reference (SCIENCE.md, "Sinkhorn drift"; include/ds_sinkhorn.h): weights a_i = 1/N,
b_k = 1/M; cost |x - y|^2 / 2 (ot.dist(x, y) / 2) or |x - y| (ot.dist(x, y, 'euclidean'));
each plan pi from POT's log-domain Sinkhorn, ot.bregman.sinkhorn_log(a, b, C, reg=eps);
the field V(x_i) = G_self(x_i) - G_target(x_i), G the row-normalised plan's mean of
grad_x c(x_i, y) (x_i - y for the squared cost, so V = T_nu - T_mu with T the barycentric
projections; the unit vector (x_i - y) / |x_i - y|, 0 at y = x_i, for the euclidean one);
the self plan keeps the pair j = i, or gives it the cost +inf (-drift_self exclude);
the divergence S = OT(mu, nu) - OT(mu, mu) / 2 - OT(nu, nu) / 2, self pairs kept.

OT_eps is the dual value <a, f> + <b, g> of POT's scalings (f = eps (log u - log a),
g = eps (log v - log b)): POT's last update makes the rows exact, where the dual objective's
mass term vanishes, so its error is second order in the potentials' error, while the primal
<pi, C> + eps KL(pi | a x b) of the same plan is off by the (first order) column error
times g. The primal is computed too and must agree with the dual (a check of POT's
convergence, not of driftsim).

Plain Sinkhorn (POT's) converges slowly on a problem between a cloud and itself at small
eps: an isolated point's self pair dominates its row, and the antisymmetric shift
(f + h, g - h) of its potentials changes the plan little, so it decays at a rate near 1.
The symmetric problems are therefore solved in rounds: POT from the potentials f0 (its
cost C - f0_i, a shift that leaves the plan unchanged), then f0 = (f + g) / 2, which
removes that shift, until a round ends on POT's own stopping test. Only the last round's
plan and potentials are used: the round-trip is a warm start, and the plan is unique.
"""
import os
import re
import sys
import warnings

import h5py
import numpy as np
import ot

N, M = 61, 47
# name: (dimension, seed, samples are the particles)
CASES = {"d2": (2, 1402, False), "d3": (3, 1403, False), "same": (2, 1404, True)}
# Both solvers stop at a relative marginal error below 1e-12 (POT's test is the tighter), so
# the plans, and the field and OT values they give, differ by about 1e-12 of their scale,
# times the exponents' size (cost / eps, up to ~100 here) in rounding: 1e-8 leaves a margin
# of 1e4 and is far below what a wrong eps (1% moves the field by ~1e-3) or a wrong self
# pair (~1e-1) makes. The scale is the clouds' (1) for the field, the OT terms' magnitudes
# for the divergence (which is 0 for identical clouds).
TOLERANCE = 1e-8
RELATIVE_STOP = 1e-13  # POT's stopping test: |column sums - b|_2 / b_k, tighter than driftsim's 1e-12
ROUND, ROUNDS = 200, 500


def write(directory):
    for name, (dim, seed, same) in CASES.items():
        rng = np.random.default_rng(seed)
        particles = rng.normal(0.0, 1.0, (N, dim))
        samples = particles if same else rng.normal(0.5, 0.7, (M, dim))
        with h5py.File(os.path.join(directory, name + ".h5"), "w") as f:
            f["particles"] = particles
            f["samples"] = samples


def cost_matrix(x, y, cost):
    return ot.dist(x, y) / 2 if cost == "squared" else ot.dist(x, y, metric="euclidean")


def pot_solve(x, y, cost, eps, exclude_self=False):
    """POT's plan between the uniform clouds x and y and its dual value <a, f> + <b, g>."""
    a, b = np.full(len(x), 1.0 / len(x)), np.full(len(y), 1.0 / len(y))
    C = cost_matrix(x, y, cost)
    if exclude_self:
        np.fill_diagonal(C, np.inf)
    symmetric = x.shape == y.shape and np.array_equal(x, y)
    f0 = np.zeros(len(x))
    for _ in range(ROUNDS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a round that stops unconverged is not the last one
            plan, log = ot.bregman.sinkhorn_log(a, b, C - f0[:, None], reg=eps, numItermax=ROUND,
                                                stopThr=RELATIVE_STOP * b[0], log=True)
        f = f0 + eps * (log["log_u"] - np.log(a))
        g = eps * (log["log_v"] - np.log(b))
        if log["niter"] < ROUND - 1:  # POT's own stopping test passed
            break
        f0 = (f + g) / 2 if symmetric else f
    else:
        raise RuntimeError("POT did not converge in %d iterations at eps %g" % (ROUND * ROUNDS, eps))
    dual = a @ f + b @ g
    kept = plan > 0
    primal = np.sum(plan * np.where(kept, C, 0)) + eps * np.sum(plan[kept] * np.log(plan[kept] / np.outer(a, b)[kept]))
    return plan, dual, primal


def plan_gradient(plan, x, y, cost):
    """The row-normalised plan's mean of grad_x c(x_i, y_k)."""
    diff = x[:, None, :] - y[None, :, :]
    if cost == "euclidean":
        r = np.linalg.norm(diff, axis=2)[:, :, None]
        diff = np.divide(diff, r, out=np.zeros_like(diff), where=r > 0)
    return np.einsum("ik,ikc->ic", plan, diff) / plan.sum(1)[:, None]


def reference(case, cost, eps, exclude_self, directory):
    """POT's field, divergence and the divergence's scale; the primal-dual gaps of its solves."""
    with h5py.File(os.path.join(directory, case + ".h5"), "r") as f:
        x, y = f["particles"][()], f["samples"][()]
    to_target, ot_xy, primal_xy = pot_solve(x, y, cost, eps)
    to_self, ot_xx, primal_xx = pot_solve(x, x, cost, eps)
    field_self = pot_solve(x, x, cost, eps, True)[0] if exclude_self else to_self
    _, ot_yy, primal_yy = pot_solve(y, y, cost, eps)
    velocity = plan_gradient(field_self, x, x, cost) - plan_gradient(to_target, x, y, cost)
    divergence = ot_xy - ot_xx / 2 - ot_yy / 2
    divergence_scale = abs(ot_xy) + abs(ot_xx) / 2 + abs(ot_yy) / 2
    gap = max(abs(primal_xy - ot_xy), abs(primal_xx - ot_xx), abs(primal_yy - ot_yy)) / divergence_scale
    return velocity, divergence, divergence_scale, gap


def check(directory, runs):
    cache, failures = {}, 0
    for run in runs:
        case, cost, eps, self_pairs, ranks = re.fullmatch(r"(\w+?)_(squared|euclidean)_([0-9.e+-]+)_(include|exclude)_(\d+)", run).groups()
        key = (case, cost, float(eps), self_pairs == "exclude")
        if key not in cache:
            cache[key] = reference(*key, directory)
        velocity, divergence, divergence_scale, gap = cache[key]
        with h5py.File(os.path.join(directory, run + ".h5"), "r") as f:
            got_velocity = f["particles/velocity"][0]
            got_divergence = f["diagnostics/sinkhorn_divergence"][0]
            iterations = "%d+%d" % (f["diagnostics/sinkhorn_iterations"][0], f["diagnostics/sinkhorn_self_iterations"][0])
        # The clouds' scale is 1 (standard deviations 1 and 0.7): the squared cost's field is a
        # displacement of that scale, the euclidean one's a difference of unit vectors.
        field_error = np.abs(got_velocity - velocity).max()
        divergence_error = abs(got_divergence - divergence) / divergence_scale
        ok = field_error <= TOLERANCE and divergence_error <= TOLERANCE and gap <= TOLERANCE
        failures += not ok
        print("%s: %s: |V - V_pot|_max %.1e (|V_pot|_max %.2g), |S - S_pot| / scale %.1e (S_pot %.6g), POT primal-dual gap %.1e; driftsim's iterations %s"
              % ("ok" if ok else "FAIL", run, field_error, np.abs(velocity).max(), divergence_error, divergence, gap, iterations))
    return failures


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        sys.exit(1 if check(sys.argv[2], sys.argv[3:]) else 0)
