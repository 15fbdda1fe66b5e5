"""Inference: cymlp's predict_proba against onnxruntime on the same fitted model.

The cymlp model is exported with ``cymlp.onnx.to_onnx`` (zipmap off) and run
by ``onnxruntime.InferenceSession.run``, in the model's precision: the model
is fitted on float32 data for the float32 rows, so that both compute in
float32. Both get one thread: cymlp's BLAS is pinned to 1 by threadpoolctl,
onnxruntime's session to 1 intra-op and 1 inter-op thread. Skipped when
skl2onnx or onnxruntime is not installed (the ``onnx`` extra).

Networks: the 8x32 tanh classifier (``deep_narrow``) and the 20-100-5 relu
classifier (``tabular``). One row at steady state (as
``track_predict_proba_single_row_us`` in deep.py), and 4000 rows.
"""

import numpy as np
from threadpoolctl import threadpool_limits

from .common import WORKLOADS, steady_state_us

RUNTIMES = ["cymlp", "onnxruntime"]
NETWORKS = ["deep_narrow", "tabular"]
DTYPES = ["float32", "float64"]
BATCH_ROWS = 4000


def _onnx_modules():
    try:
        import onnxruntime
        import cymlp.onnx
    except ImportError as exc:  # asv reports NotImplementedError as skipped
        raise NotImplementedError(f"the onnx extra is not installed: {exc}")
    return onnxruntime, cymlp.onnx


class OnnxInference:
    """predict_proba (cymlp) vs InferenceSession.run (onnxruntime), 1 thread."""

    params = (RUNTIMES, NETWORKS, DTYPES)
    param_names = ["runtime", "network", "dtype"]
    timeout = 600

    def setup_cache(self):
        fitted = {}
        for network in NETWORKS:
            wl = WORKLOADS[network]
            X, y = wl.data()
            for dtype in DTYPES:
                with threadpool_limits(limits=2):
                    model = wl.make_estimator("cymlp").fit(X.astype(dtype), y)
                fitted[network, dtype] = model
        return fitted

    def setup(self, fitted, runtime, network, dtype):
        model = fitted[network, dtype]
        X = WORKLOADS[network].data()[0].astype(dtype)
        self.batch = np.ascontiguousarray(X[:BATCH_ROWS])
        self.row = X[:1].copy()
        self._limiter = threadpool_limits(limits=1)
        if runtime == "cymlp":
            self.predict_proba = model.predict_proba
            return
        onnxruntime, cymlp_onnx = _onnx_modules()
        onx = cymlp_onnx.to_onnx(model, self.row, options={id(model): {"zipmap": False}})
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            onx.SerializeToString(), options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        outputs = [session.get_outputs()[1].name]  # the probabilities
        run = session.run
        self.predict_proba = lambda X: run(outputs, {name: X})[0]
        np.testing.assert_allclose(  # the same model, or the timing means nothing
            self.predict_proba(self.batch), model.predict_proba(self.batch),
            atol=1e-5 if dtype == "float32" else 1e-9)

    def teardown(self, *args):
        self._limiter.restore_original_limits()

    def time_predict_proba_batch(self, *args):
        self.predict_proba(self.batch)

    def track_predict_proba_single_row_us(self, *args):
        """Steady-state single-row latency in µs (see ``steady_state_us``)."""
        return steady_state_us(self.predict_proba, self.row)

    track_predict_proba_single_row_us.unit = "µs"
