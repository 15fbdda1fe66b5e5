"""An optional PyTorch peer: the suite's networks trained by plain PyTorch code.

What a user would often pick instead of cymlp is PyTorch (through skorch,
say). ``TorchMLP`` trains the same network as scikit-learn's MLP with
``solver='adam'``, so that the times compare the same work:

* the same initial weights: scikit-learn's Glorot-uniform draws, taken from
  the same ``RandomState`` in the same order (``_init_coef``);
* the same shuffles: every epoch ``sklearn.utils.shuffle`` of the sample
  indices with that ``RandomState``, batches by ``gen_batches``;
* the same loss: softmax cross-entropy, logistic (binary) cross-entropy or
  half squared error, each with scikit-learn's delta ``p - y`` per row of the
  batch, plus ``alpha / 2 * sum(W**2) / batch rows`` (weights, not biases);
* scikit-learn's Adam, step by step: ``m = b1 m + (1 - b1) g``,
  ``v = b2 v + (1 - b2) g**2``, ``lr_t = lr sqrt(1 - b2**t) / (1 - b1**t)``,
  ``p -= lr_t m / (sqrt(v) + eps)`` (``torch.optim.Adam`` adds ``eps``
  after dividing ``sqrt(v)`` by ``sqrt(1 - b2**t)``: a different formula);
* the data's dtype (float64, or float32 for the ``_f32`` workloads), on one
  thread (``torch.set_num_threads(1)``, BLAS pinned by threadpoolctl).

``track_weights_rel_diff`` shows that it is the same network: the largest
difference between the final weights of this fit and scikit-learn's fit of
the same workload, relative to the largest weight: rounding only, below
1e-13 in float64; in float32 rounding grows over the fit's Adam steps (8e-6
on wide_f32's 30 steps, 6e-3 on tabular_f32's 1000). ``track_train_score``
is the train score to compare with the other implementations'. The
workloads are the suite's dense ``adam`` ones (not lbfgs, not sparse input).
It is plain eager PyTorch with autograd, what a user would write; no
torch.compile. Skipped when torch is not installed: it is no dependency of
cymlp, only of this benchmark environment.
"""

import math

import numpy as np
from threadpoolctl import threadpool_limits

from .common import WORKLOADS

TORCH_WORKLOADS = [name for name, wl in WORKLOADS.items()
                   if wl.params.get("solver", "adam") == "adam" and name != "sparse_csr"]


def _torch():
    try:
        import torch
    except ImportError as exc:  # asv reports NotImplementedError as skipped
        raise NotImplementedError(f"torch is not installed: {exc}")
    return torch


class TorchMLP:
    """scikit-learn's MLP training (``solver='adam'``) of one workload, in PyTorch."""

    def __init__(self, workload):
        self.kind = WORKLOADS[workload].kind
        self.params = WORKLOADS[workload].params
        assert self.params.get("solver", "adam") == "adam"
        assert not self.params.get("early_stopping", False)

    def _forward(self, weights, x):
        """The output layer's pre-activation."""
        torch = _torch()
        hidden = {"relu": torch.relu, "tanh": torch.tanh, "logistic": torch.sigmoid,
                  "identity": lambda a: a}[self.params.get("activation", "relu")]
        for i in range(0, len(weights) - 2, 2):
            x = hidden(torch.addmm(weights[i + 1], x, weights[i]))
        return torch.addmm(weights[-1], x, weights[-2])

    def _loss(self, weights, x, y, target):
        functional = _torch().nn.functional
        z = self._forward(weights, x)
        n = x.shape[0]
        if self.output == "softmax":
            loss = functional.cross_entropy(z, target, reduction="sum") / n
        elif self.output == "logistic":
            loss = functional.binary_cross_entropy_with_logits(z, y, reduction="sum") / n
        else:
            loss = 0.5 * ((z - y) ** 2).sum() / n
        penalty = sum((w * w).sum() for w in weights[0::2])
        return loss + 0.5 * self.params.get("alpha", 1e-4) * penalty / n

    def fit(self, X, y):
        torch = _torch()
        from sklearn.preprocessing import LabelBinarizer
        from sklearn.utils import check_random_state, gen_batches, shuffle

        p = self.params
        dtype = X.dtype
        rng = check_random_state(p["random_state"])
        if self.kind == "classifier":
            self.binarizer = LabelBinarizer().fit(y)
            Y = self.binarizer.transform(y).astype(dtype)
            self.output = "softmax" if self.binarizer.y_type_ == "multiclass" else "logistic"
        else:
            Y = np.asarray(y, dtype=dtype).reshape(len(y), -1)
            self.output = "identity"
        units = [X.shape[1], *p["hidden_layer_sizes"], Y.shape[1]]
        factor = 2.0 if p.get("activation", "relu") == "logistic" else 6.0
        weights = []
        for fan_in, fan_out in zip(units[:-1], units[1:]):
            bound = np.sqrt(factor / (fan_in + fan_out))
            coef = rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype)
            intercept = rng.uniform(-bound, bound, fan_out).astype(dtype)
            weights += [torch.tensor(coef, requires_grad=True),
                        torch.tensor(intercept, requires_grad=True)]
        Xt, Yt = torch.from_numpy(np.ascontiguousarray(X)), torch.from_numpy(Y)
        target = torch.from_numpy(Y.argmax(axis=1)) if self.output == "softmax" else None
        n = X.shape[0]
        batch_size = p.get("batch_size", "auto")
        batch_size = min(200, n) if batch_size == "auto" else int(np.clip(batch_size, 1, n))
        lr, eps = p.get("learning_rate_init", 1e-3), p.get("epsilon", 1e-8)
        beta_1, beta_2 = p.get("beta_1", 0.9), p.get("beta_2", 0.999)
        ms = [torch.zeros_like(w) for w in weights]
        vs = [torch.zeros_like(w) for w in weights]
        t = 0
        sample_idx = np.arange(n)
        for _ in range(p["max_iter"]):
            sample_idx = shuffle(sample_idx, random_state=rng)
            order = torch.from_numpy(sample_idx)
            for batch in gen_batches(n, batch_size):
                rows = order[batch]
                loss = self._loss(weights, Xt[rows], Yt[rows],
                                  None if target is None else target[rows])
                grads = torch.autograd.grad(loss, weights)
                t += 1
                lr_t = lr * math.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
                with torch.no_grad():
                    for w, g, m, v in zip(weights, grads, ms, vs):
                        m.mul_(beta_1).add_(g, alpha=1 - beta_1)
                        v.mul_(beta_2).addcmul_(g, g, value=1 - beta_2)
                        w.addcdiv_(m, v.sqrt().add_(eps), value=-lr_t)
        self.weights = [w.detach().numpy() for w in weights]
        self.n_iter_ = p["max_iter"]
        return self

    def score(self, X, y):
        """Accuracy (classifier) or R^2 (regressor), as the estimators' score."""
        torch = _torch()
        from sklearn.metrics import accuracy_score, r2_score

        with torch.no_grad():
            z = self._forward([torch.from_numpy(w) for w in self.weights],
                              torch.from_numpy(np.ascontiguousarray(X)))
            if self.output == "softmax":
                z = torch.softmax(z, dim=1)
            elif self.output == "logistic":
                z = torch.sigmoid(z)
        out = z.numpy()
        out = out.ravel() if out.shape[1] == 1 else out     # as the estimators' predict
        if self.kind == "classifier":
            return accuracy_score(y, self.binarizer.inverse_transform(out))
        return r2_score(y, out)


class PyTorch:
    """The PyTorch peer of each dense adam workload, 1 thread: fit time, train
    score, and the final weights' distance to scikit-learn's."""

    params = [TORCH_WORKLOADS]
    param_names = ["workload"]
    timeout = 900

    def setup_cache(self):
        """{workload: (train score, weights' relative difference to
        scikit-learn's)}, or None without torch."""
        try:
            torch = _torch()
        except NotImplementedError:
            return None
        from .common import get_estimator_class

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        results = {}
        try:
            for name in TORCH_WORKLOADS:
                wl = WORKLOADS[name]
                X, y = wl.data()
                with threadpool_limits(limits=1):
                    peer = TorchMLP(name).fit(X, y)
                    reference = get_estimator_class("sklearn", wl.kind)(**wl.params).fit(X, y)
                ours = peer.weights
                theirs = [a for pair in zip(reference.coefs_, reference.intercepts_)
                          for a in pair]
                scale = max(np.abs(a).max() for a in theirs)
                diff = max(np.abs(a - b).max() for a, b in zip(ours, theirs)) / scale
                results[name] = (float(peer.score(X, y)), float(diff))
        finally:
            torch.set_num_threads(threads)
        return results

    def setup(self, results, workload):
        torch = _torch()
        if results is None:
            raise NotImplementedError("torch is not installed")
        self.results = results[workload]
        self.X, self.y = WORKLOADS[workload].data()
        self.workload = workload
        self._threads = torch.get_num_threads()
        torch.set_num_threads(1)
        self._limiter = threadpool_limits(limits=1)

    def teardown(self, *args):
        limiter = getattr(self, "_limiter", None)
        if limiter is not None:
            limiter.restore_original_limits()
            _torch().set_num_threads(self._threads)

    def time_fit(self, results, workload):
        TorchMLP(workload).fit(self.X, self.y)

    time_fit.number = 1
    time_fit.repeat = (2, 7, 10.0)

    def track_train_score(self, results, workload):
        return self.results[0]

    track_train_score.unit = "score"

    def track_weights_rel_diff(self, results, workload):
        return self.results[1]

    track_weights_rel_diff.unit = "relative"
