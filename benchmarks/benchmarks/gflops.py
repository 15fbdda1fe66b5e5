"""Achieved GFLOP/s of a fit, and the same number for bare numpy GEMMs.

rate = 6 x n_weights x n_samples x epochs / fit time, with n_weights the
number of connection weights (biases not counted): per sample and per layer
the forward product, the delta back-propagation and the weight gradient,
2 flops per multiply-add each.

``implementation='numpy'`` is the reference: it runs, with ``np.matmul``
into preallocated outputs and at the same batch shapes, exactly the GEMMs an
MLP epoch needs (forward, weight gradients, and delta back-propagation for
every layer but the first, as sklearn skips the input layer's delta) and no
other work: no activation, loss, optimizer step or shuffling. Its rate is
computed with the same nominal formula, so

    rate(cymlp) / rate(numpy) = numpy GEMM time / cymlp fit time,

the fraction of BLAS speed the fit reaches (target: >= 0.7), and

    rate(numpy) / rate(sklearn) = sklearn fit time / numpy GEMM time

is the ceiling of any speedup over scikit-learn for an implementation that
runs the same GEMMs through the same BLAS: it would have to do all the rest
(activations, loss, optimizer, shuffling, validation) in no time at all.

``PredictFloor`` does the same for the 8 x 32 tanh batch predict: the
forward GEMMs alone, then the GEMMs plus numpy's tanh, on the 4000 rows of
``DeepNarrowPredict.time_predict_batch``.

Each measurement is the best of a few repetitions, timed inside the track
function so that one asv ``--quick`` run gives a usable number.
"""

import time

import numpy as np
from threadpoolctl import threadpool_limits

from .common import IMPLEMENTATIONS, THREADS, WORKLOADS

GFLOP_WORKLOADS = ["tabular", "regressor", "deep_narrow", "digits", "wide_f64",
                   "wide_f32"]


def _best_time(func, repeats):
    best = float("inf")
    for _ in range(repeats):
        tic = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - tic)
    return best


class _GemmEpochs:
    """The GEMMs of ``epochs`` epochs of mini-batch training, in numpy."""

    def __init__(self, workload):
        X, _ = workload.data()
        X = np.asarray(X)
        rng = np.random.default_rng(0)
        sizes = workload.layer_sizes()
        dtype = X.dtype
        self.X = X
        self.epochs = workload.epochs
        self.batch_size = min(workload.params["batch_size"], X.shape[0])
        self.weights = [
            (rng.standard_normal((a, b)) / np.sqrt(a)).astype(dtype)
            for a, b in zip(sizes[:-1], sizes[1:])
        ]
        self.grads = [np.empty_like(w) for w in self.weights]
        self.batch_shapes = sorted({
            min(self.batch_size, X.shape[0] - start)
            for start in range(0, X.shape[0], self.batch_size)
        })
        # activations / deltas for a full batch; partial batches use views
        self.acts = [np.empty((self.batch_size, n), dtype) for n in sizes[1:]]
        self.deltas = [np.empty((self.batch_size, n), dtype)
                       for n in sizes[1:-1]]

    def run(self):
        X, W, G = self.X, self.weights, self.grads
        n_layers = len(W)
        bs = self.batch_size
        for _ in range(self.epochs):
            for start in range(0, X.shape[0], bs):
                xb = X[start:start + bs]
                m = xb.shape[0]
                acts = [a[:m] for a in self.acts]
                deltas = [d[:m] for d in self.deltas]
                inp = xb
                for i in range(n_layers):  # forward
                    np.matmul(inp, W[i], out=acts[i])
                    inp = acts[i]
                delta = acts[-1]
                for i in range(n_layers - 1, -1, -1):  # backward
                    layer_in = xb if i == 0 else acts[i - 1]
                    np.matmul(layer_in.T, delta, out=G[i])
                    if i > 0:
                        np.matmul(delta, W[i].T, out=deltas[i - 1])
                        delta = deltas[i - 1]


class GFlops:
    """Achieved nominal GFLOP/s of ``fit`` (and of the bare numpy GEMMs)."""

    params = (GFLOP_WORKLOADS, IMPLEMENTATIONS + ["numpy"], THREADS)
    param_names = ["workload", "implementation", "threads"]
    timeout = 600
    repeats = {"numpy": 3, "cymlp": 2, "sklearn": 2}

    def setup(self, workload, implementation, threads):
        wl = WORKLOADS[workload]
        self.flops = wl.nominal_flops()
        if implementation == "numpy":
            self.run = _GemmEpochs(wl).run
        else:
            X, y = wl.data()
            estimator = wl.make_estimator(implementation)  # may skip (n/a)
            self.run = lambda: estimator.fit(X, y)
        self._limiter = threadpool_limits(limits=threads)

    def teardown(self, *args):
        limiter = getattr(self, "_limiter", None)
        if limiter is not None:
            limiter.restore_original_limits()

    def track_gflops(self, workload, implementation, threads):
        seconds = _best_time(self.run, self.repeats[implementation])
        return self.flops / seconds / 1e9

    track_gflops.unit = "GFLOP/s"


class PredictFloor:
    """Forward GEMMs (and numpy's tanh) of the 8 x 32 tanh batch predict, in
    blocks of 256 rows as cymlp's predict runs them (faster than whole-array
    products here: each block's layers stay in L2)."""

    params = (["gemm", "gemm_tanh"],)
    param_names = ["floor"]
    chunk = 256

    def setup(self, floor):
        wl = WORKLOADS["deep_narrow"]
        X, _ = wl.data()
        self.X = np.ascontiguousarray(X, dtype=np.float64)
        rng = np.random.default_rng(0)
        sizes = wl.layer_sizes()
        self.weights = [rng.standard_normal((a, b)) / np.sqrt(a)
                        for a, b in zip(sizes[:-1], sizes[1:])]
        self.acts = [np.empty((self.chunk, n)) for n in sizes[1:]]
        self.tanh = floor == "gemm_tanh"
        self._limiter = threadpool_limits(limits=1)

    def teardown(self, *args):
        self._limiter.restore_original_limits()

    def time_predict_batch(self, floor):
        last = len(self.weights) - 1
        for start in range(0, self.X.shape[0], self.chunk):
            inp = self.X[start:start + self.chunk]
            rows = inp.shape[0]
            for i, W in enumerate(self.weights):
                out = self.acts[i][:rows]
                np.matmul(inp, W, out=out)
                if self.tanh and i < last:
                    np.tanh(out, out=out)
                inp = out
