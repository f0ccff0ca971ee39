-- wrk script: DynamoDB PutItem / GetItem / Query against one table with random keys.
-- Usage: OP=PutItem|GetItem|GetItemConsistent|Query TABLE=bench KEYS=10000 wrk -s wrk-dynamodb.lua URL
local op = os.getenv("OP") or "PutItem"
local consistent = op == "GetItemConsistent"
if consistent then op = "GetItem" end
local table_name = os.getenv("TABLE") or "bench"
local keys = tonumber(os.getenv("KEYS") or "10000")
local payload = string.rep("x", 100)

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-amz-json-1.0"
wrk.headers["X-Amz-Target"] = "DynamoDB_20120810." .. op
-- Tessera accepts any SigV4 header for now (verification comes with the security issue).
wrk.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0"

request = function()
  local k = math.random(keys)
  local body
  if op == "PutItem" then
    body = string.format('{"TableName":"%s","Item":{"pk":{"S":"user%d"},"sk":{"N":"1"},"f0":{"S":"%s"},"f1":{"S":"%s"},"f2":{"N":"%d"}}}', table_name, k, payload, payload, k)
  elseif op == "GetItem" then
    body = string.format('{"TableName":"%s","Key":{"pk":{"S":"user%d"},"sk":{"N":"1"}},"ConsistentRead":%s}', table_name, k, tostring(consistent))
  else
    body = string.format('{"TableName":"%s","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"user%d"}}}', table_name, k)
  end
  return wrk.format(nil, "/", nil, body)
end

response = function(status, headers, body)
  if status ~= 200 then
    print("HTTP " .. status .. ": " .. body)
    wrk.thread:stop()
  end
end
