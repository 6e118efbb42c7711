/// A set of packet ids kept as sorted disjoint closed ranges (§3.6 `received`, §3.8 "served sets as
/// ranges"): sequential pulls cost one range, not one entry per chunk.
public struct ServedSet: Sendable, Equatable, Codable {
    public private(set) var ranges: [ClosedRange<UInt64>] = []

    public init() {}

    public init(ranges: [ClosedRange<UInt64>]) {
        for range in ranges { insert(range) }
    }

    public var isEmpty: Bool { ranges.isEmpty }
    public var max: UInt64? { ranges.last?.upperBound }
    public var count: UInt64 { ranges.reduce(0) { $0 + ($1.upperBound - $1.lowerBound + 1) } }

    public func contains(_ id: UInt64) -> Bool {
        var low = 0
        var high = ranges.count - 1
        while low <= high {
            let mid = (low + high) / 2
            if ranges[mid].contains(id) { return true }
            if id < ranges[mid].lowerBound { high = mid - 1 } else { low = mid + 1 }
        }
        return false
    }

    public mutating func insert(_ id: UInt64) { insert(id...id) }

    public mutating func insert(_ range: ClosedRange<UInt64>) {
        // Fast path: extends the last range (sequential pulls).
        if let last = ranges.last {
            if range.lowerBound > last.upperBound, range.lowerBound - last.upperBound <= 1 {
                ranges[ranges.count - 1] = last.lowerBound...range.upperBound
                return
            }
            if range.lowerBound > last.upperBound {
                ranges.append(range)
                return
            }
        } else {
            ranges.append(range)
            return
        }
        var merged = range
        var result: [ClosedRange<UInt64>] = []
        var placed = false
        for existing in ranges {
            if existing.upperBound &+ 1 < merged.lowerBound {
                result.append(existing)
            } else if merged.upperBound &+ 1 < existing.lowerBound {
                if !placed {
                    result.append(merged)
                    placed = true
                }
                result.append(existing)
            } else {
                merged =
                    Swift.min(
                        existing.lowerBound, merged.lowerBound)...Swift.max(existing.upperBound, merged.upperBound)
            }
        }
        if !placed { result.append(merged) }
        ranges = result
    }

    /// Every id, ascending (PoC `received`); `limit` bounds the output.
    public func ids(limit: Int = 100_000) -> [UInt64] {
        var out: [UInt64] = []
        for range in ranges {
            for id in range {
                if out.count >= limit { return out }
                out.append(id)
            }
        }
        return out
    }

    /// `{0..max} − self` (PoC `missing`), as ranges.
    public var missingRanges: [ClosedRange<UInt64>] {
        var out: [ClosedRange<UInt64>] = []
        var next: UInt64 = 0
        for range in ranges {
            if range.lowerBound > next { out.append(next...(range.lowerBound - 1)) }
            next = range.upperBound + 1
        }
        return out
    }

    public init(from decoder: any Decoder) throws {
        let pairs = try decoder.singleValueContainer().decode([[UInt64]].self)
        for pair in pairs where pair.count == 2 && pair[0] <= pair[1] { insert(pair[0]...pair[1]) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(ranges.map { [$0.lowerBound, $0.upperBound] })
    }
}
