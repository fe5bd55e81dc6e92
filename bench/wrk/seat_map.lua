-- Scenario (c): seat-map reads. Args: show_id [etag] — with an ETag every
-- request is conditional and should be answered 304.
package.path = package.path .. ";bench/wrk/?.lua"
require("common")

local path, headers

function init(args)
  path = "/api/shows/" .. args[1] .. "/seats"
  headers = {}
  if args[2] then headers["If-None-Match"] = args[2] end
end

function request()
  return wrk.format("GET", path, headers)
end
