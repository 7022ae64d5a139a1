"""Users' empirical NTK code ``(model, X) -> J Jᵀ``: two correct implementations and four planted defects.

Each function takes a torch module and an n × d float64 tensor and returns the n × n kernel, averaged over the
module's outputs when it has several (the ``empirical-ntk`` claim, docs/accuracy.md#empirical). They are
module-level so that the command line can load them::

    ntkverify check tests/quality/planted_empirical.py:missing_bias_term --claim empirical-ntk
"""

from __future__ import annotations

import torch
from torch.func import functional_call, jacrev, vmap


def _outputs(model, params, x):
    out = functional_call(model, params, (x[None],))
    return out.reshape(-1)  # (k,) for k outputs, (1,) for a scalar output


def _jacobian_rows(model, X, keep=lambda name: True, reduce_outputs=False):
    """Per-example, per-output Jacobians as one (k, n, P) tensor over the parameters ``keep`` selects."""
    params = {name: p.detach() for name, p in model.named_parameters() if keep(name)}
    frozen = {name: p.detach() for name, p in model.named_parameters() if not keep(name)}

    def f(p, x):
        out = _outputs(model, {**p, **frozen}, x)
        return out.sum(0, keepdim=True) if reduce_outputs else out

    jac = vmap(jacrev(f), in_dims=(None, 0))(params, X)  # name -> (n, k, *shape)
    flat = torch.cat([j.reshape(j.shape[0], j.shape[1], -1) for j in jac.values()], dim=2)  # (n, k, P)
    return flat.transpose(0, 1)


def _mean_gram(J):
    return torch.einsum("anp,amp->nm", J, J) / J.shape[0]


def jacobian_ntk(model, X):
    """Correct: per-example Jacobians with torch.func, the Gram matrix averaged over outputs."""
    return _mean_gram(_jacobian_rows(model, X))


def autograd_ntk(model, X):
    """Correct: one ``torch.autograd.grad`` per example and output, the textbook loop."""
    params = [p for p in model.parameters()]
    rows = []
    for x in X:
        out = model(x[None]).reshape(-1)
        rows.append(
            torch.stack(
                [torch.cat([g.reshape(-1) for g in torch.autograd.grad(o, params, retain_graph=True)]) for o in out]
            )
        )
    J = torch.stack(rows).transpose(0, 1)  # (k, n, P)
    return _mean_gram(J)


def missing_bias_term(model, X):
    """Defect: differentiates the weights only (a ``"weight" in name`` filter): the bias terms of K are lost."""
    return _mean_gram(_jacobian_rows(model, X, keep=lambda name: "weight" in name))


def dropped_layer(model, X):
    """Defect: skips the first layer's parameters (a loop over ``list(model.named_parameters())[1:]``-style)."""
    first = next(iter(model.named_parameters()))[0].rsplit(".", 1)[0]
    return _mean_gram(_jacobian_rows(model, X, keep=lambda name: not name.startswith(first + ".") and name != first))


def float32_accumulation(model, X):
    """Defect: the Jacobian contraction accumulated in float32."""
    J = _jacobian_rows(model, X).to(torch.float32)
    return (torch.einsum("anp,amp->nm", J, J) / J.shape[0]).to(torch.float64)


def sum_over_logits(model, X):
    """Defect: the NTK of the summed outputs Σ_a f_a instead of the mean over outputs of each output's kernel."""
    return _mean_gram(_jacobian_rows(model, X, reduce_outputs=True))
