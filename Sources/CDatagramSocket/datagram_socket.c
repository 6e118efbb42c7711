#define _GNU_SOURCE
#include "CDatagramSocket.h"

#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

int cdatagram_socket_bind(const struct sockaddr *address, socklen_t address_length, int reuse_port) {
  int fd = socket(address->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) return -errno;
  int on = 1;
  if ((reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0) ||
      bind(fd, address, address_length) != 0) {
    int error = errno;
    close(fd);
    return -error;
  }
  return fd;
}

int cdatagram_socket_port(int fd) {
  struct sockaddr_storage address;
  socklen_t length = sizeof(address);
  if (getsockname(fd, (struct sockaddr *)&address, &length) != 0) return -errno;
  if (address.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&address)->sin_port);
  if (address.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&address)->sin6_port);
  return -EAFNOSUPPORT;
}

int cdatagram_socket_steer(int fd, int group_size) {
  if (group_size < 1) return -EINVAL;
  // Classic BPF over the UDP payload; its result is the index of the socket in the group, and an index
  // past the group (the last return) makes the kernel pick by 4-tuple hash.
  struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),                 // 0: first byte
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x80, 0, 4),     // 1: long header? else to 6
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 5),                 // 2: DCID length
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 5, 0),         // 3: empty: to 9
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 6),                 // 4: DCID's first byte
      BPF_STMT(BPF_JMP | BPF_JA, 1),                         // 5: to 7
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 1),                 // 6: short header: DCID's first byte
      BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, (uint32_t)group_size),  // 7
      BPF_STMT(BPF_RET | BPF_A, 0),                          // 8
      BPF_STMT(BPF_RET | BPF_K, 0xffffffff),                 // 9
  };
  struct sock_fprog program = {.len = sizeof(code) / sizeof(code[0]), .filter = code};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &program, sizeof(program)) != 0) return -errno;
  return 0;
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
