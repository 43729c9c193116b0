-- wrk script for scripts/bench_checkin.py (run that; it passes the arguments).
--
--   wrk ... -s bench_checkin.lua URL -- checkin TOKENS_FILE THREADS REPEAT_EVERY REPEAT_LAG
--   wrk ... -s bench_checkin.lua URL -- healthz
--
-- checkin: POSTs code=<public token>. Thread i of THREADS takes lines i+1,
-- i+1+THREADS, ... of TOKENS_FILE, so every fresh request names a Liker nobody
-- sent before; every REPEAT_EVERY-th request re-sends the token this thread sent
-- REPEAT_LAG fresh requests earlier (a second scan, answered "already").
-- healthz: GETs the URL as it is. Both modes read each answer, so the client
-- costs the same on either endpoint. done() prints one line "JSON {...}".

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  mode = args[1]
  sent, fresh, repeats, wrapped = 0, 0, 0, 0
  checked_in, already, ok, other, other_status = 0, 0, 0, 0, 0
  if mode ~= "checkin" then
    return
  end
  local stride = tonumber(args[3])
  repeat_every = tonumber(args[4])
  repeat_lag = tonumber(args[5])
  tokens = {}
  local line_number = 0
  for line in io.lines(args[2]) do
    if line_number % stride == id then
      table.insert(tokens, line)
    end
    line_number = line_number + 1
  end
  if #tokens == 0 then
    error("no tokens for thread " .. id)
  end
end

function request()
  if mode ~= "checkin" then
    return wrk.format("GET")
  end
  sent = sent + 1
  local index
  if repeat_every > 0 and sent % repeat_every == 0 and fresh > repeat_lag then
    index = fresh - repeat_lag
    repeats = repeats + 1
  else
    fresh = fresh + 1
    index = fresh
    if fresh > #tokens then
      wrapped = 1
    end
  end
  local token = tokens[(index - 1) % #tokens + 1]
  return wrk.format("POST", nil, nil, "code=" .. token .. "&role=participant")
end

function response(status, headers, body)
  if status ~= 200 then
    other = other + 1
    other_status = other_status == 0 and status or other_status
  elseif mode ~= "checkin" then
    if body:find('"status":%s*"ok"') then ok = ok + 1 else other = other + 1 end
  elseif body:find('"result":%s*"checked_in"') then
    checked_in = checked_in + 1
  elseif body:find('"result":%s*"already"') then
    already = already + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local counts = {
    sent = 0, fresh = 0, repeats = 0, wrapped = 0,
    checked_in = 0, already = 0, ok = 0, other = 0, other_status = 0,
  }
  for _, thread in ipairs(threads) do
    for name, value in pairs(counts) do
      local add = thread:get(name) or 0
      if name == "other_status" then
        counts[name] = value == 0 and add or value
      elseif name == "wrapped" then
        counts[name] = math.max(value, add)
      else
        counts[name] = value + add
      end
    end
  end
  local errors = summary.errors
  local fields = {
    string.format('"requests": %d', summary.requests),
    string.format('"duration_us": %d', summary.duration),
    string.format('"non_2xx_3xx": %d', errors.status),
    string.format('"socket_errors": %d',
      errors.connect + errors.read + errors.write + errors.timeout),
    string.format('"timeouts": %d', errors.timeout),
    string.format('"p50_us": %d', latency:percentile(50)),
    string.format('"p90_us": %d', latency:percentile(90)),
    string.format('"p99_us": %d', latency:percentile(99)),
    string.format('"max_us": %d', latency.max),
    string.format('"mean_us": %.1f', latency.mean),
  }
  for name, value in pairs(counts) do
    table.insert(fields, string.format('"%s": %d', name, value))
  end
  io.write("JSON {" .. table.concat(fields, ", ") .. "}\n")
end
