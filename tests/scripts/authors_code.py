#!/usr/bin/python3
"""The authors' two drifting fields transliterated to numpy in double precision, statement by
statement, to check driftsim's -drift_joint_floor tutorial and large_scale fields against
them (test_authors_code.sh):

    authors_code.py tutorial OUTPUT.h5 TEMPERATURE
        compute_drift of the 2-D tutorial (gen = the particles, pos = the target samples)
    authors_code.py large_scale OUTPUT.h5 INPUTS.h5 PARTICLE_WEIGHTS.h5
        drift_loss of the large-scale code (batch B = 1) with the negatives and weights of
        INPUTS.h5 (tools/official-inputs) and the particles' weights: V is the loss's goal
        minus the particles, in the original units

Reads the first snapshot's positions and velocities of OUTPUT.h5 and prints the largest
difference relative to the largest reference velocity.
"""
import sys

import h5py
import numpy as np


def softmax(z, axis):
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def compute_drift(gen, pos, temp):
    """The tutorial's compute_drift."""
    targets = np.concatenate([gen, pos])
    G = len(gen)
    dist = np.sqrt(((gen[:, None, :] - targets[None, :, :]) ** 2).sum(-1))
    dist[:, :G][np.diag_indices(G)] = 1e6
    kernel = np.exp(-dist / temp)
    normalizer = kernel.sum(-1, keepdims=True) * kernel.sum(-2, keepdims=True)
    normalized = kernel / np.sqrt(np.maximum(normalizer, 1e-12))
    pos_coeff = normalized[:, G:] * normalized[:, :G].sum(-1, keepdims=True)
    neg_coeff = normalized[:, :G] * normalized[:, G:].sum(-1, keepdims=True)
    return pos_coeff @ targets[G:] - neg_coeff @ targets[:G]


def drift_loss_field(gen, pos, neg, w_gen, w_pos, w_neg, radii=(0.02, 0.05, 0.2)):
    """drift_loss's goal minus gen, in the original units."""
    S, Cg, Cn = gen.shape[1], len(gen), len(neg)
    targets = np.concatenate([gen, neg, pos])
    weights = np.concatenate([w_gen, w_neg, w_pos])
    sq = (gen * gen).sum(1)[:, None] + (targets * targets).sum(1)[None, :] - 2 * gen @ targets.T
    dist = np.sqrt(np.maximum(sq, 1e-8))
    scale = (dist * weights[None, :]).mean() / weights.mean()
    scale_inputs = max(scale / S ** 0.5, 1e-3)
    gen_scaled, targets_scaled = gen / scale_inputs, targets / scale_inputs
    dist_normed = dist / max(scale, 1e-3)
    dist_normed[:, :Cg] += 100.0 * np.eye(Cg)
    force = np.zeros_like(gen_scaled)
    for R in radii:
        logits = -dist_normed / R
        affinity = np.sqrt(np.maximum(softmax(logits, -1) * softmax(logits, -2), 1e-6)) * weights[None, :]
        aff_neg, aff_pos = affinity[:, :Cg + Cn], affinity[:, Cg + Cn:]
        coeff = np.concatenate([-aff_neg * aff_pos.sum(-1, keepdims=True), aff_pos * aff_neg.sum(-1, keepdims=True)], axis=1)
        f = coeff @ targets_scaled - coeff.sum(-1)[:, None] * gen_scaled
        force += f / np.sqrt(max((f ** 2).mean(), 1e-8))
    return scale_inputs * force


def main():
    mode, output = sys.argv[1], h5py.File(sys.argv[2], "r")
    gen, velocity = output["particles/position"][0], output["particles/velocity"][0]
    pos = output["target/samples"][()]
    if mode == "tutorial":
        reference = compute_drift(gen, pos, float(sys.argv[3]))
    else:
        inputs = h5py.File(sys.argv[3], "r")
        w_gen = h5py.File(sys.argv[4], "r")["w"][()]
        reference = drift_loss_field(gen, pos, inputs["negatives"][()], w_gen, inputs["sample_weights"][()], inputs["negative_weights"][()])
    print(f"{np.abs(velocity - reference).max() / np.abs(reference).max():.3e}")


if __name__ == "__main__":
    main()
