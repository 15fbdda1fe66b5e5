"""ONNX export of cymlp models through skl2onnx (the ``cymlp[onnx]`` extra).

Importing this module registers cymlp's ``MLPClassifier`` and
``MLPRegressor`` with skl2onnx (shape calculator, converter and parser,
through ``skl2onnx.update_registered_converter``), as
``from sklearn.experimental import enable_...`` enables a feature::

    import cymlp.onnx  # noqa: F401
    from skl2onnx import to_onnx

    onx = to_onnx(model, X[:1])           # also inside a Pipeline or ColumnTransformer

Every activation, per-layer activations, PReLU, ELU, GELU, batch norm and
dropout export. float32 input gives a float32 graph, float64 input a
float64 graph. Converter options, as for scikit-learn's MLP: ``zipmap``,
``nocl``, ``output_class_labels`` (classifiers), and ``batch_norm``:
``'fold'`` (default, the running statistics folded into the weights) or
``'node'`` (a ``BatchNormalization`` node). ``import cymlp`` never imports
this module.
"""

try:
    import onnx as _onnx  # noqa: F401
    import skl2onnx
    from skl2onnx.common.data_types import FloatTensorType
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "cymlp.onnx needs skl2onnx and onnx: pip install 'cymlp[onnx]'"
    ) from exc

from ._classes import MLPClassifier, MLPRegressor
from ._onnx_graph import (
    CLASSIFIER_OPTIONS,
    REGRESSOR_OPTIONS,
    OnnxExportError,
    classifier_shapes,
    convert_classifier,
    convert_regressor,
    parse_classifier,
    regressor_shapes,
)

__all__ = ["OnnxExportError", "to_onnx"]

skl2onnx.update_registered_converter(
    MLPClassifier, "CymlpMLPClassifier", classifier_shapes, convert_classifier,
    parser=parse_classifier, options=CLASSIFIER_OPTIONS,
)
skl2onnx.update_registered_converter(
    MLPRegressor, "CymlpMLPRegressor", regressor_shapes, convert_regressor,
    options=REGRESSOR_OPTIONS,
)


def to_onnx(model, X=None, *, target_opset=None, options=None, **kwargs):
    """Convert a fitted cymlp model (or a pipeline holding one) to ONNX.

    ``skl2onnx.to_onnx`` with the converters registered. Without ``X`` the
    input is a float32 matrix ``X`` of ``model.n_features_in_`` columns;
    pass float64 sample rows (e.g. ``X[:1]``) for a float64 graph.

    Parameters
    ----------
    model : estimator
        A fitted ``MLPClassifier``, ``MLPRegressor``, or a scikit-learn
        pipeline with one.
    X : array-like, default=None
        Sample input that sets the graph's input type and width.
    target_opset : int or dict, default=None
        ONNX opset; skl2onnx's default when None.
    options : dict, default=None
        Converter options, e.g. ``{id(model): {"zipmap": False}}``.
    **kwargs
        Passed on to ``skl2onnx.to_onnx``.

    Returns
    -------
    onnx.ModelProto
        The ONNX graph, ready for ``onnx.save`` or ``onnxruntime.InferenceSession``.
    """
    if X is None and "initial_types" not in kwargs:
        n_features = getattr(model, "n_features_in_", None)
        if n_features is None:
            raise ValueError(
                "to_onnx needs X (sample rows) or initial_types for a model without "
                "n_features_in_ (is it fitted?)."
            )
        kwargs["initial_types"] = [("X", FloatTensorType([None, n_features]))]
    return skl2onnx.to_onnx(model, X, target_opset=target_opset, options=options, **kwargs)
