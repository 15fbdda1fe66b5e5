"""The ONNX graph of a fitted cymlp network, for skl2onnx (see ``cymlp.onnx``).

Shape calculators, parser and converters that ``cymlp.onnx`` registers with
skl2onnx. The graph computes what ``_network.predict`` computes, layer by
layer: ``MatMul`` and ``Add``; batch normalization with the running
statistics (folded into the weights, or a ``BatchNormalization`` node); the
hidden activation; dropout is the identity at inference and emits nothing.
Then the output head, and for classifiers the labels as ``predict`` picks
them. Only imported by ``cymlp.onnx``: it needs skl2onnx.
"""

import math

import numpy as np
from onnx import TensorProto
from skl2onnx._parse import _parse_sklearn_classifier
from skl2onnx.common.data_types import (
    DoubleTensorType,
    FloatTensorType,
    Int64TensorType,
    StringTensorType,
    guess_proto_type,
)
from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
from skl2onnx.common.utils import check_input_and_output_numbers
from sklearn.utils.validation import check_is_fitted

# Batch normalization's epsilon: BN_EPS in _layer_extras.pyx.
BN_EPS = 1e-5
# First opset of the ai.onnx domain with the Gelu operator.
GELU_OPSET = 20
# normal_cdf's approximation in _fastmath.pxd, for float64 graphs (onnxruntime
# has no float64 Erf or Gelu): Phi(-|x|) = exp(-x^2 / 2) R(x) / 2 with R / 2 a
# polynomial in v = y - 1/2, y = K |x| / (1 + K |x|), evaluated as its even
# and odd terms in v^2 (coefficients lowest first); 0 from |x| = 37.5 on.
PHI_K = 0.17677669529663687
PHI_EVEN = (0.06849972879899408, 0.43743932095007326, 0.8716953816472499,
            1.000908147585298, 0.5060616156137917, -0.10466912568516483,
            -0.23571358495318276, -0.0329632409804853)
PHI_ODD = (-0.2590680498286786, -0.6570320144608539, -1.009820213814539,
           -0.8254627922218397, -0.2456786832183971, -0.07691134045283386,
           -0.1558915366098438)
PHI_CUT = 37.5
BATCH_NORM_MODES = ("fold", "node")

_SIMPLE = {"logistic": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}


class OnnxExportError(ValueError):
    """A cymlp model, or an option, that has no faithful ONNX graph."""


def check_exportable(model):
    """Fitted, and every layer's activation one the graph knows."""
    check_is_fitted(model, "_network_state")
    for name in model._network_state.activations:
        if name not in ("identity", "leaky_relu", "prelu", "elu", "gelu", *_SIMPLE):
            raise OnnxExportError(
                f"cannot export {type(model).__name__} to ONNX: no ONNX graph for "
                f"the hidden activation {name!r}."
            )
    if model.out_activation_ not in ("identity", "exp", "logistic", "softmax"):
        raise OnnxExportError(
            f"cannot export {type(model).__name__} to ONNX: no ONNX graph for the "
            f"output activation {model.out_activation_!r}."
        )


def _output_tensor_type(input_type):
    """Outputs in float64 for float64 input, float32 for anything else."""
    return DoubleTensorType if isinstance(input_type, DoubleTensorType) else FloatTensorType


def label_classes(model, nocl):
    """The labels ``predict`` returns, as an ONNX-storable array.

    Integer and boolean labels become int64, strings stay strings; float
    labels must be whole numbers (ONNX labels are int64 or string).
    ``nocl`` gives the class indices instead.
    """
    classes = np.asarray(model.classes_)
    if nocl:
        return np.arange(len(classes), dtype=np.int64)
    if classes.dtype == np.bool_ or np.issubdtype(classes.dtype, np.integer):
        return classes.astype(np.int64)
    if np.issubdtype(classes.dtype, np.floating):
        if not (np.isfinite(classes).all() and (classes == np.round(classes)).all()):
            raise OnnxExportError(
                "cannot export the class labels to ONNX: ONNX labels are int64 or "
                f"strings, and the float labels {classes.tolist()} are not whole "
                "numbers. Fit on integer or string labels, or pass option "
                "nocl=True to output class indices."
            )
        return classes.astype(np.int64)
    if all(isinstance(c, str) for c in classes):
        return classes.astype(str)
    raise OnnxExportError(
        "cannot export the class labels to ONNX: they must be all integers or all "
        f"strings, got {classes.tolist()!r}."
    )


# ----------------------------------------------------------------------
# Parser and shape calculators
# ----------------------------------------------------------------------


def parse_classifier(scope, model, inputs, custom_parsers=None):
    """skl2onnx's classifier parser (zipmap, output_class_labels), after our checks."""
    check_exportable(model)
    if model._label_binarizer.y_type_.startswith("multilabel"):
        options = scope.get_options(model, dict(zipmap=True, output_class_labels=False))
        if options["zipmap"] is not False or options["output_class_labels"]:
            raise OnnxExportError(
                "cannot export a multilabel MLPClassifier with options zipmap or "
                "output_class_labels: its labels are an indicator matrix, not one "
                "class per row. Pass options={id(model): {'zipmap': False}}."
            )
    return _parse_sklearn_classifier(scope, model, inputs, custom_parsers=custom_parsers)


def classifier_shapes(operator):
    """Label and probability types; a multilabel label is an (N, n_labels) matrix."""
    model = operator.raw_operator
    check_exportable(model)
    calculate_linear_classifier_output_shapes(operator)
    N = operator.inputs[0].get_first_dimension()
    nocl = operator.scope_inst.get_options(model, dict(nocl=False))["nocl"]
    classes = label_classes(model, nocl)
    multilabel = model._label_binarizer.y_type_.startswith("multilabel")
    label_type = StringTensorType if classes.dtype.kind == "U" else Int64TensorType
    operator.outputs[0].type = label_type([N, model.n_outputs_] if multilabel else [N])
    cls = _output_tensor_type(operator.inputs[0].type)
    operator.outputs[1].type = cls([N, len(classes)])


def regressor_shapes(operator):
    """Predictions (N, n_outputs), float64 for float64 input, else float32."""
    model = operator.raw_operator
    check_exportable(model)
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=1)
    N = operator.inputs[0].get_first_dimension()
    cls = _output_tensor_type(operator.inputs[0].type)
    operator.outputs[0].type = cls([N, model.n_outputs_])


# ----------------------------------------------------------------------
# The graph
# ----------------------------------------------------------------------


class _Graph:
    """Adds nodes and constants of one dtype to skl2onnx's container."""

    def __init__(self, scope, container, model, proto_dtype):
        self.scope = scope
        self.container = container
        self.model = model
        self.proto = proto_dtype
        self.dtype = np.float64 if proto_dtype == TensorProto.DOUBLE else np.float32

    def const(self, name, values, dtype=None, proto=None):
        values = np.asarray(values, dtype=dtype or self.dtype)
        unique = self.scope.get_unique_variable_name(name)
        self.container.add_initializer(
            unique, proto or self.proto, list(values.shape), values.ravel().tolist()
        )
        return unique

    def node(self, op_type, inputs, output=None, domain="", **attrs):
        if output is None:
            output = self.scope.get_unique_variable_name(op_type.lower())
        self.container.add_node(
            op_type, inputs, output, op_domain=domain,
            name=self.scope.get_unique_operator_name(op_type), **attrs,
        )
        return output

    def negative(self, z):
        return self.node("Less", [z, self.const("zero", [0.0])])

    def _polynomial(self, v, coefficients):
        """c0 + v (c1 + v (c2 + ...)), by Horner's rule."""
        total = self.const("c", [coefficients[-1]])
        for c in reversed(coefficients[:-1]):
            total = self.node("Add", [self.const("c", [c]), self.node("Mul", [v, total])])
        return total

    def normal_cdf(self, z):
        """Phi(z) from Abs, Div, Exp, Mul, Add and Where, as _fastmath.pxd's
        normal_cdf computes it (the same polynomial, in the same order)."""
        a = self.node("Abs", [z])
        k = self.node("Mul", [a, self.const("phi_k", [PHI_K])])
        y = self.node("Div", [k, self.node("Add", [self.const("one", [1.0]), k])])
        v = self.node("Sub", [y, self.const("half", [0.5])])
        v2 = self.node("Mul", [v, v])
        r = self.node("Add", [self._polynomial(v2, PHI_EVEN),
                              self.node("Mul", [v, self._polynomial(v2, PHI_ODD)])])
        g = self.node("Exp", [self.node("Mul", [self.node("Mul", [z, z]),
                                                self.const("minus_half", [-0.5])])])
        h = self.node("Mul", [g, r])                      # Phi(-|z|)
        h = self.node("Where", [self.node("Less", [a, self.const("cut", [PHI_CUT])]), h,
                                self.const("zero", [0.0])])
        upper = self.node("Sub", [self.const("one", [1.0]), h])
        return self.node("Where", [self.node("Greater", [z, self.const("zero", [0.0])]),
                                   upper, h])

    def activation(self, name, z, layer):
        """The hidden activation ``name`` of hidden layer ``layer`` applied to z."""
        if name == "identity":
            return z
        if name in _SIMPLE:
            return self.node(_SIMPLE[name], [z])
        if name in ("leaky_relu", "prelu"):
            # a slope tensor, not LeakyRelu's float32 attribute: exact in float64
            slopes = (self.model.prelu_slopes_[layer] if name == "prelu"
                      else [self.model._network_state.negative_slope])
            slopes = self.const("slopes", slopes)
            if self.dtype == np.float32:
                return self.node("PRelu", [z, slopes])
            # onnxruntime has no float64 PRelu: x < 0 ? slope * x : x
            return self.node("Where", [self.negative(z), self.node("Mul", [z, slopes]), z])
        if name == "elu":
            if self.dtype == np.float32:
                return self.node("Elu", [z], alpha=1.0)
            # onnxruntime has no float64 Elu: x < 0 ? exp(x) - 1 : x
            expm1 = self.node("Sub", [self.node("Exp", [z]), self.const("one", [1.0])])
            return self.node("Where", [self.negative(z), expm1, z])
        # gelu, exact form: x Phi(x). onnxruntime has no float64 Erf or Gelu:
        # float64 builds Phi from elementary ops, as cymlp's kernel does.
        if self.dtype == np.float64:
            return self.node("Mul", [z, self.normal_cdf(z)])
        # float32: x / 2 (1 + erf(x / sqrt 2)), as one Gelu node from opset 20
        if self.container.target_opset >= GELU_OPSET:
            return self.node("Gelu", [z], approximate="none", op_version=GELU_OPSET)
        scaled = self.node("Mul", [z, self.const("inv_sqrt2", [1 / math.sqrt(2)])])
        one_plus = self.node("Add", [self.node("Erf", [scaled]), self.const("one", [1.0])])
        return self.node("Mul", [self.node("Mul", [z, one_plus]), self.const("half", [0.5])])

    def layer(self, x, i, bn_mode):
        """MatMul, bias and batch norm of layer i (the hidden layer i's pre-activation)."""
        model = self.model
        coef = np.asarray(model.coefs_[i], dtype=np.float64)
        bias = np.asarray(model.intercepts_[i], dtype=np.float64)
        n_hidden = model.n_layers_ - 2
        bn = i < n_hidden and model.batch_norm_scale_[i] is not None
        if bn:
            mean = np.asarray(model.batch_norm_running_mean_[i], dtype=np.float64)
            var = np.asarray(model.batch_norm_running_var_[i], dtype=np.float64)
            gamma = np.asarray(model.batch_norm_scale_[i], dtype=np.float64)
            beta = np.asarray(model.batch_norm_shift_[i], dtype=np.float64)
            if bn_mode == "fold":
                scale = gamma / np.sqrt(var + BN_EPS)
                coef = coef * scale
                bias = (bias - mean) * scale + beta
        z = self.node("MatMul", [x, self.const("coefficient", coef)])
        z = self.node("Add", [z, self.const("intercepts", bias.reshape(1, -1))])
        if bn and bn_mode == "node":
            z = self.node(
                "BatchNormalization",
                [z, self.const("bn_scale", gamma), self.const("bn_shift", beta),
                 self.const("bn_mean", mean), self.const("bn_var", var)],
                epsilon=BN_EPS,
            )
        return z

    def network(self, input_name, bn_mode):
        """The output layer's values: ``_forward_pass_fast`` in ONNX."""
        model = self.model
        x = self.node("Cast", [input_name], to=self.proto)
        activations = model._network_state.activations
        for i in range(model.n_layers_ - 1):
            x = self.layer(x, i, bn_mode)
            if i < len(activations):
                x = self.activation(activations[i], x, i)
        head = model.out_activation_
        if head == "softmax":
            return self.node("Softmax", [x], axis=1)
        if head == "logistic":
            return self.node("Sigmoid", [x])
        if head == "exp":
            return self.node("Exp", [x])
        return x


def _network_graph(scope, operator, container):
    model = operator.raw_operator
    check_exportable(model)
    # skl2onnx checks the value against the registered choices
    bn_mode = container.get_options(model, dict(batch_norm="fold"))["batch_norm"]
    proto = guess_proto_type(operator.inputs[0].type)
    if proto != TensorProto.DOUBLE:
        proto = TensorProto.FLOAT
    graph = _Graph(scope, container, model, proto)
    return graph, graph.network(operator.inputs[0].full_name, bn_mode)


def convert_classifier(scope, operator, container):
    """Probabilities as ``predict_proba`` and labels as ``predict`` gives them."""
    graph, out = _network_graph(scope, operator, container)
    model = operator.raw_operator
    label_name, proba_name = operator.outputs[0].full_name, operator.outputs[1].full_name
    y_type = model._label_binarizer.y_type_
    if y_type.startswith("multilabel"):  # indicator matrix: p > 0.5, as predict
        graph.node("Identity", [out], proba_name)
        above = graph.node("Greater", [out, graph.const("half", [0.5])])
        graph.node("Cast", [above], label_name, to=TensorProto.INT64)
        return
    nocl = container.get_options(model, dict(nocl=False))["nocl"]
    classes = label_classes(model, nocl)
    if model.n_outputs_ == 1:  # binary: [1 - p, p], class 1 when p > 0.5
        negative = graph.node("Sub", [graph.const("one", [[1.0]]), out])
        graph.node("Concat", [negative, out], proba_name, axis=1)
        above = graph.node("Greater", [out, graph.const("half", [[0.5]])])
        index = graph.node("Cast", [above], to=TensorProto.INT64)
        index = graph.node("Reshape", [index, graph.const(
            "flat", [-1], np.int64, TensorProto.INT64)])
    else:
        graph.node("Identity", [out], proba_name)
        index = graph.node("ArgMax", [proba_name], axis=1, keepdims=0)
    if classes.dtype.kind == "U":
        table = graph.const("classes", np.array([c.encode("utf-8") for c in classes],
                                                dtype=object),
                            dtype=object, proto=TensorProto.STRING)
    else:
        table = graph.const("classes", classes, np.int64, TensorProto.INT64)
    graph.node("Gather", [table, index], label_name, axis=0)


def convert_regressor(scope, operator, container):
    """Predictions (N, n_outputs): identity output, or exp for the Poisson loss."""
    graph, out = _network_graph(scope, operator, container)
    graph.node("Identity", [out], operator.outputs[0].full_name)


CLASSIFIER_OPTIONS = {
    "zipmap": [True, False, "columns"],
    "nocl": [True, False],
    "output_class_labels": [False, True],
    "batch_norm": list(BATCH_NORM_MODES),
}
REGRESSOR_OPTIONS = {"batch_norm": list(BATCH_NORM_MODES)}
