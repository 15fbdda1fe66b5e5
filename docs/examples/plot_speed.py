"""
Speed against scikit-learn
==========================

The same ``MLPClassifier`` fit -- 20 000 samples, 20 features, 3 classes, one
hidden layer of 100 relu units, Adam, 20 epochs, one BLAS thread -- with
scikit-learn and with cymlp: the same parameters and seed give the same
weights (``max_coef_diff``), in less time. The times are from the machine
that built this page; the benchmarks with their tables are on the
:ref:`performance` page.
"""

from cymlp._experiments import fit_speed, plot_speed

result = fit_speed()
speed = result["scores"]["speed"]
print(f"scikit-learn {speed['sklearn_seconds']:.2f} s, cymlp {speed['cymlp_seconds']:.2f} s "
      f"({speed['ratio']:.1f}x); largest weight difference {speed['max_coef_diff']:.1e}")
plot_speed(result)
