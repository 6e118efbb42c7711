// C helpers for the few GnuTLS signatures Swift cannot satisfy directly.
#include "CNGTCP2.h"

static void (*ticket_handler)(gnutls_session_t);

static int ticket_hook(gnutls_session_t session, unsigned int htype, unsigned when, unsigned int incoming,
                       const gnutls_datum_t *msg) {
  (void)when; (void)incoming; (void)msg;
  if (htype == GNUTLS_HANDSHAKE_NEW_SESSION_TICKET && ticket_handler != NULL) ticket_handler(session);
  return 0;
}

void cngtcp2_set_ticket_hook(gnutls_session_t session, void (*on_ticket)(gnutls_session_t)) {
  // One process-wide handler: the Swift side dispatches by session pointer.
  ticket_handler = on_ticket;
  gnutls_handshake_set_hook_function(session, GNUTLS_HANDSHAKE_NEW_SESSION_TICKET, GNUTLS_HOOK_POST, ticket_hook);
}
