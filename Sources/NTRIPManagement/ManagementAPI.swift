import Foundation
public import Hummingbird
public import NTRIP
public import Store

/// The NTRIP management API under `/api/ntrip` (admin only): streampoints and users CRUD, status, and
/// its OpenAPI document. Codes: 200, 201 created, 204 deleted, 401, 404, 409 exists, 422 invalid body, 503 the
/// store's database is unreachable (PostgreSQL; nothing changed).
public enum ManagementAPI {
    struct StreampointBody: Codable, ResponseEncodable {
        var mount: String?
        var sourcePassword: String?
        var str: String?
    }

    struct StreampointView: Codable, ResponseEncodable {
        var mount: String
        var str: String?
        var live: Bool
    }

    struct UserBody: Codable {
        var name: String?
        var password: String?
        /// Allowed mounts; absent or null: all.
        var mounts: [String]?
    }

    struct UserView: Codable, ResponseEncodable {
        var name: String
        var mounts: [String]?
    }

    public static func register<Context: RequestContext>(
        on router: Router<Context>, store: RelayStore, caster: NTRIPCaster, adminToken: String
    ) {
        let api = router.group("api/ntrip").add(middleware: AdminAuthMiddleware(token: adminToken))
        api.get("openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        api.get("status") { _, _ in try json(caster.status()) }

        api.get("streampoints") { _, _ in
            try json(store.snapshot.streampoints.values.sorted { $0.mount < $1.mount }.map { view($0, caster) })
        }
        api.get("streampoints/:mount") { _, context in
            let mount = try context.parameters.require("mount")
            guard let streampoint = store.snapshot.streampoints[mount] else { throw HTTPError(.notFound) }
            return try json(view(streampoint, caster))
        }
        api.post("streampoints") { request, context in
            let body = try await decode(StreampointBody.self, request, context)
            guard let mount = body.mount, let password = body.sourcePassword else {
                throw HTTPError(.unprocessableContent, message: "mount and sourcePassword are required")
            }
            try mapped { try store.createStreampoint(mount: mount, sourcePassword: password, str: body.str) }
            return try json(view(store.snapshot.streampoints[mount]!, caster), status: .created)
        }
        api.put("streampoints/:mount") { request, context in
            let mount = try context.parameters.require("mount")
            let body = try await decode(StreampointBody.self, request, context)
            try mapped {
                try store.updateStreampoint(mount: mount, sourcePassword: body.sourcePassword, str: body.str.map { $0 })
            }
            // A new source password applies to the live source too: it reconnects and is checked again.
            if body.sourcePassword != nil { caster.disconnectSource(mount: mount) }
            return try json(view(store.snapshot.streampoints[mount]!, caster))
        }
        api.delete("streampoints/:mount") { _, context in
            let mount = try context.parameters.require("mount")
            try mapped { try store.deleteStreampoint(mount: mount) }
            caster.disconnectSource(mount: mount)
            return Response(status: .noContent)
        }

        api.get("users") { _, _ in
            try json(
                store.snapshot.users.values.sorted { $0.name < $1.name }.map {
                    UserView(name: $0.name, mounts: $0.mounts)
                })
        }
        api.get("users/:name") { _, context in
            let name = try context.parameters.require("name")
            guard let user = store.snapshot.users[name] else { throw HTTPError(.notFound) }
            return try json(UserView(name: user.name, mounts: user.mounts))
        }
        api.post("users") { request, context in
            let body = try await decode(UserBody.self, request, context)
            guard let name = body.name, let password = body.password else {
                throw HTTPError(.unprocessableContent, message: "name and password are required")
            }
            try mapped { try store.createUser(name: name, password: password, mounts: body.mounts) }
            return try json(UserView(name: name, mounts: body.mounts), status: .created)
        }
        api.put("users/:name") { request, context in
            let name = try context.parameters.require("name")
            let body = try await decode(UserBody.self, request, context)
            try mapped { try store.updateUser(name: name, password: body.password, mounts: body.mounts.map { $0 }) }
            // New credentials or mounts apply to live sessions too: they reconnect and are checked again.
            caster.disconnect(user: name)
            let user = store.snapshot.users[name]!
            return try json(UserView(name: user.name, mounts: user.mounts))
        }
        api.delete("users/:name") { _, context in
            let name = try context.parameters.require("name")
            try mapped { try store.deleteUser(name: name) }
            caster.disconnect(user: name)
            return Response(status: .noContent)
        }
    }

    static func view(_ streampoint: Streampoint, _ caster: NTRIPCaster) -> StreampointView {
        StreampointView(mount: streampoint.mount, str: streampoint.str, live: caster.isLive(streampoint.mount))
    }

    /// The JSON body, or 422 when it is not the expected shape.
    static func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ context: some RequestContext) async throws
        -> T
    {
        var request = request
        let buffer = try await request.collectBody(upTo: 64 * 1024)
        do {
            return try JSONDecoder().decode(type, from: Data(buffer.readableBytesView))
        } catch {
            throw HTTPError(.unprocessableContent, message: "invalid JSON body: \(error)")
        }
    }

    /// Store failures as HTTP codes.
    static func mapped(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let failure as RelayStore.Failure {
            switch failure {
            case .notFound: throw HTTPError(.notFound)
            case .conflict: throw HTTPError(.conflict, message: "already exists")
            case .invalid(let reason): throw HTTPError(.unprocessableContent, message: reason)
            case .unavailable(let reason): throw HTTPError(.serviceUnavailable, message: reason)
            }
        }
    }

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
