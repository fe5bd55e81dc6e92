-- Scenario (f): best available, 2 seats: the server chooses (reads the show's
-- seats, ranks the blocks, holds the best). Requests go round-robin over the
-- shows, so each show fills from two thirds back outwards as in real life.
-- Args: first_show_id show_count thread_count
package.path = package.path .. ";bench/wrk/?.lua"
require("common")

local first_show, show_count, thread_count
local counter = 0

function init(args)
  first_show = tonumber(args[1]); show_count = tonumber(args[2]); thread_count = tonumber(args[3])
end

function request()
  local k = thread_id + counter * thread_count
  counter = counter + 1
  local body = string.format('{"show_id": %d, "quantity": 2}', first_show + k % show_count)
  return wrk.format("POST", "/api/bookings", {["Content-Type"] = "application/json"}, body)
end
