"""The fused LIF's two Triton kernels: the forward T loop and the reverse BPTT loop.

One program takes a block of neurons through all T steps with its membrane (forward) or
``dL/du`` (backward) in registers, so a layer's pass is one launch that reads each input and
writes each output once, where the torch ops launch about four kernels per step forward and
ten backward. Each kernel computes the operations of
:func:`snnattack.snn.multistep._run` and :func:`~snnattack.snn.multistep._bptt` in the same
order: a product and a sum stay two roundings (launched with ``enable_fp_fusion=False``), a
quotient is the correctly rounded one (``div_rn``; by a constant on a GPU, a product with its
reciprocal, as ATen's CUDA division by a scalar), and the scalars are rounded to float32 as
ATen rounds a Python scalar for a float32 tensor.

The surrogate is a compile-time id (:data:`~snnattack.cuda.guard.SURROGATES`) with two
runtime constants computed on the host in double precision as the surrogate's torch ops
compute them (:func:`slope_constants`); the reset and the two detach settings are
compile-time flags, and so is T (one kernel per number of steps: Triton 3.6's interpreter
cannot loop over a runtime count with numpy 2.4, which refuses its one-element array as an
index). The spikes and gradients equal the torch ops' bit for bit, under the interpreter and
on an H100, but the sigmoid surrogate's gradients, within rounding (its ``exp`` is numpy's or
the hardware's, not ATen's). The kernels are jitted on first use
(:func:`compiled`), once for the GPU compiler and once for Triton's interpreter
(``TRITON_INTERPRET=1``, which runs them on CPU tensors), whichever is set at the call, so
that importing this module decides nothing.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import triton
import triton.language as tl

from snnattack.cuda.guard import SURROGATES

BLOCK = 1024  # neurons per program
FLOAT32_MAX: tl.constexpr = tl.constexpr(3.4028234663852886e38)  # the largest finite float32
WARPS = 4  # warps per program on a GPU


def slope_constants(surrogate: int, parameter: float) -> tuple[float, float]:
    """The two constants the backward kernel's slope ``surrogate`` (an index of
    SURROGATES) reads, from its width or sharpness ``parameter``, as its torch ops
    compute them (:mod:`snnattack.snn.surrogates`): the triangle's ``w`` and ``w * w``, the
    rectangle's ``w`` and ``2 w``, the sigmoid's ``alpha``, the arctan's ``alpha / 2`` and
    ``pi / 2 * alpha``, the fast sigmoid's ``alpha``."""
    name = SURROGATES[surrogate]
    if name == "triangle":
        return parameter, parameter * parameter
    if name == "rectangle":
        return parameter, 2 * parameter
    if name == "atan":
        return parameter / 2, math.pi / 2 * parameter
    return parameter, 0.0


def _forward(
    x_ptr,
    s_ptr,
    h_ptr,
    N,
    lam,
    theta,
    drop,
    scale,
    T: tl.constexpr,
    HARD: tl.constexpr,
    STORE_H: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """``[T, N]`` currents, each times ``scale`` (an adapted neuron's input scale, 1 for
    none: exact), to spikes (and membranes ``h_t`` with ``STORE_H``)."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    xs, ss, hs = x_ptr + offs, s_ptr + offs, h_ptr + offs
    u = tl.full([BLOCK], 0.0, tl.float32)
    for _ in range(T):
        x = tl.load(xs, mask=mask, other=0.0) * scale  # rounded once, as InputScale's product
        h = u * lam + x  # charge
        s = (h >= theta).to(tl.float32)  # fire
        tl.store(ss, s, mask=mask)
        if STORE_H:
            tl.store(hs, h, mask=mask)
        if HARD:  # reset: h (1 - s) as a select (no NaN at an infinite h), or h - drop s exact
            u = tl.where(s > 0.0, 0.0, h)
        else:
            u = h - s * drop
        xs += N
        ss += N
        hs += N


def _backward(
    h_ptr,
    g_ptr,
    dx_ptr,
    N,
    lam,
    theta,
    drop,
    c1,
    c2,
    scale,
    T: tl.constexpr,
    SURROGATE: tl.constexpr,
    HARD: tl.constexpr,
    DETACH_RESET: tl.constexpr,
    DETACH_MEMBRANE: tl.constexpr,
    RECIPROCAL: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """``dL/dI`` ``[T, N]`` from the membranes and the spikes' gradient, the steps in reverse;
    the pointers are those of the last step. ``dL/dI`` is ``dL/dh`` times ``scale`` (the
    input scale's backward, one rounding; 1 for none: exact)."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    hs, gs, ds_out = h_ptr + offs, g_ptr + offs, dx_ptr + offs
    g_u = tl.full([BLOCK], 0.0, tl.float32)  # dL/du_t from step t + 1 (0 after the last)
    for t in range(T):
        h = tl.load(hs, mask=mask, other=0.0)
        ds = tl.load(gs, mask=mask, other=0.0)
        # the reset's path, where a gradient comes from the next step (as the torch loop)
        if not DETACH_RESET and not DETACH_MEMBRANE:
            if t > 0:
                if HARD:  # 0 where not finite (an infinite h: snnattack.snn.reset.reset_path)
                    p = g_u * h
                    ds = ds - tl.where(tl.abs(p) <= FLOAT32_MAX, p, 0.0)
                else:
                    ds = ds - g_u * drop
        v = h - theta
        if SURROGATE < 2:  # ds max(0, w - |v|) / w^2 (triangle), ds 1[|v| < w] / (2 w)
            if SURROGATE == 0:  # the max as a select: a NaN h keeps its NaN, as clamp's
                tri = c1 - tl.abs(v)  # (a GPU's tl.maximum, IEEE maxNum, gave 0 there)
                slope = ds * tl.where(tri < 0.0, 0.0, tri)
            else:
                slope = ds * (tl.abs(v) < c1).to(tl.float32)
            if RECIPROCAL:  # as ATen divides by a scalar on CUDA
                slope = slope * tl.math.div_rn(1.0, c2)
            else:
                slope = tl.math.div_rn(slope, c2)
        elif SURROGATE == 2:  # sigmoid: ds alpha sig (1 - sig)
            sig = tl.math.div_rn(1.0, 1.0 + tl.exp(-(c1 * v)))
            slope = ds * c1 * sig * (1.0 - sig)
        elif SURROGATE == 3:  # atan: ds (1 / (1 + (pi/2 alpha v)^2)) (alpha / 2)
            a = c2 * v
            slope = ds * (tl.math.div_rn(1.0, 1.0 + a * a) * c1)
        else:  # fast sigmoid: ds / (alpha |v| + 1)^2
            d = c1 * tl.abs(v) + 1.0
            slope = tl.math.div_rn(ds, d * d)
        if HARD:  # + g_u (1 - s_t), the product exact
            dh = slope + g_u * (h < theta).to(tl.float32)
        else:
            dh = slope + g_u
        tl.store(ds_out, dh * scale, mask=mask)
        if not DETACH_MEMBRANE:
            g_u = dh * lam
        hs -= N
        gs -= N
        ds_out -= N


def _rate_slope(c_ptr, out_ptr, N, low, high, gamma, ramp, BLOCK: tl.constexpr):
    """RGA's rate slope (:func:`snnattack.gradients.rga.rate_slope`): ``gamma`` on
    ``[0, low]``, ``ramp`` on ``(low, high]``, 0 elsewhere (and for NaN), as its two
    ``torch.where`` give it."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    c = tl.load(c_ptr + offs, mask=mask, other=0.0)
    slope = tl.where((c >= 0.0) & (c <= low), gamma, 0.0)
    slope = tl.where((c > low) & (c <= high), ramp, slope)
    tl.store(out_ptr + offs, slope, mask=mask)


@cache
def compiled(interpret: bool) -> tuple[Any, Any, Any]:
    """The forward and backward kernels (and RGA's rate slope) jitted for the GPU, or for
    the interpreter."""
    with triton.knobs.runtime.scope():
        triton.knobs.runtime.interpret = interpret
        return triton.jit(_forward), triton.jit(_backward), triton.jit(_rate_slope)
