-- wrk script: POSTs pre-signed envelopes (one JSON per line of the file given after --), each exactly once:
-- every wrk thread takes its own stride of the lines, so no envelope is sent twice (that would be a replay).
--
-- The load generator shares the machine's cores with the server, so it does as little as it can per request: each
-- request is formatted once, before the run, and bodies of answers are not read (wrk reads them only when a
-- `response` function exists). The shell script refuses the figure if any answer was not a 200; set INBOX_DEBUG=1
-- to print the first such answer instead.
local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("id", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

function init(args)
  local stride = tonumber(args[2])
  local headers = { ["Content-Type"] = "application/json" }
  requests = {}
  local number = 0
  for line in io.lines(args[1]) do
    if number % stride == id then requests[#requests + 1] = wrk.format("POST", "/inbox", headers, line) end
    number = number + 1
  end
  exhausted = wrk.format("POST", "/inbox", headers, "exhausted")
  next_index = 1
end

function request()
  local prepared = requests[next_index]
  if prepared == nil then
    -- Out of fresh envelopes: fail loudly (400s) rather than replay one.
    return exhausted
  end
  next_index = next_index + 1
  return prepared
end

if os.getenv("INBOX_DEBUG") then
  function response(status, headers, body)
    if status ~= 200 then
      io.stderr:write("inbox answered " .. status .. ": " .. string.sub(body or "", 1, 300) .. "\n")
      wrk.thread:stop()
    end
  end
end
