"""Numba helpers shared by the batch kernels and the streaming set: ``fma`` and ``njit``.

These only accept numba-compatible types. ``fma`` lowers to LLVM's ``llvm.fma.f64`` (one rounding),
which is what TA-Lib 0.8 uses in its EMA update. ``njit`` caches compiled kernels on disk
(``cache=True``) when the cache directory is writable; when it is not (``NUMBA_CACHE_DIR``
pointing to a read-only place, or a read-only install), it logs one warning on the
``trading_engine.indicators`` logger and compiles in memory instead.
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

__all__ = ["CACHE_DIR", "CACHE_ENABLED", "cache_dir_writable", "fma", "njit"]

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


#: Where numba caches these kernels: ``NUMBA_CACHE_DIR`` if set, else next to this package.
CACHE_DIR = Path(os.environ.get("NUMBA_CACHE_DIR") or Path(__file__).parent / "__pycache__")
#: False when the cache directory is not writable: kernels are then compiled in memory.
CACHE_ENABLED = cache_dir_writable(CACHE_DIR)
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
