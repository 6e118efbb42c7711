// Counts heap allocations of the whole process by interposing malloc and friends (Linux/glibc).
// Linked only into benchmark executables: an executable's malloc overrides libc's for every library.
#ifndef CMALLOC_COUNTER_H
#define CMALLOC_COUNTER_H
#include <stdint.h>

/// Allocations (malloc, calloc, realloc, memalign family) since the process started.
uint64_t cmalloc_counter_allocations(void);
#endif
