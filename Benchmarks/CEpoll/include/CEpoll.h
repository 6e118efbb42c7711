// Exposes Linux epoll to Swift (Glibc's module map leaves <sys/epoll.h> out) for the NTRIP load client.
#pragma once
#include <sys/epoll.h>

/// The descriptor an epoll event carries (epoll_data is a union Swift cannot read directly).
static inline int cepoll_event_fd(const struct epoll_event *event) { return event->data.fd; }
