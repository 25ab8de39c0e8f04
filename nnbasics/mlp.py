"""The deep feedforward network of the course, with hand-written backpropagation.

    a⁽ᵏ⁾ = b⁽ᵏ⁾ + W⁽ᵏ⁾ h⁽ᵏ⁻¹⁾,   h⁽ᵏ⁾ = g(a⁽ᵏ⁾),   h⁽⁰⁾ = x,   f(x) = o(a⁽ᴸ⁺¹⁾)

Batch-first: X is (n, d_in), W⁽ᵏ⁾ is (d_in, d_out) and a⁽ᵏ⁾ = h⁽ᵏ⁻¹⁾ W⁽ᵏ⁾ + b⁽ᵏ⁾.
``MLP`` is a frozen, hashable configuration (usable as a static ``jit``
argument); its methods are pure functions of explicit parameters.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nnbasics import _checks, graph
from nnbasics import init as initializers
from nnbasics.activations import HIDDEN
from nnbasics.losses import OUTPUT
from nnbasics.regularizers import add_penalty_grads, l1_penalty, l2_penalty, penalty


class Tape(NamedTuple):
    """What one layer's forward pass saw: its input h⁽ᵏ⁻¹⁾ and pre-activation a⁽ᵏ⁾.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> net = MLP((2, 3, 1), output="linear")
      >>> z, tapes = net.forward(net.init(jax.random.key(0)), jnp.ones((4, 2)))
      >>> [(t.h.shape, t.a.shape) for t in tapes]
      [((4, 2), (4, 3)), ((4, 3), (4, 1))]
    """

    h: jax.Array
    a: jax.Array


def _received_params(params) -> str:
    """How a refusal names a ``params`` that is not a list of the right number of layers."""
    if isinstance(params, (list, tuple)):
        return f"{len(params)} layers"
    if hasattr(params, "shape"):  # an array; under jit a tracer, whose type name means nothing
        return f"an array of shape {tuple(params.shape)}"
    return type(params).__name__


@dataclasses.dataclass(frozen=True)
class MLP:
    """A feedforward network configuration.

    Attributes:
      sizes: (d_in, hidden widths..., d); at least two entries, all positive.
      hidden: hidden unit, one of relu, sigmoid, tanh, linear, softplus, maxout.
      output: output unit, one of sigmoid, softmax, linear, gaussian, mixture
        (see ``nnbasics.losses`` for each one's width and targets).
      pieces: linear pieces per maxout unit.
      components: mixture components K.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> net = MLP(sizes=(2, 8, 3), hidden="tanh", output="softmax")
      >>> params = net.init(jax.random.key(0))
      >>> [layer["W"].shape for layer in params]
      [(2, 8), (8, 3)]
      >>> X, y = jnp.ones((5, 2)), jnp.array([0, 1, 2, 0, 1])
      >>> net.apply(params, X).shape, net.predict(params, X).shape
      ((5, 3), (5,))
      >>> J, grads = net.backprop(params, X, y, l2=1e-3)  # hand-written, no jax.grad
      >>> bool(jnp.isclose(J, net.loss(params, X, y, l2=1e-3)))
      True
    """

    sizes: tuple
    hidden: str = "relu"
    output: str = "softmax"
    pieces: int = 2
    components: int = 3

    def __post_init__(self):
        try:
            sizes = tuple(self.sizes)
        except TypeError:
            _checks.fail("sizes", "a sequence of at least two positive integers", self.sizes)
        if len(sizes) < 2:
            _checks.fail("sizes", "at least two layer sizes (d_in, ..., d_out)", self.sizes)
        for i, s in enumerate(sizes):
            _checks.positive_int(f"sizes[{i}]", s)
        object.__setattr__(self, "sizes", tuple(int(s) for s in sizes))
        _checks.one_of("hidden", self.hidden, tuple(HIDDEN))
        _checks.one_of("output", self.output, tuple(OUTPUT))
        _checks.positive_int("pieces", self.pieces)
        _checks.positive_int("components", self.components)

    # --- shapes

    @property
    def out_width(self) -> int:
        """Width of the output pre-activation z (e.g. 2d for gaussian)."""
        return OUTPUT[self.output].width(self.sizes[-1], self.components)

    def layer_shapes(self):
        """[(W shape, b shape)] per layer; maxout hidden layers carry a trailing pieces axis."""
        widths = self.sizes[:-1] + (self.out_width,)
        shapes = []
        for k, (d_in, d_out) in enumerate(zip(widths[:-1], widths[1:])):
            hidden_maxout = self.hidden == "maxout" and k < len(widths) - 2
            extra = (self.pieces,) if hidden_maxout else ()
            shapes.append(((d_in, d_out) + extra, (d_out,) + extra))
        return shapes

    # --- parameters and forward pass

    def init(self, key, dtype=jnp.float32):
        """Glorot-uniform weights, zero biases: a list of {"W", "b"} per layer.

        One compiled program per (network, dtype), rather than one per eager operation.
        """
        _checks.prng_key("key", key)
        return _init(self, key, jnp.dtype(dtype))

    def forward(self, params, X):
        """Runs the dense and activation boxes' fprop; returns (z, tapes) for backprop.

        Args:
          params: list of layers {"W", "b"}.
          X: inputs (n, d_in).
        Returns:
          z: the output pre-activation a⁽ᴸ⁺¹⁾ (n, out_width).
          tapes: one ``Tape(h⁽ᵏ⁻¹⁾, a⁽ᵏ⁾)`` per layer.
        """
        self._check_inputs(params, X)
        h, tapes = X, []
        for k, layer in enumerate(params):
            a = graph.dense.fprop(layer, h)
            tapes.append(Tape(h, a))
            h = graph.activation.fprop(self.hidden, a) if k < len(params) - 1 else a
        return h, tapes

    def apply(self, params, X):
        """The output pre-activation z = a⁽ᴸ⁺¹⁾(X), shape (n, out_width)."""
        return self.forward(params, X)[0]

    def predict(self, params, X):
        """Class labels (softmax: (n,); sigmoid: {0,1} (n, d)) or predicted means (n, d).

        Rows of a concrete X holding NaN or inf are refused (ValueError naming
        them) rather than silently predicted.
        """
        _checks.finite_rows("X", X)
        return OUTPUT[self.output].predict(self.apply(params, X), self.sizes[-1])

    # --- loss and its hand-written gradient

    def loss(self, params, X, y, l2=0.0, l1=0.0, weights=None):
        """J = (1/n) Σ nll(f(xₙ), yₙ) + (l2/2) Σ‖W‖² + l1 Σ|W|  (weights only).

        ``weights`` (n,), optional, makes the first term Σ wₙ nllₙ / Σ wₙ
        (``fit`` pads its last minibatch with rows of weight 0).
        """
        self._check_targets(X, y, weights)
        z = self.apply(params, X)
        return graph.loss.fprop(self.output, z, y, weights) + penalty(params, l2, l1)

    def backprop(self, params, X, y, l2=0.0, l1=0.0, weights=None):
        """(J, ∇J): the course's backpropagation, with no automatic differentiation.

        δ⁽ᴸ⁺¹⁾ = −(e(y) − f(x))/n (the output unit's ∂nll/∂z); then for k = L+1 … 1:
        ∇W⁽ᵏ⁾ = h⁽ᵏ⁻¹⁾ᵀ δ⁽ᵏ⁾, ∇b⁽ᵏ⁾ = Σₙ δ⁽ᵏ⁾, ∇h⁽ᵏ⁻¹⁾ = δ⁽ᵏ⁾ W⁽ᵏ⁾ᵀ,
        δ⁽ᵏ⁻¹⁾ = ∇h⁽ᵏ⁻¹⁾ ⊙ g′(a⁽ᵏ⁻¹⁾); finally the penalties' gradients are added
        to the weights. Equals ``jax.value_and_grad(self.loss)``.
        """
        J, grads, _ = self._backprop(params, X, y, l2, l1, weights, input_grad=False)
        return J, grads

    def _backprop(self, params, X, y, l2, l1, weights, input_grad):
        self._check_targets(X, y, weights)
        z, tapes = self.forward(params, X)
        J = graph.loss.fprop(self.output, z, y, weights) + penalty(params, l2, l1)
        delta = graph.loss.bprop(self.output, z, y, weights)
        grads = [None] * len(params)
        for k in reversed(range(len(params))):
            # ∇X is only wanted by manual_loss's vjp; training skips that matmul.
            need_input = k > 0 or input_grad
            grads[k], grad_h = graph.dense.bprop(params[k], tapes[k].h, delta, need_input)
            if k > 0:
                delta = graph.activation.bprop(self.hidden, tapes[k - 1].a, grad_h)
        return J, add_penalty_grads(grads, params, l2, l1), grad_h

    def manual_loss(self, params, X, y, l2=0.0, l1=0.0, weights=None):
        """``self.loss`` whose derivative, under ``jax.grad``/``vjp``, is ``self.backprop``.

        A ``jax.custom_vjp``: the forward pass runs the hand-written backprop
        and keeps its gradients, the backward pass scales them by the incoming
        cotangent. So ``jax.grad(net.manual_loss)(params, X, y)`` trains through
        the hand-written pass, and per-example gradients are
        ``jax.vmap(jax.grad(lambda p, x, t: net.manual_loss(p, x[None], t[None])),
        in_axes=(None, 0, 0))(params, X, y)``. Cotangents flow to params, X, l2
        and l1 (∂J/∂l2 = ½Σ‖W‖², ∂J/∂l1 = Σ|W|); y and weights are treated as constants.
        """
        return _manual_loss(self, params, X, y, l2, l1, weights)

    # --- validation at trace time (shapes, dtypes), and of values when concrete

    def _check_inputs(self, params, X):
        shapes = self.layer_shapes()
        if not isinstance(params, (list, tuple)) or len(params) != len(shapes):
            _checks.fail(
                "params",
                f"a list of {len(shapes)} layers {{'W', 'b'}}",
                _received_params(params),
            )
        for k, (layer, (w_shape, b_shape)) in enumerate(zip(params, shapes)):
            for name, shape in (("W", w_shape), ("b", b_shape)):
                got = tuple(jnp.shape(layer[name]))
                if got != shape:
                    _checks.fail(f"params[{k}]['{name}']", f"shape {shape}", f"shape {got}")
        ndim = jnp.ndim(X)
        if ndim != 2 or jnp.shape(X)[1] != self.sizes[0]:
            _checks.fail("X", f"shape (n, {self.sizes[0]})", f"shape {tuple(jnp.shape(X))}")

    def _check_targets(self, X, y, weights=None):
        n, d = jnp.shape(X)[0] if jnp.ndim(X) else None, self.sizes[-1]
        if weights is not None and tuple(jnp.shape(weights)) != (n,):
            _checks.fail(
                "weights",
                f"per-example weights of shape ({n},)",
                f"shape {tuple(jnp.shape(weights))}",
            )
        target = OUTPUT[self.output].target
        shape = tuple(jnp.shape(y))
        if target == "labels":
            if shape != (n,) or not jnp.issubdtype(jnp.result_type(y), jnp.integer):
                _checks.fail(
                    "y",
                    f"integer class labels of shape ({n},) for output '{self.output}'",
                    f"{jnp.result_type(y)} of shape {shape}",
                )
        elif shape != (n, d):
            _checks.fail(
                "y", f"targets of shape ({n}, {d}) for output '{self.output}'", f"shape {shape}"
            )
        if not _checks.is_concrete(y):
            return
        values = np.asarray(y)
        if target == "labels" and values.size and (values.min() < 0 or values.max() >= d):
            _checks.fail("y", f"labels in 0..{d - 1}", f"labels in {values.min()}..{values.max()}")
        if target == "binary" and not np.all((values == 0) | (values == 1)):
            _checks.fail(
                "y",
                f"0/1 targets for output '{self.output}'",
                f"values {np.unique(values)[:5].tolist()}",
            )
        if target == "real":
            _checks.finite_array("y", values)


@functools.partial(jax.jit, static_argnums=(0, 2))
def _init(net, key, dtype):
    shapes = net.layer_shapes()
    weights = initializers.glorot_uniform_layers(key, [w for w, _ in shapes], dtype)
    return [
        {"W": W, "b": initializers.zeros(b_shape, dtype)}
        for W, (_, b_shape) in zip(weights, shapes)
    ]


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _manual_loss(net, params, X, y, l2, l1, weights):
    return net.loss(params, X, y, l2, l1, weights)


def _manual_loss_fwd(net, params, X, y, l2, l1, weights):
    J, grads, grad_X = net._backprop(params, X, y, l2, l1, weights, input_grad=True)
    return J, (grads, grad_X, l2_penalty(params), l1_penalty(params))


def _manual_loss_bwd(net, residuals, g):
    grads, grad_X, d_l2, d_l1 = residuals
    return (jax.tree.map(lambda t: g * t, grads), g * grad_X, None, g * d_l2, g * d_l1, None)


_manual_loss.defvjp(_manual_loss_fwd, _manual_loss_bwd)
