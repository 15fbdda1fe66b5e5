# The network's shape (Layout) and one fit's scratch buffers (Workspace),
# shared by the passes and the epoch loop in _network.pyx.

from libc.stdint cimport uint64_t


cdef struct LayoutC:
    Py_ssize_t n_layers      # input + hidden + output
    Py_ssize_t* units        # [n_layers]
    Py_ssize_t* cum          # [n_layers] units before layer l, input excluded
    Py_ssize_t* coef_off     # [n_layers - 1] start of W_l in params
    Py_ssize_t* bias_off     # [n_layers - 1] start of b_l in params
    int* act                 # [n_layers] activation code of hidden layer l
    double* drop             # [n_layers] dropout rate of hidden layer l
    Py_ssize_t* slope_off    # [n_layers] PReLU slopes in params, or -1
    Py_ssize_t* gamma_off    # [n_layers] batch-norm scale in params, or -1
    Py_ssize_t* beta_off     # [n_layers] batch-norm shift in params, or -1
    Py_ssize_t* run_off      # [n_layers] running means in `running`, or -1
    int head                 # output activation + loss, see _losses
    double quantile          # q of the 'quantile' head (0.5 for the others)
    Py_ssize_t width         # sum of units[1:]
    double negative_slope    # of 'leaky_relu'
    bint any_input           # some hidden f' needs its input y
    bint any_dropout
    bint any_batch_norm


cdef struct WorkC:
    void* acts               # [capacity * width] layer outputs a = f(y)
    void* deltas             # [capacity * width] loss gradients w.r.t. z
    void* inputs             # [capacity * width] activation inputs z (GELU: f'(z)), or NULL
    void* normed             # [capacity * width] batch-normalized zhat, or NULL
    void* keep               # [capacity * width] dropout multipliers, or NULL
    void* dropped            # [capacity * width] a * keep, or NULL
    void* stats              # [2 * width] batch mean and 1 / std, or NULL
    void* xbuf               # [capacity * n_features] gathered dense rows, or NULL
    void* ybuf               # [capacity * n_outputs] gathered targets
    void* swbuf              # [capacity] gathered sample weights
    Py_ssize_t capacity
    uint64_t rng             # splitmix64 state for dropout masks


cdef class Layout:
    cdef LayoutC c
    cdef readonly Py_ssize_t n_params
    cdef readonly Py_ssize_t n_coef
    cdef readonly Py_ssize_t n_running


cdef class Workspace:
    cdef WorkC c
    cdef readonly Py_ssize_t itemsize
    cdef readonly Layout layout      # the Layout its buffers are sized for

