"""Numba helpers shared by the batch kernels and the streaming set: ``fma`` and ``njit``.

These only accept numba-compatible types. ``fma`` lowers to LLVM's ``llvm.fma.f64`` (one rounding),
which is what TA-Lib 0.8 uses in its EMA update.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
from llvmlite import ir  # type: ignore[import-untyped]
from numba import types
from numba.extending import intrinsic

__all__ = ["fma", "njit"]

F = TypeVar("F", bound=Callable[..., Any])


def njit(func: F) -> F:
    """Compile ``func`` in nopython mode, cached on disk (``cache=True``), strict IEEE math."""
    return cast(F, numba.njit(cache=True, nogil=True, fastmath=False)(func))


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
