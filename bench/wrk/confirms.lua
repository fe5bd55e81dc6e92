-- Scenario (d): confirms. Reads "booking_id token" lines from the file named
-- by the first argument; each thread confirms its own share, once each. The
-- third argument (default 0) skips the lines earlier runs have confirmed.
package.path = package.path .. ";bench/wrk/?.lua"
require("common")

local holds = {}
local counter = 0
local thread_count

function init(args)
  thread_count = tonumber(args[2])
  local skip = tonumber(args[3] or "0")
  local i = 0
  for line in io.lines(args[1]) do
    if i >= skip and i % thread_count == thread_id then
      local id, token = line:match("(%S+)%s+(%S+)")
      table.insert(holds, {id = id, token = token})
    end
    i = i + 1
  end
end

function request()
  counter = counter + 1
  -- When a thread runs out it repeats its last confirm (idempotent, still a 200).
  local hold = holds[math.min(counter, #holds)]
  return wrk.format("POST", "/api/bookings/" .. hold.id .. "/confirm",
    {["Authorization"] = "Bearer " .. hold.token})
end
