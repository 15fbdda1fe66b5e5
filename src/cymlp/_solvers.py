# Follows scikit-learn's sklearn/neural_network/_multilayer_perceptron.py
# (the stochastic solver loop, early stopping, the L-BFGS call);
# its notice is kept, as its license requires:
# Authors: The scikit-learn developers
# SPDX-License-Identifier: BSD-3-Clause
# (full text, and cymlp's own notice, in LICENSE)
"""The solver loops: stochastic epochs with early stopping, and L-BFGS.

Each solver trains a ``NetworkState`` in place and returns a ``Progress``
record (epochs run, losses, validation scores, gradient norms, the early
stopping counters) that the estimator applies to its fitted attributes. The
stochastic loop runs one ``train_epoch`` call per epoch (the batches run in
C without the GIL) and keeps scikit-learn's order of random draws: the
epoch's shuffle, then (with dropout) the seed of its masks. L-BFGS is
scipy's ``L-BFGS-B`` on the kernels' full-batch loss and gradient; with
``verbose`` it prints one line per iteration with the loss, as the
stochastic loop does per epoch (scikit-learn's L-BFGS prints nothing).

A solver that diverges raises ValueError (the estimator's fit transaction
then restores the estimator), except with early stopping, which ends with
the best weights it saw, as in scikit-learn. Ctrl-C ends training with a
warning; the record then holds what was done.
"""

import math
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.fixes import _get_additional_lbfgs_options_dict

from . import _dispatch
from ._warnings import check_lbfgs_result, warn

NON_FINITE = (
    "Solver produced non-finite parameter weights. The input data may contain "
    "large values and need to be preprocessed."
)


@dataclass
class Progress:
    """Where training stands: scikit-learn keeps it in the estimator's attributes.

    A solver starts from the estimator's record (``of``) and returns the
    updated one, which ``apply_to`` writes back: ``loss_curve``,
    ``validation_scores`` and ``gradient_norms`` hold only the new entries.
    """

    n_iter: int = 0
    t: int = 0
    loss: float = None
    best_loss: float = None
    best_validation_score: float = None
    no_improvement_count: int = 0
    loss_curve: list = field(default_factory=list)
    validation_scores: list = field(default_factory=list)
    gradient_norms: np.ndarray = None

    @staticmethod
    def fresh_attributes(n_layers, stochastic, early_stopping):
        """scikit-learn's progress attributes of a new network, before training."""
        attributes = {"n_iter_": 0, "t_": 0,
                      "gradient_norms_": np.empty((0, n_layers - 1))}
        if stochastic:
            attributes.update(loss_curve_=[], _no_improvement_count=0)
            if early_stopping:
                attributes.update(validation_scores_=[], best_validation_score_=-np.inf,
                                  best_loss_=None)
            else:
                attributes.update(best_loss_=np.inf, validation_scores_=None,
                                  best_validation_score_=None)
        return attributes

    @classmethod
    def of(cls, estimator):
        """The record of a fitted (or freshly initialized) estimator."""
        return cls(t=estimator.t_, loss=getattr(estimator, "loss_", None),
                   best_loss=getattr(estimator, "best_loss_", None),
                   best_validation_score=getattr(estimator, "best_validation_score_", None),
                   no_improvement_count=getattr(estimator, "_no_improvement_count", 0))

    def apply_to(self, estimator):
        """Write the record into the estimator's fitted attributes."""
        estimator.n_iter_ = self.n_iter
        estimator.t_ = self.t
        if self.loss is not None:   # None: interrupted in the first epoch of a new fit
            estimator.loss_ = self.loss
        if isinstance(getattr(estimator, "loss_curve_", None), list):
            estimator.loss_curve_.extend(self.loss_curve)
            estimator.best_loss_ = self.best_loss
            estimator._no_improvement_count = self.no_improvement_count
        if isinstance(getattr(estimator, "validation_scores_", None), list):
            estimator.validation_scores_.extend(self.validation_scores)
            estimator.best_validation_score_ = self.best_validation_score
        if self.gradient_norms is not None and len(self.gradient_norms):
            estimator.gradient_norms_ = np.vstack([estimator.gradient_norms_,
                                                   self.gradient_norms])


@dataclass(frozen=True)
class StochasticSettings:
    """The constructor parameters the stochastic loop reads, resolved for one call."""

    max_iter: int
    batch_size: int
    shuffle: bool
    alpha: float
    tol: float
    n_iter_no_change: int
    verbose: bool
    incremental: bool
    n_threads: int = None      # the data-parallel path's threads (n_jobs), or None

    @classmethod
    def of(cls, estimator, n_samples, incremental, n_threads):
        """The estimator's settings for a stochastic fit on ``n_samples`` rows."""
        return cls(max_iter=estimator.max_iter,
                   batch_size=batch_size_for(estimator.batch_size, n_samples),
                   shuffle=estimator.shuffle, alpha=float(estimator.alpha),
                   tol=estimator.tol, n_iter_no_change=estimator.n_iter_no_change,
                   verbose=estimator.verbose, incremental=incremental, n_threads=n_threads)


@dataclass(frozen=True)
class LbfgsSettings:
    """The constructor parameters L-BFGS reads."""

    max_iter: int
    max_fun: int
    alpha: float
    tol: float
    verbose: bool
    n_threads: int = None      # the data-parallel path's threads (n_jobs), or None

    @classmethod
    def of(cls, estimator, n_threads):
        """The estimator's settings for an L-BFGS fit."""
        return cls(max_iter=estimator.max_iter, max_fun=estimator.max_fun,
                   alpha=float(estimator.alpha), tol=estimator.tol,
                   verbose=estimator.verbose, n_threads=n_threads)


@dataclass(frozen=True)
class Validation:
    """Early stopping's held-out set and how to score the model on it."""

    X: object
    y: object
    sample_weight: object
    score: object    # score(X, y, sample_weight) -> float, higher is better


def batch_size_for(batch_size, n_samples):
    """scikit-learn's batch size: 'auto' is min(200, n_samples); others are clipped."""
    if batch_size == "auto":
        return min(200, n_samples)
    if batch_size > n_samples:
        warn(
            "Got `batch_size` less than 1 or larger than "
            "sample size. It is going to be clipped"
        )
    return int(np.clip(batch_size, 1, n_samples))


def fit_stochastic(state, data, optimizer, settings, progress, random_state,
                   validation=None, callbacks=None):
    """Train ``state`` in place with SGD or Adam; return the updated ``progress``.

    ``data`` is the state's ``TrainingSet``; ``random_state`` draws the
    shuffles and dropout seeds; ``validation`` (early stopping) is scored
    after each epoch, and the best epoch's weights are restored at the end.
    """
    progress = replace(progress, n_iter=0, loss_curve=[], validation_scores=[])
    n_samples = data.n_samples
    order = np.arange(n_samples, dtype=np.intp)
    norm_sums = np.zeros(len(state.units) - 1)
    norms = np.zeros((settings.max_iter, len(state.units) - 1))
    plan = state.epoch_plan(data, optimizer, settings.batch_size, settings.alpha,
                            order if settings.shuffle else None, norm_sums, settings.n_threads)
    from ._shuffle import shuffler_for   # only stochastic fits need it

    # sklearn.utils.shuffle(order) draws exactly what
    # random_state.shuffle(order) draws; this does the same.
    shuffle = shuffler_for(random_state)
    has_dropout = any(state.config["dropout"])
    loss_type = state.loss_type()
    try:
        for it in range(settings.max_iter):
            if settings.shuffle:
                shuffle(order)
            if has_dropout:
                plan.seed(random_state.randint(np.iinfo(np.int64).max))
            if callbacks is not None:
                callbacks.begin_task("epoch")
            loss_sum, n_batches = _dispatch.network.train_epoch(
                plan, optimizer.epoch_learning_rate())
            # mean over the batches that stepped (zero-weight ones do not)
            np.divide(norm_sums, max(n_batches, 1), out=norms[it])
            norm_sums[:] = 0.0
            progress.n_iter += 1
            progress.loss = loss_type(np.float64(loss_sum) / n_samples)
            progress.t += n_samples
            progress.loss_curve.append(progress.loss)
            if settings.verbose:
                print("Iteration %d, loss = %.8f" % (progress.n_iter, progress.loss))
            # Diverged: early stopping goes on (scikit-learn records NaN
            # validation scores and keeps the best weights); else give up.
            if (validation is None and not math.isfinite(progress.loss)
                    and not state.is_finite()):
                raise ValueError(NON_FINITE)

            _count_no_improvement(progress, state, settings, validation)
            optimizer.iteration_ends(progress.t)
            if callbacks is not None and callbacks.end_task(state):
                break

            if progress.no_improvement_count > settings.n_iter_no_change:
                what = "Validation score" if validation is not None else "Training loss"
                msg = ("%s did not improve more than tol=%f for %d consecutive epochs."
                       % (what, settings.tol, settings.n_iter_no_change))
                if optimizer.trigger_stopping(msg, settings.verbose):
                    break
                progress.no_improvement_count = 0

            if settings.incremental:
                break

            if progress.n_iter == settings.max_iter:
                warn(
                    "Stochastic Optimizer: Maximum iterations (%d) "
                    "reached and the optimization hasn't converged yet."
                    % settings.max_iter,
                    ConvergenceWarning,
                )
    except KeyboardInterrupt:
        warn("Training interrupted by user.")
    finally:
        progress.gradient_norms = norms[:progress.n_iter]
        if callbacks is not None:
            callbacks.close_task()

    if validation is not None:  # the best epoch's model: weights and statistics
        state.restore_best()
    return progress


def _count_no_improvement(progress, state, settings, validation):
    """scikit-learn's end-of-epoch bookkeeping: the validation score (early
    stopping) or the training loss, the best so far, epochs without progress."""
    if validation is not None:
        score = validation.score(validation.X, validation.y, validation.sample_weight)
        progress.validation_scores.append(score)
        if settings.verbose:
            print("Validation score: %f" % score)
        if score < progress.best_validation_score + settings.tol:
            progress.no_improvement_count += 1
        else:
            progress.no_improvement_count = 0
        if score > progress.best_validation_score:
            progress.best_validation_score = score
            state.save_best()
    else:
        if progress.loss_curve[-1] > progress.best_loss - settings.tol:
            progress.no_improvement_count += 1
        else:
            progress.no_improvement_count = 0
        if progress.loss_curve[-1] < progress.best_loss:
            progress.best_loss = progress.loss_curve[-1]


def fit_lbfgs(state, data, settings, progress, callbacks=None):
    """Train ``state`` with scipy's L-BFGS-B on the full batch; return
    ``progress`` with the iterations run, the final loss and gradient norms.
    """
    # scikit-learn's squared error averages over the outputs but its gradient
    # does not (scikit-learn issue 8349): the output delta is scaled to agree
    delta_scale = 1.0 / state.units[-1] if state.head == "squared_error" else 1.0
    norms_now = np.zeros(len(state.units) - 1)
    norms = []
    plan = state.gradient_plan(data, settings.alpha, delta_scale, norms_now,
                               settings.n_threads)
    grads = np.empty(state.layout.n_params, dtype=state.dtype)

    def loss_grad(x, running_momentum=0.0):
        loss = state.loss_and_gradient(plan, x, grads, running_momentum)
        return loss, (grads if grads.dtype == np.float64 else grads.astype(np.float64))

    last_x = [state.params_copy(np.float64)]

    def record(intermediate_result):
        last_x[0] = intermediate_result.x.copy()  # scipy reuses its array
        norms.append(norms_now.copy())
        if settings.verbose:   # scikit-learn's L-BFGS prints nothing (its issue 10236)
            print("Iteration %d, loss = %.8f" % (len(norms), intermediate_result.fun))
        if callbacks is not None:
            if callbacks.end_task(state, intermediate_result.x):
                raise StopIteration  # a callback asked to stop: scipy ends here
            callbacks.begin_task("lbfgs-iter")

    if callbacks is not None:
        callbacks.begin_task("lbfgs-iter")

    progress = replace(progress, n_iter=0, loss_curve=[], validation_scores=[])
    try:
        opt_res = scipy.optimize.minimize(
            loss_grad, last_x[0], method="L-BFGS-B", jac=True, callback=record,
            options={
                "maxfun": settings.max_fun,
                "maxiter": settings.max_iter,
                "gtol": settings.tol,
                # scipy < 1.15 would print its own report too: one report only
                **_get_additional_lbfgs_options_dict("iprint", -1),
            },
        )
    except KeyboardInterrupt:
        warn("Training interrupted by user.")
        state.set_params(last_x[0])
        progress.n_iter = len(norms)
        progress.loss = state.loss_type()(loss_grad(state.params_copy(np.float64))[0])
    else:
        if opt_res.status == 99:  # stopped by a callback, not a convergence failure
            progress.n_iter = opt_res.nit
        else:
            progress.n_iter = check_lbfgs_result(opt_res, settings.max_iter)
        progress.loss = state.loss_type()(opt_res.fun)
        state.set_params(opt_res.x)
    finally:
        progress.gradient_norms = np.array(norms).reshape(len(norms), len(state.units) - 1)
        if callbacks is not None:
            callbacks.close_task()
    if state.layout.n_running:
        # Batch norm's statistics at the solution, over the whole batch
        loss_grad(state.params_copy(np.float64), running_momentum=1.0)
    return progress
