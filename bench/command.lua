-- wrk script: durable commands. Each request is a client super admin setting the seat of one of
-- the client's users (`PUT /v1/clients/{client}/users/{email}/seat`), cycling through the
-- generated clients: every answer is an applied command with its audit record, committed to
-- disk before the answer.
local clients = tonumber(os.getenv("CLIENTS") or "2000")
-- Where in the cycle of clients this wrk starts (bench/fleet.sh starts its second sidecar's
-- half-way round, so the two send commands on different accounts).
local offset = tonumber(os.getenv("OFFSET") or "0")
local seats = {"core", "view_only"}
local n = 0
wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/json"

request = function()
  n = n + 1
  local c = (n + offset) % clients
  local seat = seats[(math.floor(n / clients) % #seats) + 1]
  local body = '{"actor":"owner@c' .. c .. '.example","seat":"' .. seat .. '"}'
  return wrk.format(nil, "/v1/clients/c" .. c .. "/users/user0@c" .. c .. ".example/seat", nil, body)
end
