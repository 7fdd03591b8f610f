-- Quercus SmartLPR dissector for Wireshark / tshark (Lua), the twin of camshark's
-- dissectors/smartlpr (spec: /work/shared/specs/smartlpr.md, Part B).
--
-- Load it with:  wireshark -X lua_script:smartlpr.lua capture.pcapng
--                tshark -X lua_script:smartlpr.lua -r capture.pcapng -Y smartlpr
-- or copy it to the personal Lua plugins folder.
--
-- UDP ports 8050/8051 (QuercusVL sibling defaults) and TCP 8051 are bound; other TCP
-- ports are found by a heuristic (Stx, plausible header, Etx and Bcc). Field names match
-- camshark's (smartlpr.plate, smartlpr.car_id, ...), so display filters read the same in
-- both tools. Frame-level checks only (Bcc, Size reading, lengths); request/reply pairing,
-- retransmissions and the rest of camshark's matcher are not reproduced here.

local p = Proto("smartlpr", "Quercus SmartLPR")

local TYPES = {
    [2] = "LicenseInfo", [67] = "Trigger", [68] = "Status", [71] = "GetPicture",
    [72] = "CurrentFrame", [96] = "Ping", [132] = "StatusResponse",
    [135] = "GetPictureResponse", [136] = "CurrentFrameResponse", [192] = "ACK", [193] = "NAK",
}
local NAKS = {
    [0] = "unknown message", [1] = "bad format (BCC failure, missing bytes)",
    [2] = "unknown error", [3] = "bad parameters", [4] = "can't complete (busy)",
    [5] = "incorrect unit", [6] = "incorrect version", [10] = "bad authorization",
}
local CLASSES = { [0] = "event", [1] = "request", [2] = "response", [3] = "ack/nak" }
local READINGS = { { 0, "whole frame" }, { 2, "Stx..data" }, { 19, "data only" } }
local MAX_FRAME = 65000 + 64

local f = p.fields
f.unit_id = ProtoField.uint32("smartlpr.unit_id", "Unit Id", base.DEC)
f.size = ProtoField.uint32("smartlpr.size", "Size", base.DEC)
f.type = ProtoField.uint16("smartlpr.type", "Type", base.DEC, TYPES)
f.version = ProtoField.uint16("smartlpr.version", "Version", base.DEC)
f.id = ProtoField.uint32("smartlpr.id", "Id", base.DEC)
f.bcc = ProtoField.uint8("smartlpr.bcc", "Bcc", base.HEX)
f.car_id = ProtoField.uint32("smartlpr.car_id", "CarId", base.DEC)
f.trigger_id = ProtoField.int32("smartlpr.trigger_id", "TriggerId", base.DEC)
f.timestamp = ProtoField.absolute_time("smartlpr.timestamp", "Timestamp", base.UTC)
f.plate = ProtoField.string("smartlpr.plate", "DetectedChars")
f.qualities = ProtoField.bytes("smartlpr.qualities", "Qualities", base.SPACE)
f.grammar_ok = ProtoField.bool("smartlpr.grammar_ok", "GrammarOk")
f.printable = ProtoField.string("smartlpr.printable", "PrintableString")
f.country = ProtoField.string("smartlpr.country", "Country")
f.active = ProtoField.uint8("smartlpr.active", "Actv", base.DEC)
f.io = ProtoField.uint8("smartlpr.io", "IO (reserved)", base.DEC)
f.camera_ok = ProtoField.uint8("smartlpr.camera_ok", "Cam", base.DEC)
f.roi_top = ProtoField.uint16("smartlpr.roi_top", "RoiTop", base.DEC)
f.roi_left = ProtoField.uint16("smartlpr.roi_left", "RoiLeft", base.DEC)
f.roi_bottom = ProtoField.uint16("smartlpr.roi_bottom", "RoiBottom", base.DEC)
f.roi_right = ProtoField.uint16("smartlpr.roi_right", "RoiRight", base.DEC)
f.image_size = ProtoField.uint32("smartlpr.image_size", "ImageSize", base.DEC)
f.image = ProtoField.bytes("smartlpr.image", "Image (JPEG)")
f.exposure = ProtoField.uint32("smartlpr.exposure_time_us", "ExposureTime (µs)", base.DEC)
f.port = ProtoField.uint32("smartlpr.port", "Port", base.DEC)
f.code = ProtoField.uint8("smartlpr.code", "Code", base.DEC, NAKS)
f.subcode = ProtoField.uint8("smartlpr.subcode", "SubCode", base.DEC)
f.data = ProtoField.bytes("smartlpr.data", "Message data")
f.junk = ProtoField.bytes("smartlpr.junk", "Junk (no frame start)")

local e_bcc = ProtoExpert.new("smartlpr.bad_checksum", "Bcc does not match",
    expert.group.CHECKSUM, expert.severity.ERROR)
local e_size = ProtoExpert.new("smartlpr.size_reading", "Size reading",
    expert.group.PROTOCOL, expert.severity.NOTE)
local e_length = ProtoExpert.new("smartlpr.bad_length", "Wrong data length for the type",
    expert.group.MALFORMED, expert.severity.ERROR)
local e_nak = ProtoExpert.new("smartlpr.nak", "NAK", expert.group.RESPONSE_CODE,
    expert.severity.WARN)
local e_junk = ProtoExpert.new("smartlpr.junk", "Bytes outside any frame",
    expert.group.MALFORMED, expert.severity.WARN)
p.experts = { e_bcc, e_size, e_length, e_nak, e_junk }

local function xor_bcc(tvb, offset, length)
    local bytes = tvb:bytes(offset, length)
    local value = 0
    for i = 0, length - 1 do
        value = bit32.bxor(value, bytes:get_index(i))
    end
    return value
end

-- length of the frame at offset and its Size reading; nil when no reading fits, or
-- (nil, needed) when more bytes are needed. Unlike camshark's framer (which learns the
-- link's reading), the whole-frame reading wins as soon as its Etx is in place, even with a
-- bad Bcc: Wireshark has no cheap per-link state here, and waiting would hide the frame.
local function frame_length(tvb, offset)
    local rest = tvb:len() - offset
    if rest < 17 then return nil, 17 - rest end
    if tvb(offset, 1):uint() ~= 2 then return nil end
    local t = tvb(offset + 9, 2):le_uint()
    local version = tvb(offset + 11, 2):le_uint()
    if t > 255 or version > 255 then return nil end
    local size = tvb(offset + 5, 4):le_uint()
    for _, reading in ipairs(READINGS) do
        local length = size + reading[1]
        if length >= 19 and length <= MAX_FRAME then
            if length > rest then return nil, length - rest end
            if tvb(offset + length - 1, 1):uint() == 3 then
                if reading[1] == 0 or
                    xor_bcc(tvb, offset, length - 2) == tvb(offset + length - 2, 1):uint() then
                    return length, reading[2]
                end
            end
        end
    end
    return nil
end

local function zstring(tvb)
    return tvb:raw():gsub("%z+$", "")
end

local function dissect_body(t, tree, tvb, data_off, n, version, pinfo)
    local d = tvb(data_off, n)
    local function need(expected)
        if n ~= expected then
            tree:add_proto_expert_info(e_length, string.format("%d bytes, expected %d", n, expected))
            tree:add(f.data, d)
            return false
        end
        return true
    end
    if t == 2 then
        if version ~= 2 then tree:add(f.data, d); return "LicenseInfo v" .. version end
        if not need(169) then return "LicenseInfo (bad length)" end
        tree:add_le(f.car_id, tvb(data_off, 4))
        tree:add_le(f.trigger_id, tvb(data_off + 4, 4))
        local secs = tvb(data_off + 8, 4):le_uint()
        local usec = tvb(data_off + 12, 4):le_uint()
        tree:add(f.timestamp, tvb(data_off + 8, 8), NSTime.new(secs, usec * 1000))
        local plate = zstring(tvb(data_off + 16, 40))
        tree:add(f.plate, tvb(data_off + 16, 40), plate)
        tree:add(f.qualities, tvb(data_off + 56, 40))
        tree:add(f.grammar_ok, tvb(data_off + 96, 1))
        local printable = zstring(tvb(data_off + 97, 40))
        tree:add(f.printable, tvb(data_off + 97, 40), printable)
        local country = zstring(tvb(data_off + 137, 32))
        tree:add(f.country, tvb(data_off + 137, 32), country)
        local trig = tvb(data_off + 4, 4):le_int()
        return string.format("LicenseInfo car %d plate '%s' %s trig %s",
            tvb(data_off, 4):le_uint(), printable ~= "" and printable or plate, country,
            trig == -1 and "hw" or tostring(trig))
    elseif t == 67 then
        if not need(4) then return "Trigger (bad length)" end
        tree:add_le(f.trigger_id, tvb(data_off, 4))
        return "Trigger " .. tvb(data_off, 4):le_int()
    elseif t == 68 or t == 192 then
        need(0)
        return TYPES[t]
    elseif t == 132 then
        if not need(3) then return "StatusResponse (bad length)" end
        tree:add(f.active, tvb(data_off, 1))
        tree:add(f.io, tvb(data_off + 1, 1))
        tree:add(f.camera_ok, tvb(data_off + 2, 1))
        return string.format("StatusResponse active=%d camera=%d",
            tvb(data_off, 1):uint(), tvb(data_off + 2, 1):uint())
    elseif t == 71 then
        if not need(4) then return "GetPicture (bad length)" end
        tree:add_le(f.car_id, tvb(data_off, 4))
        return "GetPicture car " .. tvb(data_off, 4):le_uint()
    elseif t == 72 then
        if not need(4) then return "CurrentFrame (bad length)" end
        tree:add_le(f.exposure, tvb(data_off, 4))
        return "CurrentFrame exposure " .. tvb(data_off, 4):le_uint()
    elseif t == 96 then
        if not need(4) then return "Ping (bad length)" end
        tree:add_le(f.port, tvb(data_off, 4))
        return "Ping port " .. tvb(data_off, 4):le_uint()
    elseif t == 135 or t == 136 then
        local head = (t == 135) and 12 or 4
        if n < head then need(head); return TYPES[t] .. " (bad length)" end
        if t == 135 then
            tree:add_le(f.roi_top, tvb(data_off, 2))
            tree:add_le(f.roi_left, tvb(data_off + 2, 2))
            tree:add_le(f.roi_bottom, tvb(data_off + 4, 2))
            tree:add_le(f.roi_right, tvb(data_off + 6, 2))
        end
        local size = tvb(data_off + head - 4, 4):le_uint()
        tree:add_le(f.image_size, tvb(data_off + head - 4, 4))
        if n > head then tree:add(f.image, tvb(data_off + head, n - head)) end
        if n - head ~= size then
            tree:add_proto_expert_info(e_length,
                string.format("ImageSize %d but %d bytes follow", size, n - head))
        end
        return string.format("%s JPEG %d B", TYPES[t], size)
    elseif t == 193 then
        if not need(2) then return "NAK (bad length)" end
        tree:add(f.code, tvb(data_off, 1))
        tree:add(f.subcode, tvb(data_off + 1, 1))
        local code = tvb(data_off, 1):uint()
        tree:add_proto_expert_info(e_nak, "NAK " .. code .. ": " .. (NAKS[code] or "unknown code"))
        return "NAK " .. code
    end
    if n > 0 then tree:add(f.data, d) end
    return string.format("Unknown%d (%s)", t, CLASSES[bit32.rshift(t, 6) % 4])
end

local function dissect_frame(tvb, pinfo, root, offset, length, reading)
    local tree = root:add(p, tvb(offset, length))
    local size = tvb(offset + 5, 4):le_uint()
    local t = tvb(offset + 9, 2):le_uint()
    local version = tvb(offset + 11, 2):le_uint()
    local conv = tvb(offset + 13, 4):le_uint()
    tree:add_le(f.unit_id, tvb(offset + 1, 4))
    local size_item = tree:add_le(f.size, tvb(offset + 5, 4))
    size_item:append_text(" (" .. reading .. ")")
    if reading ~= "whole frame" then
        size_item:add_proto_expert_info(e_size, "Size counts the " .. reading)
    end
    tree:add_le(f.type, tvb(offset + 9, 2))
    tree:add_le(f.version, tvb(offset + 11, 2))
    tree:add_le(f.id, tvb(offset + 13, 4))
    local summary = dissect_body(t, tree, tvb, offset + 17, length - 19, version, pinfo)
    local bcc = tvb(offset + length - 2, 1):uint()
    local computed = xor_bcc(tvb, offset, length - 2)
    local bcc_item = tree:add(f.bcc, tvb(offset + length - 2, 1))
    if bcc ~= computed then
        bcc_item:add_proto_expert_info(e_bcc, string.format("received 0x%02x, computed 0x%02x",
            bcc, computed))
    end
    tree:append_text(", " .. summary)
    return summary .. " id=" .. conv
end

function p.dissector(tvb, pinfo, root)
    local offset = 0
    local total = tvb:len()
    local infos = {}
    local junk_from = nil
    local function close_junk(upto)
        if junk_from ~= nil then
            local item = root:add(f.junk, tvb(junk_from, upto - junk_from))
            item:add_proto_expert_info(e_junk, (upto - junk_from) .. " bytes skipped")
            infos[#infos + 1] = "junk " .. (upto - junk_from) .. " B"
            junk_from = nil
        end
    end
    while offset < total do
        local length, extra = frame_length(tvb, offset)
        if length == nil and extra ~= nil then
            if pinfo.can_desegment > 0 then
                -- ask TCP for the rest (junk before it is shown once the frame resolves),
                -- and claim the bytes: returning 0 would mean "not mine"
                pinfo.desegment_offset = junk_from or offset
                pinfo.desegment_len = extra
                if #infos > 0 then
                    pinfo.cols.protocol = "SmartLPR"
                    pinfo.cols.info = table.concat(infos, "; ")
                end
                return total
            end
            junk_from = junk_from or offset
            offset = total
        elseif length == nil then
            junk_from = junk_from or offset
            offset = offset + 1
        else
            close_junk(offset)
            infos[#infos + 1] = dissect_frame(tvb, pinfo, root, offset, length, extra)
            offset = offset + length
        end
    end
    close_junk(offset)
    if #infos == 0 then return 0 end
    pinfo.cols.protocol = "SmartLPR"
    pinfo.cols.info = table.concat(infos, "; ")
    return total
end

local function heuristic(tvb, pinfo, root)
    if tvb:len() < 19 or tvb(0, 1):uint() ~= 2 then return false end
    local t = tvb(9, 2):le_uint()
    if TYPES[t] == nil then return false end
    local length = frame_length(tvb, 0)
    if length == nil then return false end
    pinfo.conversation = p
    p.dissector(tvb, pinfo, root)
    return true
end

DissectorTable.get("udp.port"):add(8050, p)
DissectorTable.get("udp.port"):add(8051, p)
DissectorTable.get("tcp.port"):add(8051, p)
p:register_heuristic("tcp", heuristic)
p:register_heuristic("udp", heuristic)
