/// The RFC 8941 lists `wt-available-protocols` and `wt-protocol` use: strings (and tokens, leniently);
/// parameters are skipped.
public enum StructuredFieldList {
    /// The items of a list; nil when the text is not a list of strings or tokens.
    public static func parseStrings(_ text: String) -> [String]? {
        var items: [String] = []
        var characters = Substring(text)
        func skipSpaces() { while characters.first == " " || characters.first == "\t" { characters.removeFirst() } }
        skipSpaces()
        while !characters.isEmpty {
            var item = ""
            if characters.first == "\"" {
                characters.removeFirst()
                var closed = false
                while let character = characters.popFirst() {
                    if character == "\\" {
                        guard let escaped = characters.popFirst(), escaped == "\"" || escaped == "\\" else {
                            return nil
                        }
                        item.append(escaped)
                    } else if character == "\"" {
                        closed = true
                        break
                    } else {
                        guard character.isASCII, character != "\u{7f}", character >= " " else { return nil }
                        item.append(character)
                    }
                }
                guard closed else { return nil }
            } else {
                while let character = characters.first, character != ",", character != ";", character != " " {
                    guard character.isASCII, character > " " else { return nil }
                    item.append(character)
                    characters.removeFirst()
                }
                guard !item.isEmpty else { return nil }
            }
            // Parameters: ;key[=value] ... skipped up to the next comma.
            while let character = characters.first, character != "," {
                if character == "\"" { return nil }
                characters.removeFirst()
            }
            items.append(item)
            skipSpaces()
            if characters.first == "," {
                characters.removeFirst()
                skipSpaces()
                if characters.isEmpty { return nil }
            }
        }
        return items
    }

    /// One sf-string, quoted and escaped.
    public static func string(_ text: String) -> String {
        var quoted = "\""
        for character in text {
            if character == "\\" || character == "\"" { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted + "\""
    }

    public static func strings(_ items: [String]) -> String { items.map(string).joined(separator: ", ") }
}
