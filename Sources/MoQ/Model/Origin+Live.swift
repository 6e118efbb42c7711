extension Origin {
    /// The live (not ended) broadcast at `path`, waiting for its announcement until `deadline` (nil if it
    /// did not come). What a reader that outlives its publisher (an NTRIP mount, an L7RTCP stream) waits on.
    public func live(_ path: String, until deadline: ContinuousClock.Instant) async -> BroadcastConsumer? {
        let (_, changes) = watch(prefix: path)
        if let broadcast = consume(path), !broadcast.isEnded { return broadcast }
        return await withTaskGroup(of: BroadcastConsumer?.self) { group in
            group.addTask {
                for await change in changes {
                    if case .active(let announced, _, _) = change, announced == path,
                        let broadcast = self.consume(path), !broadcast.isEnded
                    {
                        return broadcast
                    }
                }
                return nil
            }
            group.addTask {
                try? await Task.sleep(until: deadline)
                return nil
            }
            let result = await group.next() ?? nil
            group.cancelAll()
            return result
        }
    }
}
