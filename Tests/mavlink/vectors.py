#!/usr/bin/env python3
"""MAVLink 2 cross-check against pymavlink, an implementation independent of ours.

Without arguments: encodes a fixed set of messages with fixed field values and prints one
line per frame, `name seq hex`. The Swift test decodes each frame and compares it field by
field with the same values, and checks that its own encoder produces the same bytes.

With a path: reads frames the Swift side wrote (one `name hex` per line), decodes each with
pymavlink and prints one JSON object per line: {"name", "type", "seq", "sys", "comp",
"fields"}. A frame pymavlink rejects makes the script exit with status 1."""
import json
import sys

# ardupilotmega: common plus ArduPilot's own messages (WIND).
from pymavlink.dialects.v20 import ardupilotmega as mavlink

SYSTEM, COMPONENT = 1, 1


def messages():
    """(name, message) in emission order; the Swift test has the same values."""
    m = mavlink
    return [
        ("heartbeat", m.MAVLink_heartbeat_message(
            type=13, autopilot=12, base_mode=157, custom_mode=6 << 16, system_status=4, mavlink_version=3)),
        ("command_long", m.MAVLink_command_long_message(
            target_system=1, target_component=1, command=400, confirmation=2,
            param1=1.0, param2=21196.0, param3=0.5, param4=-1.25, param5=1000.0, param6=3.75, param7=42.0)),
        ("command_ack_short", m.MAVLink_command_ack_message(
            command=176, result=4, progress=0, result_param2=0, target_system=0, target_component=0)),
        ("command_ack_full", m.MAVLink_command_ack_message(
            command=22, result=5, progress=50, result_param2=-7, target_system=1, target_component=191)),
        ("set_position_target_local_ned", m.MAVLink_set_position_target_local_ned_message(
            time_boot_ms=123456, target_system=1, target_component=1, coordinate_frame=1, type_mask=2496,
            x=10.5, y=-20.25, z=-30.0, vx=1.5, vy=-0.5, vz=0.25, afx=0.0, afy=0.0, afz=0.0,
            yaw=1.5, yaw_rate=0.0)),
        ("position_target_local_ned", m.MAVLink_position_target_local_ned_message(
            time_boot_ms=654321, coordinate_frame=1, type_mask=3576,
            x=-4.5, y=8.25, z=-12.0, vx=0.0, vy=0.0, vz=0.0, afx=0.0, afy=0.0, afz=0.0,
            yaw=0.0, yaw_rate=0.0)),
        ("local_position_ned", m.MAVLink_local_position_ned_message(
            time_boot_ms=987654, x=1.25, y=-2.5, z=-3.75, vx=0.5, vy=-0.125, vz=0.0625)),
        ("global_position_int", m.MAVLink_global_position_int_message(
            time_boot_ms=55555, lat=438765432, lon=1253245678, alt=215000, relative_alt=15000,
            vx=-150, vy=230, vz=45, hdg=27015)),
        ("vfr_hud", m.MAVLink_vfr_hud_message(
            airspeed=12.5, groundspeed=11.25, heading=270, throttle=63, alt=215.5, climb=-0.75)),
        ("extended_sys_state", m.MAVLink_extended_sys_state_message(vtol_state=0, landed_state=2)),
        ("extended_sys_state_zero", m.MAVLink_extended_sys_state_message(vtol_state=0, landed_state=0)),
        ("landing_target", m.MAVLink_landing_target_message(
            time_usec=1234567890123, target_num=1, frame=12, angle_x=0.125, angle_y=-0.25, distance=12.5,
            size_x=0.0625, size_y=0.03125, x=0.5, y=-0.75, z=12.0, q=[1.0, 0.0, 0.0, 0.0],
            type=2, position_valid=1)),
        ("wind", m.MAVLink_wind_message(direction=250.5, speed=8.25, speed_z=-0.5)),
        ("wind_cov", m.MAVLink_wind_cov_message(time_usec=123456789, wind_x=-3.5, wind_y=2.25, wind_z=0.125,
                                                var_horiz=0.25, var_vert=0.5, wind_alt=230.0,
                                                horiz_accuracy=0.375, vert_accuracy=0.625)),
        ("statustext", m.MAVLink_statustext_message(
            severity=4, text=b"PreArm: Throttle below failsafe", id=0, chunk_seq=0)),
    ]


def emit():
    mav = mavlink.MAVLink(None, srcSystem=SYSTEM, srcComponent=COMPONENT)
    for index, (name, msg) in enumerate(messages()):
        mav.seq = (index * 37) % 256     # varied sequence numbers, checked on decode
        print(name, mav.seq, msg.pack(mav).hex())
    # Special frames the parser must handle: an unknown message (ATTITUDE, id 30), a
    # MAVLink 1 frame (skipped), and a signed frame (signature skipped).
    mav.seq = seq = 200
    att = mavlink.MAVLink_attitude_message(time_boot_ms=1000, roll=0.1, pitch=-0.2, yaw=1.0,
                                          rollspeed=0.0, pitchspeed=0.0, yawspeed=0.0)
    print("unknown_attitude", seq, att.pack(mav).hex())
    mav.seq = seq = 201
    hb1 = mavlink.MAVLink_heartbeat_message(type=2, autopilot=3, base_mode=81, custom_mode=4,
                                            system_status=3, mavlink_version=3)
    print("mavlink1_heartbeat", seq, hb1.pack(mav, force_mavlink1=True).hex())
    mav.signing.secret_key = bytes(range(32))
    mav.signing.link_id = 7
    mav.signing.timestamp = 123456789
    mav.signing.sign_outgoing = True
    mav.seq = seq = 202
    hbs = mavlink.MAVLink_heartbeat_message(type=13, autopilot=3, base_mode=0x81, custom_mode=9,
                                            system_status=4, mavlink_version=3)
    print("signed_heartbeat", seq, hbs.pack(mav).hex())


def plain(value):
    if isinstance(value, bytes):
        return value.rstrip(b"\0").decode("utf-8", "replace")
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def decode(path):
    mav = mavlink.MAVLink(None)
    mav.robust_parsing = True
    status = 0
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 2:
                continue
            name, frame = parts
            msgs = mav.parse_buffer(bytes.fromhex(frame)) or []
            good = [m for m in msgs if m.get_type() != "BAD_DATA"]
            if len(good) != 1 or len(msgs) != 1:
                print(json.dumps({"name": name, "error": "pymavlink did not decode exactly one frame",
                                  "got": [m.get_type() for m in msgs]}))
                status = 1
                continue
            msg = good[0]
            fields = {k: plain(getattr(msg, k)) for k in msg.get_fieldnames()}
            print(json.dumps({"name": name, "type": msg.get_type(), "seq": msg.get_seq(),
                              "sys": msg.get_srcSystem(), "comp": msg.get_srcComponent(),
                              "fields": fields}, sort_keys=True))
    return status


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(decode(sys.argv[1]))
    emit()
