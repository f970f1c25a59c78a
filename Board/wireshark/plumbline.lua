-- Wireshark dissector for Plumbline's dispatch link (docs/protocol.md).
--
-- Decodes the 12-byte header of every frame. With the drone's key in the preference
-- plumbline.key (64 hex characters), it also checks the Poly1305 tag, decrypts the
-- payload (ChaCha20-Poly1305, IETF; nonce = AAD = the header) and decodes the message.
-- Wireshark's Lua (5.2) has no ChaCha20, so it is written out below after RFC 8439,
-- with bit32 and double-precision integers (exact below 2^53).
--
--   tshark -X lua_script:Board/wireshark/plumbline.lua -o plumbline.key:<64 hex> -r f.pcap -V
--   or copy this file to ~/.local/lib/wireshark/plugins/
--
-- UDP ports 14600 and 14601; "Decode As..." (tshark -d udp.port==N,plumbline) for others.

local band, bxor, lrot = bit32.band, bit32.bxor, bit32.lrotate
local floor = math.floor

---------------------------------------------------------------------------------------
-- ChaCha20 (RFC 8439 §2.3). Byte arrays are Lua tables indexed from 1.

local function le32(b, i) return b[i] + b[i + 1] * 0x100 + b[i + 2] * 0x10000 + b[i + 3] * 0x1000000 end

local function quarter(s, a, b, c, d)
  s[a] = (s[a] + s[b]) % 0x100000000; s[d] = lrot(bxor(s[d], s[a]), 16)
  s[c] = (s[c] + s[d]) % 0x100000000; s[b] = lrot(bxor(s[b], s[c]), 12)
  s[a] = (s[a] + s[b]) % 0x100000000; s[d] = lrot(bxor(s[d], s[a]), 8)
  s[c] = (s[c] + s[d]) % 0x100000000; s[b] = lrot(bxor(s[b], s[c]), 7)
end

-- One 64-byte keystream block for a 32-byte key, a block counter and a 12-byte nonce.
local function chacha_block(key, counter, nonce)
  local init = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574 }
  for i = 0, 7 do init[5 + i] = le32(key, 1 + 4 * i) end
  init[13] = counter
  for i = 0, 2 do init[14 + i] = le32(nonce, 1 + 4 * i) end
  local s = {}
  for i = 1, 16 do s[i] = init[i] end
  for _ = 1, 10 do
    quarter(s, 1, 5, 9, 13); quarter(s, 2, 6, 10, 14); quarter(s, 3, 7, 11, 15); quarter(s, 4, 8, 12, 16)
    quarter(s, 1, 6, 11, 16); quarter(s, 2, 7, 12, 13); quarter(s, 3, 8, 9, 14); quarter(s, 4, 5, 10, 15)
  end
  local out = {}
  for i = 1, 16 do
    local w = (s[i] + init[i]) % 0x100000000
    for j = 0, 3 do out[#out + 1] = floor(w / 256 ^ j) % 256 end
  end
  return out
end

---------------------------------------------------------------------------------------
-- Poly1305 (RFC 8439 §2.5). Numbers mod 2^130 - 5 as 17 limbs of 8 bits, little-endian;
-- 2^136 = 2^6 * 2^130, which is 64 * 5 = 320 modulo the prime.

-- Carries so that limbs 1..16 hold 8 bits and limb 17 two (the value is below 2^130).
local function normalize(h)
  local c = 1
  while c ~= 0 do
    c = 0
    for i = 1, 16 do c = c + h[i]; h[i] = c % 256; c = (c - h[i]) / 256 end
    c = c + h[17]; h[17] = c % 4; c = (c - h[17]) / 4
    h[1] = h[1] + 5 * c
  end
end

local function poly1305(key, msg)
  local r = {}
  for i = 1, 16 do r[i] = key[i] end
  for _, i in ipairs({ 4, 8, 12, 16 }) do r[i] = band(r[i], 15) end   -- clamp
  for _, i in ipairs({ 5, 9, 13 }) do r[i] = band(r[i], 252) end
  r[17] = 0
  local h = {}
  for i = 1, 17 do h[i] = 0 end
  for pos = 1, #msg, 16 do
    local n = math.min(16, #msg - pos + 1)
    for i = 1, n do h[i] = h[i] + msg[pos + i - 1] end
    h[n + 1] = h[n + 1] + 1                                  -- the block's extra 1 bit
    local x = {}
    for i = 1, 17 do
      local sum = 0
      for j = 1, i do sum = sum + h[j] * r[i - j + 1] end
      for j = i + 1, 17 do sum = sum + 320 * h[j] * r[i - j + 18] end
      x[i] = sum
    end
    normalize(x)
    h = x
  end
  local g, c = {}, 5                                         -- h - p = h + 5 - 2^130
  for i = 1, 17 do c = c + h[i]; g[i] = c % 256; c = (c - g[i]) / 256 end
  if g[17] >= 4 then h = g; h[17] = h[17] - 4 end            -- h >= p: take h - p
  local tag = {}
  c = 0
  for i = 1, 16 do c = c + h[i] + key[16 + i]; tag[i] = c % 256; c = (c - tag[i]) / 256 end
  return tag
end

-- Opens an AEAD_CHACHA20_POLY1305 ciphertext: returns the plaintext and whether the tag
-- matched (RFC 8439 §2.8).
local function aead_open(key, nonce, aad, ct, tag)
  local mac = {}
  local function put(t) for i = 1, #t do mac[#mac + 1] = t[i] end end
  local function pad() while #mac % 16 ~= 0 do mac[#mac + 1] = 0 end end
  local function len64(n) for j = 0, 7 do mac[#mac + 1] = floor(n / 256 ^ j) % 256 end end
  put(aad); pad(); put(ct); pad(); len64(#aad); len64(#ct)
  local otk = chacha_block(key, 0, nonce)
  local expect, ok = poly1305(otk, mac), true
  for i = 1, 16 do if expect[i] ~= tag[i] then ok = false end end
  local pt = {}
  for b = 0, floor((#ct - 1) / 64) do
    local ks = chacha_block(key, b + 1, nonce)
    for i = 1, math.min(64, #ct - 64 * b) do pt[64 * b + i] = bxor(ct[64 * b + i], ks[i]) end
  end
  return pt, ok
end

---------------------------------------------------------------------------------------
-- The protocol.

local plumb = Proto("plumbline", "Plumbline dispatch link")
plumb.prefs.key = Pref.string("Key (64 hex characters)", "",
  "The drone's 32-byte link key as 64 hexadecimal characters; empty: headers only")

local HEADER, TAG, MAX_FRAME = 12, 16, 1200
local directions = { [0] = "drone to ground", [1] = "ground to drone" }
local F = {}
local function field(key, maker, label, ...) F[key] = maker("plumbline." .. key, label, ...) end

field("version", ProtoField.uint8, "Version", base.DEC, nil, 0xF0)
field("direction", ProtoField.uint8, "Direction", base.DEC, directions, 0x0F)
field("drone_id", ProtoField.uint16, "Drone ID", base.DEC_HEX)
field("key_id", ProtoField.uint8, "Key ID", base.DEC)
field("epoch", ProtoField.uint32, "Epoch", base.DEC)
field("counter", ProtoField.uint32, "Counter", base.DEC)
field("ciphertext", ProtoField.bytes, "Ciphertext")
field("tag", ProtoField.bytes, "Tag (Poly1305)")
field("tag_ok", ProtoField.bool, "Tag verified")
local NAMES = { [0x01] = "Telemetry", [0x02] = "Heartbeat", [0x03] = "Time sync request",
  [0x04] = "Time sync reply", [0x10] = "Command", [0x11] = "Command ack", [0x20] = "Mission chunk",
  [0x21] = "Mission ack", [0x30] = "Event", [0x31] = "Event ack" }
field("type", ProtoField.uint8, "Message type", base.HEX, NAMES)

-- Message layouts after the type byte: {field key, label, kind, [value strings], [formatter]}.
local deg = function(v) return string.format("%.7f°", v / 1e7) end
local scaled = function(div, fmt) return function(v) return string.format(fmt, v / div) end end
local command_kinds = { [1] = "start", [2] = "pause", [3] = "resume", [4] = "abort delivery", [5] = "return",
                        [6] = "land now", [7] = "set parameter" }
local results = { [0] = "accepted", [1] = "rejected", [2] = "unsupported" }
local event_kinds = { [1] = "state change", [2] = "delivery confirmed", [3] = "fault" }
local item_kinds = { [1] = "waypoint", [2] = "pad", [3] = "station" }

local LAYOUT = {
  [0x01] = { { "tlm.time", "Time since start (ms)", "u32", nil, scaled(1000, "%.3f s") },
             { "tlm.lat", "Latitude (deg x 1e7)", "i32", nil, deg },
             { "tlm.lon", "Longitude (deg x 1e7)", "i32", nil, deg },
             { "tlm.alt", "Height above home (dm)", "i16", nil, scaled(10, "%.1f m") },
             { "tlm.vn", "Velocity north (cm/s)", "i16", nil, scaled(100, "%.2f m/s") },
             { "tlm.ve", "Velocity east (cm/s)", "i16", nil, scaled(100, "%.2f m/s") },
             { "tlm.vd", "Velocity down (cm/s)", "i16", nil, scaled(100, "%.2f m/s") },
             { "tlm.heading", "Heading (cdeg)", "u16", nil, scaled(100, "%.2f°") },
             { "tlm.battery", "Battery (%)", "u8" },
             { "tlm.voltage", "Voltage (10 mV)", "u16", nil, scaled(100, "%.2f V") },
             { "tlm.temperature", "Temperature (°C)", "i8" },
             { "tlm.state", "Mission state", "u8" },
             { "tlm.rope", "Rope paid out (mm)", "u16", nil, scaled(1000, "%.3f m") },
             { "tlm.tension", "Rope tension (0.1 N)", "u16", nil, scaled(10, "%.1f N") },
             { "tlm.health", "Health bits (set = unhealthy)", "u16" } },
  [0x02] = { { "hb.time", "Time since start (ms)", "u32" } },
  [0x03] = { { "ts.ground", "Ground time (us)", "u64" } },
  [0x04] = { { "ts.ground", "Ground time (us)", "u64" }, { "ts.drone_rx", "Drone receive time (us)", "u64" },
             { "ts.drone_tx", "Drone send time (us)", "u64" } },
  [0x10] = { { "cmd.id", "Command ID", "u32" }, { "cmd.kind", "Command", "u8", command_kinds },
             { "cmd.param", "Parameter ID", "u16" }, { "cmd.value", "Value", "f32" } },
  [0x11] = { { "cmd.id", "Command ID", "u32" }, { "ack.result", "Result", "u8", results },
             { "ack.duplicate", "Duplicate (answered from the stored result)", "u8" } },
  [0x20] = { { "mission.id", "Mission ID", "u32" }, { "mission.index", "Chunk index", "u16" },
             { "mission.count", "Chunk count", "u16" } },
  [0x21] = { { "mission.id", "Mission ID", "u32" }, { "mission.index", "Chunk index", "u16" },
             { "mission.accepted", "Accepted", "u8" } },
  [0x30] = { { "event.id", "Event ID", "u32" }, { "event.time", "Time since start (ms)", "u32" },
             { "event.kind", "Event", "u8", event_kinds } },       -- then a, b, c by kind (below)
  [0x31] = { { "event.id", "Event ID", "u32" } },
}
local EVENT_ARGS = {
  [1] = { { "event.a", "a", "u32" }, { "event.b", "b", "i32" }, { "event.c", "c", "i32" } },  -- a = from << 8 | to
  [2] = { { "event.parcel", "Parcel ID (a)", "u32" }, { "event.lat", "Latitude (b, deg x 1e7)", "i32", nil, deg },
          { "event.lon", "Longitude (c, deg x 1e7)", "i32", nil, deg } },
  [3] = { { "event.fault", "Fault code (a)", "u32" }, { "event.b", "b", "i32" }, { "event.c", "c", "i32" } },
  other = { { "event.a", "a", "u32" }, { "event.b", "b", "i32" }, { "event.c", "c", "i32" } },
}
local ITEM = { { "item.kind", "Kind", "u8", item_kinds }, { "item.lat", "Latitude (deg x 1e7)", "i32", nil, deg },
               { "item.lon", "Longitude (deg x 1e7)", "i32", nil, deg },
               { "item.height", "Height (dm)", "i16", nil, scaled(10, "%.1f m") },
               { "item.drop", "Rope drop to the roof (dm)", "u16", nil, scaled(10, "%.1f m") },
               { "item.parcel", "Parcel ID", "u32" } }
local HEALTH = { "battery", "GNSS", "drum encoder", "tension", "PWM", "autopilot link", "dispatch link" }

local KINDS = { -- size, ProtoField maker, TvbRange reader
  u8 = { 1, ProtoField.uint8, "le_uint" }, u16 = { 2, ProtoField.uint16, "le_uint" },
  u32 = { 4, ProtoField.uint32, "le_uint" }, u64 = { 8, ProtoField.uint64, "le_uint64" },
  i8 = { 1, ProtoField.int8, "le_int" }, i16 = { 2, ProtoField.int16, "le_int" },
  i32 = { 4, ProtoField.int32, "le_int" }, f32 = { 4, ProtoField.float, "le_float" },
}
local function make_fields(list)
  for _, d in ipairs(list) do
    if not F[d[1]] then
      local k = KINDS[d[3]]
      if k[2] == ProtoField.float then field(d[1], k[2], d[2])
      else field(d[1], k[2], d[2], d[1] == "tlm.health" and base.HEX or base.DEC, d[4]) end
    end
  end
end
for _, list in pairs(LAYOUT) do make_fields(list) end
for _, list in pairs(EVENT_ARGS) do make_fields(list) end
make_fields(ITEM)
field("item", ProtoField.bytes, "Mission item")
field("event.from", ProtoField.uint32, "From state", base.DEC, nil, 0xFF00)
field("event.to", ProtoField.uint32, "To state", base.DEC, nil, 0x00FF)
for bit, name in ipairs(HEALTH) do
  field("tlm.health." .. name:gsub(" ", "_"), ProtoField.bool, name .. " unhealthy", 16, nil, 2 ^ (bit - 1))
end
field("tlm.health.reserved", ProtoField.uint16, "Reserved bits (0)", base.HEX, nil, 0xFF80)

local ex_short = ProtoExpert.new("plumbline.bad_length", "Not 28...1200 bytes long: receivers drop it",
                                 expert.group.MALFORMED, expert.severity.ERROR)
local ex_version = ProtoExpert.new("plumbline.bad_version", "Not version 1: receivers drop it (counted as a downgrade)",
                                   expert.group.SECURITY, expert.severity.WARN)
local ex_tag = ProtoExpert.new("plumbline.tag_failed", "Tag does not match: tampered, or another key; receivers drop it",
                               expert.group.SECURITY, expert.severity.WARN)
local ex_msg = ProtoExpert.new("plumbline.bad_message", "Unknown type or wrong length: receivers drop it",
                               expert.group.MALFORMED, expert.severity.WARN)
local ex_key = ProtoExpert.new("plumbline.no_key", "Payload not decrypted: no key (or not 64 hex characters) in the plumbline.key preference",
                               expert.group.UNDECODED, expert.severity.NOTE)
plumb.experts = { ex_short, ex_version, ex_tag, ex_msg, ex_key }
plumb.fields = {}
for _, f in pairs(F) do plumb.fields[#plumb.fields + 1] = f end

local function key_bytes()
  local hex = plumb.prefs.key:gsub("%s", "")
  if not hex:match("^%x+$") or #hex ~= 64 then return nil end
  local k = {}
  for i = 1, 63, 2 do k[#k + 1] = tonumber(hex:sub(i, i + 1), 16) end
  return k
end

local function bytes_of(range)
  local ba, t = range:bytes(), {}
  for i = 0, ba:len() - 1 do t[i + 1] = ba:get_index(i) end
  return t
end

-- Adds the fields of `list` from `off`; returns the new offset, the values and the tree
-- items by field key.
local function add_fields(tree, tvb, off, list)
  local v, items = {}, {}
  for _, d in ipairs(list) do
    local k = KINDS[d[3]]
    local range = tvb(off, k[1])
    items[d[1]] = tree:add_le(F[d[1]], range)
    v[d[1]] = range[k[3]](range)
    if d[5] then items[d[1]]:append_text(" (" .. d[5](v[d[1]]) .. ")") end
    off = off + k[1]
  end
  return off, v, items
end

local FIXED = { [0x01] = 34, [0x02] = 5, [0x03] = 9, [0x04] = 25, [0x10] = 12, [0x11] = 7, [0x21] = 8,
                [0x30] = 22, [0x31] = 5 }

-- Decodes the plaintext; returns a short summary for the Info column.
local function dissect_message(tvb, tree)
  local n = tvb:len()
  if n == 0 then
    tree:add_proto_expert_info(ex_msg)
    return "empty message"
  end
  local t = tvb(0, 1):uint()
  local msg = tree:add(F.type, tvb(0, 1))
  local layout = LAYOUT[t]
  local ok = layout and (FIXED[t] == n or (t == 0x20 and n > 9 and (n - 9) % 17 == 0 and (n - 9) / 17 <= 8))
  if not ok then
    msg:add_proto_expert_info(ex_msg)
    return string.format("unknown message 0x%02x (%d bytes)", t, n)
  end
  local off, v, items = add_fields(tree, tvb, 1, layout)
  local name = NAMES[t]
  if t == 0x01 then
    for _, hn in ipairs(HEALTH) do items["tlm.health"]:add_le(F["tlm.health." .. hn:gsub(" ", "_")], tvb(32, 2)) end
    items["tlm.health"]:add_le(F["tlm.health.reserved"], tvb(32, 2))
    return string.format("%s %s, %s", name, deg(v["tlm.lat"]), deg(v["tlm.lon"]))
  elseif t == 0x10 then
    return string.format("%s id %d: %s", name, v["cmd.id"], command_kinds[v["cmd.kind"]] or "unknown kind")
  elseif t == 0x11 then
    return string.format("%s id %d: %s%s", name, v["cmd.id"], results[v["ack.result"]] or "?",
                         v["ack.duplicate"] ~= 0 and " (duplicate)" or "")
  elseif t == 0x30 then
    local _, _, args = add_fields(tree, tvb, off, EVENT_ARGS[v["event.kind"]] or EVENT_ARGS.other)
    if v["event.kind"] == 1 then
      args["event.a"]:add_le(F["event.from"], tvb(off, 4))
      args["event.a"]:add_le(F["event.to"], tvb(off, 4))
    end
    return string.format("%s id %d: %s", name, v["event.id"], event_kinds[v["event.kind"]] or "unknown kind")
  elseif t == 0x31 then
    return string.format("%s id %d", name, v["event.id"])
  elseif t == 0x21 then
    return string.format("%s mission %d, chunk %d: %s", name, v["mission.id"], v["mission.index"],
                         v["mission.accepted"] ~= 0 and "accepted" or "refused")
  elseif t == 0x20 then
    local count = (n - 9) / 17
    for i = 0, count - 1 do
      local sub = tree:add(F.item, tvb(off, 17)):set_text(string.format("Mission item %d", i))
      off = add_fields(sub, tvb, off, ITEM)
    end
    return string.format("%s mission %d, chunk %d of %d, %d item(s)", name, v["mission.id"],
                         v["mission.index"], v["mission.count"], count)
  end
  return name
end

function plumb.dissector(tvb, pinfo, root)
  local n = tvb:len()
  if n == 0 then return 0 end
  pinfo.cols.protocol = "Plumbline"
  local tree = root:add(plumb, tvb())
  if n < HEADER + TAG or n > MAX_FRAME then
    tree:add_proto_expert_info(ex_short)
    pinfo.cols.info:set(string.format("Frame of %d bytes (dropped by receivers)", n))
    return n
  end
  local hdr = tree:add(plumb, tvb(0, HEADER)):set_text("Header (the AEAD nonce and associated data)")
  hdr:add(F.version, tvb(0, 1))
  hdr:add(F.direction, tvb(0, 1))
  hdr:add_le(F.drone_id, tvb(1, 2))
  hdr:add(F.key_id, tvb(3, 1))
  hdr:add_le(F.epoch, tvb(4, 4))
  hdr:add_le(F.counter, tvb(8, 4))
  tree:add(F.ciphertext, tvb(HEADER, n - HEADER - TAG))
  tree:add(F.tag, tvb(n - TAG, TAG))
  local version, dir = floor(tvb(0, 1):uint() / 16), tvb(0, 1):uint() % 16
  local info = string.format("%s, drone 0x%04x, key %d, epoch %d, #%d", directions[dir] or "bad direction",
    tvb(1, 2):le_uint(), tvb(3, 1):uint(), tvb(4, 4):le_uint(), tvb(8, 4):le_uint())
  pinfo.cols.info:set(info)
  if version ~= 1 then
    hdr:add_proto_expert_info(ex_version)
    pinfo.cols.info:set(string.format("Version %d frame (dropped by receivers), %s", version, info))
    return n
  end
  local key = key_bytes()
  if not key then
    tree:add_proto_expert_info(ex_key)
    return n
  end
  local pt, ok = aead_open(key, bytes_of(tvb(0, HEADER)), bytes_of(tvb(0, HEADER)),
                           bytes_of(tvb(HEADER, n - HEADER - TAG)), bytes_of(tvb(n - TAG, TAG)))
  local verdict = tree:add(F.tag_ok, ok):set_generated()
  if not ok then
    verdict:set_text("Tag: FAILED (tampered, or not this key); payload not decoded")
    verdict:add_proto_expert_info(ex_tag)
    pinfo.cols.info:set("Authentication failed, " .. info)
    return n
  end
  verdict:set_text("Tag: verified")
  local ba = ByteArray.new()
  ba:set_size(#pt)
  for i = 1, #pt do ba:set_index(i - 1, pt[i]) end
  local ptvb = ba:tvb("Decrypted message")
  local msg = tree:add(plumb, ptvb()):set_text("Message (decrypted)")
  pinfo.cols.info:set(dissect_message(ptvb, msg) .. " | " .. info)
  return n
end

local udp = DissectorTable.get("udp.port")
udp:add(14600, plumb)
udp:add(14601, plumb)
udp:add_for_decode_as(plumb)
