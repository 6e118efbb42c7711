#define _GNU_SOURCE
#include "CDatagramSocket.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

int cdatagram_socket_bind(const struct sockaddr *address, socklen_t address_length) {
  int fd = socket(address->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) return -errno;
  if (bind(fd, address, address_length) != 0) {
    int error = errno;
    close(fd);
    return -error;
  }
  return fd;
}

enum { batch_capacity = 64 };  // messages per sendmmsg call

cdatagram_send_result cdatagram_send(int fd, cdatagram_message *messages, int count) {
  cdatagram_send_result result = {0, 0, 0, 0};
  struct mmsghdr headers[batch_capacity];
  struct iovec vectors[batch_capacity];
  union {
    char bytes[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } controls[batch_capacity];

  while (result.handled < count) {
    int batch = count - result.handled;
    if (batch > batch_capacity) batch = batch_capacity;
    cdatagram_message *first = messages + result.handled;
    memset(headers, 0, sizeof(headers[0]) * (size_t)batch);
    for (int i = 0; i < batch; i++) {
      vectors[i].iov_base = (void *)first[i].data;
      vectors[i].iov_len = first[i].length;
      struct msghdr *header = &headers[i].msg_hdr;
      header->msg_name = (void *)first[i].address;
      header->msg_namelen = first[i].address_length;
      header->msg_iov = &vectors[i];
      header->msg_iovlen = 1;
      if (first[i].segment_size > 0) {
        header->msg_control = controls[i].bytes;
        header->msg_controllen = sizeof(controls[i].bytes);
        struct cmsghdr *control = CMSG_FIRSTHDR(header);
        control->cmsg_level = SOL_UDP;
        control->cmsg_type = UDP_SEGMENT;
        control->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        memcpy(CMSG_DATA(control), &first[i].segment_size, sizeof(uint16_t));
      }
    }
    int sent = sendmmsg(fd, headers, (unsigned int)batch, 0);
    result.sent_calls++;
    if (sent > 0) {
      result.handled += sent;
      continue;
    }
    if (sent == 0) break;  // nothing sent and no error: leave the rest to the caller
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    // The first message of the batch was refused: skip it, as the network would have lost it.
    result.last_error = errno;
    first[0].refused = 1;
    result.dropped++;
    result.handled++;
  }
  return result;
}
