#!/usr/bin/python3
"""The conservative gaussian field in plain NumPy, on the particles of a driftsim output file.

Reads /particles/position[0] and /particles/velocity[0] of a run with an analytic gaussian
target (score -z / (s^2 + h^2)) and the gaussian kernel with the self pair included, computes
the field with blocked NumPy (pairwise distances by broadcasting, exp, matrix products), and
prints one line: numpy_pairs_per_s, seconds, and the largest difference from driftsim's field
relative to its largest value. Debian's python3-numpy and python3-h5py; run with /usr/bin/python3.
"""
import argparse
import sys
import time

try:
    import h5py
    import numpy as np
except ImportError as error:
    sys.exit(f"numpy_field.py needs Debian's python3-numpy and python3-h5py ({error}); run it with /usr/bin/python3")


def conservative_field(x, h, target_scale, block=1024):
    """b(x_i) = grad log nu_h(x_i) - grad log mu_h(x_i) for all particles, blocked over rows."""
    n = x.shape[0]
    b = np.empty_like(x)
    for start in range(0, n, block):
        z = x[start:start + block]
        d2 = ((z[:, None, :] - x[None, :, :]) ** 2).sum(axis=2)       # cdist, squared
        k = np.exp(-0.5 * d2 / h**2)
        weights = k.sum(axis=1)
        mean = k @ x / weights[:, None]                                  # m_X(z)
        b[start:start + block] = -z / (target_scale**2 + h**2) + (z - mean) / h**2
    return b


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="driftsim output with -drift_output_velocity")
    args = parser.parse_args()
    with h5py.File(args.file, "r") as f:
        x = f["particles/position"][0]
        v = f["particles/velocity"][0]
        h = float(f.attrs["bandwidth"])
        scale = float(f.attrs["target_scale"])
    started = time.perf_counter()
    b = conservative_field(x, h, scale)
    seconds = time.perf_counter() - started
    n = x.shape[0]
    difference = np.abs(b - v).max() / np.abs(v).max()
    print(f"numpy_pairs_per_s={n * n / seconds:.4e} seconds={seconds:.3f} n={n} max_relative_difference={difference:.2e}")


if __name__ == "__main__":
    main()
