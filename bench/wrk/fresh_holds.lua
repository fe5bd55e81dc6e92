-- Scenario (a): every request holds 2 adjacent seats nobody has asked for yet.
-- Args: first_show_id show_count rows seats_per_row thread_count [first_pair]
-- first_pair skips the pairs earlier runs of the same bench have taken.
package.path = package.path .. ";bench/wrk/?.lua"
require("common")

local first_show, show_count, rows, per_row, thread_count, first_pair
local counter = 0
local letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

function init(args)
  first_show = tonumber(args[1]); show_count = tonumber(args[2])
  rows = tonumber(args[3]); per_row = tonumber(args[4]); thread_count = tonumber(args[5])
  first_pair = tonumber(args[6] or "0")
end

function request()
  -- Pair k is handed to exactly one thread: k = thread_id + counter * thread_count.
  local k = first_pair + thread_id + counter * thread_count
  counter = counter + 1
  local pairs_per_row = math.floor(per_row / 2)
  local pairs_per_show = pairs_per_row * rows
  local show = first_show + math.floor(k / pairs_per_show) % show_count
  local p = k % pairs_per_show
  local row = letters:sub(math.floor(p / pairs_per_row) + 1, math.floor(p / pairs_per_row) + 1)
  local seat = (p % pairs_per_row) * 2 + 1
  local body = string.format('{"show_id": %d, "seats": ["%s%d", "%s%d"]}', show, row, seat, row, seat + 1)
  return wrk.format("POST", "/api/bookings", {["Content-Type"] = "application/json"}, body)
end
