import MoQWire
import NIOCore

/// Valid messages for each version, chosen to hit varint length boundaries, empty and non-ASCII
/// strings, empty and full hop chains, and every optional field both set and unset.
enum Samples {
    static let edgeValues: [UInt64] = [
        0, 1, 63, 64, 16383, 16384, (1 << 30) - 1, 1 << 30, ByteBuffer.maxQUICVarint - 1,
    ]
    static let strings = ["", "demo", "room/cam1", "räum/📹", String(repeating: "x", count: 4096)]
    static let hopChains: [[UInt64]] = [[], [42], [5_297_507_824_519_782, 2_206_611_092_851_342], Array(1...32)]

    static func messages(for version: MoQVersion) -> [any MoQMessage] {
        var messages: [any MoQMessage] = []
        for (index, value) in edgeValues.enumerated() {
            let string = strings[index % strings.count]
            let hops = hopChains[index % hopChains.count]
            let optional: UInt64? = index.isMultiple(of: 3) ? nil : value
            let priority = UInt8(truncatingIfNeeded: value)
            let ordered = version < .lite06 && index.isMultiple(of: 2)
            let isLite06 = version >= .lite06

            messages.append(AnnounceRequest(prefix: string, excludeHop: isLite06 ? 0 : value))
            messages.append(Probe(bitrate: value, rttMs: edgeValues[edgeValues.count - 1 - index]))
            messages.append(
                Goaway(newSessionURI: string.isEmpty ? "" : "moqt://relay.example:4443/" + string.prefix(64)))
            messages.append(
                GroupHeader(subscribeID: value, sequence: index == 0 ? 0 : value - 1, frameStart: isLite06 ? value : 0))
            messages.append(
                FrameHeader(timestampDelta: version >= .lite05 ? timestampDelta(index) : 0, size: min(value, 16 << 20)))
            messages.append(
                Subscribe(
                    id: value, broadcast: string, track: strings[(index + 1) % strings.count], priority: priority,
                    ordered: ordered, maxLatencyMs: value,
                    startGroup: isLite06 && optional == 0 ? nil : optional, endGroup: optional,
                    startFrame: isLite06 ? value : 0, endFrame: isLite06 ? optional : nil
                )
            )
            messages.append(
                SubscribeUpdate(
                    priority: priority, ordered: ordered, maxLatencyMs: value,
                    startGroup: isLite06 && optional == 0 ? nil : optional, endGroup: optional,
                    startFrame: isLite06 ? value : 0, endFrame: isLite06 ? optional : nil
                )
            )
            messages.append(
                Fetch(
                    broadcast: string, track: "video0", priority: priority, group: value,
                    startFrame: isLite06 ? value : 0, endFrame: isLite06 ? optional : nil
                )
            )
            messages.append(SubscribeResponse.drop(start: value, end: value, errorCode: value))

            if version >= .lite05 {
                messages.append(AnnounceOK(hopID: value, activeCount: value))
                messages.append(TrackRequest(broadcast: string, track: "catalog.json"))
                messages.append(
                    TrackInfo(priority: priority, ordered: ordered, maxLatencyMs: value, timescale: value + 1))
                messages.append(SubscribeResponse.start(group: value))
                messages.append(SubscribeResponse.end(group: value))
                messages.append(setup(index: index, value: value, string: string))
            } else {
                messages.append(
                    SubscribeResponse.ok(
                        priority: priority, ordered: ordered, maxLatencyMs: value, startGroup: optional,
                        endGroup: optional
                    )
                )
            }
            if isLite06 {
                messages.append(Announce.start(suffix: string, hops: hops, cost: value, cold: value))
                messages.append(Announce.update(id: value, hops: hops, cost: value, cold: value))
                messages.append(Announce.end(id: value))
            } else {
                let status = AnnounceStatus.allCases[index % AnnounceStatus.allCases.count]
                messages.append(Announce.legacy(status: status, suffix: string, hops: hops))
            }
        }
        return messages
    }

    static func timestampDelta(_ index: Int) -> Int64 {
        let deltas: [Int64] = [0, -1, 1, 199_113_988, -20_350, Int64(1) << 60, -(Int64(1) << 61), 63, -64]
        return deltas[index % deltas.count]
    }

    static func setup(index: Int, value: UInt64, string: String) -> Setup {
        let all: [SetupParameter] = [
            .origin(value), .path(string), .probe(1), .role(2), .cost(value),
            .unknown(id: 0x20 + value % 1000, value: ByteBuffer(string: string)),
        ]
        return Setup(parameters: Array(all.prefix(index % (all.count + 1))))
    }
}
