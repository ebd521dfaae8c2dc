-- wrk script: POST /v1/is_authorized/batch with 1,000 checks a request. BATCH=same (the
-- default): one partner admin in one client account, cycling through six actions (the shape
-- of a page that asks what its user may do); BATCH=many: 1,000 different principals, each
-- client account's super admin in that account. The body is built once; decisions/s is the
-- request rate times 1,000.
local mode = os.getenv("BATCH") or "same"
local actions = {"reports.access", "crm.objects.edit", "scim.provision", "billing.edit",
                 "multi_account.manage", "sales_hub.paid_features"}
local items = {}
for i = 0, 999 do
  local who, account
  if mode == "many" then
    who, account = "owner@c" .. i .. ".example", "c" .. i
  else
    who, account = "admin1@p1.example", "c1"
  end
  local action = actions[(i % #actions) + 1]
  items[#items + 1] = '{"principal":{"type":"Hub::User","id":"' .. who .. '"},' ..
                      '"action":{"type":"Hub::Action","id":"' .. action .. '"},' ..
                      '"resource":{"type":"Hub::Account","id":"' .. account .. '"}}'
end
wrk.method = "POST"
wrk.path = "/v1/is_authorized/batch"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"requests":[' .. table.concat(items, ",") .. ']}'
