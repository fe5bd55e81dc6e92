-- Scenario (b): every connection races for 2 adjacent seats among the same 100.
-- Args: show_id rows seats_per_row
package.path = package.path .. ";bench/wrk/?.lua"
require("common")

local show, rows, per_row
local letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

function init(args)
  show = tonumber(args[1]); rows = tonumber(args[2]); per_row = tonumber(args[3])
  math.randomseed(os.time() + (thread_id or 0) * 7919)
end

function request()
  local r = math.random(1, rows)
  local seat = math.random(1, per_row - 1)
  local row = letters:sub(r, r)
  local body = string.format('{"show_id": %d, "seats": ["%s%d", "%s%d"]}', show, row, seat, row, seat + 1)
  return wrk.format("POST", "/api/bookings", {["Content-Type"] = "application/json"}, body)
end
