"""Cost of cymlp's extras (beyond scikit-learn) and of its diagnostics.

* ``Extras.time_fit``: one tabular fit (20-100-5, batch 200, adam, fixed
  epochs) with each extra switched on in turn; 'default' is the
  scikit-learn-equivalent path, so each row reads as the extra's cost. That
  the default path is no slower than before is what ``asv continuous``
  between two commits shows on 'default' (and on every other module). The
  ``loss=`` rows fit a regressor (20-100-1, the same budget) with each
  regression loss: 'loss=squared_error' is the regressor's default and the
  reference of the others (target: each new loss at most 1.2x its time).
* ``GradientNorms.time_epoch``: one training epoch through the kernel's
  (``train_epoch``) with the per-layer gradient norms (``gradient_norms_``) on and
  off; the target is a cost below 3 % of fit time.
"""

import numpy as np
from threadpoolctl import threadpool_limits

from .common import ConvergenceWarning  # noqa: F401  (filters the warning)

EXTRAS = {
    "default": {},
    "leaky_relu": {"activation": "leaky_relu"},
    "prelu": {"activation": "prelu"},
    "elu": {"activation": "elu"},
    "gelu": {"activation": "gelu"},
    "per_layer": {"hidden_layer_sizes": (50, 50), "activation": ["tanh", "relu"]},
    "dropout": {"dropout": 0.2},
    "batch_norm": {"batch_norm": True},
    "class_weight": {"class_weight": "balanced"},
    "loss=squared_error": {},
    "loss=absolute_error": {"loss": "absolute_error"},
    "loss=quantile": {"loss": "quantile", "quantile": 0.9},
}


def _tabular():
    from sklearn.datasets import make_classification

    return make_classification(n_samples=10_000, n_features=20, n_informative=12,
                               n_classes=5, random_state=0)


def _regression():
    from sklearn.datasets import make_regression

    X, y = make_regression(n_samples=10_000, n_features=20, n_informative=12,
                           noise=5.0, random_state=0)
    return X, (y - y.mean()) / y.std()


class Extras:
    params = [list(EXTRAS)]
    param_names = ["extra"]

    def setup(self, extra):
        try:
            from cymlp import MLPClassifier, MLPRegressor
        except ImportError as exc:
            raise NotImplementedError(str(exc))
        regression = extra.startswith("loss=")
        if regression and "quantile" not in MLPRegressor().get_params():
            raise NotImplementedError("this cymlp has only scikit-learn's regression losses")
        self.X, self.y = _regression() if regression else _tabular()
        kw = dict(hidden_layer_sizes=(100,), max_iter=5, tol=0, n_iter_no_change=5,
                  random_state=0)
        kw.update(EXTRAS[extra])
        self.estimator = (MLPRegressor if regression else MLPClassifier)(**kw)
        self.limits = threadpool_limits(1)

    def teardown(self, extra):
        self.limits.restore_original_limits()

    def time_fit(self, extra):
        self.estimator.fit(self.X, self.y)

    def track_train_score(self, extra):
        return self.estimator.fit(self.X, self.y).score(self.X, self.y)


class GradientNorms:
    params = [["on", "off"]]
    param_names = ["gradient_norms"]

    def setup(self, norms):
        try:
            from cymlp import _layout, _network
        except ImportError as exc:
            raise NotImplementedError(str(exc))
        X, y = _tabular()
        X, Y = np.ascontiguousarray(X), np.eye(5)[y]
        layout = _layout.Layout([20, 100, 5], ["relu"], "log_loss")
        rng = np.random.RandomState(0)
        params = rng.uniform(-0.1, 0.1, layout.n_params)
        self.order = np.arange(len(X), dtype=np.intp)
        grad_norms = np.zeros(2) if norms == "on" else None
        try:
            from cymlp import _plans
        except ImportError:  # cymlp 0.1.0: one EpochRunner of 21 arguments
            runner = _network.EpochRunner(
                layout, _layout.Workspace(layout, 200, np.float64, True), params,
                np.empty_like(params), np.zeros_like(params), np.zeros_like(params),
                np.zeros(0), X, Y, None, self.order, 200, _network.SOLVER_CODES["adam"],
                0.9, True, 0.9, 0.999, 1e-8, np.zeros(1, dtype=np.int64), 1e-4, grad_norms)
            self.run = runner.run
        else:
            rule = _plans.adam_rule(np.zeros_like(params), np.zeros_like(params),
                                    np.zeros(1, dtype=np.int64), 0.9, 0.999, 1e-8)
            plan = _plans.EpochPlan(layout, params, None, _plans.TrainingSet(layout, X, Y),
                                    rule, 200, 1e-4, self.order, grad_norms)
            self.run = lambda learning_rate: _network.train_epoch(plan, learning_rate)
        self.limits = threadpool_limits(1)

    def teardown(self, norms):
        self.limits.restore_original_limits()

    def time_epoch(self, norms):
        self.run(1e-3)
