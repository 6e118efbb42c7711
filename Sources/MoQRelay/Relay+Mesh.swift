import Foundation
import MoQ

/// Mesh discovery: each node announces itself as a broadcast under `.cluster/` (its URL, base64url) that
/// spreads over the links like any other; a node that learns of another dials it when its own URL sorts
/// first, so every pair of nodes ends up linked once and routes pick the direct link.
extension Relay {
    static let meshPrefix = ".cluster"

    /// The broadcast path announcing the node at `url`.
    static func meshPath(for url: String) -> String { meshPrefix + "/" + Base64URL.encode(Array(url.utf8)) }

    /// The node URL a mesh announcement stands for (nil for any other path).
    static func meshURL(of path: String) -> String? {
        let prefix = meshPrefix + "/"
        guard path.hasPrefix(prefix), let data = Base64URL.decode(path.dropFirst(prefix.count)) else { return nil }
        return String(data: data, encoding: .utf8)
    }

    /// Dials the nodes announced in the mesh whose URL sorts after `node.url`, once each; a node that goes
    /// away is redialled by its link until it is back.
    func joinMesh(as node: RelayClusterNode) async {
        // Configured links count by their URL without the query (a token may have been added to it).
        var dialed = Set(configuration.links.map { String($0.url.prefix { $0 != "?" }) })
        dialed.insert(node.url)
        await withDiscardingTaskGroup { group in
            for await announcement in origin.announcements(prefix: Self.meshPrefix) {
                guard case .active(let path, _, _) = announcement, let url = Self.meshURL(of: path), node.url < url,
                    !dialed.contains(url)
                else { continue }
                dialed.insert(url)
                configuration.logger.info("cluster: dialing a discovered node", metadata: ["url": "\(url)"])
                guard let link = try? RelayLink(url: url, verification: node.verification).withToken(node.token) else {
                    continue
                }
                group.addTask { await self.maintain(link) }
            }
        }
    }
}
