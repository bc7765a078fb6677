"""Indicator kernels against TA-Lib 0.8.1, method of docs/performance.md.

1. Agreement first: every kernel on 1M bars at three price scales (about 1.1, 100 and 50,000),
   with Gaussian and with heavy-tailed (Student-t, 3 degrees of freedom) returns; asserts
   bit-identity for SMA, EMA, ADX, MACD and the BBANDS middle band, and 1e-12 of the price scale
   (1e-10 absolute for 0-100 oscillators) for the rest; and a BBANDS width of exactly 0 on flat
   windows, as TA-Lib's, at each scale.
2. Batch: each kernel and TA-Lib's function alternate for N rounds on the same 1M bars (a
   round's time is the best of 3 back-to-back calls, against bursts of load from other
   processes); per round the ratio ours/TA-Lib; printed: min/median/max time and the median
   ratio. Once on Gaussian returns, once on Student-t returns.
3. The seven anchor indicators (SMA, EMA, RSI, ATR, ADX, BBANDS, MACD) as one fused call
   (``kernels.core_set``) against TA-Lib's seven calls.
4. Streaming from Python, per bar: the default ``IndicatorSet`` (without and with the regime)
   against TA-Lib 0.8's stream handles for the same indicators.
5. Start-up: ``warm_up()`` in a fresh process with an empty numba cache (cold), again with the
   filled cache (warm), and with an unwritable cache directory (in memory).

Usage: ``python scripts/bench_indicators.py [--rounds 9] [--bars 1000000] [--no-startup]``.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
import talib
import talib.stream as tstream

from trading_engine.indicators import IndicatorSet, IndicatorSetConfig
from trading_engine.indicators import kernels as K

Arr = np.ndarray
SCALES = (1.1, 100.0, 50_000.0)
OSC = {"rsi", "natr", "plus_di", "minus_di", "adx", "cci", "willr", "roc", "stoch"}
BIT = {"sma", "ema", "adx", "macd"}


#: return distributions: Gaussian, and Student-t with 3 degrees of freedom (heavy tails)
DISTS: dict[str, float | None] = {"Gaussian": None, "Student-t(3)": 3.0}


def bars(n: int, scale: float, seed: int = 42, df: float | None = None) -> tuple[Arr, Arr, Arr]:
    """A seeded geometric random walk with wicks; Student-t shocks (unit variance) if ``df``."""
    rng = np.random.default_rng(seed)

    def shocks() -> Arr:
        if df is None:
            return rng.standard_normal(n)
        return rng.standard_t(df, n) / np.sqrt(df / (df - 2.0))

    close = scale * np.exp(np.cumsum(shocks() * 0.001))
    opn = np.concatenate(([close[0]], close[:-1]))
    wick = np.abs(shocks()) * 0.001 * scale
    high = np.maximum(opn, close) + wick * rng.random(n)
    low = np.minimum(opn, close) - wick * rng.random(n)
    return high, low, close


def pairs(h: Arr, lo: Arr, c: Arr) -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    """name -> (ours, TA-Lib's) on the same data and parameters."""
    return {
        "sma": (lambda: K.sma(c, 20), lambda: talib.SMA(c, 20)),
        "ema": (lambda: K.ema(c, 20), lambda: talib.EMA(c, 20)),
        "wma": (lambda: K.wma(c, 20), lambda: talib.WMA(c, 20)),
        "rsi": (lambda: K.rsi(c, 14), lambda: talib.RSI(c, 14)),
        "mom": (lambda: K.mom(c, 10), lambda: talib.MOM(c, 10)),
        "roc": (lambda: K.roc(c, 10), lambda: talib.ROC(c, 10)),
        "trange": (lambda: K.trange(h, lo, c), lambda: talib.TRANGE(h, lo, c)),
        "atr": (lambda: K.atr(h, lo, c, 14), lambda: talib.ATR(h, lo, c, 14)),
        "natr": (lambda: K.natr(h, lo, c, 14), lambda: talib.NATR(h, lo, c, 14)),
        "plus_di": (lambda: K.plus_di(h, lo, c, 14), lambda: talib.PLUS_DI(h, lo, c, 14)),
        "minus_di": (lambda: K.minus_di(h, lo, c, 14), lambda: talib.MINUS_DI(h, lo, c, 14)),
        "adx": (lambda: K.adx(h, lo, c, 14), lambda: talib.ADX(h, lo, c, 14)),
        "cci": (lambda: K.cci(h, lo, c, 14), lambda: talib.CCI(h, lo, c, 14)),
        "willr": (lambda: K.willr(h, lo, c, 14), lambda: talib.WILLR(h, lo, c, 14)),
        "bbands": (lambda: K.bbands(c, 20, 2.0, 2.0), lambda: talib.BBANDS(c, 20, 2.0, 2.0)),
        "macd": (lambda: K.macd(c, 12, 26, 9), lambda: talib.MACD(c, 12, 26, 9)),
        "stoch": (
            lambda: K.stoch(h, lo, c, 5, 3, 3),
            lambda: talib.STOCH(h, lo, c, 5, 3, 0, 3, 0),
        ),
    }


def max_diff(ours: Any, ref: Any) -> tuple[float, bool]:
    """Largest |difference| over all outputs, after checking that the NaN masks agree."""
    outs = ours if isinstance(ours, tuple) else (ours,)
    refs = ref if isinstance(ref, tuple) else (ref,)
    worst = 0.0
    identical = True
    for a, b in zip(outs, refs, strict=True):
        assert np.array_equal(np.isnan(a), np.isnan(b)), "NaN masks differ"
        worst = max(worst, float(np.nanmax(np.abs(a - b))) if a.size else 0.0)
        identical &= bool(np.array_equal(a, b, equal_nan=True))
    return worst, identical


def check_flat_bbands(n: int) -> None:
    """Assert a BBANDS width of exactly 0 on flat windows (TA-Lib's), at 1, 100 and 50,000."""
    for scale in (1.0, 100.0, 50_000.0):
        c = bars(n, scale, seed=7, df=3.0)[2]
        for start in range(1_000, n - 500, max(n // 50, 1_000)):
            c[start : start + 25 + start % 200] = c[start - 1]
        w = np.lib.stride_tricks.sliding_window_view(c, 20)
        flat = np.zeros(n, dtype=bool)
        flat[19:] = w.max(axis=1) == w.min(axis=1)
        up, mid, low = K.bbands(c, 20, 2.0, 2.0)
        ref = talib.BBANDS(c, 20, 2.0, 2.0)
        assert flat.any()
        assert np.array_equal(ref[0][flat], ref[1][flat]), f"TA-Lib's flat width at {scale}"
        assert np.array_equal(up[flat], mid[flat]), f"upper band on flat windows at {scale}"
        assert np.array_equal(low[flat], mid[flat]), f"lower band on flat windows at {scale}"
        assert np.nanmax(np.abs(up - ref[0])) <= 1e-12 * scale


def check_agreement(n: int) -> dict[str, float]:
    """Assert the agreement goals at three scales and both return distributions; return the
    largest relative difference."""
    worst: dict[str, float] = {}
    for scale, df in ((s, d) for s in SCALES for d in DISTS.values()):
        h, lo, c = bars(n, scale, df=df)
        for name, (ours, ref) in pairs(h, lo, c).items():
            o, r = ours(), ref()
            d, identical = max_diff(o, r)
            if name in BIT:
                assert identical, f"{name} not bit-identical at scale {scale}"
            if name == "bbands":
                assert np.array_equal(o[1], r[1], equal_nan=True), "BBANDS middle differs"
            tol = 1e-10 if name in OSC else 1e-12 * scale
            assert d <= tol, f"{name} at scale {scale}: {d:.3g} > {tol:.3g}"
            rel = d if name in OSC else d / scale
            worst[name] = max(worst.get(name, 0.0), rel)
        core = K.core_set(h, lo, c)
        ref7 = talib.BBANDS(c, 20, 2.0, 2.0)
        assert np.array_equal(core["sma"], talib.SMA(c, 20), equal_nan=True)
        assert np.array_equal(core["adx"], talib.ADX(h, lo, c, 14), equal_nan=True)
        assert np.array_equal(core["bb_middle"], ref7[1], equal_nan=True)
        assert np.nanmax(np.abs(core["bb_upper"] - ref7[0])) <= 1e-12 * scale
        assert np.nanmax(np.abs(core["atr"] - talib.ATR(h, lo, c, 14))) <= 1e-12 * scale
        assert np.nanmax(np.abs(core["rsi"] - talib.RSI(c, 14))) <= 1e-10
        for a, b in zip(
            (core["macd"], core["macd_signal"], core["macd_hist"]), talib.MACD(c), strict=True
        ):
            assert np.array_equal(a, b, equal_nan=True)
    return worst


def timed(fn: Callable[[], Any], repeat: int = 3) -> float:
    """Best of ``repeat`` back-to-back calls: one round's time, robust to a burst of load from
    other processes (both sides of a ratio are timed the same way)."""
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def report(label: str, ours: list[float], peer: list[float], unit: float, suffix: str) -> float:
    ratios = [a / b for a, b in zip(ours, peer, strict=True)]
    med = statistics.median(ratios)
    print(
        f"{label:16} ours {min(ours) * unit:8.3f} {statistics.median(ours) * unit:8.3f}"
        f" {max(ours) * unit:8.3f}   TA-Lib {min(peer) * unit:8.3f}"
        f" {statistics.median(peer) * unit:8.3f} {max(peer) * unit:8.3f} {suffix}"
        f"   ratio {med:5.2f}x"
    )
    return med


def bench_batch(h: Arr, lo: Arr, c: Arr, rounds: int, dist: str) -> dict[str, float]:
    print(
        f"\n== batch kernels, {dist} returns, {c.size:,} bars, {rounds} rounds"
        " (min median max, ms) =="
    )
    ratios: dict[str, float] = {}
    table = pairs(h, lo, c)
    for name, (ours, ref) in table.items():
        ours()
        ref()
        t_o: list[float] = []
        t_r: list[float] = []
        for _ in range(rounds):
            t_o.append(timed(ours))
            t_r.append(timed(ref))
        ratios[name] = report(name, t_o, t_r, 1e3, "ms")
    return ratios


def talib_seven(h: Arr, lo: Arr, c: Arr) -> None:
    talib.SMA(c, 20)
    talib.EMA(c, 20)
    talib.RSI(c, 14)
    talib.ATR(h, lo, c, 14)
    talib.ADX(h, lo, c, 14)
    talib.BBANDS(c, 20, 2.0, 2.0)
    talib.MACD(c, 12, 26, 9)


def bench_seven(h: Arr, lo: Arr, c: Arr, rounds: int) -> tuple[float, float]:
    print(f"\n== the seven anchor indicators, {c.size:,} bars (ms) ==")
    buf = np.empty((11, c.size))
    fused = lambda: K.core_set(h, lo, c)  # noqa: E731
    reused = lambda: K.core_set(h, lo, c, out=buf)  # noqa: E731
    peer = lambda: talib_seven(h, lo, c)  # noqa: E731
    separate = lambda: (  # noqa: E731
        K.sma(c, 20),
        K.ema(c, 20),
        K.rsi(c, 14),
        K.atr(h, lo, c, 14),
        K.adx(h, lo, c, 14),
        K.bbands(c, 20, 2.0, 2.0),
        K.macd(c, 12, 26, 9),
    )
    fused()
    reused()
    separate()
    t_f: list[float] = []
    t_r: list[float] = []
    t_s: list[float] = []
    t_p: list[float] = []
    for _ in range(rounds):
        t_f.append(timed(fused))
        t_p.append(timed(peer))
        t_r.append(timed(reused))
        t_s.append(timed(separate))
    med = report("fused, new out", t_f, t_p, 1e3, "ms")
    med_r = report("fused, reused out", t_r, t_p, 1e3, "ms")
    report("7 kernel calls", t_s, t_p, 1e3, "ms")
    return med, med_r


STREAM_NAMES = "EMA12 EMA26 RSI14 ATR14 ADX14 +DI14 -DI14 BBANDS(20,2,2) MACD(12,26,9)"


def bench_streaming(h: Arr, lo: Arr, c: Arr, rounds: int, per_round: int) -> tuple[float, float]:
    print(f"\n== streaming from Python, per bar, default set: {STREAM_NAMES} (ns) ==")
    warm = 2_000
    hl = h[warm:].tolist()
    ll = lo[warm:].tolist()
    cl = c[warm:].tolist()
    plain = IndicatorSet(IndicatorSetConfig(regime=None))
    with_regime = IndicatorSet()
    for s in (plain, with_regime):
        s.warm_up(h[:warm], lo[:warm], c[:warm])
    hw, lw, cw = h[:warm], lo[:warm], c[:warm]
    handles = [
        tstream.EMA(cw, timeperiod=12),
        tstream.EMA(cw, timeperiod=26),
        tstream.RSI(cw, timeperiod=14),
        tstream.BBANDS(cw, timeperiod=20, nbdevup=2.0, nbdevdn=2.0),
        tstream.MACD(cw, fastperiod=12, slowperiod=26, signalperiod=9),
    ]
    handles3 = [
        tstream.ATR(hw, lw, cw, timeperiod=14),
        tstream.ADX(hw, lw, cw, timeperiod=14),
        tstream.PLUS_DI(hw, lw, cw, timeperiod=14),
        tstream.MINUS_DI(hw, lw, cw, timeperiod=14),
    ]
    e1, e2, r1, b1, m1 = (x.update for x in handles)
    a1, a2, a3, a4 = (x.update for x in handles3)

    def run_ours(s: IndicatorSet, k0: int, k1: int) -> None:
        u = s.update
        for a, b, d in zip(hl[k0:k1], ll[k0:k1], cl[k0:k1], strict=True):
            u(a, b, d)

    def run_talib(k0: int, k1: int) -> None:
        for a, b, d in zip(hl[k0:k1], ll[k0:k1], cl[k0:k1], strict=True):
            e1(d)
            e2(d)
            r1(d)
            a1(a, b, d)
            a2(a, b, d)
            a3(a, b, d)
            a4(a, b, d)
            b1(d)
            m1(d)

    def run_empty(k0: int, k1: int) -> None:
        for _a, _b, _d in zip(hl[k0:k1], ll[k0:k1], cl[k0:k1], strict=True):
            pass

    t_o: list[float] = []
    t_g: list[float] = []
    t_t: list[float] = []
    t_e: list[float] = []
    k = 0
    for _ in range(rounds):
        k0, k1 = k, k + per_round
        k = k1
        t_o.append(timed(lambda k0=k0, k1=k1: run_ours(plain, k0, k1), 1) / per_round)
        t_g.append(timed(lambda k0=k0, k1=k1: run_ours(with_regime, k0, k1), 1) / per_round)
        t_t.append(timed(lambda k0=k0, k1=k1: run_talib(k0, k1), 1) / per_round)
        t_e.append(timed(lambda k0=k0, k1=k1: run_empty(k0, k1), 1) / per_round)
    # the values agree with the batch kernels on the bars just streamed
    end = warm + k
    vals = plain.values()
    assert vals["ema_fast"] == K.ema(c[:end], 12)[-1]
    assert vals["adx"] == K.adx(h[:end], lo[:end], c[:end], 14)[-1]
    assert vals["macd_hist"] == K.macd(c[:end])[2][-1]
    assert abs(vals["rsi"] - talib.RSI(c[:end], 14)[-1]) <= 1e-10
    assert abs(vals["atr"] - handles3[0].value) <= 1e-12 * 100
    med = report("IndicatorSet", t_o, t_t, 1e9, "ns")
    report("+ regime", t_g, t_t, 1e9, "ns")
    print(
        f"{'(loop alone)':16} {statistics.median(t_e) * 1e9:8.1f} ns per bar;"
        f" ours median {statistics.median(t_o) * 1e9:.0f} ns gross,"
        f" {statistics.median(t_o) * 1e9 - statistics.median(t_e) * 1e9:.0f} ns net of the loop;"
        f" TA-Lib 9 handles {statistics.median(t_t) * 1e9:.0f} ns"
    )
    return statistics.median(t_o) * 1e9, med


STARTUP = """
import time
t0 = time.perf_counter()
from trading_engine.indicators import warm_up
t1 = time.perf_counter()
warm_up()
t2 = time.perf_counter()
warm_up(batch_kernels=True)
t3 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f} {t3 - t2:.3f}")
"""


def bench_startup() -> None:
    print("\n== start-up: import, warm_up() of the default set, all batch kernels (s) ==")
    with tempfile.TemporaryDirectory() as tmp:
        for label, cache in (
            ("cold cache", tmp),
            ("warm cache", tmp),
            ("unwritable", "/dev/null/numba-cache"),
        ):
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            out = subprocess.run(
                [sys.executable, "-c", STARTUP],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=True,
            ).stdout.split()
            print(
                f"{label:12} import {out[0]}  warm_up(default set) {out[1]}"
                f"  + every batch kernel {out[2]}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--no-startup", action="store_true")
    args = ap.parse_args()
    print(
        f"checking agreement with TA-Lib on {args.bars:,} bars at scales {SCALES},"
        f" {' and '.join(DISTS)} returns ..."
    )
    worst = check_agreement(args.bars)
    check_flat_bbands(args.bars)
    print("agreement: OK (asserted; BBANDS width exactly 0 on flat windows at 1, 100, 50,000)")
    print("largest difference to TA-Lib (relative to price; absolute for 0-100 oscillators):")
    print("  " + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))
    by_dist: dict[str, dict[str, float]] = {}
    for dist, df in DISTS.items():
        hd, ld, cd = bars(args.bars, 100.0, df=df)
        by_dist[dist] = bench_batch(hd, ld, cd, args.rounds, dist)
    ratios = by_dist["Gaussian"]
    h, lo, c = bars(args.bars, 100.0)
    seven = bench_seven(h, lo, c, args.rounds)
    per_bar, stream_ratio = bench_streaming(h, lo, c, args.rounds, 20_000)
    if not args.no_startup:
        bench_startup()
    core = ("sma", "ema", "rsi", "atr", "adx", "bbands", "macd")
    cpu = "unknown"
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if "model name" in ln), cpu)
    print("\n== summary ==")
    print(
        f"machine: {os.cpu_count()} CPUs, {cpu}; python {platform.python_version()},"
        f" numpy {np.__version__}, numba {numba.__version__}, ta-lib {talib.__version__}"
        f" (C {talib.__ta_version__.decode().split()[0]})"
    )
    slow = [k for k in core if ratios[k] > 1.0]
    slow_other = [k for k, v in ratios.items() if k not in core and v > 1.0]
    print(
        "core kernels <= 1.0x TA-Lib: "
        + ("met" if not slow else f"NOT met ({', '.join(f'{k} {ratios[k]:.2f}x' for k in slow)})")
        + "; median ratios "
        + ", ".join(f"{k} {ratios[k]:.2f}x" for k in core)
    )
    print(
        "other kernels above 1.0x: "
        + (", ".join(f"{k} {ratios[k]:.2f}x" for k in slow_other) or "none")
    )
    for dist, rs in by_dist.items():
        print(
            f"{dist:13} returns: "
            + ", ".join(f"{k} {rs[k]:.2f}x" for k in ("atr", "bbands", "willr"))
            + "; above 1.0x: "
            + (", ".join(f"{k} {v:.2f}x" for k, v in rs.items() if v > 1.0) or "none")
        )
    print(
        f"seven as one fused call: {seven[0]:.2f}x TA-Lib's seven calls with a new output block,"
        f" {seven[1]:.2f}x writing into a reused one (goal <= 0.7x)"
    )
    print(
        f"streaming default set: {per_bar:.0f} ns per bar (goal <= 250),"
        f" {stream_ratio:.2f}x TA-Lib's stream handles (goal <= 0.5x)"
    )


if __name__ == "__main__":
    main()
