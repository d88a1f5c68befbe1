"""Mode-resolved convergence from the ecf diagnostics, for tools/analyze --ecf.

Each run's /diagnostics/ecf_error_K<K> is E(K, t), the characteristic function's error on
the shell |k| = K, and /diagnostics/ecf_floor_K<K> its Monte-Carlo floor F(K) (the RMS of E
for N independent draws of the target). Per configuration (one study directory, one run
per seed) and shell this module measures

- the decay rate lambda: least squares slope of -log E against t over the rows with
  t >= skip, up to (not including) the first row where E <= low F (the error has reached
  the particles' own discreteness level); the decay time is 1/lambda (not measured when
  the window holds fewer than 4 rows). A rate whose window saw E fall by less than a
  factor e is reported but flagged "flat" and left out of the prediction's fit: it cannot
  tell a slow decay from a plateau at a floor;
- the time to resolve K: the first time E(K, t) <= resolve F, linearly interpolated in
  log E between rows (censored, > T, when it never happens);

and over the seeds the mean, its standard error and 95% Student-t interval of lambda,
1/lambda and the resolve time (driftsim_study.sample_summary). For the kernels with a
linear prediction (SCIENCE.md, "Spectral view": a density mode K decays at a rate the
kernel's Fourier transform sets) it fits the prediction's constant C to the mean rates in
log space:

    gaussian:  lambda = C u^2 exp(-a u^2 / 2),       u = h K, a = 1 predicted
    laplace:   lambda = C (d + 1) u^2 (1 + u^2)^(-(d + 3)/2)

(C = 1 predicted for the displacement field; for the conservative field lambda is the
same over h^2), and for the gaussian kernel also C and the exponent a together. With C = 1
it also predicts each shell's resolve time, annealed or not: the first t at which
int_0^t lambda(h(s) K) ds reaches log(E(0) / (resolve F)), E(0) the seeds' mean.
Runs with Debian's python3-numpy, -scipy and -matplotlib.
"""
import csv
import math
import os
import re

import numpy as np
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after the backend is chosen)

from driftsim_study import AnalysisError, format_number, interval, sample_summary  # noqa: E402

MIN_ROWS = 4       # rows a rate needs


def shells_of(run):
    """The shells K of a run's ecf diagnostics, ascending, as (K, error name, floor name)."""
    shells = []
    for name in run["diagnostics"]:
        match = re.fullmatch(r"ecf_error_K(.+)", name)
        if match and f"ecf_floor_K{match.group(1)}" in run["diagnostics"]:
            shells.append((float(match.group(1)), name, f"ecf_floor_K{match.group(1)}"))
    return sorted(shells)


def decay_rate(time, error, floor, skip, low):
    """The rate fit of one shell: {'rate', 'start', 'end', 'rows', 'start_ratio', 'decay'
    (log of E's fall over the window), 'flat' (decay < 1), 'why'} (rate NaN with the reason in
    'why' when it is not measured)."""
    time, error = np.asarray(time, float), np.asarray(error, float)
    rows = np.flatnonzero(time >= skip - 1e-12 * max(1.0, abs(skip)))
    result = {"rate": float("nan"), "start": float("nan"), "end": float("nan"), "rows": 0,
              "start_ratio": float("nan"), "decay": float("nan"), "flat": True, "why": ""}
    if len(rows) == 0:
        result["why"] = "no rows after the skip"
        return result
    first = rows[0]
    result["start_ratio"] = float(error[first] / floor)
    below = np.flatnonzero(error[first:] <= low * floor)
    last = first + (below[0] if len(below) else len(error) - first)
    t, e = time[first:last], error[first:last]
    keep = e > 0
    t, e = t[keep], e[keep]
    result.update(start=float(time[first]), end=float(t[-1]) if len(t) else float("nan"), rows=len(t))
    if len(t) < MIN_ROWS:
        result["why"] = f"{len(t)} rows in the window"
        return result
    result["rate"] = -float(np.polyfit(t, np.log(e), 1)[0])
    result["decay"] = float(np.log(e[0] / e[-1]))
    result["flat"] = bool(result["decay"] < 1)
    return result


def resolve_time(time, error, floor, resolve):
    """First time E <= resolve F, interpolated linearly in log E; inf when never."""
    threshold = resolve * floor
    below = np.flatnonzero(np.asarray(error) <= threshold)
    if len(below) == 0:
        return float("inf")
    j = below[0]
    if j == 0:
        return float(time[0])
    e0, e1 = error[j - 1], error[j]
    if e1 <= 0:
        return float(time[j])
    fraction = math.log(e0 / threshold) / math.log(e0 / e1)
    return float(time[j - 1] + fraction * (time[j] - time[j - 1]))


def configuration(label, runs):
    """The settings shared by a configuration's runs (one per seed), checked."""
    if not runs:
        raise AnalysisError(f"{label} holds no driftsim output (*.h5)")
    shells = {tuple(k for k, _, _ in shells_of(r)) for r in runs}
    if len(shells) != 1 or not next(iter(shells)):
        raise AnalysisError(f"{label}: the runs must all have the same ecf shells "
                            "(-drift_ecf_shells); found " + "; ".join(",".join(f"{k:g}" for k in s) or "none"
                                                                        for s in sorted(shells)))
    keys = ("n", "dim", "field", "kernel")
    for key in keys:
        if len({r[key] for r in runs}) != 1:
            raise AnalysisError(f"{label}: the runs differ in {key}: one configuration per directory")
    seeds = [r["seed"] for r in runs]
    if len(set(seeds)) != len(seeds):
        raise AnalysisError(f"{label}: two runs have the same seed: one run per seed")
    first = runs[0]
    numbers = first["numbers"]
    return {"label": label, "shells": list(next(iter(shells))), "runs": runs,
            **{key: first[key] for key in keys},
            "h0": numbers.get("bandwidth_h0", numbers.get("bandwidth", float("nan"))),
            "anneal": numbers.get("bandwidth_anneal", 0.0), "h_min": numbers.get("bandwidth_min", 0.0),
            "t_end": min(float(r["time"][-1]) for r in runs)}


def predicted_shape(kernel, dim, u, exponent=1.0):
    """The linear prediction's rate at u = h K with C = 1 (None for other kernels)."""
    if kernel == "gaussian":
        return u ** 2 * np.exp(-exponent * u ** 2 / 2)
    if kernel == "laplace":
        return (dim + 1) * u ** 2 * (1 + u ** 2) ** (-(dim + 3) / 2)
    return None


def predicted_resolve(config, k, need):
    """The linear prediction's time to resolve K (C = 1): the first t with
    int_0^t lambda(h(s) K) ds = need, h(s) = max(h_min, h0 exp(-r s)) (h0 without
    annealing); the conservative field's rate is lambda / h(s)^2. Searched up to the
    configuration's T (inf beyond it); None for kernels without a prediction."""
    if predicted_shape(config["kernel"], config["dim"], 1.0) is None:
        return None
    t = np.linspace(0.0, config["t_end"], 20001)
    h = config["h0"] * np.exp(-config["anneal"] * t) if config["anneal"] > 0 else np.full(len(t), config["h0"])
    h = np.maximum(h, config["h_min"])
    rate = predicted_shape(config["kernel"], config["dim"], h * k)
    if config["field"] == "conservative":
        rate = rate / h ** 2
    decay = np.concatenate([[0.0], np.cumsum((rate[1:] + rate[:-1]) / 2 * np.diff(t))])
    j = int(np.searchsorted(decay, need))
    if need <= 0:
        return 0.0
    if j >= len(t):
        return float("inf")
    return float(t[j - 1] + (need - decay[j - 1]) / (decay[j] - decay[j - 1]) * (t[j] - t[j - 1]))


def fit_prediction(config, rows):
    """Least squares in log space of the mean rates against the prediction: C alone
    ({'C'}), and for the gaussian kernel C and the exponent a together ({'C2', 'a'}).
    None when the kernel has no prediction, the bandwidth is annealed or fewer than two
    shells have rates."""
    if config["anneal"] > 0 or predicted_shape(config["kernel"], config["dim"], 1.0) is None:
        return None
    scale = config["h0"] ** 2 if config["field"] == "conservative" else 1.0
    good = [r for r in rows if math.isfinite(r["rate"]["mean"]) and r["rate"]["mean"] > 0 and not r["flat"]]
    if len(good) < 2:
        return None
    u = np.array([config["h0"] * r["K"] for r in good])
    log_rate = np.log([r["rate"]["mean"] * scale for r in good])
    shape = predicted_shape(config["kernel"], config["dim"], u)
    fit = {"C": float(np.exp(np.mean(log_rate - np.log(shape)))), "scale": scale, "shells": len(good)}
    if config["kernel"] == "gaussian" and len(good) >= 3:
        # log lambda - log u^2 = log C - a u^2 / 2: a straight line in u^2
        slope, intercept = np.polyfit(u ** 2 / 2, log_rate - np.log(u ** 2), 1)
        fit.update(C2=float(np.exp(intercept)), a=float(-slope))
    return fit


def analyze_configuration(config, skip, low, resolve):
    """Per shell: every run's rate fit and resolve time, and their summaries over seeds."""
    rows = []
    for k, error_name, floor_name in shells_of(config["runs"][0]):
        per_run = []
        for run in config["runs"]:
            time, error = run["time"], run["diagnostics"][error_name]
            floor = float(np.median(run["diagnostics"][floor_name]))
            fit = decay_rate(time, error, floor, skip, low)
            fit.update(run=run["name"], seed=run["seed"], floor=floor, E0=float(error[0]),
                       resolve=resolve_time(time, error, floor, resolve))
            per_run.append(fit)
        rates = [p["rate"] for p in per_run]
        resolved = [p["resolve"] for p in per_run]
        row = {"K": k, "runs": per_run, "rate": sample_summary(rates),
               "time": sample_summary([1 / r for r in rates if math.isfinite(r) and r > 0]),
               "resolve": sample_summary([t for t in resolved if math.isfinite(t)]),
               "censored": sum(not math.isfinite(t) for t in resolved),
               "unmeasured": sum(not math.isfinite(r) for r in rates),
               "flat": sum(p["flat"] and math.isfinite(p["rate"]) for p in per_run),
               "why": "; ".join(sorted({p["why"] for p in per_run if p["why"]})),
               "floor": float(np.mean([p["floor"] for p in per_run]))}
        rows.append(row)
    for row in rows:  # what the linear theory needs to bring the seeds' mean E(0) to resolve F
        need = float(np.mean([math.log(p["E0"] / (resolve * p["floor"])) for p in row["runs"]]))
        row["predicted_resolve"] = predicted_resolve(config, row["K"], need)
    fit = fit_prediction(config, rows)
    for row in rows:
        row["predicted"] = float("nan")
        if fit:
            u = config["h0"] * row["K"]
            row["predicted"] = fit["C"] * float(predicted_shape(config["kernel"], config["dim"], u)) / fit["scale"]
    return rows, fit


def describe(config):
    """'d = 1, N = 8192, displacement/gaussian, h = 0.5' (with the annealing when on)."""
    text = f"d = {config['dim']}, N = {config['n']}, {config['field']}/{config['kernel']}, h = {config['h0']:g}"
    if config["anneal"] > 0:
        text += f" exp(-{config['anneal']:g} t), min {config['h_min']:g}"
    return text


def cell(summary, censored=0, total=0, digits=4):
    """'mean [low, high]' of a summary, with '> T' notes for censored runs."""
    if summary["count"] == 0:
        return f"never ({censored} of {total} never)" if censored else "—"
    text = f"{summary['mean']:.{digits}g} {interval(summary['ci_low'], summary['ci_high'])}"
    return text + (f" ({censored} of {total} never)" if censored else "")


def resolve_text(row, config):
    """The predicted resolve time as text: '—' without a prediction, '> T' beyond the run."""
    value = row["predicted_resolve"]
    if value is None:
        return "—"
    return f"> {config['t_end']:g}" if math.isinf(value) else f"{value:.4g}"


def write_tables(results, out_dir, settings):
    """ecf.csv (every run and shell) and ecf.md (per configuration and shell, over seeds)."""
    with open(os.path.join(out_dir, "ecf.csv"), "w", newline="") as out:
        writer = csv.writer(out)
        columns = ["seed", "E0", "floor", "start_ratio", "start", "end", "rows", "rate", "decay", "flat",
                   "resolve", "why"]
        writer.writerow(["configuration", "run", "K"] + columns)
        for config, rows, _ in results:
            for row in rows:
                for p in row["runs"]:
                    writer.writerow([config["label"], p["run"], format_number(row["K"])]
                                    + [format_number(p[c], 17) for c in columns])
    with open(os.path.join(out_dir, "ecf.md"), "w") as out:
        out.write("# Mode-resolved convergence (ecf diagnostics)\n\n"
                  f"Rate: least squares slope of -log E(K, t) over t >= {settings['skip']:g} until E first "
                  f"falls to {settings['low']:g} F (F the Monte-Carlo floor; not measured with fewer than "
                  f"{MIN_ROWS} rows); flat when E falls by less than a factor e over the window (left out "
                  "of the fit: a slow decay or a plateau). "
                  f"Decay time 1/rate. Resolve time: first t with E <= {settings['resolve']:g} F. Over the "
                  "seeds: mean and 95% Student-t interval. Predicted: the linear rate of SCIENCE.md "
                  "(\"Spectral view\") with its constant C fitted to the mean rates of the shells not flat in any seed.\n")
        for config, rows, fit in results:
            out.write(f"\n## {config['label']}: {describe(config)}, {len(config['runs'])} seeds, "
                      f"T = {config['t_end']:g}\n\n")
            if fit:
                out.write(f"Fit over {fit['shells']} shells: C = {fit['C']:.4g}")
                if "a" in fit:
                    out.write(f"; with the exponent free, C = {fit['C2']:.4g}, a = {fit['a']:.4g} (predicted 1)")
                out.write(".\n\n")
            out.write("| K | h K | floor F | E(0)/F | rate | predicted | decay time 1/rate | resolve time "
                      "| predicted resolve (C = 1) |\n|---|---|---|---|---|---|---|---|---|\n")
            for row in rows:
                total = len(row["runs"])
                rate = cell(row["rate"])
                if row["unmeasured"]:
                    rate += f" ({row['unmeasured']} of {total} not measured: {row['why']})"
                if row["flat"]:
                    rate += f" (flat in {row['flat']} of {total})"
                ratio = np.mean([p["E0"] / p["floor"] for p in row["runs"]])
                out.write(f"| {row['K']:g} | {config['h0'] * row['K']:.3g} | {row['floor']:.3g} | {ratio:.3g} | "
                          f"{rate} | {format_number(row['predicted'], 4) or '—'} | {cell(row['time'])} | "
                          f"{cell(row['resolve'], row['censored'], total)} | {resolve_text(row, config)} |\n")


def plot_curves(results, out_path):
    """ecf_curves.png: per configuration E(K, t) of every seed (log scale), F dashed."""
    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 4), squeeze=False, sharey=True)
    for ax, (config, rows, _) in zip(axes.flat, results):
        for index, row in enumerate(rows):
            color = f"C{index % 10}"
            for j, run in enumerate(config["runs"]):
                name = f"ecf_error_K{row['K']:g}"
                ax.plot(run["time"], run["diagnostics"][name], color=color, lw=0.8,
                        label=f"K = {row['K']:g}" if j == 0 else None)
            ax.axhline(row["floor"], color=color, ls="--", lw=0.8)
        ax.set_yscale("log")
        ax.set_xlabel("t")
        ax.set_title(f"{config['label']}: {describe(config)}", fontsize=8)
        ax.grid(True, alpha=0.3)
    axes.flat[0].set_ylabel("E(K, t) (floor F dashed)")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_path, dpi=80)
    plt.close(fig)


def errorbars(ax, ks, summaries, label, marker, color, hollow=False):
    """Means with their 95% intervals against K (points without a positive mean are left
    out: the axis is logarithmic); hollow markers for flat rates."""
    points = [(k, s) for k, s in zip(ks, summaries) if s["count"] > 0 and s["mean"] > 0]
    if not points:
        return
    k = np.array([p[0] for p in points])
    mean = np.array([p[1]["mean"] for p in points])
    half = np.array([p[1]["ci_high"] - p[1]["mean"] if p[1]["count"] > 1 else 0.0 for p in points])
    low = np.minimum(half, mean * 0.999)  # a log axis cannot show an interval below 0
    ax.errorbar(k, mean, yerr=[low, half], fmt=marker, capsize=3, label=label, color=color,
                mfc="none" if hollow else color)


def plot_rates(results, out_path):
    """ecf_rates.png: decay time and resolve time against K with 95% intervals, and the
    rates against the fitted linear prediction."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for index, (config, rows, fit) in enumerate(results):
        ks = [r["K"] for r in rows]
        marker, color = "os^vD<>ph*"[index % 10], f"C{index % 10}"
        errorbars(axes[0], ks, [r["time"] for r in rows], config["label"], marker + "-", color)
        errorbars(axes[1], ks, [r["resolve"] for r in rows], config["label"], marker + "-", color)
        predicted = [(r["K"], r["predicted_resolve"]) for r in rows
                     if r["predicted_resolve"] is not None and math.isfinite(r["predicted_resolve"])]
        if predicted:
            axes[1].plot(*zip(*predicted), ls="--", color=color, label=f"{config['label']}: linear theory, C = 1")
        for flat in (False, True):
            chosen = [r for r in rows if bool(r["flat"]) == flat]
            errorbars(axes[2], [r["K"] for r in chosen], [r["rate"] for r in chosen],
                      config["label"] + (" (flat: E falls < e-fold)" if flat else ""), marker, color, flat)
        if fit:
            grid = np.linspace(min(ks), max(ks), 200)
            shape = predicted_shape(config["kernel"], config["dim"], config["h0"] * grid)
            axes[2].plot(grid, fit["C"] * shape / fit["scale"], ls="--", color=color,
                         label=f"{config['label']}: prediction, C = {fit['C']:.3g}")
    axes[0].axhline(min(c["t_end"] for c, _, _ in results), color="k", lw=0.6, ls=":", label="T (run length)")
    titles = ("decay time 1/rate", "time to resolve K (E <= resolve F)", "rate against prediction")
    for ax, title in zip(axes, titles):
        ax.set_yscale("log")
        ax.set_xlabel("K")
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_path, dpi=80)
    plt.close(fig)


def analyze_ecf(groups, out_dir, skip=0.0, low=0.1, resolve=0.5):
    """groups: [(label, runs)], one configuration each. Writes ecf.csv, ecf.md,
    ecf_curves.png and ecf_rates.png into out_dir; returns the file names and the results
    [(configuration, rows, fit)]."""
    if not low > 0 or not resolve > 0:
        raise AnalysisError("--ecf-low and --ecf-resolve must be positive")
    settings = {"skip": skip, "low": low, "resolve": resolve}
    results = []
    for label, runs in groups:
        config = configuration(label, runs)
        rows, fit = analyze_configuration(config, skip, low, resolve)
        results.append((config, rows, fit))
    os.makedirs(out_dir, exist_ok=True)
    write_tables(results, out_dir, settings)
    plot_curves(results, os.path.join(out_dir, "ecf_curves.png"))
    plot_rates(results, os.path.join(out_dir, "ecf_rates.png"))
    for config, rows, fit in results:
        summary = ", ".join(f"K={r['K']:g}: {format_number(r['rate']['mean'], 4) or 'n/a'}" for r in rows)
        print(f"{config['label']}: rates {summary}" + (f"; C = {fit['C']:.4g}" if fit else ""))
    return ["ecf.csv", "ecf.md", "ecf_curves.png", "ecf_rates.png"], results
