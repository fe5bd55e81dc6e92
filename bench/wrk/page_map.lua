-- The seat-map page's poll: GET /shows/<id>/seatmap. Args: show_id [etag].
-- With the current ETag every poll is a 304 (nothing changed); with a stale
-- one every poll gets the whole grid, as every open map does at one poll a
-- second while seats change several times a second.
package.path = package.path .. ";bench/wrk/?.lua"
require("common")

local path, headers

function init(args)
  path = "/shows/" .. args[1] .. "/seatmap"
  -- As a browser asks: the grid comes gzipped.
  headers = {["Accept-Encoding"] = "gzip, deflate, br"}
  if args[2] then headers["If-None-Match"] = args[2] end
end

function request()
  return wrk.format("GET", path, headers)
end
