/// Broadcast paths and announce prefixes as moq-lite peers write them: with or without a leading or
/// trailing `/`. Everything inside this package uses the normalized form (no `/` at either end, no `//`),
/// so `"/room/cam"` and `"room/cam"` name the same broadcast and `""` or `"/"` is the root prefix.
public enum MoQPath {
    public static func normalize(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
    }

    /// Whether `path` lies under `prefix`, matching whole segments (`room` does not match `roomy`).
    public static func has(_ path: String, prefix: String) -> Bool {
        prefix.isEmpty || path == prefix || path.hasPrefix(prefix + "/")
    }

    /// `path` relative to `prefix` (both normalized), or nil when it is not under it.
    public static func suffix(of path: String, under prefix: String) -> String? {
        guard has(path, prefix: prefix) else { return nil }
        if prefix.isEmpty { return path }
        if path == prefix { return "" }
        return String(path.dropFirst(prefix.count + 1))
    }

    /// `prefix` + `/` + `suffix`, skipping empty parts.
    public static func join(_ prefix: String, _ suffix: String) -> String {
        normalize(prefix + "/" + suffix)
    }
}
