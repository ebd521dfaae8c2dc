-- wrk script: POST /v1/is_authorized, cycling through the generated state's principals,
-- clients and actions (partner admins, partner users, client owners; allows and denies).
local clients = tonumber(os.getenv("CLIENTS") or "2000")
-- With STRIDE > 1 the same number of clients is spread over a bigger state (client c * STRIDE),
-- so a big state is measured with the same working set as a small one.
local stride = tonumber(os.getenv("STRIDE") or "1")
local partners = tonumber(os.getenv("PARTNERS") or "20")
local actions = {"reports.access", "crm.objects.edit", "scim.provision", "billing.edit",
                 "multi_account.manage", "sales_hub.paid_features"}
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
  n = n + 1
  local c = (n % clients) * stride
  local p = c % partners
  local who
  local k = n % 3
  if k == 0 then who = "admin" .. p .. "@p" .. p .. ".example"
  elseif k == 1 then who = "rep" .. p .. "@p" .. p .. ".example"
  else who = "owner@c" .. c .. ".example" end
  local action = actions[(n % #actions) + 1]
  local body = '{"principal":{"type":"Hub::User","id":"' .. who .. '"},' ..
               '"action":{"type":"Hub::Action","id":"' .. action .. '"},' ..
               '"resource":{"type":"Hub::Account","id":"c' .. c .. '"}}'
  return wrk.format(nil, "/v1/is_authorized", nil, body)
end
