// glibc malloc tuning for the relay process (Glibc's module map leaves <malloc.h> out).
#pragma once
#include <stddef.h>

/// Keeps `bytes` of free memory at the top of every malloc arena instead of returning it to the kernel.
/// The relay's per-frame allocations otherwise make glibc grow its event-loop thread's arena a page at a
/// time (one mprotect and page fault per page). Returns 0 when glibc refused the setting.
int moq_malloc_set_top_pad(size_t bytes);
