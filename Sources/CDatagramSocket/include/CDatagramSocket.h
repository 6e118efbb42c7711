// A QUIC endpoint's UDP socket below NIO: opened and bound here, then handed to NIO, which reads it; the
// endpoint writes its packets with sendmmsg(2) straight from the loop that owns it (QUIC's DatagramSender).
#ifndef CDATAGRAMSOCKET_H
#define CDATAGRAMSOCKET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/// One datagram, or with a segment size a run of datagrams of that size (the last may be shorter) that
/// the kernel cuts up (UDP GSO).
typedef struct {
  const void *data;
  size_t length;
  const struct sockaddr *address;
  socklen_t address_length;
  uint16_t segment_size;  // 0: one datagram
  uint8_t refused;        // set by cdatagram_send: the kernel refused this message
} cdatagram_message;

/// Opens a non-blocking, close-on-exec UDP socket of the address's family and binds it; with
/// `reuse_port`, SO_REUSEPORT first, so that sockets of one process can share the port (one per event loop).
/// Returns the descriptor, or -errno (nothing is left open).
int cdatagram_socket_bind(const struct sockaddr *address, socklen_t address_length, int reuse_port);

/// The port a socket is bound to, or -errno.
int cdatagram_socket_port(int fd);

/// Steers the datagrams of a SO_REUSEPORT group of `group_size` sockets (bound in order; `fd` is any of
/// them) by QUIC destination connection ID: a packet goes to socket `dcid[0] % group_size`, the first byte
/// of the ID after the short header's first byte or the long header's length byte. A long header with an
/// empty ID falls back to the kernel's 4-tuple hash. Returns 0 or -errno.
int cdatagram_socket_steer(int fd, int group_size);

/// The outcome of cdatagram_send.
typedef struct {
  int handled;     // messages sent or dropped, from the first: the rest would block (EAGAIN)
  int sent_calls;  // sendmmsg calls made
  int dropped;     // messages the kernel refused (EMSGSIZE, ENETUNREACH, ...): skipped, like a lost packet
  int last_error;  // errno of the last refused message, 0 if none
} cdatagram_send_result;

/// Sends `count` messages with as few sendmmsg calls as possible (up to 64 messages each), stopping
/// at the first that would block; marks each message the kernel refused.
cdatagram_send_result cdatagram_send(int fd, cdatagram_message *messages, int count);

#endif
