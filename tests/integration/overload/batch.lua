-- wrk script of test_overload: batches of 100 track events, every event with a messageId
-- of its own ("<thread>-<request>-<i>"), so that silver can be counted against the 200s,
-- and a product of its own, every request a user of its own (the live view's keys and
-- sessions grow with the flood).
counter = 0 -- global: done() reads it from each thread
local thread_id = 0
local threads = {}

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Basic azo=" -- "k:"
  ok, busy, other, no_retry = 0, 0, 0, 0
end

function request()
  counter = counter + 1
  local parts = {}
  for i = 1, 100 do
    parts[i] = string.format(
      '{"type":"track","event":"Product Viewed","userId":"u%d-%d","messageId":"%d-%d-%d",' ..
      '"properties":{"product_id":"p%d-%d-%d","price":19.99},"context":{"page":{"path":"/product/p%d"}}}',
      tid, counter, tid, counter, i, tid, counter, i, i)
  end
  return wrk.format(nil, nil, nil, '{"batch":[' .. table.concat(parts, ",") .. ']}')
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  elseif status == 429 then
    busy = busy + 1
    if headers["Retry-After"] ~= "1" then no_retry = no_retry + 1 end
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local t = {ok = 0, busy = 0, other = 0, no_retry = 0, sent = 0}
  for _, thread in ipairs(threads) do
    t.ok = t.ok + thread:get("ok")
    t.busy = t.busy + thread:get("busy")
    t.other = t.other + thread:get("other")
    t.no_retry = t.no_retry + thread:get("no_retry")
    t.sent = t.sent + thread:get("counter")
  end
  io.write(string.format('RESULT {"ok":%d,"busy":%d,"other":%d,"no_retry":%d,"sent":%d}\n', t.ok,
    t.busy, t.other, t.no_retry, t.sent))
end
