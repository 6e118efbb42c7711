/// `X-Stream-Control` (§3.2, §3.5): `stream-spec "=" command` items, each split on its LAST `=` because
/// stream ids themselves contain `=`. Parsing is all-or-nothing.
public struct StreamControl: Sendable, Equatable {
    public enum Command: String, Sendable, Codable {
        case pause, resume, cancel
    }

    public struct Item: Sendable, Equatable {
        public var stream: String
        public var command: Command

        public init(stream: String, command: Command) {
            self.stream = stream
            self.command = command
        }
    }

    public var items: [Item]

    public init(items: [Item]) { self.items = items }

    /// The items of `header`, or the first offending item's text.
    public static func parse(_ header: String) -> Result<StreamControl, L7RTCPError> {
        var items: [Item] = []
        for text in StreamSpec.list(header) {
            guard let equals = text.lastIndex(of: "="),
                let command = Command(rawValue: String(text[text.index(after: equals)...])),
                StreamSpec(String(text[..<equals])) != nil
            else { return .failure(.badStreamControl(item: text)) }
            items.append(Item(stream: String(text[..<equals]), command: command))
        }
        return .success(StreamControl(items: items))
    }
}
