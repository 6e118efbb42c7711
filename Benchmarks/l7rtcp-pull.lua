-- wrk script for bench-l7rtcp: each connection pulls L7RTCP chunks with POST /l7rtcp/transmit, walking the
-- packet ids 0..L7_CHUNKS-1 of one transmission (ids the relay retains: a pull of a served id is a
-- "pull again"), so every request is answered with a full chunk. Env: L7_TX, L7_STREAM, L7_CHUNKS.
local tx = os.getenv("L7_TX")
local stream = os.getenv("L7_STREAM")
local chunks = tonumber(os.getenv("L7_CHUNKS"))
local counter = 0

function init(args)
  -- Spread the threads over the id space.
  counter = math.random(0, chunks - 1)
end

function request()
  local id = counter % chunks
  counter = counter + 1
  return wrk.format("POST", "/l7rtcp/transmit", {
    ["X-Transmission-ID"] = tx, ["X-Stream-ID"] = stream, ["X-Packet-ID"] = tostring(id),
  })
end
