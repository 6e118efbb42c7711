#include "CMallocTuning.h"
#include <limits.h>
#include <malloc.h>

int moq_malloc_set_top_pad(size_t bytes) {
    if (bytes > INT_MAX) return 0;
    return mallopt(M_TOP_PAD, (int)bytes);
}
