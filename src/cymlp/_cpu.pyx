"""Which SIMD levels this CPU (and its operating system) can run.

Built with the baseline flags only, so it is safe to import on any CPU: it
is the check that decides whether a wider kernel module may be imported at
all (see _dispatch.py). GCC and clang's ``__builtin_cpu_supports`` read
cpuid and also check that the OS saves the AVX / AVX-512 registers.

Each level lists exactly the features whose ``-m`` flags build it
(src/cymlp/meson.build); both lists must change together.
"""

cdef extern from *:
    """
    #if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
    #define CYMLP_X86 1
    static int cymlp_has_avx2(void) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
            && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
    }
    static int cymlp_has_avx512(void) {
        __builtin_cpu_init();
        return cymlp_has_avx2()
            && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
            && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq")
            && __builtin_cpu_supports("avx512vl");
    }
    #else
    #define CYMLP_X86 0
    static int cymlp_has_avx2(void) { return 0; }
    static int cymlp_has_avx512(void) { return 0; }
    #endif
    """
    bint CYMLP_X86
    bint cymlp_has_avx2() nogil
    bint cymlp_has_avx512() nogil

# The features each level needs, as the report (show_config) names them.
FEATURES = {
    "avx2": ("avx2", "fma", "bmi", "bmi2"),
    "avx512": ("avx2", "fma", "bmi", "bmi2",
               "avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"),
}


def is_x86_64():
    """True when compiled for x86-64 with a compiler that can check the CPU."""
    return bool(CYMLP_X86)


def cpu_levels():
    """The SIMD levels this CPU runs, narrowest first: always 'baseline'."""
    levels = ["baseline"]
    if cymlp_has_avx2():
        levels.append("avx2")
    if cymlp_has_avx512():
        levels.append("avx512")
    return tuple(levels)
