// The C surface of ngtcp2 1.x, its GnuTLS crypto helper and GnuTLS, as Swift imports it.
// ngtcp2's public "functions" are mostly macros over *_versioned symbols, which Swift cannot import;
// the static inline wrappers below name each one once, with the version constant it needs.
#ifndef CNGTCP2_H
#define CNGTCP2_H

#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <time.h>
#include <sys/timerfd.h>
#include <stdint.h>

// The endpoint's timer (EndpointTimer): a non-blocking CLOCK_MONOTONIC timerfd armed at an absolute
// deadline in nanoseconds; UINT64_MAX disarms. (Glibc's Swift module does not import sys/timerfd.h.)
static inline int cngtcp2_timerfd_create(void) { return timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC); }
static inline int cngtcp2_timerfd_arm(int fd, uint64_t deadline) {
  struct itimerspec spec = {0};
  if (deadline != UINT64_MAX) {
    if (deadline == 0) deadline = 1;  // an all-zero it_value disarms; a past deadline fires at once
    spec.it_value.tv_sec = (time_t)(deadline / 1000000000u);
    spec.it_value.tv_nsec = (long)(deadline % 1000000000u);
  }
  return timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, NULL);
}

static inline void cngtcp2_settings_default(ngtcp2_settings *s) { ngtcp2_settings_default(s); }
static inline void cngtcp2_transport_params_default(ngtcp2_transport_params *p) {
  ngtcp2_transport_params_default(p);
}

static inline int cngtcp2_conn_client_new(ngtcp2_conn **pconn, const ngtcp2_cid *dcid, const ngtcp2_cid *scid,
                                          const ngtcp2_path *path, uint32_t version,
                                          const ngtcp2_callbacks *callbacks, const ngtcp2_settings *settings,
                                          const ngtcp2_transport_params *params, void *user_data) {
  return ngtcp2_conn_client_new(pconn, dcid, scid, path, version, callbacks, settings, params, NULL, user_data);
}

static inline int cngtcp2_conn_server_new(ngtcp2_conn **pconn, const ngtcp2_cid *dcid, const ngtcp2_cid *scid,
                                          const ngtcp2_path *path, uint32_t version,
                                          const ngtcp2_callbacks *callbacks, const ngtcp2_settings *settings,
                                          const ngtcp2_transport_params *params, void *user_data) {
  return ngtcp2_conn_server_new(pconn, dcid, scid, path, version, callbacks, settings, params, NULL, user_data);
}

static inline int cngtcp2_conn_read_pkt(ngtcp2_conn *conn, const ngtcp2_path *path, const ngtcp2_pkt_info *pi,
                                        const uint8_t *pkt, size_t pktlen, ngtcp2_tstamp ts) {
  return ngtcp2_conn_read_pkt(conn, path, pi, pkt, pktlen, ts);
}

static inline ngtcp2_ssize cngtcp2_conn_writev_stream(ngtcp2_conn *conn, ngtcp2_path *path, ngtcp2_pkt_info *pi,
                                                      uint8_t *dest, size_t destlen, ngtcp2_ssize *pdatalen,
                                                      uint32_t flags, int64_t stream_id,
                                                      const ngtcp2_vec *datav, size_t datavcnt,
                                                      ngtcp2_tstamp ts) {
  return ngtcp2_conn_writev_stream(conn, path, pi, dest, destlen, pdatalen, flags, stream_id, datav, datavcnt, ts);
}

static inline ngtcp2_ssize cngtcp2_conn_writev_datagram(ngtcp2_conn *conn, ngtcp2_path *path, ngtcp2_pkt_info *pi,
                                                        uint8_t *dest, size_t destlen, int *paccepted,
                                                        uint32_t flags, uint64_t dgram_id,
                                                        const ngtcp2_vec *datav, size_t datavcnt,
                                                        ngtcp2_tstamp ts) {
  return ngtcp2_conn_writev_datagram(conn, path, pi, dest, destlen, paccepted, flags, dgram_id, datav, datavcnt,
                                     ts);
}

static inline ngtcp2_ssize cngtcp2_conn_write_connection_close(ngtcp2_conn *conn, ngtcp2_path *path,
                                                               ngtcp2_pkt_info *pi, uint8_t *dest, size_t destlen,
                                                               const ngtcp2_ccerr *ccerr, ngtcp2_tstamp ts) {
  return ngtcp2_conn_write_connection_close(conn, path, pi, dest, destlen, ccerr, ts);
}

static inline void cngtcp2_conn_get_conn_info(ngtcp2_conn *conn, ngtcp2_conn_info *info) {
  ngtcp2_conn_get_conn_info(conn, info);
}

/// CLOCK_MONOTONIC in nanoseconds: the clock ngtcp2 timestamps and expiries are measured on.
static inline uint64_t cngtcp2_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/// GnuTLS flag sets, combined here because Swift imports them as distinct enum types.
static inline unsigned int cngtcp2_gnutls_client_flags(void) {
  return GNUTLS_CLIENT | GNUTLS_NO_END_OF_EARLY_DATA;
}
static inline unsigned int cngtcp2_gnutls_server_flags(void) {
  return GNUTLS_SERVER | GNUTLS_NO_AUTO_SEND_TICKET | GNUTLS_NO_END_OF_EARLY_DATA;
}

/// The priority string QUIC needs from GnuTLS: TLS 1.3 only, QUIC's AEADs, no middlebox compat mode.
static const char *const cngtcp2_priority =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-CCM:"
    "-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-SECP521R1:%DISABLE_TLS13_COMPAT_MODE";

/// gnutls_free is a global function pointer variable, which Swift 6 treats as shared mutable state.
static inline void cngtcp2_gnutls_free(void *p) { gnutls_free(p); }

/// Installs the hook that hands a client each NewSessionTicket's session data (for resumption).
void cngtcp2_set_ticket_hook(gnutls_session_t session, void (*on_ticket)(gnutls_session_t));

#endif
