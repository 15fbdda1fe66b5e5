"""Hidden-layer activations with the bias add, and their derivatives.

Conventions: row-major buffers of shape (n_rows, n_cols); ``z`` (IN/OUT)
holds ``X @ W`` on entry and ``f(X @ W + b)`` on exit (``bias`` may be NULL).
Derivatives multiply ``delta`` (IN/OUT) in place by f'. Most are written from
the activation's *output* ``a = f(z)`` (as scikit-learn does); 'prelu' and
'gelu' also need what training's ``bias_activation_keeping`` kept
(``needs_input``): z for 'prelu', f'(z) itself for 'gelu', whose derivative
shares its costly parts with the value.

'leaky_relu' uses ``negative_slope`` (>= 0); 'prelu' uses one slope per
column, ``slopes[j]``; 'elu' has alpha = 1; 'gelu' is the exact erf form,
x Phi(x).
"""

ACTIVATION_CODES = {
    "identity": ACT_IDENTITY,
    "logistic": ACT_LOGISTIC,
    "tanh": ACT_TANH,
    "relu": ACT_RELU,
    "leaky_relu": ACT_LEAKY_RELU,
    "prelu": ACT_PRELU,
    "elu": ACT_ELU,
    "gelu": ACT_GELU,
}

