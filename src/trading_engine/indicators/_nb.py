"""Numba helpers shared by the batch kernels and the streaming set: ``fma`` and ``njit``.

These only accept numba-compatible types. ``fma`` lowers to LLVM's ``llvm.fma.f64`` (one rounding),
which is what TA-Lib 0.8 uses in its EMA update; ``div2``/``div4`` are vector divisions.
``njit`` caches compiled kernels on disk (``cache=True``). When ``NUMBA_CACHE_DIR`` points to a
place where nothing can be written, or numba finds no writable cache location at all (a read-only
install without a writable user cache), it logs one warning on the ``trading_engine.indicators``
logger and compiles in memory instead: slower start-up, never a crash or a hang.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast, overload

import numba
from llvmlite import ir  # type: ignore[import-untyped]
from loguru import logger
from numba import types
from numba.extending import intrinsic

__all__ = ["CACHE_DIR", "CACHE_ENABLED", "cache_dir_writable", "div2", "div4", "fma", "njit"]

F = TypeVar("F", bound=Callable[..., Any])


def cache_dir_writable(path: Path) -> bool:
    """True if ``path`` exists or can be created, and a file can be written in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError:
        return False
    return True


#: ``NUMBA_CACHE_DIR`` if set (else numba picks the package's ``__pycache__`` or a user cache).
CACHE_DIR = Path(os.environ["NUMBA_CACHE_DIR"]) if os.environ.get("NUMBA_CACHE_DIR") else None
#: False when kernels are compiled in memory because no cache location is writable.
CACHE_ENABLED = CACHE_DIR is None or cache_dir_writable(CACHE_DIR)
if not CACHE_ENABLED:
    logger.warning(
        "numba cache directory {} is not writable: indicator kernels are compiled in memory "
        "at each start (set NUMBA_CACHE_DIR to a writable directory to cache them)",
        CACHE_DIR,
    )


@overload
def njit(func: F, *, nogil: bool = True) -> F: ...


@overload
def njit(func: None = None, *, nogil: bool = True) -> Callable[[F], F]: ...


def njit(func: F | None = None, *, nogil: bool = True) -> F | Callable[[F], F]:
    """Compile ``func`` in nopython mode, cached on disk when possible, strict IEEE math.

    ``nogil=True`` (the default, for batch kernels) releases the GIL during the call; per-bar
    entry points use ``nogil=False``, because releasing and re-taking the GIL costs about 50 ns
    per call.
    """
    if func is None:

        def deco(f: F) -> F:
            return njit(f, nogil=nogil)

        return deco
    global CACHE_ENABLED
    if CACHE_ENABLED:
        try:
            return cast(F, numba.njit(cache=True, nogil=nogil, fastmath=False)(func))
        except RuntimeError as exc:  # numba found no usable cache locator
            CACHE_ENABLED = False
            logger.warning("numba cannot cache {}: {}; compiling in memory", func.__name__, exc)
    return cast(F, numba.njit(cache=False, nogil=nogil, fastmath=False)(func))


@intrinsic
def _fma(typingctx: Any, a: Any, b: Any, c: Any) -> Any:
    """Fused multiply-add ``a*b + c`` with a single rounding (``llvm.fma.f64``)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        dbl = ir.DoubleType()
        fnty = ir.FunctionType(dbl, [dbl, dbl, dbl])
        fn = builder.module.declare_intrinsic("llvm.fma", [dbl], fnty)
        return builder.call(fn, args)

    return sig, codegen


#: ``fma(a, b, c)``, typed for callers (numba's ``_Intrinsic`` wrapper hides the signature).
fma: Callable[[float, float, float], float] = cast(Callable[[float, float, float], float], _fma)


_UNITUPLE: Any = types.UniTuple


def _vector_div(k: int) -> Any:
    """Codegen of k IEEE divisions as one LLVM vector ``fdiv`` (vdivpd): same results as k scalar
    divisions, at a fraction of the divider's throughput cost."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        vt = ir.VectorType(ir.DoubleType(), k)
        num = ir.Constant(vt, ir.Undefined)
        den = ir.Constant(vt, ir.Undefined)
        for q in range(k):
            idx = ir.Constant(ir.IntType(32), q)
            num = builder.insert_element(num, args[q], idx)
            den = builder.insert_element(den, args[k + q], idx)
        quo = builder.fdiv(num, den)
        vals = [builder.extract_element(quo, ir.Constant(ir.IntType(32), q)) for q in range(k)]
        return context.make_tuple(builder, signature.return_type, vals)

    return codegen


@intrinsic
def _div2(typingctx: Any, a: Any, b: Any, c: Any, d: Any) -> Any:
    """``(a/c, b/d)`` as one vector division."""
    return _UNITUPLE(types.float64, 2)(*([types.float64] * 4)), _vector_div(2)


@intrinsic
def _div4(typingctx: Any, a: Any, b: Any, c: Any, d: Any, e: Any, f: Any, g: Any, h: Any) -> Any:
    """``(a/e, b/f, c/g, d/h)`` as one vector division."""
    return _UNITUPLE(types.float64, 4)(*([types.float64] * 8)), _vector_div(4)


Q2 = tuple[float, float]
Q4 = tuple[float, float, float, float]
#: ``div2(a, b, c, d) = (a/c, b/d)``, bit-identical to two scalar divisions.
div2: Callable[[float, float, float, float], Q2] = cast(
    Callable[[float, float, float, float], Q2], _div2
)
#: ``div4(a, b, c, d, e, f, g, h) = (a/e, b/f, c/g, d/h)``, bit-identical to scalar divisions.
div4: Callable[[float, float, float, float, float, float, float, float], Q4] = cast(
    Callable[[float, float, float, float, float, float, float, float], Q4], _div4
)
