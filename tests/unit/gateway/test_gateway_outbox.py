import msgspec

from perpdex.gateway.session import pack_messages


def test_frames_of_one_release_travel_as_arrays_within_the_size_limit() -> None:
    frames = [msgspec.json.encode({"type": "ack", "seq": seq}) for seq in range(100)]
    messages = list(pack_messages(frames, 256))
    assert len(messages) > 1
    assert all(len(message) <= 256 for message in messages)
    decoded = [msgspec.json.decode(message) for message in messages]
    unpacked = [frame for item in decoded for frame in (item if isinstance(item, list) else [item])]
    assert unpacked == [msgspec.json.decode(frame) for frame in frames]


def test_a_lone_frame_is_sent_as_it_is_even_above_the_limit() -> None:
    big = b'{"type":"book","bids":[' + b"1," * 500 + b"1]}"
    assert list(pack_messages([big], 256)) == [big]
    assert list(pack_messages([b"{}", big, b"{}"], 256)) == [b"{}", big, b"{}"]
