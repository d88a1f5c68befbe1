"""The statistics of a driftsim study over N and seeds, for tools/analyze.

A quantity is NAME[:REDUCTION][=SLOPE]: NAME is a /diagnostics series of the output (found
first) or a numeric root attribute, REDUCTION turns one run into one number, SLOPE is the
predicted exponent of N (a number or an expression in d, e.g. -1/(d+4)). Per N, the runs
(one per seed) give a mean, its standard error and a 95% Student-t interval; over all runs,
least squares of log(value) against log(N) gives a slope with a 95% t interval
(scipy.stats.linregress). Runs with Debian's python3-numpy, -scipy and -matplotlib.
"""
import csv
import math
import os
import re

import numpy as np
from scipy import stats
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after the backend is chosen)


class AnalysisError(Exception):
    """A problem with the user's input, reported as one clear message."""


# What each reduction computes from a run's series (time t, values v over [t0, T]) or from
# a root attribute (a); "per-time" is for running integrals I(t) = int_t0^t f: their mean of f.
REDUCTIONS = {
    "last": "value at the final time (an attribute: its value)",
    "sqrt-last": "square root of the value at the final time (of a time average such as c_time_average)",
    "neg-last": "minus the value at the final time (a quantity below zero, such as an excess below the mean field)",
    "mean": "time average over [0, T] (trapezoidal rule on /diagnostics/time)",
    "sqrt-mean": "square root of the time average over [0, T]",
    "rms": "square root of the time average of the square over [0, T]",
    "window": "time average over the last --window fraction of [0, T]",
    "per-time": "(final - first value) / T for a series, value / T for an attribute: the "
                "time average of a running integral's integrand",
    "sqrt-per-time": "square root of per-time",
    "mean-correction": "Richardson's correction to the mean, (mean - mean over every other row) / 3 "
                       "over the first even number of intervals (equally spaced rows): mean + "
                       "correction is Simpson's rule, and the correction's size estimates the "
                       "trapezoidal rule's error",
}
SERIES_ONLY = ("mean", "sqrt-mean", "rms", "window", "mean-correction")
THEORY = "-1/(d+4)"  # the predicted slope of rms_velocity when none is given


# ---------------------------------------------------------------- statistics

def time_average(time, values, fraction=1.0):
    """Trapezoidal time average of values over the last `fraction` of the time span, and the
    window's start."""
    time, values = np.asarray(time, float), np.asarray(values, float)
    if len(time) == 0:
        return float("nan"), float("nan")
    start = time[-1] - fraction * (time[-1] - time[0])
    keep = time >= start - 1e-12 * max(1.0, abs(start))
    t, v = time[keep], values[keep]
    if len(t) < 2 or t[-1] == t[0]:
        return float(v.mean()), float(t[0])
    return float(np.trapz(v, t)) / float(t[-1] - t[0]), float(t[0])


def sample_summary(values):
    """Mean, standard error of the mean and its 95% Student-t interval (k - 1 degrees of
    freedom) of the finite values; the error and interval are NaN for fewer than 2."""
    x = np.asarray([v for v in values if math.isfinite(v)], float)
    k = len(x)
    mean = float(x.mean()) if k else float("nan")
    stderr = low = high = float("nan")
    if k > 1:
        stderr = float(x.std(ddof=1)) / math.sqrt(k)
        half = float(stats.t.ppf(0.975, k - 1)) * stderr
        low, high = mean - half, mean + half
    return {"count": k, "mean": mean, "stderr": stderr, "ci_low": low, "ci_high": high}


def loglog_fit(ns, values):
    """Least squares log(value) = a + slope log(N) (scipy.stats.linregress): slope, its
    standard error, 95% t interval (points - 2 degrees of freedom; NaN with 2 points),
    intercept a and the number of points."""
    x, y = np.log(np.asarray(ns, float)), np.log(np.asarray(values, float))
    if len(x) < 2 or np.ptp(x) == 0.0:
        raise AnalysisError("a slope needs runs at two or more different N")
    fit = stats.linregress(x, y)
    k = len(x)
    stderr = ci_low = ci_high = float("nan")
    if k > 2:
        stderr = float(fit.stderr)
        half = float(stats.t.ppf(0.975, k - 2)) * stderr
        ci_low, ci_high = fit.slope - half, fit.slope + half
    return {"slope": float(fit.slope), "stderr": stderr, "ci_low": ci_low, "ci_high": ci_high,
            "intercept": float(fit.intercept), "points": k}


# ---------------------------------------------------------------- quantities

def parse_quantity(text):
    """'NAME[:REDUCTION][=SLOPE]' as {'name', 'reduction' (None: the default), 'slope'}."""
    match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(?::([a-z\-]+))?(?:=(.+))?", text.strip())
    if not match:
        raise AnalysisError(f"--quantity {text!r}: expected NAME[:REDUCTION][=SLOPE]")
    name, reduction, slope = match.groups()
    if reduction is not None and reduction not in REDUCTIONS:
        raise AnalysisError(f"--quantity {text}: unknown reduction {reduction}; one of "
                            + ", ".join(REDUCTIONS))
    if slope is not None:
        predicted_slope(slope, 2)  # refuses a malformed expression now
    return {"name": name, "reduction": reduction, "slope": slope}


def predicted_slope(expression, dim):
    """The value of a slope expression: numbers, d, + - * / and parentheses."""
    if not re.fullmatch(r"[0-9d.+\-*/() eE]+", expression):
        raise AnalysisError(f"predicted slope {expression!r}: use numbers, d, + - * / ( )")
    try:
        return float(eval(expression, {"__builtins__": {}}, {"d": dim}))  # noqa: S307 (checked above)
    except (SyntaxError, ZeroDivisionError, TypeError, NameError) as error:
        raise AnalysisError(f"predicted slope {expression!r} cannot be evaluated: {error}") from None


def resolve_quantities(requested, runs):
    """Each requested quantity with its source ('series' or 'attribute'), reduction, label
    and slope expression; by default rms_velocity:rms and every diagnostic's time mean."""
    series_names, attribute_names = [], []
    for run in runs:
        series_names += [k for k in run["diagnostics"] if k not in series_names]
        attribute_names += [k for k in run["numbers"] if k not in attribute_names]
    if not requested:
        requested = [parse_quantity("rms_velocity:rms")] if "rms_velocity" in series_names else []
        requested += [parse_quantity(f"{name}:mean") for name in series_names]
    quantities = []
    for q in requested:
        if q["name"] in series_names:
            source, reduction = "series", q["reduction"] or "mean"
        elif q["name"] in attribute_names:
            source, reduction = "attribute", q["reduction"] or "last"
            if reduction in SERIES_ONLY:
                raise AnalysisError(f"{q['name']} is a root attribute (one number per run): "
                                    f"reduction {reduction} needs a /diagnostics series")
        else:
            raise AnalysisError(f"no run has a diagnostic or numeric root attribute {q['name']}; "
                                f"diagnostics: {', '.join(series_names)}")
        slope = q["slope"]
        if slope is None and q["name"] == "rms_velocity" and reduction not in ("sqrt-mean", "per-time", "sqrt-per-time"):
            slope = THEORY
        quantities.append({"name": q["name"], "source": source, "reduction": reduction,
                           "label": f"{q['name']}:{reduction}", "slope": slope})
    return quantities


def run_value(run, quantity, fraction):
    """One run's number for a quantity (NaN when the run lacks it)."""
    name, reduction = quantity["name"], quantity["reduction"]
    time = run["time"]
    span = float(time[-1] - time[0])
    if quantity["source"] == "attribute":
        value = run["numbers"].get(name, float("nan"))
        if reduction in ("per-time", "sqrt-per-time"):
            value = value / span if span > 0 else float("nan")
        elif reduction == "neg-last":
            value = -value
    else:
        series = run["diagnostics"].get(name)
        if series is None:
            return float("nan")
        if reduction in ("last", "sqrt-last", "neg-last"):
            value = float(series[-1]) * (-1.0 if reduction == "neg-last" else 1.0)
        elif reduction in ("mean", "sqrt-mean"):
            value = time_average(time, series)[0]
        elif reduction == "rms":
            value = time_average(time, np.square(series))[0]
        elif reduction == "window":
            value = time_average(time, series, fraction)[0]
        elif reduction == "mean-correction":
            value = richardson_correction(time, series)
        else:  # per-time, sqrt-per-time
            value = float(series[-1] - series[0]) / span if span > 0 else float("nan")
    if reduction in ("sqrt-last", "sqrt-mean", "rms", "sqrt-per-time"):
        value = math.sqrt(value) if value >= 0 else float("nan")
    return value


def richardson_correction(time, values):
    """Richardson's correction to the trapezoidal time average of values over [t0, T]:
    (I_h - I_2h) / 3 / T over the first even number of intervals (I_2h on every other point;
    the last interval, when their count is odd, is left as it is). NaN unless there are at
    least two intervals, all of one length."""
    t, v = np.asarray(time, float), np.asarray(values, float)
    intervals = 2 * ((len(t) - 1) // 2)
    if intervals < 2 or t[-1] <= t[0]:
        return float("nan")
    steps = np.diff(t)
    if not np.allclose(steps, steps[0], rtol=1e-6, atol=0):
        return float("nan")
    t, v = t[:intervals + 1], v[:intervals + 1]
    return float(np.trapz(v, t) - np.trapz(v[::2], t[::2])) / 3.0 / float(time[-1] - time[0])


# ---------------------------------------------------------------- the study over seeds

def independent_runs(runs):
    """One run per (N, seed): the same seed at another rank count is the same sample
    (driftsim is rank-count independent), so only the first (fewest ranks) is kept. Runs
    without a seed attribute count as samples of their own."""
    kept, seen, dropped = [], set(), []
    for run in runs:
        key = (run["n"], run["seed"] if run["seed"] is not None else run["name"])
        if key in seen:
            dropped.append(run["name"])
            continue
        seen.add(key)
        kept.append(run)
    return kept, dropped


def study_statistics(runs, quantities, fraction):
    """Per quantity: the rows per N (seeds, final time, mean, stderr, interval) and the
    slope fit over every run that has it (None with fewer than two N or any value <= 0)."""
    dims = sorted({r["dim"] for r in runs})
    if len(dims) != 1:
        raise AnalysisError(f"the runs have different dimensions {dims}: one dimension per study")
    dim = dims[0]
    results = []
    for quantity in quantities:
        values = [(run["n"], run_value(run, quantity, fraction), float(run["time"][-1])) for run in runs]
        rows = []
        for n in sorted({n for n, _, _ in values}):
            at_n = [(v, t) for m, v, t in values if m == n]
            row = sample_summary([v for v, _ in at_n])
            times = sorted({t for _, t in at_n})
            row.update(n=n, runs=len(at_n), t_end=times[0] if len(times) == 1 else float("nan"),
                       t_range=f"{times[0]:.6g}" if len(times) == 1 else f"{times[0]:.6g} to {times[-1]:.6g}")
            rows.append(row)
        finite = [(n, v) for n, v, _ in values if math.isfinite(v)]
        fit, why = None, ""
        if any(v <= 0 for _, v in finite):
            why = "values not all positive: no log-log slope"
        elif len({n for n, _ in finite}) < 2:
            why = "needs values at two or more N"
        else:  # runs without the quantity (NaN) are left out
            fit = loglog_fit([n for n, _ in finite], [v for _, v in finite])
        predicted = predicted_slope(quantity["slope"], dim) if quantity["slope"] else None
        results.append({"quantity": quantity, "rows": rows, "fit": fit, "why": why,
                        "predicted": predicted, "points": values, "dim": dim})
    return results


def format_number(value, digits=6):
    """Text for tables: `digits` significant digits (17 round-trips a double); empty for
    missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (int, np.integer)):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def interval(low, high):
    """'[low, high]' or 'n/a'."""
    return "n/a" if math.isnan(low) else f"[{low:.4g}, {high:.4g}]"


def write_study(results, runs, study, out_dir, fraction):
    """study.csv (per quantity and N), slopes.csv (per quantity) and study.md (both tables)."""
    with open(os.path.join(out_dir, "study.csv"), "w", newline="") as out:
        writer = csv.writer(out)
        columns = ["n", "runs", "count", "t_end", "mean", "stderr", "ci_low", "ci_high"]
        writer.writerow(["quantity"] + columns)
        for result in results:
            for row in result["rows"]:
                writer.writerow([result["quantity"]["label"]] + [format_number(row[c], 17) for c in columns])
    with open(os.path.join(out_dir, "slopes.csv"), "w", newline="") as out:
        writer = csv.writer(out)
        columns = ["points", "slope", "stderr", "ci_low", "ci_high", "intercept"]
        writer.writerow(["quantity"] + columns + ["predicted", "predicted_in_ci"])
        for result in results:
            fit, predicted = result["fit"] or {}, result["predicted"]
            inside = ("" if predicted is None or not fit or math.isnan(fit["ci_low"])
                      else ("yes" if fit["ci_low"] <= predicted <= fit["ci_high"] else "no"))
            writer.writerow([result["quantity"]["label"]] + [format_number(fit.get(c), 17) for c in columns]
                            + [format_number(predicted, 17), inside])
    settings = sorted({(r["field"], r["kernel"], r["bandwidth_rule"]) for r in runs})
    with open(os.path.join(out_dir, "study.md"), "w") as out:
        out.write(f"# {study}: {len(runs)} runs, d = {results[0]['dim']}, "
                  f"N = {min(r['n'] for r in runs)} to {max(r['n'] for r in runs)}\n\n")
        out.write(f"Runs: {'; '.join('/'.join(s) for s in settings)} (field/kernel/bandwidth rule). "
                  "One run per (N, seed); T is each run's final time. Per N: the mean over the "
                  "seeds, its standard error s/sqrt(k) and the 95% interval mean +- "
                  "t(0.975, k-1) s/sqrt(k).\n\n")
        for label, text in sorted({(q["quantity"]["reduction"], REDUCTIONS[q["quantity"]["reduction"]])
                                   for q in results}):
            out.write(f"- `{label}`: {text}\n" if label != "window" else
                      f"- `{label}`: time average over the last {fraction:g} of [0, T]\n")
        out.write("\n| quantity | N | seeds | T | mean | std. error | 95% CI |\n|---|---|---|---|---|---|---|\n")
        for result in results:
            for row in result["rows"]:
                out.write(f"| {result['quantity']['label']} | {row['n']} | {row['count']} | {row['t_range']} | "
                          f"{format_number(row['mean'])} | {format_number(row['stderr'])} | "
                          f"{interval(row['ci_low'], row['ci_high'])} |\n")
        out.write("\nSlopes: least squares of log(value) against log(N) over every run (each seed "
                  "one point), 95% interval slope +- t(0.975, points-2) x std. error.\n\n"
                  "| quantity | points | slope | std. error | 95% CI | predicted | predicted in CI |\n"
                  "|---|---|---|---|---|---|---|\n")
        for result in results:
            fit, q = result["fit"], result["quantity"]
            predicted = ("—" if result["predicted"] is None
                         else f"{result['predicted']:.4g} ({q['slope']})")
            if fit is None:
                out.write(f"| {q['label']} | | {result['why']} | | | {predicted} | |\n")
                continue
            inside = ("n/a" if result["predicted"] is None or math.isnan(fit["ci_low"]) else
                      "yes" if fit["ci_low"] <= result["predicted"] <= fit["ci_high"] else "no")
            out.write(f"| {q['label']} | {fit['points']} | {fit['slope']:.4g} | "
                      f"{format_number(fit['stderr'], 4)} | {interval(fit['ci_low'], fit['ci_high'])} | "
                      f"{predicted} | {inside} |\n")


def plot_quantity(ax, result):
    """One quantity against N: every run, the per-N means with 95% intervals, the fitted
    line and a line of the predicted slope through the means' centre."""
    q, rows, fit = result["quantity"], result["rows"], result["fit"]
    ns = np.array([n for n, _, _ in result["points"]], float)
    values = np.array([v for _, v, _ in result["points"]], float)
    ax.plot(ns, values, ".", color="0.6", label="runs (seeds)")
    means = np.array([r["mean"] for r in rows], float)
    grid_n = np.array([r["n"] for r in rows], float)
    half = np.array([r["ci_high"] - r["mean"] if r["count"] > 1 else 0.0 for r in rows], float)
    ax.errorbar(grid_n, means, yerr=half, fmt="o", capsize=3, label="mean, 95% CI")
    ax.set_xscale("log")
    grid = np.geomspace(grid_n.min(), grid_n.max(), 50)
    if fit is not None:
        ax.set_yscale("log")
        ax.plot(grid, np.exp(fit["intercept"]) * grid ** fit["slope"], "-",
                label=f"fit: slope {fit['slope']:.3f}")
        good = np.isfinite(means) & (means > 0)
        if result["predicted"] is not None and good.any():
            anchor = math.exp(np.log(means[good]).mean() - result["predicted"] * np.log(grid_n[good]).mean())
            ax.plot(grid, anchor * grid ** result["predicted"], "--",
                    label=f"predicted: slope {q['slope']} = {result['predicted']:.3f}")
    else:
        ax.axhline(0.0, color="k", lw=0.6)
    ax.set_xlabel("N (particles)")
    ax.set_title(f"{q['label']} (d = {result['dim']})", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)


def plot_study(results, out_path):
    """study.png: one panel per quantity."""
    cols = min(3, len(results))
    rows = (len(results) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols, 4.2 * rows), squeeze=False)
    for ax, result in zip(axes.flat, results):
        plot_quantity(ax, result)
    for ax in list(axes.flat)[len(results):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(out_path, dpi=100)
    plt.close(fig)


def analyze_seeds(runs, quantities, study, out_dir, fraction):
    """study.md, study.csv, slopes.csv and study.png for the resolved quantities; returns
    the files written."""
    runs, dropped = independent_runs(runs)
    if dropped:
        print(f"analyze: {', '.join(dropped)} repeat an (N, seed) of another run (another rank "
              "count): left out of the study statistics")
    results = study_statistics(runs, quantities, fraction)
    write_study(results, runs, study, out_dir, fraction)
    plot_study(results, os.path.join(out_dir, "study.png"))
    for result in results:
        fit = result["fit"]
        if fit is not None:
            predicted = "" if result["predicted"] is None else f", predicted {result['predicted']:.4g}"
            print(f"{result['quantity']['label']}: slope {fit['slope']:.4g}, 95% CI "
                  f"{interval(fit['ci_low'], fit['ci_high'])}{predicted} ({fit['points']} runs)")
    return ["study.md", "study.csv", "slopes.csv", "study.png"]
