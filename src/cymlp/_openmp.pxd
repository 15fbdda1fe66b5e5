# OpenMP for the data-parallel kernels, and its serial stand-in.
#
# Built with OpenMP (meson's dependency('OpenMP'), option -Dopenmp), these
# are the runtime's calls and a barrier; built without, the same names are a
# team of one thread and a barrier that does nothing, so the same kernels
# run serially and compute the same bits.
#
# ThreadSanitizer does not see how libgomp (not instrumented) orders its
# threads at the start and end of a parallel region and at a barrier, so a
# TSan build would report every access after one as a race. Under
# -fsanitize=thread the helpers below tell TSan what those points order
# (release before, acquire after); in every other build they are empty.

cdef extern from *:
    """
    /* A module uses some of these helpers only: no unused-function warning. */
    #if defined(__GNUC__) || defined(__clang__)
    #define CYMLP_HELPER static inline __attribute__((unused))
    #else
    #define CYMLP_HELPER static inline
    #endif

    #if defined(__SANITIZE_THREAD__)
    void __tsan_acquire(void *addr);
    void __tsan_release(void *addr);
    static char cymlp_tsan_fork __attribute__((unused)), cymlp_tsan_join __attribute__((unused)),
        cymlp_tsan_barrier __attribute__((unused));
    #define CYMLP_TSAN_RELEASE(a) __tsan_release(a)
    #define CYMLP_TSAN_ACQUIRE(a) __tsan_acquire(a)
    #else
    #define CYMLP_TSAN_RELEASE(a) ((void)0)
    #define CYMLP_TSAN_ACQUIRE(a) ((void)0)
    #endif

    #ifdef _OPENMP
    #include <omp.h>
    #define CYMLP_OPENMP 1
    CYMLP_HELPER int cymlp_thread_num(void) { return omp_get_thread_num(); }
    CYMLP_HELPER int cymlp_team_size(void) { return omp_get_num_threads(); }
    CYMLP_HELPER int cymlp_max_threads(void) { return omp_get_max_threads(); }
    CYMLP_HELPER void cymlp_barrier(void) {
        CYMLP_TSAN_RELEASE(&cymlp_tsan_barrier);
    #pragma omp barrier
        CYMLP_TSAN_ACQUIRE(&cymlp_tsan_barrier);
    }
    #else
    #define CYMLP_OPENMP 0
    CYMLP_HELPER int cymlp_thread_num(void) { return 0; }
    CYMLP_HELPER int cymlp_team_size(void) { return 1; }
    CYMLP_HELPER int cymlp_max_threads(void) { return 1; }
    CYMLP_HELPER void cymlp_barrier(void) { }
    #endif

    /* The master thread around a parallel region, and each thread at its
       start and end (what libgomp's fork and join order, told to TSan). */
    CYMLP_HELPER void cymlp_before_region(void) { CYMLP_TSAN_RELEASE(&cymlp_tsan_fork); }
    CYMLP_HELPER void cymlp_after_region(void) { CYMLP_TSAN_ACQUIRE(&cymlp_tsan_join); }
    CYMLP_HELPER void cymlp_region_starts(void) { CYMLP_TSAN_ACQUIRE(&cymlp_tsan_fork); }
    CYMLP_HELPER void cymlp_region_ends(void) { CYMLP_TSAN_RELEASE(&cymlp_tsan_join); }
    """
    bint OPENMP "CYMLP_OPENMP"
    int thread_num "cymlp_thread_num"() noexcept nogil
    int team_size "cymlp_team_size"() noexcept nogil
    int max_threads "cymlp_max_threads"() noexcept nogil
    void barrier "cymlp_barrier"() noexcept nogil
    void before_region "cymlp_before_region"() noexcept nogil
    void after_region "cymlp_after_region"() noexcept nogil
    void region_starts "cymlp_region_starts"() noexcept nogil
    void region_ends "cymlp_region_ends"() noexcept nogil
