/// One `stream-spec` of §3.2 (`name;param=value...`): the whole text is the stream id, byte-exact; the
/// name and parameters are parsed only to validate it and to find the track it maps onto.
public struct StreamSpec: Sendable, Hashable {
    public let id: String
    public let name: String
    public let parameters: [(name: String, value: String)]

    public static func == (lhs: StreamSpec, rhs: StreamSpec) -> Bool { lhs.id == rhs.id }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }

    /// Parses `text`; nil when it breaks the grammar. Parameter values may also hold `/` (broadcast paths),
    /// a documented widening of §3.2's `pvalue`.
    public init?(_ text: String) {
        let parts = text.split(separator: ";", omittingEmptySubsequences: false)
        guard let first = parts.first, Self.valid(first, max: 64, extra: "-_./") else { return nil }
        var parameters: [(String, String)] = []
        for part in parts.dropFirst() {
            guard let equals = part.firstIndex(of: "=") else { return nil }
            let name = part[..<equals]
            let value = part[part.index(after: equals)...]
            guard Self.valid(name, max: 32, extra: "-_"), Self.valid(value, max: 128, extra: "-_./") else { return nil }
            parameters.append((String(name), String(value)))
        }
        id = text
        name = String(first)
        self.parameters = parameters
    }

    public func parameter(_ name: String) -> String? { parameters.first { $0.name == name }?.value }

    static func valid(_ text: Substring, max: Int, extra: String) -> Bool {
        (1...max).contains(text.utf8.count)
            && text.unicodeScalars.allSatisfy { $0.isASCII && (Self.isAlnum($0) || extra.unicodeScalars.contains($0)) }
    }

    static func isAlnum(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }

    /// Splits a comma list on `,` with optional whitespace around items (`OWS "," OWS`).
    public static func list(_ text: String) -> [String] {
        text.split(separator: ",", omittingEmptySubsequences: false).map {
            String($0.trimmingCharacters(in: " \t"))
        }
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> Substring {
        var slice = self
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return slice
    }
}
