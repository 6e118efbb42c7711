// CEpoll is header-only; SwiftPM needs one source file per C target.
#include "CEpoll.h"
