import HTTPTypes
public import HummingbirdCore
public import Logging
public import NIOCore
import NIOHTTP1
public import NIOHTTPTypes
import NIOHTTPTypesHTTP1
public import NIOWebSocket

/// Hummingbird's HTTP/1.1 child channel with one addition: `GET /l7rtcp/ws/{id}` with `Upgrade: websocket`
/// becomes a WebSocket (RFC 6455, NIO's codec) served by the gateway's push mode (§3.11); every other
/// request is handed to Hummingbird's own HTTP handling unchanged.
public struct L7RTCPHTTPChannel: ServerChildChannel, HTTPChannelHandler {
    public enum Negotiated: Sendable {
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case websocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, transmission: String)
    }

    public struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        public let channel: any Channel
    }

    public let responder: HTTPChannelHandler.Responder
    let gateway: L7RTCPGateway

    public static let pathPrefix = "/l7rtcp/ws/"

    public init(responder: @escaping HTTPChannelHandler.Responder, gateway: L7RTCPGateway) {
        self.responder = responder
        self.gateway = gateway
    }

    /// The id of a push path, nil for any other request.
    static func transmission(in uri: String) -> String? {
        guard uri.hasPrefix(pathPrefix) else { return nil }
        let id = uri.dropFirst(pathPrefix.count).prefix { $0 != "?" }
        return id.isEmpty || id.contains("/") ? nil : String(id)
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let upgrader = NIOTypedWebSocketServerUpgrader<Negotiated>(
                maxFrameSize: 1 << 16,
                shouldUpgrade: { channel, head in
                    channel.eventLoop.makeSucceededFuture(
                        head.method == .GET && Self.transmission(in: head.uri) != nil ? HTTPHeaders() : nil)
                },
                upgradePipelineHandler: { channel, head in
                    channel.eventLoop.makeCompletedFuture {
                        let socket = try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(
                            wrappingChannelSynchronously: channel)
                        return .websocket(socket, transmission: Self.transmission(in: head.uri) ?? "")
                    }
                })
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<Negotiated>(
                upgradeConfiguration: .init(
                    upgraders: [upgrader],
                    notUpgradingCompletionHandler: { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(TransmitFastPath(gateway: gateway))
                            try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                            try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(logger: logger))
                            return .http(
                                try NIOAsyncChannel(
                                    wrappingChannelSynchronously: channel,
                                    configuration: .init(isOutboundHalfClosureEnabled: true)))
                        }
                    }))
            configuration.enablePipelining = false
            configuration.enableErrorHandling = false
            configuration.enableResponseHeaderValidation = false
            let negotiated = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(
                configuration: configuration)
            return Value(negotiated: negotiated, channel: channel)
        }
    }

    public func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .http(let http):
                await handleHTTP(asyncChannel: http, logger: logger)
            case .websocket(let socket, let transmission):
                await gateway.push(socket, transmission: transmission)
            }
        } catch {
            logger.debug("l7rtcp: connection setup failed: \(error)")
            try? await value.channel.close()
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 as `.http1()`, plus the gateway's WebSocket push on `GET /l7rtcp/ws/{id}`.
    public static func l7rtcp(gateway: L7RTCPGateway) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in L7RTCPHTTPChannel(responder: responder, gateway: gateway) }
    }
}
