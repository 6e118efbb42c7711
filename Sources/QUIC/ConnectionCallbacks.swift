import CNGTCP2

/// The ngtcp2 callback table. Each entry is a non-capturing closure (a C function pointer) that finds its
/// `ConnectionCore` through ngtcp2's `user_data` and forwards to a method with a Swift signature.
enum ConnectionCallbacks {
    static func make(isServer: Bool) -> ngtcp2_callbacks {
        var callbacks = ngtcp2_callbacks()
        if isServer {
            callbacks.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb
        } else {
            callbacks.client_initial = ngtcp2_crypto_client_initial_cb
            callbacks.recv_retry = ngtcp2_crypto_recv_retry_cb
        }
        callbacks.recv_crypto_data = { conn, level, offset, data, length, userData in
            // A server releases its TLS session after the handshake: CRYPTO data after that (QUIC has no
            // use for post-handshake TLS messages from a client) is dropped instead of reaching it.
            guard ngtcp2_conn_get_tls_native_handle(conn) != nil else { return 0 }
            return ngtcp2_crypto_recv_crypto_data_cb(conn, level, offset, data, length, userData)
        }
        callbacks.encrypt = ngtcp2_crypto_encrypt_cb
        callbacks.decrypt = ngtcp2_crypto_decrypt_cb
        callbacks.hp_mask = ngtcp2_crypto_hp_mask_cb
        callbacks.update_key = ngtcp2_crypto_update_key_cb
        callbacks.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb
        callbacks.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb
        callbacks.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb
        callbacks.version_negotiation = ngtcp2_crypto_version_negotiation_cb

        callbacks.rand = { destination, length, _ in
            _ = gnutls_rnd(GNUTLS_RND_RANDOM, destination, length)
        }
        callbacks.get_new_connection_id = { _, cid, token, length, userData in
            core(userData).issueConnectionID(cid!, token: token!, length: length)
        }
        callbacks.remove_connection_id = { _, cid, userData in
            core(userData).retireConnectionID(ConnectionID(cid!.pointee))
            return 0
        }
        callbacks.handshake_completed = { _, userData in
            core(userData).handshakeCompleted()
        }
        callbacks.recv_stream_data = { _, flags, streamID, _, data, length, userData, _ in
            let fin = flags & UInt32(NGTCP2_STREAM_DATA_FLAG_FIN) != 0
            return core(userData).receivedStreamData(
                streamID, UnsafeRawBufferPointer(start: data, count: length), fin: fin)
        }
        callbacks.acked_stream_data_offset = { _, streamID, _, length, userData, _ in
            core(userData).acknowledged(streamID, bytes: Int(length))
            return 0
        }
        callbacks.stream_open = { _, streamID, userData in
            core(userData).peerOpenedStream(streamID)
        }
        callbacks.stream_close = { _, flags, streamID, code, userData, _ in
            let hasCode = flags & UInt32(NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) != 0
            core(userData).streamClosed(streamID, code: hasCode ? code : nil)
            return 0
        }
        callbacks.stream_reset = { _, streamID, _, code, userData, _ in
            core(userData).peerResetStream(streamID, code: code)
            return 0
        }
        callbacks.stream_stop_sending = { _, streamID, code, userData, _ in
            core(userData).peerStoppedSending(streamID, code: code)
            return 0
        }
        callbacks.extend_max_local_streams_bidi = { _, _, userData in
            core(userData).streamCreditAvailable()
            return 0
        }
        callbacks.extend_max_local_streams_uni = { _, _, userData in
            core(userData).streamCreditAvailable()
            return 0
        }
        callbacks.extend_max_stream_data = { _, streamID, _, userData, _ in
            core(userData).streamUnblocked(streamID)
            return 0
        }
        callbacks.recv_datagram = { _, _, data, length, userData in
            core(userData).receivedDatagram(UnsafeRawBufferPointer(start: data, count: length))
            return 0
        }
        return callbacks
    }
}

@inline(__always)
private func core(_ userData: UnsafeMutableRawPointer?) -> ConnectionCore {
    Unmanaged<ConnectionCore>.fromOpaque(userData!).takeUnretainedValue()
}
