import Foundation

/// The relay's config file: the command line's long option names as keys, in a TOML subset (strings,
/// integers, booleans, one-line string arrays, `#` comments). A `[section]` header prefixes the keys
/// below it, so `[auth]` + `key = "root.jwk"` is the same as `auth-key = "root.jwk"`.
public struct RelayConfigFile: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case string(String)
        case integer(Int)
        case boolean(Bool)
        case list([String])

        /// The value as the command line would spell it.
        public var text: String {
            switch self {
            case .string(let text): text
            case .integer(let number): String(number)
            case .boolean(let flag): String(flag)
            case .list(let items): items.joined(separator: ",")
            }
        }

        public var list: [String] {
            if case .list(let items) = self { return items }
            return [text]
        }
    }

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    public private(set) var values: [String: Value] = [:]

    public init() {}

    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ParseError(description: "cannot read config file \(path)")
        }
        try self.init(text: String(decoding: data, as: UTF8.self), name: path)
    }

    public init(text: String, name: String = "config") throws {
        var section = ""
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            func fail(_ why: String) -> ParseError { ParseError(description: "\(name):\(index + 1): \(why)") }
            let line = Self.stripComment(rawLine).trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count > 2 else { throw fail("a section is written [name]") }
                section = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                    .replacingOccurrences(of: ".", with: "-")
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { throw fail("expected key = value") }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "-")
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
                throw fail("bad key \"\(key)\"")
            }
            let fullKey = section.isEmpty ? key : "\(section)-\(key)"
            guard values[fullKey] == nil else { throw fail("\(fullKey) is set twice") }
            let text = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard let value = Self.value(text) else { throw fail("cannot read the value of \(fullKey): \(text)") }
            values[fullKey] = value
        }
    }

    public subscript(key: String) -> Value? { values[key] }

    private static func stripComment(_ line: Substring) -> Substring {
        var inString = false
        var escaped = false
        for index in line.indices {
            let character = line[index]
            if escaped {
                escaped = false
            } else if character == "\\" {
                escaped = inString
            } else if character == "\"" {
                inString.toggle()
            } else if character == "#", !inString {
                return line[..<index]
            }
        }
        return line
    }

    private static func value(_ text: String) -> Value? {
        if text == "true" { return .boolean(true) }
        if text == "false" { return .boolean(false) }
        if let number = Int(text.replacingOccurrences(of: "_", with: "")) { return .integer(number) }
        if text.hasPrefix("\"") { return string(text[...]).flatMap { $0.rest.isEmpty ? .string($0.value) : nil } }
        if text.hasPrefix("["), text.hasSuffix("]") {
            var rest = text.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)[...]
            var items: [String] = []
            while !rest.isEmpty {
                guard let (item, after) = string(rest) else { return nil }
                items.append(item)
                rest = after.drop(while: { $0 == " " })
                if rest.hasPrefix(",") {
                    rest = rest.dropFirst().drop(while: { $0 == " " })
                } else if !rest.isEmpty {
                    return nil
                }
            }
            return .list(items)
        }
        return nil
    }

    /// A basic TOML string at the start of `text` (`"..."` with \" \\ \n \t escapes), and what follows it.
    private static func string(_ text: Substring) -> (value: String, rest: Substring)? {
        guard text.first == "\"" else { return nil }
        var value = ""
        var index = text.index(after: text.startIndex)
        while index < text.endIndex {
            let character = text[index]
            if character == "\"" { return (value, text[text.index(after: index)...]) }
            if character == "\\" {
                index = text.index(after: index)
                guard index < text.endIndex else { return nil }
                switch text[index] {
                case "n": value.append("\n")
                case "t": value.append("\t")
                case "\"": value.append("\"")
                case "\\": value.append("\\")
                default: return nil
                }
            } else {
                value.append(character)
            }
            index = text.index(after: index)
        }
        return nil
    }
}
