-- wrk script: POSTs pre-signed envelopes (one JSON per line of the file given after --), each exactly once:
-- every wrk thread takes its own stride of the lines, so no envelope is sent twice (that would be a replay).
local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("id", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

function init(args)
  bodies = {}
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
  stride = tonumber(args[2])
  next_index = id + 1
  headers = { ["Content-Type"] = "application/json" }
end

function request()
  local body = bodies[next_index]
  if body == nil then
    -- Out of fresh envelopes: fail loudly rather than replay one.
    return wrk.format("POST", "/inbox", headers, "exhausted")
  end
  next_index = next_index + stride
  return wrk.format("POST", "/inbox", headers, body)
end

function response(status, headers, body)
  if status ~= 200 then
    -- Say why, so a failed run can be understood, then stop this thread.
    io.stderr:write("inbox answered " .. status .. ": " .. string.sub(body or "", 1, 300) .. "\n")
    wrk.thread:stop()
  end
end
