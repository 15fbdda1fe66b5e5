"""scikit-learn's callback hooks (``sklearn.callback``) around one cymlp fit."""


class FitCallbacks:
    """scikit-learn's callback hooks around one fit: a task per epoch/iteration.

    Hooks get the data as passed to fit and, lazily, a fitted copy of the
    estimator at the end of each task (``reconstruction_attributes``).
    """

    def __init__(self, context, estimator, X, y, sample_weight):
        self.context = context
        self.estimator = estimator
        self.X = X
        self.y = y
        self.metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        self.task = None

    def _hook_args(self):
        return {"estimator": self.estimator, "X": self.X, "y": self.y,
                "metadata": self.metadata}

    def begin_fit(self):
        self.context.call_on_fit_task_begin(**self._hook_args())

    def end_fit(self):
        self.context.call_on_fit_task_end(**self._hook_args(),
                                          reconstruction_attributes={})

    def begin_task(self, name):
        self.task = self.context.subcontext(task_name=name)
        self.task.call_on_fit_task_begin(**self._hook_args())

    def end_task(self, network, params=None):
        """End the open task with the model ``network`` (a NetworkState), at
        ``params`` if given (else at its current parameters); True asks to stop."""

        def attributes():
            fitted = network.with_params(params)
            return {"_network_state": fitted, **fitted.views()}

        task, self.task = self.task, None
        return bool(task.call_on_fit_task_end(**self._hook_args(),
                                              reconstruction_attributes=attributes))

    def close_task(self):
        """End a task left open (interrupt, or the one scipy never ran), empty."""
        if self.task is not None:
            task, self.task = self.task, None
            task.call_on_fit_task_end(estimator=self.estimator)
