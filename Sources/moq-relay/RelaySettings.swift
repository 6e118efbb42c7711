import Foundation
import MoQRelay

/// Where each setting comes from, strongest first: the command line, the environment (`MOQ_<KEY>`, e.g.
/// `MOQ_HTTP_LISTEN`), the config file (the same key, e.g. `http-listen`), then the built-in default.
struct RelaySettings {
    let file: RelayConfigFile

    init(configPath: String?) throws {
        file = try configPath.map { try RelayConfigFile(contentsOf: $0) } ?? RelayConfigFile()
    }

    static func environment(_ key: String) -> String? {
        ProcessInfo.processInfo.environment["MOQ_" + key.uppercased().replacingOccurrences(of: "-", with: "_")]
    }

    func string(_ key: String, _ flag: String?) -> String? {
        flag ?? Self.environment(key) ?? file[key]?.text
    }

    func string(_ key: String, _ flag: String?, default fallback: String) -> String {
        string(key, flag) ?? fallback
    }

    /// A list: repeated flags, a comma-separated environment value, or a config array.
    func list(_ key: String, _ flags: [String]) -> [String]? {
        if !flags.isEmpty { return flags }
        if let text = Self.environment(key) {
            return text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        return file[key]?.list
    }

    func integer(_ key: String, _ flag: Int?) throws -> Int? {
        if let flag { return flag }
        guard let text = Self.environment(key) ?? file[key]?.text else { return nil }
        guard let value = Int(text) else { throw SettingsError("\(key) must be a whole number, not \(text)") }
        return value
    }

    func seconds(_ key: String, _ flag: Double?) throws -> Double? {
        if let flag { return flag }
        guard let text = Self.environment(key) ?? file[key]?.text else { return nil }
        guard let value = Double(text), value >= 0 else {
            throw SettingsError("\(key) must be seconds >= 0, not \(text)")
        }
        return value
    }
}

struct SettingsError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
